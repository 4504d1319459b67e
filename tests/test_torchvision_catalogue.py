"""Every classification model of torchvision, as ``torch.onnx.export`` writes it, against what
torch and torchvision say of it.

``tests/data/torchvision_catalogue/`` holds the graphs without their weights (``graphs.tar.xz``:
every model by the TorchScript exporter, a representative third by the dynamo exporter too, a few
in training mode) and a record per export (``records.json``: torch's parameter count and
BatchNorm channels, torchvision's published ``num_params`` and ``_ops``, the input size), both
written by ``tests/torchvision_truth.py`` (needs torchvision; not run here). Each export must:

- read with no error, and with no "not counted" row: every operator of the catalogue has a kind;
- hold as many parameters as the file's float tensors of more than one element (initializers and
  constants; a one-element tensor is an arithmetic constant);
- give torch's parameter count under the folded-BatchNorm rule of docs/import.md: an eval export
  folds each BatchNorm that follows a convolution into it (``C`` fewer parameters: gamma and beta
  become the convolution's bias); a BatchNorm kept in the file adds its ``2C`` running statistics
  as non-trainable parameters; where an exporter stores a learned table already expanded (Swin's
  and MaxViT's relative-position bias: :func:`expanded_tables`, written out from each
  architecture's sizes) the file holds more;
- count torchvision's published GFLOPS under ``--convention torchvision`` to the 3 decimals
  torchvision prints (conv + linear + the attention's matrix products: docs/conventions.md).

``tests/test_onnx_import.py`` exports small torch-only networks live (torch is a CI dependency,
torchvision is not); :func:`test_three_live_models` builds three catalogue-shaped models live.
"""

from __future__ import annotations

import importlib.util
import os
import tarfile

import pytest

pytest.importorskip("onnx", reason="needs the onnx package (pip install 'cnncalc[onnx]'; CI installs it)")

from cnncalc import analyze, from_onnx  # noqa: E402
from cnncalc.conventions import get  # noqa: E402

_spec = importlib.util.spec_from_file_location("torchvision_truth", os.path.join(os.path.dirname(__file__), "torchvision_truth.py"))
truth = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(truth)

RECORDS = truth.load_records()
KEYS = sorted(RECORDS)

# Swin v1 and MaxViT keep a relative-position bias table of (2M - 1)^2 x heads per attention
# block (M x M windows) and gather it into heads x M^2 x M^2 on every forward pass; the exporters
# fold the gather, so the file stores the gathered tensor: (M^4 - (2M - 1)^2) x heads more
# elements than torch's parameters, per block. (depths, heads per stage, window M)
SWIN_V1 = {
    "swin_t": ((2, 2, 6, 2), (3, 6, 12, 24), 7),
    "swin_s": ((2, 2, 18, 2), (3, 6, 12, 24), 7),
    "swin_b": ((2, 2, 18, 2), (4, 8, 16, 32), 7),
}


def expanded_tables(model: str) -> int:
    """The elements a file holds beyond torch's parameters for its expanded bias tables."""
    if model in SWIN_V1:
        depths, heads, m = SWIN_V1[model]
        return sum(d * h for d, h in zip(depths, heads)) * (m**4 - (2 * m - 1) ** 2)
    if model.startswith("swin_v2_"):
        # the continuous position bias's coordinate table, (2 x 8 - 1)^2 x 2 values: a buffer in
        # every torch block (not a parameter), stored once by the exporters
        return 15 * 15 * 2
    if model == "maxvit_t":
        # 4 stages of (2, 2, 5, 2) blocks, each a block-attention and a grid-attention layer;
        # heads = channels / 32 with channels (64, 128, 256, 512); 7 x 7 partitions
        blocks, heads = (2, 2, 5, 2), (2, 4, 8, 16)
        return sum(2 * b * h for b, h in zip(blocks, heads)) * (7**4 - 13**2)
    return 0


# What the dynamo exporter's optimizer stores beyond torch's parameters in two files, and work it
# did at export time (docs/import.md, "Relative-position biases"). Pinned from the stored files:
STORED_BY_EXPORTER = {
    # the shifted-window attention mask's constant pieces (torch builds the mask on every pass
    # from a zero canvas and 9 region fills per stage), stored as float initializers, deduplicated
    "swin_t.dynamo.eval.onnx": (4_018, "the shifted-window mask's region fills"),
    # those pieces, and the first layer of each block's position-bias MLP applied to the
    # coordinate table at export time: 15 x 15 x 512 stored values instead of the 2 x 512 weight
    "swin_v2_t.dynamo.eval.onnx": (1_374_910, "the first MLP layer precomputed on the coordinate table, and the mask fills"),
}
PRECOMPUTED = {
    # that first MLP layer's MACs (15 x 15 x 2 x 512 in each of the 12 blocks) ran at export time:
    # torchvision's _ops counts them, the file no longer does them
    "swin_v2_t.dynamo.eval.onnx": (12 * 15 * 15 * 2 * 512, "the position-bias MLP's first layer, precomputed"),
}


