"""Input sizes, read in one place: ``"224x224x3"``, ``"H x W x 3"`` or ``(H, W, C)``.

The CLI's ``--input``, ``analyze(spec, input=...)``, the zoo builders and the notation's
``INPUT-HxWxC`` all come here, so a size is read and refused the same way everywhere. Names
become positive-integer sympy symbols; sympy is imported only when a size is symbolic.
"""

from __future__ import annotations

import re

from .arith import as_size
from .kinds.base import SpecError

MAX_DIGITS = 100
_LONG_NUMBER = re.compile(r"\d{%d,}" % (MAX_DIGITS + 1))
_SIZE_SPLIT = re.compile(r"\s*[x×*]\s*", re.IGNORECASE)
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_INT = re.compile(r"[0-9]+\Z")


def check_numbers(text: str, error=SpecError) -> None:
    """Refuse absurdly long numbers before ``int()`` does (Python refuses over 4,300 digits)."""
    m = _LONG_NUMBER.search(text)
    if m:
        raise error(f"a number of {len(m.group(0)):,} digits is too long (at most {MAX_DIGITS}) at column {m.start() + 1}")


def parse_size(text: str) -> tuple:
    """``"224x224x3" -> (224, 224, 3)``; ``"H x W x 3" -> (H, W, 3)`` with positive-integer symbols.

    Integers stay ``int``; names become sympy symbols (``integer=True, positive=True``), so sympy
    is imported only when a size is symbolic.
    """
    check_numbers(text, SpecError)
    values = []
    for part in _SIZE_SPLIT.split(text.strip()):
        if _INT.match(part):
            value = int(part)
            if value <= 0:
                raise SpecError(f"sizes must be positive, got {value} in '{text}'")
            values.append(value)
        elif _IDENT.match(part):
            import sympy

            values.append(sympy.Symbol(part, integer=True, positive=True))
        else:
            raise SpecError(f"cannot read size '{text}': expected HxWxC such as 32x32x3 or 'H x W x 3'")
    if len(values) != 3:
        raise SpecError(f"cannot read size '{text}': expected three values HxWxC, got {len(values)}")
    return tuple(values)


def input_size(value) -> tuple:
    """``(H, W, C)`` from a string (:func:`parse_size`) or a sequence of three sizes."""
    if isinstance(value, str):
        value = parse_size(value)
    if len(value) != 3:
        raise SpecError(f"an input size is HxWxC, got {value!r}")
    return tuple(as_size(v) for v in value)
