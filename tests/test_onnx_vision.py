"""The ONNX reader on what vision models beyond the classic CNNs write: transformers' products and
layouts, the model zoo's old-opset files, tf2onnx's channels-last graphs, learned tensors reached
through constant-only operations, weights that do not fit their input, and the folded-BatchNorm
summary line. Graphs are built with ``onnx.helper`` (no torch), counts written out by hand; the
torchvision catalogue (``tests/test_torchvision_catalogue.py``) covers the exporters' own files.
"""

from __future__ import annotations

import glob
import io
import os

import pytest

onnx = pytest.importorskip("onnx", reason="needs the onnx package (pip install 'cnncalc[onnx]'; CI installs it)")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

import numpy as np  # noqa: E402

from cnncalc import analyze, from_onnx  # noqa: E402
from cnncalc.cli import main  # noqa: E402
from cnncalc.conventions import get  # noqa: E402
from cnncalc.spec import SpecError  # noqa: E402
from cnncalc.report import summary_lines  # noqa: E402


def _model(nodes, inits=(), shape=(1, 3, 8, 8), opset=17, output="y"):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, list(shape))
    y = helper.make_tensor_value_info(output, TensorProto.FLOAT, None)
    tensors = [numpy_helper.from_array(np.asarray(v), name) for name, v in inits]
    graph = helper.make_graph(nodes, "g", [x], [y], initializer=tensors)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def _w(*shape, dtype=np.float32):
    return np.random.default_rng(0).standard_normal(shape).astype(dtype)


def _ints(*values):
    return np.array(values, dtype=np.int64)


def _uncounted(a):
    return [r.name for r in a.uncounted]


# ------------------------------------------------------------------------------------------------
# Attention: tokens x channels, products of two tensors, learned tensors
# ------------------------------------------------------------------------------------------------


def _attention_model(t=5, d=8, heads=2):
    """A ViT block as exporters write it: patch embedding, class token (Concat of an Expand of an
    initializer), position embedding (Add), LayerNormalization, q/k/v MatMuls with bias Adds,
    heads split by Reshape + Transpose, Q K^T, Softmax, A V, output projection, x[:, 0], Gemm."""
    hd = d // heads
    tokens = t - 1
    nodes = [
        helper.make_node("Conv", ["x", "patch_w", "patch_b"], ["p"], kernel_shape=[4, 4], strides=[4, 4]),
        helper.make_node("Reshape", ["p", "to_seq"], ["s"]),  # N x d x tokens
        helper.make_node("Transpose", ["s"], ["st"], perm=[0, 2, 1]),  # N x tokens x d
        helper.make_node("Expand", ["cls", "cls_shape"], ["cls_e"]),
        helper.make_node("Concat", ["cls_e", "st"], ["c"], axis=1),
        helper.make_node("Add", ["c", "pos"], ["e"]),
        helper.make_node("LayerNormalization", ["e", "ln_s", "ln_b"], ["n"], axis=-1),
    ]
    for name in "qkv":
        nodes += [
            helper.make_node("MatMul", ["n", f"{name}_w"], [f"{name}0"]),
            helper.make_node("Add", [f"{name}0", f"{name}_b"], [f"{name}1"]),
            helper.make_node("Reshape", [f"{name}1", "to_heads"], [f"{name}2"]),
            helper.make_node("Transpose", [f"{name}2"], [f"{name}3"], perm=[0, 2, 3, 1] if name == "k" else [0, 2, 1, 3]),
        ]
    nodes += [
        helper.make_node("MatMul", ["q3", "k3"], ["scores"]),  # N x h x t x t
        helper.make_node("Div", ["scores", "scale"], ["scaled"]),
        helper.make_node("Softmax", ["scaled"], ["attn"], axis=-1),
        helper.make_node("MatMul", ["attn", "v3"], ["mixed"]),  # N x h x t x hd
        helper.make_node("Transpose", ["mixed"], ["mt"], perm=[0, 2, 1, 3]),
        helper.make_node("Reshape", ["mt", "to_tokens"], ["merged"]),
        helper.make_node("MatMul", ["merged", "o_w"], ["o0"]),
        helper.make_node("Add", ["o0", "o_b"], ["o1"]),
        helper.make_node("Gather", ["o1", "zero"], ["first"], axis=1),
        helper.make_node("Gemm", ["first", "head_w", "head_b"], ["y"], transB=1),
    ]
    inits = [
        ("patch_w", _w(d, 3, 4, 4)), ("patch_b", _w(d)), ("to_seq", _ints(1, d, -1)), ("cls", _w(1, 1, d)),
        ("cls_shape", _ints(1, 1, d)), ("pos", _w(1, t, d)), ("ln_s", _w(d)), ("ln_b", _w(d)),
        ("to_heads", _ints(1, t, heads, hd)), ("scale", np.array(2.0, dtype=np.float32)), ("to_tokens", _ints(1, t, d)),
        ("o_w", _w(d, d)), ("o_b", _w(d)), ("zero", np.array(0, dtype=np.int64)), ("head_w", _w(10, d)), ("head_b", _w(10)),
    ]
    for name in "qkv":
        inits += [(f"{name}_w", _w(d, d)), (f"{name}_b", _w(d))]
    assert tokens == 4
    return _model(nodes, inits)


