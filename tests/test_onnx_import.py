"""ONNX import (cnncalc.from_onnx, ``cnncalc FILE.onnx``), checked against torch itself.

The networks are defined here and written by ``torch.onnx.export`` once per session (both
exporters; eval-mode exports that fold BatchNorm and training-mode ones that keep it). Every count
is checked against torch: its own parameter count (plus BatchNorm's running statistics, which the
file holds), forward-hook output shapes and the textbook MACs of its convolutions and linear layers
(docs/counting.md). Edge cases use graphs built with ``onnx.helper`` (no torch needed).
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import pytest

onnx = pytest.importorskip("onnx", reason="needs the onnx package (pip install 'cnncalc[onnx]'; CI installs it)")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

import numpy as np  # noqa: E402

from cnncalc import analyze, from_onnx  # noqa: E402
from cnncalc.cli import main  # noqa: E402
from cnncalc.conventions import NAMES, get  # noqa: E402
from cnncalc.importers.onnx import OnnxImportError  # noqa: E402
from cnncalc.spec import SpecError  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# ------------------------------------------------------------------------------------------------
# The torch networks and their exports (one session fixture)
# ------------------------------------------------------------------------------------------------


def _networks(torch):
    nn, F = torch.nn, torch.nn.functional

    def conv_bn(c_in, c_out, k=3, s=1, groups=1):
        return nn.Sequential(nn.Conv2d(c_in, c_out, k, s, k // 2, groups=groups, bias=False), nn.BatchNorm2d(c_out))

    class Block(nn.Module):  # He et al. 2016's basic block, projection shortcut when the shape changes
        def __init__(self, c_in, c_out, stride):
            super().__init__()
            self.a, self.b = conv_bn(c_in, c_out, 3, stride), conv_bn(c_out, c_out)
            self.down = conv_bn(c_in, c_out, 1, stride) if stride != 1 or c_in != c_out else nn.Identity()

        def forward(self, x):
            return F.relu(self.b(F.relu(self.a(x))) + self.down(x))

    class ResNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = conv_bn(3, 16)
            self.layer1, self.layer2 = Block(16, 16, 1), Block(16, 32, 2)
            self.pool, self.fc = nn.AdaptiveAvgPool2d(1), nn.Linear(32, 10)

        def forward(self, x):
            x = self.layer2(self.layer1(F.relu(self.stem(x))))
            return self.fc(torch.flatten(self.pool(x), 1))

    class InvertedResidual(nn.Module):  # MobileNetV2/V3: expand, depthwise, squeeze-excite, project
        def __init__(self, c, expand):
            super().__init__()
            h = c * expand
            self.expand, self.dw, self.project = conv_bn(c, h, 1), conv_bn(h, h, 3, groups=h), conv_bn(h, c, 1)
            self.se1, self.se2 = nn.Conv2d(h, h // 4, 1), nn.Conv2d(h // 4, h, 1)

        def forward(self, x):
            y = F.relu6(self.dw(F.relu6(self.expand(x))))
            gate = F.hardsigmoid(self.se2(F.relu(self.se1(y.mean((2, 3), keepdim=True)))))
            return x + self.project(y * gate)

    class MobileNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem, self.block, self.fc = conv_bn(3, 16, 3, 2), InvertedResidual(16, 4), nn.Linear(16, 10)

        def forward(self, x):
            x = F.hardswish(self.block(F.relu6(self.stem(x))))
            return self.fc(x.mean((2, 3)))

    class Inception(nn.Module):  # Szegedy et al. 2015's module, then ceil-mode pools
        def __init__(self):
            super().__init__()
            self.stem = nn.Conv2d(3, 32, 3, padding=1)
            self.b1 = nn.Conv2d(32, 16, 1)
            self.b2 = nn.Sequential(nn.Conv2d(32, 16, 1), nn.ReLU(), nn.Conv2d(16, 24, 3, padding=1))
            self.b3 = nn.Sequential(nn.Conv2d(32, 4, 1), nn.ReLU(), nn.Conv2d(4, 8, 5, padding=2))
            self.b4 = nn.Sequential(nn.MaxPool2d(3, 1, 1), nn.Conv2d(32, 8, 1))
            self.pool1 = nn.MaxPool2d(3, 2, ceil_mode=True)
            self.pool2 = nn.AvgPool2d(3, 2, padding=1, ceil_mode=True, count_include_pad=False)
            self.gmp, self.fc = nn.AdaptiveMaxPool2d(1), nn.Linear(56, 10)

        def forward(self, x):
            x = F.relu(self.stem(x))
            x = torch.cat([self.b1(x), self.b2(x), self.b3(x), self.b4(x)], 1)
            return self.fc(torch.flatten(self.gmp(self.pool2(self.pool1(x))), 1))

    class UNet(nn.Module):  # Ronneberger et al. 2015 in miniature: transposed convs and skip concatenation
        def __init__(self):
            super().__init__()
            self.enc1, self.enc2 = nn.Conv2d(3, 8, 3, padding=1), nn.Conv2d(8, 16, 3, padding=1)
            self.up = nn.ConvTranspose2d(16, 8, 3, stride=2, padding=1, output_padding=1)
            self.dec = nn.Conv2d(16, 8, 3, padding=1)
            self.up2 = nn.ConvTranspose2d(8, 4, 2, stride=2)
            self.head = nn.Conv2d(4, 2, 1)

        def forward(self, x):
            e1 = F.relu(self.enc1(x))
            e2 = F.relu(self.enc2(F.max_pool2d(e1, 2)))
            d = F.relu(self.dec(torch.cat([self.up(e2), e1], 1)))
            d = F.interpolate(self.up2(d), scale_factor=0.5, mode="nearest")
            return torch.sigmoid(self.head(d))

    class Dilated(nn.Module):  # dilated, grouped and rectangular convolutions; one called twice
        def __init__(self):
            super().__init__()
            self.dil = nn.Conv2d(3, 16, 3, padding=2, dilation=2)
            self.grouped = nn.Conv2d(16, 32, 3, padding=1, groups=4)
            self.rect = nn.Conv2d(32, 8, (3, 5), stride=2, padding=(1, 2))
            self.shared = nn.Conv2d(8, 8, 3, padding=1)
            self.pool = nn.MaxPool2d(2, ceil_mode=True)
            self.fc = nn.Linear(8 * 8 * 8, 10)

        def forward(self, x):
            x = F.relu(self.rect(F.relu(self.grouped(F.relu(self.dil(x))))))
            x = self.shared(F.relu(self.shared(x)))
            return self.fc(torch.flatten(self.pool(x), 1))

    return {"resnet": ResNet, "mobilenet": MobileNet, "inception": Inception, "unet": UNet, "dilated": Dilated}


EXPORTS = {
    # name: (network, exporter, BatchNorm kept (training mode), dynamic H and W)
    "resnet-eval": ("resnet", "torchscript", False, False),
    "resnet-train": ("resnet", "torchscript", True, False),
    "mobilenet-eval": ("mobilenet", "torchscript", False, False),
    "mobilenet-train": ("mobilenet", "torchscript", True, False),
    "inception-dynamic": ("inception", "torchscript", False, True),
    "unet": ("unet", "torchscript", False, False),
    "dilated": ("dilated", "torchscript", False, False),
    "resnet-dynamo-dynamic": ("resnet", "dynamo", False, True),
    "unet-dynamo": ("unet", "dynamo", False, False),
}


class Export:
    """One exported file with what torch says about the network."""

    def __init__(self, path, params, bn_channels, buffers, shapes, macs, kept_bn):
        self.path, self.params, self.bn_channels, self.buffers = path, params, bn_channels, buffers
        self.shapes, self.macs, self.kept_bn = shapes, macs, kept_bn


def _torch_facts(torch, model, x):
    """Torch's parameter count, BatchNorm channels, running statistics, hook shapes and textbook MACs."""
    nn = torch.nn
    shapes, macs = {}, [0]

    def hook(module, inputs, output):
        name = names[module]
        shape = tuple(output.shape[1:])
        shapes[name] = (shape[1], shape[2], shape[0]) if len(shape) == 3 else shape
        if isinstance(module, nn.Conv2d):
            kh, kw = module.kernel_size
            macs[0] += output[0].numel() * (module.in_channels // module.groups) * kh * kw
        elif isinstance(module, nn.ConvTranspose2d):
            kh, kw = module.kernel_size
            macs[0] += inputs[0][0, 0].numel() * module.in_channels * module.out_channels * kh * kw
        elif isinstance(module, nn.Linear):
            macs[0] += module.in_features * module.out_features

    names = {m: n for n, m in model.named_modules()}
    handles = [m.register_forward_hook(hook) for m in model.modules() if not list(m.children())]
    with torch.no_grad():
        model(x)
    for h in handles:
        h.remove()
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    return (
        sum(p.numel() for p in model.parameters()),
        sum(m.num_features for m in bns),
        sum(m.running_mean.numel() + m.running_var.numel() for m in bns),
        shapes,
        macs[0],
    )


def _trained_batchnorm(torch, model):
    """BatchNorm statistics and affine parameters as after training: a fresh BatchNorm is the
    identity, which exporters fold into zero biases and then merge or drop (equal initializers are
    stored once; the dynamo exporter removes a zero bias), unlike any trained network."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_()
                m.running_mean.normal_()
                m.running_var.uniform_(0.5, 1.5)


class Exports(dict):
    """The files of :data:`EXPORTS`, each written when a test first asks for it: the dynamo
    exporter's two (about 3 s of CPU) only for the ``slow`` tests that read them. Each network is
    seeded by its key's place in :data:`EXPORTS`, so a file is the same whichever test asks first."""

    def __init__(self, torch, folder):
        super().__init__()
        self.torch, self.folder, self.nets = torch, folder, _networks(torch)

    def __missing__(self, key):
        import warnings

        torch = self.torch
        net, exporter, train, dynamic = EXPORTS[key]
        torch.manual_seed(list(EXPORTS).index(key))
        x = torch.randn(1, 3, 32, 32)
        model = self.nets[net]()
        _trained_batchnorm(torch, model)
        model.train(train)
        facts = _torch_facts(torch, model, x)
        model.train(train)
        path = str(self.folder / f"{key}.onnx")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if exporter == "dynamo":
                dims = {"x": {2: torch.export.Dim("height", min=16, max=1024), 3: torch.export.Dim("width", min=16, max=1024)}} if dynamic else None
                torch.onnx.export(model, (x,), path, input_names=["x"], dynamo=True, dynamic_shapes=dims, verbose=False)
            else:
                mode = torch.onnx.TrainingMode.TRAINING if train else torch.onnx.TrainingMode.EVAL
                axes = {"x": {0: "N", 2: "height", 3: "width"}} if dynamic else None
                torch.onnx.export(model, (x,), path, input_names=["x"], dynamo=False, training=mode, dynamic_axes=axes, opset_version=17)
        self[key] = Export(path, *facts[:4], facts[4], kept_bn=train)
        return self[key]


@pytest.fixture(scope="session")
def exports(tmp_path_factory):
    torch = pytest.importorskip("torch", reason="needs torch to write the test files (pip install torch==2.13.0; CI installs it)")
    return Exports(torch, tmp_path_factory.mktemp("onnx"))


KEYS = [pytest.param(k, marks=pytest.mark.slow) if EXPORTS[k][1] == "dynamo" else k for k in EXPORTS]  # the dynamo exports are slow to write


@pytest.mark.parametrize("key", KEYS)
def test_parameters_equal_torchs_count_with_the_batchnorm_rule(exports, key):
    e = exports[key]
    a = analyze(from_onnx(e.path), input=(32, 32, 3))
    if e.kept_bn:
        # The file keeps BatchNorm: torch's parameters plus the running mean and variance, which
        # count as non-trainable (Keras' rule).
        assert a.totals.params == e.params + e.buffers
        assert a.totals.non_trainable == e.buffers
    else:
        # Eval mode folds each BatchNorm (C gamma + C beta) into the bias-free convolution before
        # it, which gains C biases: the file holds C fewer per BatchNorm.
        assert a.totals.params == e.params - e.bn_channels
        assert a.totals.non_trainable == 0
        assert not any(r.kind == "BatchNorm" for r in a.layers)


@pytest.mark.parametrize("key", KEYS)
def test_parameters_are_the_weight_initializers_elements(exports, key):
    """Every initializer a layer consumes as a weight is counted, nothing else (shape constants);
    a node reading the very weights of an earlier one (a module called twice) adds none."""
    model = onnx.load(exports[key].path)
    weights = 0
    weight_inputs = {"Conv": (1, 2), "ConvTranspose": (1, 2), "Gemm": (1, 2), "BatchNormalization": (1, 2, 3, 4)}
    inits = {t.name: t for t in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type == "Identity" and node.input[0] in inits:  # an exporter's alias of one
            inits[node.output[0]] = inits[node.input[0]]
    seen = set()
    for node in model.graph.node:
        names = tuple(node.input[i] for i in weight_inputs.get(node.op_type, ()) if i < len(node.input) and node.input[i])
        if names in seen:
            continue
        seen.add(names)
        weights += sum(int(np.prod(inits[name].dims)) for name in names)
    assert analyze(from_onnx(model), input=(32, 32, 3)).totals.params == weights


@pytest.mark.parametrize("key", KEYS)
def test_macs_equal_the_textbook_count(exports, key):
    e = exports[key]
    assert analyze(from_onnx(e.path), input=(32, 32, 3)).totals.macs == e.macs


@pytest.mark.parametrize("key", [k for k in EXPORTS if EXPORTS[k][1] == "torchscript"])
def test_output_shapes_equal_torchs_forward_hooks(exports, key):
    """TorchScript names nodes after the module (``layer1.a.0.Conv``): every module's row has the
    shape torch's forward hook saw (a folded BatchNorm's shape is its convolution's)."""
    e = exports[key]
    a = analyze(from_onnx(e.path), input=(32, 32, 3))
    last = {}  # module -> its last row (a transposed convolution's crop; a block's final ReLU)
    for row in a.layers:
        name = row.name.removesuffix(".crop").removesuffix(".pad")
        last[name.rsplit(".", 1)[0]] = row
    checked = [m for m in e.shapes if m in last]
    for module in checked:
        assert last[module].output == e.shapes[module], (module, last[module].name)
    assert len(checked) >= 5
    assert a.output == e.shapes[list(e.shapes)[-1]]  # the last module's output is the network's


def test_a_module_called_twice_counts_its_weights_once(exports):
    a = analyze(from_onnx(exports["dilated"].path))
    first, second = a.row("shared.Conv"), a.row("shared_1.Conv")  # TorchScript's scope of the second call
    assert (first.params, second.params) == (8 * 9 * 8 + 8, 0)
    assert first.macs == second.macs == 16 * 16 * 8 * 9 * 8  # MACs count per call
    assert a.spec.root.nodes[[n.name for n in a.spec.root.nodes].index("shared_1.Conv")].shares == "shared.Conv"


@pytest.mark.slow  # a dynamo export
def test_both_exporters_agree_on_the_same_network(exports):
    ts = analyze(from_onnx(exports["unet"].path))
    dyn = analyze(from_onnx(exports["unet-dynamo"].path))
    assert (ts.totals.params, ts.totals.macs, ts.output) == (dyn.totals.params, dyn.totals.macs, dyn.output) == (ts.totals.params, exports["unet"].macs, (32, 32, 2))
    assert [r.kind for r in ts.layers if r.weights] == [r.kind for r in dyn.layers if r.weights]


def test_operator_mapping_of_the_exports(exports):
    kinds = {key: {r.kind for r in analyze(from_onnx(exports[key].path), input=(32, 32, 3)).layers} for key in ("mobilenet-train", "inception-dynamic", "unet", "resnet-eval")}
    assert {"DepthwiseConv2D", "BatchNorm", "Multiply", "Add", "GlobalAvgPool2D"} <= kinds["mobilenet-train"]
    assert {"Concat", "MaxPool2D", "AvgPool2D", "GlobalMaxPool2D", "Dense"} <= kinds["inception-dynamic"]
    assert {"Conv2DTranspose", "Cropping2D", "Concat", "Resize"} <= kinds["unet"]
    unet = analyze(from_onnx(exports["unet"].path))
    assert (unet.row("up.ConvTranspose").output, unet.row("up.ConvTranspose.crop").output) == ((34, 34, 8), (32, 32, 8))
    assert "Opaque" not in set().union(*kinds.values())
    a = analyze(from_onnx(exports["resnet-eval"].path))
    assert a.warnings == ()
    assert a.row("layer2.down.0.Conv").output == (16, 16, 32)
    assert a.row("layer1.Add").kind == "Add" and a.row("layer1.Relu_1").kind == "Activation"


@pytest.mark.slow  # a dynamo export
def test_dynamic_axes_become_symbols(exports):
    import sympy

    for key in ("inception-dynamic", "resnet-dynamo-dynamic"):
        spec = from_onnx(exports[key].path)
        h, w = spec.input.height, spec.input.width
        assert (str(h), str(w)) == ("height", "width")
        a = analyze(spec)
        assert a.symbolic and a.totals.macs.free_symbols == {h, w}
        numeric = analyze(spec, input=(32, 32, 3))
        assert sympy.simplify(a.totals.macs.subs({h: 32, w: 32})) == numeric.totals.macs == exports[key].macs
        assert a.totals.params == numeric.totals.params  # parameters do not depend on the size
    rf = analyze(from_onnx(exports["inception-dynamic"].path), input=(32, 32, 3)).row("pool1.MaxPool")
    assert rf.rf == 3 + 4 + 2  # the stem's 3x3, the widest branch's 5x5 (+4), the pool's 3x3 (+2)


@pytest.mark.parametrize("key", ["resnet-train", "mobilenet-train", "inception-dynamic", "unet"])
def test_every_convention_counts_an_import(exports, key):
    """Every kind an import yields is counted or ignored by every preset (never an error)."""
    a = analyze(from_onnx(exports[key].path), input=(32, 32, 3))
    totals = {name: get(name).total(a) for name in NAMES}
    assert totals["macs"] == a.totals.macs == exports[key].macs and totals["flops"] == 2 * a.totals.macs
    assert all(t >= a.totals.macs for name, t in totals.items() if name not in ("torchinfo",))


def test_cli_on_an_onnx_file(exports, capsys):
    path = exports["resnet-eval"].path
    out, err = io.StringIO(), io.StringIO()
    assert main([path, "--table", "--rf"], out=out, err=err) == 0
    assert "layer1.a.0.Conv" in out.getvalue() and err.getvalue() == ""
    out = io.StringIO()
    assert main([path, "--format", "json"], out=out, err=io.StringIO()) == 0
    data = json.loads(out.getvalue())
    assert data["input"] == [32, 32, 3] and data["output"] == [10]
    out = io.StringIO()
    assert main([path, "--input", "H x W x 3", "--format", "json"], out=out, err=io.StringIO()) == 0
    assert "H*W" in json.dumps(json.loads(out.getvalue())["totals"])
    out = io.StringIO()
    assert main(["compare", path, exports["resnet-train"].path], out=out, err=io.StringIO()) == 0


# ------------------------------------------------------------------------------------------------
# Graphs built with onnx.helper: the edge cases
# ------------------------------------------------------------------------------------------------


def _model(nodes, inits=(), shape=(1, 3, 8, 8), output="y", opset=17, outputs=None):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, list(shape))
    outs = outputs or [helper.make_tensor_value_info(output, TensorProto.FLOAT, None)]
    graph = helper.make_graph(nodes, "g", [x], outs, initializer=[numpy_helper.from_array(np.asarray(v, dtype=np.float32 if k[0] != "i" else np.int64), k) for k, v in inits])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def _w(*shape):
    return np.zeros(shape)


def test_uneven_pads_become_a_zero_padding_row():
    m = _model([helper.make_node("Conv", ["x", "w"], ["y"], pads=[0, 0, 1, 1], strides=[2, 2], kernel_shape=[3, 3])], [("w", _w(4, 3, 3, 3))])
    a = analyze(from_onnx(m))
    assert [r.kind for r in a.layers] == ["Input", "ZeroPadding2D", "Conv2D"]
    assert a.output == (4, 4, 4) and a.totals.params == 108


def test_auto_pad_same_upper():
    m = _model([helper.make_node("Conv", ["x", "w", "b"], ["y"], auto_pad="SAME_UPPER", strides=[2, 2])], [("w", _w(4, 3, 3, 3)), ("b", _w(4))], shape=(1, 3, 9, 9))
    assert analyze(from_onnx(m)).output == (5, 5, 4)


def test_matmul_then_add_is_one_dense_layer_with_bias():
    nodes = [
        helper.make_node("Flatten", ["x"], ["f"]),
        helper.make_node("MatMul", ["f", "w"], ["m"]),
        helper.make_node("Add", ["m", "b"], ["y"]),
    ]
    a = analyze(from_onnx(_model(nodes, [("w", _w(192, 5)), ("b", _w(5))])))
    dense = [r for r in a.layers if r.kind == "Dense"]
    assert len(dense) == 1 and (dense[0].weights, dense[0].biases, dense[0].macs) == (960, 5, 960)


def test_gemm_without_transposed_weight_and_reshape_from_a_constant_node():
    shape = helper.make_tensor("s", TensorProto.INT64, [2], [1, -1])
    nodes = [
        helper.make_node("Constant", [], ["shape"], value=shape),
        helper.make_node("Reshape", ["x", "shape"], ["f"]),
        helper.make_node("Gemm", ["f", "w"], ["y"]),
    ]
    a = analyze(from_onnx(_model(nodes, [("w", _w(192, 7))])))
    assert [r.kind for r in a.layers] == ["Input", "Flatten", "Dense"] and a.totals.params == 192 * 7


def test_pad_clip_resize_and_scalar_arithmetic():
    nodes = [
        helper.make_node("Pad", ["x", "pads"], ["p"], mode="reflect"),
        helper.make_node("Clip", ["p", "lo", "hi"], ["c"]),
        helper.make_node("Mul", ["c", "half"], ["m"]),
        helper.make_node("Resize", ["m", "", "scales"], ["y"], mode="linear"),
    ]
    inits = [("ipads", [0, 0, 1, 2, 0, 0, 1, 2]), ("lo", 0.0), ("hi", 6.0), ("half", 0.5), ("scales", [1, 1, 2, 2])]
    nodes[0].input[1] = "ipads"
    a = analyze(from_onnx(_model(nodes, inits)))
    assert [(r.kind, r.output) for r in a.layers] == [
        ("Input", (8, 8, 3)), ("ZeroPadding2D", (10, 12, 3)), ("Activation", (10, 12, 3)), ("Rescaling", (10, 12, 3)), ("Resize", (20, 24, 3)),
    ]
    assert a.row("Clip_1").layer.function == "relu6" and a.totals.params == 0
    assert get("fvcore").total(a) == 4 * 20 * 24 * 3  # upsample_bilinear2d: four per output element


def test_subtract_and_divide_of_two_tensors():
    nodes = [
        helper.make_node("GlobalAveragePool", ["x"], ["g"]),
        helper.make_node("Sub", ["x", "g"], ["s"]),
        helper.make_node("Div", ["s", "x"], ["y"]),
    ]
    a = analyze(from_onnx(_model(nodes)))
    assert [(r.kind, r.output) for r in a.layers][2:] == [("Binary", (8, 8, 3)), ("Binary", (8, 8, 3))]


def test_a_channels_last_input_read_through_a_transpose():
    """tf2onnx keeps a Keras model's N x H x W x C input and transposes it to N x C x H x W."""
    nodes = [
        helper.make_node("Transpose", ["x"], ["t"], perm=[0, 3, 1, 2]),
        helper.make_node("Conv", ["t", "w"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Transpose", ["c"], ["back"], perm=[0, 2, 3, 1]),
        helper.make_node("Relu", ["back"], ["r"]),
        helper.make_node("Transpose", ["r"], ["again"], perm=[0, 3, 1, 2]),
        helper.make_node("MaxPool", ["again"], ["y"], kernel_shape=[2, 2], strides=[2, 2]),
    ]
    a = analyze(from_onnx(_model(nodes, [("w", _w(4, 3, 3, 3))], shape=(1, 16, 12, 3))))
    assert [(r.kind, r.output) for r in a.layers] == [
        ("Input", (16, 12, 3)), ("Conv2D", (16, 12, 4)), ("Activation", (16, 12, 4)), ("MaxPool2D", (8, 6, 4)),
    ]


def test_unknown_operator_is_an_opaque_row_never_a_silent_zero(tmp_path):
    # CumSum: a standard operator no kind expresses (its axis is an integer, not a parameter)
    nodes = [
        helper.make_node("CumSum", ["x", "axis"], ["n"]),
        helper.make_node("Conv", ["n", "w"], ["y"]),
    ]
    model = _model(nodes, [("axis", np.array(1, dtype=np.int64)), ("w", _w(2, 3, 1, 1))])
    a = analyze(from_onnx(model))
    row = a.layers[1]
    assert (row.kind, row.output, row.params) == ("Opaque", (8, 8, 3), 0)
    assert any("CumSum" in w and "MACs not counted" in w for w in a.warnings)
    assert a.totals.macs == 8 * 8 * 2 * 3  # the convolution after it is still counted
    with pytest.raises(SpecError, match="known only for the input 8x8x3"):
        analyze(from_onnx(model), input=(16, 16, 3))
    two = analyze(from_onnx(_model([helper.make_node("MatMul", ["x", "x"], ["y"])])))  # of two images
    assert [(r.kind, r.output) for r in two.layers] == [("Input", (8, 8, 3)), ("Opaque", (8, 8, 3))]
    assert any("a product of image tensors" in w for w in two.warnings)
    path = tmp_path / "opaque.onnx"
    onnx.save(model, str(path))
    out, err = io.StringIO(), io.StringIO()
    assert main([str(path), "--table"], out=out, err=err) == 0
    assert "warning: layer 'CumSum_0' (CumSum): MACs not counted (cnncalc has no rule for the ONNX operator CumSum)" in err.getvalue()


def test_unknown_operator_of_unknown_shape_is_a_one_line_error():
    node = helper.make_node("Mystery", ["x"], ["y"], domain="com.example")
    m = _model([node])
    m.opset_import.append(helper.make_opsetid("com.example", 1))
    with pytest.raises(OnnxImportError, match=r"node 'Mystery_0' \(operator com.example.Mystery\).*output shape"):
        from_onnx(m)


def test_bad_files_are_one_line_errors_with_exit_2(tmp_path):
    good = _model([helper.make_node("Relu", ["x"], ["y"])])
    truncated = tmp_path / "cut.onnx"
    truncated.write_bytes(good.SerializeToString()[:-7])
    text = tmp_path / "notes.onnx"
    text.write_text("this is not a model\n")
    old = tmp_path / "old.onnx"  # opset 7 with an operator the version converter cannot upgrade
    onnx.save(_model([helper.make_node("Scan", ["x"], ["y"])], opset=7), str(old))
    batch_only = tmp_path / "batch.onnx"  # one axis, the batch: no sample shape
    onnx.save(_model([helper.make_node("Relu", ["x"], ["y"])], shape=(1,)), str(batch_only))
    cases = {
        str(truncated): "not an ONNX model",
        str(text): "not an ONNX model",
        str(tmp_path / "missing.onnx"): "no such file",
        str(old): "opset 7, older than 11, and onnx.version_converter cannot upgrade it (operator Scan)",
        str(batch_only): "its first axis is the batch, and cnncalc reads a sample of at least one axis after it",
    }
    for path, message in cases.items():
        out, err = io.StringIO(), io.StringIO()
        assert main([path, "--table"], out=out, err=err) == 2, path
        lines = err.getvalue().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], lines


def test_onnx_is_imported_only_when_an_onnx_file_is_read(tmp_path):
    path = tmp_path / "r.onnx"
    onnx.save(_model([helper.make_node("Relu", ["x"], ["y"])]), str(path))
    code = (
        "import sys, io; from cnncalc.cli import main; "
        "main(['vgg19', '--table'], out=io.StringIO()); a = 'onnx' in sys.modules; "
        f"main([{str(path)!r}], out=io.StringIO()); print(a, 'onnx' in sys.modules, 'torch' in sys.modules)"
    )
    env = {**os.environ, "PYTHONPATH": ROOT}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert proc.stdout.strip() == "False True False"


def test_a_resnet18_export_equals_the_zoos_resnet18(tmp_path):
    """``cnncalc compare resnet18.onnx resnet18``: torchvision's ResNet-18 layout exported in
    training mode (BatchNorm kept) has the zoo's parameters (11,689,512 + 9,600 running statistics),
    MACs and the same convolution shapes, row for row."""
    pytest.importorskip("torch", reason="needs torch to write the test file (pip install torch==2.13.0; CI installs it)")
    from benchmarks.onnx_tool_peer import export
    from cnncalc import zoo

    path = export(str(tmp_path), only=("resnet18-train",))["resnet18-train"]
    ours, zoos = analyze(from_onnx(path)), analyze(zoo.get("resnet18"))
    assert (ours.totals.params, ours.totals.non_trainable, ours.totals.macs) == (zoos.totals.params, zoos.totals.non_trainable, zoos.totals.macs) == (11_699_112, 9_600, 1_814_073_344)
    assert [r.output for r in ours.layers if r.kind == "Conv2D"] == [r.output for r in zoos.layers if r.kind == "Conv2D"]
    out = io.StringIO()
    assert main(["compare", path, "resnet18"], out=out, err=io.StringIO()) == 0
    assert "1,814,073,344" in out.getvalue()
