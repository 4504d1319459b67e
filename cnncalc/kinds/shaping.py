"""Rearranging a tensor without arithmetic: ``Permute`` (axes reordered), ``Slice`` (a range of
one axis: ``chunk``/``split``, ShuffleNetV2's channel split), ``Take`` (one index of an axis,
the axis dropped: a ViT's class token ``x[:, 0]``) and ``Tile`` (repeated along axes).

Axes are those of the per-sample shape (the batch axis is never one of them): ``0`` is the first,
``-1`` the last. None has parameters or multiply-accumulates. ``Permute``, ``Slice`` and ``Take``
are views in PyTorch (``permute``, ``narrow``, indexing) and add no activations, like ``Reshape``;
``Tile`` writes a new tensor. Receptive fields pass through a ``Slice`` of an image (the
channel split keeps the geometry; a slice of the height or width is a crop: the field's start
moves, a step multiplies the jump); the other rearrangements stop them.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..arith import ceildiv, is_number
from .base import Layer, SpecError
from .registry import Absent, Kind, Rule, ignored, register


@dataclass(frozen=True)
class Permute(Layer):
    """The per-sample axes reordered: output axis ``i`` is input axis ``perm[i]``."""

    perm: tuple = ()

    def __post_init__(self):
        object.__setattr__(self, "perm", tuple(self.perm))


@dataclass(frozen=True)
class Slice(Layer):
    """``x[..., start:stop:step, ...]`` along ``axis`` (Python's rules; ``stop=None``: to the end)."""

    axis: int = -1
    start: int = 0
    stop: int | None = None
    step: int = 1


@dataclass(frozen=True)
class Take(Layer):
    """``x[..., index, ...]`` along ``axis``: that axis is dropped."""

    axis: int = 0
    index: int = 0


@dataclass(frozen=True)
class Tile(Layer):
    """The tensor repeated ``repeats[i]`` times along axis ``i`` (``np.tile`` of equal rank)."""

    repeats: tuple = ()

    def __post_init__(self):
        object.__setattr__(self, "repeats", tuple(self.repeats))


def _fmt(shape) -> str:
    return "x".join(map(str, shape))


def _axis(layer, axis, in_shape) -> int:
    rank = len(in_shape)
    if not isinstance(axis, int) or not -rank <= axis < rank:
        raise SpecError(f"layer '{layer.name}' ({layer.kind}): axis {axis} is outside its rank-{rank} input {_fmt(in_shape)}")
    return axis % rank


def permute_shape(layer: Permute, in_shape, warn):
    if sorted(layer.perm) != list(range(len(in_shape))):
        raise SpecError(f"layer '{layer.name}' (Permute): {list(layer.perm)} is not a permutation of the {len(in_shape)} axes of {_fmt(in_shape)}")
    return tuple(in_shape[i] for i in layer.perm)


def slice_length(layer, size, start, stop, step):
    """The length of ``range(size)[start:stop:step]``; symbolic sizes for the forward slices
    exporters write (``chunk``: a start and a stop counted from either end)."""
    if not isinstance(step, int) or step == 0:
        raise SpecError(f"layer '{layer.name}' (Slice): step must be a non-zero integer, got {step}")
    if is_number(size):
        length = len(range(int(size))[slice(start, stop, step)])
    else:
        if step < 0:
            raise SpecError(f"layer '{layer.name}' (Slice): a backward slice of a symbolic axis ({size})")
        begin = start if start >= 0 else size + start
        end = size if stop is None else (stop if stop >= 0 else size + stop)
        length = ceildiv(end - begin, step) if step > 1 else end - begin
    if is_number(length) and length < 1:
        raise SpecError(f"layer '{layer.name}' (Slice): [{start}:{'' if stop is None else stop}:{step}] of an axis of {size} is empty")
    return length


def slice_shape(layer: Slice, in_shape, warn):
    axis = _axis(layer, layer.axis, in_shape)
    out = list(in_shape)
    out[axis] = slice_length(layer, in_shape[axis], layer.start, layer.stop, layer.step)
    return tuple(out)


def take_shape(layer: Take, in_shape, warn):
    axis = _axis(layer, layer.axis, in_shape)
    size = in_shape[axis]
    if is_number(size) and not -size <= layer.index < size:
        raise SpecError(f"layer '{layer.name}' (Take): index {layer.index} is outside an axis of {size}")
    return tuple(v for i, v in enumerate(in_shape) if i != axis)


def tile_shape(layer: Tile, in_shape, warn):
    if len(layer.repeats) != len(in_shape) or any(not isinstance(r, int) or r < 1 for r in layer.repeats):
        raise SpecError(f"layer '{layer.name}' (Tile): repeats {list(layer.repeats)} do not fit the {len(in_shape)} axes of {_fmt(in_shape)}")
    return tuple(v * r for v, r in zip(in_shape, layer.repeats))


def slice_window(layer: Slice, axis):
    """A slice of image axis ``axis`` (0 height, 1 width) as a 1-pixel window: stride ``step``,
    ``start`` pixels dropped before it (a negative padding); other axes keep the field."""
    if layer.axis % 3 != axis or layer.start < 0 or layer.step < 0:
        return (1, 1, 0)
    return (1, layer.step, -layer.start)


def _keras_permute(b, layer: Permute, x, qualified):
    return b.keras.layers.Permute(tuple(p + 1 for p in layer.perm), name=b.name(qualified))(x)


def _keras_slice(b, layer: Slice, x, qualified):
    return b.custom.SliceAxis(layer.axis, layer.start, layer.stop, layer.step, name=b.name(qualified))(x)


def _keras_take(b, layer: Take, x, qualified):
    return b.custom.TakeAxis(layer.axis, layer.index, name=b.name(qualified))(x)


def _keras_tile(b, layer: Tile, x, qualified):
    return b.custom.Tile(layer.repeats, name=b.name(qualified))(x)


_NO_ARROW = Absent("no arrow word: build it in Python (cnncalc.spec) or import a model")
_NOTHING = ignored("macs", "flops", "torchvision", "fvcore", "ptflops", "torchinfo", "tf-profiler")
"""No preset counts a rearrangement (TF's profiler registers no flops for Transpose, Slice,
GatherV2 or Tile; fvcore and ptflops have no handle for them)."""

for _cls, _rule, _prefix, _keras in (
    (Permute, Rule(shape=permute_shape, materializes=False, tracks_field=False), "permute", _keras_permute),
    (Slice, Rule(shape=slice_shape, materializes=False, window=slice_window), "slice", _keras_slice),
    (Take, Rule(shape=take_shape, materializes=False, tracks_field=False), "take", _keras_take),
    (Tile, Rule(shape=tile_shape, tracks_field=False), "tile", _keras_tile),
):
    register(
        Kind(
            _cls,
            rule=_rule,
            prefix=_prefix,
            notation=_NO_ARROW,
            keras=_keras,
            strings={},
            ops=_NOTHING,
        )
    )

