"""Convolutions and pools over 1 and 3 spatial axes: a signal ``T x C`` (audio, ECG) and a volume
``D x H x W x C`` (video, CT) are counted as images are (docs/conventions.md, "N spatial axes").

Every figure is checked against an outside truth: the hand formula, Keras' own ``count_params()``
and output shapes, the Keras bridge (the spec built in Keras), and torch's FLOP counter
(``torch.utils.flop_counter.FlopCounterMode``: 2 x MACs for conv1d/conv3d) on the torch modules
whose ONNX exports are stored in ``tests/data/conv_nd/`` (written by :func:`export`; the slow
test exports them again and compares).
"""

from __future__ import annotations

import io
import json
import pathlib

import numpy as np
import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from cnncalc import analyze, from_onnx
from cnncalc.cli import main
from cnncalc.spec import Dense, Input, Resize, Sequential, SpecError
from cnncalc.kinds import (
    AvgPool1D,
    AvgPool3D,
    Conv1D,
    Conv1DTranspose,
    Conv2D,
    Conv3D,
    Conv3DTranspose,
    Cropping1D,
    DepthwiseConv1D,
    GlobalAvgPool1D,
    GlobalAvgPool3D,
    MaxPool1D,
    MaxPool2D,
    MaxPool3D,
    SeparableConv1D,
    ZeroPadding3D,
)

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

DATA = pathlib.Path(__file__).parent / "data" / "conv_nd"


def run(*argv):
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


# --------------------------------------------------------------------------------------------
# The formulas: one per family, per spatial axis
# --------------------------------------------------------------------------------------------


def test_a_conv1d_counts_as_a_conv2d_of_height_one():
    """A Conv1D of kernel k on T x C is the Conv2D of kernel 1 x k on 1 x T x C: same params, same MACs."""
    one = analyze(Sequential([Input(100, 4), Conv1D(8, 5, padding="valid", groups=2)]))
    two = analyze(Sequential([Input(1, 100, 4), Conv2D(8, (1, 5), padding="valid", groups=2)]))
    assert one.output == (96, 8) and two.output == (1, 96, 8)
    # weights g * k * (C_in/g) * (C_out/g) = 2 * 5 * 2 * 4, MACs T_out * weights
    assert one.totals.weights == two.totals.weights == 80 and one.totals.biases == 8
    assert one.totals.macs == two.totals.macs == 96 * 80


def _last_row(*layers):
    """The last row's output, counts and field along the last spatial axis, or its error (in
    pixels: a 1-D message counts steps)."""
    try:
        a = analyze(Sequential(layers))
    except SpecError as exc:
        return str(exc).replace(" steps", " pixels").replace("-step ", "-pixel ")
    r = a.layers[-1]
    return r.output[-2:], r.weights, r.biases, r.macs, r.receptive.axes[-1] if r.receptive else None


@settings(max_examples=150, deadline=None)
@given(
    n=st.integers(1, 40), c=st.sampled_from([2, 4]), f=st.sampled_from([2, 4, 8]), k=st.integers(1, 7), s=st.integers(1, 4),
    d=st.integers(1, 3), padding=st.sampled_from(["same", "valid", 0, 1, 3]), groups=st.sampled_from([1, 2]),
)
def test_1d_and_3d_equal_the_2d_kind_on_one_row(n, c, f, k, s, d, padding, groups):
    """Whatever the hyper-parameters, a Conv1D (a Conv3D of depth 1, a 1-D pool) is the Conv2D of
    kernel ``1 x k`` on ``1 x n`` (the MaxPool2D): the same output, parameters, MACs and field
    along the axis, or the same error."""
    conv = {"stride": s, "dilation": d, "groups": groups, "name": "c"}
    explicit = not isinstance(padding, str)
    one = _last_row(Input(n, c), Conv1D(f, k, padding=padding, **conv))
    two = _last_row(Input(1, n, c), Conv2D(f, (1, k), padding=(0, padding) if explicit else padding, **conv))
    three = _last_row(Input(1, 1, n, c), Conv3D(f, (1, 1, k), padding=(0, 0, padding) if explicit else padding, **conv))
    assert one == two == three
    pool = {"stride": s, "name": "c"}
    assert _last_row(Input(n, c), MaxPool1D(k, padding=padding, **pool)) == _last_row(
        Input(1, n, c), MaxPool2D((1, k), padding=(0, padding) if explicit else padding, **pool)
    )


