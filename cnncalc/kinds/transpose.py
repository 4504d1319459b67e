"""Transposed convolution (``Conv2DTranspose``): the upsampling layer of U-Nets and decoders;
``Conv1DTranspose`` on a signal ``T x C`` and ``Conv3DTranspose`` on a volume ``D x H x W x C``
(3-D U-Nets) follow the same formulas per spatial axis.

Output size as Keras 3 computes it (``_get_output_shape_given_tf_padding``), with
``k_eff = d(k-1) + 1``: ``valid``: ``(n-1)s + k_eff + op`` where ``op`` defaults to
``max(k_eff, s) - k_eff``; ``same``: ``n s`` without ``output_padding``, else
``(n-1)s + k_eff mod 2 + op``. Weights ``prod(k) C_in F``, biases ``F``; every input pixel is
multiplied into a ``k_h x k_w x F`` window, so MACs are ``prod(in spatial) prod(k) C_in F`` (fvcore's
``conv_flop_count`` with ``transposed=True`` counts the same). Receptive fields are not tracked
through it (the recurrence of Araujo et al. has no fractional stride): rows after it show none.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ..arith import product
from .base import Layer, Padding, Size, SpecError, spread
from .geometry import need_positive, need_spatial, spatial_rank
from .handles import bias_adds, macs, parameters, twice_macs
from .registry import Absent, Counts, Kind, Rule, register


@dataclass(frozen=True)
class TransposeFields:
    """The fields of a transposed convolution of any spatial rank; ``padding`` is ``"same"`` or
    ``"valid"`` (Keras' rule); ``kernel``, ``stride``, ``dilation``, ``output_padding`` one value
    or one per spatial axis."""

    filters: Size
    kernel: Size | tuple = 3
    stride: Size | tuple = 1
    padding: Padding = "same"
    output_padding: Size | tuple | None = None
    dilation: Size | tuple = 1
    bias: bool = True


@dataclass(frozen=True)
class Conv2DTranspose(Layer, TransposeFields):
    """Transposed convolution over an image ``H x W x C``."""

    SPATIAL: ClassVar[int] = 2


@dataclass(frozen=True)
class Conv1DTranspose(Layer, TransposeFields):
    """Transposed convolution over a signal ``T x C`` (Keras' ``Conv1DTranspose``)."""

    SPATIAL: ClassVar[int] = 1


@dataclass(frozen=True)
class Conv3DTranspose(Layer, TransposeFields):
    """Transposed convolution over a volume ``D x H x W x C`` (Keras' ``Conv3DTranspose``)."""

    SPATIAL: ClassVar[int] = 3


_AXIS_NAMES = {1: ("steps",), 2: ("height", "width"), 3: ("depth", "height", "width")}


def _length(n, k, s, d, padding, op):
    k_eff = d * (k - 1) + 1
    if padding == "valid":
        if op is None:
            op = (k_eff if k_eff >= s else s) - k_eff
        return (n - 1) * s + k_eff + op
    if op is None:
        return n * s
    return (n - 1) * s + k_eff % 2 + op


def transpose_shape(layer: Conv2DTranspose, in_shape, warn):
    n = spatial_rank(layer)
    sizes = need_spatial(layer, in_shape)[:n]
    need_positive(layer, "filters", layer.filters)
    padding = layer.padding.lower() if isinstance(layer.padding, str) else None
    if padding not in ("same", "valid"):
        raise SpecError(f"layer '{layer.name}': a transposed convolution takes 'same' or 'valid' padding, got {layer.padding!r}")
    kernel, stride, dilation = spread(layer.kernel, n), spread(layer.stride, n), spread(layer.dilation, n)
    out_pad = (None,) * n if layer.output_padding is None else spread(layer.output_padding, n)
    what = _AXIS_NAMES[n]
    for axis, (op, s) in enumerate(zip(out_pad, stride)):
        if op is not None and isinstance(op, int) and isinstance(s, int) and not 0 <= op < s:
            raise SpecError(f"layer '{layer.name}': output_padding along the {what[axis]} must be in [0, stride {s}), got {op}")
    return (*(_length(*args, padding, op) for *args, op in zip(sizes, kernel, stride, dilation, out_pad)), layer.filters)


def transpose_counts(layer: Conv2DTranspose, in_shape, out_shape):
    weights = product(spread(layer.kernel, spatial_rank(layer))) * in_shape[-1] * layer.filters
    return Counts(weights=weights, biases=layer.filters if layer.bias else 0, macs=product(in_shape[:-1]) * weights)


def _keras(b, layer: Conv2DTranspose, x, qualified):
    n = spatial_rank(layer)
    return getattr(b.keras.layers, f"Conv{n}DTranspose")(
        layer.filters, spread(layer.kernel, n), strides=spread(layer.stride, n), padding=layer.padding.lower(),
        output_padding=None if layer.output_padding is None else spread(layer.output_padding, n),
        dilation_rate=spread(layer.dilation, n), use_bias=layer.bias, name=b.name(qualified),
    )(x)


for _cls in (Conv2DTranspose, Conv1DTranspose, Conv3DTranspose):
    register(
        Kind(
            _cls,
            rule=Rule(shape=transpose_shape, counts=transpose_counts, tracks_field=False),
            prefix="deconv",
            notation=Absent("no arrow word yet: build it in Python (cnncalc.spec) or import a Keras model"),
            keras=_keras,
            strings={"padding": ("same", "valid")},
            ops={
                "macs": macs,
                "flops": twice_macs,
                "torchvision": macs,
                "fvcore": macs,  # conv_flop_count(transposed=True): prod(w_shape) * prod(x_shape[2:])
                "ptflops": lambda row: row.macs + bias_adds(row),  # conv hook: per-position flops + bias
                "torchinfo": lambda row: parameters(row) * product(row.output[:-1]),  # params x output positions
                # TF registers Conv2DBackpropInput as 2 x filter elements x input positions: 2 x MACs; + BiasAdd
                "tf-profiler": lambda row: 2 * row.macs + bias_adds(row),
            },
        )
    )
