"""The attention kinds: parameters and output shapes equal Keras' for several configurations,
MACs equal the formulas of docs/conventions.md (written out here independently), every preset's
rule is pinned (ptflops' hook arithmetic, torch's own FLOP counter, the TF profiler on Keras'
graph), receptive fields stop at attention with a note, and bad inputs are one-line errors."""

from __future__ import annotations

from dataclasses import replace

import pytest

from cnncalc import analyze
from cnncalc.arith import product
from cnncalc.conventions import get
from cnncalc.explain import explain
from cnncalc.spec import (
    AdditiveAttention,
    Attention,
    Conv2D,
    Dense,
    Input,
    LayerNorm,
    MultiHeadAttention,
    Reshape,
    SpecError,
)
from cnncalc.spec import Graph, Node, Spec


def graph(*nodes, grid=(4, 4, 8), tokens=True, model="attention"):
    """``in`` (``grid``), ``tok`` (its positions as tokens), ``v`` (a Dense of 6 on ``tok``),
    ``k5`` (a Dense of 5) and ``q8`` (a Dense of 8 on the tokens) where ``nodes`` read them, then
    ``nodes``."""
    base = [Node(Input(*grid, name="in"))]
    src = "in"
    if tokens:
        base.append(Node(Reshape((grid[0] * grid[1], grid[2]), name="tok"), ("in",)))
        src = "tok"
    read = {name for n in nodes for name in n.inputs}
    base += [
        n for n in (Node(Dense(6, last_axis=True, name="v"), (src,)), Node(Dense(5, last_axis=True, name="k5"), (src,)), Node(Dense(8, last_axis=True, name="q8"), (src,)))
        if n.name in read  # only the branches a case reads: a Keras model holds no dead ends
    ]
    return Spec(Graph(tuple(base) + tuple(nodes)), model=model)


def node(layer, *inputs):
    return Node(layer, inputs)


# (layer, its inputs, tokens?, expected output, params, MACs written out by hand)
# Shapes: tok 16x8 (T=16, D=8), v 16x6, k5 16x5; on the grid: in 4x4x8, v 4x4x6.
CASES = [
    pytest.param(
        MultiHeadAttention(heads=2, key_dim=4, name="a"), ("tok", "tok"), True, (16, 8),
        # q, k, v: 8x8 + 8 each; output: 8x8 + 8
        4 * (64 + 8),
        # projections 4 x 16*8*8; QK^T 2 heads x 16 x 16 x 4; AV the same
        4 * 16 * 64 + 2 * 16 * 16 * 4 * 2,
        id="mha-self",
    ),
    pytest.param(
        MultiHeadAttention(heads=2, key_dim=4, value_dim=3, name="a"), ("tok", "v", "k5"), True, (16, 8),
        # q 8x8+8, k 5x8+8, v 6x6+6, out 6x8+8
        72 + 48 + 42 + 56,
        16 * 8 * 8 + 16 * 5 * 8 + 16 * 6 * 6 + 16 * 6 * 8 + 2 * 16 * 16 * 4 + 2 * 16 * 16 * 3,
        id="mha-query-value-key",
    ),
    pytest.param(
        MultiHeadAttention(heads=3, key_dim=2, output_shape=(2, 5), bias=False, name="a"), ("tok", "v"), True, (16, 2, 5),
        # q 8x6, k 6x6, v 6x6, out 6x10 (no biases)
        48 + 36 + 36 + 60,
        16 * 48 + 16 * 36 + 16 * 36 + 16 * 60 + 3 * 16 * 16 * 2 * 2,
        id="mha-output-shape-no-bias",
    ),
    pytest.param(
        MultiHeadAttention(heads=2, key_dim=4, gate=True, name="a"), ("tok", "v"), True, (16, 8),
        # q 8x8+8, k 6x8+8, v 6x8+8, gate 8x8+8, out 8x8+8
        72 + 56 + 56 + 72 + 72,
        16 * 64 + 16 * 48 + 16 * 48 + 16 * 64 + 16 * 64 + 2 * 16 * 16 * 4 * 2,
        id="mha-gate",
    ),
    pytest.param(
        MultiHeadAttention(heads=2, key_dim=4, name="a"), ("in", "v"), False, (4, 4, 8),
        # attention over the 4x4 grid of an HxWxC tensor: 16 positions each
        72 + 56 + 56 + 72,
        16 * 64 + 16 * 48 + 16 * 48 + 16 * 64 + 2 * 16 * 16 * 4 * 2,
        id="mha-over-a-grid",
    ),
    pytest.param(
        MultiHeadAttention(heads=2, key_dim=4, attention_axes=(-2,), name="a"), ("in",), False, (4, 4, 8),
        # attention along the width only: each of the 16 queries sees the 4 keys of its row
        4 * 72,
        4 * 16 * 64 + 2 * 16 * 4 * 4 * 2,
        id="mha-one-axis-of-a-grid",
    ),
    pytest.param(Attention(name="a"), ("tok", "v", "tok"), True, (16, 6), 0, 16 * 16 * 8 + 16 * 16 * 6, id="dot"),
    pytest.param(Attention(use_scale=True, name="a"), ("tok", "tok"), True, (16, 8), 1, 2 * 16 * 16 * 8, id="dot-scaled"),
    pytest.param(
        Attention(score_mode="concat", use_scale=True, name="a"), ("tok", "v", "tok"), True, (16, 6), 2, 16 * 16 * 6, id="concat"
    ),
    pytest.param(Attention(name="a"), ("in", "in"), False, (4, 4, 8), 0, 16 * 4 * 8 * 2, id="dot-rank-3"),
    pytest.param(AdditiveAttention(name="a"), ("tok", "v", "tok"), True, (16, 6), 8, 16 * 16 * 8 + 16 * 16 * 6, id="additive"),
    pytest.param(AdditiveAttention(use_scale=False, name="a"), ("tok",), True, (16, 8), 0, 16 * 16 * 8, id="additive-unscaled"),
]


