"""GoogLeNet and MiniGoogLeNet.

``googlenet``: Szegedy et al., "Going Deeper with Convolutions", CVPR 2015, Table 1 (the 22-layer
network, main classifier only), with layer names, LRN settings and pooling rounding from the Caffe
reference model ``models/bvlc_googlenet/train_val.prototxt``.

``minigooglenet``: the small inception network of A. Rosebrock, "Deep Learning for Computer Vision
with Python" (pyimagesearch), ``pyimagesearch/nn/conv/minigooglenet.py``, for 32x32 CIFAR-size
inputs.
"""

from __future__ import annotations

from ..spec import (
    LRN,
    Activation,
    AvgPool2D,
    BatchNorm,
    Concat,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    MaxPool2D,
    Sequential,
    Spec,
    sequential,
)
from . import register
from ._common import input_layer
from .inception import inception


def conv_bn_relu(filters, kernel, stride=1, padding="same", *, name, bias=False, relu=True):
    """The ``conv -> BN -> ReLU`` unit of MiniGoogLeNet, named ``name_conv``, ``name_bn``, ``name_relu``."""
    layers = [
        Conv2D(filters, kernel, stride, padding, bias=bias, name=f"{name}_conv"),
        BatchNorm(name=f"{name}_bn"),
    ]
    if relu:
        layers.append(Activation("relu", name=f"{name}_relu"))
    return layers


# Table 1 of Szegedy et al. 2015: #1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj.
INCEPTION_TABLE1 = {
    "3a": (64, 96, 128, 16, 32, 32),
    "3b": (128, 128, 192, 32, 96, 64),
    "4a": (192, 96, 208, 16, 48, 64),
    "4b": (160, 112, 224, 24, 64, 64),
    "4c": (128, 128, 256, 24, 64, 64),
    "4d": (112, 144, 288, 32, 64, 64),
    "4e": (256, 160, 320, 32, 128, 128),
    "5a": (256, 160, 320, 32, 128, 128),
    "5b": (384, 192, 384, 48, 128, 128),
}


def _lrn(name):
    # Caffe LRN: local_size 5, alpha 1e-4, beta 0.75, k 1, with alpha divided by local_size;
    # as TensorFlow's depth_radius / bias / alpha that is 2 / 1.0 / 2e-5.
    return LRN(depth_radius=2, bias=1.0, alpha=1e-4 / 5, beta=0.75, name=name)


def _module(key):
    c1, r3, c3, r5, c5, pp = INCEPTION_TABLE1[key]
    return inception(f"inception_{key}", c1, c3, c5, c3x3_reduce=r3, c5x5_reduce=r5, pool_proj=pp)


def _pool(name):
    # Caffe rounds pooling output sizes up: 112 -> 56 -> 28 -> 14 -> 7 as in Table 1.
    return MaxPool2D(3, 2, 0, ceil_mode=True, name=name)


@register("googlenet", "GoogLeNet, Szegedy et al. 2015 Table 1 (22 layers, no auxiliary heads), 224x224x3")
def googlenet(input=(224, 224, 3), classes: int = 1000) -> Spec:
    """GoogLeNet (Szegedy et al. 2015, Table 1; Caffe ``bvlc_googlenet``), without the auxiliary heads.

    Convolutions have biases (Caffe). Stem: conv 7x7/2 (pad 3) -> max pool 3x3/2 -> LRN ->
    conv 1x1 64 -> conv 3x3 192 -> LRN -> max pool 3x3/2; then inception 3a, 3b, pool, 4a-4e,
    pool, 5a, 5b with the Table 1 filter numbers; avg pool 7x7/1, dropout 40%, linear, softmax.
    Max pools round up (Caffe, ``ceil_mode``), so the sizes are Table 1's 112, 56, 28, 14, 7.
    At 224x224x3: 6,998,552 parameters (6,990,272 weights + 8,280 biases), 1,582,671,872 MACs.

    Table 1's "params" (K = 1024 weights) and "ops" (M multiply-adds) columns agree with the filter
    numbers for conv2, 3a, 3b, 4b and the linear layer; its conv1 row (2.7K, 34M; 7x7x3x64 gives
    9.4K, 118M) and the params of 4a, 4c, 4d, 4e, 5a, 5b (and the ops of 5a: 51M, not 54M) do not.
    The table's ops column sums to 1.50G, the "1.5 billion multiply-adds" of section 1.
    """
    layers = [
        input_layer(input),
        Conv2D(64, 7, 2, 3, name="conv1/7x7_s2"),
        Activation("relu", name="conv1/relu_7x7"),
        _pool("pool1/3x3_s2"),
        _lrn("pool1/norm1"),
        Conv2D(64, 1, 1, 0, name="conv2/3x3_reduce"),
        Activation("relu", name="conv2/relu_3x3_reduce"),
        Conv2D(192, 3, 1, 1, name="conv2/3x3"),
        Activation("relu", name="conv2/relu_3x3"),
        _lrn("conv2/norm2"),
        _pool("pool2/3x3_s2"),
        _module("3a"),
        _module("3b"),
        _pool("pool3/3x3_s2"),
        *(_module(k) for k in ("4a", "4b", "4c", "4d", "4e")),
        _pool("pool4/3x3_s2"),
        _module("5a"),
        _module("5b"),
        AvgPool2D(7, 1, name="pool5/7x7_s1"),
        Dropout(0.4, name="pool5/drop_7x7_s1"),
        Flatten(name="flatten"),
        Dense(classes, name="loss3/classifier"),
        Activation("softmax", name="prob"),
    ]
    return Spec(sequential(*layers), model="googlenet", description="GoogLeNet, Szegedy et al. 2015, Table 1")


