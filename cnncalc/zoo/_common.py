"""Small helpers shared by the zoo modules."""

from __future__ import annotations

from ..sizes import input_size
from ..spec import Input


def input_layer(input) -> Input:
    """``Input`` from ``(H, W, C)`` or a string such as ``"32x32x3"`` / ``"H x W x 3"``."""
    h, w, c = input_size(input)
    return Input(h, w, c, name="input")
