"""Normalisation: batch and layer normalisation, Keras' preprocessing Normalization, AlexNet's LRN.

- BatchNorm: gamma (if ``scale``) and beta (if ``center``) trainable, ``C`` each; moving mean and
  variance ``2C`` non-trainable, always (Keras).
- LayerNorm: gamma and beta over the normalised axes (``prod`` of their sizes each), no
  non-trainable parameters.
- GroupNorm: the channels (``axis``) split into ``groups`` groups, each normalised over its
  channels and every position (Wu & He 2018); gamma and beta per channel, ``C`` each.
  ``groups = -1`` is instance normalisation (one group per channel: Keras' ``groups=-1``, ONNX
  ``InstanceNormalization``); ``groups = 1`` normalises each sample over everything.
- Normalization (Keras' preprocessing layer): when adapted (no mean/variance given in its config)
  Keras stores mean, variance (``C`` each) and a scalar count as non-trainable weights: ``2C + 1``;
  with the mean and variance given it holds no weights.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..arith import product
from .base import Layer, SpecError
from .geometry import need_spatial
from .handles import parameters, twice_input_elements
from .registry import Absent, Counts, Kind, Notation, Rule, ignored, register


@dataclass(frozen=True)
class BatchNorm(Layer):
    """Batch normalisation over the channel (last) axis: gamma, beta trainable; mean, variance not."""

    epsilon: float = 1e-3
    momentum: float = 0.99
    center: bool = True
    scale: bool = True


@dataclass(frozen=True)
class LayerNorm(Layer):
    """Layer normalisation over ``axis`` (negative axes of the per-sample shape; ConvNeXt: the channels)."""

    axis: tuple = (-1,)
    center: bool = True
    scale: bool = True

    def __post_init__(self):
        object.__setattr__(self, "axis", tuple(self.axis) if isinstance(self.axis, (tuple, list)) else (self.axis,))


@dataclass(frozen=True)
class GroupNorm(Layer):
    """Group normalisation over the channel axis ``axis`` (``groups=-1``: instance normalisation)."""

    groups: int = 32
    axis: int = -1
    epsilon: float = 1e-5
    center: bool = True
    scale: bool = True


@dataclass(frozen=True)
class Normalization(Layer):
    """Keras' preprocessing ``Normalization`` over the channels: ``(x - mean) / sqrt(variance)``."""

    adapted: bool = True


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
    return Counts(weights=channels if layer.scale else 0, biases=channels if layer.center else 0, non_trainable=2 * channels)


def layernorm_shape(layer: LayerNorm, in_shape, warn):
    rank = len(in_shape)
    for a in layer.axis:
        if not -rank <= a < rank:
            raise SpecError(f"layer '{layer.name}': axis {a} is outside its rank-{rank} input {'x'.join(map(str, in_shape))}")
    return tuple(in_shape)


def layernorm_counts(layer: LayerNorm, in_shape, out_shape):
    """gamma and beta: one per element of the normalised axes each."""
    size = product(in_shape[a] for a in set(a % len(in_shape) for a in layer.axis))
    return Counts(weights=size if layer.scale else 0, biases=size if layer.center else 0)


def groupnorm_shape(layer: GroupNorm, in_shape, warn):
    rank = len(in_shape)
    if not -rank <= layer.axis < rank:
        raise SpecError(f"layer '{layer.name}' (GroupNorm): axis {layer.axis} is outside its rank-{rank} input {'x'.join(map(str, in_shape))}")
    channels = in_shape[layer.axis]
    if layer.groups != -1:
        if not isinstance(layer.groups, int) or layer.groups < 1:
            raise SpecError(f"layer '{layer.name}' (GroupNorm): groups must be a positive number or -1 (instance normalisation), got {layer.groups}")
        if isinstance(channels, int) and channels % layer.groups:
            raise SpecError(f"layer '{layer.name}' (GroupNorm): {channels} channels do not split into {layer.groups} groups")
    return tuple(in_shape)


def groupnorm_counts(layer: GroupNorm, in_shape, out_shape):
    """gamma and beta: one per channel each."""
    channels = in_shape[layer.axis]
    return Counts(weights=channels if layer.scale else 0, biases=channels if layer.center else 0)