def test_conv1d_padding_same_valid_causal_with_strides_and_dilation():
    def out(**kw):
        return analyze(Sequential([Input(100, 3), Conv1D(4, 5, **kw)])).output[0]

    assert out(padding="valid") == 96 and out(padding="same") == 100 and out(padding="causal") == 100
    assert out(padding="causal", stride=3) == 34  # ceil(100 / 3), as Keras
    assert out(padding="valid", dilation=4) == 100 - 4 * 4  # k_eff = d(k-1)+1 = 17
    assert out(padding=2, stride=2) == (100 + 4 - 5) // 2 + 1


def test_a_conv3d_counts_per_axis():
    a = analyze(Sequential([Input(16, 112, 112, 3), Conv3D(64, (3, 7, 7), stride=(1, 2, 2), padding=(1, 3, 3))]))
    assert a.output == (16, 56, 56, 64)
    # weights 3*7*7*3*64 (a C3D/R(2+1)D stem), MACs D_out H_out W_out times that
    assert a.totals.weights == 3 * 7 * 7 * 3 * 64 == 28_224
    assert a.totals.macs == 16 * 56 * 56 * 28_224


def test_depthwise_separable_and_transposed_forms():
    a = analyze(Sequential([
        Input(50, 8),
        DepthwiseConv1D(3, multiplier=2, name="dw"),
        SeparableConv1D(16, 5, padding="valid", name="sep"),
        Conv1DTranspose(4, 4, stride=2, padding="valid", name="up"),
    ]))
    assert [r.output for r in a.layers[1:]] == [(50, 16), (46, 16), (94, 4)]
    assert (a.row("dw").weights, a.row("dw").biases, a.row("dw").macs) == (3 * 16, 16, 50 * 3 * 16)
    sep = a.row("sep")
    assert (sep.weights, sep.biases, sep.macs) == (5 * 16 + 16 * 16, 16, 46 * 5 * 16 + 46 * 16 * 16)
    # transposed: every input step times the kernel: T_in * k * C_in * F
    assert (a.row("up").weights, a.row("up").macs) == (4 * 16 * 4, 46 * 4 * 16 * 4)
    v = analyze(Sequential([Input(4, 8, 8, 6), Conv3DTranspose(2, (2, 3, 3), stride=2, padding="same", name="up")]))
    assert v.output == (8, 16, 16, 2) and v.row("up").macs == 4 * 8 * 8 * (2 * 3 * 3 * 6 * 2)


def test_pools_and_global_pools_of_one_and_three_axes():
    a = analyze(Sequential([Input(100, 4), MaxPool1D(3, stride=2, padding=1, ceil_mode=True), AvgPool1D(2), GlobalAvgPool1D()]))
    assert [r.output for r in a.layers[1:]] == [(51, 4), (25, 4), (4,)]
    assert a.totals.macs == 0 and a.totals.params == 0
    v = analyze(Sequential([Input(8, 32, 32, 3), MaxPool3D((1, 2, 2)), AvgPool3D(2, padding="same"), GlobalAvgPool3D(keepdims=True)]))
    assert [r.output for r in v.layers[1:]] == [(8, 16, 16, 3), (4, 8, 8, 3), (1, 1, 1, 3)]


