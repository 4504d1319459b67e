"""Zero padding and cropping of the spatial axes (NASNet, EfficientNet, MobileNet stems).

``ZeroPadding2D(((t, b), (l, r)))`` adds rows and columns, ``Cropping2D`` removes them. Both make
a new tensor (counted as activations) and neither has parameters or MACs. For receptive fields
each is a 1x1, stride-1 window with ``t``/``l`` pixels of padding on the top/left (cropping:
``-t``/``-l``), so the field's centre moves and its size does not.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..arith import known
from .base import Layer, SpecError
from .geometry import need_spatial
from .registry import Absent, Kind, Rule, ignored, register


def sides(value) -> tuple:
    """``((top, bottom), (left, right))`` from an int, a ``(rows, cols)`` pair or the full form."""
    if isinstance(value, (tuple, list)):
        if len(value) == 2 and all(isinstance(v, (tuple, list)) for v in value):
            return tuple((v[0], v[1]) for v in value)
        if len(value) == 2:
            return ((value[0], value[0]), (value[1], value[1]))
    return ((value, value), (value, value))


@dataclass(frozen=True)
class ZeroPadding2D(Layer):
    """Zero rows on top/bottom and columns left/right: ``((top, bottom), (left, right))``."""

    padding: tuple = ((1, 1), (1, 1))

    def __post_init__(self):
        object.__setattr__(self, "padding", sides(self.padding))


@dataclass(frozen=True)
class Cropping2D(Layer):
    """Rows removed from top/bottom and columns from left/right: ``((top, bottom), (left, right))``."""

    cropping: tuple = ((0, 0), (0, 0))

    def __post_init__(self):
        object.__setattr__(self, "cropping", sides(self.cropping))


def _check(layer, amounts, what):
    for pair_ in amounts:
        for v in pair_:
            if known(v) and v < 0:
                raise SpecError(f"layer '{layer.name}': {what} must be >= 0, got {v}")


def pad_shape(layer: ZeroPadding2D, in_shape, warn):
    h, w, c = need_spatial(layer, in_shape)
    _check(layer, layer.padding, "padding")
    (t, b), (left, r) = layer.padding
    return (h + t + b, w + left + r, c)


def crop_shape(layer: Cropping2D, in_shape, warn):
    h, w, c = need_spatial(layer, in_shape)
    _check(layer, layer.cropping, "cropping")
    (t, b), (left, r) = layer.cropping
    out = (h - t - b, w - left - r, c)
    if any(known(v) and v < 1 for v in out[:2]):
        raise SpecError(f"layer '{layer.name}': cropping {layer.cropping} leaves nothing of its {h}x{w} input")
    return out


def _window(attr, sign):
    def window_of(layer, axis):
        return 1, 1, sign * getattr(layer, attr)[axis][0]

    return window_of


_NONE = ignored("macs", "flops", "torchvision", "fvcore", "ptflops", "torchinfo", "tf-profiler")
_NO_ARROW = Absent("no arrow word: padding is an option of CONV/POOL (p=); build it in Python or import a Keras model")

register(
    Kind(
        ZeroPadding2D,
        rule=Rule(shape=pad_shape, window=_window("padding", 1)),
        prefix="pad",
        notation=_NO_ARROW,
        keras=lambda b, layer, x, qualified: b.keras.layers.ZeroPadding2D(layer.padding, name=b.name(qualified))(x),
        strings={},
        ops=_NONE,
    )
)

register(
    Kind(
        Cropping2D,
        rule=Rule(shape=crop_shape, window=_window("cropping", -1)),
        prefix="crop",
        notation=_NO_ARROW,
        keras=lambda b, layer, x, qualified: b.keras.layers.Cropping2D(layer.cropping, name=b.name(qualified))(x),
        strings={},
        ops=_NONE,
    )
)
