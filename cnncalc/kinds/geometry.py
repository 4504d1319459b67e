"""Sliding-window geometry shared by convolutions and pools: output sizes, paddings, windows.

A window slides over the spatial axes of a ``S_1 x ... x S_n x C`` input: ``n = 2`` for an
image ``H x W x C``, 1 for a signal ``T x C`` (steps x channels), 3 for a volume ``D x H x W x C``.
A kind's spatial rank is its class attribute ``SPATIAL`` (2 when absent): one formula, applied per
axis, serves the 1-D, 2-D and 3-D forms of every convolution and pool.

Conventions (docs/design.md, docs/counting.md):

- output size ``floor((n + 2p - d(k-1) - 1) / s) + 1``; ``same`` gives ``ceil(n / s)`` (TF/Keras);
- ``ceil_mode`` as PyTorch: ``ceil((n + 2p - k_eff) / s) + 1``, minus one when the last window
  would start past the input and the left padding; a window may overhang the input;
- Keras' ``causal`` padding (1-D only) puts ``d(k-1)`` steps before: output ``ceil(n / s)``;
- TensorFlow's ``same`` padding puts ``floor(total / 2)`` pixels before and the rest after.

Pure functions of ints or sympy expressions; the numeric path imports no sympy.
"""

from __future__ import annotations

from typing import Callable

from ..arith import ceildiv, floordiv, is_number, known
from .base import SpecError, spread

Warn = Callable[[str], None]


def need_positive(layer, what, value):
    if known(value) and value <= 0:
        raise SpecError(f"layer '{layer.name}': {what} must be positive, got {value}")


INPUT_FORMS = {1: "a TxC (steps x channels)", 2: "an HxWxC", 3: "a DxHxWxC"}
"""The input a window over 1, 2 or 3 spatial axes reads, as error messages name it."""

AXIS_WORDS = {1: ("step",), 2: ("row", "column"), 3: ("slice", "row", "column")}
"""What one unit of each spatial axis is called in warnings (an image's rows and columns)."""


def spatial_rank(layer) -> int:
    """The number of spatial axes a kind slides over: its ``SPATIAL`` (1, 2 or 3; 2 by default)."""
    return getattr(layer, "SPATIAL", 2)


def need_spatial(layer, in_shape) -> tuple:
    """``in_shape`` when it has the layer's spatial axes and a channel axis; else the one-line error."""
    n = spatial_rank(layer)
    if len(in_shape) != n + 1:
        got = f"a vector of {in_shape[0]}" if len(in_shape) == 1 else f"the rank-{len(in_shape)} tensor {'x'.join(map(str, in_shape))}"
        raise SpecError(f"layer '{layer.name}' ({layer.kind}) needs {INPUT_FORMS[n]} input, got {got}")
    return in_shape


def explicit_padding(padding, axis: int, n: int = 2):
    """Pixels added on *each* side for an explicit padding, or ``None`` for 'same'/'valid'."""
    if isinstance(padding, str):
        return 0 if padding.lower() == "valid" else None
    return spread(padding, n)[axis]


def unit(layer) -> str:
    """The unit of a spatial axis in messages: a signal's steps, an image's or a volume's pixels."""
    return "step" if spatial_rank(layer) == 1 else "pixel"


def _too_large(layer, k, k_eff, n, p):
    kernel = f"kernel {k}" + (f" (dilated to {k_eff})" if k_eff != k else "")
    return SpecError(
        f"layer '{layer.name}': {kernel} is larger than its {'padded ' if p else ''}input of "
        f"{n + 2 * p} {unit(layer)}s"
    )