def test_symbolic_sizes_keep_working():
    from cnncalc.spec import Spec
    from cnncalc.symbolic import symbol

    t, c, f, k, d, h, w = (symbol(n) for n in "TCFKDHW")
    a = analyze(Sequential([Input(100, 4), Conv1D(8, 5, stride=2, padding="valid"), MaxPool1D(2)]), input="T x 4")
    assert a.layers[1].output[0] == sympy.floor((t - 5) / 2) + 1
    assert sympy.simplify(a.totals.macs - a.layers[1].output[0] * 5 * 4 * 8) == 0
    spec = Spec(Sequential((Input("T", "C"), Conv1D("F", kernel="K", padding="valid"))))
    conv = analyze(spec, symbols="T C F K").layers[-1]
    assert conv.weights == k * c * f and conv.output == (t - k + 1, f) and conv.rf == k
    assert sympy.expand(conv.macs - (t - k + 1) * k * c * f) == 0
    v = analyze(Sequential([Input(8, 8, 8, 3), Conv3D(8, 3, stride=(1, 2, 2))]), input="D x H x W x 3")
    assert v.output == (d, sympy.ceiling(h / 2), sympy.ceiling(w / 2), 8)
    assert sympy.simplify(v.totals.macs - d * sympy.ceiling(h / 2) * sympy.ceiling(w / 2) * 27 * 3 * 8) == 0


# --------------------------------------------------------------------------------------------
# Receptive fields: along a signal's steps, per axis of a volume
# --------------------------------------------------------------------------------------------


def test_a_tcn_receptive_field_along_the_steps():
    """WaveNet/TCN: causal convolutions of kernel 2 dilated 1, 2, 4, 8 see 16 steps; causal
    padding puts the field's centre d(k-1)/2 before each output step."""
    layers = [Input(64, 1)] + [Conv1D(8, 2, padding="causal", dilation=d) for d in (1, 2, 4, 8)]
    a = analyze(Sequential(layers))
    assert [r.rf for r in a.layers] == [1, 2, 4, 8, 16]
    assert a.layers[-1].jump == 1 and a.layers[-1].effective_padding == 15 and a.layers[-1].start == -7.5


def test_a_volume_has_one_field_per_axis():
    a = analyze(Sequential([Input(16, 64, 64, 3), Conv3D(8, (3, 7, 7), stride=(1, 2, 2), padding=(1, 3, 3)), MaxPool3D((1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1)), ZeroPadding3D(1), Conv3D(8, 3, padding="valid")]))
    assert a.layers[1].rf == (3, 7, 7) and a.layers[2].rf == (3, 11, 11) and a.layers[2].jump == (1, 4, 4)
    assert a.layers[-1].rf == (5, 19, 19)
    assert a.layers[-1].effective_padding == (1 + 1, 3 + 2 + 4, 3 + 2 + 4)


# --------------------------------------------------------------------------------------------
# Bad input: one line naming the layer, exit 2
# --------------------------------------------------------------------------------------------


def test_a_kernel_larger_than_the_signal_is_one_line_naming_the_layer():
    with pytest.raises(SpecError, match=r"^layer 'c': kernel 7 is larger than its input of 5 steps$"):
        analyze(Sequential([Input(5, 2), Conv1D(4, 7, padding="valid", name="c")]))
    with pytest.raises(SpecError, match="causal padding is for 1-D layers"):
        analyze(Sequential([Input(8, 8, 8, 2), Conv3D(4, 3, padding="causal", name="c")]))
    with pytest.raises(SpecError, match=r"layer 'c' \(Conv1D\) needs a TxC \(steps x channels\) input, got the rank-3 tensor 8x8x2"):
        analyze(Sequential([Input(8, 8, 2), Conv1D(4, 3, name="c")]))
    with pytest.raises(SpecError, match=r"leaves nothing of its 5 input"):
        analyze(Sequential([Input(5, 2), Cropping1D((3, 2), name="c")]))


def _onnx(nodes, inits, shape):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, list(shape))
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    tensors = [numpy_helper.from_array(np.full(v, 0.1, dtype=np.float32), k) for k, v in inits.items()]
    return helper.make_model(helper.make_graph(nodes, "g", [x], [y], initializer=tensors), opset_imports=[helper.make_opsetid("", 17)])


def test_the_cli_refuses_a_conv1d_kernel_larger_than_its_input_with_exit_2(tmp_path):
    path = tmp_path / "short.onnx"
    onnx.save(_onnx([helper.make_node("Conv", ["x", "w"], ["y"], kernel_shape=[9], name="conv")], {"w": (4, 2, 9)}, (1, 2, 6)), str(path))
    code, out, err = run(str(path))
    assert code == 2 and out == ""
    assert err.splitlines() == ["error: node 'conv' (Conv): layer 'conv': kernel 9 is larger than its input of 6 steps"]


