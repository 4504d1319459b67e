"""ONNX import against onnx-tool (PyPI ``onnx-tool``, a peer that profiles ONNX MACs and
parameters) on the same files: speed as a ratio, and where the counts differ.

Files: ResNet-18 (He et al. 2016, torchvision's layout) exported by ``torch.onnx.export`` in eval
mode (BatchNorm folded into the convolutions) and in training mode (BatchNorm kept), and a
MobileNetV3-style network (depthwise convolutions, squeeze-and-excitation, hard-swish), all at
224x224x3. Trained BatchNorm statistics are drawn at random first: a fresh BatchNorm is the
identity, which exporters fold into zero biases and then store once (onnx-tool would count the
shared zero vector once; a trained network has no such coincidence).

``onnx-peer/speed``: ``analyze(from_onnx(path))`` (read, map, analyse) against onnx-tool's
``Model(path)``, ``shape_infer`` and ``profile`` in the same process, medians of several repeats;
the ratio is onnx-tool's time over cnncalc's. ``onnx-peer/counts``: both tools' parameters and
MACs per file, the ratio onnx-tool / cnncalc; docs/import.md explains every difference (onnx-tool
counts a bias add and one operation per element of ReLU, Add, pools and BatchNorm as MACs;
cnncalc's MACs are multiply-accumulates of convolutions and dense layers only, docs/counting.md).
No goal: the figures describe, they do not gate.
"""

from __future__ import annotations

import os
import tempfile
import warnings

from .harness import Row, measure

SIZE = 224


