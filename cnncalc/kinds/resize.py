"""Resizing an image: nearest or bilinear upsampling (U-Net decoders, FPNs, segmentation heads).

``Resize(scale=(s_h, s_w))`` gives ``floor(H s_h) x floor(W s_w) x C`` (ONNX ``Resize`` with
scales, PyTorch's ``nn.Upsample(scale_factor=)``, Keras' ``UpSampling2D``); ``Resize(size=(h, w))``
gives ``h x w x C`` (``F.interpolate(size=)``, Keras' ``Resizing``). No parameters and no
multiply-accumulates (docs/counting.md: conv and dense only); interpolation is counted only by the
presets that count it: fvcore's ``upsample_nearest2d`` (one per output element) and
``upsample_bilinear2d`` (four), ptflops' ``upsample_flops_counter_hook`` (one per output element).
Receptive fields are not carried through it (the recurrence has no fractional stride).

The same kind resizes a signal ``T x C`` (Keras' ``UpSampling1D``, ONNX ``Resize`` on ``N x C x T``)
and a volume ``D x H x W x C`` (``UpSampling3D``): ``scale`` and ``size`` then have one value per
spatial axis (every axis but the channels).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from ..arith import floordiv, is_number, product
from .base import Layer, SpecError, spread
from .geometry import INPUT_FORMS, need_positive
from .registry import Absent, Kind, Rule, ignored, register

MODES = ("nearest", "linear", "bilinear", "cubic", "bicubic", "area")


@dataclass(frozen=True)
class Resize(Layer):
    """Resize the image by ``scale`` (a factor, or one per spatial axis) or to ``size`` (``(h, w)``;
    ``(t,)`` for a signal, ``(d, h, w)`` for a volume)."""

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


_AXES = {1: ("steps",), 2: ("height", "width"), 3: ("depth", "height", "width")}


def resize_shape(layer: Resize, in_shape, warn):
    n = len(in_shape) - 1
    if n not in _AXES:
        got = f"a vector of {in_shape[0]}" if len(in_shape) == 1 else f"the rank-{len(in_shape)} tensor {'x'.join(map(str, in_shape))}"
        raise SpecError(f"layer '{layer.name}' (Resize) needs {INPUT_FORMS[2]}, {INPUT_FORMS[1]} or {INPUT_FORMS[3]} input, got {got}")
    c = in_shape[-1]
    if layer.mode not in MODES:
        raise SpecError(f"layer '{layer.name}' (Resize): unknown mode '{layer.mode}' (known: {', '.join(MODES)})")
    if (layer.scale is None) == (layer.size is None):
        raise SpecError(f"layer '{layer.name}' (Resize): give a scale or a size, not {'both' if layer.size is not None else 'neither'}")
    if layer.size is not None:
        sizes = spread(layer.size, n)
        for what, v in zip(_AXES[n], sizes):
            need_positive(layer, f"output {what}", v)
        return (*sizes, c)
    scales = spread(layer.scale, n)
    for v in scales:
        if not float(v) > 0:
            raise SpecError(f"layer '{layer.name}' (Resize): scales must be positive, got {layer.scale}")
    return (*(_scaled(size, s) for size, s in zip(in_shape[:-1], scales)), c)


def _keras(b, layer: Resize, x, qualified):
    keras = b.keras
    interpolation = {"linear": "bilinear", "cubic": "bicubic"}.get(layer.mode, layer.mode)
    n = len(x.shape) - 2
    if n != 2:  # UpSampling1D/3D repeat steps (nearest): integer factors only
        scales = None if layer.scale is None else spread(layer.scale, n)
        if layer.mode != "nearest" or scales is None or not all(is_number(v) for v in scales):
            raise SpecError(f"layer '{layer.name}' (Resize): Keras resizes a {n}-D tensor only by integer factors, nearest (UpSampling{n}D)")
        return getattr(keras.layers, f"UpSampling{n}D")(scales[0] if n == 1 else scales, name=b.name(qualified))(x)
    if layer.scale is not None and all(is_number(v) for v in spread(layer.scale, 2)):
        return keras.layers.UpSampling2D(spread(layer.scale, 2), interpolation=interpolation, name=b.name(qualified))(x)
    _, h, w, _ = x.shape
    size = spread(layer.size, 2) if layer.size is not None else tuple(int(n * float(s)) for n, s in zip((h, w), spread(layer.scale, 2)))
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