# --------------------------------------------------------------------------------------------
# ONNX: N x C x T and N x C x D x H x W, hand-built (BatchNorm1d/3d, pads, a transposed conv)
# --------------------------------------------------------------------------------------------


def test_onnx_signal_with_batchnorm_uneven_pads_and_a_transposed_conv():
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], kernel_shape=[3], pads=[2, 0], name="conv"),  # causal, by hand
        helper.make_node("BatchNormalization", ["c1", "g", "beta", "m", "v"], ["n"], name="bn"),
        helper.make_node("MaxPool", ["n"], ["p"], kernel_shape=[2], strides=[2], name="pool"),
        helper.make_node("ConvTranspose", ["p", "w2"], ["y"], kernel_shape=[4], strides=[2], pads=[1, 1], name="up"),
    ]
    inits = {"w1": (8, 2, 3), "b1": (8,), "g": (8,), "beta": (8,), "m": (8,), "v": (8,), "w2": (8, 4, 4)}
    a = analyze(from_onnx(_onnx(nodes, inits, (1, 2, 20))))
    assert [(r.name, r.kind, r.output) for r in a.layers] == [
        ("x", "Input", (20, 2)),
        ("conv.pad", "ZeroPadding1D", (22, 2)),
        ("conv", "Conv1D", (20, 8)),
        ("bn", "BatchNorm", (20, 8)),
        ("pool", "MaxPool1D", (10, 8)),
        ("up", "Conv1DTranspose", (22, 4)),
        ("up.crop", "Cropping1D", (20, 4)),
    ]
    assert a.totals.params == 8 * 2 * 3 + 8 + 4 * 8 + 8 * 4 * 4
    assert a.totals.macs == 20 * 3 * 2 * 8 + 10 * 4 * 8 * 4 and not a.uncounted
    assert a.row("conv").rf == 3 and a.row("conv").effective_padding == 2  # the causal field


def test_onnx_volume_with_depthwise_groups_and_a_global_pool():
    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["c1"], kernel_shape=[3, 3, 3], pads=[1, 1, 1, 1, 1, 1], group=4, name="dw"),
        helper.make_node("GlobalAveragePool", ["c1"], ["g"], name="gap"),
        helper.make_node("Flatten", ["g"], ["y"], name="flat"),
    ]
    a = analyze(from_onnx(_onnx(nodes, {"w1": (8, 1, 3, 3, 3)}, (1, 4, 6, 10, 10))))
    assert a.input == (6, 10, 10, 4) and a.row("dw").kind == "Conv3D" and a.row("dw").output == (6, 10, 10, 8)
    assert a.row("gap").kind == "GlobalAvgPool3D" and a.row("gap").output == (1, 1, 1, 8)
    assert a.totals.params == 8 * 27 and a.totals.macs == 6 * 10 * 10 * 8 * 27


def test_onnx_signal_through_a_2d_convolution_and_back():
    """``x.unsqueeze(2)`` into a ``Conv2d`` of kernel ``1 x k``, ``squeeze(2)`` back into a
    ``Conv1d``, ``BatchNorm1d``, then ``x.mean(-1)``: the squeezed tensor is in the file's order,
    shown channels last by a Permute before the Conv1D (and the rows after it stay channels last);
    the mean over the steps is a global pool."""
    nodes = [
        helper.make_node("Unsqueeze", ["x", "ax"], ["u"], name="unsqueeze"),
        helper.make_node("Conv", ["u", "w1"], ["c1"], kernel_shape=[1, 3], name="conv2d"),
        helper.make_node("Squeeze", ["c1", "ax"], ["s"], name="squeeze"),
        helper.make_node("Conv", ["s", "w2"], ["c2"], kernel_shape=[3], name="conv1d"),
        helper.make_node("BatchNormalization", ["c2", "g", "beta", "m", "v"], ["n"], name="bn"),
        helper.make_node("ReduceMean", ["n"], ["y"], axes=[-1], keepdims=0, name="mean"),
    ]
    model = _onnx(nodes, {"w1": (8, 4, 1, 3), "w2": (2, 8, 3), "g": (2,), "beta": (2,), "m": (2,), "v": (2,)}, (1, 4, 20))
    model.graph.initializer.append(numpy_helper.from_array(np.array([2], dtype=np.int64), "ax"))
    a = analyze(from_onnx(model))
    assert [(r.name, r.kind, r.output) for r in a.layers] == [
        ("x", "Input", (4, 20)),  # read by an Unsqueeze, not by a convolution: the file's order
        ("unsqueeze", "Reshape", (1, 20, 4)),
        ("conv2d", "Conv2D", (1, 18, 8)),
        ("squeeze", "Reshape", (8, 18)),
        ("conv1d.layout", "Permute", (18, 8)),
        ("conv1d", "Conv1D", (16, 2)),
        ("bn", "BatchNorm", (16, 2)),
        ("mean", "GlobalAvgPool1D", (2,)),
    ]
    assert a.totals.macs == 18 * 3 * 4 * 8 + 16 * 3 * 8 * 2 and not a.uncounted


