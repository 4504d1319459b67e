"""The custom Keras layers the bridge needs where Keras has no direct equivalent.

Written in ``keras.ops`` only, so the same code runs with ``KERAS_BACKEND=tensorflow`` and
``KERAS_BACKEND=jax``. They are registered as Keras serializable objects (package ``cnncalc``),
so a saved ``.keras`` file loads again with ``keras.models.load_model`` once this module is
imported. The kinds' Keras builders (:attr:`cnncalc.kinds.Kind.keras`) reach them as
``builder.custom``.
"""

from __future__ import annotations

import keras
from keras import ops

from .kinds import pair


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
    """Pad the spatial axes with a constant: ``padding = ((top, bottom), (left, right))`` on an
    image, one ``(before, after)`` pair per spatial axis on a signal or a volume.

    The bridge uses ``value=-inf`` before max pooling, so that a pad pixel never wins a window
    (PyTorch's and Caffe's max pooling); ``keras.layers.ZeroPadding2D`` would let 0 beat
    negative inputs.
    """

    def __init__(self, padding=((0, 0), (0, 0)), value=0.0, **kwargs):
        super().__init__(**kwargs)
        self.padding = tuple(tuple(int(v) for v in side) for side in padding)
        self.value = float(value)

    def call(self, x):
        return ops.pad(x, [[0, 0], *[list(side) for side in self.padding], [0, 0]], constant_values=self.value)

    def compute_output_shape(self, input_shape):
        grow = lambda n, extra: None if n is None else n + extra  # noqa: E731
        spatial = tuple(grow(n, before + after) for n, (before, after) in zip(input_shape[1:-1], self.padding))
        return (input_shape[0], *spatial, input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "padding": self.padding, "value": self.value}


@keras.saving.register_keras_serializable(package="cnncalc")
class Subsample2D(keras.layers.Layer):
    """Keep every ``strides``-th row and column, starting with the first: ``x[:, ::sh, ::sw, :]``
    (one stride per spatial axis on a signal or a volume: ``x[:, ::s, :]``)."""

    def __init__(self, strides=(2, 2), **kwargs):
        super().__init__(**kwargs)
        self.strides = tuple(int(v) for v in (strides if isinstance(strides, (list, tuple)) else pair(strides)))

    def call(self, x):
        return x[(slice(None), *(slice(None, None, s) for s in self.strides), slice(None))]

    def compute_output_shape(self, input_shape):
        up = lambda n, s: None if n is None else -(-n // s)  # noqa: E731
        return (input_shape[0], *(up(n, s) for n, s in zip(input_shape[1:-1], self.strides)), input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "strides": self.strides}


@keras.saving.register_keras_serializable(package="cnncalc")
class LayerScale(keras.layers.Layer):
    """``x * gamma`` with one learned scale per channel (Touvron et al. 2021; ConvNeXt's blocks).

    The config key ``projection_dim`` is the one keras.applications' ConvNeXt ``LayerScale`` uses,
    so both read back as the same layer kind.
    """

    def __init__(self, projection_dim, init_values=1e-6, **kwargs):
        super().__init__(**kwargs)
        self.projection_dim = int(projection_dim)
        self.init_values = float(init_values)

    def build(self, input_shape):
        self.gamma = self.add_weight(shape=(self.projection_dim,), initializer=keras.initializers.Constant(self.init_values), name="gamma")

    def call(self, x):
        return x * self.gamma

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "projection_dim": self.projection_dim, "init_values": self.init_values}


@keras.saving.register_keras_serializable(package="cnncalc")
class ScaledAdd(keras.layers.Layer):
    """``x + scale * r`` of two inputs (InceptionResNetV2's residual scaling, Szegedy et al. 2017, sec. 3.3)."""

    def __init__(self, scale=1.0, **kwargs):
        super().__init__(**kwargs)
        self.scale = float(scale)

    def call(self, inputs):
        x, r = inputs
        return x + r * self.scale

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        return {**super().get_config(), "scale": self.scale}


@keras.saving.register_keras_serializable(package="cnncalc")
class MatMul(keras.layers.Layer):
    """``a @ b`` of two tensors (``keras.ops.matmul``: batched over the leading axes)."""

    def call(self, inputs):
        a, b = inputs
        return ops.matmul(a, b)

    def compute_output_shape(self, input_shape):
        a, b = input_shape
        return (*a[:-1], b[-1])


@keras.saving.register_keras_serializable(package="cnncalc")
class Einsum(keras.layers.Layer):
    """``keras.ops.einsum(equation, a, b)`` of two tensors (batch index included)."""

    def __init__(self, equation, **kwargs):
        super().__init__(**kwargs)
        self.equation = str(equation)

    def call(self, inputs):
        return ops.einsum(self.equation, *inputs)

    def get_config(self):
        return {**super().get_config(), "equation": self.equation}


def _index(rank, axis, item):
    """An index tuple that applies ``item`` to per-sample axis ``axis`` of a batched tensor."""
    axis = axis % (rank - 1) + 1
    return (slice(None),) * axis + (item,)


