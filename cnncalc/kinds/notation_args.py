"""Small readers and writers shared by the kinds' arrow-notation entries (:attr:`Kind.notation`).

They raise plain ``ValueError``; :mod:`cnncalc.notation` adds the column of the token.
"""

from __future__ import annotations

import re


def positive_int(arg, what: str) -> int:
    """The integer after ``-`` (``CONV3-64`` -> 64); ``what`` names it in the error (``CONV filters``)."""
    if arg is None or not re.fullmatch(r"\s*\d+\s*", arg):
        raise ValueError(f"{what} expects an integer after '-' (e.g. {what.split()[0]}-64)")
    value = int(arg)
    if value <= 0:
        raise ValueError(f"{what} must be positive, got {value}")
    return value


def kernel_size(kernel, default: int) -> int:
    """The digits after the word (``POOL3`` -> 3), ``default`` when there are none."""
    k = int(kernel) if kernel is not None else default
    if k <= 0:
        raise ValueError("kernel must be positive")
    return k


def fmt_options(pairs) -> str:
    """``[("s", 2), ("p", 1)] -> "(s=2,p=1)"``; nothing when there are no options."""
    items = [f"{k}={v}" for k, v in pairs]
    return f"({','.join(items)})" if items else ""