def window_output(layer, n, k, s, d, padding, axis: int, warn: Warn, ceil_mode=False):
    """Output length of a sliding window over ``n`` pixels (one axis).

    ``k_eff = d(k-1)+1``; ``same``: ``ceil(n/s)``; otherwise
    ``floor((n + 2p - k_eff)/s) + 1``. In ceil mode, PyTorch's rule: ``ceil((n + 2p - k_eff)/s)
    + 1``, minus one when the last window would start past the input and the left padding
    (``(out - 1) s >= n + p``); the window may then overhang the padded input (a 3x3/2 ceil-mode
    pool on 2x2 gives 1x1), and only an output below one window is an error. Warns when the floor
    drops input pixels.
    """
    for what, v in (("kernel", k), ("stride", s), ("dilation", d)):
        need_positive(layer, what, v)
    k_eff = d * (k - 1) + 1
    rank = spatial_rank(layer)
    if isinstance(padding, str) and padding.lower() == "same":
        return ceildiv(n, s)
    if isinstance(padding, str) and padding.lower() == "causal":
        if rank != 1:
            raise SpecError(f"layer '{layer.name}': causal padding is for 1-D layers, not {rank}-D ones")
        return ceildiv(n, s)  # d(k-1) steps before, then valid: floor((n - 1)/s) + 1
    if isinstance(padding, str) and padding.lower() != "valid":
        raise SpecError(f"layer '{layer.name}': padding must be 'same', 'valid' or pixels, got '{padding}'")
    p = explicit_padding(padding, axis, rank)
    if known(p) and p < 0:
        raise SpecError(f"layer '{layer.name}': padding must be >= 0, got {p}")
    span = n + 2 * p - k_eff
    if ceil_mode:
        out = ceildiv(span, s) + 1
        if is_number(out) and is_number(n) and is_number(p) and (out - 1) * s >= n + p:
            out -= 1
        if known(out) and out < 1:
            raise _too_large(layer, k, k_eff, n, p)
        return out
    if known(span) and span < 0:
        raise _too_large(layer, k, k_eff, n, p)
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
        axis_name = AXIS_WORDS[rank][axis] + ("s" if dropped > 1 else "")
        warn(
            f"layer '{layer.name}': floor((n + 2p - k)/s) drops the last {dropped} {axis_name} of "
            f"its {n}-{unit(layer)} input (kernel {k_eff}, stride {s}, padding {p}); an input of "
            f"{n + s - span % s} fits exactly"
        )
    return floordiv(span, s) + 1


def spatial_output(layer, in_shape, kernel, stride, padding, dilation, warn, ceil_mode=False) -> tuple:
    """The output sizes of a window over the spatial axes of ``in_shape`` (``(H_out, W_out)`` of an
    HxWxC image, ``(T_out,)`` of a signal, ``(D_out, H_out, W_out)`` of a volume); one warning when
    an image's two axes drop alike."""
    n = spatial_rank(layer)
    sizes = need_spatial(layer, in_shape)[:n]
    kernels, strides, dilations = spread(kernel, n), spread(stride, n), spread(dilation, n)
    notes: list[str] = []
    outs = tuple(
        window_output(layer, sizes[a], kernels[a], strides[a], dilations[a], padding, a, notes.append, ceil_mode) for a in range(n)
    )
    if n == 2 and len(notes) == 2 and notes[0].replace(" row", " column") == notes[1]:
        notes = [notes[0].replace(" row", " row(s) and column").replace("row(s) and columns", "rows and columns").replace("row(s) and column", "row and column")]
    for note in notes:
        warn(note)
    return outs


def window(kernel, stride, padding, dilation=lambda layer: 1):
    """A ``Rule.window`` from accessors of the kernel, stride, padding and dilation."""

    def window_of(layer, axis):
        n = spatial_rank(layer)
        k, s, d = spread(kernel(layer), n)[axis], spread(stride(layer), n)[axis], spread(dilation(layer), n)[axis]
        pad = padding(layer)
        p = pad.lower() if isinstance(pad, str) else spread(pad, n)[axis]
        if p == "causal":  # d(k-1) steps before the first
            p = d * (k - 1)
        return d * (k - 1) + 1, s, p

    return window_of


# --------------------------------------------------------------------------------------------
# Concrete paddings for the Keras builders (numeric sizes only)
# --------------------------------------------------------------------------------------------


def explicit_pair(padding, n: int = 2) -> tuple | None:
    """``(p_h, p_w)`` (one per spatial axis) for explicit pixel padding, ``None`` for ``'same'`` /
    ``'valid'`` (and a 1-D layer's ``'causal'``)."""
    if isinstance(padding, str):
        mode = padding.lower()
        if mode not in ("same", "valid", "causal"):
            raise SpecError(f"padding must be 'same', 'valid' or pixels, got '{padding}'")
        return None
    return spread(padding, n)


def same_padding(n: int, k_eff: int, s: int) -> tuple[int, int]:
    """TensorFlow's 'same' padding along one axis: ``(before, after)`` for output ``ceil(n/s)``."""
    out = -(-n // s)
    total = max((out - 1) * s + k_eff - n, 0)
    return total // 2, total - total // 2


def ceil_extra(n: int, k: int, s: int, p: int) -> int:
    """Extra right/bottom pixels for PyTorch's ``ceil_mode`` on ``n`` pixels padded ``p`` each side.

    PyTorch: ``out = ceil((n + 2p - k) / s) + 1``, minus one when the last window would start past
    the input and the left padding (``(out - 1) s >= n + p``). Pad so ``(out - 1) s + k`` fit.
    """
    out = -(-(n + 2 * p - k) // s) + 1
    if (out - 1) * s >= n + p:
        out -= 1
    return max((out - 1) * s + k - (n + 2 * p), 0)
