"""Element-wise scaling: Keras' ``Rescaling`` (constants) and ConvNeXt's ``LayerScale`` (learned).

- ``Rescaling``: ``x * scale + offset`` with constants (the preprocessing step of EfficientNet,
  MobileNetV3, ConvNeXt); no parameters, computed in place like an activation.
- ``LayerScale``: ``x * gamma`` with one learned ``gamma`` per channel (Touvron et al. 2021,
  "Going deeper with image transformers", sec. 3; ConvNeXt's blocks): ``C`` trainable weights.
  A new tensor, like BatchNorm's.

Neither is a multiply-accumulate (docs/counting.md: conv and dense only).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..arith import product
from .base import Layer, SpecError
from .handles import parameters
from .norm import same_shape
from .registry import Absent, Counts, Kind, Rule, ignored, register


@dataclass(frozen=True)
class Rescaling(Layer):
    """``x * scale + offset`` (scalars, or one value per channel as tuples)."""

    scale: object = 1.0
    offset: object = 0.0


@dataclass(frozen=True)
class LayerScale(Layer):
    """``x * gamma``, ``gamma`` learned, one per channel (``channels`` must match the input)."""

    channels: int = 1


def layerscale_shape(layer: LayerScale, in_shape, warn):
    if not in_shape:
        raise SpecError(f"layer '{layer.name}' (LayerScale) needs an input")
    if isinstance(in_shape[-1], int) and in_shape[-1] != layer.channels:
        raise SpecError(f"layer '{layer.name}' (LayerScale): {layer.channels} scales for {in_shape[-1]} channels")
    return tuple(in_shape)


def layerscale_counts(layer: LayerScale, in_shape, out_shape):
    return Counts(weights=layer.channels)


def _keras_rescaling(b, layer: Rescaling, x, qualified):
    scale = list(layer.scale) if isinstance(layer.scale, tuple) else layer.scale
    offset = list(layer.offset) if isinstance(layer.offset, tuple) else layer.offset
    return b.keras.layers.Rescaling(scale, offset, name=b.name(qualified))(x)


_NO_ARROW = Absent("no arrow word yet: build it in Python (cnncalc.spec) or import a Keras model")

register(
    Kind(
        Rescaling,
        rule=Rule(shape=same_shape, materializes=False),
        prefix="rescaling",
        notation=_NO_ARROW,
        keras=_keras_rescaling,
        strings={},
        ops=ignored("macs", "flops", "torchvision", "fvcore", "ptflops", "torchinfo", "tf-profiler"),
    )
)

register(
    Kind(
        LayerScale,
        rule=Rule(shape=layerscale_shape, counts=layerscale_counts),
        prefix="layer_scale",
        notation=_NO_ARROW,
        keras=lambda b, layer, x, qualified: b.custom.LayerScale(layer.channels, name=b.name(qualified))(x),
        strings={},
        ops={
            **ignored("macs", "flops", "torchvision", "fvcore", "ptflops"),
            "torchinfo": parameters,  # calculate_macs: output_size[0] x parameters
            "tf-profiler": lambda row: product(row.output),  # Mul: one op per output element
        },
    )
)
