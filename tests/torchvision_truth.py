"""Writes the torchvision catalogue the ONNX tests read: every classification model of torchvision,
exported by ``torch.onnx.export``, stored as its graph without the weights, and a record per export
of what torch and torchvision say of it (``tests/test_torchvision_catalogue.py`` reads them).

Run as a script (needs torch and torchvision; about half an hour on two cores)::

    python -m venv /work/venvs/tv --system-site-packages
    /work/venvs/tv/bin/pip install --no-deps "torchvision==0.28.*"     # the release of torch 2.13
    /work/venvs/tv/bin/python tests/torchvision_truth.py [NAME ...]

What it writes under ``tests/data/torchvision_catalogue/``:

- ``graphs.tar.xz``: one ``.onnx`` per export (``NAME.EXPORTER.MODE.onnx``), saved with external
  data and the ``.data`` file dropped: every float initializer over 1,024 bytes keeps its name,
  type and dimensions and points at a data file that is not there (cnncalc reads shapes, never
  values, of weights); integer tensors (indices, shapes) stay in the file. The dynamo exporter's per-node stack traces and FX dumps (``metadata_props``
  ``pkg.torch.onnx.stack_trace`` / ``fx_node``) are dropped to keep the files small; the rest of
  each file is what the exporter wrote.
- ``records.json``: per export, torch's parameter count (``sum(p.numel())``) and the part of it
  the forward pass does not use (GoogLeNet's and Inception v3's auxiliary classifiers, which an
  eval export leaves out), the BatchNorm channels the forward pass uses (and those right after a
  convolution with a bias, whose folding drops that bias too), torchvision's published figures from the model's default weights'
  ``meta`` (``num_params`` and ``_ops``, GFLOPS as torchvision prints them; no download: the meta is
  in the weights enum), the input size of those weights (their transforms' crop), the exporter
  (``torchscript``: ``dynamo=False``; ``dynamo``), the mode (``eval`` folds BatchNorm into the
  convolutions; ``training`` keeps it), the opset, and the float elements the file stores
  (initializers and ``Constant`` nodes of more than one element: a one-element tensor is an
  arithmetic constant). ``python tests/torchvision_truth.py --refresh STAGE`` writes the records
  of staged files again without exporting.

The weights. A trained network's parameters all differ and its BatchNorm statistics are not the
fresh 0/1; an untrained one's are equal in many places, and the exporters then store equal
tensors once (TorchScript) or drop all-zero folded biases (dynamo). The catalogue stands for the
files users export from trained models: every parameter and every BatchNorm's running statistics
are drawn at random before the export (buffers that are geometry, such as swin_v2's relative
coordinate table, are kept as the model builds them). The untrained case is tested live in
``tests/test_onnx_import.py``.

torchvision's compiled operators may not load next to a CPU build of torch (``import torchvision``
fails with "operator torchvision::nms does not exist": a CUDA build of its extension); the two
operators its fake-tensor registrations name are defined here with ``torch.library`` first, so its
pure-Python model builders run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data", "torchvision_catalogue")
GRAPHS = os.path.join(DATA, "graphs.tar.xz")
RECORDS = os.path.join(DATA, "records.json")

DYNAMO = (
    "alexnet", "convnext_tiny", "densenet121", "efficientnet_b0", "efficientnet_v2_s", "googlenet",
    "inception_v3", "maxvit_t", "mnasnet1_0", "mobilenet_v2", "mobilenet_v3_large", "mobilenet_v3_small",
    "regnet_x_400mf", "regnet_y_400mf", "resnet18", "resnet50", "resnext50_32x4d", "shufflenet_v2_x1_0",
    "squeezenet1_0", "squeezenet1_1", "swin_t", "swin_v2_t", "vgg11_bn", "vgg16", "vit_b_16", "vit_b_32",
    "wide_resnet50_2",
)
"""A representative third of the catalogue, exported by the dynamo exporter too: one or more of
every family (the transformers, ShuffleNet's channel split, the squeeze-and-excitation nets)."""

TRAINING = ("resnet18", "mobilenet_v3_small", "efficientnet_b0", "densenet121", "vgg11_bn")
"""Exported in training mode too (``training=TrainingMode.TRAINING``): BatchNorm kept, not folded."""

EXTERNAL_BYTES = 1024
"""Initializers larger than this are stored as external data (onnx.save's default threshold)."""


def exports(names):
    """``(name, exporter, mode)`` of every export, in a stable order."""
    out = []
    for name in names:
        out.append((name, "torchscript", "eval"))
        if name in DYNAMO:
            out.append((name, "dynamo", "eval"))
        if name in TRAINING:
            out.append((name, "torchscript", "training"))
    return out


def file_name(name, exporter, mode) -> str:
    return f"{name}.{exporter}.{mode}.onnx"


def load_records() -> dict:
    with open(RECORDS, encoding="utf-8") as f:
        return json.load(f)


# ------------------------------------------------------------------------------------------------
# The generation (torch and torchvision: only when run as a script)
# ------------------------------------------------------------------------------------------------


def _torchvision():
    import torch

    try:
        import torchvision  # noqa: F401
    except RuntimeError as exc:
        if "torchvision::nms" not in str(exc):
            raise
        for mod in [m for m in sys.modules if m.startswith("torchvision")]:
            del sys.modules[mod]
        lib = torch.library.Library("torchvision", "DEF")
        lib.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
        lib.define("qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
        _torchvision.lib = lib  # kept alive: the definitions last as long as the library object
        import torchvision  # noqa: F401
    import torchvision.models

    return torchvision


def catalogue() -> list[str]:
    tv = _torchvision()
    return list(tv.models.list_models(module=tv.models))


def _crop(weights) -> int:
    transforms = weights.transforms
    size = transforms.keywords.get("crop_size", 224) if hasattr(transforms, "keywords") else 224
    return int(size[0] if isinstance(size, (list, tuple)) else size)


def _build(tv, name, size):
    kwargs = {}
    if name.startswith("vit_"):
        kwargs["image_size"] = size  # the SWAG weights (ViT-H/14 at 518) set it from their meta
    return tv.models.get_model(name, weights=None, **kwargs)


def _trained_like(torch, model):
    """Every parameter and BatchNorm statistic drawn at random (see the module docstring)."""
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.02)
        for m in model.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm) and m.running_mean is not None:
                m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=g) * 0.1)
                m.running_var.copy_(torch.rand(m.running_var.shape, generator=g) + 0.5)


