"""The ONNX entry points: a path, bytes or ``onnx.ModelProto`` -> a :class:`~cnncalc.spec.Spec`."""

from __future__ import annotations

import os
import re

from ...spec import Graph, Spec
from ..errors import OnnxImportError
from .reader import Reader

MIN_OPSET = 11
"""The oldest default-domain opset read as it is (torch exports 17 to 20 by default); older files
are upgraded in memory first (:func:`upgrade`)."""

UPGRADE_TO = 13
"""The opset older files are upgraded to with ``onnx.version_converter`` (the ONNX model zoo's
classic CNNs are opset 7-9)."""


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
    upgraded = None
    if version < MIN_OPSET:
        model, upgraded = upgrade(model, version), UPGRADE_TO
    base_dir = os.path.dirname(os.path.abspath(os.fspath(path_or_model))) if isinstance(path_or_model, (str, os.PathLike)) else None
    reader = Reader(model, base_dir)
    outputs = reader.read()
    if name is None:
        name = model.graph.name or "onnx_model"
        if isinstance(path_or_model, (str, os.PathLike)):
            name = os.path.splitext(os.path.basename(os.fspath(path_or_model)))[0]
    producer = " ".join(p for p in (model.producer_name, model.producer_version) if p)
    folded = folded_batchnorm(model, reader)
    meta = {"source": "onnx", "opset": version, "producer": producer}
    if upgraded:
        meta["upgraded_to"] = upgraded
    if folded:
        meta["folded_batchnorm"] = folded
    return Spec(
        Graph(tuple(reader.nodes), outputs=outputs, name=None),
        model=name,
        description=f"ONNX model {name} (opset {version}" + (f", upgraded to {upgraded} in memory" if upgraded else "") + (f", {producer})" if producer else ")"),
        meta=meta,
    )


def upgrade(model, version):
    """The model converted to :data:`UPGRADE_TO` in memory; a one-line error naming the operator
    the converter cannot upgrade."""
    from onnx import version_converter

    try:
        return version_converter.convert_version(model, UPGRADE_TO)
    except Exception as exc:  # the converter raises RuntimeError (a failed C++ assertion)
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        culprit = _upgrade_culprit(model, version, text)
        what = f" (operator {culprit})" if culprit else ""
        reason = re.sub(r"^.*?(Assertion|failed:)\s*", "", text).replace("%s", "").strip()
        raise OnnxImportError(
            f"the model uses opset {version}, older than {MIN_OPSET}, and onnx.version_converter cannot upgrade it{what}: {reason[:160]}"
        ) from None


def _upgrade_culprit(model, version, text) -> str | None:
    """The operator a version-converter failure is about: one the converter names ("for Scan"),
    one ONNX has no schema for, or the one whose schema has the attribute the message names."""
    from onnx import defs

    types = sorted({n.op_type for n in model.graph.node if n.domain in ("", "ai.onnx")})
    named = re.search(r"for (\w+)\s*$", text)
    if named and named.group(1) in types:
        return named.group(1)
    unknown = [t for t in types if not defs.has(t)]
    if unknown:
        return ", ".join(unknown)
    attribute = re.search(r"attribute '(\w+)'", text)
    if attribute:
        for t in types:
            try:
                schema = defs.get_schema(t, version)
            except Exception:  # no schema of that operator at that version
                continue
            if attribute.group(1) in schema.attributes:
                return t
    return None


def folded_batchnorm(model, reader) -> dict | None:
    """The BatchNorms an exporter folded into the convolutions before them, as far as the file
    tells: ``{"convolutions": n, "channels": C, "restore": k}``, where ``k`` is what the file lacks
    against torch's count of the unfolded model (docs/import.md, "BatchNorm folding"): each folded
    BatchNorm's gamma and beta (``2C``) less the bias the folding gave the convolution (``C``, when
    the file keeps it: the dynamo exporter drops an all-zero one), the convolutions before them
    taken to have had no bias. The signs: the TorchScript exporter names a folded weight
    ``onnx::Conv_N`` (a tensor it computed) where an unfolded one keeps its module path
    (``layer1.0.conv1.weight``); the dynamo exporter's optimizer records ``FuseBatchNormIntoConv``
    in the node's metadata. ``None`` when nothing was folded (or the writer does not say)."""
    convolutions = channels = restore = 0
    for node in model.graph.node:
        if node.op_type != "Conv" or len(node.input) < 2 or node.domain not in ("", "ai.onnx"):
            continue
        rules = next((p.value for p in node.metadata_props if p.key == "pkg.onnxscript.rewriter.rule_name"), "")
        if "FuseBatchNormIntoConv" not in rules and not node.input[1].startswith("onnx::Conv_"):
            continue
        dims = reader.dims(node.input[1])
        if not dims:
            continue
        c = int(dims[0])
        has_bias = len(node.input) > 2 and node.input[2] != ""
        convolutions += 1
        channels += c
        restore += c if has_bias else 2 * c
    return {"convolutions": convolutions, "channels": channels, "restore": restore} if convolutions else None


def is_onnx_file(path: str) -> bool:
    return path.lower().endswith(".onnx")
