"""The network input, ``height x width x channels``: the first node of every analysed spec."""

from __future__ import annotations

from dataclasses import dataclass

from ..sizes import parse_size
from .base import Layer, Size
from .geometry import need_positive
from .registry import Kind, Notation, Rule, ignored, register


@dataclass(frozen=True)
class Input(Layer):
    """The network input, ``height x width x channels`` (channels last, as Keras)."""

    height: Size
    width: Size
    channels: Size

    @property
    def shape(self) -> tuple:
        return (self.height, self.width, self.channels)


def input_shape(layer: Input, in_shape, warn):
    for what, v in (("height", layer.height), ("width", layer.width), ("channels", layer.channels)):
        need_positive(layer, f"input {what}", v)
    return layer.shape


def _parse(word, kernel, arg, options, classes):
    if arg is None:
        raise ValueError("INPUT needs a size such as INPUT-32x32x3")
    h, w, c = parse_size(arg)
    return [Input(h, w, c, name="input")]


def _write(layer: Input) -> str:
    return f"INPUT-{layer.height}x{layer.width}x{layer.channels}"


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