# --------------------------------------------------------------------------------------------
# MiniGoogLeNet (pyimagesearch)
# --------------------------------------------------------------------------------------------


def _mini_inception(name, k1x1, k3x3) -> Concat:
    """pyimagesearch ``inception_module``: 1x1 and 3x3 conv modules, concatenated."""
    return Concat(
        (
            Sequential(tuple(conv_bn_relu(k1x1, 1, bias=True, name="1x1"))),
            Sequential(tuple(conv_bn_relu(k3x3, 3, bias=True, name="3x3"))),
        ),
        name=name,
    )


def _mini_downsample(name, k) -> Concat:
    """pyimagesearch ``downsample_module``: 3x3/2 valid conv module beside a 3x3/2 max pool."""
    return Concat(
        (
            Sequential(tuple(conv_bn_relu(k, 3, 2, "valid", bias=True, name="3x3"))),
            Sequential((MaxPool2D(3, 2, "valid", name="pool"),)),
        ),
        name=name,
    )


@register("minigooglenet", "MiniGoogLeNet (pyimagesearch, Rosebrock), 32x32x1, 10 classes")
def minigooglenet(input=(32, 32, 1), classes: int = 10) -> Spec:
    """MiniGoogLeNet, ``pyimagesearch/nn/conv/minigooglenet.py`` (Rosebrock, DL4CV Practitioner Bundle).

    ``conv_module`` = Conv2D (with bias, 'same' unless stated) -> BN -> ReLU. conv(96, 3x3) ->
    inc(32, 32) -> inc(32, 48) -> down(80) -> inc(112, 48) -> inc(96, 64) -> inc(80, 80) ->
    inc(48, 96) -> down(96) -> inc(176, 160) -> inc(176, 160) -> avg pool 7x7 -> dropout 0.5 ->
    flatten -> dense -> softmax. At 32x32x1 with 10 classes: 1,654,522 parameters (Keras
    ``count_params()``), 3,424 of them non-trainable.

    At 32x32 the first downsample module's valid 3x3/2 conv and pool see 32 -> 15 and ignore the
    last row and column (31x31 would tile exactly); the analysis reports this, as it should.
    """
    layers = [
        input_layer(input),
        *conv_bn_relu(96, 3, bias=True, name="stem"),
        _mini_inception("inception1", 32, 32),
        _mini_inception("inception2", 32, 48),
        _mini_downsample("downsample1", 80),
        _mini_inception("inception3", 112, 48),
        _mini_inception("inception4", 96, 64),
        _mini_inception("inception5", 80, 80),
        _mini_inception("inception6", 48, 96),
        _mini_downsample("downsample2", 96),
        _mini_inception("inception7", 176, 160),
        _mini_inception("inception8", 176, 160),
        AvgPool2D(7, name="avgpool"),
        Dropout(0.5, name="dropout"),
        Flatten(name="flatten"),
        Dense(classes, name="fc"),
        Activation("softmax", name="softmax"),
    ]
    return Spec(sequential(*layers), model="minigooglenet", description="MiniGoogLeNet (pyimagesearch)")