@pytest.fixture(scope="module")
def graphs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("torchvision")
    with tarfile.open(truth.GRAPHS, "r:xz") as tar:
        tar.extractall(folder, filter="data")
    return folder


def test_every_catalogue_model_is_stored():
    """The records cover torchvision's 80 classifiers by the TorchScript exporter, a third of them
    by dynamo and a few in training mode (tests/torchvision_truth.py)."""
    models = {r["model"] for r in RECORDS.values()}
    assert len(models) == 80
    by = {(e, m) for e, m in ((r["exporter"], r["mode"]) for r in RECORDS.values())}
    assert by == {("torchscript", "eval"), ("dynamo", "eval"), ("torchscript", "training")}
    assert sum(r["exporter"] == "dynamo" for r in RECORDS.values()) >= 80 // 3
    # torchvision publishes torch's count; GoogLeNet's without its auxiliary classifiers
    assert all(r["published_params"] in (r["torch_params"], r["torch_params"] - r["torch_params_unused"]) for r in RECORDS.values())


@pytest.mark.parametrize("key", KEYS)
def test_every_export_reads_as_torch_and_torchvision_count_it(graphs, key):
    record = RECORDS[key]
    a = analyze(from_onnx(str(graphs / key)))
    assert not a.uncounted, [f"{r.name} ({r.layer.class_name})" for r in a.uncounted][:5]
    assert not [w for w in a.warnings if "not counted" in w]
    # parameters: the file's float tensors of more than one element
    assert a.totals.params == record["file_floats"]
    # torch's count of what the forward pass uses (an eval export leaves auxiliary classifiers
    # out): folded BatchNorms lose C (gamma, beta become the conv's bias), kept ones add 2C
    # running statistics; expanded relative-position tables add their extra elements
    kept = sum(r.output[-1] for r in a.layers if r.kind == "BatchNorm")
    folded = record["torch_bn_channels"] - kept
    # a folded BatchNorm after a convolution with a bias (VGG-BN) takes that bias with it: 2C
    lost = folded + (record["torch_bn_after_biased_conv"] if folded else 0)
    assert a.totals.non_trainable == 2 * kept
    torch_count = record["torch_params"] - record["torch_params_unused"]
    extra, _ = STORED_BY_EXPORTER.get(key, (0, ""))
    assert a.totals.trainable == torch_count - lost + expanded_tables(record["model"]) + extra
    macs = get("torchvision").total(a) + PRECOMPUTED.get(key, (0, ""))[0]
    # torchvision's GFLOPS: conv + linear + matrix products, to the 3 decimals it publishes
    gflops = macs / 1e9
    assert round(gflops, 3) == pytest.approx(record["published_gflops"], abs=1e-9), f"{gflops:.4f} vs {record['published_gflops']}"


def test_vit_b_16_prints_torchs_parameters_and_torchvisions_gflops(graphs, capsys):
    from cnncalc.cli import main

    assert main([str(graphs / "vit_b_16.torchscript.eval.onnx"), "--convention", "torchvision"]) == 0
    out = capsys.readouterr().out
    assert "86,567,656" in out and "17.564" in out


def test_receptive_fields_say_where_they_stop(graphs):
    """--rf: a network that turns its image into tokens (ViT's Reshape after the patch embedding,
    ShuffleNetV2's channel shuffle) gets one line naming the layer where fields stop, not a silent
    '-' on every later row; a CNN whose field ends in a global pool (the whole input) gets none."""
    from cnncalc.report import TableOptions, render_table

    def note(key):
        text = render_table(analyze(from_onnx(str(graphs / key))), options=TableOptions(rf=True))
        return [line for line in text.splitlines() if line.startswith("* receptive fields")]

    vit = note("vit_b_16.torchscript.eval.onnx")
    assert vit == ["* receptive fields stop at 'Reshape' (Reshape, a row --all shows): cnncalc tracks no field "
                   "through it (its output positions are not windows of its input's), so it and the rows that "
                   "read it show '-'"]
    assert note("shufflenet_v2_x0_5.torchscript.eval.onnx")[0].startswith("* receptive fields stop at 'stage2.0.Reshape' (Reshape")
    assert note("resnet18.torchscript.eval.onnx") == []