def _float_types():
    from onnx import TensorProto

    return {TensorProto.FLOAT, TensorProto.FLOAT16, TensorProto.DOUBLE, TensorProto.BFLOAT16}


def _elements(t) -> int:
    n = 1
    for d in t.dims:
        n *= int(d)
    return n


def _inline_integers(model, base_dir):
    """Integer tensors the exporter wrote as external data read back into the file (they are
    structure: indices and shapes)."""
    from onnx import TensorProto
    from onnx.external_data_helper import load_external_data_for_tensor

    floats = _float_types()
    for t in model.graph.initializer:
        if t.data_location == TensorProto.EXTERNAL and t.data_type not in floats:
            load_external_data_for_tensor(t, base_dir)
            t.data_location = TensorProto.DEFAULT
            del t.external_data[:]


def _strip(model, data_name):
    """Every initializer over :data:`EXTERNAL_BYTES` as external data at the offsets ``onnx.save``
    would give it, the data itself dropped; per-node stack traces and FX dumps removed."""
    from onnx import TensorProto, helper

    offset = 0
    floats = _float_types()
    for t in model.graph.initializer:
        size = helper.tensor_dtype_to_np_dtype(t.data_type).itemsize * _elements(t)
        if t.data_type not in floats or (size <= EXTERNAL_BYTES and t.data_location != TensorProto.EXTERNAL):
            continue  # integer tensors (indices, shapes) are structure, not weights: kept
        for field in ("raw_data", "float_data", "int32_data", "int64_data", "double_data", "uint64_data", "string_data"):
            t.ClearField(field)
        del t.external_data[:]
        t.data_location = TensorProto.EXTERNAL
        offset = (offset + 4095) // 4096 * 4096
        for key, value in (("location", data_name), ("offset", str(offset)), ("length", str(size))):
            entry = t.external_data.add()
            entry.key, entry.value = key, value
        offset += size
    for node in model.graph.node:
        keep = [p for p in node.metadata_props if p.key not in ("pkg.torch.onnx.stack_trace", "pkg.torch.onnx.fx_node")]
        del node.metadata_props[:]
        node.metadata_props.extend(keep)


