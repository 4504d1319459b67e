"""Reductions along axes: a mean, a sum, a maximum or a norm over some axes of a tensor (a
transformer's ``F.normalize`` is an L2 norm over the channels; a token mean, a ``torch.amax``).

Global pooling over height and width has kinds of its own (``GlobalAvgPool2D``,
``GlobalMaxPool2D``: docs/import.md); ``Reduce`` takes any axes of any rank, ``keepdims`` keeping
them as size 1. No parameters, no multiply-accumulates (docs/counting.md); the TF profiler counts
one operation per input element of a ``Mean`` or ``Sum`` (``flops_registry``'s reductions), the
other presets count none. A new tensor (activations); receptive fields are not carried past it.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..arith import product
from .base import Layer, SpecError
from .registry import Absent, Kind, Rule, ignored, register

FUNCTIONS = ("mean", "sum", "max", "min", "prod", "l1", "l2", "sum_square", "log_sum", "log_sum_exp")


@dataclass(frozen=True)
class Reduce(Layer):
    """``function`` over ``axes`` of the per-sample shape (``keepdims``: those axes stay, size 1)."""

    function: str = "mean"
    axes: tuple = (-1,)
    keepdims: bool = True

    def __post_init__(self):
        object.__setattr__(self, "axes", tuple(self.axes) if isinstance(self.axes, (tuple, list)) else (self.axes,))


def reduce_shape(layer: Reduce, in_shape, warn):
    if layer.function not in FUNCTIONS:
        raise SpecError(f"layer '{layer.name}' (Reduce): unknown function '{layer.function}' (known: {', '.join(FUNCTIONS)})")
    rank = len(in_shape)
    if not layer.axes or any(not isinstance(a, int) or not -rank <= a < rank for a in layer.axes):
        raise SpecError(f"layer '{layer.name}' (Reduce): axes {list(layer.axes)} do not fit its rank-{rank} input {'x'.join(map(str, in_shape))}")
    axes = {a % rank for a in layer.axes}
    if layer.keepdims:
        return tuple(1 if i in axes else v for i, v in enumerate(in_shape))
    return tuple(v for i, v in enumerate(in_shape) if i not in axes)


def _keras(b, layer: Reduce, x, qualified):
    return b.custom.Reduce(layer.function, layer.axes, layer.keepdims, name=b.name(qualified))(x)


register(
    Kind(
        Reduce,
        rule=Rule(shape=reduce_shape, tracks_field=False),
        prefix=lambda layer: f"reduce_{layer.function}",
        notation=Absent("no arrow word: build it in Python (cnncalc.spec) or import a model"),
        keras=_keras,
        strings={"function": FUNCTIONS},
        ops={
            **ignored("macs", "flops", "torchvision", "fvcore", "ptflops", "torchinfo"),
            # flops_registry: Mean and Sum are reductions counted as their input elements
            "tf-profiler": lambda row: product(row.input) if row.layer.function in ("mean", "sum") else 0,
        },
    )
)
