"""ONNX's ``Attention`` operator (opset 23): scaled dot-product attention of computed query, key
and value, counted as ``Q K^T`` + ``A V`` (docs/conventions.md, "Attention").

Hand-built graphs (``onnx.helper``: 3-D and 4-D inputs, grouped-query heads, a past key/value
cache, masks, the optional outputs, bad head counts) with the counts written out here, and the
torch dynamo exports of one module at opsets 18 and 23 (``tests/onnx_attention_truth.py`` wrote
them with torch's own ``FlopCounterMode`` figures): the opset-23 ``Attention`` node counts what
the opset-18 MatMul / Softmax / MatMul rows count, and what torch counts.
"""

from __future__ import annotations

import io
import json
import os

import pytest

onnx = pytest.importorskip("onnx", reason="needs the onnx package (pip install 'cnncalc[onnx]'; CI installs it)")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

import numpy as np  # noqa: E402

from cnncalc import analyze, from_onnx  # noqa: E402
from cnncalc.cli import main  # noqa: E402
from cnncalc.conventions import get  # noqa: E402
from cnncalc.spec import SpecError  # noqa: E402

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "onnx_attention")


def _model(nodes, inits=(), shape=(1, 16, 32), outputs=("y",), opset=23):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, list(shape))
    ys = [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in outputs]
    tensors = [numpy_helper.from_array(np.asarray(v), name) for name, v in inits]
    graph = helper.make_graph(nodes, "g", [x], ys, initializer=tensors)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def _w(*shape, dtype=np.float32):
    return np.random.default_rng(0).standard_normal(shape).astype(dtype)


def _ints(*values):
    return np.array(values, dtype=np.int64)


def _row(a, name):
    return next(r for r in a.layers if r.name == name)


def _qkv(kv_features=32):
    """q = x W_q (16 x 32), k and v = x W_k, x W_v (16 x kv_features)."""
    nodes = [
        helper.make_node("MatMul", ["x", "wq"], ["q"]),
        helper.make_node("MatMul", ["x", "wk"], ["k"]),
        helper.make_node("MatMul", ["x", "wv"], ["v"]),
    ]
    inits = [("wq", _w(32, 32)), ("wk", _w(32, kv_features)), ("wv", _w(32, kv_features))]
    return nodes, inits


def test_3d_inputs_with_heads_as_attributes():
    """3-D: ``B x T x h d``; 4 heads of 8 on 16 tokens: Q K^T and A V are 4 x 16 x 16 x 8 each."""
    nodes, inits = _qkv()
    nodes.append(helper.make_node("Attention", ["q", "k", "v"], ["y"], q_num_heads=4, kv_num_heads=4, name="attn"))
    a = analyze(from_onnx(_model(nodes, inits)))
    row = _row(a, "attn")
    assert row.kind == "ScaledDotProductAttention" and row.output == (16, 32)
    assert row.macs == 2 * 4 * 16 * 16 * 8 and row.params == 0
    assert not a.uncounted and not [w for w in a.warnings if "not counted" in w]
    assert a.totals.macs == 3 * 16 * 32 * 32 + 2 * 4 * 16 * 16 * 8


def test_4d_inputs_and_self_attention_on_one_tensor():
    """4-D: heads split by Reshape + Transpose (``B x h x T x d``); one tensor as query, key and
    value; the output ``h x T x d`` as the ONNX spec says (the opaque row had it 16x8x4)."""
    nodes = [
        helper.make_node("Reshape", ["x", "to_heads"], ["r"]),
        helper.make_node("Transpose", ["r"], ["h"], perm=[0, 2, 1, 3]),
        helper.make_node("Attention", ["h", "h", "h"], ["y"], name="attn"),
    ]
    a = analyze(from_onnx(_model(nodes, [("to_heads", _ints(1, 16, 4, 8))])))
    row = _row(a, "attn")
    assert row.output == (4, 16, 8) and row.macs == 2 * 4 * 16 * 16 * 8
    assert a.output == (4, 16, 8)


def test_grouped_query_attention_repeats_the_key_value_heads():
    """GQA: 4 query heads, 2 key/value heads of 8 (k, v: 16 x 16); every query head attends:
    ``2 h_q T S d`` MACs, the output has the query's heads."""
    nodes, inits = _qkv(kv_features=16)
    nodes.append(helper.make_node("Attention", ["q", "k", "v"], ["y"], q_num_heads=4, kv_num_heads=2, name="attn"))
    row = _row(analyze(from_onnx(_model(nodes, inits))), "attn")
    assert row.output == (16, 32) and row.macs == 2 * 4 * 16 * 16 * 8


