"""Learned tensors that join the data without a multiply-accumulate: ``Learned`` (``x + w`` or
``x * w`` with ``w`` a parameter broadcast over ``x``: a ViT's position embedding, a per-channel
bias after a bias-free layer, Swin's relative-position bias on the attention scores) and
``ClassToken`` (learned tokens prepended along the token axis: a ViT's class token).

- ``Learned``: parameters the elements of ``w`` (its ``shape`` is per sample and broadcasts
  against the input with NumPy's rules, aligned from the right), or ``params`` when ``w`` is
  computed from fewer stored values (a relative-position table gathered by an index: Swin); the
  output has the broadcast shape. A new tensor, like ``Add``'s. ConvNeXt's per-channel ``LayerScale`` is a kind of its
  own (Keras has it as a layer class).
- ``PReLU``: ``max(0, x) + alpha min(0, x)`` with learned slopes ``alpha`` broadcast over ``x``
  (Keras' ``PReLU``, ONNX's ``PRelu``): parameters the slopes; element-wise, so in place and no
  MACs, like the other activations.
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
from .handles import macs, output_elements, parameters, twice_macs
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


@dataclass(frozen=True)
class PReLU(Layer):
    """``max(0, x) + alpha * min(0, x)`` with learned slopes ``alpha``: one per element of the
    input except along the ``shared`` axes (per-sample axes, from 0), which share one slope --
    Keras' ``PReLU(shared_axes)`` less one (its axes count the batch). ``shared=(0, 1)`` on an
    ``H x W x C`` image is one slope per channel (torch's ``nn.PReLU(C)``); every axis shared is
    one slope for the whole tensor (``nn.PReLU()``)."""

    shared: tuple = ()

    def __post_init__(self):
        object.__setattr__(self, "shared", tuple(self.shared))


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


def prelu_shape(layer: PReLU, in_shape, warn):
    rank = len(in_shape)
    if any(not isinstance(a, int) or isinstance(a, bool) or not 0 <= a < rank for a in layer.shared) or len(set(layer.shared)) != len(layer.shared):
        raise SpecError(f"layer '{layer.name}' (PReLU): shared axes {layer.shared} are not distinct axes of its rank-{rank} input {'x'.join(map(str, in_shape))}")
    return tuple(in_shape)


def prelu_counts(layer: PReLU, in_shape, out_shape):
    return Counts(weights=product(v for i, v in enumerate(in_shape) if i not in layer.shared))


def _keras_prelu(b, layer: PReLU, x, qualified):
    shared = [a + 1 for a in sorted(layer.shared)]
    return b.keras.layers.PReLU(shared_axes=shared or None, name=b.name(qualified))(x)


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

register(
    Kind(
        PReLU,
        rule=Rule(shape=prelu_shape, counts=prelu_counts, materializes=False),  # in place, as activations
        prefix="prelu",
        notation=_NO_ARROW,
        keras=_keras_prelu,
        strings={},
        ops={
            # no multiply-accumulate; fvcore has no handle for aten::prelu (flop_count.py)
            **ignored("macs", "flops", "torchvision", "fvcore"),
            "ptflops": output_elements,  # relu_flops_counter_hook covers nn.PReLU
            "torchinfo": parameters,  # calculate_macs: output_size[0] x its weight
            # the profiler on Keras' relu(x) - alpha relu(-x) (TF 2.21, Keras 3.15, measured):
            # Neg, Mul and AddV2 one per element, Neg of the slopes one per slope
            "tf-profiler": lambda row: 3 * product(row.output) + row.weights,
        },
    )
)
