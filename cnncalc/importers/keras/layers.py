"""The class table: Keras layer class -> builder of the spec layer (:data:`CLASSES`).

Each builder takes the layer's config and the per-sample ranks of its inputs (where the config
records them) and returns an unnamed layer; the graph walk (:mod:`.graph`) names it and wires it.
docs/import.md lists the table.
"""

from __future__ import annotations

from ... import kinds
from .values import ConfigError, activation_name, axes, channels_last, count, flag, integer, last_axis_only, number, one_or_pair, padding_mode, sample_axis, shown, sides, text

_RELU_NAMES = {6.0: "relu6"}

_ACTIVATION_ALIASES = {"swish": "silu", "hard_swish": "hard_silu"}


def _window(cfg) -> dict:
    """The arguments every convolution shares: kernel, strides, padding, dilation, bias."""
    channels_last(cfg)
    return {
        "kernel": one_or_pair(cfg, "kernel_size"),
        "stride": one_or_pair(cfg, "strides", 1),
        "padding": padding_mode(cfg),
        "dilation": one_or_pair(cfg, "dilation_rate", 1),
        "bias": flag(cfg, "use_bias", True),
    }


def _conv(cfg, ranks):
    return kinds.Conv2D(count(cfg, "filters"), groups=count(cfg, "groups", 1), **_window(cfg))


def _depthwise(cfg, ranks):
    return kinds.DepthwiseConv2D(multiplier=count(cfg, "depth_multiplier", 1), **_window(cfg))


def _separable(cfg, ranks):
    return kinds.SeparableConv2D(count(cfg, "filters"), multiplier=count(cfg, "depth_multiplier", 1), **_window(cfg))


def _transpose(cfg, ranks):
    out_pad = None if cfg.get("output_padding") is None else one_or_pair(cfg, "output_padding", minimum=0)
    return kinds.Conv2DTranspose(count(cfg, "filters"), output_padding=out_pad, **_window(cfg))


def _dense(cfg, ranks):
    # Keras' Dense acts on the last axis of any rank (ConvNeXt's pointwise layers); on a vector it
    # is the ordinary dense layer. Keras 3 records the input's shape; Keras 2 configs do not.
    on_last_axis = not ranks or ranks[0] > 1
    return kinds.Dense(count(cfg, "units"), bias=flag(cfg, "use_bias", True), **({"last_axis": True} if on_last_axis else {}))


def _batchnorm(cfg, ranks):
    last_axis_only(cfg, ranks[0] if ranks else 3, "BatchNormalization")
    return kinds.BatchNorm(
        epsilon=number(cfg, "epsilon", 1e-3),
        momentum=number(cfg, "momentum", 0.99),
        center=flag(cfg, "center", True),
        scale=flag(cfg, "scale", True),
    )


def _layernorm(cfg, ranks):
    rank = ranks[0] if ranks else 3
    rms = flag(cfg, "rms_scaling", False)
    return kinds.LayerNorm(
        axis=tuple(sorted(sample_axis(a, rank) for a in axes(cfg))),
        center=flag(cfg, "center", True) and not rms,
        scale=flag(cfg, "scale", True),
    )


def _normalization(cfg, ranks):
    last_axis_only(cfg, ranks[0] if ranks else 3, "Normalization")
    return kinds.Normalization(adapted=cfg.get("mean") is None or cfg.get("variance") is None)


def _pool(cls):
    def build(cfg, ranks):
        channels_last(cfg)
        kernel = one_or_pair(cfg, "pool_size", 2)
        stride = kernel if cfg.get("strides") is None else one_or_pair(cfg, "strides")
        return cls(kernel=kernel, stride=stride, padding=padding_mode(cfg))

    return build


def _global(cls):
    def build(cfg, ranks):
        channels_last(cfg)
        return cls(keepdims=flag(cfg, "keepdims", False))

    return build


