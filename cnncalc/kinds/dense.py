"""Fully connected layers and the Flatten view in front of them.

A dense layer maps a vector of ``n`` to ``units``: ``n units`` weights, ``units`` biases and
``n units`` MACs. Keras' ``Dense`` also acts on the last axis of a tensor of any rank (ConvNeXt's
point-wise layers on ``H x W x C``, a transformer's on ``tokens x channels``): with
``last_axis=True`` the same weights apply at every position, so the output is ``(..., units)`` and
MACs are ``positions x n x units``. ``axis`` moves the contracted axis (an ONNX ``MatMul`` with the
weight on the left acts on the second-to-last axis): ``n`` is the input's size there and ``units``
replaces it.
"""

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
    """Fully connected layer on a vector input (``last_axis``: on one axis, ``axis``, of any rank)."""

    units: Size
    bias: bool = True
    last_axis: bool = False
    axis: int = -1


def flatten_shape(layer, in_shape, warn):
    return (product(in_shape),)


def dense_shape(layer: Dense, in_shape, warn):
    if layer.last_axis and len(in_shape) >= 1:
        need_positive(layer, "units", layer.units)
        if not -len(in_shape) <= layer.axis < 0:
            raise SpecError(f"layer '{layer.name}' (Dense): axis {layer.axis} is outside its rank-{len(in_shape)} input {'x'.join(map(str, in_shape))}")
        out = list(in_shape)
        out[layer.axis] = layer.units
        return tuple(out)
    if len(in_shape) != 1:
        raise SpecError(
            f"layer '{layer.name}' (Dense) needs a vector input, got "
            f"{'x'.join(map(str, in_shape))}: add a Flatten or a global pool before it"
        )
    need_positive(layer, "units", layer.units)
    return (layer.units,)


def dense_counts(layer: Dense, in_shape, out_shape):
    axis = layer.axis % len(in_shape) if layer.last_axis else len(in_shape) - 1
    weights = in_shape[axis] * layer.units
    positions = product(v for i, v in enumerate(in_shape) if i != axis)
    return Counts(weights=weights, biases=layer.units if layer.bias else 0, macs=positions * weights)


def _parse_dense(word, kernel, arg, options, classes):
    """``FC-<units>``, or ``FCS``: ``classes`` outputs followed by a softmax."""
    if word == "fcs":
        return [Dense(classes, **options), Activation("softmax")]
    return [Dense(positive_int(arg, "FC units"), **options)]


def _write_dense(layer: Dense) -> str:
    if layer.last_axis:
        raise ValueError(f"layer '{layer.name}': a dense layer on the last axis of a tensor has no arrow form")
    return f"FC-{layer.units}" + ("(bias=false)" if not layer.bias else "")


def _keras_dense(b, layer: Dense, x, qualified):
    if layer.last_axis and layer.axis != -1:
        # Keras' Dense acts on the last axis only; EinsumDense contracts any one axis
        rank = len(x.shape)
        letters = "abcdefghij"[:rank]
        axis = layer.axis % rank
        out = letters[:axis] + "z" + letters[axis + 1:]
        shape = [layer.units if i == axis else v for i, v in enumerate(x.shape)][1:]
        return b.keras.layers.EinsumDense(
            f"{letters},{letters[axis]}z->{out}", output_shape=shape, bias_axes="z" if layer.bias else None, name=b.name(qualified)
        )(x)
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
