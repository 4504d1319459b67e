"""Learned tensors that join the data without a multiply-accumulate: ``Learned`` (``x + w`` or
``x * w`` with ``w`` a parameter broadcast over ``x``: a ViT's position embedding, a per-channel
bias after a bias-free layer, Swin's relative-position bias on the attention scores) and
``ClassToken`` (learned tokens prepended along the token axis: a ViT's class token).

- ``Learned``: parameters the elements of ``w`` (its ``shape`` is per sample and broadcasts
  against the input with NumPy's rules, aligned from the right), or ``params`` when ``w`` is
  computed from fewer stored values (a relative-position table gathered by an index: Swin); the
  output has the broadcast shape. A new tensor, like ``Add``'s. ConvNeXt's per-channel ``LayerScale`` is a kind of its
  own (Keras has it as a layer class).
- ``ClassToken``: ``tokens`` learned vectors of the other axes' sizes concatenated in front of
  the input along ``axis``: ``tokens x prod(other axes)`` parameters (ViT-B/16: 1 x 768 on a
  ``196 x 768`` sequence, giving ``197 x 768``).

Joining is not a multiply-accumulate (docs/counting.md); the TF profiler counts an ``Add``/``Mul``
as one operation per output element, torchinfo counts parameters. A learned tensor computed on
every forward pass by a small network on constants (swin_v2's continuous position bias: an MLP on
a coordinate table) carries that network's MACs, which torchvision's ``_ops`` counts.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..arith import product, total
from .base import Layer, SpecError
from .handles import macs, parameters, twice_macs
from .merge import broadcast_shape
from .registry import Absent, Counts, Kind, Rule, ignored, register

FUNCTIONS = ("add", "sub", "mul", "div")


@dataclass(frozen=True)
class Learned(Layer):
    """``x <function> w`` with a learned ``w`` of per-sample ``shape`` broadcast over ``x``;
    ``params``: how many values ``w`` is made of when it is computed from fewer (a table gathered
    by an index, a small network's output: an imported graph says), else its elements; ``macs``:
    the multiply-accumulates of computing ``w`` on every forward pass (swin_v2's continuous
    position bias is a small MLP run on a constant coordinate table)."""

    function: str = "add"
    shape: tuple = ()
    params: int | None = None
    macs: int = 0

    def __post_init__(self):
        object.__setattr__(self, "shape", tuple(self.shape))


@dataclass(frozen=True)
class ClassToken(Layer):
    """``tokens`` learned vectors prepended to the input along ``axis`` (the token axis)."""

    tokens: int = 1
    axis: int = 0


def learned_shape(layer: Learned, in_shape, warn):
    if layer.function not in FUNCTIONS:
        raise SpecError(f"layer '{layer.name}' (Learned): unknown function '{layer.function}' (known: {', '.join(FUNCTIONS)})")
    if not layer.shape or any(not isinstance(v, int) or v < 1 for v in layer.shape):
        raise SpecError(f"layer '{layer.name}' (Learned): the learned tensor's shape {layer.shape} is not a list of positive sizes")
    if layer.params is not None and (not isinstance(layer.params, int) or layer.params < 0):
        raise SpecError(f"layer '{layer.name}' (Learned): params must be a count, got {layer.params}")
    if not isinstance(layer.macs, int) or layer.macs < 0:
        raise SpecError(f"layer '{layer.name}' (Learned): macs must be a count, got {layer.macs}")
    return broadcast_shape(layer, [tuple(in_shape), layer.shape], warn)


def learned_counts(layer: Learned, in_shape, out_shape):
    return Counts(weights=product(layer.shape) if layer.params is None else layer.params, macs=layer.macs)


def class_token_shape(layer: ClassToken, in_shape, warn):
    rank = len(in_shape)
    if not isinstance(layer.axis, int) or not -rank <= layer.axis < rank:
        raise SpecError(f"layer '{layer.name}' (ClassToken): axis {layer.axis} is outside its rank-{rank} input {'x'.join(map(str, in_shape))}")
    if not isinstance(layer.tokens, int) or layer.tokens < 1:
        raise SpecError(f"layer '{layer.name}' (ClassToken): tokens must be a positive number, got {layer.tokens}")
    out = list(in_shape)
    out[layer.axis] = total([in_shape[layer.axis], layer.tokens])
    return tuple(out)


def class_token_counts(layer: ClassToken, in_shape, out_shape):
    axis = layer.axis % len(in_shape)
    return Counts(weights=layer.tokens * product(v for i, v in enumerate(in_shape) if i != axis))


def _keras_learned(b, layer: Learned, x, qualified):
    return b.custom.Learned(layer.function, layer.shape, name=b.name(qualified))(x)


def _keras_class_token(b, layer: ClassToken, x, qualified):
    return b.custom.ClassToken(layer.tokens, layer.axis, name=b.name(qualified))(x)


_NO_ARROW = Absent("no arrow word: build it in Python (cnncalc.spec) or import a model")

register(
    Kind(
        Learned,
        rule=Rule(shape=learned_shape, counts=learned_counts),
        prefix=lambda layer: f"learned_{layer.function}",
        notation=_NO_ARROW,
        keras=_keras_learned,
        strings={"function": FUNCTIONS},
        # the element-wise op counts only for the TF profiler (AddV2 / Mul: one op per output
        # element); the MACs of computing w (a small network's Linear layers) count as every
        # preset counts a dense layer's
        ops={
            "macs": macs,
            "flops": twice_macs,
            "torchvision": macs,
            "fvcore": macs,
            "ptflops": macs,
            "torchinfo": parameters,  # calculate_macs: output_size[0] x parameters
            "tf-profiler": lambda row: product(row.output) + 2 * row.macs,
        },
    )
)

register(
    Kind(
        ClassToken,
        rule=Rule(shape=class_token_shape, counts=class_token_counts, tracks_field=False),
        prefix="class_token",
        notation=_NO_ARROW,
        keras=_keras_class_token,
        strings={},
        ops={**ignored("macs", "flops", "torchvision", "fvcore", "ptflops", "tf-profiler"), "torchinfo": parameters},
    )
)
