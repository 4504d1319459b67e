"""One ONNX node as the operator builders see it (:class:`Op`), and the builders' answers besides a
layer: :class:`Fallback` (no kind for this form: an Opaque row), :data:`ALIAS` (no row) and
:class:`Outputs` (a node of several outputs: ``Split``)."""

from __future__ import annotations

from dataclasses import dataclass

from ...arith import is_number, product
from ..errors import OnnxImportError
from .tensors import Data, Fallback, Unknown, onnx_dims

__all__ = ["ALIAS", "Fallback", "Op", "Outputs"]


class Op:
    """An ONNX node with its inputs resolved: ``data`` (computed tensors, in order) and constants."""

    def __init__(self, reader, node, name):
        from onnx import helper

        self.reader = reader
        self.type = node.op_type
        self.name = name
        self.inputs = list(node.input)
        self.outputs = list(node.output)
        self.attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        self.data_index = [i for i, t in enumerate(self.inputs) if t in reader.data]
        self.weights: list[str] = []  # initializer names consumed as weights (for sharing)
        self.layout = None  # (image, batched) of the output, when the builder decides it
        self._learned: set = set()  # stored float tensors read as learned operands
        self._stored = None

    def attr(self, key, default=None):
        value = self.attrs.get(key, default)
        return value.decode() if isinstance(value, bytes) else value

    @property
    def data(self) -> list[Data]:
        return [self.reader.data[self.inputs[i]] for i in self.data_index]

    @property
    def rank(self) -> int:
        """The ONNX rank (batch included, when it has one) of the first computed input."""
        return self.data[0].rank

    @property
    def image(self) -> bool:
        """Whether the first computed input is an ``N x C x H x W`` image."""
        return self.data[0].image

    def dims(self, k=0) -> tuple:
        """The ONNX dimensions of computed input ``k`` (in :attr:`data` order)."""
        return onnx_dims(self.data[k], self.reader.batch)

    def has(self, i) -> bool:
        return i < len(self.inputs) and self.inputs[i] != ""

    def const(self, i):
        """The value of constant input ``i`` (a numpy array), or :class:`Unknown`."""
        return self.reader.value(self.inputs[i])

    def known_const(self, i, what):
        value = self.const(i)
        if isinstance(value, Unknown):
            raise Fallback(f"its {what} (input {i + 1}) " + (value.reason or "is computed at run time"))
        return value

    def const_dims(self, i) -> tuple:
        return self.reader.dims(self.inputs[i])

    def weight(self, i) -> tuple:
        """The dimensions of weight input ``i`` (recorded for weight sharing)."""
        if self.inputs[i] in self.reader.data:
            raise Fallback(f"its weight (input {i + 1}) is computed by the network")
        self.weights.append(self.inputs[i])
        dims = self.const_dims(i)
        if dims is None:
            raise Fallback(f"the shape of its weight '{self.inputs[i]}' is unknown")
        return dims

    def learned(self, i) -> tuple | None:
        """The dimensions of constant input ``i`` read as a learned tensor: a float tensor of more
        than one element made of tensors the file stores (directly or through constant-only
        operators: Unsqueeze, Reshape, Identity, Expand, Gather); ``None`` for anything else (an
        integer shape or index, a scalar, a value computed from no stored tensor)."""
        name = self.inputs[i]
        if not self.reader.is_float(name):
            return None
        dims = self.const_dims(i)
        sources = self.reader.sources(name)
        if dims is None or not sources or (is_number(product(dims)) and product(dims) <= 1):
            return None
        self._learned |= sources
        return dims

    def stored(self) -> int:
        """The elements of the stored tensors this node's learned operands are made of that no
        node before it counted (a buffer several nodes read is counted once, at the first)."""
        if self._stored is None:
            self._stored = self.reader.claim_stored(self._learned)
        return self._stored

    def work(self) -> int:
        """The multiply-accumulates of the products on constants that computed this node's learned
        operands (swin_v2's position-bias MLP), not counted by a node before it."""
        return self.reader.claim_work([t for i, t in enumerate(self.inputs) if t and i not in self.data_index])

    def mismatch(self, what) -> OnnxImportError:
        """A one-line error: the node's weights do not fit its input (a file that cannot run)."""
        return OnnxImportError(f"node '{self.name}' ({self.type}): {what}")


ALIAS = object()
"""A builder's answer for a node whose output is its input (Identity, Cast): no row."""


@dataclass(frozen=True)
class Outputs:
    """A builder's answer for a node of several outputs: ``layers[k]`` makes output ``k`` (a layer
    or a chain) from the node's first computed input."""

    layers: tuple
