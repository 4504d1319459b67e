"""Text from a model file made safe for a terminal: control characters written as escapes.

Layer and model names come from the file (a Keras config, an ONNX graph, a notation file). An
ESC sequence in one would reach the terminal raw and could move the cursor, recolour the output
or erase lines (the "not counted" warning printed just before); a bidi override (U+202E) would
reorder what follows it on the line. :func:`visible` writes every such character as an escape,
``\\x1b``, ``\\u202e``, ``\\n`` as Python does: the table, the summary, the warnings and the
errors of the CLI pass names through it (JSON escapes them itself; the HTML page shows bidi
controls visibly in ``page.js``).
"""

from __future__ import annotations

import re

HIDDEN = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
"""C0 and C1 control characters (ESC, CSI, line breaks, tabs, DEL), the bidi marks, embeddings,
overrides and isolates, and the Unicode line and paragraph separators."""
_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match) -> str:
    ch = match.group()
    return _SHORT.get(ch) or (f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}")


def visible(text) -> str:
    """``str(text)`` with every :data:`HIDDEN` character written as its escape."""
    return HIDDEN.sub(_escape, str(text))
