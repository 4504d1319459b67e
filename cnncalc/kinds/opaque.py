"""An imported layer cnncalc has no formulas for (a user's custom Keras layer): honest gaps.

Its output shape and parameter counts are *given* (read from the live layer, or from a saved
file's recorded tensor shapes and weight shapes) rather than derived; its MACs are unknown. The
analysis names it in its warnings ("MACs not counted"), the table shows "not counted" in its
operation columns and the totals say they exclude it (torch-scan's rule: nothing unsupported is
silently zero). Receptive fields are not carried through it. Its output shape holds only for the
input it was recorded with: analysed on another input size (``--input``) it is an error.

It may read any number of tensors (a custom layer called on ``[a, b]``: the node names them all,
as a merge does) and hold any number of outputs: output ``k > 0`` is a row of its own, ``name:k``
(``output_index = k``), that reads the layer's row and adds its tensor's activations but no
parameters and no second warning.
"""

from __future__ import annotations

from dataclasses import dataclass

from .base import Layer, SpecError
from .registry import Absent, Counts, Kind, Rule, ignored, register

OUTPUT_MARK = ":"
"""Joins a multi-output layer's name and an output index: the second output of ``split`` is ``split:1``."""


@dataclass(frozen=True)
class Opaque(Layer):
    """A layer known only by its class name, output shape and parameter counts.

    ``input`` is the (first) input shape its output was recorded for; ``inputs`` every input's,
    when it reads several (empty: only ``input`` is checked). ``split_known`` is ``False`` when the
    source does not say which of the parameters are trainable (a ``.keras`` file's weights carry no
    such flag): they are counted as trainable, and a check against Keras compares their total.
    """

    class_name: str = "?"
    output: tuple = ()
    weights: int = 0
    non_trainable: int = 0
    input: tuple = ()  # the input shape the output was recorded for (empty: not recorded)
    reason: str = ""  # why no kind expresses it, when the class is known (an ONNX operator's form)
    inputs: tuple = ()  # every input's recorded shape, for a layer that reads several
    output_index: int = 0
    split_known: bool = True
    branches: tuple = ()  # the merge form's field: an opaque layer only comes from an imported graph

    def __post_init__(self):
        object.__setattr__(self, "output", tuple(self.output))
        object.__setattr__(self, "input", tuple(self.input))
        object.__setattr__(self, "inputs", tuple(tuple(s) for s in self.inputs))
        object.__setattr__(self, "branches", tuple(self.branches))


NOT_COUNTED = "MACs not counted"


def _fmt(shapes) -> str:
    return ", ".join("x".join(map(str, s)) for s in shapes)


def opaque_shape(layer: Opaque, shapes, warn):
    shapes = [tuple(s) for s in shapes]
    recorded = layer.inputs or ((layer.input,) if layer.input else ())
    if recorded and tuple(shapes[: len(recorded)]) != tuple(recorded):
        raise SpecError(
            f"layer '{layer.name}' ({layer.class_name}): its output shape is known only for the input {_fmt(recorded)} it was imported with, "
            f"not {_fmt(shapes[: len(recorded)])}: analyse the model at its own size"
        )
    if layer.output_index == 0:  # once per layer, not per output
        why = layer.reason or "cnncalc has no formula for this class"
        warn(f"layer '{layer.name}' ({layer.class_name}): {NOT_COUNTED} ({why}); the totals exclude its operations")
    return layer.output


def opaque_counts(layer: Opaque, in_shape, out_shape):
    return Counts(weights=layer.weights, non_trainable=layer.non_trainable)


register(
    Kind(
        Opaque,
        rule=Rule(shape=opaque_shape, counts=opaque_counts, tracks_field=False, counts_ops=False),
        prefix="opaque",
        notation=Absent("an imported layer of unknown computation has no arrow form"),
        keras=Absent("an imported layer of unknown computation cannot be rebuilt: load the original model"),
        strings={},
        ops=ignored("macs", "flops", "torchvision", "fvcore", "ptflops", "torchinfo", "tf-profiler"),
        merge=True,  # reads any number of tensors, as a merge does
    )
)
