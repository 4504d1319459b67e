"""Config values: Keras' ``filters``, ``kernel_size``, ``padding``, ``axis``, ... read strictly.

A config is data from a file, so each value is checked for what it is, never coerced: a count is a
JSON integer (``2.7``, ``true``, ``"32"``, ``Infinity`` and ``10**400`` are errors, not 2, 1, 32
or an overflow), in range (``groups: 0`` is an error, not 1), and a flag is a JSON boolean. Each
reader raises :class:`ConfigError` naming the key; the graph walk adds the layer
("layer 'conv1' (Conv2D): 'filters' must be a positive integer, got 2.7").
"""

from __future__ import annotations

import math

from ..errors import KerasImportError
from ..limits import MAX_CONFIG_INTEGER, limit_text

REQUIRED = object()
"""The default of a key the config must have."""


class ConfigError(KerasImportError):
    """A config value of the wrong type or range; the message names the key (not yet the layer)."""


def shown(value) -> str:
    """A config value as an error quotes it (short, one line)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int) and abs(value) >= 10**18:
        return f"an integer of {len(str(abs(value)))} digits"
    text = repr(value) if not isinstance(value, float) else (str(value) if math.isfinite(value) else {math.inf: "Infinity", -math.inf: "-Infinity"}.get(value, "NaN"))
    return text if len(text) <= 60 else text[:57] + "..."


def _get(cfg, key, default):
    if key in cfg and cfg[key] is not None:
        return cfg[key]
    if default is REQUIRED:
        raise ConfigError(f"the config has no '{key}'")
    return default


def integer(value, key: str, *, minimum: int | None = None):
    """``value`` as a JSON integer (not a bool, float or string) at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"'{key}' must be an integer, got {shown(value)}")
    if minimum is not None and value < minimum:
        what = "positive" if minimum == 1 else "at least 0" if minimum == 0 else f"at least {minimum}"
        raise ConfigError(f"'{key}' must be {what}, got {value}")
    if abs(value) > MAX_CONFIG_INTEGER:
        raise ConfigError(f"'{key}' is {shown(value)}, more than {limit_text('MAX_CONFIG_INTEGER')}")
    return value


def count(cfg, key: str, default=REQUIRED, *, minimum: int = 1) -> int:
    """A positive count (``filters``, ``units``, ``groups``): ``minimum`` 0 for a padding."""
    return integer(_get(cfg, key, default), key, minimum=minimum)


def pair(cfg, key: str, default=REQUIRED, *, minimum: int = 1) -> tuple[int, int]:
    """``kernel_size: 3`` or ``[3, 3]`` (or ``[3]``) as ``(3, 3)``."""
    value = _get(cfg, key, default)
    if isinstance(value, (list, tuple)):
        if len(value) not in (1, 2):
            raise ConfigError(f"'{key}' must be one integer or two, got {shown(value)}")
        h, w = (value[0], value[0]) if len(value) == 1 else value
        return integer(h, key, minimum=minimum), integer(w, key, minimum=minimum)
    n = integer(value, key, minimum=minimum)
    return n, n


def one_or_pair(cfg, key: str, default=REQUIRED, *, minimum: int = 1):
    """:func:`pair`, written as one integer when both are equal (as the kinds take it)."""
    h, w = pair(cfg, key, default, minimum=minimum)
    return h if h == w else (h, w)


def spatial(cfg, key: str, n: int, default=REQUIRED, *, minimum: int = 1):
    """A window argument of a layer over ``n`` spatial axes (``kernel_size: 5`` or ``[5]`` for a
    Conv1D, ``[3, 3, 3]`` for a Conv3D), one integer when every axis agrees (as the kinds take it)."""
    if n == 2:
        return one_or_pair(cfg, key, default, minimum=minimum)
    value = _get(cfg, key, default)
    values = list(value) if isinstance(value, (list, tuple)) else [value]
    if len(values) not in (1, n):
        raise ConfigError(f"'{key}' must be one integer or {n}, got {shown(value)}")
    values = [integer(v, key, minimum=minimum) for v in values]
    return values[0] if len(set(values)) == 1 else tuple(values)