def normalization_counts(layer: Normalization, in_shape, out_shape):
    """Adapted: mean and variance per channel plus Keras' scalar count, all non-trainable."""
    return Counts(non_trainable=2 * in_shape[-1] + 1 if layer.adapted else 0)


def lrn_shape(layer, in_shape, warn):
    return tuple(need_spatial(layer, in_shape))


def _keras_batchnorm(b, layer: BatchNorm, x, qualified):
    return b.keras.layers.BatchNormalization(
        epsilon=layer.epsilon, momentum=layer.momentum, center=layer.center, scale=layer.scale, name=b.name(qualified)
    )(x)


def _keras_layernorm(b, layer: LayerNorm, x, qualified):
    return b.keras.layers.LayerNormalization(axis=list(layer.axis), center=layer.center, scale=layer.scale, name=b.name(qualified))(x)


def _keras_groupnorm(b, layer: GroupNorm, x, qualified):
    return b.keras.layers.GroupNormalization(
        groups=layer.groups, axis=layer.axis, epsilon=layer.epsilon, center=layer.center, scale=layer.scale, name=b.name(qualified)
    )(x)


def _keras_normalization(b, layer: Normalization, x, qualified):
    keras = b.keras
    if layer.adapted:
        norm = keras.layers.Normalization(axis=-1, name=b.name(qualified))
        norm.build(x.shape)
        return norm(x)
    channels = int(x.shape[-1])
    return keras.layers.Normalization(axis=-1, mean=[0.0] * channels, variance=[1.0] * channels, name=b.name(qualified))(x)


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

_NO_ARROW = Absent("no arrow word yet: build it in Python (cnncalc.spec) or import a Keras model")

register(
    Kind(
        LayerNorm,
        rule=Rule(shape=layernorm_shape, counts=layernorm_counts),
        prefix="ln",
        notation=_NO_ARROW,
        keras=_keras_layernorm,
        strings={},
        ops={
            **ignored("macs", "flops", "torchvision", "tf-profiler"),
            # fvcore layer_norm: numel * (5 if affine else 4) is its norm handle; ptflops counts
            # LayerNorm like BN (input elements, doubled when affine); torchinfo: its parameters.
            "fvcore": lambda row: product(row.input) * (5 if (row.layer.scale or row.layer.center) else 4),
            "ptflops": lambda row: product(row.input) * (2 if (row.layer.scale or row.layer.center) else 1),
            "torchinfo": parameters,
        },
    )
)

def _affine(row) -> bool:
    return bool(row.layer.scale or row.layer.center)


register(
    Kind(
        GroupNorm,
        rule=Rule(shape=groupnorm_shape, counts=groupnorm_counts),
        prefix=lambda layer: "instance_norm" if layer.groups == -1 else "group_norm",
        notation=_NO_ARROW,
        keras=_keras_groupnorm,
        strings={},
        ops={
            **ignored("macs", "flops", "torchvision", "tf-profiler"),
            # fvcore _DEFAULT_SUPPORTED_OPS: aten::group_norm / aten::instance_norm are
            # norm_flop_counter: numel * (5 if affine else 4); ptflops maps nn.GroupNorm and
            # nn.InstanceNorm2d to bn_flops_counter_hook (input elements, doubled when affine);
            # torchinfo: its parameters. The TF profiler registers no flops for them.
            "fvcore": lambda row: product(row.input) * (5 if _affine(row) else 4),
            "ptflops": lambda row: product(row.input) * (2 if _affine(row) else 1),
            "torchinfo": parameters,
        },
    )
)

register(
    Kind(
        Normalization,
        rule=Rule(shape=same_shape, counts=normalization_counts),
        prefix="normalization",
        notation=_NO_ARROW,
        keras=_keras_normalization,
        strings={},
        # a preprocessing step: no preset has a rule for it (torch models normalise outside the net)
        ops=ignored("macs", "flops", "torchvision", "fvcore", "ptflops", "torchinfo", "tf-profiler"),
    )
)
