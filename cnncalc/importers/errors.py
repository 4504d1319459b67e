"""The importers' errors: one-line messages that name the file, layer or node and the cause.

Each is a :class:`~cnncalc.spec.SpecError`, so the command line prints it as one ``error:`` line
and exits 2.
"""

from __future__ import annotations

from ..spec import SpecError


class ModelFileError(SpecError):
    """A model (a file, a config or a live model) that cnncalc cannot or will not read."""


class KerasImportError(ModelFileError):
    """A Keras model (or file) cnncalc cannot read: the message names the layer and the cause."""


class OnnxImportError(ModelFileError):
    """An ONNX model (or file) cnncalc cannot read: the message names the node or the cause."""