# --------------------------------------------------------------------------------------------
# torch: the FLOP counter on the modules whose ONNX exports are stored
# --------------------------------------------------------------------------------------------


def torch_models():
    """The torch modules of ``tests/data/conv_nd/`` (name -> (module, input shape)): an ECG-style
    1-D net and a video-style 3-D net, every 1-D/3-D operator the ONNX reader maps."""
    import torch
    from torch import nn

    torch.manual_seed(0)
    signal = nn.Sequential(
        nn.Conv1d(4, 8, 5, padding=2), nn.ReLU(), nn.MaxPool1d(2),
        nn.Conv1d(8, 16, 3, stride=2, dilation=2, groups=2), nn.Conv1d(16, 16, 3, groups=16, padding=1),
        nn.AvgPool1d(3, padding=1, stride=2), nn.ConvTranspose1d(16, 4, 4, stride=2, padding=1),
        nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Linear(4, 3),
    )
    volume = nn.Sequential(
        nn.Conv3d(3, 8, (3, 5, 5), stride=(1, 2, 2), padding=(1, 2, 2)), nn.ReLU(), nn.MaxPool3d(2),
        nn.Conv3d(8, 8, 3, padding=(0, 1, 2), groups=4), nn.AvgPool3d((1, 2, 2)), nn.ConvTranspose3d(8, 4, 2, stride=2),
        nn.AdaptiveAvgPool3d(1), nn.Flatten(), nn.Linear(4, 3),
    )
    return {"signal": (signal, (1, 4, 100)), "volume": (volume, (1, 3, 8, 32, 32))}