@pytest.mark.parametrize("layer, inputs, tokens, output, params, macs", CASES)
def test_shapes_params_and_macs(layer, inputs, tokens, output, params, macs):
    row = analyze(graph(node(layer, *inputs), tokens=tokens)).row("a")
    assert row.output == output
    assert row.params == params and row.non_trainable == 0
    assert row.macs == macs
    assert [e for e in explain(analyze(graph(node(layer, *inputs), tokens=tokens))) if e.name == "a"][0].value("macs") == macs


@pytest.mark.keras
@pytest.mark.parametrize("layer, inputs, tokens, output, params, macs", CASES)
def test_params_and_shapes_equal_keras(layer, inputs, tokens, output, params, macs):
    """The spec built in Keras (cnncalc.to_keras) and compared layer by layer (keras_check)."""
    pytest.importorskip("keras")
    from cnncalc.keras_check import check

    result = check(graph(node(layer, *inputs), tokens=tokens))
    assert result.ok, [(r.name, r.ours, r.keras) for r in result.mismatches]


@pytest.mark.keras
def test_keras_layers_built_by_hand_have_the_counted_parameters():
    """Independent of cnncalc's Keras builders: Keras' own layers on Keras' own inputs."""
    keras = pytest.importorskip("keras")
    q, v, k = keras.Input((16, 8)), keras.Input((16, 6)), keras.Input((16, 5))
    layers = {
        "mha": (keras.layers.MultiHeadAttention(num_heads=2, key_dim=4, value_dim=3), lambda m: m(q, v, key=k)),
        "gate": (keras.layers.MultiHeadAttention(num_heads=2, key_dim=4, use_gate=True), lambda m: m(q, v)),
        "out": (keras.layers.MultiHeadAttention(num_heads=3, key_dim=2, output_shape=(2, 5), use_bias=False), lambda m: m(q, v)),
        "dot": (keras.layers.Attention(use_scale=True, score_mode="concat"), lambda m: m([q, v, q])),
        "add": (keras.layers.AdditiveAttention(), lambda m: m([q, v, q])),
    }
    ours = {
        "mha": (MultiHeadAttention(heads=2, key_dim=4, value_dim=3, name="a"), ("q8", "v", "k5")),
        "gate": (MultiHeadAttention(heads=2, key_dim=4, gate=True, name="a"), ("q8", "v")),
        "out": (MultiHeadAttention(heads=3, key_dim=2, output_shape=(2, 5), bias=False, name="a"), ("q8", "v")),
        "dot": (Attention(use_scale=True, score_mode="concat", name="a"), ("q8", "v", "q8")),
        "add": (AdditiveAttention(name="a"), ("q8", "v", "q8")),
    }
    for key, (layer, call) in layers.items():
        out = call(layer)
        row = analyze(graph(node(ours[key][0], *ours[key][1]))).row("a")
        assert (row.params, row.output) == (layer.count_params(), tuple(out.shape[1:])), key


