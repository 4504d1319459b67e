"""Pure counting formulas, one small set per layer kind, and the registry that maps kinds to them.

Modelled on fvcore's ``jit_handles.py``: the engine (:mod:`cnncalc.analysis`) knows no layer kind;
adding a kind means adding one :class:`Rule` to :data:`RULES`. A kind without a rule raises, it is
never silently counted as zero.

Conventions (DESIGN.md):

- output size ``floor((n + 2p - d(k-1) - 1) / s) + 1``; ``same`` gives ``ceil(n / s)`` (TF/Keras).
- conv parameters ``k_h*k_w*(C_in/groups)*C_out`` weights plus ``C_out`` biases; dense
  ``in*out + out``; BatchNorm ``C`` gamma + ``C`` beta trainable, ``2C`` non-trainable.
- activations: elements of each tensor a layer computes anew; in-place layers add none.
- MACs: conv ``H_out*W_out*C_out*k_h*k_w*C_in/groups``; dense ``in*out``; nothing else.

Every function takes plain values (ints or sympy expressions) and returns new ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from .arith import ceildiv, floordiv, is_number, known, product
from .spec import (
    ACTIVATION_FUNCTIONS,
    LRN,
    Activation,
    AvgPool2D,
    BatchNorm,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    GlobalAvgPool2D,
    Input,
    MaxPool2D,
    PadShortcut,
    SpecError,
    pair,
)

Shape = tuple
Warn = Callable[[str], None]


@dataclass(frozen=True)
class Counts:
    """What one layer adds: weights, biases, non-trainable parameters and MACs."""

    weights: object = 0
    biases: object = 0
    non_trainable: object = 0
    macs: object = 0


@dataclass(frozen=True)
class Rule:
    """The formulas of one layer kind.

    - ``shape(layer, in_shape, warn) -> out_shape``: validates the input and derives the output.
    - ``counts(layer, in_shape, out_shape) -> Counts``: parameters and MACs.
    - ``materializes``: whether the output is a new tensor (counted as activations).
    - ``window(layer, axis) -> (kernel_eff, stride, pad_before_or_mode)``: the layer's sliding
      window along ``axis`` (0 height, 1 width) for receptive fields; ``None`` for point-wise
      layers that keep the geometry.
    """

    shape: Callable
    counts: Callable = lambda layer, i, o: Counts()
    materializes: bool = True
    window: Callable | None = None


# --------------------------------------------------------------------------------------------
# Geometry shared by convolutions and pools
# --------------------------------------------------------------------------------------------


def _need_positive(layer, what, value):
    if known(value) and value <= 0:
        raise SpecError(f"layer '{layer.name}': {what} must be positive, got {value}")


def _need_spatial(layer, in_shape) -> tuple:
    if len(in_shape) != 3:
        raise SpecError(
            f"layer '{layer.name}' ({layer.kind}) needs an HxWxC input, got a vector of "
            f"{in_shape[0]}"
        )
    return in_shape


def explicit_padding(padding, axis: int):
    """Pixels added on *each* side for an explicit padding, or ``None`` for 'same'/'valid'."""
    if isinstance(padding, str):
        return 0 if padding.lower() == "valid" else None
    return pair(padding)[axis]


def window_output(layer, n, k, s, d, padding, axis: int, warn: Warn, ceil_mode=False):
    """Output length of a sliding window over ``n`` pixels (one axis).

    ``k_eff = d(k-1)+1``; ``same``: ``ceil(n/s)``; otherwise
    ``floor((n + 2p - k_eff)/s) + 1`` (``ceil`` in ceil mode, as PyTorch: the last window must
    start inside the input or the left padding). Warns when the floor drops input pixels.
    """
    for what, v in (("kernel", k), ("stride", s), ("dilation", d)):
        _need_positive(layer, what, v)
    k_eff = d * (k - 1) + 1
    if isinstance(padding, str) and padding.lower() == "same":
        return ceildiv(n, s)
    if isinstance(padding, str) and padding.lower() != "valid":
        raise SpecError(f"layer '{layer.name}': padding must be 'same', 'valid' or pixels, got '{padding}'")
    p = explicit_padding(padding, axis)
    if known(p) and p < 0:
        raise SpecError(f"layer '{layer.name}': padding must be >= 0, got {p}")
    span = n + 2 * p - k_eff
    if known(span) and span < 0:
        kernel = f"kernel {k}" + (f" (dilated to {k_eff})" if k_eff != k else "")
        raise SpecError(
            f"layer '{layer.name}': {kernel} is larger than its {'padded ' if p else ''}input of "
            f"{n + 2 * p} pixels"
        )
    if ceil_mode:
        out = ceildiv(span, s) + 1
        if is_number(out) and is_number(n) and (out - 1) * s >= n + p:
            out -= 1
        return out
    # The floor drops the last ``span % s`` padded pixels; only those beyond the far-side padding
    # ``p`` are input pixels (torchvision's 7x7/2 pad-3 stem on 224 drops only a padding row).
    # A window smaller than its stride skips ``s - k_eff`` pixels between windows by design
    # (a 1x1/2 projection reads every other pixel); a trailing gap no wider is no loss either.
    if (
        is_number(span)
        and is_number(s)
        and is_number(p)
        and is_number(k_eff)
        and span % s - p > max(0, s - k_eff)
    ):
        dropped = span % s - p
        axis_name = ("row" if axis == 0 else "column") + ("s" if dropped > 1 else "")
        warn(
            f"layer '{layer.name}': floor((n + 2p - k)/s) drops the last {dropped} {axis_name} of "
            f"its {n}-pixel input (kernel {k_eff}, stride {s}, padding {p}); an input of "
            f"{n + s - span % s} fits exactly"
        )
    return floordiv(span, s) + 1


def _spatial_output(layer, in_shape, kernel, stride, padding, dilation, warn, ceil_mode=False):
    h, w, _ = _need_spatial(layer, in_shape)
    (kh, kw), (sh, sw), (dh, dw) = pair(kernel), pair(stride), pair(dilation)
    notes: list[str] = []
    out_h = window_output(layer, h, kh, sh, dh, padding, 0, notes.append, ceil_mode)
    out_w = window_output(layer, w, kw, sw, dw, padding, 1, notes.append, ceil_mode)
    if len(notes) == 2 and notes[0].replace(" row", " column") == notes[1]:
        notes = [notes[0].replace(" row", " row(s) and column").replace("row(s) and columns", "rows and columns").replace("row(s) and column", "row and column")]
    for note in notes:
        warn(note)
    return out_h, out_w


def _window(kernel, stride, padding, dilation=lambda layer: 1):
    def window(layer, axis):
        k, s, d = pair(kernel(layer))[axis], pair(stride(layer))[axis], pair(dilation(layer))[axis]
        pad = padding(layer)
        p = pad.lower() if isinstance(pad, str) else pair(pad)[axis]
        return d * (k - 1) + 1, s, p

    return window


# --------------------------------------------------------------------------------------------
# Per-kind formulas
# --------------------------------------------------------------------------------------------


def input_shape(layer: Input, in_shape, warn):
    for what, v in (("height", layer.height), ("width", layer.width), ("channels", layer.channels)):
        _need_positive(layer, f"input {what}", v)
    return layer.shape


def conv_shape(layer: Conv2D, in_shape, warn):
    _, _, c_in = _need_spatial(layer, in_shape)
    _need_positive(layer, "filters", layer.filters)
    _need_positive(layer, "groups", layer.groups)
    g = layer.groups
    if known(g) and known(c_in) and c_in % g:
        raise SpecError(f"layer '{layer.name}': groups={g} does not divide its {c_in} input channels")
    if known(g) and known(layer.filters) and layer.filters % g:
        raise SpecError(f"layer '{layer.name}': groups={g} does not divide its {layer.filters} filters")
    out_h, out_w = _spatial_output(
        layer, in_shape, layer.kernel, layer.stride, layer.padding, layer.dilation, warn
    )
    return (out_h, out_w, layer.filters)


def conv_counts(layer: Conv2D, in_shape, out_shape):
    """Per group: ``k_h*k_w*(C_in/g)*(C_out/g)`` weights and ``C_out/g`` biases, times ``g`` groups
    (AlexNet's conv2: ``2 x (5x5x48x128 + 128)``); ``g = 1`` is the ordinary convolution."""
    kh, kw = pair(layer.kernel)
    c_in, c_out, g = in_shape[2], layer.filters, layer.groups

    def per_group(n):
        return n // g if known(n) and known(g) else n / g

    weights = g * (kh * kw * per_group(c_in) * per_group(c_out))
    biases = g * per_group(c_out) if layer.bias else 0
    macs = out_shape[0] * out_shape[1] * weights
    return Counts(weights=weights, biases=biases, macs=macs)


def _pool_stride(layer):
    return layer.kernel if layer.stride is None else layer.stride


def pool_shape(layer, in_shape, warn):
    out_h, out_w = _spatial_output(
        layer, in_shape, layer.kernel, _pool_stride(layer), layer.padding, 1, warn, layer.ceil_mode
    )
    return (out_h, out_w, in_shape[2])


def global_pool_shape(layer, in_shape, warn):
    return (_need_spatial(layer, in_shape)[2],)


def flatten_shape(layer, in_shape, warn):
    return (product(in_shape),)


def dense_shape(layer: Dense, in_shape, warn):
    if len(in_shape) != 1:
        raise SpecError(
            f"layer '{layer.name}' (Dense) needs a vector input, got "
            f"{'x'.join(map(str, in_shape))}: add a Flatten or a global pool before it"
        )
    _need_positive(layer, "units", layer.units)
    return (layer.units,)


def dense_counts(layer: Dense, in_shape, out_shape):
    weights = in_shape[0] * layer.units
    return Counts(weights=weights, biases=layer.units if layer.bias else 0, macs=weights)


def same_shape(layer, in_shape, warn):
    return tuple(in_shape)


def batchnorm_counts(layer, in_shape, out_shape):
    channels = in_shape[-1]
    return Counts(weights=channels, biases=channels, non_trainable=2 * channels)


def lrn_shape(layer, in_shape, warn):
    return tuple(_need_spatial(layer, in_shape))


def dropout_shape(layer: Dropout, in_shape, warn):
    if not 0 <= layer.rate < 1:
        raise SpecError(f"layer '{layer.name}': dropout rate must be in [0, 1), got {layer.rate}")
    return tuple(in_shape)


def activation_shape(layer: Activation, in_shape, warn):
    if layer.function not in ACTIVATION_FUNCTIONS:
        raise SpecError(
            f"layer '{layer.name}': unknown activation '{layer.function}' "
            f"(known: {', '.join(ACTIVATION_FUNCTIONS)})"
        )
    return tuple(in_shape)


def pad_shortcut_shape(layer: PadShortcut, in_shape, warn):
    h, w, c = _need_spatial(layer, in_shape)
    _need_positive(layer, "stride", layer.stride)
    if known(c) and known(layer.filters) and layer.filters < c:
        raise SpecError(
            f"layer '{layer.name}': a zero-padding shortcut cannot shrink {c} channels to {layer.filters}"
        )
    return (ceildiv(h, layer.stride), ceildiv(w, layer.stride), layer.filters)


RULES: dict[type, Rule] = {
    Input: Rule(shape=input_shape),
    Conv2D: Rule(
        shape=conv_shape,
        counts=conv_counts,
        window=_window(lambda l: l.kernel, lambda l: l.stride, lambda l: l.padding, lambda l: l.dilation),
    ),
    MaxPool2D: Rule(shape=pool_shape, window=_window(lambda l: l.kernel, _pool_stride, lambda l: l.padding)),
    AvgPool2D: Rule(shape=pool_shape, window=_window(lambda l: l.kernel, _pool_stride, lambda l: l.padding)),
    GlobalAvgPool2D: Rule(shape=global_pool_shape),
    Flatten: Rule(shape=flatten_shape, materializes=False),
    Dense: Rule(shape=dense_shape, counts=dense_counts),
    BatchNorm: Rule(shape=same_shape, counts=batchnorm_counts),
    LRN: Rule(shape=lrn_shape),
    Dropout: Rule(shape=dropout_shape, materializes=False),
    Activation: Rule(shape=activation_shape, materializes=False),
    PadShortcut: Rule(
        shape=pad_shortcut_shape,
        window=_window(lambda l: 1, lambda l: l.stride, lambda l: "valid"),
    ),
}


def rule_for(layer) -> Rule:
    """The rule of a layer's kind; an unknown kind raises instead of counting as zero."""
    try:
        return RULES[type(layer)]
    except KeyError:
        raise SpecError(
            f"no counting rule for layer kind {type(layer).__name__} (layer '{layer.name}')"
        ) from None
