"""Input sizes, read in one place: ``"224x224x3"``, ``"H x W x 3"``, ``"16x32"``, ``"T x 64"``,
``"100"`` or a tuple of sizes.

The CLI's ``--input``, ``analyze(spec, input=...)``, the zoo builders and the notation's
``INPUT-...`` all come here, so a size is read and refused the same way everywhere. A size is the
per-sample shape of any rank from 1 to :data:`MAX_RANK`: an image ``H x W x C`` (channels last),
a sequence ``tokens x channels``, a plain vector; no axis is a batch axis. Names become
positive-integer sympy symbols; sympy is imported only when a size is symbolic.
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

MAX_RANK = 8
"""The most axes an input may have (a volume ``D x H x W x C`` has four): a size of 100,000
axes is refused before anything allocates or walks them."""


def check_numbers(text: str, error=SpecError) -> None:
    """Refuse absurdly long numbers before ``int()`` does (Python refuses over 4,300 digits)."""
    m = _LONG_NUMBER.search(text)
    if m:
        raise error(f"a number of {len(m.group(0)):,} digits is too long (at most {MAX_DIGITS}) at column {m.start() + 1}")


def parse_size(text: str) -> tuple:
    """``"224x224x3" -> (224, 224, 3)``; ``"H x W x 3" -> (H, W, 3)`` with positive-integer
    symbols; ``"16x32" -> (16, 32)``; ``"100" -> (100,)``.

    Integers stay ``int``; names become sympy symbols (``integer=True, positive=True``), so sympy
    is imported only when a size is symbolic.
    """
    check_numbers(text, SpecError)
    values = []
    parts = _SIZE_SPLIT.split(text.strip())
    if len(parts) > MAX_RANK:
        raise SpecError(f"cannot read size '{_short(text)}': {len(parts):,} sizes, at most {MAX_RANK} (an input of rank 1 to {MAX_RANK})")
    for part in parts:
        if _INT.match(part):
            value = int(part)
            if value <= 0:
                raise SpecError(f"sizes must be positive, got {value} in '{text}'")
            values.append(value)
        elif _IDENT.match(part):
            import sympy

            values.append(sympy.Symbol(part, integer=True, positive=True))
        else:
            raise SpecError(f"cannot read size '{_short(text)}': expected sizes joined by x, such as 32x32x3, 'H x W x 3', 16x64 or 100")
    return tuple(values)


def input_size(value) -> tuple:
    """The per-sample input shape from a string (:func:`parse_size`) or a sequence of sizes:
    ``(H, W, C)`` for an image, ``(T, C)`` for a sequence, ``(n,)`` for a vector."""
    if isinstance(value, str):
        value = parse_size(value)
    try:
        sizes = tuple(value)
    except TypeError:
        sizes = ()
    if not 1 <= len(sizes) <= MAX_RANK:
        raise SpecError(f"an input size is 1 to {MAX_RANK} sizes (HxWxC, TxC, N), got {_short(repr(value))}")
    return tuple(as_size(v) for v in sizes)


def image_size(value) -> tuple:
    """``(H, W, C)`` of an image model's input (the zoo's networks are image networks)."""
    size = input_size(value)
    if len(size) != 3:
        raise SpecError(f"an image input is HxWxC (channels last), got {'x'.join(map(str, size))}")
    return size


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[:limit] + "..."
