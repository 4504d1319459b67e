"""Spec -> Keras: build a functional ``keras.Model`` from the same spec the analysis counts.

:func:`to_keras` walks the named spec once, as :func:`cnncalc.analyze` does, and emits one Keras
layer per spec layer (plus small helper layers where Keras has no direct equivalent), so that the
counts the calculator prints and the model the training package trains come from one source.

Layer names. Keras 3 forbids ``/`` in layer names, and the spec's qualified names use it
(``inception_3a/5x5``). The one mapping, used everywhere (the model, the check, the docs):

- ``keras_name("inception_3a/5x5") == "inception_3a.5x5"``: the separator ``/`` becomes ``.``;
- ``spec_name("inception_3a.5x5") == "inception_3a/5x5"``: and back.

The mapping is reversible because spec names never contain ``.`` (:func:`to_keras` refuses one
that does). The Keras layer named ``keras_name(q)`` is the one that does the work of spec layer
``q`` (it holds the weights of a convolution). A helper layer is named ``keras_name(q) + "." +
role`` (``conv2.pad``, ``conv1.subsample``): reading such a name back gives ``q/role``, which is
never a spec layer, so dropping the last component names the spec layer it serves. That is how
:mod:`cnncalc.keras_check` folds helpers into their layer.

Layer kinds and their Keras form (backend independent: only ``keras.layers`` and ``keras.ops``,
so the same code runs with ``KERAS_BACKEND=tensorflow`` and ``KERAS_BACKEND=jax``):

============================  ==================================================================
spec                          Keras
============================  ==================================================================
Input                         ``keras.Input``
Conv2D                        ``Conv2D(groups=, dilation_rate=)``; explicit padding p: a
                              ``ZeroPadding2D`` helper (``.pad``) then a ``valid`` convolution;
                              stride > 1 with dilation > 1 (which Keras refuses): explicit padding,
                              a stride-1 dilated convolution and a ``Subsample2D`` helper
                              (``.subsample``), the same output as TensorFlow's strided conv
MaxPool2D / AvgPool2D         ``MaxPooling2D`` / ``AveragePooling2D``; explicit padding and
                              ``ceil_mode`` (extra right/bottom pixels) via a ``.pad`` helper:
                              ``ConstantPadding2D(-inf)`` for max pooling (PyTorch semantics: a
                              pad pixel never wins), ``ZeroPadding2D`` for average pooling (PyTorch's
                              ``count_include_pad=True``; in ceil mode PyTorch leaves the extra
                              right/bottom pixels out of the divisor, this bridge counts them)
GlobalAvgPool2D, Flatten      ``GlobalAveragePooling2D``, ``Flatten``
Dense                         ``Dense(use_bias=)``
BatchNorm                     ``BatchNormalization(epsilon=, momentum=)`` (the spec's values)
LRN                           :class:`LocalResponseNormalization` (custom, parameter free)
Dropout, Activation           ``Dropout(rate)``, ``Activation(function)``
PadShortcut                   :class:`ZeroPaddedShortcut` (custom, parameter free)
Concat, Add                   ``Concatenate(axis=-1)``, ``Add`` (``Identity`` for one branch)
============================  ==================================================================

The custom layers are registered as Keras serializable objects (package ``cnncalc``), so a saved
``.keras`` file loads again with ``keras.models.load_model`` once this module is imported.
"""

from __future__ import annotations

import math
import re

import keras
from keras import ops

from .arith import is_number
from .naming import SEPARATOR
from .spec import (
    LRN,
    Activation,
    Add,
    AvgPool2D,
    BatchNorm,
    Concat,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    GlobalAvgPool2D,
    Input,
    MaxPool2D,
    PadShortcut,
    Sequential,
    SpecError,
    pair,
)

KERAS_SEPARATOR = "."
"""What the spec's separator ``/`` becomes in Keras layer names (Keras 3 forbids ``/``)."""

HELPER_ROLES = ("pad", "subsample")
"""Suffixes of helper layers: ``<keras name>.pad`` before a layer, ``.subsample`` after it."""