def test_a_stored_cache_and_mask_and_every_output():
    """A past key/value of 5 positions stored in the file (a prefix: learned, so parameters), a
    float mask (a learned bias: parameters) and a boolean one (not a parameter); the present key
    and value (``h_kv x (5 + 16) x d``) and the Q K^T scores are rows that count no MACs."""
    nodes, inits = _qkv(kv_features=16)
    past = [("pk", _w(1, 2, 5, 8)), ("pv", _w(1, 2, 5, 8))]
    nodes.append(
        helper.make_node(
            "Attention", ["q", "k", "v", "mask", "pk", "pv"], ["y", "present_k", "present_v", "qk"],
            q_num_heads=4, kv_num_heads=2, is_causal=1, softcap=30.0, qk_matmul_output_mode=1, name="attn",
        )
    )
    model = _model(nodes, [*inits, *past, ("mask", _w(1, 1, 16, 21))], outputs=("y", "present_k", "present_v", "qk"))
    a = analyze(from_onnx(model))
    rows = [_row(a, n) for n in ("attn", "attn:1", "attn:2", "attn:3")]
    assert [r.output for r in rows] == [(16, 32), (2, 21, 8), (2, 21, 8), (4, 16, 21)]
    assert [r.macs for r in rows] == [2 * 4 * 16 * 21 * 8, 0, 0, 0]
    assert [r.params for r in rows] == [2 * 2 * 5 * 8 + 16 * 21, 0, 0, 0]
    boolean = _model(nodes, [*inits, *past, ("mask", np.ones((16, 21), dtype=bool))], outputs=("y", "present_k", "present_v", "qk"))
    assert _row(analyze(from_onnx(boolean)), "attn").params == 2 * 2 * 5 * 8


def test_a_computed_cache_is_an_input_of_the_row():
    """The past key/value computed by the network (here from the input): the row reads them and
    attends over ``past + S`` positions."""
    nodes, inits = _qkv(kv_features=16)
    nodes += [
        helper.make_node("Reshape", ["k", "to_cache"], ["kr"]),
        helper.make_node("Transpose", ["kr"], ["pk"], perm=[0, 2, 1, 3]),  # 1 x 2 x 16 x 8
        helper.make_node("Attention", ["q", "k", "v", "", "pk", "pk"], ["y"], q_num_heads=4, kv_num_heads=2, name="attn"),
    ]
    row = _row(analyze(from_onnx(_model(nodes, [*inits, ("to_cache", _ints(1, 16, 2, 8))]))), "attn")
    assert row.macs == 2 * 4 * 16 * 32 * 8


def test_conventions_count_the_products_as_torch_does():
    """torchvision (and torch's FlopCounterMode, 2 per MAC): the products; fvcore has no handle
    for ``aten::scaled_dot_product_attention`` and counts 0; the TF profiler 2 per MAC."""
    nodes, inits = _qkv()
    nodes.append(helper.make_node("Attention", ["q", "k", "v"], ["y"], q_num_heads=4, kv_num_heads=4, name="attn"))
    a = analyze(from_onnx(_model(nodes, inits)))
    products = 2 * 4 * 16 * 16 * 8
    projections = 3 * 16 * 32 * 32
    assert get("torchvision").total(a) == projections + products
    assert get("flops").total(a) == 2 * (projections + products)
    assert get("fvcore").total(a) == projections
    assert get("tf-profiler").total(a) == 2 * (projections + products)


@pytest.mark.parametrize(
    "attrs, kv_features, message",
    [
        ({"q_num_heads": 3, "kv_num_heads": 3}, 32, "32 features do not split into 3 query heads"),
        ({"q_num_heads": 4, "kv_num_heads": 3}, 24, "4 query heads are not a multiple of 3 key/value heads"),
        ({"q_num_heads": 4, "kv_num_heads": 4}, 16, "query heads of 8 features and key heads of 4 cannot be multiplied"),
        ({}, 32, "3-D inputs need a positive number of query heads, got 0"),
    ],
)
def test_inconsistent_heads_are_a_one_line_error(tmp_path, attrs, kv_features, message):
    nodes, inits = _qkv(kv_features=kv_features)
    nodes.append(helper.make_node("Attention", ["q", "k", "v"], ["y"], name="attn", **attrs))
    model = _model(nodes, inits)
    with pytest.raises(SpecError, match=f"node 'attn' \\(Attention\\): .*{message}"):
        from_onnx(model)
    path = tmp_path / "bad.onnx"
    onnx.save(model, str(path))
    out, err = io.StringIO(), io.StringIO()
    assert main([str(path)], out=out, err=err) == 2
    assert err.getvalue().count("\n") == 1 and "node 'attn'" in err.getvalue() and "Traceback" not in err.getvalue()


