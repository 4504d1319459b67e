"""Convolution over 1, 2 or 3 spatial axes, grouped and dilated: the kind that holds almost every
weight and MAC.

``Conv2D`` reads an image ``H x W x C``; ``Conv1D`` a signal ``T x C`` (audio, ECG, a text's
tokens; Keras' ``causal`` padding too); ``Conv3D`` a volume ``D x H x W x C`` (video, CT): those two
are declared in :mod:`.nd` with this module's rule. One dataclass of fields (:class:`ConvFields`)
and one formula serve all three, per spatial axis
(:mod:`.geometry`): weights ``g * prod(k) * (C_in/g) * (C_out/g)``, MACs that times the output
positions ``prod(out spatial)`` (docs/conventions.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from .base import Layer, Padding, Size, SpecError, spread
from .geometry import explicit_pair, need_positive, need_spatial, same_padding, spatial_output, spatial_rank, window
from ..arith import known, product
from .handles import mac_layer_ops, parameters
from .notation_args import fmt_options, kernel_size, positive_int
from .registry import Counts, Kind, Notation, Rule, register


@dataclass(frozen=True)
class ConvFields:
    """The fields of a convolution of any spatial rank. ``kernel``, ``stride``, ``dilation`` and an
    explicit ``padding`` are one value for every spatial axis or one per axis; ``padding`` is
    ``"same"`` (TensorFlow's rule), ``"valid"``, explicit pixels on each side, or (1-D only)
    ``"causal"``."""

    filters: Size
    kernel: Size | tuple = 3
    stride: Size | tuple = 1
    padding: Padding = "same"
    dilation: Size | tuple = 1
    groups: Size = 1
    bias: bool = True


@dataclass(frozen=True)
class Conv2D(Layer, ConvFields):
    """2-D convolution over an image ``H x W x C``."""

    SPATIAL: ClassVar[int] = 2


def conv_shape(layer: Conv2D, in_shape, warn):
    c_in = need_spatial(layer, in_shape)[-1]
    need_positive(layer, "filters", layer.filters)
    need_positive(layer, "groups", layer.groups)
    g = layer.groups
    if known(g) and known(c_in) and c_in % g:
        raise SpecError(f"layer '{layer.name}': groups={g} does not divide its {c_in} input channels")
    if known(g) and known(layer.filters) and layer.filters % g:
        raise SpecError(f"layer '{layer.name}': groups={g} does not divide its {layer.filters} filters")
    spatial = spatial_output(layer, in_shape, layer.kernel, layer.stride, layer.padding, layer.dilation, warn)
    return (*spatial, layer.filters)


def conv_counts(layer: Conv2D, in_shape, out_shape):
    """Per group: ``prod(k)*(C_in/g)*(C_out/g)`` weights and ``C_out/g`` biases, times ``g`` groups
    (AlexNet's conv2: ``2 x (5x5x48x128 + 128)``); ``g = 1`` is the ordinary convolution. MACs:
    the weights times the output positions (``H_out W_out``; ``T_out``; ``D_out H_out W_out``)."""
    c_in, c_out, g = in_shape[-1], layer.filters, layer.groups

    def per_group(n):
        return n // g if known(n) and known(g) else n / g

    weights = g * (product(spread(layer.kernel, spatial_rank(layer))) * per_group(c_in) * per_group(c_out))
    biases = g * per_group(c_out) if layer.bias else 0
    return Counts(weights=weights, biases=biases, macs=product(out_shape[:-1]) * weights)


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
# Keras: Conv1D/Conv2D/Conv3D(groups=, dilation_rate=); explicit padding via a ZeroPadding<n>D
# '.pad' helper; stride > 1 with dilation > 1 (which Keras refuses) as explicit padding, a
# stride-1 dilated convolution and a Subsample2D '.subsample' helper (one stride per spatial
# axis): the output of TensorFlow's strided conv.
# --------------------------------------------------------------------------------------------


def keras_conv(b, layer: Conv2D, x, qualified):
    keras = b.keras
    n = spatial_rank(layer)
    kernel, stride, dilation = spread(layer.kernel, n), spread(layer.stride, n), spread(layer.dilation, n)
    # Dilation is meaningless for a 1-wide kernel; Keras refuses it with strides, so drop it.
    dilation = tuple(d if k > 1 else 1 for d, k in zip(dilation, kernel))
    strided_dilation = any(s > 1 for s in stride) and any(d > 1 for d in dilation)
    explicit = explicit_pair(layer.padding, n)
    mode = None if explicit is not None else layer.padding.lower()
    pads = None
    if explicit is not None and any(explicit):
        pads = tuple((p, p) for p in explicit)
    elif strided_dilation and mode in ("same", "causal"):
        sizes = x.shape[1:-1]
        pads = tuple(
            (d * (k - 1), 0) if mode == "causal" else same_padding(size, d * (k - 1) + 1, s)
            for size, k, s, d in zip(sizes, kernel, stride, dilation)
        )
    if pads is not None and any(any(side) for side in pads):
        padding_layer = getattr(keras.layers, f"ZeroPadding{n}D")
        x = padding_layer(pads[0] if n == 1 else pads, name=b.name(qualified, "pad"))(x)
    padding = mode if mode in ("same", "causal") and not strided_dilation else "valid"
    x = getattr(keras.layers, f"Conv{n}D")(
        layer.filters,
        kernel,
        strides=(1,) * n if strided_dilation else stride,
        padding=padding,
        dilation_rate=dilation,
        groups=layer.groups,
        use_bias=layer.bias,
        name=b.name(qualified),
    )(x)
    if strided_dilation:
        x = b.custom.Subsample2D(stride, name=b.name(qualified, "subsample"))(x)
    return x


CONV_RULE = Rule(
    shape=conv_shape,
    counts=conv_counts,
    window=window(lambda layer: layer.kernel, lambda layer: layer.stride, lambda layer: layer.padding, lambda layer: layer.dilation),
)
# torchinfo's calculate_macs: parameters x output positions
CONV_OPS = mac_layer_ops(torchinfo=lambda row: parameters(row) * product(row.output[:-1]))

register(
    Kind(
        Conv2D,
        rule=CONV_RULE,
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
        keras=keras_conv,
        strings={"padding": ("same", "valid")},
        ops=CONV_OPS,
    )
)