def export(directory=DATA):
    """Export :func:`torch_models` to ``directory`` (``NAME.onnx``) with ``records.json``: torch's
    parameter count and its FLOP counter's total (2 x MACs) per model."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    directory = pathlib.Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    records = {}
    for name, (module, shape) in torch_models().items():
        module.eval()
        x = torch.randn(*shape)
        with FlopCounterMode(display=False) as counter:
            module(x)
        torch.onnx.export(module, (x,), str(directory / f"{name}.onnx"), dynamo=False, opset_version=17)
        records[name] = {"params": sum(p.numel() for p in module.parameters()), "flops": int(counter.get_total_flops()), "input": list(shape)}
    (directory / "records.json").write_text(json.dumps(records, indent=1, sort_keys=True) + "\n")
    return records


STORED = json.loads((DATA / "records.json").read_text())


@pytest.mark.parametrize("name", sorted(STORED))
def test_stored_torch_exports_equal_torch_counts(name):
    record = STORED[name]
    a = analyze(from_onnx(onnx.load(str(DATA / f"{name}.onnx"))))
    assert not a.uncounted and not [w for w in a.warnings if "not counted" in w]
    assert a.totals.params == record["params"]
    assert 2 * a.totals.macs == record["flops"]  # FlopCounterMode: 2 FLOPs per conv/linear MAC
    assert a.input == (*record["input"][2:], record["input"][1])


def test_stored_figures():
    # the figures the docs quote (docs/import.md): MACs of the 1-D and the 3-D net
    assert STORED["signal"]["flops"] // 2 == 24_604 and STORED["volume"]["flops"] // 2 == 3_765_772


@pytest.mark.slow
def test_the_stored_exports_are_what_torch_exports_today(tmp_path):
    pytest.importorskip("torch")
    assert export(tmp_path) == STORED
    for name in STORED:
        fresh = analyze(from_onnx(onnx.load(str(tmp_path / f"{name}.onnx"))))
        stored = analyze(from_onnx(onnx.load(str(DATA / f"{name}.onnx"))))
        assert fresh.totals == stored.totals


# --------------------------------------------------------------------------------------------
# Keras: count_params(), output shapes, the file read without Keras, the bridge
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def keras_models():
    keras = pytest.importorskip("keras")
    keras.backend.clear_session()
    L = keras.layers
    inp = keras.Input((100, 4), name="ecg")
    x = L.Conv1D(8, 5, padding="causal", dilation_rate=2, name="c1")(inp)
    x = L.Conv1D(8, 3, strides=2, padding="same", groups=2, name="c2")(x)
    x = L.SeparableConv1D(16, 3, depth_multiplier=2, name="sep")(x)
    x = L.DepthwiseConv1D(3, depth_multiplier=2, padding="same", name="dw")(x)
    x = L.MaxPooling1D(2, name="mp")(x)
    x = L.AveragePooling1D(3, strides=2, padding="same", name="ap")(x)
    x = L.ZeroPadding1D((1, 2), name="zp")(x)
    x = L.Cropping1D((2, 1), name="cr")(x)
    x = L.UpSampling1D(3, name="up")(x)
    x = L.Conv1DTranspose(6, 4, strides=2, name="tr")(x)
    x = L.GlobalMaxPooling1D(name="gmp")(x)
    signal = keras.Model(inp, L.Dense(3, name="head")(x), name="signal")
    inp = keras.Input((8, 16, 16, 3), name="clip")
    x = L.Conv3D(8, (3, 5, 5), strides=(1, 2, 2), padding="same", name="c1")(inp)
    x = L.MaxPooling3D((1, 2, 2), name="mp")(x)
    x = L.AveragePooling3D(2, padding="same", name="ap")(x)
    x = L.ZeroPadding3D(((1, 0), (1, 1), (0, 2)), name="zp")(x)
    x = L.Cropping3D(1, name="cr")(x)
    x = L.UpSampling3D((2, 1, 2), name="up")(x)
    x = L.Conv3DTranspose(4, 3, strides=2, padding="same", name="tr")(x)
    x = L.Conv3D(4, 3, groups=2, dilation_rate=(1, 2, 2), padding="same", name="c2")(x)
    x = L.GlobalAveragePooling3D(name="gap")(x)
    volume = keras.Model(inp, L.Dense(3, name="head")(x), name="volume")
    return {"signal": signal, "volume": volume}


def _macs_by_hand(layer, out_shape, in_shape):
    """Keras' own weights times the output positions (the input positions for a transposed conv)."""
    kernel = layer.get_weights()[0]
    if "Transpose" in type(layer).__name__:
        return int(np.prod(in_shape[1:-1])) * kernel.size
    sizes = [w.size for w in layer.get_weights() if w.ndim > 1]  # depthwise and pointwise kernels
    return int(np.prod(out_shape[1:-1])) * sum(sizes)


@pytest.mark.keras
@pytest.mark.parametrize("name", ["signal", "volume"])
def test_keras_count_params_shapes_and_macs(keras_models, name, tmp_path):
    from cnncalc import from_keras
    from cnncalc.importers.keras import read_keras_file

    model = keras_models[name]
    a = analyze(from_keras(model))
    assert a.totals.params == model.count_params() and not a.uncounted
    macs = 0
    for layer in model.layers[1:]:
        row = a.row(layer.name)
        assert row.output == tuple(layer.output.shape[1:]), layer.name
        if "Conv" in type(layer).__name__ or type(layer).__name__ == "Dense":
            assert row.macs == _macs_by_hand(layer, layer.output.shape, layer.input.shape), layer.name
            macs += row.macs
    assert a.totals.macs == macs > 0
    path = tmp_path / f"{name}.keras"
    model.save(path)
    assert analyze(read_keras_file(str(path))).totals == a.totals