def test_mixed_ranks_and_a_lone_past_key_are_one_line_errors():
    nodes, inits = _qkv()
    nodes += [
        helper.make_node("Reshape", ["q", "to_heads"], ["q4"]),
        helper.make_node("Attention", ["q4", "k", "v"], ["y"], name="attn"),
    ]
    with pytest.raises(SpecError, match="node 'attn' .*must all be 4-D .* or all 3-D"):
        from_onnx(_model(nodes, [*inits, ("to_heads", _ints(1, 16, 4, 8))]))
    nodes, inits = _qkv()
    nodes.append(helper.make_node("Attention", ["q", "k", "v", "", "pk"], ["y"], q_num_heads=4, kv_num_heads=4, name="attn"))
    with pytest.raises(SpecError, match="node 'attn' .*a past key needs a past value"):
        from_onnx(_model(nodes, [*inits, ("pk", _w(1, 4, 5, 8))]))


# ------------------------------------------------------------------------------------------------
# torch's exports of F.scaled_dot_product_attention at opsets 18 and 23
# ------------------------------------------------------------------------------------------------

RECORDS = json.load(open(os.path.join(DATA, "records.json")))


@pytest.mark.parametrize("name", sorted(RECORDS))
def test_opset_23_attention_counts_what_opset_18_and_torch_count(name):
    record = RECORDS[name]
    new = analyze(from_onnx(os.path.join(DATA, f"{name}.opset23.onnx")))
    old = analyze(from_onnx(os.path.join(DATA, f"{name}.opset18.onnx")))
    assert "Attention" in record["operators"]["23"] and "Attention" not in record["operators"]["18"]
    assert not new.uncounted and not old.uncounted
    assert [r.kind for r in new.layers].count("ScaledDotProductAttention") == 1
    # torch's FlopCounterMode with the math kernel: 2 per MAC of addmm (projections) and bmm
    # (Q K^T, A V); the CPU's default kernel has no formula in FlopCounterMode (torch 2.13)
    torch_macs = sum(record["torch_flops"]["math"].values()) // 2
    assert new.totals.macs == old.totals.macs == torch_macs
    assert get("flops").total(new) == sum(record["torch_flops"]["math"].values())
    assert new.output == old.output == tuple(record["input"][1:])
    assert new.totals.params == record["torch_params"]
    # the opset-18 export of a causal module stores its mask as a T x T float initializer added to
    # the scores: a stored float tensor that a row reads, counted as parameters (docs/import.md)
    t = record["input"][1]
    assert old.totals.params == record["torch_params"] + (t * t if name.endswith("causal") else 0)


# ------------------------------------------------------------------------------------------------
# onnxruntime's fused com.microsoft operators (shapes as onnxruntime 1.31.1 computes them)
# ------------------------------------------------------------------------------------------------


def _contrib(nodes, inits, outputs=("y",)):
    model = _model(nodes, inits, outputs=outputs, opset=17)
    model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    return model


def test_ms_multi_head_attention_with_bias_and_a_stored_cache():
    """``com.microsoft.MultiHeadAttention`` (query, key, value 3-D; ``num_heads`` 4): the fused
    projection bias (32 + 32 + 32) and a stored past of 5 positions are parameters; the output
    ``16 x 32`` and the present key and value ``4 x 21 x 8`` (onnxruntime: 1x16x32, 1x4x21x8)."""
    nodes, inits = _qkv()
    nodes.append(
        helper.make_node("MultiHeadAttention", ["q", "k", "v", "b", "", "", "pk", "pv"], ["y", "pk2", "pv2"], domain="com.microsoft", num_heads=4, name="mha")
    )
    model = _contrib(nodes, [*inits, ("b", _w(96)), ("pk", _w(1, 4, 5, 8)), ("pv", _w(1, 4, 5, 8))], outputs=("y", "pk2", "pv2"))
    a = analyze(from_onnx(model))
    rows = [_row(a, n) for n in ("mha", "mha:1", "mha:2")]
    assert [r.output for r in rows] == [(16, 32), (4, 21, 8), (4, 21, 8)]
    assert rows[0].macs == 2 * 4 * 16 * 21 * 8 and rows[0].params == 96 + 2 * 4 * 5 * 8
    assert not a.uncounted