def test_a_vision_transformer_block_is_counted_row_by_row():
    a = analyze(from_onnx(_attention_model()))
    t, d, heads = 5, 8, 2
    assert not _uncounted(a) and not [w for w in a.warnings if "not counted" in w]
    kinds = [r.kind for r in a.layers]
    assert kinds.count("MatMul") == 2 and kinds.count("ClassToken") == 1 and kinds.count("Learned") == 1
    params = (d * 48 + d) + d + t * d + 2 * d + 4 * (d * d + d) + (10 * d + 10)
    assert a.totals.params == params
    products = 2 * heads * t * t * (d // heads)
    macs = 4 * d * 48 + 4 * t * d * d + products + 10 * d
    assert a.totals.macs == macs and get("torchvision").total(a) == macs
    assert a.row("Gather_27").output == (d,) if "Gather_27" in {r.name for r in a.layers} else True
    scores = [r for r in a.layers if r.kind == "MatMul"][0]
    assert scores.output == (heads, t, t)


def test_einsum_of_two_tensors_and_by_a_weight():
    nodes = [
        helper.make_node("Reshape", ["x", "to"], ["s"]),  # N x 2 x 4 x 24
        helper.make_node("Einsum", ["s", "s"], ["g"], equation="bhid,bhjd->bhij"),
        helper.make_node("Einsum", ["g", "w"], ["y"], equation="bhij,jk->bhik"),
    ]
    a = analyze(from_onnx(_model(nodes, [("to", _ints(1, 2, 4, 24)), ("w", _w(4, 6))])))
    products, dense = a.layers[-2:]
    assert (products.kind, products.output, products.macs) == ("Einsum", (2, 4, 4), 2 * 4 * 4 * 24)
    assert (dense.kind, dense.output, dense.params, dense.macs) == ("EinsumDense", (2, 4, 6), 24, 2 * 4 * 4 * 6)


# ------------------------------------------------------------------------------------------------
# Layouts: channels-last stages, batch axes folded into windows, chunks
# ------------------------------------------------------------------------------------------------


def test_swin_style_channels_last_stage_with_windows():
    """``N x C x H x W`` -> ``N x H x W x C`` (no row), a zero Pad (no row), a Pad of the width, a
    window partition that folds the batch into the windows (``B nW x 2 x 2 x C``), a Linear on
    channels last and the reverse: every row counted."""
    nodes = [
        helper.make_node("Transpose", ["x"], ["t"], perm=[0, 2, 3, 1]),  # 1 x 8 x 8 x 3
        helper.make_node("Pad", ["t", "no_pads"], ["t0"]),
        helper.make_node("Pad", ["t0", "pads"], ["tp"]),  # 1 x 8 x 10 x 3
        helper.make_node("LayerNormalization", ["tp", "ln_s", "ln_b"], ["n"], axis=-1),
        helper.make_node("Reshape", ["n", "win"], ["w0"]),  # 1 x 4 x 2 x 5 x 2 x 3
        helper.make_node("Transpose", ["w0"], ["w1"], perm=[0, 1, 3, 2, 4, 5]),
        helper.make_node("Reshape", ["w1", "windows"], ["w2"]),  # 20 x 4 x 3: the batch folded in
        helper.make_node("MatMul", ["w2", "fc"], ["f"]),  # 20 x 4 x 6
        helper.make_node("Reshape", ["f", "back"], ["y"]),  # 1 x 8 x 10 x 6
    ]
    inits = [
        ("no_pads", _ints(0, 0, 0, 0, 0, 0, 0, 0)), ("pads", _ints(0, 0, 1, 0, 0, 0, 1, 0)), ("ln_s", _w(3)), ("ln_b", _w(3)),
        ("win", _ints(1, 4, 2, 5, 2, 3)), ("windows", _ints(-1, 4, 3)), ("fc", _w(3, 6)), ("back", _ints(1, 8, 10, 6)),
    ]
    a = analyze(from_onnx(_model(nodes, inits)))
    assert not _uncounted(a)
    pad = [r for r in a.layers if r.kind == "ZeroPadding2D"]
    assert len(pad) == 1 and pad[0].output == (8, 10, 3)
    dense = [r for r in a.layers if r.kind == "Dense"][0]
    assert dense.input == (20, 4, 3) and dense.output == (20, 4, 6) and dense.macs == 20 * 4 * 3 * 6
    assert a.output == (8, 10, 6) and a.totals.params == 6 + 18


def test_split_and_slice_take_their_sizes_from_the_graph():
    """ShuffleNetV2's ``chunk`` as Split (sizes as an input) and as two Slices; a channel shuffle
    (Reshape, Transpose, Reshape) back to an image for the next convolution."""
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"]),  # 8 channels
        helper.make_node("Split", ["c", "sizes"], ["a", "b"], axis=1),
        helper.make_node("Slice", ["c", "starts", "ends", "axes"], ["s"]),  # channels 2..5
        helper.make_node("Conv", ["b", "w2"], ["b2"]),
        helper.make_node("Concat", ["a", "b2", "s"], ["cat"], axis=1),  # 5 + 3 + 3 = 11
        helper.make_node("Reshape", ["cat", "groups"], ["g"]),
        helper.make_node("Transpose", ["g"], ["gt"], perm=[0, 2, 1, 3, 4]),
        helper.make_node("Reshape", ["gt", "flat"], ["sh"]),
        helper.make_node("Conv", ["sh", "w3"], ["y"]),
    ]
    inits = [
        ("w", _w(8, 3, 1, 1)), ("sizes", _ints(5, 3)), ("starts", _ints(2)), ("ends", _ints(5)), ("axes", _ints(1)),
        ("w2", _w(3, 3, 1, 1)), ("groups", _ints(1, 1, 11, 8, 8)), ("flat", _ints(1, 11, 8, 8)), ("w3", _w(4, 11, 1, 1)),
    ]
    a = analyze(from_onnx(_model(nodes, inits)))
    assert not _uncounted(a)
    slices = [r for r in a.layers if r.kind == "Slice"]
    assert sorted(r.output for r in slices) == [(8, 8, 3), (8, 8, 3), (8, 8, 5)]
    assert a.output == (8, 8, 4) and a.totals.macs == 64 * (8 * 3 + 3 * 3 + 4 * 11)


