"""Receptive fields: size, jump (effective stride), effective padding and start, per axis.

The recurrence of Araujo, Norris & Sim, "Computing Receptive Fields of Convolutional Neural
Networks", Distill 2019 (doi:10.23915/distill.00021), run forward from the input, one layer at a
time, driven only by each kind's ``Rule.window`` in :mod:`cnncalc.kinds` (no per-kind code
here)::

    k_eff   = d (k - 1) + 1
    r      <- r + (k_eff - 1) * j          # receptive field size
    P      <- P + p_left * j               # effective padding (left/top)
    j      <- j * s                        # jump, the effective stride
    start   = (r - 1)/2 - P                # centre of the first output unit, input pixel coords

The closed forms are ``r = sum_l (k_l - 1) prod_{i<l} s_i + 1`` and
``P = sum_l p_l prod_{i<l} s_i`` (proved in :mod:`cnncalc.proofs`). ``p_left`` is the explicit
padding, 0 for ``valid`` and TensorFlow's asymmetric ``same`` padding otherwise:
``total = max(k_eff - (s if n % s == 0 else n % s), 0)``, ``p_left = floor(total / 2)`` (the rule
of google-research/receptive_field, ``parse_layer_parameters._padding_size_conv_pool``).

Layers without a window (activations, BN, LRN, dropout) keep the field. Once the output is no
longer spatial (Flatten, Dense, global pooling) the field is the whole input and is reported as
``None``; so is the field after a layer that cannot carry one (a transposed convolution, a
reshape, an imported layer of unknown geometry). At a merge (Concat, Add, Multiply) the largest
field is kept; an input broadcast over the spatial axes (the 1x1 gate of a squeeze-and-excitation
block, made from a global pool) is global context and is left out, so the field follows the
spatial path as published receptive-field tables do; an untracked input makes the merge
untracked. A warning is raised when the branches are misaligned (different jump or different centre), as the google-research/receptive_field
library checks ("Graph is not aligned ...").

The field starts at the input, one per spatial axis: an image ``H x W x C`` has one per axis
(height, width); a sequence or signal ``tokens x channels`` has one along its tokens (widened by
1-D convolutions and pools, kept by point-wise layers, stopped by attention with a note); a volume
``D x H x W x C`` has one per axis (depth, height, width), widened by 3-D convolutions and pools;
a vector, and an input of rank 5 or more, has none (:func:`input_field`, :func:`no_field_reason`).
"""

from __future__ import annotations

from dataclasses import dataclass

from .arith import equal, floordiv, is_number

AXES = ("height", "width")
"""An image field's axes, as the warnings name them (a sequence's one axis is its tokens)."""

AXES_OF = {1: ("tokens",), 2: AXES, 3: ("depth", "height", "width")}
"""The axes of a field by its number of axes: a sequence's, an image's, a volume's."""


@dataclass(frozen=True)
class AxisField:
    """The receptive field of one output unit along one axis."""

    size: object = 1  # r
    jump: object = 1  # j, effective stride
    padding: object = 0  # P, effective padding on the left/top

    @property
    def start(self):
        """Centre of the first output unit in input pixel coordinates: ``(r - 1)/2 - P``."""
        return half(self.size - 1) - self.padding


@dataclass(frozen=True)
class ReceptiveField:
    """Per-axis fields: (height, width) on an image, (tokens,) on a sequence, (depth, height,
    width) on a volume.
    ``rf``/``jump``/``start``/``padding`` give one value when the axes agree (the usual square
    case) and an ``(h, w)`` pair otherwise."""

    axes: tuple = (AxisField(), AxisField())

    def _value(self, attr):
        values = [getattr(a, attr) for a in self.axes]
        return values[0] if all(same(v, values[0]) for v in values[1:]) else tuple(values)

    @property
    def rf(self):
        return self._value("size")

    @property
    def jump(self):
        return self._value("jump")

    @property
    def padding(self):
        return self._value("padding")

    @property
    def start(self):
        return self._value("start")


INPUT_FIELD = ReceptiveField()
SEQUENCE_FIELD = ReceptiveField((AxisField(),))
VOLUME_FIELD = ReceptiveField((AxisField(),) * 3)

FIELD_RANKS = (2, 3, 4)
"""The ranks of a tensor with spatial axes and channels: a sequence, an image, a volume."""


def input_field(shape) -> ReceptiveField | None:
    """The field of the input itself: per axis of an image or a volume, along the tokens of a
    sequence, none for a vector or an input of rank 5 or more (:func:`no_field_reason` says why)."""
    return {3: INPUT_FIELD, 2: SEQUENCE_FIELD, 4: VOLUME_FIELD}.get(len(shape))