def test_the_presets_count_every_part_as_the_tools_do():
    """MHA q=tok (16x8), value v (16x6), 2 heads of 4: the parts, then each preset's sum."""
    a = analyze(graph(node(MultiHeadAttention(heads=2, key_dim=4, name="a"), "tok", "v")))
    row = a.row("a")
    projections = 16 * 8 * 8 + 16 * 6 * 8 + 16 * 6 * 8 + 16 * 8 * 8  # q, k, v, out
    qk = av = 2 * 16 * 16 * 4
    scores = 2 * 16 * 16
    assert get("macs").count(row) == projections + qk + av
    assert get("flops").count(row) == 2 * (projections + qk + av)
    assert get("torchvision").count(row) == get("fvcore").count(row) == projections + qk + av
    assert get("torchinfo").count(row) == row.params
    # ptflops' multihead_attention_counter_hook: Q scaling (qlen x embed), projections, in-proj
    # biases (qlen + klen + vlen) x embed, per head QK^T + softmax + AV, out projection + its bias
    assert get("ptflops").count(row) == 16 * 8 + projections + 3 * 16 * 8 + qk + scores + av + 16 * 8
    # TF profiler (tokens, no dropout: the fused path): BatchMatMulV2 projections, Einsum products
    # uncounted, bias adds, the logits' scaling and softmax 5 per score
    assert get("tf-profiler").count(row) == 2 * projections + 4 * 16 * 8 + scores + 5 * scores

    b = analyze(graph(node(AdditiveAttention(name="a"), "tok", "v", "tok"))).row("a")
    pairs, scores, av = 16 * 16 * 8, 16 * 16, 16 * 16 * 6
    assert get("macs").count(b) == pairs + av
    assert get("fvcore").count(b) == get("torchvision").count(b) == av  # the weighted sum is no matrix product
    assert get("ptflops").count(b) == get("torchinfo").count(b) == 0
    assert get("tf-profiler").count(b) == 2 * av + 5 * scores + pairs + pairs + (pairs - scores)


def test_ptflops_hook_arithmetic_on_a_torch_equivalent_layer():
    """ptflops 0.7's ``multihead_attention_counter_hook`` for ``nn.MultiheadAttention(E, h)`` on
    qlen, klen = vlen tokens, written out as its source does; Keras' layer with h x key_dim = E."""
    qlen, klen, embed, heads = 16, 16, 8, 2
    head_dim = embed // heads
    hook = qlen * embed + qlen * embed * embed + 2 * klen * embed * embed + (qlen + 2 * klen) * embed
    hook += heads * (qlen * klen * head_dim + qlen * klen + qlen * klen * head_dim)
    hook += qlen * embed * (embed + 1)
    row = analyze(graph(node(MultiHeadAttention(heads=heads, key_dim=head_dim, name="a"), "tok", "tok"))).row("a")
    assert get("ptflops").count(row) == hook


@pytest.mark.slow  # imports torch (2 s of CPU)
def test_torch_flop_counter_on_torch_multi_head_attention_equals_the_macs():
    """torch's own FlopCounterMode (2 per MAC of addmm and bmm) on ``nn.MultiheadAttention`` with
    the attention weights materialised: the projections and both products, as torchvision counts."""
    torch = pytest.importorskip("torch")
    from torch.utils.flop_counter import FlopCounterMode

    layer = torch.nn.MultiheadAttention(8, 2, batch_first=True, kdim=6, vdim=6).train()
    query, value = torch.randn(1, 16, 8), torch.randn(1, 16, 6)
    with FlopCounterMode(display=False) as counter:
        layer(query, value, value, need_weights=True)
    row = analyze(graph(node(MultiHeadAttention(heads=2, key_dim=4, name="a"), "tok", "v"))).row("a")
    assert 2 * get("torchvision").count(row) == counter.get_total_flops()


def test_receptive_fields_reach_the_tokens_and_stop_at_attention_with_a_note():
    spec = Spec(
        Graph(
            (
                Node(Input(16, 16, 3, name="image")),
                Node(Conv2D(8, kernel=4, stride=4, name="patches"), ("image",)),
                Node(Reshape((16, 8), name="tokens"), ("patches",)),
                Node(LayerNorm(name="ln"), ("tokens",)),
                Node(MultiHeadAttention(heads=2, key_dim=4, name="mha"), ("ln", "ln")),
                Node(Dense(8, last_axis=True, name="mlp"), ("mha",)),
            )
        ),
        model="vit",
    )
    a = analyze(spec)
    assert (a.row("patches").rf, a.row("tokens").rf, a.row("ln").rf) == (4, 4, 4)
    assert a.row("ln").jump == 4
    assert a.row("mha").rf is None and a.row("mlp").rf is None
    assert a.warnings == (
        "layer 'mha' (MultiHeadAttention): receptive fields stop here: attention mixes every position of its inputs, "
        "so the receptive field is the whole input",
    )