def _token_pool(function):
    """Keras' GlobalAveragePooling1D / GlobalMaxPooling1D: a reduction over the steps (tokens)."""

    def build(cfg, ranks):
        channels_last(cfg)
        return kinds.Reduce(function, axes=(-2,), keepdims=flag(cfg, "keepdims", False))

    return build


def _concat(cfg, ranks):
    axis = integer(-1 if cfg.get("axis") is None else cfg["axis"], "axis")
    return kinds.Concat(axis=sample_axis(axis, ranks[0] if ranks else 3))


def _activation(cfg, ranks):
    name = activation_name(cfg.get("activation", "linear"))
    return kinds.Activation(_ACTIVATION_ALIASES.get(name, name))


def _relu(cfg, ranks):
    max_value = None if cfg.get("max_value") is None else number(cfg, "max_value")
    slope = number(cfg, "negative_slope", 0.0)
    if slope:
        return kinds.Activation("leaky_relu")
    return kinds.Activation(_RELU_NAMES.get(max_value, "relu"))


def _dropout(cfg, ranks):
    return kinds.Dropout(number(cfg, "rate", 0.5))


def _reshape(cfg, ranks):
    target = cfg.get("target_shape")
    if not isinstance(target, (list, tuple)) or not target:
        raise ConfigError(f"'target_shape' must be a list of sizes, got {shown(target)}")
    sizes = tuple(integer(v, "target_shape", minimum=-1) for v in target)
    if 0 in sizes or sizes.count(-1) > 1:
        raise ConfigError(f"'target_shape' {list(sizes)}: sizes are positive, with at most one -1")
    return kinds.Reshape(sizes)


def _cropping(cfg, ranks):
    channels_last(cfg)
    return kinds.Cropping2D(sides(cfg, "cropping", 0))


def _zero_padding(cfg, ranks):
    channels_last(cfg)
    return kinds.ZeroPadding2D(sides(cfg, "padding", 1))


def _numbers(cfg, key, default):
    """A number or a list of numbers (Rescaling's per-channel scale)."""
    value = cfg.get(key)
    if isinstance(value, list):
        return tuple(number({key: v}, key) for v in value)
    return number(cfg, key, default)


def _rescaling(cfg, ranks):
    return kinds.Rescaling(scale=_numbers(cfg, "scale", 1.0), offset=_numbers(cfg, "offset", 0.0))


def _attention_axes(cfg, ranks):
    """``attention_axes`` (Keras' axes, batch included; ``None``: every axis but the features) as
    negative axes of the query's per-sample shape."""
    value = cfg.get("attention_axes")
    if value is None:
        return None
    if not ranks:
        raise ConfigError("'attention_axes' needs the query's recorded shape (a Keras 3 config records it)")
    values = value if isinstance(value, (list, tuple)) else [value]
    return tuple(sample_axis(integer(a, "attention_axes"), ranks[0]) for a in values)


def _output_shape(cfg):
    value = cfg.get("output_shape")
    if value is None:
        return ()
    values = value if isinstance(value, (list, tuple)) else [value]
    return tuple(integer(v, "output_shape", minimum=1) for v in values)


def _multi_head_attention(cfg, ranks):
    return kinds.MultiHeadAttention(
        heads=count(cfg, "num_heads"),
        key_dim=count(cfg, "key_dim"),
        value_dim=None if cfg.get("value_dim") is None else count(cfg, "value_dim"),
        output_shape=_output_shape(cfg),
        attention_axes=_attention_axes(cfg, ranks),
        bias=flag(cfg, "use_bias", True),
        gate=flag(cfg, "use_gate", False),
        dropout=number(cfg, "dropout", 0.0),
    )


def _dot_attention(cfg, ranks):
    mode = text(cfg, "score_mode", "dot")
    if mode not in ("dot", "concat"):
        raise ConfigError(f"score_mode '{mode}' is not dot or concat")
    return kinds.Attention(use_scale=flag(cfg, "use_scale", False), score_mode=mode, dropout=number(cfg, "dropout", 0.0))


def _additive_attention(cfg, ranks):
    return kinds.AdditiveAttention(use_scale=flag(cfg, "use_scale", True), dropout=number(cfg, "dropout", 0.0))