@pytest.mark.slow
def test_three_live_models(tmp_path):
    """Three catalogue-shaped models built from torch's own modules and exported now: a vision
    transformer (nn.TransformerEncoder, as torchvision's ViT), a ConvNeXt block stack (Linear on
    channels-last tensors) and a ShuffleNetV2 unit (chunk and channel shuffle). Their counts come
    from torch itself (parameters) and the MAC formulas written out here."""
    torch = pytest.importorskip("torch", reason="needs torch to export (CI installs it)")
    import warnings

    nn = torch.nn

    class ViT(nn.Module):
        def __init__(self, size=32, patch=8, dim=64, heads=4, layers=2, classes=10):
            super().__init__()
            self.patch = nn.Conv2d(3, dim, patch, patch)
            self.tokens = (size // patch) ** 2
            self.cls = nn.Parameter(torch.randn(1, 1, dim))
            self.pos = nn.Parameter(torch.randn(1, self.tokens + 1, dim))
            layer = nn.TransformerEncoderLayer(dim, heads, 4 * dim, dropout=0.0, activation="gelu", batch_first=True, norm_first=True)
            self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
            self.norm, self.head = nn.LayerNorm(dim), nn.Linear(dim, classes)

        def forward(self, x):
            x = self.patch(x).flatten(2).transpose(1, 2)
            x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], dim=1) + self.pos
            return self.head(self.norm(self.encoder(x))[:, 0])

    class ConvNeXtBlock(nn.Module):
        def __init__(self, dim=32):
            super().__init__()
            self.dw = nn.Conv2d(dim, dim, 7, padding=3, groups=dim)
            self.norm, self.fc1, self.fc2 = nn.LayerNorm(dim), nn.Linear(dim, 4 * dim), nn.Linear(4 * dim, dim)
            self.gamma = nn.Parameter(torch.randn(dim))

        def forward(self, x):
            y = self.dw(x).permute(0, 2, 3, 1)
            y = self.gamma * self.fc2(nn.functional.gelu(self.fc1(self.norm(y))))
            return x + y.permute(0, 3, 1, 2)

    class Shuffle(nn.Module):
        def __init__(self, dim=32):
            super().__init__()
            half = dim // 2
            self.branch = nn.Sequential(nn.Conv2d(half, half, 1), nn.ReLU(), nn.Conv2d(half, half, 3, padding=1, groups=half), nn.Conv2d(half, half, 1))
            self.stem = nn.Conv2d(3, dim, 3, padding=1)

        def forward(self, x):
            x = self.stem(x)
            a, b = x.chunk(2, dim=1)
            y = torch.cat((a, self.branch(b)), dim=1)
            n, c, h, w = y.shape
            return y.view(n, 2, c // 2, h, w).transpose(1, 2).reshape(n, c, h, w)

    dim, t = 64, 17
    vit_macs = 16 * (3 * 8 * 8) * dim + 2 * (t * dim * 3 * dim + 2 * t * t * dim + t * dim * dim + 2 * t * dim * 4 * dim) + dim * 10
    convnext = nn.Sequential(nn.Conv2d(3, 32, 4, 4), ConvNeXtBlock(), ConvNeXtBlock())
    convnext_macs = 8 * 8 * 32 * 48 + 2 * (8 * 8 * 32 * 49 + 2 * 8 * 8 * 32 * 128)
    shuffle_macs = 32 * 32 * (32 * 27 + 16 * 16 + 16 * 9 + 16 * 16)
    torch.manual_seed(0)
    for name, model, macs in (("vit", ViT(), vit_macs), ("convnext", convnext, convnext_macs), ("shuffle", Shuffle(), shuffle_macs)):
        model.eval()
        with torch.no_grad():  # trained-like: no all-zero bias for the dynamo exporter to drop
            for p in model.parameters():
                p.normal_(0, 0.02)
        for exporter in ("torchscript", "dynamo"):
            path = str(tmp_path / f"{name}.{exporter}.onnx")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                torch.onnx.export(model, (torch.randn(1, 3, 32, 32),), path, dynamo=exporter == "dynamo")
            a = analyze(from_onnx(path))
            assert not a.uncounted, (name, exporter, [r.name for r in a.uncounted][:5])
            assert a.totals.params == sum(p.numel() for p in model.parameters()), (name, exporter)
            assert get("torchvision").total(a) == macs, (name, exporter)
