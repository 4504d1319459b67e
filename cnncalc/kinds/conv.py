"""2-D convolution, grouped and dilated: the kind that holds almost every weight and MAC."""

from __future__ import annotations

from dataclasses import dataclass

from .base import Layer, Padding, Size, SpecError, pair
from .geometry import explicit_pair, need_positive, need_spatial, same_padding, spatial_output, window
from ..arith import known, product
from .handles import mac_layer_ops, parameters
from .notation_args import fmt_options, kernel_size, positive_int
from .registry import Counts, Kind, Notation, Rule, register


@dataclass(frozen=True)
class Conv2D(Layer):
    """2-D convolution. ``padding`` is ``"same"`` (TensorFlow's rule), ``"valid"`` or explicit pixels."""

    filters: Size
    kernel: Size | tuple = 3
    stride: Size | tuple = 1
    padding: Padding = "same"
    dilation: Size | tuple = 1
    groups: Size = 1
    bias: bool = True


def conv_shape(layer: Conv2D, in_shape, warn):
    _, _, c_in = need_spatial(layer, in_shape)
    need_positive(layer, "filters", layer.filters)
    need_positive(layer, "groups", layer.groups)
    g = layer.groups
    if known(g) and known(c_in) and c_in % g:
        raise SpecError(f"layer '{layer.name}': groups={g} does not divide its {c_in} input channels")
    if known(g) and known(layer.filters) and layer.filters % g:
        raise SpecError(f"layer '{layer.name}': groups={g} does not divide its {layer.filters} filters")
    out_h, out_w = spatial_output(
        layer, in_shape, layer.kernel, layer.stride, layer.padding, layer.dilation, warn
    )
    return (out_h, out_w, layer.filters)


def conv_counts(layer: Conv2D, in_shape, out_shape):
    """Per group: ``k_h*k_w*(C_in/g)*(C_out/g)`` weights and ``C_out/g`` biases, times ``g`` groups
    (AlexNet's conv2: ``2 x (5x5x48x128 + 128)``); ``g = 1`` is the ordinary convolution."""
    kh, kw = pair(layer.kernel)
    c_in, c_out, g = in_shape[2], layer.filters, layer.groups

    def per_group(n):
        return n // g if known(n) and known(g) else n / g

    weights = g * (kh * kw * per_group(c_in) * per_group(c_out))
    biases = g * per_group(c_out) if layer.bias else 0
    return Counts(weights=weights, biases=biases, macs=out_shape[0] * out_shape[1] * weights)


# --------------------------------------------------------------------------------------------
# Arrow notation: CONV<k>-<filters>(s=, p=, d=, g=, bias=)
# --------------------------------------------------------------------------------------------


def _parse(word, kernel, arg, options, classes):
    filters = positive_int(arg, "CONV filters")
    return [Conv2D(filters, kernel_size(kernel, 3), **{"padding": "same", **options})]


def _write(layer: Conv2D) -> str:
    if any(isinstance(v, tuple) for v in (layer.kernel, layer.stride, layer.dilation, layer.padding)):
        raise SpecError(f"layer '{layer.name}': rectangular kernels have no arrow notation")
    opts = []
    if layer.stride != 1:
        opts.append(("s", layer.stride))
    if layer.padding != "same":
        opts.append(("p", layer.padding))
    if layer.dilation != 1:
        opts.append(("d", layer.dilation))
    if layer.groups != 1:
        opts.append(("g", layer.groups))
    if not layer.bias:
        opts.append(("bias", "false"))
    return f"CONV{layer.kernel}-{layer.filters}{fmt_options(opts)}"


# --------------------------------------------------------------------------------------------
# Keras: Conv2D(groups=, dilation_rate=); explicit padding via a ZeroPadding2D '.pad' helper;
# stride > 1 with dilation > 1 (which Keras refuses) as explicit padding, a stride-1 dilated
# convolution and a Subsample2D '.subsample' helper: the output of TensorFlow's strided conv.
# --------------------------------------------------------------------------------------------


def _keras(b, layer: Conv2D, x, qualified):
    keras = b.keras
    (kh, kw), (sh, sw), (dh, dw) = pair(layer.kernel), pair(layer.stride), pair(layer.dilation)
    # Dilation is meaningless for a 1-wide kernel; Keras refuses it with strides, so drop it.
    dh, dw = (dh if kh > 1 else 1), (dw if kw > 1 else 1)
    strided_dilation = (sh > 1 or sw > 1) and (dh > 1 or dw > 1)
    explicit = explicit_pair(layer.padding)
    pads = None
    if explicit is not None and any(explicit):
        pads = ((explicit[0], explicit[0]), (explicit[1], explicit[1]))
    elif strided_dilation and explicit is None and layer.padding.lower() == "same":
        _, h, w, _ = x.shape
        pads = (same_padding(h, dh * (kh - 1) + 1, sh), same_padding(w, dw * (kw - 1) + 1, sw))
    if pads is not None and any(any(side) for side in pads):
        x = keras.layers.ZeroPadding2D(pads, name=b.name(qualified, "pad"))(x)
    padding = "same" if explicit is None and layer.padding.lower() == "same" and not strided_dilation else "valid"
    x = keras.layers.Conv2D(
        layer.filters,
        (kh, kw),
        strides=(1, 1) if strided_dilation else (sh, sw),
        padding=padding,
        dilation_rate=(dh, dw),
        groups=layer.groups,
        use_bias=layer.bias,
        name=b.name(qualified),
    )(x)
    if strided_dilation:
        x = b.custom.Subsample2D((sh, sw), name=b.name(qualified, "subsample"))(x)
    return x


register(
    Kind(
        Conv2D,
        rule=Rule(
            shape=conv_shape,
            counts=conv_counts,
            window=window(lambda layer: layer.kernel, lambda layer: layer.stride, lambda layer: layer.padding, lambda layer: layer.dilation),
        ),
        prefix="conv",
        notation=Notation(
            ("conv",),
            _parse,
            _write,
            kernel=True,
            argument="filters",
            options=frozenset({"stride", "padding", "dilation", "groups", "bias"}),
            spatial="needs",
        ),
        keras=_keras,
        strings={"padding": ("same", "valid")},
        ops=mac_layer_ops(torchinfo=lambda row: parameters(row) * product(row.output[:2])),
    )
)
