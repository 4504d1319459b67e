"""The base of every spec node and the one error type of bad input.

Kept apart from the registry and the kinds so that every module of the project can import
``Layer``, ``SpecError`` (with :func:`closest`, its messages' "did you mean") and ``pair``
without importing any layer kind.
"""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass
from typing import Any, Union

Size = Any  # int on the numeric path, a sympy expression on the symbolic path
Padding = Union[str, int, tuple]  # "same" | "valid" | p | (p_h, p_w)


class SpecError(ValueError):
    """A malformed spec or an impossible layer. The message is one line and names the cause."""


def closest(word: str, choices, n: int = 3) -> list[str]:
    """The ``choices`` nearest to ``word`` (difflib's ratio, case ignored), best first: the "did
    you mean" of an error message. Empty when none is close."""
    import difflib  # the error path only

    by_lower = {c.lower(): c for c in choices}
    return [by_lower[c] for c in difflib.get_close_matches(word.lower(), list(by_lower), n=n, cutoff=0.6)]


def pair(value) -> tuple:
    """``3 -> (3, 3)``; ``(3, 5) -> (3, 5)``. Kernels, strides, dilations and paddings may be either."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise SpecError(f"expected one value or a pair, got {value!r}")
        return tuple(value)
    return (value, value)


def spread(value, n: int) -> tuple:
    """``3 -> (3,) * n``; a tuple of ``n`` values as it is: the kernel, stride, dilation or padding
    of a window over ``n`` spatial axes (a 1-D convolution's ``5`` is ``(5,)``)."""
    if n == 2:
        return pair(value)
    if isinstance(value, (tuple, list)):
        if len(value) != n:
            raise SpecError(f"expected one value or {n}, got {value!r}")
        return tuple(value)
    return (value,) * n


@dataclass(frozen=True)
class Layer:
    """Base of every spec node. ``name`` is optional: :func:`cnncalc.naming.with_names` fills it."""

    _: KW_ONLY
    name: str | None = None

    @property
    def kind(self) -> str:
        """The class name, as reported in tables and in JSON (``Conv2D``, ``MaxPool2D``, ...)."""
        return type(self).__name__
