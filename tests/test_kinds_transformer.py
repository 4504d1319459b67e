"""The kinds vision transformers and their ONNX exports need: products of two tensors (MatMul,
Einsum), EinsumDense and Dense on any axis, GroupNorm, learned tensors (Learned, ClassToken) and
the rearrangements (Permute, Slice, Take, Tile). Shapes, parameters and MACs from hand arithmetic;
parameters against Keras' ``count_params()`` where Keras has the layer (or cnncalc's own custom
layer); each preset's count where it differs from 0."""

from __future__ import annotations

import pytest

from cnncalc import analyze
from cnncalc.conventions import get
from cnncalc.kinds import (
    Activation, ClassToken, Conv2D, Dense, Einsum, EinsumDense, GroupNorm, Input, LayerNorm, Learned, MatMul, Permute,
    Reduce, Reshape, Slice, Take, Tile,
)
from cnncalc.spec import Graph, Node, Sequential, Spec, SpecError


def _chain(*layers, input=(8, 8, 3)):
    return Spec(Sequential((Input(*input, name="x"), *layers)))


def _tokens(*layers, tokens=6, channels=4):
    """A ``tokens x channels`` sequence (an image reshaped), then ``layers``."""
    return _chain(Reshape((tokens, channels)), *layers, input=(2, tokens // 2, channels))


# ------------------------------------------------------------------------------------------------
# Products of two tensors
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "a, b, out, k",
    [
        ((6, 4), (4, 6), (6, 6), 4),  # Q K^T of one head: tokens x tokens
        ((3, 6, 4), (3, 4, 6), (3, 6, 6), 4),  # three heads
        ((3, 6, 6), (1, 6, 4), (3, 6, 4), 6),  # A V, the value broadcast over the heads
        ((5,), (5, 2), (2,), 5),  # a vector times a matrix
        ((2, 5), (5,), (2,), 5),
    ],
)
def test_matmul_shapes_and_macs(a, b, out, k):
    row = analyze(_product(MatMul(name="mm"), a, b)).row("mm")
    elements = 1
    for v in out:
        elements *= v
    assert (row.output, row.macs, row.params, row.activations) == (out, elements * k, 0, elements)
    assert get("torchvision").count(row) == get("fvcore").count(row) == elements * k
    assert get("flops").count(row) == get("tf-profiler").count(row) == 2 * elements * k  # BatchMatMul: 2 k x output
    assert get("ptflops").count(row) == get("torchinfo").count(row) == 0


def _size(shape):
    n = 1
    for v in shape:
        n *= v
    return n


def _product(layer, a, b):
    """``layer`` on operands of shapes ``a`` and ``b``: two slices of one input, reshaped."""
    na, nb = _size(a), _size(b)
    return Spec(
        Graph(
            (
                Node(Input(1, 1, na + nb, name="x")),
                Node(Slice(axis=-1, stop=na, name="a_flat"), ("x",)),
                Node(Slice(axis=-1, start=na, name="b_flat"), ("x",)),
                Node(Reshape(a, name="a"), ("a_flat",)),
                Node(Reshape(b, name="b"), ("b_flat",)),
                Node(layer, ("a", "b")),
            ),
            outputs=(layer.name,),
        )
    )


def test_matmul_refuses_mismatched_inner_sizes_and_non_broadcasting_batches():
    for a, b, message in (((6, 4), (5, 6), "inner sizes 4 and 5 differ"), ((2, 6, 4), (3, 4, 6), "do not broadcast")):
        with pytest.raises(SpecError, match=message):
            analyze(_product(MatMul(name="mm"), a, b))


def test_einsum_of_attention_scores():
    """MaxViT's ``B G H I D, B G H J D -> B G H I J``: every index's size multiplied."""
    row = analyze(_product(Einsum("bghid,bghjd->bghij", name="qk"), (2, 3, 5, 4), (2, 3, 7, 4))).row("qk")
    assert row.output == (2, 3, 5, 7)
    assert row.macs == 2 * 3 * 5 * 7 * 4 and row.params == 0
    assert analyze(_product(Einsum("...id,...jd->...ij", name="qk"), (3, 5, 4), (3, 7, 4))).row("qk").output == (3, 5, 7)


def test_einsum_refusals():
    for equation, message in (
        ("bij,bjk", "no '->'"),
        ("bij,bjk->ibk", "moves the batch axis"),
        ("bijx,bjk->bik", "does not fit a rank-3 operand"),
        ("bij,bjk->bizk", "not made of its operands' indices"),
        ("bij,bkl->bij", "summed over the second operand alone"),
    ):
        with pytest.raises(SpecError, match=message):
            analyze(_product(Einsum(equation, name="e"), (3, 4), (4, 5)))


def test_einsum_dense_counts_its_weight_and_bias():
    # tokens x channels -> tokens x heads x head_dim, Keras' MultiHeadAttention projection
    row = analyze(_tokens(EinsumDense("abc,cde->abde", weight=(4, 2, 3), bias_axes="de"))).layers[-1]
    assert row.output == (6, 2, 3)
    assert (row.weights, row.biases, row.macs) == (4 * 2 * 3, 2 * 3, 6 * 4 * 2 * 3)
    assert get("ptflops").count(row) == row.macs + 6 * 2 * 3 and get("torchinfo").count(row) == 24 + 6


def test_dense_on_any_axis():
    row = analyze(_tokens(Dense(5, last_axis=True, axis=-2))).layers[-1]  # contracts the 6 tokens
    assert row.output == (5, 4) and (row.weights, row.biases, row.macs) == (30, 5, 4 * 30)
    row = analyze(_tokens(Dense(5, last_axis=True))).layers[-1]
    assert row.output == (6, 5) and (row.weights, row.macs) == (20, 6 * 20)
    with pytest.raises(SpecError, match="axis -3 is outside its rank-2 input"):
        analyze(_tokens(Dense(5, last_axis=True, axis=-3)))


# ------------------------------------------------------------------------------------------------
# Normalisation, learned tensors, rearrangements
# ------------------------------------------------------------------------------------------------


def test_group_and_instance_norm():
    row = analyze(_chain(Conv2D(8, 1), GroupNorm(4))).layers[-1]
    assert (row.output, row.weights, row.biases, row.non_trainable, row.macs) == ((8, 8, 8), 8, 8, 0, 0)
    assert get("fvcore").count(row) == 5 * 8 * 8 * 8 and get("ptflops").count(row) == 2 * 8 * 8 * 8
    assert get("torchinfo").count(row) == 16 and get("macs").count(row) == 0
    row = analyze(_chain(GroupNorm(-1, scale=False, center=False))).layers[-1]
    assert (row.params, get("fvcore").count(row)) == (0, 4 * 8 * 8 * 3)
    row = analyze(_tokens(GroupNorm(2, axis=0))).layers[-1]  # channels on another axis
    assert row.params == 12
    with pytest.raises(SpecError, match="8 channels do not split into 3 groups"):
        analyze(_chain(Conv2D(8, 1), GroupNorm(3)))


def test_learned_tensors():
    # a ViT position embedding on 6 tokens x 4 channels, a per-channel bias on an image
    pos = analyze(_tokens(Learned("add", (6, 4)))).layers[-1]
    assert (pos.output, pos.weights, pos.macs, pos.activations) == ((6, 4), 24, 0, 24)
    assert get("tf-profiler").count(pos) == 24 and get("torchinfo").count(pos) == 24 and get("macs").count(pos) == 0
    bias = analyze(_chain(Learned("add", (1, 1, 3)))).layers[-1]
    assert (bias.output, bias.params) == ((8, 8, 3), 3) and bias.rf == 1
    grow = analyze(_tokens(Learned("mul", (2, 1, 1)))).layers[-1]  # broadcasting grows the output
    assert grow.output == (2, 6, 4) and grow.params == 2
    with pytest.raises(SpecError, match="do not broadcast"):
        analyze(_tokens(Learned("add", (5, 4))))
    with pytest.raises(SpecError, match="unknown function 'pow'"):
        analyze(_tokens(Learned("pow", (4,))))


def test_learned_tensor_computed_from_fewer_stored_values():
    # Swin's relative-position bias: 3 heads x 49 x 49 gathered from a 169 x 3 table
    row = analyze(_tokens(Reshape((3, 2, 4)), Learned("add", (3, 2, 4), params=12))).layers[-1]
    assert (row.output, row.weights) == ((3, 2, 4), 12)
    with pytest.raises(SpecError, match="params must be a count"):
        analyze(_tokens(Learned("add", (6, 4), params=-1)))
    # swin_v2's position bias: an MLP of 2 -> 8 -> 3 on a 5 x 2 table, run on every pass
    mlp = 5 * 2 * 8 + 5 * 8 * 3
    row = analyze(_tokens(Reshape((3, 2, 4)), Learned("add", (3, 2, 4), params=2 * 8 + 8 + 8 * 3, macs=mlp))).layers[-1]
    assert (row.weights, row.macs) == (48, mlp)
    assert get("torchvision").count(row) == get("fvcore").count(row) == mlp and get("flops").count(row) == 2 * mlp
    assert get("tf-profiler").count(row) == 24 + 2 * mlp


def test_reductions():
    a = analyze(_tokens(Reduce("l2", (-1,)), Reduce("mean", (0,), keepdims=False)))
    norm, mean = a.layers[-2:]
    assert (norm.output, mean.output) == ((6, 1), (1,))
    assert norm.params == norm.macs == 0 and norm.activations == 6
    assert get("tf-profiler").count(mean) == 6 and get("tf-profiler").count(norm) == 0
    assert all(get(c).count(norm) == 0 for c in ("macs", "fvcore", "ptflops", "torchinfo"))
    for bad, message in ((Reduce("median"), "unknown function"), (Reduce("sum", (2,)), "do not fit its rank-2 input")):
        with pytest.raises(SpecError, match=message):
            analyze(_tokens(bad))


def test_class_token():
    row = analyze(_tokens(ClassToken())).layers[-1]
    assert (row.output, row.weights) == ((7, 4), 4)
    row = analyze(_tokens(ClassToken(tokens=2, axis=-1))).layers[-1]
    assert (row.output, row.weights) == ((6, 6), 12)


def test_rearrangements():
    a = analyze(_tokens(Permute((1, 0)), Slice(axis=0, start=1, stop=3), Take(axis=-1, index=-1), Tile((3,))))
    permute, piece, take, tile = a.layers[-4:]
    assert (permute.output, piece.output, take.output, tile.output) == ((4, 6), (2, 6), (2,), (6,))
    assert [r.activations for r in (permute, piece, take, tile)] == [0, 0, 0, 6]
    assert all(r.params == 0 and r.macs == 0 for r in a.layers)
    # ShuffleNetV2's channel split keeps the field; a slice of the width is a crop
    split = analyze(_chain(Conv2D(8, 3, padding="same"), Slice(axis=-1, start=4))).layers[-1]
    assert split.output == (8, 8, 4) and split.rf == 3
    crop = analyze(_chain(Conv2D(8, 3, padding="same"), Slice(axis=1, start=2, step=2))).layers[-1]
    assert crop.output == (8, 3, 8) and crop.jump == (1, 2)
    for bad, message in (
        (Permute((0, 0)), "not a permutation"),
        (Slice(axis=2), "axis 2 is outside"),
        (Slice(axis=0, start=6), "is empty"),
        (Slice(step=0), "non-zero"),
        (Take(axis=0, index=6), "index 6 is outside"),
        (Tile((2,)), "do not fit"),
    ):
        with pytest.raises(SpecError, match=message):
            analyze(_tokens(bad))


def test_symbolic_slice_of_a_channel_split():
    from cnncalc.sizes import parse_size

    h, w, _ = parse_size("H x W x 3")
    a = analyze(_chain(Slice(axis=0, start=1), Slice(axis=1, stop=-1)), input=(h, w, 3))
    assert a.output == (h - 1, w - 1, 3)


# ------------------------------------------------------------------------------------------------
# A small vision transformer, end to end, against Keras
# ------------------------------------------------------------------------------------------------


def tiny_vit(tokens=4, dim=8, heads=2):
    """Patch embedding, class token, position embedding, one attention block (the products written
    out as MatMuls), an MLP, the class token's head."""
    t, d, hd = tokens + 1, dim, dim // heads
    nodes = [
        Node(Input(8, 8, 3, name="x")),
        Node(Conv2D(d, 4, stride=4, name="patch"), ("x",)),
        Node(Reshape((tokens, d), name="seq"), ("patch",)),
        Node(ClassToken(name="cls"), ("seq",)),
        Node(Learned("add", (t, d), name="pos"), ("cls",)),
        Node(LayerNorm(name="ln1"), ("pos",)),
        Node(Dense(3 * d, last_axis=True, name="qkv"), ("ln1",)),
        Node(Reshape((t, 3, heads, hd), name="qkv_heads"), ("qkv",)),
        Node(Permute((1, 2, 0, 3), name="qkv_t"), ("qkv_heads",)),  # 3 x heads x t x hd
        Node(Take(axis=0, index=0, name="q"), ("qkv_t",)),
        Node(Take(axis=0, index=1, name="k"), ("qkv_t",)),
        Node(Take(axis=0, index=2, name="v"), ("qkv_t",)),
        Node(Permute((0, 2, 1), name="kt"), ("k",)),
        Node(MatMul(name="scores"), ("q", "kt")),
        Node(Activation("softmax", name="attn"), ("scores",)),
        Node(MatMul(name="mix"), ("attn", "v")),
        Node(Permute((1, 0, 2), name="mix_t"), ("mix",)),
        Node(Reshape((t, d), name="merge"), ("mix_t",)),
        Node(Dense(d, last_axis=True, name="proj"), ("merge",)),
        Node(Take(axis=0, index=0, name="head_token"), ("proj",)),
        Node(Dense(10, name="head"), ("head_token",)),
    ]
    return Spec(Graph(tuple(nodes)), model="tiny_vit")


def test_tiny_vit_by_hand():
    a = analyze(tiny_vit())
    t, d = 5, 8
    params = (4 * 4 * 3 * d + d) + d + t * d + 2 * d + (d * 3 * d + 3 * d) + (d * d + d) + (d * 10 + 10)
    assert a.totals.params == params
    products = 2 * (2 * t * t * 4)  # Q K^T and A V: heads x t x t x head_dim each
    macs = 2 * 2 * 4 * 4 * 3 * d + t * d * 3 * d + products + t * d * d + d * 10
    assert a.totals.macs == macs
    assert get("torchvision").total(a) == macs


@pytest.mark.keras
def test_tiny_vit_against_keras():
    pytest.importorskip("keras")
    from cnncalc.keras_bridge import to_keras

    spec = tiny_vit()
    model = to_keras(spec)
    a = analyze(spec)
    assert model.count_params() == a.totals.params
    assert tuple(model.output.shape[1:]) == a.output


@pytest.mark.keras
@pytest.mark.parametrize(
    "layers",
    [
        (GroupNorm(4, axis=-1),),
        (GroupNorm(-1),),
        (Permute((1, 0)), Dense(5, last_axis=True, axis=-2)),
        (EinsumDense("abc,cde->abde", weight=(4, 2, 3), bias_axes="de"),),
        (Slice(axis=0, start=1, step=2), Tile((2, 1)), Take(axis=1, index=0)),
        (Learned("mul", (1, 4)),),
        (Reduce("l2", (-1,)), Reduce("max", (0,), keepdims=False)),
    ],
)
def test_new_kinds_against_keras(layers):
    pytest.importorskip("keras")
    from cnncalc.keras_bridge import to_keras

    spec = _tokens(*layers, tokens=6, channels=8) if isinstance(layers[0], GroupNorm) else _tokens(*layers)
    model = to_keras(spec)
    a = analyze(spec)
    assert model.count_params() == a.totals.params
    assert tuple(model.output.shape[1:]) == a.output
