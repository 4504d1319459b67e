"""Depthwise and depthwise-separable convolutions (MobileNet, Xception, EfficientNet, NASNet).

A depthwise convolution filters each input channel on its own (``m`` filters per channel, the
depth multiplier); a separable convolution is a depthwise one followed by a 1x1 pointwise one,
as Keras' ``SeparableConv2D`` computes it (the depthwise half has no bias). Counts (docs/counting.md):

- depthwise: weights ``k_h k_w C m``, biases ``C m``, MACs ``H_out W_out C m k_h k_w``;
- separable: weights ``k_h k_w C m + C m F``, biases ``F``, MACs the sum of both halves.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..arith import product
from .base import Layer, Padding, Size, SpecError, pair
from .geometry import need_positive, need_spatial, spatial_output, window
from .handles import mac_layer_ops, parameters
from .registry import Absent, Counts, Kind, Rule, register


@dataclass(frozen=True)
class DepthwiseConv2D(Layer):
    """Each input channel convolved with its own ``multiplier`` filters: ``C -> C m`` channels."""

    kernel: Size | tuple = 3
    stride: Size | tuple = 1
    padding: Padding = "same"
    dilation: Size | tuple = 1
    multiplier: Size = 1
    bias: bool = True


@dataclass(frozen=True)
class SeparableConv2D(Layer):
    """A depthwise convolution (no bias) then a 1x1 convolution to ``filters`` channels."""

    filters: Size
    kernel: Size | tuple = 3
    stride: Size | tuple = 1
    padding: Padding = "same"
    dilation: Size | tuple = 1
    multiplier: Size = 1
    bias: bool = True


def _spatial(layer, in_shape, warn):
    need_spatial(layer, in_shape)
    need_positive(layer, "depth multiplier", layer.multiplier)
    return spatial_output(layer, in_shape, layer.kernel, layer.stride, layer.padding, layer.dilation, warn)


def depthwise_shape(layer: DepthwiseConv2D, in_shape, warn):
    out_h, out_w = _spatial(layer, in_shape, warn)
    return (out_h, out_w, in_shape[2] * layer.multiplier)


def separable_shape(layer: SeparableConv2D, in_shape, warn):
    need_positive(layer, "filters", layer.filters)
    out_h, out_w = _spatial(layer, in_shape, warn)
    return (out_h, out_w, layer.filters)


def depthwise_counts(layer: DepthwiseConv2D, in_shape, out_shape):
    kh, kw = pair(layer.kernel)
    channels = in_shape[2] * layer.multiplier
    weights = kh * kw * channels
    return Counts(weights=weights, biases=channels if layer.bias else 0, macs=out_shape[0] * out_shape[1] * weights)


def separable_counts(layer: SeparableConv2D, in_shape, out_shape):
    kh, kw = pair(layer.kernel)
    mid = in_shape[2] * layer.multiplier
    depthwise, pointwise = kh * kw * mid, mid * layer.filters
    positions = out_shape[0] * out_shape[1]
    return Counts(
        weights=depthwise + pointwise,
        biases=layer.filters if layer.bias else 0,
        macs=positions * depthwise + positions * pointwise,
    )


def _keras_depthwise(b, layer: DepthwiseConv2D, x, qualified):
    return b.keras.layers.DepthwiseConv2D(
        pair(layer.kernel), strides=pair(layer.stride), padding=_mode(layer), depth_multiplier=layer.multiplier,
        dilation_rate=pair(layer.dilation), use_bias=layer.bias, name=b.name(qualified),
    )(x)


def _keras_separable(b, layer: SeparableConv2D, x, qualified):
    return b.keras.layers.SeparableConv2D(
        layer.filters, pair(layer.kernel), strides=pair(layer.stride), padding=_mode(layer),
        depth_multiplier=layer.multiplier, dilation_rate=pair(layer.dilation), use_bias=layer.bias, name=b.name(qualified),
    )(x)


def _mode(layer):
    if not isinstance(layer.padding, str):
        raise SpecError(f"layer '{layer.name}': Keras' {layer.kind} takes 'same' or 'valid' padding, not pixels")
    return layer.padding.lower()


_WINDOW = window(lambda layer: layer.kernel, lambda layer: layer.stride, lambda layer: layer.padding, lambda layer: layer.dilation)
_NO_ARROW = Absent("no arrow word yet: build it in Python (cnncalc.spec) or import a Keras model")
# torchinfo's calculate_macs: parameters x output positions, as for every convolution
_OPS = mac_layer_ops(torchinfo=lambda row: parameters(row) * product(row.output[:2]))

register(
    Kind(
        DepthwiseConv2D,
        rule=Rule(shape=depthwise_shape, counts=depthwise_counts, window=_WINDOW),
        prefix="dwconv",
        notation=_NO_ARROW,
        keras=_keras_depthwise,
        strings={"padding": ("same", "valid")},
        ops=_OPS,
    )
)

register(
    Kind(
        SeparableConv2D,
        rule=Rule(shape=separable_shape, counts=separable_counts, window=_WINDOW),
        prefix="sepconv",
        notation=_NO_ARROW,
        keras=_keras_separable,
        strings={"padding": ("same", "valid")},
        ops=_OPS,
    )
)
