"""Merges: tensors joined along an axis (Concat), summed (Add), multiplied (Multiply) or summed
with a scale (ScaledAdd, InceptionResNetV2's residual scaling).

In a tree (the zoo, the notation) a merge's branches all start from the same input; in a
:class:`~cnncalc.spec.Graph` a merge node names the nodes it joins. The engine
(:mod:`cnncalc.analysis`) runs the inputs; a merge kind's ``Rule.shape`` receives the list of their
output shapes and checks they can be joined. Merges make a new tensor (activations) and have no
parameters; element-wise products and sums are not MACs (docs/counting.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..arith import equal, product, total
from .base import Layer, SpecError
from .registry import Absent, Kind, Rule, ignored, register


@dataclass(frozen=True)
class Concat(Layer):
    """Branches on the same input, concatenated along ``axis`` (a negative axis of the per-sample
    shape; by default the channels: the inception module)."""

    branches: tuple = ()
    axis: int = -1

    def __post_init__(self):
        object.__setattr__(self, "branches", tuple(self.branches))


@dataclass(frozen=True)
class Add(Layer):
    """Branches on the same input, summed element-wise (the residual block)."""

    branches: tuple = ()

    def __post_init__(self):
        object.__setattr__(self, "branches", tuple(self.branches))


@dataclass(frozen=True)
class Multiply(Layer):
    """Inputs multiplied element-wise, broadcasting size-1 axes (the squeeze-and-excitation gate
    ``H x W x C * 1 x 1 x C``)."""

    branches: tuple = ()

    def __post_init__(self):
        object.__setattr__(self, "branches", tuple(self.branches))


@dataclass(frozen=True)
class ScaledAdd(Layer):
    """``x + scale * r`` of two inputs of one shape (InceptionResNetV2's ``CustomScaleLayer``)."""

    scale: float = 1.0
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
    """The same sizes on every axis but ``axis``, where they add up."""
    rank = len(outputs[0]) if outputs else 0
    axis = node.axis
    if outputs and not -rank <= axis < 0:
        raise SpecError(f"layer '{node.name}' (Concat): axis {axis} is outside its rank-{rank} inputs")

    def others(a, b):
        return ([v for i, v in enumerate(a) if i != rank + axis], [v for i, v in enumerate(b) if i != rank + axis])

    first = _check_branches(node, outputs, "spatial sizes" if axis == -1 else f"sizes off axis {axis}", others)
    out = list(first)
    out[axis] = total(o[axis] for o in outputs)
    return tuple(out)


def broadcast_shape(node, outputs, warn):
    """NumPy broadcasting of the inputs' shapes (axes aligned from the right; a size 1 stretches)."""
    if not outputs:
        raise SpecError(f"layer '{node.name}' ({node.kind}) has no branches")
    rank = max(len(o) for o in outputs)
    padded = [(1,) * (rank - len(o)) + tuple(o) for o in outputs]
    out = []
    for axis in range(rank):
        sizes = [o[axis] for o in padded]
        wide = [v for v in sizes if not (isinstance(v, int) and v == 1)]
        size = wide[0] if wide else 1
        if any(equal(v, size) is False for v in wide[1:]):
            shapes = " vs ".join(_fmt(o) for o in outputs)
            raise SpecError(f"layer '{node.name}' ({node.kind}): shapes do not broadcast: {shapes}")
        out.append(size)
    return tuple(out)


def scaled_add_shape(node, outputs, warn):
    if len(outputs) != 2:
        raise SpecError(f"layer '{node.name}' (ScaledAdd) adds a scaled residual to one input: it takes 2 inputs, got {len(outputs)}")
    return add_shape(node, outputs, warn)


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
        return keras.layers.Concatenate(axis=node.axis, name=b.name(qualified))(outputs)
    if isinstance(node, Multiply):
        return keras.layers.Multiply(name=b.name(qualified))(outputs)
    if isinstance(node, ScaledAdd):
        return b.custom.ScaledAdd(node.scale, name=b.name(qualified))(outputs)
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

def _per_output_element(ops_per_element):
    """The TF profiler's ``flops_registry`` rule for element-wise merges (``Add``, ``Mul``, ...):
    ``ops_per_element(row)`` ops for each output element; no other preset counts them."""
    return {
        **ignored("macs", "flops", "torchvision", "fvcore", "ptflops", "torchinfo"),
        "tf-profiler": lambda row: ops_per_element(row) * product(row.output),
    }


def _one_per_extra_input(row):
    return row.fan_in - 1


for _cls, _prefix, _shape, _ops in (
    (Add, "add", add_shape, _per_output_element(_one_per_extra_input)),  # Add / AddV2
    (Multiply, "multiply", broadcast_shape, _per_output_element(_one_per_extra_input)),  # Mul
    (ScaledAdd, "scaled_add", scaled_add_shape, _per_output_element(lambda row: 2)),  # a Mul and an AddV2
):
    register(Kind(_cls, rule=Rule(shape=_shape), prefix=_prefix, notation=_NO_ARROW, keras=_keras, strings={}, ops=_ops, merge=True))