@pytest.mark.keras
def test_keras_signal_fields_and_kinds(keras_models):
    from cnncalc import from_keras

    a = analyze(from_keras(keras_models["signal"]))
    assert [a.row(n).kind for n in ("c1", "sep", "dw", "mp", "zp", "cr", "up", "tr", "gmp")] == [
        "Conv1D", "SeparableConv1D", "DepthwiseConv1D", "MaxPool1D", "ZeroPadding1D", "Cropping1D", "Resize", "Conv1DTranspose", "GlobalMaxPool1D",
    ]
    # causal dilated kernel 5: 9 steps, all before the output step; then 3 (stride 1), 3 on a jump 2, ...
    assert [a.row(n).rf for n in ("c1", "c2", "sep", "dw", "mp")] == [9, 11, 15, 19, 21]
    assert a.row("c1").effective_padding == 8


@pytest.mark.keras
def test_keras_channels_first_is_refused_in_one_line():
    from cnncalc.importers.errors import KerasImportError
    from cnncalc.importers.keras import from_keras

    tensor = {"class_name": "__keras_tensor__", "config": {"keras_history": ["in", 0, 0], "shape": [None, 4, 100]}}
    layers = [
        {"class_name": "InputLayer", "name": "in", "config": {"name": "in", "batch_shape": [None, 4, 100]}},
        {"class_name": "Conv1D", "name": "c", "config": {"name": "c", "filters": 8, "kernel_size": [3], "data_format": "channels_first"}, "inbound_nodes": [{"args": [tensor], "kwargs": {}}]},
    ]
    config = {"class_name": "Functional", "config": {"name": "m", "layers": layers, "input_layers": [["in", 0, 0]], "output_layers": [["c", 0, 0]]}}
    with pytest.raises(KerasImportError, match=r"layer 'c' \(Conv1D\): data_format 'channels_first' is not supported"):
        from_keras(config)


@pytest.mark.keras
@pytest.mark.slow
def test_the_keras_bridge_builds_1d_and_3d_specs():
    """The spec built in Keras (cnncalc.keras_check.check): causal and strided dilated 1-D
    convolutions, explicit and ceil-mode pool padding, the 3-D forms."""
    from cnncalc.keras_check import check

    signal = Sequential([
        Input(64, 3), Conv1D(8, 5, padding="causal", dilation=2), Conv1D(8, 3, stride=2, dilation=2),
        Conv1D(8, 3, stride=2, dilation=2, padding="causal"), Conv1D(8, 3, padding=2), SeparableConv1D(8, 3),
        DepthwiseConv1D(3, multiplier=2), MaxPool1D(3, stride=2, padding=1, ceil_mode=True), AvgPool1D(2, padding=1),
        Cropping1D((0, 1)), Resize(scale=2), Conv1DTranspose(4, 3, stride=2), GlobalAvgPool1D(), Dense(2),
    ])
    volume = Sequential([
        Input(8, 16, 16, 2), Conv3D(8, (3, 5, 5), stride=(1, 2, 2)), Conv3D(8, 3, stride=2, dilation=2), MaxPool3D(2, padding=1),
        AvgPool3D((1, 2, 2)), ZeroPadding3D(1), Resize(scale=(1, 2, 2)), Conv3DTranspose(4, 3, stride=2, padding="valid"), Conv3D(4, 3, groups=2), GlobalAvgPool3D(keepdims=True),
    ])
    for spec in (signal, volume):
        result = check(spec)
        assert result.ok, [row for row in result.rows if not row.ok]


@pytest.mark.keras
@pytest.mark.slow
def test_check_keras_on_conv1d_and_conv3d_files(keras_models, tmp_path):
    for name, model in keras_models.items():
        path = tmp_path / f"{name}.keras"
        model.save(path)
        code, out, err = run(str(path), "--check-keras")
        assert code == 0, out + err
        assert "OK: all" in out and "agree with Keras" in out