def test_a_reshape_that_is_not_a_grid_of_tokens_still_stops_the_field_silently():
    spec = Spec(Graph((Node(Input(4, 4, 8, name="in")), Node(Reshape((8, 16), name="r"), ("in",)))), model="r")
    a = analyze(spec)
    assert a.row("r").rf is None and a.warnings == ()


def test_symbolic_tokens_give_polynomials_that_agree_with_the_numbers():
    spec = graph(node(MultiHeadAttention(heads=2, key_dim=4, name="a"), "tok", "tok"))
    sym = analyze(Spec(Graph((Node(Input("H", "W", 8, name="in")), Node(Reshape((-1, 8), name="tok"), ("in",)),
                              Node(MultiHeadAttention(heads=2, key_dim=4, name="a"), ("tok", "tok")))), model="s"),
                  symbols=("H", "W"))
    import sympy

    h, w = sympy.Symbol("H", positive=True, integer=True), sympy.Symbol("W", positive=True, integer=True)
    macs = sym.row("a").macs
    assert sympy.expand(macs - (4 * h * w * 64 + 2 * 2 * (h * w) ** 2 * 4)) == 0
    assert macs.subs({h: 4, w: 4}) == analyze(spec).row("a").macs


@pytest.mark.parametrize(
    "layer, inputs, message",
    [
        (MultiHeadAttention(heads=2, key_dim=4, name="a"), ("tok", "v", "k5", "tok"), r"reads query, value and key: 1 to 3 inputs, got 4"),
        (MultiHeadAttention(heads=2, key_dim=4, name="a"), ("tok", "in"), r"must have one rank"),
        (MultiHeadAttention(heads=2, key_dim=4, attention_axes=(-1,), name="a"), ("tok",), r"the last axis holds the features"),
        (MultiHeadAttention(heads=2, key_dim=4, attention_axes=(-5,), name="a"), ("tok",), r"attention axis -5 is outside its rank-2 query"),
        (MultiHeadAttention(heads=0, key_dim=4, name="a"), ("tok",), r"heads must be positive, got 0"),
        (Attention(name="a"), ("tok", "v"), r"query 16x8 and key 16x6 need the same number of features"),
        (Attention(score_mode="general", name="a"), ("tok",), r"score_mode 'general' is not one of dot, concat"),
        (AdditiveAttention(name="a"), ("v", "tok", "k5"), r"need the same number of features"),
    ],
)
def test_bad_inputs_are_one_line_errors(layer, inputs, message):
    with pytest.raises(SpecError, match=message):
        analyze(graph(node(layer, *inputs)))


def test_value_and_key_must_agree_off_the_feature_axis():
    spec = Spec(
        Graph(
            (
                Node(Input(4, 4, 8, name="in")),
                Node(Reshape((16, 8), name="tok"), ("in",)),
                Node(Reshape((8, 16), name="other"), ("in",)),
                Node(MultiHeadAttention(heads=2, key_dim=4, name="a"), ("tok", "tok", "other")),
            )
        ),
        model="bad",
    )
    with pytest.raises(SpecError, match=r"value 16x8 and key 8x16 must agree on every axis but the last"):
        analyze(spec)


