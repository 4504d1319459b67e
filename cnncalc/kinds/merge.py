"""Merges: branches on the same input joined along channels (Concat) or summed (Add).

The engine (:mod:`cnncalc.analysis`) runs the branches; a merge kind's ``Rule.shape`` receives
the list of their output shapes and checks they can be joined.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..arith import equal, product, total
from .base import Layer, SpecError
from .registry import Absent, Kind, Rule, ignored, register


@dataclass(frozen=True)
class Concat(Layer):
    """Branches on the same input, concatenated along channels (the inception module)."""

    branches: tuple = ()

    def __post_init__(self):
        object.__setattr__(self, "branches", tuple(self.branches))


@dataclass(frozen=True)
class Add(Layer):
    """Branches on the same input, summed element-wise (the residual block)."""

    branches: tuple = ()

    def __post_init__(self):
        object.__setattr__(self, "branches", tuple(self.branches))


def _fmt(shape) -> str:
    return "x".join(map(str, shape))


def _check_branches(node, outputs, what, dims):
    if not outputs:
        raise SpecError(f"layer '{node.name}' ({node.kind}) has no branches")
    first = outputs[0]
    for other in outputs[1:]:
        if len(other) != len(first) or any(equal(a, b) is False for a, b in zip(*dims(first, other))):
            raise SpecError(f"layer '{node.name}' ({node.kind}): branch {what} differ: {_fmt(first)} vs {_fmt(other)}")
    return first


def concat_shape(node, outputs, warn):
    """Same spatial sizes; channels add up."""
    first = _check_branches(node, outputs, "spatial sizes", lambda a, b: (a[:-1], b[:-1]))
    return (*first[:-1], total(o[-1] for o in outputs))


def add_shape(node, outputs, warn):
    """Every branch the same shape."""
    return tuple(_check_branches(node, outputs, "shapes", lambda a, b: (a, b)))


def _keras(b, node, outputs, qualified):
    keras = b.keras
    if not outputs:
        raise SpecError(f"layer '{qualified}' ({node.kind}) has no branches")
    if len(outputs) == 1:
        return keras.layers.Identity(name=b.name(qualified))(outputs[0])
    if isinstance(node, Concat):
        return keras.layers.Concatenate(axis=-1, name=b.name(qualified))(outputs)
    return keras.layers.Add(name=b.name(qualified))(outputs)


_NO_ARROW = Absent("branches have no arrow form: build the module in Python (cnncalc.spec)")

register(
    Kind(
        Concat,
        rule=Rule(shape=concat_shape),
        prefix="concat",
        notation=_NO_ARROW,
        keras=_keras,
        strings={},
        ops=ignored("macs", "flops", "torchvision", "fvcore", "ptflops", "torchinfo", "tf-profiler"),
        merge=True,
    )
)

register(
    Kind(
        Add,
        rule=Rule(shape=add_shape),
        prefix="add",
        notation=_NO_ARROW,
        keras=_keras,
        strings={},
        ops={
            **ignored("macs", "flops", "torchvision", "fvcore", "ptflops", "torchinfo"),
            # TF flops_registry: Add, one op per output element per extra input
            "tf-profiler": lambda row: (row.fan_in - 1) * product(row.output),
        },
        merge=True,
    )
)
