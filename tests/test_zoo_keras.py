"""Zoo counts against Keras: the reference architectures written directly in Keras (as their
sources write them, not through cnncalc's bridge), compared on ``count_params()``.

Parameter counts do not depend on the input size of these networks (no flatten into a dense
layer over spatial maps except where the pools reduce to 1x1), so pools use Keras' 'same'
padding where the references use Caffe/PyTorch rounding.
"""

from __future__ import annotations

import math

import pytest

pytestmark = pytest.mark.keras
keras = pytest.importorskip("keras")
layers = keras.layers

from cnncalc.analysis import analyze  # noqa: E402
from cnncalc.zoo import get  # noqa: E402


def _non_trainable(model) -> int:
    return sum(math.prod(w.shape) for w in model.non_trainable_weights)


def _check(model, name, **options):
    totals = analyze(get(name, **options)).totals
    assert model.count_params() == totals.params
    assert _non_trainable(model) == totals.non_trainable


# --------------------------------------------------------------------------------------------
# ResNet-44, option B: keras-team/keras examples/cifar10_resnet.py, resnet_v1
# --------------------------------------------------------------------------------------------


def _resnet_layer(x, filters=16, kernel=3, strides=1, activation="relu", bn=True):
    x = layers.Conv2D(filters, kernel, strides=strides, padding="same")(x)
    if bn:
        x = layers.BatchNormalization()(x)
    if activation:
        x = layers.Activation(activation)(x)
    return x


def keras_resnet_v1(depth=44, input_shape=(32, 32, 3), classes=10):
    n = (depth - 2) // 6
    inputs = keras.Input(input_shape)
    x = _resnet_layer(inputs)
    filters = 16
    for stack in range(3):
        for block in range(n):
            strides = 2 if stack > 0 and block == 0 else 1
            y = _resnet_layer(x, filters, strides=strides)
            y = _resnet_layer(y, filters, activation=None)
            if stack > 0 and block == 0:
                x = _resnet_layer(x, filters, kernel=1, strides=strides, activation=None, bn=False)
            x = layers.Activation("relu")(layers.add([x, y]))
        filters *= 2
    x = layers.Flatten()(layers.AveragePooling2D(8)(x))
    return keras.Model(inputs, layers.Dense(classes, activation="softmax")(x))


def test_resnet44_option_b_matches_the_keras_example():
    model = keras_resnet_v1(44)
    assert model.count_params() == 665_994  # docs/design.md
    assert _non_trainable(model) == 3_168
    _check(model, "resnet44", shortcut="B")


# --------------------------------------------------------------------------------------------
# ResNet-44, option A: akamaster/pytorch_resnet_cifar10 resnet.py, written in Keras
# --------------------------------------------------------------------------------------------


class PadShortcut(layers.Layer):
    """akamaster's LambdaLayer: ``x[:, ::2, ::2]`` with the new channels zero-padded on both sides."""

    def __init__(self, filters, **kwargs):
        super().__init__(**kwargs)
        self.filters = filters

    def call(self, x):
        pad = (self.filters - x.shape[-1]) // 2
        return keras.ops.pad(x[:, ::2, ::2, :], [[0, 0], [0, 0], [0, 0], [pad, pad]])


def keras_resnet_a(depth=44, classes=10):
    n = (depth - 2) // 6
    inputs = keras.Input((32, 32, 3))
    conv = lambda f, s=1: layers.Conv2D(f, 3, strides=s, padding="same", use_bias=False)  # noqa: E731
    x = layers.ReLU()(layers.BatchNormalization()(conv(16)(inputs)))
    in_filters = 16
    for filters in (16, 32, 64):
        for block in range(n):
            stride = 2 if filters > 16 and block == 0 else 1
            y = layers.ReLU()(layers.BatchNormalization()(conv(filters, stride)(x)))
            y = layers.BatchNormalization()(conv(filters)(y))
            shortcut = PadShortcut(filters)(x) if stride != 1 or in_filters != filters else x
            x = layers.ReLU()(layers.add([y, shortcut]))
            in_filters = filters
    x = layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, layers.Dense(classes)(x))


def test_resnet44_option_a_matches_akamaster_in_keras():
    model = keras_resnet_a(44)
    assert model.count_params() - _non_trainable(model) == 658_586  # docs/design.md (PyTorch count)
    _check(model, "resnet44")


