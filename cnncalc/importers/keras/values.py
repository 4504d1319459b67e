"""Config values: Keras' ``kernel_size``, ``padding``, ``axis``, ... as the layer kinds take them."""

from __future__ import annotations

from ..errors import KerasImportError


def pair(value, what="value"):
    if isinstance(value, (list, tuple)):
        if len(value) == 1:
            return (int(value[0]), int(value[0]))
        return (int(value[0]), int(value[1]))
    return (int(value), int(value))


def one_or_pair(value):
    h, w = pair(value)
    return h if h == w else (h, w)


def sides(value):
    """Keras' ZeroPadding2D/Cropping2D argument as ``((top, bottom), (left, right))``."""
    if isinstance(value, (list, tuple)):
        if len(value) == 2 and all(isinstance(v, (list, tuple)) for v in value):
            return tuple(pair(v) for v in value)
        if len(value) == 2:
            h, w = int(value[0]), int(value[1])
            return ((h, h), (w, w))
        if len(value) == 1:
            value = value[0]
    n = int(value)
    return ((n, n), (n, n))


def padding_mode(cfg):
    padding = str(cfg.get("padding", "valid")).lower()
    if padding not in ("same", "valid"):
        raise KerasImportError(f"layer '{cfg.get('name')}': padding '{padding}' is not supported (same or valid)")
    return padding


def channels_last(cfg, rank=3):
    fmt = cfg.get("data_format") or "channels_last"
    if fmt != "channels_last":
        raise KerasImportError(f"layer '{cfg.get('name')}': data_format '{fmt}' is not supported: cnncalc reads channels_last models")


def sample_axis(axis, rank):
    """A Keras axis (batch included) as a negative axis of the per-sample shape."""
    axis = int(axis)
    if axis == 0:
        raise KerasImportError("axis 0 is the batch axis")
    return axis - rank - 1 if axis > 0 else axis


def last_axis_only(cfg, rank, what):
    axes = cfg.get("axis", -1)
    axes = axes if isinstance(axes, (list, tuple)) else [axes]
    if [sample_axis(a, rank) for a in axes] != [-1]:
        raise KerasImportError(f"layer '{cfg.get('name')}' ({what}): only the last (channels) axis is supported, got axis={cfg.get('axis')}")


_RELU_NAMES = {6.0: "relu6"}

_ACTIVATION_ALIASES = {"swish": "silu", "hard_swish": "hard_silu"}


def activation_name(name):
    if isinstance(name, dict):  # a serialised activation function
        name = name.get("config", name.get("class_name", "?"))
        if isinstance(name, dict):
            name = name.get("name", "?")
    return str(name)

