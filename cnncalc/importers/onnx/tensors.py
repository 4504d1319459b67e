"""Tensors of an ONNX graph as the reader sees them: computed (:class:`Data`) or constant.

ONNX tensors carry the batch first; cnncalc's shapes are per sample, and images are shown channels
last. :class:`Data` records how a computed tensor's ONNX dimensions map onto its per-sample shape
(docs/import.md, "Layout"): an image ``N x C x H x W`` is ``H x W x C`` (a signal ``N x C x T`` that a
convolution reads is ``T x C``, a volume ``N x C x D x H x W`` is ``D x H x W x C``); any other tensor keeps the
ONNX order without its batch axis (a ViT's ``N x tokens x channels``, Swin's ``N x H x W x C``);
a tensor into which an exporter folded a batch of 1 (Swin's windows ``B nW x 7 x 7 x C``) keeps
every ONNX axis. The helpers convert shapes and axes between the two.
"""

from __future__ import annotations

from dataclasses import dataclass


class Fallback(Exception):
    """Raised by a builder when this form of the operator has no kind: the node becomes Opaque."""


@dataclass(frozen=True)
class Data:
    """A tensor the network computes: the spec node holding it and its per-sample shape.

    - ``batch_axis``: the ONNX axis that is the batch axis the input marks (not part of the
      shape): the first, or where a transpose moved it (``nn.MultiheadAttention``'s
      ``L x N x E``); ``None`` when an exporter folded a batch of 1 into another axis (Swin's
      windows), and then every ONNX axis is an axis of the shape.
    - ``image``: a tensor with its batch first, read channels first (``N x C x H x W``; a signal
      ``N x C x T``, a volume ``N x C x D x H x W``) and shown channels last (``H x W x C``,
      ``T x C``, ``D x H x W x C``); any other tensor keeps the ONNX order.
    """

    node: str
    shape: tuple
    image: bool = False
    batch_axis: int | None = 0

    @property
    def batched(self) -> bool:
        return self.batch_axis is not None

    @property
    def rank(self) -> int:
        """The ONNX rank."""
        return len(self.shape) + (1 if self.batched else 0)


class Unknown:
    """A constant whose value cannot be computed here (an operator on initializers cnncalc does not
    evaluate, external data that is not there); ``dims`` are its dimensions when known, ``reason``
    says why the value is unknown when there is more to say than "computed at run time"."""

    def __init__(self, dims=None, reason=None):
        self.dims = dims
        self.reason = reason


def inner_dims(data) -> tuple:
    """The per-sample dimensions in ONNX order (``C x H x W`` for an image)."""
    s = tuple(data.shape)
    return (s[-1], *s[:-1]) if data.image else s


def onnx_dims(data, batch) -> tuple:
    """The ONNX dimensions of a computed tensor (the batch at its axis, when it has one)."""
    inner = inner_dims(data)
    if not data.batched:
        return inner
    k = data.batch_axis
    return (*inner[:k], batch, *inner[k:])


def shape_of(inner, image) -> tuple:
    """The per-sample shape of per-sample ONNX dimensions (an image's ``C x H x W`` is ``H x W x C``,
    a signal's ``C x T`` is ``T x C``)."""
    inner = tuple(inner)
    return (*inner[1:], inner[0]) if image else inner


def spec_axis(data, axis) -> int:
    """An ONNX axis of ``data`` as an axis (non-negative) of its per-sample shape; the batch axis
    has none (:class:`Fallback`)."""
    rank = data.rank
    a = int(axis)
    if not -rank <= a < rank:
        raise Fallback(f"axis {axis} is outside a rank-{rank} tensor")
    a %= rank
    if data.batched:
        if a == data.batch_axis:
            raise Fallback("an operation along the batch axis")
        a -= 1 if a > data.batch_axis else 0
    if not data.image:
        return a
    return len(data.shape) - 1 if a == 0 else a - 1  # channels first in ONNX, last here


def onnx_axes_of(data) -> list:
    """``perm[i]``: the per-sample ONNX axis that shape axis ``i`` is."""
    n = len(data.shape)
    return [*range(1, n), 0] if data.image else list(range(n))
