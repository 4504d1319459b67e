"""Small helpers shared by the zoo modules."""

from __future__ import annotations

from ..sizes import input_size
from ..spec import Activation, BatchNorm, Conv2D, Input


def input_layer(input) -> Input:
    """``Input`` from ``(H, W, C)`` or a string such as ``"32x32x3"`` / ``"H x W x 3"``."""
    h, w, c = input_size(input)
    return Input(h, w, c, name="input")


def conv_bn_relu(filters, kernel, stride=1, padding="same", *, name, bias=False, relu=True):
    """The ``conv -> BN -> ReLU`` unit used by ResNets and MiniGoogLeNet, named ``name_conv``, ``name_bn``, ``name_relu``."""
    layers = [
        Conv2D(filters, kernel, stride, padding, bias=bias, name=f"{name}_conv"),
        BatchNorm(name=f"{name}_bn"),
    ]
    if relu:
        layers.append(Activation("relu", name=f"{name}_relu"))
    return layers
