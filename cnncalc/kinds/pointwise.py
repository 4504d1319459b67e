"""Element-wise layers that keep the shape and add no activations: activations and dropout."""

from __future__ import annotations

from dataclasses import dataclass

from ..arith import product
from .base import Layer, SpecError
from .registry import Kind, Notation, Rule, ignored, register

ACTIVATION_FUNCTIONS = (
    "relu", "tanh", "sigmoid", "softmax", "linear", "elu", "gelu", "swish",
    # the rest of Keras' activations (keras.activations), for imported models
    "relu6", "silu", "hard_sigmoid", "hard_silu", "leaky_relu", "selu", "softplus", "softsign",
    "exponential", "mish", "log_softmax", "celu", "glu", "hard_tanh", "hard_shrink", "soft_shrink",
    "sparse_plus", "sparsemax", "squareplus", "tanh_shrink", "threshold", "log_sigmoid",
)
NOTATION_FUNCTIONS = ("relu", "tanh", "sigmoid", "softmax")
"""The functions the arrow notation has words for (``RELU``, ``TANH``, ...)."""


@dataclass(frozen=True)
class Dropout(Layer):
    """Dropout with drop probability ``rate`` (inverted dropout, as Keras)."""

    rate: float = 0.5


@dataclass(frozen=True)
class Activation(Layer):
    """Element-wise (or softmax) non-linearity; in place, so it adds no activations."""

    function: str = "relu"


def dropout_shape(layer: Dropout, in_shape, warn):
    if not 0 <= layer.rate < 1:
        raise SpecError(f"layer '{layer.name}': dropout rate must be in [0, 1), got {layer.rate}")
    return tuple(in_shape)


def activation_shape(layer: Activation, in_shape, warn):
    if layer.function not in ACTIVATION_FUNCTIONS:
        raise SpecError(
            f"layer '{layer.name}': unknown activation '{layer.function}' "
            f"(known: {', '.join(ACTIVATION_FUNCTIONS)})"
        )
    return tuple(in_shape)


def _ptflops_activation(row):
    """ptflops relu_flops_counter_hook: output elements of ReLU and ELU modules only."""
    return product(row.output) if row.layer.function in ("relu", "elu") else 0


register(
    Kind(
        Dropout,
        rule=Rule(shape=dropout_shape, materializes=False),
        prefix="dropout",
        notation=Notation(
            ("dropout",),
            lambda word, kernel, arg, options, classes: [Dropout(options.get("rate", 0.5))],
            lambda layer: f"DROPOUT({layer.rate:g})",
            options=frozenset({"rate"}),
            positional="rate",
        ),
        keras=lambda b, layer, x, qualified: b.keras.layers.Dropout(layer.rate, name=b.name(qualified))(x),
        strings={},
        ops=ignored("macs", "flops", "torchvision", "fvcore", "ptflops", "torchinfo", "tf-profiler"),
    )
)

register(
    Kind(
        Activation,
        rule=Rule(shape=activation_shape, materializes=False),
        prefix=lambda layer: layer.function,
        notation=Notation(
            NOTATION_FUNCTIONS,
            lambda word, kernel, arg, options, classes: [Activation(word)],
            lambda layer: layer.function.upper(),
        ),
        keras=lambda b, layer, x, qualified: b.keras.layers.Activation(layer.function, name=b.name(qualified))(x),
        strings={"function": ACTIVATION_FUNCTIONS},
        ops={
            **ignored("macs", "flops", "torchvision", "fvcore", "torchinfo", "tf-profiler"),
            "ptflops": _ptflops_activation,
        },
    )
)
