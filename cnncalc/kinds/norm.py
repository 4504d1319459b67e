"""Normalisation: batch normalisation (parameters, some non-trainable) and AlexNet's LRN (none)."""

from __future__ import annotations

from dataclasses import dataclass

from .base import Layer
from .geometry import need_spatial
from .handles import parameters, twice_input_elements
from .registry import Counts, Kind, Notation, Rule, ignored, register


@dataclass(frozen=True)
class BatchNorm(Layer):
    """Batch normalisation over the channel (last) axis: gamma, beta trainable; mean, variance not."""

    epsilon: float = 1e-3
    momentum: float = 0.99


@dataclass(frozen=True)
class LRN(Layer):
    """Local response normalisation across channels (AlexNet section 3.3); no parameters."""

    depth_radius: int = 2
    bias: float = 2.0
    alpha: float = 1e-4
    beta: float = 0.75


def same_shape(layer, in_shape, warn):
    return tuple(in_shape)


def batchnorm_counts(layer, in_shape, out_shape):
    """``C`` gamma + ``C`` beta trainable, ``2C`` moving mean and variance non-trainable (Keras)."""
    channels = in_shape[-1]
    return Counts(weights=channels, biases=channels, non_trainable=2 * channels)


def lrn_shape(layer, in_shape, warn):
    return tuple(need_spatial(layer, in_shape))


def _keras_batchnorm(b, layer: BatchNorm, x, qualified):
    return b.keras.layers.BatchNormalization(epsilon=layer.epsilon, momentum=layer.momentum, name=b.name(qualified))(x)


def _keras_lrn(b, layer: LRN, x, qualified):
    return b.custom.LocalResponseNormalization(
        layer.depth_radius, layer.bias, layer.alpha, layer.beta, name=b.name(qualified)
    )(x)


register(
    Kind(
        BatchNorm,
        rule=Rule(shape=same_shape, counts=batchnorm_counts),
        prefix="bn",
        notation=Notation(("bn",), lambda *a: [BatchNorm()], lambda layer: "BN"),
        keras=_keras_batchnorm,
        strings={},
        ops={
            **ignored("macs", "flops", "torchvision", "tf-profiler"),  # TF: FusedBatchNorm has no flops
            "fvcore": twice_input_elements,  # batchnorm_flop_jit, eval: numel * 2 when affine
            "ptflops": twice_input_elements,  # bn_flops_counter_hook
            "torchinfo": parameters,  # calculate_macs: its parameters (buffers are not)
        },
    )
)

register(
    Kind(
        LRN,
        rule=Rule(shape=lrn_shape),
        prefix="lrn",
        notation=Notation(("lrn",), lambda *a: [LRN()], lambda layer: "LRN"),
        keras=_keras_lrn,
        strings={},
        ops=ignored("macs", "flops", "torchvision", "fvcore", "ptflops", "torchinfo", "tf-profiler"),
    )
)
