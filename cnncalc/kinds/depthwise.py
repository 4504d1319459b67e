"""Depthwise and depthwise-separable convolutions (MobileNet, Xception, EfficientNet, NASNet).

A depthwise convolution filters each input channel on its own (``m`` filters per channel, the
depth multiplier); a separable convolution is a depthwise one followed by a 1x1 pointwise one,
as Keras' ``SeparableConv2D`` computes it (the depthwise half has no bias). The 1-D forms
(Keras' ``DepthwiseConv1D``, ``SeparableConv1D``) read a signal ``T x C`` with the same formulas
over one spatial axis. Counts (docs/counting.md), ``prod(k)`` the kernel's size (``k_h k_w``):

- depthwise: weights ``prod(k) C m``, biases ``C m``, MACs ``prod(out spatial) C m prod(k)``;
- separable: weights ``prod(k) C m + C m F``, biases ``F``, MACs the sum of both halves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ..arith import product
from .base import Layer, Padding, Size, SpecError, spread
from .geometry import need_positive, need_spatial, spatial_output, spatial_rank, window
from .handles import mac_layer_ops, parameters
from .registry import Absent, Counts, Kind, Rule, register


@dataclass(frozen=True)
class DepthwiseFields:
    """The fields of a depthwise convolution of any spatial rank: each input channel convolved with
    its own ``multiplier`` filters, ``C -> C m`` channels."""

    kernel: Size | tuple = 3
    stride: Size | tuple = 1
    padding: Padding = "same"
    dilation: Size | tuple = 1
    multiplier: Size = 1
    bias: bool = True


@dataclass(frozen=True)
class SeparableFields:
    """The fields of a separable convolution of any spatial rank: a depthwise convolution (no
    bias) then a pointwise (1x1) convolution to ``filters`` channels."""

    filters: Size
    kernel: Size | tuple = 3
    stride: Size | tuple = 1
    padding: Padding = "same"
    dilation: Size | tuple = 1
    multiplier: Size = 1
    bias: bool = True


@dataclass(frozen=True)
class DepthwiseConv2D(Layer, DepthwiseFields):
    """Depthwise convolution over an image ``H x W x C``."""

    SPATIAL: ClassVar[int] = 2


@dataclass(frozen=True)
class DepthwiseConv1D(Layer, DepthwiseFields):
    """Depthwise convolution over a signal ``T x C`` (Keras' ``DepthwiseConv1D``)."""

    SPATIAL: ClassVar[int] = 1


@dataclass(frozen=True)
class SeparableConv2D(Layer, SeparableFields):
    """Separable convolution over an image ``H x W x C``."""

    SPATIAL: ClassVar[int] = 2


@dataclass(frozen=True)
class SeparableConv1D(Layer, SeparableFields):
    """Separable convolution over a signal ``T x C`` (Keras' ``SeparableConv1D``)."""

    SPATIAL: ClassVar[int] = 1


def _spatial(layer, in_shape, warn):
    need_spatial(layer, in_shape)
    need_positive(layer, "depth multiplier", layer.multiplier)
    return spatial_output(layer, in_shape, layer.kernel, layer.stride, layer.padding, layer.dilation, warn)


def depthwise_shape(layer: DepthwiseConv2D, in_shape, warn):
    return (*_spatial(layer, in_shape, warn), in_shape[-1] * layer.multiplier)


def separable_shape(layer: SeparableConv2D, in_shape, warn):
    need_positive(layer, "filters", layer.filters)
    return (*_spatial(layer, in_shape, warn), layer.filters)


def _kernel_size(layer):
    return product(spread(layer.kernel, spatial_rank(layer)))


def depthwise_counts(layer: DepthwiseConv2D, in_shape, out_shape):
    channels = in_shape[-1] * layer.multiplier
    weights = _kernel_size(layer) * channels
    return Counts(weights=weights, biases=channels if layer.bias else 0, macs=product(out_shape[:-1]) * weights)


def separable_counts(layer: SeparableConv2D, in_shape, out_shape):
    mid = in_shape[-1] * layer.multiplier
    depthwise, pointwise = _kernel_size(layer) * mid, mid * layer.filters
    positions = product(out_shape[:-1])
    return Counts(
        weights=depthwise + pointwise,
        biases=layer.filters if layer.bias else 0,
        macs=positions * depthwise + positions * pointwise,
    )


def _window_args(layer) -> dict:
    n = spatial_rank(layer)
    return {
        "kernel_size": spread(layer.kernel, n), "strides": spread(layer.stride, n), "padding": _mode(layer),
        "depth_multiplier": layer.multiplier, "dilation_rate": spread(layer.dilation, n), "use_bias": layer.bias,
    }


def _keras_depthwise(b, layer: DepthwiseConv2D, x, qualified):
    return getattr(b.keras.layers, f"DepthwiseConv{spatial_rank(layer)}D")(**_window_args(layer), name=b.name(qualified))(x)


def _keras_separable(b, layer: SeparableConv2D, x, qualified):
    return getattr(b.keras.layers, f"SeparableConv{spatial_rank(layer)}D")(layer.filters, **_window_args(layer), name=b.name(qualified))(x)


def _mode(layer):
    if not isinstance(layer.padding, str):
        raise SpecError(f"layer '{layer.name}': Keras' {layer.kind} takes 'same' or 'valid' padding, not pixels")
    return layer.padding.lower()


_WINDOW = window(lambda layer: layer.kernel, lambda layer: layer.stride, lambda layer: layer.padding, lambda layer: layer.dilation)
_NO_ARROW = Absent("no arrow word yet: build it in Python (cnncalc.spec) or import a Keras model")
# torchinfo's calculate_macs: parameters x output positions, as for every convolution
_OPS = mac_layer_ops(torchinfo=lambda row: parameters(row) * product(row.output[:-1]))

for _cls, _prefix, _shape, _counts, _builder in (
    (DepthwiseConv2D, "dwconv", depthwise_shape, depthwise_counts, _keras_depthwise),
    (DepthwiseConv1D, "dwconv", depthwise_shape, depthwise_counts, _keras_depthwise),
    (SeparableConv2D, "sepconv", separable_shape, separable_counts, _keras_separable),
    (SeparableConv1D, "sepconv", separable_shape, separable_counts, _keras_separable),
):
    register(
        Kind(
            _cls,
            rule=Rule(shape=_shape, counts=_counts, window=_WINDOW),
            prefix=_prefix,
            notation=_NO_ARROW,
            keras=_builder,
            strings={"padding": ("same", "valid")},
            ops=_OPS,
        )
    )
