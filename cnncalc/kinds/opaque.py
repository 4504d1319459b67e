"""An imported layer cnncalc has no formulas for (a user's custom Keras layer): honest gaps.

Its output shape and parameter counts are *given* (read from the live layer, or from a saved
file's recorded tensor shapes and weight shapes) rather than derived; its MACs are unknown. The
analysis names it in its warnings ("MACs not counted"), the table shows "not counted" in its
operation columns and the totals say they exclude it (torch-scan's rule: nothing unsupported is
silently zero). Receptive fields are not carried through it. Its output shape holds only for the
input it was recorded with: analysed on another input size (``--input``) it is an error.
"""

from __future__ import annotations

from dataclasses import dataclass

from .base import Layer, SpecError
from .registry import Absent, Counts, Kind, Rule, ignored, register


@dataclass(frozen=True)
class Opaque(Layer):
    """A layer known only by its class name, output shape and parameter counts."""

    class_name: str = "?"
    output: tuple = ()
    weights: int = 0
    non_trainable: int = 0
    input: tuple = ()  # the input shape the output was recorded for (empty: not recorded)
    reason: str = ""  # why no kind expresses it, when the class is known (an ONNX operator's form)

    def __post_init__(self):
        object.__setattr__(self, "output", tuple(self.output))
        object.__setattr__(self, "input", tuple(self.input))


NOT_COUNTED = "MACs not counted"


def opaque_shape(layer: Opaque, in_shape, warn):
    if layer.input and tuple(in_shape) != layer.input:
        recorded, now = ("x".join(map(str, shape)) for shape in (layer.input, in_shape))
        raise SpecError(
            f"layer '{layer.name}' ({layer.class_name}): its output shape is known only for the input {recorded} it was imported with, "
            f"not {now}: analyse the model at its own size"
        )
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
    )
)
