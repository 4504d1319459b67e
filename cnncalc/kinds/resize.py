"""Resizing an image: nearest or bilinear upsampling (U-Net decoders, FPNs, segmentation heads).

``Resize(scale=(s_h, s_w))`` gives ``floor(H s_h) x floor(W s_w) x C`` (ONNX ``Resize`` with
scales, PyTorch's ``nn.Upsample(scale_factor=)``, Keras' ``UpSampling2D``); ``Resize(size=(h, w))``
gives ``h x w x C`` (``F.interpolate(size=)``, Keras' ``Resizing``). No parameters and no
multiply-accumulates (docs/counting.md: conv and dense only); interpolation is counted only by the
presets that count it: fvcore's ``upsample_nearest2d`` (one per output element) and
``upsample_bilinear2d`` (four), ptflops' ``upsample_flops_counter_hook`` (one per output element).
Receptive fields are not carried through it (the recurrence has no fractional stride).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from ..arith import floordiv, is_number, product
from .base import Layer, SpecError, pair
from .geometry import need_positive, need_spatial
from .registry import Absent, Kind, Rule, ignored, register

MODES = ("nearest", "linear", "bilinear", "cubic", "bicubic", "area")


@dataclass(frozen=True)
class Resize(Layer):
    """Resize the image by ``scale`` (a factor, or one per axis) or to ``size`` (``(h, w)``)."""

    scale: object = None
    size: tuple | None = None
    mode: str = "nearest"


def _scaled(n, s):
    if is_number(s):
        return n * s
    if is_number(n):
        return int(n * float(s) + 1e-9)

    ratio = Fraction(float(s)).limit_denominator(1000)
    return floordiv(n * ratio.numerator, ratio.denominator)


def resize_shape(layer: Resize, in_shape, warn):
    h, w, c = need_spatial(layer, in_shape)
    if layer.mode not in MODES:
        raise SpecError(f"layer '{layer.name}' (Resize): unknown mode '{layer.mode}' (known: {', '.join(MODES)})")
    if (layer.scale is None) == (layer.size is None):
        raise SpecError(f"layer '{layer.name}' (Resize): give a scale or a size, not {'both' if layer.size is not None else 'neither'}")
    if layer.size is not None:
        out_h, out_w = pair(layer.size)
        for what, v in (("height", out_h), ("width", out_w)):
            need_positive(layer, f"output {what}", v)
        return (out_h, out_w, c)
    sh, sw = pair(layer.scale)
    for v in (sh, sw):
        if not float(v) > 0:
            raise SpecError(f"layer '{layer.name}' (Resize): scales must be positive, got {layer.scale}")
    return (_scaled(h, sh), _scaled(w, sw), c)


def _keras(b, layer: Resize, x, qualified):
    keras = b.keras
    interpolation = {"linear": "bilinear", "cubic": "bicubic"}.get(layer.mode, layer.mode)
    if layer.scale is not None and all(is_number(v) for v in pair(layer.scale)):
        return keras.layers.UpSampling2D(pair(layer.scale), interpolation=interpolation, name=b.name(qualified))(x)
    _, h, w, _ = x.shape
    size = pair(layer.size) if layer.size is not None else tuple(int(n * float(s)) for n, s in zip((h, w), pair(layer.scale)))
    return keras.layers.Resizing(*size, interpolation=interpolation, name=b.name(qualified))(x)


def _per_output(weight):
    def count(row):
        linear = row.layer.mode in ("linear", "bilinear")
        return (weight if linear else 1) * product(row.output)

    return count


register(
    Kind(
        Resize,
        rule=Rule(shape=resize_shape, tracks_field=False),
        prefix="resize",
        notation=Absent("no arrow word yet: build it in Python (cnncalc.spec) or import an ONNX model"),
        keras=_keras,
        strings={"mode": MODES},
        ops={
            **ignored("macs", "flops", "torchvision", "torchinfo", "tf-profiler"),
            "fvcore": _per_output(4),  # upsample_nearest2d: elementwise(0, 1); upsample_bilinear2d: (0, 4)
            "ptflops": _per_output(1),  # upsample_flops_counter_hook: output elements, any mode
        },
    )
)