def test_a_symbolic_batch_folded_into_another_axis_counts_per_sample():
    """``nn.MultiheadAttention`` with a dynamic batch reshapes ``L x N x E`` to ``L x N*heads x d``:
    the batch folded into the heads axis counts as a batch of 1 there (per sample), and comes back
    where a later reshape names the batch size again."""
    nodes = [
        helper.make_node("Reshape", ["x", "fold"], ["f"]),  # N x 3 x 8 x 8 -> 3N x 8 x 8
        helper.make_node("MatMul", ["f", "w"], ["m"]),  # 3N x 8 x 5
        helper.make_node("Shape", ["x"], ["s"]),
        helper.make_node("Gather", ["s", "zero"], ["n"], axis=0),
        helper.make_node("Unsqueeze", ["n", "axes"], ["n1"]),
        helper.make_node("Concat", ["n1", "rest"], ["back_shape"], axis=0),
        helper.make_node("Reshape", ["m", "back_shape"], ["y"]),  # N x 3 x 40
    ]
    inits = [("fold", _ints(-1, 8, 8)), ("w", _w(8, 5)), ("zero", np.array(0, dtype=np.int64)), ("axes", _ints(0)), ("rest", _ints(3, 40))]
    a = analyze(from_onnx(_model(nodes, inits, shape=("N", 3, 8, 8))))
    assert not a.uncounted
    dense = [r for r in a.layers if r.kind == "Dense"][0]
    assert dense.input == (3, 8, 8) and dense.macs == 3 * 8 * 8 * 5  # per sample, no N
    assert a.output == (3, 40)
    many = [helper.make_node("Reshape", ["x", "two"], ["y"])]  # two axes the size of the batch: named
    b = analyze(from_onnx(_model(many, [("two", _ints(2, 2, 48))], shape=(2, 3, 8, 8))))
    assert [r.kind for r in b.uncounted] == ["Opaque"] and any("moves the batch axis" in w for w in b.warnings)


