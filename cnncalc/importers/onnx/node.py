"""One ONNX node as the operator builders see it (:class:`Op`), and the builders' two answers
besides a layer: :class:`Fallback` (no kind for this form: an Opaque row) and :data:`ALIAS`."""

from __future__ import annotations

from .tensors import Data, Unknown


class Op:
    """An ONNX node with its inputs resolved: ``data`` (computed tensors, in order) and constants."""

    def __init__(self, reader, node, name):
        from onnx import helper

        self.reader = reader
        self.type = node.op_type
        self.name = name
        self.inputs = list(node.input)
        self.attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        self.data_index = [i for i, t in enumerate(self.inputs) if t in reader.data]
        self.weights: list[str] = []  # initializer names consumed as weights (for sharing)

    def attr(self, key, default=None):
        value = self.attrs.get(key, default)
        return value.decode() if isinstance(value, bytes) else value

    @property
    def data(self) -> list[Data]:
        return [self.reader.data[self.inputs[i]] for i in self.data_index]

    @property
    def rank(self) -> int:
        """The ONNX rank (batch included) of the first computed input."""
        return len(self.data[0].shape) + 1

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


class Fallback(Exception):
    """Raised by a builder when this form of the operator has no kind: the node becomes Opaque."""


ALIAS = object()
"""A builder's answer for a node whose output is its input (Identity, Cast): no row."""
