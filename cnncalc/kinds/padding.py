"""Zero padding and cropping of the spatial axes (NASNet, EfficientNet, MobileNet stems).

``ZeroPadding2D(((t, b), (l, r)))`` adds rows and columns, ``Cropping2D`` removes them. Both make
a new tensor (counted as activations) and neither has parameters or MACs. For receptive fields
each is a 1x1, stride-1 window with ``t``/``l`` pixels of padding on the top/left (cropping:
``-t``/``-l``), so the field's centre moves and its size does not.

The 1-D forms (``ZeroPadding1D``, ``Cropping1D``) pad or crop the steps of a signal ``T x C``
(``((before, after),)``), the 3-D forms the three axes of a volume ``D x H x W x C``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ..arith import known
from .base import Layer, SpecError
from .geometry import need_spatial, spatial_rank
from .registry import Absent, Kind, Rule, ignored, register


def sides(value, n: int = 2) -> tuple:
    """One ``(before, after)`` per spatial axis (``((top, bottom), (left, right))`` on an image)
    from an int, one int per axis (both sides alike) or the full form; on one axis (1-D) a pair of
    ints is ``(before, after)``, as Keras' ``ZeroPadding1D`` takes it."""
    if isinstance(value, (tuple, list)):
        if len(value) == n and all(isinstance(v, (tuple, list)) for v in value):
            return tuple((v[0], v[1]) for v in value)
        if n == 1 and len(value) == 2:
            return ((value[0], value[1]),)
        if len(value) == n:
            return tuple((v, v) for v in value)
    return ((value, value),) * n


@dataclass(frozen=True)
class PaddingFields:
    """Zero padding of the spatial axes: one ``(before, after)`` per axis."""

    padding: tuple = ((1, 1), (1, 1))

    def __post_init__(self):
        object.__setattr__(self, "padding", sides(self.padding, spatial_rank(self)))


@dataclass(frozen=True)
class CroppingFields:
    """Cropping of the spatial axes: one ``(before, after)`` per axis."""

    cropping: tuple = ((0, 0), (0, 0))

    def __post_init__(self):
        object.__setattr__(self, "cropping", sides(self.cropping, spatial_rank(self)))


@dataclass(frozen=True)
class ZeroPadding2D(Layer, PaddingFields):
    """Zero rows on top/bottom and columns left/right: ``((top, bottom), (left, right))``."""

    SPATIAL: ClassVar[int] = 2


@dataclass(frozen=True)
class ZeroPadding1D(Layer, PaddingFields):
    """Zero steps before and after a signal ``T x C``: ``((before, after),)`` (default one each)."""

    padding: tuple = ((1, 1),)
    SPATIAL: ClassVar[int] = 1


@dataclass(frozen=True)
class ZeroPadding3D(Layer, PaddingFields):
    """Zero padding of a volume ``D x H x W x C``: one ``(before, after)`` per axis."""

    padding: tuple = ((1, 1), (1, 1), (1, 1))
    SPATIAL: ClassVar[int] = 3


@dataclass(frozen=True)
class Cropping2D(Layer, CroppingFields):
    """Rows removed from top/bottom and columns from left/right: ``((top, bottom), (left, right))``."""

    SPATIAL: ClassVar[int] = 2


@dataclass(frozen=True)
class Cropping1D(Layer, CroppingFields):
    """Steps removed before and after a signal ``T x C``: ``((before, after),)``."""

    cropping: tuple = ((0, 0),)
    SPATIAL: ClassVar[int] = 1


@dataclass(frozen=True)
class Cropping3D(Layer, CroppingFields):
    """Cropping of a volume ``D x H x W x C``: one ``(before, after)`` per axis."""

    cropping: tuple = ((0, 0), (0, 0), (0, 0))
    SPATIAL: ClassVar[int] = 3


def _check(layer, amounts, what):
    for pair_ in amounts:
        for v in pair_:
            if known(v) and v < 0:
                raise SpecError(f"layer '{layer.name}': {what} must be >= 0, got {v}")


def pad_shape(layer: ZeroPadding2D, in_shape, warn):
    need_spatial(layer, in_shape)
    _check(layer, layer.padding, "padding")
    return (*(n + before + after for n, (before, after) in zip(in_shape[:-1], layer.padding)), in_shape[-1])


def crop_shape(layer: Cropping2D, in_shape, warn):
    need_spatial(layer, in_shape)
    _check(layer, layer.cropping, "cropping")
    out = (*(n - before - after for n, (before, after) in zip(in_shape[:-1], layer.cropping)), in_shape[-1])
    if any(known(v) and v < 1 for v in out[:-1]):
        raise SpecError(f"layer '{layer.name}': cropping {layer.cropping} leaves nothing of its {'x'.join(map(str, in_shape[:-1]))} input")
    return out


def _window(attr, sign):
    def window_of(layer, axis):
        return 1, 1, sign * getattr(layer, attr)[axis][0]

    return window_of


_NONE = ignored("macs", "flops", "torchvision", "fvcore", "ptflops", "torchinfo", "tf-profiler")
_NO_ARROW = Absent("no arrow word: padding is an option of CONV/POOL (p=); build it in Python or import a Keras model")

def _keras(word, attr):
    def build(b, layer, x, qualified):
        amounts = getattr(layer, attr)
        return getattr(b.keras.layers, f"{word}{spatial_rank(layer)}D")(amounts[0] if len(amounts) == 1 else amounts, name=b.name(qualified))(x)

    return build


for _cls, _prefix, _rule, _builder in (
    (ZeroPadding2D, "pad", Rule(shape=pad_shape, window=_window("padding", 1)), _keras("ZeroPadding", "padding")),
    (ZeroPadding1D, "pad", Rule(shape=pad_shape, window=_window("padding", 1)), _keras("ZeroPadding", "padding")),
    (ZeroPadding3D, "pad", Rule(shape=pad_shape, window=_window("padding", 1)), _keras("ZeroPadding", "padding")),
    (Cropping2D, "crop", Rule(shape=crop_shape, window=_window("cropping", -1)), _keras("Cropping", "cropping")),
    (Cropping1D, "crop", Rule(shape=crop_shape, window=_window("cropping", -1)), _keras("Cropping", "cropping")),
    (Cropping3D, "crop", Rule(shape=crop_shape, window=_window("cropping", -1)), _keras("Cropping", "cropping")),
):
    register(Kind(_cls, rule=_rule, prefix=_prefix, notation=_NO_ARROW, keras=_builder, strings={}, ops=_NONE))