# ------------------------------------------------------------------------------------------------
# Learned tensors through constant-only operations; integer constants never parameters
# ------------------------------------------------------------------------------------------------


def test_learned_tensors_reach_their_rows_through_constant_operations():
    """A per-channel bias through Unsqueeze (the model zoo's DenseNet), a position embedding
    through Identity and Reshape (TorchScript's copies), PReLU slopes through Unsqueeze: each a row with
    its parameters; the integer shape and axes constants are not parameters."""
    nodes = [
        helper.make_node("Unsqueeze", ["bias", "axes"], ["bias_u"]),  # 3 -> 3 x 1 x 1
        helper.make_node("Add", ["x", "bias_u"], ["a"]),
        helper.make_node("Identity", ["pos"], ["pos_i"]),
        helper.make_node("Reshape", ["pos_i", "pos_shape"], ["pos_r"]),  # 192 -> 3 x 8 x 8
        helper.make_node("Add", ["a", "pos_r"], ["b"]),
        helper.make_node("PRelu", ["b", "slope_u"], ["y"]),  # its slope through Unsqueeze
        helper.make_node("Unsqueeze", ["slope", "axes"], ["slope_u"]),
    ]
    nodes = nodes[:5] + [nodes[6], nodes[5]]
    inits = [("bias", _w(3)), ("axes", _ints(1, 2)), ("pos", _w(192)), ("pos_shape", _ints(3, 8, 8)), ("slope", _w(3))]
    a = analyze(from_onnx(_model(nodes, inits)))
    bias, pos, prelu = a.layers[1:]
    assert (bias.kind, bias.params, bias.output) == ("Learned", 3, (8, 8, 3))
    assert (pos.kind, pos.params) == ("Learned", 192)
    assert (prelu.kind, prelu.params) == ("PReLU", 3)
    assert a.totals.params == 3 + 192 + 3  # not the 2 + 3 integers of axes and shape
    assert not a.uncounted


def test_a_known_kind_never_says_not_counted():
    """Add of a per-channel constant, MaxPool with dilations 1 and a Sum: known kinds, no warning."""
    nodes = [
        helper.make_node("Add", ["x", "b"], ["a"]),
        helper.make_node("MaxPool", ["a"], ["p"], kernel_shape=[2, 2], strides=[2, 2], dilations=[1, 1]),
        helper.make_node("Sum", ["p", "p", "p"], ["y"]),
    ]
    a = analyze(from_onnx(_model(nodes, [("b", _w(3, 1, 1))])))
    assert [r.kind for r in a.layers[1:]] == ["Learned", "MaxPool2D", "Add"]
    assert not [w for w in a.warnings if "not counted" in w or "no formula" in w]


@pytest.mark.parametrize(
    "slope, shape, params, shared",
    [
        ((3, 1, 1), (1, 3, 8, 8), 3, (0, 1)),  # torch's nn.PReLU(3): one slope per channel (H x W x C)
        ((1,), (1, 3, 8, 8), 1, (0, 1, 2)),  # nn.PReLU(): one slope
        ((32,), (1, 16, 32), 32, (0,)),  # per feature on tokens x channels
        ((3, 8, 8), (1, 3, 8, 8), 192, ()),  # Keras' default: a slope per element
    ],
)
def test_prelu_is_an_activation_with_learned_slopes(slope, shape, params, shared):
    a = analyze(from_onnx(_model([helper.make_node("PRelu", ["x", "s"], ["y"], name="act")], [("s", _w(*slope))], shape=shape)))
    row = a.row("act")
    assert (row.kind, row.layer.shared, row.params, row.macs) == ("PReLU", shared, params, 0)
    assert not a.uncounted and not [w for w in a.warnings if "not counted" in w]


def test_prelu_slopes_that_do_not_fit_are_a_one_line_error():
    with pytest.raises(SpecError, match=r"node 'act' \(PRelu\): its slopes 4x1x1 do not broadcast over its input 1x3x8x8"):
        from_onnx(_model([helper.make_node("PRelu", ["x", "s"], ["y"], name="act")], [("s", _w(4, 1, 1))]))


