"""The ONNX entry points: a path, bytes or ``onnx.ModelProto`` -> a :class:`~cnncalc.spec.Spec`."""

from __future__ import annotations

import os

from ...spec import Graph, Spec
from ..errors import OnnxImportError
from .reader import Reader

MIN_OPSET = 11
"""The oldest default-domain opset read (torch exports 17 or 18 by default)."""


def load_model(path_or_model):
    """An ``onnx.ModelProto`` from a path, bytes or a ModelProto; one-line errors for bad files."""
    try:
        import onnx
    except ModuleNotFoundError:
        raise OnnxImportError("reading ONNX files needs the onnx package: pip install 'cnncalc[onnx]'") from None
    if hasattr(path_or_model, "graph") and hasattr(path_or_model, "opset_import"):
        return path_or_model
    from google.protobuf.message import DecodeError

    where = "the bytes given"
    try:
        if isinstance(path_or_model, (bytes, bytearray)):
            model = onnx.load_from_string(bytes(path_or_model))
        else:
            where = f"'{os.fspath(path_or_model)}'"
            model = onnx.load(os.fspath(path_or_model), load_external_data=False)
    except FileNotFoundError:
        raise OnnxImportError(f"no such file: {where}") from None
    except IsADirectoryError:
        raise OnnxImportError(f"{where} is a directory, not an .onnx file") from None
    except DecodeError as exc:
        raise OnnxImportError(f"{where} is not an ONNX model (or is truncated): {exc}") from None
    except (OSError, ValueError, TypeError) as exc:
        raise OnnxImportError(f"cannot read {where}: {type(exc).__name__}: {exc}") from None
    if not model.ir_version or not model.HasField("graph") or not model.graph.node:
        raise OnnxImportError(f"{where} is not an ONNX model (no graph; empty, truncated or another format)")
    return model


def opset(model) -> int:
    for entry in model.opset_import:
        if entry.domain in ("", "ai.onnx"):
            return int(entry.version)
    return 0


def from_onnx(path_or_model, *, name: str | None = None) -> Spec:
    """The :class:`Spec` (a :class:`Graph`) of an ONNX model: a path, the file's bytes or an
    ``onnx.ModelProto``. See the module docstring for what is read and how it is counted."""
    model = load_model(path_or_model)
    version = opset(model)
    if version < MIN_OPSET:
        raise OnnxImportError(f"the model uses opset {version}: cnncalc reads opset {MIN_OPSET} and later (re-export with opset_version={MIN_OPSET} or newer)")
    base_dir = os.path.dirname(os.path.abspath(os.fspath(path_or_model))) if isinstance(path_or_model, (str, os.PathLike)) else None
    reader = Reader(model, base_dir)
    outputs = reader.read()
    if name is None:
        name = model.graph.name or "onnx_model"
        if isinstance(path_or_model, (str, os.PathLike)):
            name = os.path.splitext(os.path.basename(os.fspath(path_or_model)))[0]
    producer = " ".join(p for p in (model.producer_name, model.producer_version) if p)
    return Spec(
        Graph(tuple(reader.nodes), outputs=outputs, name=None),
        model=name,
        description=f"ONNX model {name} (opset {version}" + (f", {producer})" if producer else ")"),
        meta={"source": "onnx", "opset": version, "producer": producer},
    )


def is_onnx_file(path: str) -> bool:
    return path.lower().endswith(".onnx")
