"""Element-wise arithmetic that is neither an activation nor a merge the other kinds name: one
tensor through a math function (``Elementwise``: exp, sqrt, erf, ...) or two tensors combined with
broadcasting (``Binary``: sub, div, pow, max, min, and an add of unequal shapes).

What imported graphs hold between their layers (an ONNX export writes ``x - mean``, ``a / b``,
the ``Erf`` of an old-opset GELU). No parameters and no multiply-accumulates (docs/counting.md);
the TF profiler's ``flops_registry`` counts one operation per output element for the functions it
lists (``Neg``, ``Log``, ``Reciprocal``, ``Square``, ``Rsqrt``; ``Sub``, ``RealDiv``, ``Maximum``,
``Minimum``, ``Pow``, ``Add``), the other presets count none of them. Both keep the geometry, so
receptive fields pass through (a Binary merges its inputs' fields like an Add).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..arith import product
from .base import Layer, SpecError
from .merge import broadcast_shape
from .registry import Absent, Kind, Rule, ignored, register

UNARY = (
    "exp", "log", "sqrt", "abs", "neg", "reciprocal", "erf", "floor", "ceil", "round", "sin", "cos",
    "sign", "clip", "pow", "square", "rsqrt",
)
BINARY = ("add", "sub", "div", "pow", "max", "min")

_TF_UNARY = ("neg", "log", "reciprocal", "square", "rsqrt")
"""The unary functions TF's ``flops_registry`` counts (one per output element)."""

_KERAS_BINARY = {"add": "Add", "sub": "Subtract", "max": "Maximum", "min": "Minimum"}


@dataclass(frozen=True)
class Elementwise(Layer):
    """``function(x)`` element by element (``function`` is one of :data:`UNARY`)."""

    function: str = "exp"


@dataclass(frozen=True)
class Binary(Layer):
    """``a op b`` element by element, NumPy broadcasting (``function`` is one of :data:`BINARY`)."""

    function: str = "sub"
    branches: tuple = ()

    def __post_init__(self):
        object.__setattr__(self, "branches", tuple(self.branches))


def elementwise_shape(layer: Elementwise, in_shape, warn):
    if layer.function not in UNARY:
        raise SpecError(f"layer '{layer.name}' (Elementwise): unknown function '{layer.function}' (known: {', '.join(UNARY)})")
    return tuple(in_shape)


def binary_shape(layer: Binary, outputs, warn):
    if layer.function not in BINARY:
        raise SpecError(f"layer '{layer.name}' (Binary): unknown function '{layer.function}' (known: {', '.join(BINARY)})")
    if len(outputs) != 2:
        raise SpecError(f"layer '{layer.name}' (Binary {layer.function}) takes 2 inputs, got {len(outputs)}")
    return broadcast_shape(layer, outputs, warn)


def _keras_binary(b, layer: Binary, outputs, qualified):
    cls = _KERAS_BINARY.get(layer.function)
    if cls is None:
        raise SpecError(f"layer '{qualified}': Keras has no layer for an element-wise '{layer.function}'")
    return getattr(b.keras.layers, cls)(name=b.name(qualified))(outputs)


register(
    Kind(
        Elementwise,
        rule=Rule(shape=elementwise_shape, materializes=False),
        prefix=lambda layer: layer.function,
        notation=Absent("no arrow word: an imported graph's arithmetic"),
        keras=Absent("no Keras layer for an arbitrary element-wise function"),
        strings={"function": UNARY},
        ops={
            **ignored("macs", "flops", "torchvision", "fvcore", "ptflops", "torchinfo"),
            "tf-profiler": lambda row: product(row.output) if row.layer.function in _TF_UNARY else 0,
        },
    )
)

register(
    Kind(
        Binary,
        rule=Rule(shape=binary_shape),
        prefix=lambda layer: layer.function,
        notation=Absent("no arrow word: an imported graph's arithmetic"),
        keras=_keras_binary,
        strings={"function": BINARY},
        ops={
            **ignored("macs", "flops", "torchvision", "fvcore", "ptflops", "torchinfo"),
            "tf-profiler": lambda row: (row.fan_in - 1) * product(row.output),  # Sub, RealDiv, Maximum, ...
        },
        merge=True,
    )
)
