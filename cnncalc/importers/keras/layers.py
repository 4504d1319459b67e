"""The class table: Keras layer class -> builder of the spec layer (:data:`CLASSES`).

Each builder takes the layer's config and the per-sample ranks of its inputs (where the config
records them) and returns an unnamed layer; the graph walk (:mod:`.graph`) names it and wires it.
docs/import.md lists the table.
"""

from __future__ import annotations

from ... import kinds
from .values import activation_name, channels_last, last_axis_only, one_or_pair, padding_mode, sample_axis, sides


_RELU_NAMES = {6.0: "relu6"}

_ACTIVATION_ALIASES = {"swish": "silu", "hard_swish": "hard_silu"}


def _conv(cfg, ranks):
    channels_last(cfg)
    return kinds.Conv2D(
        int(cfg["filters"]),
        kernel=one_or_pair(cfg["kernel_size"]),
        stride=one_or_pair(cfg.get("strides", 1)),
        padding=padding_mode(cfg),
        dilation=one_or_pair(cfg.get("dilation_rate", 1)),
        groups=int(cfg.get("groups", 1) or 1),
        bias=bool(cfg.get("use_bias", True)),
    )


def _depthwise(cfg, ranks):
    channels_last(cfg)
    return kinds.DepthwiseConv2D(
        kernel=one_or_pair(cfg["kernel_size"]),
        stride=one_or_pair(cfg.get("strides", 1)),
        padding=padding_mode(cfg),
        dilation=one_or_pair(cfg.get("dilation_rate", 1)),
        multiplier=int(cfg.get("depth_multiplier", 1)),
        bias=bool(cfg.get("use_bias", True)),
    )


def _separable(cfg, ranks):
    channels_last(cfg)
    return kinds.SeparableConv2D(
        int(cfg["filters"]),
        kernel=one_or_pair(cfg["kernel_size"]),
        stride=one_or_pair(cfg.get("strides", 1)),
        padding=padding_mode(cfg),
        dilation=one_or_pair(cfg.get("dilation_rate", 1)),
        multiplier=int(cfg.get("depth_multiplier", 1)),
        bias=bool(cfg.get("use_bias", True)),
    )


def _transpose(cfg, ranks):
    channels_last(cfg)
    out_pad = cfg.get("output_padding")
    return kinds.Conv2DTranspose(
        int(cfg["filters"]),
        kernel=one_or_pair(cfg["kernel_size"]),
        stride=one_or_pair(cfg.get("strides", 1)),
        padding=padding_mode(cfg),
        output_padding=None if out_pad is None else one_or_pair(out_pad),
        dilation=one_or_pair(cfg.get("dilation_rate", 1)),
        bias=bool(cfg.get("use_bias", True)),
    )


def _dense(cfg, ranks):
    # Keras' Dense acts on the last axis of any rank (ConvNeXt's pointwise layers); on a vector it
    # is the ordinary dense layer. Keras 3 records the input's shape; Keras 2 configs do not.
    on_last_axis = not ranks or ranks[0] > 1
    return kinds.Dense(int(cfg["units"]), bias=bool(cfg.get("use_bias", True)), **({"last_axis": True} if on_last_axis else {}))


def _batchnorm(cfg, ranks):
    last_axis_only(cfg, ranks[0] if ranks else 3, "BatchNormalization")
    return kinds.BatchNorm(
        epsilon=float(cfg.get("epsilon", 1e-3)),
        momentum=float(cfg.get("momentum", 0.99)),
        center=bool(cfg.get("center", True)),
        scale=bool(cfg.get("scale", True)),
    )


def _layernorm(cfg, ranks):
    rank = ranks[0] if ranks else 3
    axes = cfg.get("axis", -1)
    axes = axes if isinstance(axes, (list, tuple)) else [axes]
    rms = bool(cfg.get("rms_scaling", False))
    return kinds.LayerNorm(
        axis=tuple(sorted(sample_axis(a, rank) for a in axes)),
        center=bool(cfg.get("center", True)) and not rms,
        scale=bool(cfg.get("scale", True)),
    )


def _normalization(cfg, ranks):
    last_axis_only(cfg, ranks[0] if ranks else 3, "Normalization")
    return kinds.Normalization(adapted=cfg.get("mean") is None or cfg.get("variance") is None)


def _pool(cls):
    def build(cfg, ranks):
        channels_last(cfg)
        kernel = one_or_pair(cfg.get("pool_size", 2))
        strides = cfg.get("strides")
        return cls(kernel=kernel, stride=kernel if strides is None else one_or_pair(strides), padding=padding_mode(cfg))

    return build


def _global(cls):
    def build(cfg, ranks):
        channels_last(cfg)
        return cls(keepdims=bool(cfg.get("keepdims", False)))

    return build


def _concat(cfg, ranks):
    return kinds.Concat(axis=sample_axis(cfg.get("axis", -1), ranks[0] if ranks else 3))


def _activation(cfg, ranks):
    name = activation_name(cfg.get("activation", "linear"))
    return kinds.Activation(_ACTIVATION_ALIASES.get(name, name))


def _relu(cfg, ranks):
    max_value = cfg.get("max_value")
    slope = float(cfg.get("negative_slope", 0.0) or 0.0)
    if slope:
        return kinds.Activation("leaky_relu")
    return kinds.Activation(_RELU_NAMES.get(None if max_value is None else float(max_value), "relu"))


def _dropout(cfg, ranks):
    return kinds.Dropout(float(cfg.get("rate", 0.5)))


def _reshape(cfg, ranks):
    return kinds.Reshape(tuple(int(v) for v in cfg["target_shape"]))


def _cropping(cfg, ranks):
    channels_last(cfg)
    return kinds.Cropping2D(sides(cfg.get("cropping", 0)))


def _zero_padding(cfg, ranks):
    channels_last(cfg)
    return kinds.ZeroPadding2D(sides(cfg.get("padding", 1)))


def _rescaling(cfg, ranks):
    scale, offset = cfg.get("scale", 1.0), cfg.get("offset", 0.0)
    return kinds.Rescaling(scale=scale if not isinstance(scale, list) else tuple(scale), offset=offset if not isinstance(offset, list) else tuple(offset))


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
    "LayerScale": lambda cfg, ranks: kinds.LayerScale(int(cfg["projection_dim"])),
    "CustomScaleLayer": lambda cfg, ranks: kinds.ScaledAdd(float(cfg.get("scale", 1.0))),
    "ScaledAdd": lambda cfg, ranks: kinds.ScaledAdd(float(cfg.get("scale", 1.0))),
    # cnncalc's own custom layers (cnncalc.keras_layers), so to_keras -> from_keras comes back.
    "LocalResponseNormalization": lambda cfg, ranks: kinds.LRN(
        int(cfg.get("depth_radius", 2)), float(cfg.get("bias", 2.0)), float(cfg.get("alpha", 1e-4)), float(cfg.get("beta", 0.75))
    ),
    "ZeroPaddedShortcut": lambda cfg, ranks: kinds.PadShortcut(int(cfg["filters"]), int(cfg.get("stride", 2))),
    "ConstantPadding2D": lambda cfg, ranks: kinds.ZeroPadding2D(sides(cfg.get("padding", 0))),
    "Subsample2D": lambda cfg, ranks: kinds.MaxPool2D(kernel=1, stride=one_or_pair(cfg.get("strides", 2))),
}
"""Keras class name -> builder of the spec layer (``cfg`` is the layer's config, ``ranks`` the
per-sample ranks of its inputs where the config records them)."""

INPUT_CLASSES = ("InputLayer",)