def _flatten(cfg, ranks):
    channels_last(cfg)
    return kinds.Flatten()


CLASSES = {
    "Conv2D": _conv,
    "Convolution2D": _conv,
    "DepthwiseConv2D": _depthwise,
    "SeparableConv2D": _separable,
    "SeparableConvolution2D": _separable,
    "Conv2DTranspose": _transpose,
    "Convolution2DTranspose": _transpose,
    "Dense": _dense,
    "BatchNormalization": _batchnorm,
    "LayerNormalization": _layernorm,
    "Normalization": _normalization,
    "ZeroPadding2D": _zero_padding,
    "Cropping2D": _cropping,
    "MaxPooling2D": _pool(kinds.MaxPool2D),
    "MaxPool2D": _pool(kinds.MaxPool2D),
    "AveragePooling2D": _pool(kinds.AvgPool2D),
    "AvgPool2D": _pool(kinds.AvgPool2D),
    "GlobalAveragePooling2D": _global(kinds.GlobalAvgPool2D),
    "GlobalAvgPool2D": _global(kinds.GlobalAvgPool2D),
    "GlobalMaxPooling2D": lambda cfg, ranks: _global(kinds.GlobalMaxPool2D)(cfg, ranks),
    "GlobalMaxPool2D": lambda cfg, ranks: _global(kinds.GlobalMaxPool2D)(cfg, ranks),
    "GlobalAveragePooling1D": _token_pool("mean"),  # over tokens: T x C -> C
    "GlobalAvgPool1D": _token_pool("mean"),
    "GlobalMaxPooling1D": _token_pool("max"),
    "GlobalMaxPool1D": _token_pool("max"),
    "MultiHeadAttention": _multi_head_attention,
    "Attention": _dot_attention,
    "AdditiveAttention": _additive_attention,
    "Flatten": _flatten,
    "Reshape": _reshape,
    "Add": lambda cfg, ranks: kinds.Add(),
    "Multiply": lambda cfg, ranks: kinds.Multiply(),
    "Concatenate": _concat,
    "Activation": _activation,
    "ReLU": _relu,
    "LeakyReLU": lambda cfg, ranks: kinds.Activation("leaky_relu"),
    "ELU": lambda cfg, ranks: kinds.Activation("elu"),
    "Softmax": lambda cfg, ranks: kinds.Activation("softmax"),
    "Identity": lambda cfg, ranks: kinds.Activation("linear"),
    "Dropout": _dropout,
    "SpatialDropout2D": _dropout,
    "Rescaling": _rescaling,
    "LayerScale": lambda cfg, ranks: kinds.LayerScale(count(cfg, "projection_dim")),
    "CustomScaleLayer": lambda cfg, ranks: kinds.ScaledAdd(number(cfg, "scale", 1.0)),
    "ScaledAdd": lambda cfg, ranks: kinds.ScaledAdd(number(cfg, "scale", 1.0)),
    # cnncalc's own custom layers (cnncalc.keras_layers), so to_keras -> from_keras comes back.
    "LocalResponseNormalization": lambda cfg, ranks: kinds.LRN(
        count(cfg, "depth_radius", 2, minimum=0), number(cfg, "bias", 2.0), number(cfg, "alpha", 1e-4), number(cfg, "beta", 0.75)
    ),
    "ZeroPaddedShortcut": lambda cfg, ranks: kinds.PadShortcut(count(cfg, "filters"), count(cfg, "stride", 2)),
    "ConstantPadding2D": lambda cfg, ranks: kinds.ZeroPadding2D(sides(cfg, "padding", 0)),
    "Subsample2D": lambda cfg, ranks: kinds.MaxPool2D(kernel=1, stride=one_or_pair(cfg, "strides", 2)),
}
"""Keras class name -> builder of the spec layer (``cfg`` is the layer's config, ``ranks`` the
per-sample ranks of its inputs where the config records them)."""

INPUT_CLASSES = ("InputLayer",)