# The TF profiler on the graph Keras writes: 18 configurations (fused and explicit paths, grids,
# gates, several attention axes, multi-axis outputs) measured against the tf-profiler preset.
TF_CASES = [
    (MultiHeadAttention(heads=2, key_dim=4, value_dim=3, name="a"), ("tok", "tok"), True),
    (MultiHeadAttention(heads=2, key_dim=4, value_dim=3, name="a"), ("tok", "v"), True),
    (MultiHeadAttention(heads=2, key_dim=4, bias=False, name="a"), ("tok", "v", "tok"), True),
    (MultiHeadAttention(heads=2, key_dim=4, gate=True, name="a"), ("tok", "v"), True),
    (MultiHeadAttention(heads=2, key_dim=4, dropout=0.1, name="a"), ("tok",), True),
    (MultiHeadAttention(heads=2, key_dim=4, return_scores=True, name="a"), ("tok",), True),
    (MultiHeadAttention(heads=2, key_dim=4, output_shape=(2, 3), name="a"), ("tok",), True),
    (MultiHeadAttention(heads=2, key_dim=4, gate=True, dropout=0.2, output_shape=(5,), name="a"), ("tok", "v"), True),
    (MultiHeadAttention(heads=2, key_dim=4, name="a"), ("in",), False),
    (MultiHeadAttention(heads=2, key_dim=4, attention_axes=(-2,), name="a"), ("in",), False),
    (MultiHeadAttention(heads=3, key_dim=2, gate=True, attention_axes=(-3, -2), name="a"), ("in",), False),
    (Attention(name="a"), ("tok", "tok"), True),
    (Attention(use_scale=True, name="a"), ("tok", "v", "tok"), True),
    (Attention(score_mode="concat", use_scale=True, name="a"), ("tok", "v", "tok"), True),
    (Attention(name="a"), ("in", "in"), False),
    (AdditiveAttention(name="a"), ("tok", "v", "tok"), True),
    (AdditiveAttention(use_scale=False, name="a"), ("tok",), True),
    (AdditiveAttention(name="a"), ("in", "in"), False),
]


@pytest.mark.keras
@pytest.mark.slow
def test_the_tf_profiler_preset_equals_the_profiler_on_keras_graph():
    tf = pytest.importorskip("tensorflow")
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    from cnncalc.keras_bridge import to_keras

    def profiled(model, layer):
        function = tf.function(lambda x: model(x)).get_concrete_function(tf.TensorSpec((1, *model.input_shape[1:]), tf.float32))
        frozen = convert_variables_to_constants_v2(function).graph
        options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
        options["output"] = "none"
        profile = tf.compat.v1.profiler.profile(frozen, options=options)
        nodes = {n.name for n in frozen.as_graph_def().node}
        found = []

        def walk(item):
            for child in item.children:
                walk(child)
            if item.float_ops and item.name in nodes and f"/{layer}" in item.name:
                found.append(item.float_ops)

        walk(profile)
        return sum(found)

    misses = []
    for layer, inputs, tokens in TF_CASES:
        spec = graph(node(replace(layer, name="probe"), *inputs), tokens=tokens)  # a name no other op holds
        ours = get("tf-profiler").count(analyze(spec).row("probe"))
        theirs = profiled(to_keras(spec), "probe")
        if ours != theirs:
            misses.append(f"{layer}: {ours} vs the profiler's {theirs}")
    assert not misses, "\n".join(misses)


@pytest.mark.parametrize(
    "layer, scores",
    [
        (MultiHeadAttention(heads=2, key_dim=4, return_scores=True, name="a"), (2, 16, 16)),
        (MultiHeadAttention(heads=2, key_dim=4, attention_axes=(-2,), return_scores=True, name="a"), (4, 2, 4, 4)),
        (Attention(return_scores=True, name="a"), (16, 16)),
        (AdditiveAttention(return_scores=True, name="a"), (16, 16)),
    ],
)
def test_attention_scores_as_a_second_output(layer, scores):
    """Keras' return_attention_scores=True: the row ``a:1`` has the scores' shape and counts nothing."""
    src = "tok" if len(scores) < 4 else "in"
    first = analyze(graph(node(replace(layer, return_scores=False), src, src), tokens=src == "tok")).row("a")
    spec = graph(node(layer, src, src), node(replace(layer, output_index=1, name="a:1"), src, src), tokens=src == "tok")
    a = analyze(spec)
    row, second = a.row("a"), a.row("a:1")
    assert (row.params, row.macs) == (first.params, first.macs)
    assert second.output == scores and (second.params, second.macs, second.activations) == (0, 0, product(scores))
    assert all(get(name).count(second) == 0 for name in ("macs", "ptflops", "torchinfo", "tf-profiler", "fvcore"))
    assert len([w for w in a.warnings if "receptive fields stop" in w]) == 1  # one note per layer, not per output


@pytest.mark.keras
def test_attention_scores_equal_keras():
    pytest.importorskip("keras")
    from cnncalc.keras_check import check

    for layer in (MultiHeadAttention(heads=2, key_dim=4, return_scores=True, name="a"), Attention(use_scale=True, return_scores=True, name="a")):
        spec = graph(node(layer, "tok", "v", "tok"), node(replace(layer, output_index=1, name="a:1"), "tok", "v", "tok"), Node(Dense(3, last_axis=True, name="d"), ("a:1",)))
        result = check(spec)
        assert result.ok, [(r.name, r.ours, r.keras) for r in result.mismatches]
