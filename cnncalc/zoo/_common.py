"""Small helpers shared by the zoo modules."""

from __future__ import annotations

import re

from ..sizes import image_size
from ..spec import Input


def input_layer(input) -> Input:
    """``Input`` from ``(H, W, C)`` or a string such as ``"32x32x3"`` / ``"H x W x 3"`` (the
    zoo's networks read images)."""
    return Input(*image_size(input), name="input")


_SENTENCE_END = re.compile(r"(?<!\bal\.)(?<!\bFig\.)(?<!\be\.g\.)(?<!\bi\.e\.)(?<=[.!?])\s+(?=[A-Z0-9(])")


def first_sentence(doc: str) -> str:
    """A module docstring's first sentence on one line: a spec's description (the page's header,
    ``cnncalc list``), whole even where the docstring wraps it (``et al.`` ends none)."""
    paragraph = " ".join(doc.strip().split("\n\n")[0].split())
    return _SENTENCE_END.split(paragraph, maxsplit=1)[0]
