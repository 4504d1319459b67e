"""He et al. (2016) option A shortcut: a strided identity with zero-padded channels."""

from __future__ import annotations

from dataclasses import dataclass

from ..arith import ceildiv, known
from .base import Layer, Size, SpecError
from .geometry import need_positive, need_spatial, window
from .registry import Absent, Kind, Rule, ignored, register


@dataclass(frozen=True)
class PadShortcut(Layer):
    """He et al. (2016) option A shortcut: stride-``stride`` identity, channels zero-padded to ``filters``.

    Parameter-free; it materialises a new tensor when the shape changes.
    """

    filters: Size
    stride: Size = 2


def pad_shortcut_shape(layer: PadShortcut, in_shape, warn):
    h, w, c = need_spatial(layer, in_shape)
    need_positive(layer, "stride", layer.stride)
    if known(c) and known(layer.filters) and layer.filters < c:
        raise SpecError(
            f"layer '{layer.name}': a zero-padding shortcut cannot shrink {c} channels to {layer.filters}"
        )
    return (ceildiv(h, layer.stride), ceildiv(w, layer.stride), layer.filters)


def _keras(b, layer: PadShortcut, x, qualified):
    if layer.filters < x.shape[-1]:
        raise SpecError(
            f"layer '{qualified}': a zero-padding shortcut cannot shrink {x.shape[-1]} channels "
            f"to {layer.filters}"
        )
    return b.custom.ZeroPaddedShortcut(layer.filters, layer.stride, name=b.name(qualified))(x)


register(
    Kind(
        PadShortcut,
        rule=Rule(shape=pad_shortcut_shape, window=window(lambda layer: 1, lambda layer: layer.stride, lambda layer: "valid")),
        prefix="shortcut",
        notation=Absent("a residual shortcut lives inside an Add, which the arrow notation cannot write"),
        keras=_keras,
        strings={},
        ops=ignored("macs", "flops", "torchvision", "fvcore", "ptflops", "torchinfo", "tf-profiler"),
    )
)
