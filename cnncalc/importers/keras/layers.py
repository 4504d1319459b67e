"""The class table: Keras layer class -> builder of the spec layer (:data:`CLASSES`).

Each builder takes the layer's config and the per-sample ranks of its inputs (where the config
records them) and returns an unnamed layer; the graph walk (:mod:`.graph`) names it and wires it.
docs/import.md lists the table.
"""

from __future__ import annotations

from ... import kinds
from .values import ConfigError, activation_name, axes, channels_last, count, flag, integer, last_axis_only, number, padding_mode, sample_axis, shown, spatial, spatial_sides, text

_RELU_NAMES = {6.0: "relu6"}

_ACTIVATION_ALIASES = {"swish": "silu", "hard_swish": "hard_silu"}


def _window(cfg, n: int = 2, causal: bool = False) -> dict:
    """The arguments every convolution over ``n`` spatial axes shares: kernel, strides, padding
    (``causal`` too for Keras' Conv1D), dilation, bias."""
    channels_last(cfg)
    return {
        "kernel": spatial(cfg, "kernel_size", n),
        "stride": spatial(cfg, "strides", n, 1),
        "padding": padding_mode(cfg, causal),
        "dilation": spatial(cfg, "dilation_rate", n, 1),
        "bias": flag(cfg, "use_bias", True),
    }


# Kinds are looked up by name when a layer is built (each family loads on first use).


def _conv(n):
    def build(cfg, ranks):
        return getattr(kinds, f"Conv{n}D")(count(cfg, "filters"), groups=count(cfg, "groups", 1), **_window(cfg, n, causal=n == 1))

    return build


def _depthwise(n):
    def build(cfg, ranks):
        return getattr(kinds, f"DepthwiseConv{n}D")(multiplier=count(cfg, "depth_multiplier", 1), **_window(cfg, n))

    return build


def _separable(n):
    def build(cfg, ranks):
        return getattr(kinds, f"SeparableConv{n}D")(count(cfg, "filters"), multiplier=count(cfg, "depth_multiplier", 1), **_window(cfg, n))

    return build


def _transpose(n):
    def build(cfg, ranks):
        out_pad = None if cfg.get("output_padding") is None else spatial(cfg, "output_padding", n, minimum=0)
        return getattr(kinds, f"Conv{n}DTranspose")(count(cfg, "filters"), output_padding=out_pad, **_window(cfg, n))

    return build


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


def _pool(kind, n):
    def build(cfg, ranks):
        channels_last(cfg)
        kernel = spatial(cfg, "pool_size", n, 2)
        stride = kernel if cfg.get("strides") is None else spatial(cfg, "strides", n)
        return getattr(kinds, f"{kind}{n}D")(kernel=kernel, stride=stride, padding=padding_mode(cfg))

    return build


def _global(kind, n):
    def build(cfg, ranks):
        channels_last(cfg)
        return getattr(kinds, f"{kind}{n}D")(keepdims=flag(cfg, "keepdims", False))

    return build


def _upsampling(n):
    """Keras' UpSampling1D/2D/3D: each step, row or slice repeated ``size`` times (2-D: nearest or
    bilinear interpolation)."""

    def build(cfg, ranks):
        channels_last(cfg)
        key = "size"
        scale = spatial(cfg, key, n, 2)
        mode = text(cfg, "interpolation", "nearest") if n == 2 else "nearest"
        if mode not in ("nearest", "bilinear", "bicubic", "area"):
            raise ConfigError(f"interpolation '{mode}' is not one cnncalc reads (nearest, bilinear, bicubic, area)")
        return kinds.Resize(scale=scale, mode=mode)

    return build


def _concat(cfg, ranks):
    axis = integer(-1 if cfg.get("axis") is None else cfg["axis"], "axis")
    return kinds.Concat(axis=sample_axis(axis, ranks[0] if ranks else 3))


def _activation(cfg, ranks):
    name = activation_name(cfg.get("activation", "linear"))
    return kinds.Activation(_ACTIVATION_ALIASES.get(name, name))


def _prelu(cfg, ranks):
    """Keras' ``PReLU``: ``shared_axes`` (batch included, as Keras writes them) one slope each."""
    rank = ranks[0] if ranks else 3
    shared = [] if cfg.get("shared_axes") is None else axes(cfg, "shared_axes")
    return kinds.PReLU(shared=tuple(sorted({sample_axis(a, rank) % rank for a in shared})))


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


def _cropping(n):
    def build(cfg, ranks):
        channels_last(cfg)
        return getattr(kinds, f"Cropping{n}D")(spatial_sides(cfg, "cropping", n, 0))

    return build


def _zero_padding(n):
    def build(cfg, ranks):
        channels_last(cfg)
        return getattr(kinds, f"ZeroPadding{n}D")(spatial_sides(cfg, "padding", n, 1))

    return build