# --------------------------------------------------------------------------------------------
# MiniGoogLeNet: pyimagesearch/nn/conv/minigooglenet.py
# --------------------------------------------------------------------------------------------


def _conv_module(x, k, kx, ky, stride, padding="same"):
    x = layers.Conv2D(k, (kx, ky), strides=stride, padding=padding)(x)
    return layers.Activation("relu")(layers.BatchNormalization()(x))


def _inception_module(x, k1, k3):
    return layers.concatenate([_conv_module(x, k1, 1, 1, (1, 1)), _conv_module(x, k3, 3, 3, (1, 1))])


def _downsample_module(x, k):
    conv = _conv_module(x, k, 3, 3, (2, 2), padding="valid")
    return layers.concatenate([conv, layers.MaxPooling2D((3, 3), strides=(2, 2))(x)])


def keras_minigooglenet(width=32, height=32, depth=1, classes=10):
    inputs = keras.Input((height, width, depth))
    x = _conv_module(inputs, 96, 3, 3, (1, 1))
    x = _inception_module(x, 32, 32)
    x = _inception_module(x, 32, 48)
    x = _downsample_module(x, 80)
    for k1, k3 in ((112, 48), (96, 64), (80, 80), (48, 96)):
        x = _inception_module(x, k1, k3)
    x = _downsample_module(x, 96)
    x = _inception_module(x, 176, 160)
    x = _inception_module(x, 176, 160)
    x = layers.Dropout(0.5)(layers.AveragePooling2D((7, 7))(x))
    x = layers.Dense(classes)(layers.Flatten()(x))
    return keras.Model(inputs, layers.Activation("softmax")(x))


def test_minigooglenet_matches_pyimagesearch():
    model = keras_minigooglenet()
    assert model.count_params() == 1_654_522  # docs/design.md
    _check(model, "minigooglenet")


# --------------------------------------------------------------------------------------------
# GoogLeNet (Szegedy et al. 2015 Table 1, Caffe bvlc_googlenet, biased convs, no aux heads)
# --------------------------------------------------------------------------------------------


def keras_googlenet(classes=1000):
    from cnncalc.zoo.googlenet import INCEPTION_TABLE1

    relu_conv = lambda f, k, s=1: layers.Conv2D(f, k, strides=s, padding="same", activation="relu")  # noqa: E731
    pool = lambda: layers.MaxPooling2D(3, 2, padding="same")  # noqa: E731
    inputs = keras.Input((224, 224, 3))
    x = pool()(relu_conv(64, 7, 2)(inputs))
    x = pool()(relu_conv(192, 3)(relu_conv(64, 1)(x)))
    for key, (c1, r3, c3, r5, c5, pp) in INCEPTION_TABLE1.items():
        if key in ("4a", "5a"):
            x = pool()(x)
        x = layers.concatenate(
            [
                relu_conv(c1, 1)(x),
                relu_conv(c3, 3)(relu_conv(r3, 1)(x)),
                relu_conv(c5, 5)(relu_conv(r5, 1)(x)),
                relu_conv(pp, 1)(layers.MaxPooling2D(3, 1, padding="same")(x)),
            ]
        )
    x = layers.Flatten()(layers.Dropout(0.4)(layers.AveragePooling2D(7, 1)(x)))
    return keras.Model(inputs, layers.Dense(classes, activation="softmax")(x))


def test_googlenet_matches_keras():
    model = keras_googlenet()
    assert model.output.shape[-1] == 1000
    assert model.count_params() == 6_998_552
    _check(model, "googlenet")


# --------------------------------------------------------------------------------------------
# Small networks
# --------------------------------------------------------------------------------------------


def test_lenet5_and_mlp_match_keras():
    lenet = keras.Sequential(
        [
            keras.Input((32, 32, 1)),
            layers.Conv2D(6, 5, activation="tanh"),
            layers.AveragePooling2D(2),
            layers.Conv2D(16, 5, activation="tanh"),
            layers.AveragePooling2D(2),
            layers.Conv2D(120, 5, activation="tanh"),
            layers.Flatten(),
            layers.Dense(84, activation="tanh"),
            layers.Dense(10, activation="softmax"),
        ]
    )
    _check(lenet, "lenet5")
    mlp = keras.Sequential(
        [
            keras.Input((32, 32, 3)),
            layers.Flatten(),
            layers.Dense(1000, activation="relu"),
            layers.Dense(1000, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ]
    )
    assert mlp.count_params() == 4_084_010
    _check(mlp, "mlp")
