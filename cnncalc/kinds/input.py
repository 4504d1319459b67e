"""The network input: the first node of every analysed spec, a per-sample shape of any rank.

An image is ``height x width x channels`` (channels last, as Keras); a sequence is
``tokens x channels`` (a text or audio transformer, a 1-D signal); a plain vector is ``features``;
a volume ``D x H x W x C``. No axis is a batch axis: the importers drop the one the file marks
(Keras' ``None``, an ONNX input's first dimension) and keep the rest as they are.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..sizes import MAX_RANK, parse_size
from .base import Layer, SpecError
from .geometry import need_positive
from .registry import Kind, Notation, Rule, ignored, register

AXIS_NAMES = {1: ("features",), 2: ("tokens", "channels"), 3: ("height", "width", "channels")}
"""What each axis of an input of rank 1, 2 or 3 is called in messages (other ranks: ``axis k``)."""


@dataclass(frozen=True, init=False)
class Input(Layer):
    """The network input: ``Input(224, 224, 3)`` (an image, channels last), ``Input(16, 32)``
    (tokens x channels), ``Input(100)`` (a vector), or ``Input(shape=(...))``."""

    shape: tuple = ()

    def __init__(self, *sizes, shape=None, name=None):
        if shape is not None and sizes:
            raise TypeError("Input takes its sizes or shape=, not both")
        if shape is None and len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
            shape = sizes[0]  # Input((16, 32)), as keras.Input(shape=(16, 32))
        object.__setattr__(self, "shape", tuple(sizes if shape is None else shape))
        object.__setattr__(self, "name", name)

    @property
    def rank(self) -> int:
        return len(self.shape)

    @property
    def is_image(self) -> bool:
        """``H x W x C``: what the convolutions, the pools and the receptive fields slide over."""
        return len(self.shape) == 3

    @property
    def height(self):
        return self._image_axis(0, "height")

    @property
    def width(self):
        return self._image_axis(1, "width")

    @property
    def channels(self):
        """The last axis (an image's or a sequence's channels, a vector's features)."""
        return self.shape[-1]

    def _image_axis(self, axis, what):
        if not self.is_image:
            raise AttributeError(f"input '{self.name}' of shape {'x'.join(map(str, self.shape))} is not an image: it has no {what}")
        return self.shape[axis]


def axis_name(rank: int, axis: int) -> str:
    names = AXIS_NAMES.get(rank)
    return names[axis] if names else f"axis {axis}"


def input_shape(layer: Input, in_shape, warn):
    if not 1 <= layer.rank <= MAX_RANK:
        raise SpecError(f"input '{layer.name}' has {layer.rank} axes: cnncalc reads inputs of rank 1 to {MAX_RANK}")
    for axis, v in enumerate(layer.shape):
        need_positive(layer, f"input {axis_name(layer.rank, axis)}", v)
    return layer.shape


def _parse(word, kernel, arg, options, classes):
    if arg is None:
        raise ValueError("INPUT needs a size such as INPUT-32x32x3, INPUT-16x64 or INPUT-100")
    return [Input(*parse_size(arg), name="input")]


def _write(layer: Input) -> str:
    return "INPUT-" + "x".join(str(v) for v in layer.shape)


def _keras(b, layer: Input, x, qualified):
    return b.keras.Input(shape=tuple(int(v) for v in layer.shape), name=b.name(qualified))


register(
    Kind(
        Input,
        rule=Rule(shape=input_shape),
        prefix="input",
        notation=Notation(("input",), _parse, _write, argument="size"),
        keras=_keras,
        strings={},
        ops=ignored("macs", "flops", "torchvision", "fvcore", "ptflops", "torchinfo", "tf-profiler"),
    )
)