def keras_name(qualified: str) -> str:
    """Keras layer name of a spec layer: ``"inception_3a/5x5" -> "inception_3a.5x5"``."""
    return qualified.replace(SEPARATOR, KERAS_SEPARATOR)


def spec_name(name: str) -> str:
    """Inverse of :func:`keras_name`: ``"inception_3a.5x5" -> "inception_3a/5x5"``."""
    return name.replace(KERAS_SEPARATOR, SEPARATOR)


# --------------------------------------------------------------------------------------------
# Custom layers (keras.ops only, so every backend runs them)
# --------------------------------------------------------------------------------------------


@keras.saving.register_keras_serializable(package="cnncalc")
class LocalResponseNormalization(keras.layers.Layer):
    """Local response normalisation across channels, parameter free (AlexNet, section 3.3).

    ``b[c] = a[c] / (bias + alpha * sum_{j=c-r}^{c+r} a[j]^2) ** beta`` over the channels that
    exist, with ``r = depth_radius``: Krizhevsky et al.'s formula with ``n = 2r + 1``, ``k = bias``
    (the paper: r=2, k=2, alpha=1e-4, beta=0.75), exactly TensorFlow's
    ``tf.nn.local_response_normalization`` (alpha is *not* divided by n; Caffe's is).
    """

    def __init__(self, depth_radius=2, bias=2.0, alpha=1e-4, beta=0.75, **kwargs):
        super().__init__(**kwargs)
        self.depth_radius = int(depth_radius)
        self.bias = float(bias)
        self.alpha = float(alpha)
        self.beta = float(beta)

    def call(self, x):
        r = self.depth_radius
        channels = x.shape[-1]
        squares = ops.square(x)
        padded = ops.pad(squares, [[0, 0]] * (len(x.shape) - 1) + [[r, r]])
        window = padded[..., 0:channels]
        for offset in range(1, 2 * r + 1):
            window = window + padded[..., offset : offset + channels]
        return x / ops.power(self.bias + self.alpha * window, self.beta)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "depth_radius": self.depth_radius,
            "bias": self.bias,
            "alpha": self.alpha,
            "beta": self.beta,
        }


@keras.saving.register_keras_serializable(package="cnncalc")
class ZeroPaddedShortcut(keras.layers.Layer):
    """He et al. (2016) option A shortcut: ``x[:, ::s, ::s, :]``, channels zero-padded to ``filters``.

    The new channels go half before and half after the old ones (``(filters - C) // 2`` before),
    as akamaster/pytorch_resnet_cifar10's ``F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, p, p))``.
    Parameter free.
    """

    def __init__(self, filters, stride=2, **kwargs):
        super().__init__(**kwargs)
        self.filters = int(filters)
        self.stride = int(stride)

    def call(self, x):
        s = self.stride
        extra = self.filters - x.shape[-1]
        before = extra // 2
        y = x[:, ::s, ::s, :]
        return ops.pad(y, [[0, 0], [0, 0], [0, 0], [before, extra - before]])

    def compute_output_shape(self, input_shape):
        b, h, w, _ = input_shape
        up = lambda n: None if n is None else -(-n // self.stride)  # noqa: E731
        return (b, up(h), up(w), self.filters)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "stride": self.stride}


@keras.saving.register_keras_serializable(package="cnncalc")
class ConstantPadding2D(keras.layers.Layer):
    """Pad height and width with a constant: ``padding = ((top, bottom), (left, right))``.

    The bridge uses ``value=-inf`` before max pooling, so that a pad pixel never wins a window
    (PyTorch's and Caffe's max pooling); ``keras.layers.ZeroPadding2D`` would let 0 beat
    negative inputs.
    """

    def __init__(self, padding=((0, 0), (0, 0)), value=0.0, **kwargs):
        super().__init__(**kwargs)
        self.padding = tuple(tuple(int(v) for v in side) for side in padding)
        self.value = float(value)

    def call(self, x):
        (top, bottom), (left, right) = self.padding
        return ops.pad(x, [[0, 0], [top, bottom], [left, right], [0, 0]], constant_values=self.value)

    def compute_output_shape(self, input_shape):
        b, h, w, c = input_shape
        (top, bottom), (left, right) = self.padding
        grow = lambda n, extra: None if n is None else n + extra  # noqa: E731
        return (b, grow(h, top + bottom), grow(w, left + right), c)

    def get_config(self):
        return {**super().get_config(), "padding": self.padding, "value": self.value}