def no_field_reason(shape) -> str | None:
    """Why an input has no receptive field (a vector, a rank-5 tensor), or ``None`` when it has one."""
    if len(shape) in FIELD_RANKS:
        return None
    what = f"a vector of {shape[0]}" if len(shape) == 1 else f"of rank {len(shape)} ({'x'.join(map(str, shape))})"
    return f"the input is {what}: cnncalc computes receptive fields over images (H x W x C), sequences (tokens x channels) and volumes (D x H x W x C)"


def same(a, b):
    """``a == b`` for ints and half-integer floats without sympy; :func:`arith.equal` otherwise."""
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    return equal(a, b)


def half(value):
    """``value / 2`` exactly: an int when even, a float ``x.5`` otherwise (sympy Rational if symbolic)."""
    if is_number(value):
        return value // 2 if value % 2 == 0 else value / 2
    import sympy

    return sympy.Rational(1, 2) * value


def same_left_padding(n, k_eff, s):
    """TensorFlow's 'same' padding on the left/top: ``floor(max(k_eff - (s or n % s), 0) / 2)``."""
    if is_number(n) and is_number(k_eff) and is_number(s):
        rem = n % s
        total = max(k_eff - (s if rem == 0 else rem), 0)
        return total // 2
    if s == 1:  # independent of the input size
        return floordiv(k_eff - 1, 2)
    import sympy

    total = sympy.Piecewise(
        (sympy.Max(k_eff - s, 0), sympy.Eq(sympy.Mod(n, s), 0)),
        (sympy.Max(k_eff - sympy.Mod(n, s), 0), True),
    )
    return sympy.floor(total / 2)


def step(field: ReceptiveField | None, window, layer, in_shape, out_shape):
    """The field after one layer. ``window`` is the kind's ``Rule.window`` (or ``None``).

    A field of ``n`` axes lives on tensors of ``n`` spatial axes and channels (``T x C``,
    ``H x W x C``, ``D x H x W x C``); a window (a convolution, a pool of as many axes) widens it
    per axis. A ``tokens x channels`` output of an image (a vision transformer's patches, from the
    reshape of an ``H x W x C`` grid) keeps each position's field through layers without a window
    (LayerNorm, a Dense on the channels, activations); anything else ends it."""
    if field is None:
        return None
    n = len(field.axes)
    if window is None:
        if len(out_shape) == n + 1 or (n == 2 and len(out_shape) == 2 and len(in_shape) in (2, 3)):
            return field
        return None
    if len(out_shape) != n + 1 or len(in_shape) != n + 1:
        return None
    axes = []
    for axis, f in enumerate(field.axes):
        k_eff, s, pad = window(layer, axis)
        if pad == "valid":
            p = 0
        elif pad == "same":
            p = same_left_padding(in_shape[axis], k_eff, s)
        else:
            p = pad
        axes.append(AxisField(f.size + (k_eff - 1) * f.jump, f.jump * s, f.padding + p * f.jump))
    return ReceptiveField(tuple(axes))


def broadcasts(shape, out_shape) -> bool:
    """Whether an input of a merge is broadcast over the output's spatial axes (a ``1 x 1 x C``
    gate on ``H x W x C``, or a vector): its field is global context, left out of the merge."""
    if len(out_shape) not in (3, 4):  # an image's or a volume's gate
        return False
    if len(shape) < len(out_shape):
        return True
    return any(isinstance(v, int) and v == 1 and not (isinstance(o, int) and o == 1) for v, o in zip(shape[:-1], out_shape[:-1]))


def merge(fields, name, warn):
    """Concat/Add: the largest field per axis; warns when branches are misaligned. A branch whose
    field is not tracked (after a transposed convolution or an opaque layer) makes it untracked."""
    if not fields or any(f is None for f in fields):
        return None
    if len({len(f.axes) for f in fields}) > 1:  # a sequence's field meets an image's: no common axes
        return None
    axes = []
    for axis in range(len(fields[0].axes)):
        branch = [f.axes[axis] for f in fields]
        first = branch[0]
        for other in branch[1:]:
            if same(other.jump, first.jump) is False:
                warn(
                    f"layer '{name}': branches are misaligned along the {_axis(fields, axis)}: jumps "
                    f"{first.jump} and {other.jump} differ; reporting the largest field"
                )
                break
            if same(other.start, first.start) is False:
                warn(
                    f"layer '{name}': branches are misaligned along the {_axis(fields, axis)}: field centres "
                    f"{first.start} and {other.start} differ; reporting the largest field"
                )
                break
        axes.append(_largest(branch))
    return ReceptiveField(tuple(axes))


def _axis(fields, axis) -> str:
    return AXES_OF[len(fields[0].axes)][axis]


def _largest(branch):
    best = branch[0]
    for other in branch[1:]:
        if is_number(other.size) and is_number(best.size):
            if other.size > best.size:
                best = other
        else:
            import sympy

            if sympy.simplify(sympy.sympify(other.size) - best.size).is_positive:
                best = other
    return best