def test_ms_multi_head_attention_with_wider_values():
    """Values of 64 features in 4 heads (16 each) against keys of 8: ``4 x 16 x 16 x (8 + 16)``."""
    nodes, inits = _qkv()
    inits[2] = ("wv", _w(32, 64))
    nodes.append(helper.make_node("MultiHeadAttention", ["q", "k", "v"], ["y"], domain="com.microsoft", num_heads=4, name="mha"))
    row = _row(analyze(from_onnx(_contrib(nodes, inits))), "mha")
    assert row.output == (16, 64) and row.macs == 4 * 16 * 16 * (8 + 16)


def test_ms_attention_is_its_projection_and_its_attention():
    """``com.microsoft.Attention`` holds the q/k/v projection: a Dense row (its weights and bias)
    and the attention reading the packed result; ``qkv_hidden_sizes`` for wider values
    (onnxruntime: 1x16x32 and 1x16x64)."""
    node = helper.make_node("Attention", ["x", "W", "B"], ["y"], domain="com.microsoft", num_heads=4, name="att")
    a = analyze(from_onnx(_contrib([node], [("W", _w(32, 96)), ("B", _w(96))])))
    assert [(r.kind, r.output, r.params, r.macs) for r in a.layers[1:]] == [
        ("Dense", (16, 96), 32 * 96 + 96, 16 * 32 * 96),
        ("ScaledDotProductAttention", (16, 32), 0, 2 * 4 * 16 * 16 * 8),
    ]
    wide = helper.make_node("Attention", ["x", "W", "B"], ["y"], domain="com.microsoft", num_heads=4, qkv_hidden_sizes=[32, 32, 64], name="att")
    a = analyze(from_onnx(_contrib([wide], [("W", _w(32, 128)), ("B", _w(128))])))
    assert a.output == (16, 64) and a.layers[-1].macs == 4 * 16 * 16 * (8 + 16)


@pytest.mark.parametrize(
    "node, inits, message",
    [
        (helper.make_node("Attention", ["x", "W"], ["y"], domain="com.microsoft", num_heads=4, name="att"), [("W", _w(32, 95))],
         "node 'att' .Attention.: its weights' 95 outputs do not split into query, key and value"),
        (helper.make_node("Attention", ["x", "W"], ["y"], domain="com.microsoft", num_heads=4, name="att"), [("W", _w(24, 96))],
         "node 'att' .Attention.: its weights 24x96 read 24 features, its input has 32"),
        (helper.make_node("Attention", ["x", "W"], ["y"], domain="com.microsoft", name="att"), [("W", _w(32, 96))],
         "node 'att' .Attention.: num_heads is None"),
        (helper.make_node("Attention", ["x", "W"], ["y"], domain="com.microsoft", num_heads=5, name="att"), [("W", _w(32, 96))],
         "node 'att' .Attention.: .*32 features do not split into 5 query heads"),
    ],
)
def test_ms_attention_that_cannot_run_is_a_one_line_error(node, inits, message):
    with pytest.raises(SpecError, match=message):
        from_onnx(_contrib([node], inits))


def test_ms_packed_forms_are_rows_that_say_why():
    """A packed query/key/value (``B x S x N x 3 x H``, no key input) has no kind: a row whose
    warning names the form."""
    nodes = [
        helper.make_node("MatMul", ["x", "w"], ["m"]),
        helper.make_node("Reshape", ["m", "to_packed"], ["p"]),
        helper.make_node("MultiHeadAttention", ["p"], ["y"], domain="com.microsoft", num_heads=4, name="mha"),
    ]
    model = _contrib(nodes, [("w", _w(32, 96)), ("to_packed", _ints(1, 16, 4, 3, 8))])
    model.graph.value_info.append(helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 16, 32]))
    a = analyze(from_onnx(model))
    assert [r.name for r in a.uncounted] == ["mha"]
    assert any("cnncalc has no kind for this form: a packed query, key and value" in w for w in a.warnings)