def _networks(torch):
    nn, F = torch.nn, torch.nn.functional

    def conv_bn(c_in, c_out, k, s=1, groups=1):
        return nn.Sequential(nn.Conv2d(c_in, c_out, k, s, k // 2, groups=groups, bias=False), nn.BatchNorm2d(c_out))

    class Basic(nn.Module):
        def __init__(self, c_in, c_out, stride):
            super().__init__()
            self.conv1, self.conv2 = conv_bn(c_in, c_out, 3, stride), conv_bn(c_out, c_out, 3)
            self.down = conv_bn(c_in, c_out, 1, stride) if stride != 1 or c_in != c_out else None

        def forward(self, x):
            y = self.conv2(F.relu(self.conv1(x)))
            return F.relu(y + (x if self.down is None else self.down(x)))

    class ResNet18(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = conv_bn(3, 64, 7, 2)
            self.pool = nn.MaxPool2d(3, 2, 1)
            widths, blocks, c = (64, 128, 256, 512), [], 64
            for i, w in enumerate(widths):
                blocks += [Basic(c, w, 1 if i == 0 else 2), Basic(w, w, 1)]
                c = w
            self.blocks = nn.Sequential(*blocks)
            self.fc = nn.Linear(512, 1000)

        def forward(self, x):
            x = self.blocks(self.pool(F.relu(self.stem(x))))
            return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))

    class Bneck(nn.Module):
        def __init__(self, c_in, hidden, c_out, k, stride):
            super().__init__()
            self.expand, self.dw = conv_bn(c_in, hidden, 1), conv_bn(hidden, hidden, k, stride, groups=hidden)
            self.se1, self.se2 = nn.Conv2d(hidden, hidden // 4, 1), nn.Conv2d(hidden // 4, hidden, 1)
            self.project = conv_bn(hidden, c_out, 1)
            self.residual = stride == 1 and c_in == c_out

        def forward(self, x):
            y = F.hardswish(self.dw(F.hardswish(self.expand(x))))
            y = y * F.hardsigmoid(self.se2(F.relu(self.se1(y.mean((2, 3), keepdim=True)))))
            y = self.project(y)
            return x + y if self.residual else y

    class MobileNetV3ish(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = conv_bn(3, 16, 3, 2)
            cfg = [(16, 64, 24, 3, 2), (24, 72, 24, 3, 1), (24, 96, 40, 5, 2), (40, 240, 40, 5, 1), (40, 288, 96, 5, 2), (96, 576, 96, 5, 1)]
            self.blocks = nn.Sequential(*[Bneck(*c) for c in cfg])
            self.head = conv_bn(96, 576, 1)
            self.fc1, self.fc2 = nn.Linear(576, 1024), nn.Linear(1024, 1000)

        def forward(self, x):
            x = F.hardswish(self.head(self.blocks(F.hardswish(self.stem(x)))))
            return self.fc2(F.hardswish(self.fc1(x.mean((2, 3)))))

    return {"resnet18": ResNet18, "mobilenetv3ish": MobileNetV3ish}


PLAN = (("resnet18-eval", "resnet18", False), ("resnet18-train", "resnet18", True), ("mobilenetv3ish-eval", "mobilenetv3ish", False))
"""(label, network, training mode) of each file."""


def export(folder, smoke=False, only=None):
    """Write the benchmark's files (``only``: these labels); returns ``{label: path}``."""
    import torch

    torch.manual_seed(0)
    nets = _networks(torch)
    labels = only or ([PLAN[0][0]] if smoke else [p[0] for p in PLAN])
    plan = [p for p in PLAN if p[0] in labels]
    size = 64 if smoke else SIZE
    files = {}
    for label, net, train in plan:
        model = nets[net]()
        with torch.no_grad():
            for m in model.modules():
                if isinstance(m, torch.nn.BatchNorm2d):
                    m.weight.uniform_(0.5, 1.5), m.bias.normal_(), m.running_mean.normal_(), m.running_var.uniform_(0.5, 1.5)
        model.train(train)
        path = os.path.join(folder, f"{label}.onnx")
        mode = torch.onnx.TrainingMode.TRAINING if train else torch.onnx.TrainingMode.EVAL
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(model, (torch.randn(1, 3, size, size),), path, input_names=["x"], dynamo=False, training=mode, opset_version=17)
        files[label] = path
    return files


def onnx_tool_profile(path):
    """onnx-tool's profile of one file: ``(graph, macs, params)``."""
    import numpy as np
    import onnx_tool

    model = onnx_tool.Model(path)
    graph = model.graph
    shape = [d.dim_value for d in model.mproto.graph.input[0].type.tensor_type.shape.dim] if hasattr(model, "mproto") else None
    if shape is None:
        import onnx

        shape = [d.dim_value for d in onnx.load(path, load_external_data=False).graph.input[0].type.tensor_type.shape.dim]
    graph.shape_infer({graph.input[0]: np.zeros(shape, dtype=np.float32)})
    graph.profile()
    return graph, int(graph.macs[0]), int(graph.params)


def by_operator(path):
    """Per ONNX operator type: onnx-tool's MACs, and cnncalc's MACs of the rows the nodes became
    (``{op_type: (onnx_tool_macs, count of nodes)}``, cnncalc's totals)."""
    graph, _, _ = onnx_tool_profile(path)
    table: dict[str, list] = {}
    for name in graph.nodemap:
        node = graph.nodemap[name]
        entry = table.setdefault(node.op_type, [0, 0])
        entry[0] += int(node.macs[0])
        entry[1] += 1
    return {k: tuple(v) for k, v in table.items()}


def run(quick: bool = False, smoke: bool = False) -> list[Row]:
    """``smoke``: one 64x64 file, one repeat each (a check that it runs; figures mean nothing)."""
    from cnncalc import analyze, from_onnx

    repeats = 1 if smoke else 3 if quick else 7
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for label, path in export(folder, smoke).items():
            a = analyze(from_onnx(path))
            _, their_macs, their_params = onnx_tool_profile(path)
            ours = measure(lambda: analyze(from_onnx(path)), repeats=repeats, warmup=0 if smoke else 1)
            theirs = measure(lambda: onnx_tool_profile(path), repeats=repeats, warmup=0 if smoke else 1)
            n = len(a.layers)
            rows += [
                Row("onnx-peer/speed", f"cnncalc from_onnx + analyze: {label} ({n} rows)", ours.median * 1000, "ms", note=f"{ours.repeats} repeats, min {ours.minimum * 1000:.1f} ms"),
                Row("onnx-peer/speed", f"onnx-tool Model + shape_infer + profile: {label}", theirs.median * 1000, "ms",
                    ratio=theirs.median / ours.median, ratio_of="onnx-tool / cnncalc", note=f"{theirs.repeats} repeats"),
                Row("onnx-peer/counts", f"{label}: parameters, cnncalc", a.totals.params, "params", note=f"{a.totals.non_trainable:,} non-trainable"),
                Row("onnx-peer/counts", f"{label}: parameters, onnx-tool", their_params, "params", ratio=their_params / a.totals.params, ratio_of="onnx-tool / cnncalc"),
                Row("onnx-peer/counts", f"{label}: MACs, cnncalc", a.totals.macs, "MACs", note="conv and dense multiply-accumulates (docs/counting.md)"),
                Row("onnx-peer/counts", f"{label}: MACs, onnx-tool", their_macs, "MACs", ratio=their_macs / a.totals.macs, ratio_of="onnx-tool / cnncalc",
                    note="adds bias adds and one per element of ReLU, Add, pools, BatchNorm (docs/import.md)"),
            ]
    return rows