def _axes_of(cfg, key) -> int:
    """How many spatial axes a bridge helper's list argument covers (one entry per axis; 2 when
    it is one value)."""
    value = cfg.get(key)
    n = len(value) if isinstance(value, (list, tuple)) else 2
    if n not in (1, 2, 3):
        raise ConfigError(f"'{key}' must have one entry per spatial axis (1, 2 or 3), got {shown(value)}")
    return n


def _constant_padding(cfg):
    """cnncalc's ConstantPadding2D (the bridge's -inf padding before a max pool): one
    ``(before, after)`` per spatial axis."""
    n = _axes_of(cfg, "padding")
    value = cfg.get("padding")
    if n == 1 and isinstance(value, (list, tuple)) and isinstance(value[0], (list, tuple)):
        cfg = {**cfg, "padding": list(value[0])}
    return getattr(kinds, f"ZeroPadding{n}D")(spatial_sides(cfg, "padding", n, 0))


def _subsample(cfg):
    """cnncalc's Subsample2D (the bridge's strided dilated convolution): one stride per spatial axis."""
    n = _axes_of(cfg, "strides")
    return getattr(kinds, f"MaxPool{n}D")(kernel=1, stride=spatial(cfg, "strides", n, 2))


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
    "Dense": _dense,
    "BatchNormalization": _batchnorm,
    "LayerNormalization": _layernorm,
    "Normalization": _normalization,
}
# The convolutions, pools, paddings and upsamplings over 1, 2 and 3 spatial axes (Keras 3's names
# and the Keras 2 aliases); DepthwiseConv and SeparableConv exist in 1-D and 2-D only.
for _n in (1, 2, 3):
    CLASSES |= {
        f"Conv{_n}D": _conv(_n),
        f"Convolution{_n}D": _conv(_n),
        f"Conv{_n}DTranspose": _transpose(_n),
        f"Convolution{_n}DTranspose": _transpose(_n),
        f"ZeroPadding{_n}D": _zero_padding(_n),
        f"Cropping{_n}D": _cropping(_n),
        f"UpSampling{_n}D": _upsampling(_n),
        f"MaxPooling{_n}D": _pool("MaxPool", _n),
        f"MaxPool{_n}D": _pool("MaxPool", _n),
        f"AveragePooling{_n}D": _pool("AvgPool", _n),
        f"AvgPool{_n}D": _pool("AvgPool", _n),
        f"GlobalAveragePooling{_n}D": _global("GlobalAvgPool", _n),
        f"GlobalAvgPool{_n}D": _global("GlobalAvgPool", _n),
        f"GlobalMaxPooling{_n}D": _global("GlobalMaxPool", _n),
        f"GlobalMaxPool{_n}D": _global("GlobalMaxPool", _n),
    }
for _n in (1, 2):
    CLASSES |= {
        f"DepthwiseConv{_n}D": _depthwise(_n),
        f"SeparableConv{_n}D": _separable(_n),
        f"SeparableConvolution{_n}D": _separable(_n),
    }
CLASSES |= {
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
    "PReLU": _prelu,
    "ELU": lambda cfg, ranks: kinds.Activation("elu"),
    "Softmax": lambda cfg, ranks: kinds.Activation("softmax"),
    "Identity": lambda cfg, ranks: kinds.Activation("linear"),
    "Dropout": _dropout,
    "SpatialDropout1D": _dropout,
    "SpatialDropout2D": _dropout,
    "SpatialDropout3D": _dropout,
    "Rescaling": _rescaling,
    "LayerScale": lambda cfg, ranks: kinds.LayerScale(count(cfg, "projection_dim")),
    "CustomScaleLayer": lambda cfg, ranks: kinds.ScaledAdd(number(cfg, "scale", 1.0)),
    "ScaledAdd": lambda cfg, ranks: kinds.ScaledAdd(number(cfg, "scale", 1.0)),
    # cnncalc's own custom layers (cnncalc.keras_layers), so to_keras -> from_keras comes back.
    "LocalResponseNormalization": lambda cfg, ranks: kinds.LRN(
        count(cfg, "depth_radius", 2, minimum=0), number(cfg, "bias", 2.0), number(cfg, "alpha", 1e-4), number(cfg, "beta", 0.75)
    ),
    "ZeroPaddedShortcut": lambda cfg, ranks: kinds.PadShortcut(count(cfg, "filters"), count(cfg, "stride", 2)),
    "ConstantPadding2D": lambda cfg, ranks: _constant_padding(cfg),
    "Subsample2D": lambda cfg, ranks: _subsample(cfg),
}
"""Keras class name -> builder of the spec layer (``cfg`` is the layer's config, ``ranks`` the
per-sample ranks of its inputs where the config records them)."""

INPUT_CLASSES = ("InputLayer",)

