"""Transposed convolution (``Conv2DTranspose``): the upsampling layer of U-Nets and decoders.

Output size as Keras 3 computes it (``_get_output_shape_given_tf_padding``), with
``k_eff = d(k-1) + 1``: ``valid``: ``(n-1)s + k_eff + op`` where ``op`` defaults to
``max(k_eff, s) - k_eff``; ``same``: ``n s`` without ``output_padding``, else
``(n-1)s + k_eff mod 2 + op``. Weights ``k_h k_w C_in F``, biases ``F``; every input pixel is
multiplied into a ``k_h x k_w x F`` window, so MACs are ``H_in W_in k_h k_w C_in F`` (fvcore's
``conv_flop_count`` with ``transposed=True`` counts the same). Receptive fields are not tracked
through it (the recurrence of Araujo et al. has no fractional stride): rows after it show none.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..arith import product
from .base import Layer, Padding, Size, SpecError, pair
from .geometry import need_positive, need_spatial
from .handles import bias_adds, macs, parameters, twice_macs
from .registry import Absent, Counts, Kind, Rule, register


@dataclass(frozen=True)
class Conv2DTranspose(Layer):
    """Transposed convolution; ``padding`` is ``"same"`` or ``"valid"`` (Keras' rule)."""

    filters: Size
    kernel: Size | tuple = 3
    stride: Size | tuple = 1
    padding: Padding = "same"
    output_padding: Size | tuple | None = None
    dilation: Size | tuple = 1
    bias: bool = True


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
    h, w, _ = need_spatial(layer, in_shape)
    need_positive(layer, "filters", layer.filters)
    padding = layer.padding.lower() if isinstance(layer.padding, str) else None
    if padding not in ("same", "valid"):
        raise SpecError(f"layer '{layer.name}': a transposed convolution takes 'same' or 'valid' padding, got {layer.padding!r}")
    (kh, kw), (sh, sw), (dh, dw) = pair(layer.kernel), pair(layer.stride), pair(layer.dilation)
    oph, opw = (None, None) if layer.output_padding is None else pair(layer.output_padding)
    for what, op, s in (("height", oph, sh), ("width", opw, sw)):
        if op is not None and isinstance(op, int) and isinstance(s, int) and not 0 <= op < s:
            raise SpecError(f"layer '{layer.name}': output_padding along the {what} must be in [0, stride {s}), got {op}")
    return (_length(h, kh, sh, dh, padding, oph), _length(w, kw, sw, dw, padding, opw), layer.filters)


def transpose_counts(layer: Conv2DTranspose, in_shape, out_shape):
    kh, kw = pair(layer.kernel)
    weights = kh * kw * in_shape[2] * layer.filters
    return Counts(weights=weights, biases=layer.filters if layer.bias else 0, macs=in_shape[0] * in_shape[1] * weights)


def _keras(b, layer: Conv2DTranspose, x, qualified):
    return b.keras.layers.Conv2DTranspose(
        layer.filters, pair(layer.kernel), strides=pair(layer.stride), padding=layer.padding.lower(),
        output_padding=None if layer.output_padding is None else pair(layer.output_padding),
        dilation_rate=pair(layer.dilation), use_bias=layer.bias, name=b.name(qualified),
    )(x)


register(
    Kind(
        Conv2DTranspose,
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
            "torchinfo": lambda row: parameters(row) * product(row.output[:2]),  # params x output positions
            # TF registers Conv2DBackpropInput as 2 x filter elements x input positions: 2 x MACs; + BiasAdd
            "tf-profiler": lambda row: 2 * row.macs + bias_adds(row),
        },
    )
)
