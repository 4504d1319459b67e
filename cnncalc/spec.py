"""The layer spec: the single source of truth for every count and every Keras model.

A spec records only hyper-parameters (filters, kernel, stride, padding, dilation, groups, bias).
Everything else (shapes, parameters, activations, MACs, receptive fields) is *derived* by one
pass of :mod:`cnncalc.analysis`, and :mod:`cnncalc.keras_bridge` builds the Keras model from the
same objects, so the numbers printed and the model trained cannot disagree.

Every class is a frozen dataclass, hashable and comparable. Sizes are ``int`` on the numeric path
and may be sympy expressions on the symbolic path; nothing here imports sympy.

The graph is a small DAG made of three containers:

- :class:`Sequential`: layers applied one after another (an empty one is the identity).
- :class:`Concat`: branches applied to the same input, outputs joined along channels (inception).
- :class:`Add`: branches applied to the same input, outputs summed element-wise (residual).
"""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass, field
from typing import Any, Union

Size = Any  # int on the numeric path, a sympy expression on the symbolic path
Padding = Union[str, int, tuple]  # "same" | "valid" | p | (p_h, p_w)

ACTIVATION_FUNCTIONS = ("relu", "tanh", "sigmoid", "softmax", "linear", "elu", "gelu", "swish")


class SpecError(ValueError):
    """A malformed spec or an impossible layer. The message is one line and names the cause."""


def pair(value) -> tuple:
    """``3 -> (3, 3)``; ``(3, 5) -> (3, 5)``. Kernels, strides, dilations and paddings may be either."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise SpecError(f"expected one value or a pair, got {value!r}")
        return tuple(value)
    return (value, value)


@dataclass(frozen=True)
class Layer:
    """Base of every spec node. ``name`` is optional: :func:`cnncalc.naming.with_names` fills it."""

    _: KW_ONLY
    name: str | None = None

    @property
    def kind(self) -> str:
        """The class name, as reported in tables and in JSON (``Conv2D``, ``MaxPool2D``, ...)."""
        return type(self).__name__


# --------------------------------------------------------------------------------------------
# Leaf layers
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Input(Layer):
    """The network input, ``height x width x channels`` (channels last, as Keras)."""

    height: Size
    width: Size
    channels: Size

    @property
    def shape(self) -> tuple:
        return (self.height, self.width, self.channels)


@dataclass(frozen=True)
class Conv2D(Layer):
    """2-D convolution. ``padding`` is ``"same"`` (TensorFlow's rule), ``"valid"`` or explicit pixels."""

    filters: Size
    kernel: Size | tuple = 3
    stride: Size | tuple = 1
    padding: Padding = "same"
    dilation: Size | tuple = 1
    groups: Size = 1
    bias: bool = True


@dataclass(frozen=True)
class MaxPool2D(Layer):
    """Max pooling. ``stride`` defaults to ``kernel``; ``ceil_mode`` as PyTorch (Caffe's rounding)."""

    kernel: Size | tuple = 2
    stride: Size | tuple | None = None
    padding: Padding = 0
    ceil_mode: bool = False


@dataclass(frozen=True)
class AvgPool2D(Layer):
    """Average pooling; same geometry as :class:`MaxPool2D`."""

    kernel: Size | tuple = 2
    stride: Size | tuple | None = None
    padding: Padding = 0
    ceil_mode: bool = False


@dataclass(frozen=True)
class GlobalAvgPool2D(Layer):
    """Mean over height and width: ``H x W x C -> C``."""


@dataclass(frozen=True)
class Flatten(Layer):
    """``H x W x C -> H*W*C``; a view, so it adds no activations."""


@dataclass(frozen=True)
class Dense(Layer):
    """Fully connected layer on a vector input."""

    units: Size
    bias: bool = True


@dataclass(frozen=True)
class BatchNorm(Layer):
    """Batch normalisation over the channel (last) axis: gamma, beta trainable; mean, variance not."""

    epsilon: float = 1e-3
    momentum: float = 0.99


@dataclass(frozen=True)
class LRN(Layer):
    """Local response normalisation across channels (AlexNet section 3.3); no parameters."""

    depth_radius: int = 2
    bias: float = 2.0
    alpha: float = 1e-4
    beta: float = 0.75


@dataclass(frozen=True)
class Dropout(Layer):
    """Dropout with drop probability ``rate`` (inverted dropout, as Keras)."""

    rate: float = 0.5


@dataclass(frozen=True)
class Activation(Layer):
    """Element-wise (or softmax) non-linearity; in place, so it adds no activations."""

    function: str = "relu"


@dataclass(frozen=True)
class PadShortcut(Layer):
    """He et al. (2016) option A shortcut: stride-``stride`` identity, channels zero-padded to ``filters``.

    Parameter-free; it materialises a new tensor when the shape changes.
    """

    filters: Size
    stride: Size = 2


# --------------------------------------------------------------------------------------------
# Containers
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sequential(Layer):
    """Layers applied in order. An empty Sequential is the identity (a residual shortcut)."""

    layers: tuple = ()

    def __post_init__(self):
        object.__setattr__(self, "layers", tuple(self.layers))


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


CONTAINERS = (Sequential, Concat, Add)


@dataclass(frozen=True)
class Spec:
    """A whole network: a root :class:`Sequential` plus a model name and a description.

    The first layer of ``root`` is normally an :class:`Input`; a spec without one needs an input
    size at analysis time (``analyze(spec, input=(32, 32, 3))``).
    """

    root: Sequential
    model: str = "custom"
    description: str = ""
    meta: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def input(self) -> Input | None:
        first = self.root.layers[0] if self.root.layers else None
        return first if isinstance(first, Input) else None

    def with_input(self, shape) -> "Spec":
        """The same network on another input size (``(H, W, C)``)."""
        h, w, c = shape
        layers = self.root.layers[1:] if self.input is not None else self.root.layers
        old_name = self.input.name if self.input is not None else None
        root = Sequential((Input(h, w, c, name=old_name or "input"), *layers), name=self.root.name)
        return Spec(root, model=self.model, description=self.description, meta=self.meta)


def sequential(*layers, name=None) -> Sequential:
    """Build a :class:`Sequential`, flattening nested plain lists: ``sequential(a, [b, c], d)``."""
    flat = []
    for item in layers:
        if isinstance(item, (list, tuple)):
            flat.extend(item)
        else:
            flat.append(item)
    return Sequential(tuple(flat), name=name)


def walk(node, path=()):
    """Yield ``(path, layer)`` for every leaf and container, depth first, in execution order."""
    if isinstance(node, Sequential):
        for child in node.layers:
            yield from walk(child, path + ((node.name,) if node.name else ()))
        return
    if isinstance(node, (Concat, Add)):
        for branch in node.branches:
            yield from walk(branch, path + ((node.name,) if node.name else ()))
    yield path, node