def spatial_sides(cfg, key: str, n: int, default) -> tuple:
    """Keras' ZeroPadding1D/3D, Cropping1D/3D argument as one ``(before, after)`` per axis: 1-D
    ``n`` or ``[before, after]``; 3-D ``n``, ``[d, h, w]`` or ``[[d1, d2], [h1, h2], [w1, w2]]``."""
    if n == 2:
        return sides(cfg, key, default)
    value = _get(cfg, key, default)
    if n == 1:
        if isinstance(value, (list, tuple)):
            if len(value) != 2:
                raise ConfigError(f"'{key}' must be n or [before, after], got {shown(value)}")
            return ((integer(value[0], key, minimum=0), integer(value[1], key, minimum=0)),)
        v = integer(value, key, minimum=0)
        return ((v, v),)
    if isinstance(value, (list, tuple)) and len(value) == n and all(isinstance(v, (list, tuple)) for v in value):
        if any(len(v) != 2 for v in value):
            raise ConfigError(f"'{key}' must be n, {n} integers or {n} [before, after] pairs, got {shown(value)}")
        return tuple((integer(a, key, minimum=0), integer(b, key, minimum=0)) for a, b in value)
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise ConfigError(f"'{key}' must be n, {n} integers or {n} [before, after] pairs, got {shown(value)}")
        return tuple((integer(v, key, minimum=0),) * 2 for v in value)
    v = integer(value, key, minimum=0)
    return ((v, v),) * n


def sides(cfg, key: str, default) -> tuple:
    """Keras' ZeroPadding2D/Cropping2D argument (``n``, ``[h, w]``, ``[[t, b], [l, r]]``) as
    ``((top, bottom), (left, right))``."""
    value = _get(cfg, key, default)
    if isinstance(value, (list, tuple)) and len(value) == 2 and all(isinstance(v, (list, tuple)) for v in value):
        return tuple(pair({key: v}, key, minimum=0) for v in value)
    if isinstance(value, (list, tuple)) and len(value) in (1, 2):
        h, w = pair({key: value}, key, minimum=0)
        return ((h, h), (w, w))
    if isinstance(value, (list, tuple)):
        raise ConfigError(f"'{key}' must be n, [h, w] or [[top, bottom], [left, right]], got {shown(value)}")
    n = integer(value, key, minimum=0)
    return ((n, n), (n, n))


def number(cfg, key: str, default=REQUIRED) -> float:
    """A finite JSON number (``epsilon``, ``momentum``, ``rate``)."""
    value = _get(cfg, key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(f"'{key}' must be a finite number, got {shown(value)}")
    return float(value)


def flag(cfg, key: str, default: bool) -> bool:
    """A JSON boolean (``use_bias``, ``center``)."""
    value = _get(cfg, key, default)
    if not isinstance(value, bool):
        raise ConfigError(f"'{key}' must be true or false, got {shown(value)}")
    return value


def text(cfg, key: str, default=REQUIRED) -> str:
    value = _get(cfg, key, default)
    if not isinstance(value, str):
        raise ConfigError(f"'{key}' must be a string, got {shown(value)}")
    return value


def axes(cfg, key: str = "axis", default=-1) -> list[int]:
    """``axis: -1`` or ``[1, 2]`` as a list of integers (batch included, as Keras writes them)."""
    value = _get(cfg, key, default)
    values = value if isinstance(value, (list, tuple)) else [value]
    if not values:
        raise ConfigError(f"'{key}' names no axis")
    return [integer(a, key) for a in values]


def padding_mode(cfg, causal: bool = False) -> str:
    """``same`` or ``valid`` (and ``causal`` for a Conv1D)."""
    padding = text(cfg, "padding", "valid").lower()
    modes = ("same", "valid", "causal") if causal else ("same", "valid")
    if padding not in modes:
        raise ConfigError(f"padding '{padding}' is not supported ({', '.join(modes[:-1])} or {modes[-1]})")
    return padding


def channels_last(cfg):
    fmt = text(cfg, "data_format", "channels_last")
    if fmt != "channels_last":
        raise ConfigError(f"data_format '{fmt}' is not supported: cnncalc reads channels_last models")


def sample_axis(axis: int, rank: int) -> int:
    """A Keras axis (batch included) as a negative axis of the per-sample shape."""
    if axis == 0:
        raise ConfigError("axis 0 is the batch axis")
    if not -rank <= (axis - rank - 1 if axis > 0 else axis) < 0:
        raise ConfigError(f"axis {axis} is outside an input of rank {rank + 1}")
    return axis - rank - 1 if axis > 0 else axis


def last_axis_only(cfg, rank, what):
    if [sample_axis(a, rank) for a in axes(cfg)] != [-1]:
        raise ConfigError(f"{what}: only the last (channels) axis is supported, got axis={shown(cfg.get('axis'))}")


def activation_name(value) -> str:
    """``"relu"`` or a serialised activation function (``{"class_name": ..., "config": ...}``)."""
    if isinstance(value, dict):
        inner = value.get("config", value.get("class_name", "?"))
        value = inner.get("name", "?") if isinstance(inner, dict) else inner
    if not isinstance(value, str):
        raise ConfigError(f"'activation' must be a name, got {shown(value)}")
    return value