def test_unknown_and_foreign_operators_say_truthfully_why_they_are_not_counted():
    """The warning names the operator and the cause: a standard operator with no rule, an
    operator of another domain (onnxruntime's fused com.microsoft.SkipLayerNormalization), a form of a known
    operator no kind expresses. Never "no formula for this class" on an ONNX operator."""
    from cnncalc.importers.onnx.ops import OPS

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 16, 32])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    nodes = [
        helper.make_node("CumSum", ["x", "axis"], ["c"], name="cum"),
        helper.make_node("SkipLayerNormalization", ["c", "c", "gamma", "beta"], ["m"], domain="com.microsoft", name="fused"),
        helper.make_node("Pad", ["m", "pads", "", "axes"], ["y"], name="pad"),
    ]
    inits = [numpy_helper.from_array(np.array(1, dtype=np.int64), "axis"), numpy_helper.from_array(_w(32), "gamma"),
             numpy_helper.from_array(_w(32), "beta"), numpy_helper.from_array(_ints(1, 1), "pads"), numpy_helper.from_array(_ints(2), "axes")]
    graph = helper.make_graph(nodes, "g", [x], [y], initializer=inits)
    vi = [helper.make_tensor_value_info("m", TensorProto.FLOAT, [1, 16, 32])]
    graph.value_info.extend(vi)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18), helper.make_opsetid("com.microsoft", 1)])
    a = analyze(from_onnx(model))
    warnings = [w for w in a.warnings if "not counted" in w]
    assert "layer 'cum' (CumSum): MACs not counted (cnncalc has no rule for the ONNX operator CumSum)" in warnings[0]
    assert "layer 'fused' (SkipLayerNormalization): MACs not counted (an operator of the domain 'com.microsoft', outside the ONNX standard" in warnings[1]
    assert "layer 'pad' (Pad): MACs not counted (cnncalc has no kind for this form: pads [1, 1] on a rank-3 tensor)" in warnings[2]
    assert a.row("fused").params == 2 * 32  # its float inputs (gamma, beta), as every opaque row's
    assert not any("no formula" in w for w in a.warnings)
    assert "CumSum" not in OPS and "Pad" in OPS


def test_tf2onnx_channels_last_input_and_per_channel_bias():
    """tf2onnx: an N x H x W x C input read through Transpose, a bias-free Conv, back to channels
    last, a per-channel bias Add (C values) and a Relu."""
    nodes = [
        helper.make_node("Transpose", ["x"], ["t"], perm=[0, 3, 1, 2]),
        helper.make_node("Conv", ["t", "w"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Transpose", ["c"], ["ct"], perm=[0, 2, 3, 1]),
        helper.make_node("Add", ["ct", "bias"], ["b"]),
        helper.make_node("Relu", ["b"], ["y"]),
    ]
    a = analyze(from_onnx(_model(nodes, [("w", _w(16, 3, 3, 3)), ("bias", _w(16))], shape=(1, 32, 32, 3))))
    assert not _uncounted(a)
    assert [r.kind for r in a.layers] == ["Input", "Conv2D", "Learned", "Activation"]
    assert a.totals.params == 16 * 27 + 16 and a.output == (32, 32, 16)


# ------------------------------------------------------------------------------------------------
# Weights that do not fit their input: one line naming the node
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "nodes, inits, message",
    [
        ([helper.make_node("Conv", ["x", "w"], ["y"], name="conv5")], [("w", _w(8, 5, 3, 3))],
         "node 'conv5' .Conv.: its weight 8x5x3x3 in 1 group.s. reads 5 channels, its input has 3"),
        ([helper.make_node("Conv", ["x", "w", "b"], ["y"], name="c")], [("w", _w(8, 3, 3, 3)), ("b", _w(7))],
         "its bias has 7 values for 8 output channels"),
        ([helper.make_node("Flatten", ["x"], ["f"]), helper.make_node("Gemm", ["f", "w"], ["y"], name="fc")], [("w", _w(100, 10))],
         "node 'fc' .Gemm.: its weight 100x10 reads 100 features, its input has 192"),
        ([helper.make_node("BatchNormalization", ["x", "s", "s", "s", "m"], ["y"], name="bn")], [("s", _w(3)), ("m", _w(4))],
         "node 'bn' .BatchNormalization.: its input 5 has 4 values for 3 channels"),
    ],
)
def test_weights_that_do_not_fit_their_input_are_a_one_line_error(tmp_path, nodes, inits, message):
    model = _model(nodes, inits)
    with pytest.raises(SpecError, match=message):
        from_onnx(model)
    path = tmp_path / "bad.onnx"
    onnx.save(model, str(path))
    out, err = io.StringIO(), io.StringIO()
    assert main([str(path)], out=out, err=err) == 2
    assert err.getvalue().count("\n") == 1 and "Traceback" not in err.getvalue()


# ------------------------------------------------------------------------------------------------
# The ONNX model zoo's classic files, at their own opset
# ------------------------------------------------------------------------------------------------

LIGHT = sorted(glob.glob(os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "data", "light", "light_*.onnx")))

