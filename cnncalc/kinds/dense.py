"""Fully connected layers and the Flatten view in front of them."""

from __future__ import annotations

from dataclasses import dataclass

from ..arith import product
from .base import Layer, Size, SpecError
from .geometry import need_positive
from .handles import mac_layer_ops, parameters
from .notation_args import positive_int
from .pointwise import Activation
from .registry import Counts, Kind, Notation, Rule, ignored, register


@dataclass(frozen=True)
class Flatten(Layer):
    """``H x W x C -> H*W*C``; a view, so it adds no activations."""


@dataclass(frozen=True)
class Dense(Layer):
    """Fully connected layer on a vector input."""

    units: Size
    bias: bool = True


def flatten_shape(layer, in_shape, warn):
    return (product(in_shape),)


def dense_shape(layer: Dense, in_shape, warn):
    if len(in_shape) != 1:
        raise SpecError(
            f"layer '{layer.name}' (Dense) needs a vector input, got "
            f"{'x'.join(map(str, in_shape))}: add a Flatten or a global pool before it"
        )
    need_positive(layer, "units", layer.units)
    return (layer.units,)


def dense_counts(layer: Dense, in_shape, out_shape):
    weights = in_shape[0] * layer.units
    return Counts(weights=weights, biases=layer.units if layer.bias else 0, macs=weights)


def _parse_dense(word, kernel, arg, options, classes):
    """``FC-<units>``, or ``FCS``: ``classes`` outputs followed by a softmax."""
    if word == "fcs":
        return [Dense(classes, **options), Activation("softmax")]
    return [Dense(positive_int(arg, "FC units"), **options)]


def _write_dense(layer: Dense) -> str:
    return f"FC-{layer.units}" + ("(bias=false)" if not layer.bias else "")


def _keras_dense(b, layer: Dense, x, qualified):
    return b.keras.layers.Dense(layer.units, use_bias=layer.bias, name=b.name(qualified))(x)


def _keras_flatten(b, layer, x, qualified):
    return b.keras.layers.Flatten(name=b.name(qualified))(x)


register(
    Kind(
        Flatten,
        rule=Rule(shape=flatten_shape, materializes=False),
        prefix="flatten",
        notation=Notation(("flatten",), lambda *a: [Flatten()], lambda layer: "FLATTEN", spatial="ends"),
        keras=_keras_flatten,
        strings={},
        ops=ignored("macs", "flops", "torchvision", "fvcore", "ptflops", "torchinfo", "tf-profiler"),
    )
)

register(
    Kind(
        Dense,
        rule=Rule(shape=dense_shape, counts=dense_counts),
        prefix="fc",
        notation=Notation(
            ("fc", "fcs"), _parse_dense, _write_dense, argument="units", options=frozenset({"bias"}), spatial="vector"
        ),
        keras=_keras_dense,
        strings={},
        ops=mac_layer_ops(torchinfo=parameters),
    )
)