@keras.saving.register_keras_serializable(package="cnncalc")
class Subsample2D(keras.layers.Layer):
    """Keep every ``strides``-th row and column, starting with the first: ``x[:, ::sh, ::sw, :]``."""

    def __init__(self, strides=(2, 2), **kwargs):
        super().__init__(**kwargs)
        self.strides = tuple(int(v) for v in pair(strides))

    def call(self, x):
        sh, sw = self.strides
        return x[:, ::sh, ::sw, :]

    def compute_output_shape(self, input_shape):
        b, h, w, c = input_shape
        (sh, sw) = self.strides
        up = lambda n, s: None if n is None else -(-n // s)  # noqa: E731
        return (b, up(h, sh), up(w, sw), c)

    def get_config(self):
        return {**super().get_config(), "strides": self.strides}


CUSTOM_OBJECTS = {
    "LocalResponseNormalization": LocalResponseNormalization,
    "ZeroPaddedShortcut": ZeroPaddedShortcut,
    "ConstantPadding2D": ConstantPadding2D,
    "Subsample2D": Subsample2D,
}
"""The custom layers, for ``keras.models.load_model(path, custom_objects=CUSTOM_OBJECTS)``."""


# --------------------------------------------------------------------------------------------
# Geometry (computed here from the Keras tensor's own sizes, independently of the analysis)
# --------------------------------------------------------------------------------------------


def _explicit(padding) -> tuple | None:
    """``(p_h, p_w)`` for explicit pixel padding, ``None`` for ``'same'`` / ``'valid'``."""
    if isinstance(padding, str):
        mode = padding.lower()
        if mode not in ("same", "valid"):
            raise SpecError(f"padding must be 'same', 'valid' or pixels, got '{padding}'")
        return None
    return pair(padding)


def _same_padding(n: int, k_eff: int, s: int) -> tuple[int, int]:
    """TensorFlow's 'same' padding along one axis: ``(before, after)`` for output ``ceil(n/s)``."""
    out = -(-n // s)
    total = max((out - 1) * s + k_eff - n, 0)
    return total // 2, total - total // 2


def _ceil_extra(n: int, k: int, s: int, p: int) -> int:
    """Extra right/bottom pixels for PyTorch's ``ceil_mode`` on ``n`` pixels padded ``p`` each side.

    PyTorch: ``out = ceil((n + 2p - k) / s) + 1``, minus one when the last window would start past
    the input and the left padding (``(out - 1) s >= n + p``). Pad so ``(out - 1) s + k`` fit.
    """
    out = -(-(n + 2 * p - k) // s) + 1
    if (out - 1) * s >= n + p:
        out -= 1
    return max((out - 1) * s + k - (n + 2 * p), 0)


# --------------------------------------------------------------------------------------------
# The builder
# --------------------------------------------------------------------------------------------


class _Builder:
    """One pass over a named spec, the same traversal and qualified names as the analysis."""

    def __init__(self):
        self.names: set[str] = set()

    def name(self, qualified: str, role: str | None = None) -> str:
        if KERAS_SEPARATOR in qualified:
            raise SpecError(
                f"layer '{qualified}': names may not contain '{KERAS_SEPARATOR}' for Keras "
                f"('{SEPARATOR}' maps to '{KERAS_SEPARATOR}' in Keras layer names)"
            )
        name = keras_name(qualified) + (KERAS_SEPARATOR + role if role else "")
        if name in self.names:
            raise SpecError(f"layer '{qualified}': Keras layer name '{name}' is taken twice")
        self.names.add(name)
        return name

    # containers --------------------------------------------------------------------------

    def visit(self, node, x, scope: str):
        if isinstance(node, Sequential):
            inner = f"{scope}{node.name}{SEPARATOR}" if node.name else scope
            for child in node.layers:
                x = self.visit(child, x, inner)
            return x
        qualified = scope + node.name
        if isinstance(node, (Concat, Add)):
            inner = f"{qualified}{SEPARATOR}"
            outputs = [self.visit(branch, x, inner) for branch in node.branches]
            if not outputs:
                raise SpecError(f"layer '{qualified}' ({node.kind}) has no branches")
            if len(outputs) == 1:
                return keras.layers.Identity(name=self.name(qualified))(outputs[0])
            if isinstance(node, Concat):
                return keras.layers.Concatenate(axis=-1, name=self.name(qualified))(outputs)
            return keras.layers.Add(name=self.name(qualified))(outputs)
        if isinstance(node, Input):
            raise SpecError(f"layer '{qualified}': an Input can only start the network")
        build = _LEAVES.get(type(node))
        if build is None:
            raise SpecError(f"no Keras form for layer kind {node.kind} (layer '{qualified}')")
        return build(self, node, x, qualified)

    # leaves ------------------------------------------------------------------------------

    def conv(self, layer: Conv2D, x, qualified):
        (kh, kw), (sh, sw), (dh, dw) = pair(layer.kernel), pair(layer.stride), pair(layer.dilation)
        # Dilation is meaningless for a 1-wide kernel; Keras refuses it with strides, so drop it.
        dh, dw = (dh if kh > 1 else 1), (dw if kw > 1 else 1)
        strided_dilation = (sh > 1 or sw > 1) and (dh > 1 or dw > 1)
        explicit = _explicit(layer.padding)
        pads = None
        if explicit is not None and any(explicit):
            pads = ((explicit[0], explicit[0]), (explicit[1], explicit[1]))
        elif strided_dilation and explicit is None and layer.padding.lower() == "same":
            _, h, w, _ = x.shape
            pads = (_same_padding(h, dh * (kh - 1) + 1, sh), _same_padding(w, dw * (kw - 1) + 1, sw))
        if pads is not None and any(any(side) for side in pads):
            x = keras.layers.ZeroPadding2D(pads, name=self.name(qualified, "pad"))(x)
        padding = "same" if explicit is None and layer.padding.lower() == "same" and not strided_dilation else "valid"
        x = keras.layers.Conv2D(
            layer.filters,
            (kh, kw),
            strides=(1, 1) if strided_dilation else (sh, sw),
            padding=padding,
            dilation_rate=(dh, dw),
            groups=layer.groups,
            use_bias=layer.bias,
            name=self.name(qualified),
        )(x)
        if strided_dilation:
            x = Subsample2D((sh, sw), name=self.name(qualified, "subsample"))(x)
        return x

    def pool(self, layer, x, qualified):
        (kh, kw) = pair(layer.kernel)
        (sh, sw) = pair(layer.kernel if layer.stride is None else layer.stride)
        cls = keras.layers.MaxPooling2D if isinstance(layer, MaxPool2D) else keras.layers.AveragePooling2D
        explicit = _explicit(layer.padding)
        if explicit is None:  # 'same' or 'valid': Keras does it (ceil_mode changes nothing for 'same')
            mode = layer.padding.lower()
            if mode == "valid" and layer.ceil_mode:
                explicit = (0, 0)
            else:
                return cls((kh, kw), (sh, sw), padding=mode, name=self.name(qualified))(x)
        _, h, w, _ = x.shape
        ph, pw = explicit
        extra_h = _ceil_extra(h, kh, sh, ph) if layer.ceil_mode else 0
        extra_w = _ceil_extra(w, kw, sw, pw) if layer.ceil_mode else 0
        pads = ((ph, ph + extra_h), (pw, pw + extra_w))
        if any(any(side) for side in pads):
            if isinstance(layer, MaxPool2D):
                x = ConstantPadding2D(pads, value=-math.inf, name=self.name(qualified, "pad"))(x)
            else:
                x = keras.layers.ZeroPadding2D(pads, name=self.name(qualified, "pad"))(x)
        return cls((kh, kw), (sh, sw), padding="valid", name=self.name(qualified))(x)

    def global_pool(self, layer, x, qualified):
        return keras.layers.GlobalAveragePooling2D(name=self.name(qualified))(x)

    def flatten(self, layer, x, qualified):
        return keras.layers.Flatten(name=self.name(qualified))(x)

    def dense(self, layer: Dense, x, qualified):
        return keras.layers.Dense(layer.units, use_bias=layer.bias, name=self.name(qualified))(x)

    def batchnorm(self, layer: BatchNorm, x, qualified):
        return keras.layers.BatchNormalization(
            epsilon=layer.epsilon, momentum=layer.momentum, name=self.name(qualified)
        )(x)

    def lrn(self, layer: LRN, x, qualified):
        return LocalResponseNormalization(
            layer.depth_radius, layer.bias, layer.alpha, layer.beta, name=self.name(qualified)
        )(x)

    def dropout(self, layer: Dropout, x, qualified):
        return keras.layers.Dropout(layer.rate, name=self.name(qualified))(x)

    def activation(self, layer: Activation, x, qualified):
        return keras.layers.Activation(layer.function, name=self.name(qualified))(x)

    def pad_shortcut(self, layer: PadShortcut, x, qualified):
        if layer.filters < x.shape[-1]:
            raise SpecError(
                f"layer '{qualified}': a zero-padding shortcut cannot shrink {x.shape[-1]} channels "
                f"to {layer.filters}"
            )
        return ZeroPaddedShortcut(layer.filters, layer.stride, name=self.name(qualified))(x)


_LEAVES = {
    Conv2D: _Builder.conv,
    MaxPool2D: _Builder.pool,
    AvgPool2D: _Builder.pool,
    GlobalAvgPool2D: _Builder.global_pool,
    Flatten: _Builder.flatten,
    Dense: _Builder.dense,
    BatchNorm: _Builder.batchnorm,
    LRN: _Builder.lrn,
    Dropout: _Builder.dropout,
    Activation: _Builder.activation,
    PadShortcut: _Builder.pad_shortcut,
}


def to_keras(spec, name: str | None = None, *, input=None) -> keras.Model:
    """The Keras functional model of ``spec`` (a :class:`~cnncalc.spec.Spec` or ``Sequential``).

    Layer ``q`` of the analysis is the Keras layer ``keras_name(q)`` (``/`` -> ``.``); helper
    layers carry a ``.pad`` / ``.subsample`` suffix. ``name`` names the model (default: the spec's
    model name); ``input`` overrides the input size as in :func:`cnncalc.analyze`. Sizes must be
    numbers: a symbolic spec raises :class:`~cnncalc.spec.SpecError`.
    """
    from .analysis import resolve

    spec = resolve(spec, input)
    first, *rest = spec.root.layers
    if not all(is_number(v) for v in first.shape):
        raise SpecError(
            f"model '{spec.model}': Keras needs a numeric input size, got "
            f"{'x'.join(map(str, first.shape))} (pass input=(H, W, C))"
        )
    builder = _Builder()
    inputs = keras.Input(shape=tuple(int(v) for v in first.shape), name=builder.name(first.name))
    x = inputs
    for child in rest:
        x = builder.visit(child, x, "")
    return keras.Model(inputs, x, name=name or _model_name(spec.model))


def _model_name(model: str) -> str:
    """A Keras-safe model name: notation text such as ``INPUT-8x8x1 -> FCS`` becomes ``INPUT-8x8x1_FCS``."""
    model = re.sub(r"\s*(->|→)\s*", "_", model.strip())
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", model).strip("_") or "model"