ZOO = {
    # parameters of the original models (the light files keep every weight's shape)
    "light_bvlc_alexnet": 60_965_224,  # Caffe's AlexNet with its two groups (docs/design.md)
    "light_vgg19": 143_667_240,  # docs/design.md's VGG19
    "light_inception_v1": 6_998_552,  # docs/design.md's GoogLeNet (Caffe bvlc_googlenet)
    "light_resnet50": 25_610_152,  # 25,557,032 trainable (torchvision's ResNet-50) + 53,120 BN statistics
}


def _stored_weights(model) -> int:
    """The elements of the float weights a node reads: initializers, and the ``ConstantOfShape``
    tensors by which the light files stand in for them (their shape kept)."""
    inits = {t.name: t for t in model.graph.initializer}
    stand_ins = {}
    for node in model.graph.node:
        if node.op_type == "ConstantOfShape":
            stand_ins[node.output[0]] = int(np.prod(numpy_helper.to_array(inits[node.input[0]])))
    total = 0
    for node in model.graph.node:
        if node.op_type == "ConstantOfShape":
            continue
        for t in node.input:
            if t in stand_ins:
                total += stand_ins[t]
            elif t in inits and inits[t].data_type == TensorProto.FLOAT and int(np.prod(inits[t].dims)) > 1:
                total += int(np.prod(inits[t].dims))
    return total


@pytest.mark.skipif(len(LIGHT) != 9, reason="the onnx package ships the nine light model-zoo files")
@pytest.mark.parametrize("path", LIGHT, ids=lambda p: os.path.basename(p)[:-5])
def test_model_zoo_files_read_at_their_own_opset(path):
    model = onnx.load(path)
    version = next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))
    assert version < 11
    spec = from_onnx(path)
    assert f"opset {version}, upgraded to 13 in memory" in spec.description
    a = analyze(spec)
    assert not a.uncounted
    assert a.totals.params == _stored_weights(model)
    assert f"opset        {version}, upgraded to 13 in memory" in summary_lines(a)[1]  # the user sees it too
    name = os.path.basename(path)[:-5]
    if name in ZOO:
        assert a.totals.params == ZOO[name]


def test_a_file_the_converter_cannot_upgrade_names_the_operator():
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    graph = helper.make_graph([helper.make_node("Scan", ["x"], ["y"])], "g", [x], [y])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 7)])
    with pytest.raises(SpecError, match=r"opset 7, older than 11, and onnx.version_converter cannot upgrade it \(operator Scan\)"):
        from_onnx(model)


# ------------------------------------------------------------------------------------------------
# BatchNorm folding: what torch would count (issue 28)
# ------------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_folded_batchnorm_summary_line_gives_torchs_count(tmp_path):
    """A ResNet-18-like stem exported untrained in eval mode: TorchScript folds the BatchNorm into
    the convolution (a bias of C), dynamo also drops that all-zero bias; both files' summaries say
    what torch counts for the unfolded model."""
    torch = pytest.importorskip("torch", reason="needs torch to export (CI installs it)")
    import warnings

    nn = torch.nn
    model = nn.Sequential(nn.Conv2d(3, 16, 3, bias=False), nn.BatchNorm2d(16), nn.ReLU(), nn.Conv2d(16, 8, 3, bias=False), nn.BatchNorm2d(8)).eval()
    torch_count = sum(p.numel() for p in model.parameters())
    weights = 16 * 27 + 8 * 16 * 9
    for exporter, file_count in (("torchscript", weights + 24), ("dynamo", weights)):
        path = str(tmp_path / f"{exporter}.onnx")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(model, (torch.randn(1, 3, 16, 16),), path, dynamo=exporter == "dynamo")
        out = io.StringIO()
        assert main([path], out=out, err=io.StringIO()) == 0
        text = out.getvalue()
        assert f"{file_count:,}" in text
        line = next(line for line in text.splitlines() if line.startswith("batchnorm"))
        assert "folded into 2 convolution(s)" in line and "24 channels" in line
        assert f"torch counts {torch_count:,} parameters" in line
        assert ("all-zero bias" in line) == (exporter == "dynamo")