def torch_facts(name, mode) -> dict:
    """What torch and torchvision say of a model, without weights: built on the ``meta`` device
    and run once there, so that the modules the forward pass uses are known (GoogLeNet's and
    Inception v3's auxiliary classifiers run in training only and are not in an eval export)."""
    import torch

    tv = _torchvision()
    weights = tv.models.get_model_weights(name).DEFAULT
    size = _crop(weights)
    try:
        with torch.device("meta"):
            model = _build(tv, name, size)
    except NotImplementedError:  # a builder that computes its widths with tensors (RegNet)
        model = _build(tv, name, size).to("meta")
    model.train(mode == "training")
    ran = set()
    handles = [m.register_forward_hook(lambda module, i, o: ran.add(module)) for m in model.modules()]
    with torch.no_grad():
        model(torch.empty(1, 3, size, size, device="meta"))
    for h in handles:
        h.remove()
    params = sum(p.numel() for p in model.parameters())
    # a branch no module of which ran (an auxiliary classifier) is unused; a single module that did
    # not run itself is used by its parent (nn.MultiheadAttention reads out_proj's weights)
    unused = {id(p) for m in model.modules() if list(m.children()) and not any(d in ran for d in m.modules()) for p in m.parameters()}
    used = params - sum(p.numel() for p in model.parameters() if id(p) in unused)
    bns = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm) and m in ran]
    # a BatchNorm right after a convolution with a bias (VGG-BN): folding drops that bias as well
    order = [m for m in model.modules() if not list(m.children())]
    after_bias = sum(
        b.num_features for a, b in zip(order, order[1:])
        if isinstance(b, torch.nn.modules.batchnorm._BatchNorm) and b in ran and isinstance(a, torch.nn.Conv2d) and a.bias is not None
    )
    return {
        "model": name,
        "mode": mode,
        "input": [size, size, 3],
        "torch_params": params,
        "torch_params_unused": params - used,
        "torch_bn_channels": sum(m.num_features for m in bns),
        "torch_bn_after_biased_conv": after_bias,
        "published_params": weights.meta.get("num_params"),
        "published_gflops": weights.meta.get("_ops"),
        "weights": str(weights),
        "torch": torch.__version__,
        "torchvision": tv.__version__,
    }


def file_facts(path) -> dict:
    """What the file stores: its opset and the elements of its float tensors of more than one
    element (initializers and Constant nodes; a one-element tensor is an arithmetic constant such
    as a scale or an epsilon, never counted as a parameter)."""
    import onnx

    proto = onnx.load(path, load_external_data=False)
    floats = _float_types()
    total = 0
    for t in proto.graph.initializer:
        if t.data_type in floats and _elements(t) > 1:
            total += _elements(t)
    for node in proto.graph.node:
        if node.op_type == "Constant":
            for a in node.attribute:
                if a.name == "value" and a.t.data_type in floats and _elements(a.t) > 1:
                    total += _elements(a.t)
    return {
        "opset": next(int(o.version) for o in proto.opset_import if o.domain in ("", "ai.onnx")),
        "file_floats": total,
        "file_bytes": os.path.getsize(path),
    }


