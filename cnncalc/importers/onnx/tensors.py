"""Tensors of an ONNX graph as the reader sees them: computed (:class:`Data`) or constant.

ONNX image tensors are ``N x C x H x W``; cnncalc's shapes are per sample and channels last. The
helpers here convert shapes and axes between the two (docs/import.md, "Layout").
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Data:
    """A tensor the network computes: the spec node holding it and its per-sample shape.

    ``channels_last``: the ONNX tensor is ``N x H x W x C`` (a TensorFlow converter's input before
    its ``Transpose`` to ``N x C x H x W``); the per-sample shape is ``H x W x C`` either way."""

    node: str
    shape: tuple
    channels_last: bool = False


class Unknown:
    """A constant whose value cannot be computed here (an operator on initializers cnncalc does not
    evaluate, external data that is not there); ``dims`` are its dimensions when known, ``reason``
    says why the value is unknown when there is more to say than "computed at run time"."""

    def __init__(self, dims=None, reason=None):
        self.dims = dims
        self.reason = reason


def onnx_dims(shape, batch, channels_last=False) -> tuple:
    """The ONNX dimensions (batch first) of a per-sample shape: ``H x W x C`` -> ``N x C x H x W``."""
    if len(shape) == 3 and not channels_last:
        h, w, c = shape
        return (batch, c, h, w)
    return (batch, *shape)


def sample_shape(dims) -> tuple:
    """The per-sample shape of ONNX dimensions: ``N x C x H x W`` -> ``H x W x C``."""
    dims = tuple(dims)
    if len(dims) == 4:
        return (dims[2], dims[3], dims[1])
    return dims[1:]


def sample_axis(axis, rank):
    """An ONNX axis of a rank-``rank`` tensor as a negative axis of the per-sample shape."""
    axis = int(axis)
    axis = axis + rank if axis < 0 else axis
    if axis <= 0 or axis >= rank:
        raise ValueError(f"axis {axis} is the batch axis or outside rank {rank}")
    if rank == 4:
        return {1: -1, 2: -3, 3: -2}[axis]
    return axis - rank