@keras.saving.register_keras_serializable(package="cnncalc")
class SliceAxis(keras.layers.Layer):
    """``x[..., start:stop:step, ...]`` along one per-sample axis."""

    def __init__(self, axis=-1, start=0, stop=None, step=1, **kwargs):
        super().__init__(**kwargs)
        self.axis, self.start, self.stop, self.step = int(axis), int(start), None if stop is None else int(stop), int(step)

    def call(self, x):
        return x[_index(len(x.shape), self.axis, slice(self.start, self.stop, self.step))]

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "start": self.start, "stop": self.stop, "step": self.step}


@keras.saving.register_keras_serializable(package="cnncalc")
class TakeAxis(keras.layers.Layer):
    """``x[..., index, ...]`` along one per-sample axis (the axis dropped)."""

    def __init__(self, axis=0, index=0, **kwargs):
        super().__init__(**kwargs)
        self.axis, self.index = int(axis), int(index)

    def call(self, x):
        return x[_index(len(x.shape), self.axis, self.index)]

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "index": self.index}


@keras.saving.register_keras_serializable(package="cnncalc")
class Tile(keras.layers.Layer):
    """The tensor repeated ``repeats[i]`` times along per-sample axis ``i``."""

    def __init__(self, repeats=(), **kwargs):
        super().__init__(**kwargs)
        self.repeats = tuple(int(r) for r in repeats)

    def call(self, x):
        return ops.tile(x, (1, *self.repeats))

    def get_config(self):
        return {**super().get_config(), "repeats": self.repeats}


@keras.saving.register_keras_serializable(package="cnncalc")
class Learned(keras.layers.Layer):
    """``x <function> w`` with a learned ``w`` of per-sample ``shape`` (a position embedding, a bias)."""

    def __init__(self, function="add", shape=(), **kwargs):
        super().__init__(**kwargs)
        self.function = str(function)
        self.shape = tuple(int(v) for v in shape)

    def build(self, input_shape):
        self.w = self.add_weight(shape=self.shape, initializer="zeros" if self.function in ("add", "sub") else "ones", name="w")

    def call(self, x):
        return {"add": ops.add, "sub": ops.subtract, "mul": ops.multiply, "div": ops.divide}[self.function](x, self.w)

    def get_config(self):
        return {**super().get_config(), "function": self.function, "shape": self.shape}


@keras.saving.register_keras_serializable(package="cnncalc")
class ClassToken(keras.layers.Layer):
    """``tokens`` learned vectors prepended along per-sample axis ``axis`` (a ViT's class token)."""

    def __init__(self, tokens=1, axis=0, **kwargs):
        super().__init__(**kwargs)
        self.tokens, self.axis = int(tokens), int(axis)

    def build(self, input_shape):
        shape = list(input_shape[1:])
        shape[self.axis] = self.tokens
        self.token = self.add_weight(shape=tuple(shape), initializer="zeros", name="token")

    def call(self, x):
        batch = ops.shape(x)[0]
        token = ops.broadcast_to(ops.expand_dims(self.token, 0), (batch, *self.token.shape))
        return ops.concatenate([token, x], axis=self.axis % (len(x.shape) - 1) + 1)

    def get_config(self):
        return {**super().get_config(), "tokens": self.tokens, "axis": self.axis}


@keras.saving.register_keras_serializable(package="cnncalc")
class Reduce(keras.layers.Layer):
    """``function`` over per-sample ``axes`` (mean, sum, max, min, prod, l1, l2, ...)."""

    def __init__(self, function="mean", axes=(-1,), keepdims=True, **kwargs):
        super().__init__(**kwargs)
        self.function, self.axes, self.keepdims = str(function), tuple(int(a) for a in axes), bool(keepdims)

    def call(self, x):
        rank = len(x.shape)
        axes = tuple(a % (rank - 1) + 1 for a in self.axes)
        k = self.keepdims
        f = self.function
        if f == "l2":
            return ops.sqrt(ops.sum(ops.square(x), axis=axes, keepdims=k))
        if f == "l1":
            return ops.sum(ops.abs(x), axis=axes, keepdims=k)
        if f == "sum_square":
            return ops.sum(ops.square(x), axis=axes, keepdims=k)
        if f == "log_sum":
            return ops.log(ops.sum(x, axis=axes, keepdims=k))
        if f == "log_sum_exp":
            return ops.logsumexp(x, axis=axes, keepdims=k)
        return {"mean": ops.mean, "sum": ops.sum, "max": ops.max, "min": ops.min, "prod": ops.prod}[f](x, axis=axes, keepdims=k)

    def get_config(self):
        return {**super().get_config(), "function": self.function, "axes": self.axes, "keepdims": self.keepdims}


CUSTOM_OBJECTS = {
    "LocalResponseNormalization": LocalResponseNormalization,
    "ZeroPaddedShortcut": ZeroPaddedShortcut,
    "ConstantPadding2D": ConstantPadding2D,
    "Subsample2D": Subsample2D,
    "LayerScale": LayerScale,
    "ScaledAdd": ScaledAdd,
    "MatMul": MatMul,
    "Einsum": Einsum,
    "SliceAxis": SliceAxis,
    "TakeAxis": TakeAxis,
    "Tile": Tile,
    "Learned": Learned,
    "ClassToken": ClassToken,
    "Reduce": Reduce,
}
"""The custom layers, for ``keras.models.load_model(path, custom_objects=CUSTOM_OBJECTS)``."""