def export_one(name, exporter, mode, out_dir) -> dict:
    """Export one model, strip it into ``out_dir`` and return its record."""
    import onnx
    import torch

    tv = _torchvision()
    weights = tv.models.get_model_weights(name).DEFAULT
    size = _crop(weights)
    model = _build(tv, name, size)
    _trained_like(torch, model)
    training = mode == "training"
    model.train(training)
    x = torch.randn(1, 3, size, size)
    target = os.path.join(out_dir, file_name(name, exporter, mode))
    with tempfile.TemporaryDirectory(dir=out_dir) as tmp:
        raw = os.path.join(tmp, "model.onnx")
        kwargs = {"dynamo": exporter == "dynamo"}
        if training:
            kwargs["training"] = torch.onnx.TrainingMode.TRAINING
        if exporter == "dynamo":
            kwargs["external_data"] = True
        torch.onnx.export(model, (x,), raw, **kwargs)
        del model
        proto = onnx.load(raw, load_external_data=False)
        _inline_integers(proto, tmp)
    _strip(proto, os.path.basename(target) + ".data")
    onnx.save(proto, target)
    return {**torch_facts(name, mode), "exporter": exporter, **file_facts(target)}


def refresh(stage):
    """The records of the staged files written again (torch's and the file's facts; no export)."""
    with open(os.path.join(stage, "records.json"), encoding="utf-8") as f:
        old = json.load(f)
    records = {}
    for key, record in sorted(old.items()):
        records[key] = {**torch_facts(record["model"], record["mode"]), "exporter": record["exporter"], **file_facts(os.path.join(stage, key))}
    with open(os.path.join(stage, "records.json"), "w", encoding="utf-8") as f:
        json.dump(records, f, indent=1, sort_keys=True)
    return records


def main(argv):
    names = argv or catalogue()
    stage = os.environ.get("TV_STAGE", os.path.join(tempfile.gettempdir(), "torchvision_catalogue"))
    os.makedirs(stage, exist_ok=True)
    records = {}
    if os.path.exists(os.path.join(stage, "records.json")):
        with open(os.path.join(stage, "records.json"), encoding="utf-8") as f:
            records = json.load(f)
    for name, exporter, mode in exports(names):
        key = file_name(name, exporter, mode)
        if key in records and os.path.exists(os.path.join(stage, key)):
            continue
        # one process per export: memory is given back, and a crash names its model
        proc = subprocess.run(
            [sys.executable, os.path.abspath(__file__), "--one", name, exporter, mode, stage],
            capture_output=True, text=True, timeout=3600,
        )
        if proc.returncode != 0:
            print(f"FAILED {key}: {proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else proc.returncode}", flush=True)
            continue
        records[key] = json.loads(proc.stdout.strip().splitlines()[-1])
        print(f"{key}: {records[key]['torch_params']:,} params, {records[key]['file_bytes']:,} bytes", flush=True)
        with open(os.path.join(stage, "records.json"), "w", encoding="utf-8") as f:
            json.dump(records, f, indent=1, sort_keys=True)
    pack(stage, records)


def pack(stage, records):
    """``graphs.tar.xz`` and ``records.json`` from the staged files (stable order, no timestamps)."""
    os.makedirs(DATA, exist_ok=True)
    tmp = GRAPHS + ".tmp"
    with tarfile.open(tmp, "w:xz", preset=9) as tar:
        for key in sorted(records):
            info = tar.gettarinfo(os.path.join(stage, key), arcname=key)
            info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
            with open(os.path.join(stage, key), "rb") as f:
                tar.addfile(info, f)
    os.replace(tmp, GRAPHS)
    with open(RECORDS + ".tmp", "w", encoding="utf-8") as f:
        json.dump(records, f, indent=1, sort_keys=True)
        f.write("\n")
    os.replace(RECORDS + ".tmp", RECORDS)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--refresh"]:
        import warnings

        warnings.filterwarnings("ignore")
        stage = sys.argv[2]
        pack(stage, refresh(stage))
    elif sys.argv[1:2] == ["--one"]:
        import warnings

        warnings.filterwarnings("ignore")
        _, _, name, exporter, mode, out_dir = sys.argv
        print(json.dumps(export_one(name, exporter, mode, out_dir)))
    else:
        main(sys.argv[1:])
