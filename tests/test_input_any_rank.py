"""Inputs of any rank (issue 26): a sequence ``tokens x channels``, a plain vector, a volume, read
from the notation, a Keras model or an ONNX file, with no axis taken for the batch except the one
the file marks (Keras' ``None``, an ONNX input's first dimension). Parameters are compared with
Keras' ``count_params()`` and the file's float tensors, MACs with arithmetic written out here
(attention as docs/conventions.md counts it), and every front end (summary, table, JSON, explain,
page, plot, compare, the Keras check) is run on a sequence model and an MLP."""

from __future__ import annotations

import io
import json
from dataclasses import replace

import numpy as np
import pytest

from cnncalc import analyze, from_onnx, parse, to_notation
from cnncalc.cli import main
from cnncalc.report import TableOptions, render_table
from cnncalc.sizes import MAX_RANK, image_size, input_size, parse_size
from cnncalc.spec import Dense, Graph, Input, LayerNorm, MultiHeadAttention, Node, Reduce, Spec, SpecError

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402


def run(*argv):
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


# --------------------------------------------------------------------------------------------
# The kind and the sizes
# --------------------------------------------------------------------------------------------


def test_an_input_is_a_shape_of_any_rank():
    assert Input(16, 32).shape == (16, 32) and Input(100).shape == (100,)
    assert Input((16, 32)) == Input(16, 32) == Input(shape=(16, 32))
    assert replace(Input(8, 8, 3), name="x") == Input(8, 8, 3, name="x")
    image = Input(224, 224, 3)
    assert (image.height, image.width, image.channels) == (224, 224, 3)
    assert Input(16, 32).channels == 32
    with pytest.raises(AttributeError, match="is not an image: it has no height"):
        Input(16, 32).height
    with pytest.raises(SpecError, match=f"has {MAX_RANK + 1} axes: cnncalc reads inputs of rank 1 to {MAX_RANK}"):
        analyze(Spec(Graph((Node(Input(*[2] * (MAX_RANK + 1), name="x")),))))
    with pytest.raises(SpecError, match="input tokens must be positive, got 0"):
        analyze(Spec(Graph((Node(Input(0, 32, name="x")),))))


def test_sizes_of_any_rank():
    assert parse_size("16x32") == (16, 32) and parse_size("100") == (100,)
    t, c = parse_size("T x 64")
    assert str(t) == "T" and t.is_positive and c == 64
    assert input_size([4, 5, 6, 7]) == (4, 5, 6, 7)
    with pytest.raises(SpecError, match=f"9 sizes, at most {MAX_RANK}"):
        parse_size("x".join(["2"] * 9))
    with pytest.raises(SpecError, match="an input size is 1 to 8 sizes"):
        input_size(())
    with pytest.raises(SpecError, match=r"an image input is HxWxC \(channels last\), got 16x32"):
        image_size("16x32")


# --------------------------------------------------------------------------------------------
# The notation: INPUT-TxC, INPUT-N
# --------------------------------------------------------------------------------------------

SEQUENCE = "INPUT-16x32 -> BN -> FC-64 -> RELU -> FCS"
VECTOR = "INPUT-100 -> FC-50 -> RELU -> FCS"


def test_a_sequence_in_the_notation_flattens_before_its_first_fc():
    spec = parse(SEQUENCE)
    a = analyze(spec)
    assert [r.kind for r in a.layers][:4] == ["Input", "BatchNorm", "Flatten", "Dense"]
    assert a.input == (16, 32) and a.output == (10,)
    assert a.row("bn1").params == 4 * 32  # gamma, beta, moving mean and variance per channel
    assert a.row("fc1").params == 16 * 32 * 64 + 64
    assert a.totals.macs == 16 * 32 * 64 + 64 * 10
    assert to_notation(spec) == "INPUT-16x32 -> BN -> FLATTEN -> FC-64 -> RELU -> FC-10 -> SOFTMAX"
    assert analyze(parse(to_notation(spec))).totals == a.totals


def test_a_vector_in_the_notation_needs_no_flatten():
    a = analyze(parse(VECTOR))
    assert [r.kind for r in a.layers] == ["Input", "Dense", "Activation", "Dense", "Activation"]
    assert a.totals.params == (100 * 50 + 50) + (50 * 10 + 10)
    assert a.totals.macs == 100 * 50 + 50 * 10
    assert a.totals.activations == 100 + 50 + 10


def test_symbolic_sequence_length():
    a = analyze(parse("INPUT-Tx64 -> FC-10"))
    t = a.input[0]
    assert a.totals.params == 64 * t * 10 + 10 and a.totals.macs == 640 * t


def test_another_input_size_must_have_the_models_rank():
    code, out, err = run(VECTOR, "--input", "16x32")
    assert code == 2 and err == "error: model 'INPUT-100 -> FC-50 -> RELU -> FCS' reads a rank-1 input (100); the size 16x32 has 2 axes\n"
    code, out, _ = run(VECTOR, "--input", "7")
    assert code == 0 and "input        7  ->  output 10" in out
    assert analyze(parse("CONV3-4 -> FCS"), input=(8, 8, 3)).input == (8, 8, 3)


# --------------------------------------------------------------------------------------------
# Receptive fields: along a sequence's tokens; none for a vector, said once
# --------------------------------------------------------------------------------------------


def sequence_graph():
    """Tokens 16 x 32: LayerNorm, a Dense per token, self-attention, a mean over the tokens."""
    return Spec(
        Graph(
            (
                Node(Input(16, 32, name="tokens")),
                Node(LayerNorm(name="ln"), ("tokens",)),
                Node(Dense(64, last_axis=True, name="proj"), ("ln",)),
                Node(MultiHeadAttention(heads=4, key_dim=16, name="mha"), ("proj", "proj")),
                Node(Reduce("mean", axes=(0,), keepdims=False, name="pool"), ("mha",)),
                Node(Dense(10, name="head"), ("pool",)),
            )
        ),
        model="seq",
    )


def test_a_sequence_has_a_field_of_one_token_up_to_the_attention():
    a = analyze(sequence_graph())
    assert [a.row(n).rf for n in ("tokens", "ln", "proj")] == [1, 1, 1]
    assert (a.row("proj").jump, a.row("proj").start) == (1, 0)
    assert a.row("mha").rf is None and a.row("head").rf is None
    assert a.warnings == (
        "layer 'mha' (MultiHeadAttention): receptive fields stop here: attention mixes every position of its inputs, "
        "so the receptive field is the whole input",
    )
    # docs/conventions.md: 4 projections of 16 tokens x 64 x 64, then Q K^T and A V: 16 x 16 x 16 per head
    assert a.row("mha").macs == 4 * 16 * 64 * 64 + 2 * 4 * 16 * 16 * 16
    assert a.row("mha").params == 4 * (64 * 64 + 64)
    text = render_table(a, "text", TableOptions(rf=True))
    assert "* receptive fields" not in text


def test_a_vector_has_no_field_and_the_table_says_so_once():
    a = analyze(parse(VECTOR))
    assert all(r.rf is None for r in a.layers) and a.warnings == ()
    text = render_table(a, "text", TableOptions(rf=True))
    note = "* receptive fields: the input is a vector of 100: cnncalc computes receptive fields over images (H x W x C), sequences (tokens x channels) and volumes (D x H x W x C)"
    assert text.count("* receptive fields") == 1 and text.endswith(note)
    assert "receptive fields" not in render_table(a, "text", TableOptions())  # only where the columns are asked for
    data = json.loads(run(VECTOR, "--format", "json")[1])
    assert data["input"] == [100] and [row["rf"] for row in data["layers"]] == [None] * 5


# --------------------------------------------------------------------------------------------
# The front ends on a sequence and an MLP
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("model", [SEQUENCE, VECTOR], ids=["sequence", "mlp"])
def test_every_front_end_reads_a_sequence_and_a_vector(model, tmp_path):
    code, out, err = run(model)
    shape = "16x32" if model == SEQUENCE else "100"
    assert code == 0 and err == "" and f"input        {shape}  ->  output 10" in out
    assert "per sample at 4 bytes" in out
    code, out, err = run(model, "--explain", "--rf")
    assert code == 0 and "fc1 MACs: " in out
    page = tmp_path / "page.html"
    assert run(model, "--html", str(page))[0] == 0
    html = page.read_text()
    assert f'"input":[{shape.replace("x", ",")}]' in html and "per sample at 4 bytes" in html
    code, out, err = run("compare", model, "INPUT-8x8x3 -> CONV3-4 -> FCS")
    assert code == 0 and ("33,610" if model == SEQUENCE else "5,560") in out
    code, out, _ = run(model, "--format", "csv", "--rf")
    assert code == 0 and out.splitlines()[1].startswith("input,")


def test_the_plot_draws_a_sequence(tmp_path):
    pytest.importorskip("matplotlib")
    png = tmp_path / "seq.png"
    assert run(SEQUENCE, "--plot", str(png))[0] == 0 and png.stat().st_size > 1000


# --------------------------------------------------------------------------------------------
# ONNX: the first axis is the batch; the rest keeps the file's order unless it is an image
# --------------------------------------------------------------------------------------------


def _onnx(nodes, inits, shape, opset=17):
    dims = [d if isinstance(d, int) else (d or None) for d in shape]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, dims)
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    tensors = [numpy_helper.from_array(np.full(v, 0.1, dtype=np.float32) if isinstance(v, tuple) else np.asarray(v), k) for k, v in inits.items()]
    return helper.make_model(helper.make_graph(nodes, "g", [x], [y], initializer=tensors), opset_imports=[helper.make_opsetid("", opset)])


def onnx_sequence(shape=(1, 16, 32)):
    """``N x T x C``: a Linear to 64, a single-head self-attention (Q K^T, softmax, A V: the
    pattern a hand-written attention exports), a mean over the tokens, a Linear to 10."""
    nodes = [
        helper.make_node("MatMul", ["x", "w1"], ["h0"]),
        helper.make_node("Add", ["h0", "b1"], ["h"]),
        helper.make_node("MatMul", ["h", "wq"], ["q"]),
        helper.make_node("MatMul", ["h", "wk"], ["k"]),
        helper.make_node("Transpose", ["k"], ["kt"], perm=[0, 2, 1]),
        helper.make_node("MatMul", ["q", "kt"], ["s"]),
        helper.make_node("Softmax", ["s"], ["p"], axis=-1),
        helper.make_node("MatMul", ["p", "h"], ["o"]),
        helper.make_node("ReduceMean", ["o", "axes"], ["m"], keepdims=0),
        helper.make_node("Gemm", ["m", "w2", "b2"], ["y"], transB=1),
    ]
    inits = {"w1": (32, 64), "b1": (64,), "wq": (64, 64), "wk": (64, 64), "axes": np.array([1], dtype=np.int64), "w2": (10, 64), "b2": (10,)}
    return _onnx(nodes, inits, shape, opset=18)


def onnx_mlp():
    nodes = [
        helper.make_node("Gemm", ["x", "w1", "b1"], ["h"], transB=1),
        helper.make_node("Relu", ["h"], ["r"]),
        helper.make_node("Gemm", ["r", "w2", "b2"], ["y"], transB=1),
    ]
    return _onnx(nodes, {"w1": (50, 100), "b1": (50,), "w2": (10, 50), "b2": (10,)}, (1, 100))


def float_elements(model):
    return sum(int(np.prod(t.dims)) for t in model.graph.initializer if t.data_type == TensorProto.FLOAT)


def test_an_onnx_sequence_n_x_t_x_c_is_t_x_c():
    model = onnx_sequence()
    a = analyze(from_onnx(model))
    assert a.input == (16, 32) and a.output == (10,)
    assert a.totals.params == float_elements(model) == (32 * 64 + 64) + 2 * 64 * 64 + (64 * 10 + 10)
    dense = 16 * 32 * 64 + 2 * 16 * 64 * 64 + 64 * 10
    products = 2 * 16 * 16 * 64  # Q K^T and A V: 16 x 16 outputs of 64 MACs each
    assert a.totals.macs == dense + products
    assert [r.kind for r in a.layers if r.macs] == ["Dense", "Dense", "Dense", "MatMul", "MatMul", "Dense"]
    assert a.row("x").rf == 1 and a.uncounted == ()


def test_an_onnx_sequence_with_dynamic_axes_is_symbolic():
    a = analyze(from_onnx(onnx_sequence(shape=("batch", "", 32))))
    t = a.input[0]
    assert str(t) == "T" and a.input[1] == 32  # an unnamed axis of N x T x C is T, not C
    assert a.totals.macs.expand() == (32 * 64 * t + 2 * 64 * 64 * t + 2 * 64 * t * t + 640)
    named = analyze(from_onnx(onnx_sequence(shape=(1, "seq_len", 32))))
    assert str(named.input[0]) == "seq_len"


def test_an_onnx_mlp_n_x_f_is_a_vector():
    model = onnx_mlp()
    a = analyze(from_onnx(model))
    assert a.input == (100,) and [r.kind for r in a.layers] == ["Input", "Dense", "Activation", "Dense"]
    assert a.totals.params == float_elements(model) == 5050 + 510 and a.totals.macs == 5000 + 500


def test_an_onnx_file_of_any_input_rank_on_the_command_line(tmp_path):
    for name, model, shape in (("seq", onnx_sequence(), "16x32"), ("mlp", onnx_mlp(), "100")):
        path = tmp_path / f"{name}.onnx"
        onnx.save(model, str(path))
        code, out, err = run(str(path), "--rf")
        assert code == 0 and f"input        {shape}" in out, err
        assert run(str(path), "--explain")[0] == 0
        assert run(str(path), "--html", str(tmp_path / f"{name}.html"))[0] == 0
    code, out, _ = run("compare", str(tmp_path / "mlp.onnx"), VECTOR)
    assert code == 0 and "5,560" in out and "5,560" in out


def test_a_one_d_convolution_reads_n_x_c_x_t_as_steps_x_channels_and_is_counted():
    """A Conv reads ``N x C x T`` channels first: the input is shown ``T x C`` (as an image's
    ``N x C x H x W`` is ``H x W x C``) and the Conv1D row is counted (tests/test_conv_nd.py has
    the rest)."""
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["c"], kernel_shape=[5]),
        helper.make_node("Relu", ["c"], ["r"]),
        helper.make_node("GlobalAveragePool", ["r"], ["g"]),
        helper.make_node("Flatten", ["g"], ["f"]),
        helper.make_node("Gemm", ["f", "w2", "b2"], ["y"], transB=1),
    ]
    model = _onnx(nodes, {"w": (8, 1, 5), "b": (8,), "w2": (3, 8), "b2": (3,)}, (1, 1, 128))
    a = analyze(from_onnx(model))
    assert a.input == (128, 1) and a.layers[1].output == (124, 8) and a.layers[1].kind == "Conv1D"
    assert a.totals.params == float_elements(model) == 8 * 5 + 8 + 3 * 8 + 3
    assert not a.uncounted and a.totals.macs == 124 * 5 * 8 + 8 * 3
    assert [r.rf for r in a.layers[:3]] == [1, 5, 5]


# --------------------------------------------------------------------------------------------
# Keras: batch_shape with None first, read as it is
# --------------------------------------------------------------------------------------------


def keras_config(batch_shape):
    """A Keras 3 functional config: an InputLayer of ``batch_shape`` read by a Dense of 3 units."""
    tensor = {"class_name": "__keras_tensor__", "config": {"keras_history": ["in", 0, 0], "shape": batch_shape}}
    layers = [
        {"class_name": "InputLayer", "name": "in", "config": {"name": "in", "batch_shape": batch_shape}},
        {"class_name": "Dense", "name": "d", "config": {"name": "d", "units": 3}, "inbound_nodes": [{"args": [tensor], "kwargs": {}}]},
    ]
    return {"class_name": "Functional", "config": {"name": "m", "layers": layers, "input_layers": [["in", 0, 0]], "output_layers": [["d", 0, 0]]}}


@pytest.mark.parametrize(
    ("batch_shape", "shape"),
    [([None, 100], (100,)), ([None, 16, 32], (16, 32)), ([None, None, 32], ("T", 32)), ([None, None, None, 3], ("H", "W", 3)), ([None, 4, 8, 8, 1], (4, 8, 8, 1))],
)
def test_a_keras_config_of_any_input_rank(batch_shape, shape):
    from cnncalc.importers.keras import from_keras

    a = analyze(from_keras(keras_config(batch_shape)))
    assert tuple(v if isinstance(v, int) else str(v) for v in a.input) == shape
    assert a.totals.params == shape[-1] * 3 + 3


@pytest.mark.parametrize(
    ("batch_shape", "message"),
    [
        ([None], "input 'in' has shape (): cnncalc reads inputs of rank 1 to 8 (after the batch axis)"),
        ([None] + [2] * 9, "cnncalc reads inputs of rank 1 to 8 (after the batch axis)"),
        ([None, None], "input 'in' has an unknown feature count, which sizes the weights that read it"),
        ([None, 7, None], "input 'in' has an unknown channel count, which sizes the weights that read it"),
        ([None, None, None, None], "input 'in' has an unknown channel count"),
        ([None, 0], "input 'in': its features must be a positive integer or null, got 0"),
        ([None, 16, True], "input 'in': its channels must be a positive integer or null, got true"),
    ],
)
def test_a_keras_input_that_cannot_be_read_is_one_line(batch_shape, message):
    from cnncalc.importers.errors import KerasImportError
    from cnncalc.importers.keras import from_keras

    with pytest.raises(KerasImportError) as err:
        from_keras(keras_config(batch_shape))
    assert message in str(err.value) and "\n" not in str(err.value)


def test_an_onnx_input_of_too_many_axes_is_one_line():
    from cnncalc.importers.errors import OnnxImportError

    with pytest.raises(OnnxImportError, match="has 10 axes: cnncalc reads inputs of rank 1 to 8 after the batch axis"):
        from_onnx(_onnx([helper.make_node("Relu", ["x"], ["y"])], {}, [1] * 10))


@pytest.fixture(scope="module")
def keras_models():
    keras = pytest.importorskip("keras")
    keras.backend.clear_session()
    inp = keras.Input((16, 32), name="tokens")
    x = keras.layers.MultiHeadAttention(4, 8, name="mha")(inp, inp)
    x = keras.layers.LayerNormalization(name="ln")(x)
    x = keras.layers.Dense(64, name="proj")(x)
    x = keras.layers.GlobalAveragePooling1D(name="pool")(x)
    seq = keras.Model(inp, keras.layers.Dense(10, name="head")(x), name="seq")
    inp = keras.Input((100,), name="features")
    mlp = keras.Model(inp, keras.layers.Dense(10, name="out")(keras.layers.Dense(50, name="hidden")(inp)), name="mlp")
    inp = keras.Input((None, 32), name="tokens")
    var = keras.Model(inp, keras.layers.Dense(8, name="proj")(inp), name="var")
    return {"seq": seq, "mlp": mlp, "var": var}


@pytest.mark.keras
def test_keras_sequence_and_mlp_equal_count_params(keras_models, tmp_path):
    from cnncalc import from_keras
    from cnncalc.importers.keras import read_keras_file

    seq, mlp = keras_models["seq"], keras_models["mlp"]
    for model in (seq, mlp):
        a = analyze(from_keras(model))
        assert a.totals.params == model.count_params()
        for layer in model.layers[1:]:
            assert a.row(layer.name).output == tuple(layer.output.shape[1:]), layer.name
        path = tmp_path / f"{model.name}.keras"
        model.save(path)
        assert analyze(read_keras_file(str(path))).totals == a.totals
    a = analyze(from_keras(seq))
    assert a.input == (16, 32)
    # docs/conventions.md: Q, K, V projections 16 x 32 x (4 x 8) each, the output projection
    # 16 x (4 x 8) x 32, then Q K^T and A V: 4 heads x 16 x 16 x 8 each
    assert a.row("mha").macs == 3 * 16 * 32 * 32 + 16 * 32 * 32 + 2 * 4 * 16 * 16 * 8 == 81_920
    assert a.totals.macs == 81_920 + 16 * 32 * 64 + 64 * 10
    assert a.row("tokens").rf == 1 and a.row("mha").rf is None
    m = analyze(from_keras(mlp))
    assert m.input == (100,) and m.totals.macs == 100 * 50 + 50 * 10


@pytest.mark.keras
def test_keras_unknown_sequence_length_is_the_symbol_t(keras_models, tmp_path):
    from cnncalc import from_keras

    a = analyze(from_keras(keras_models["var"]))
    t = a.input[0]
    assert str(t) == "T" and a.totals.params == keras_models["var"].count_params() and a.totals.macs == 32 * 8 * t
    path = tmp_path / "var.keras"
    keras_models["var"].save(path)
    code, out, err = run(str(path), "--check-keras")
    assert code == 2 and err == "error: model 'var': the Keras check needs numeric sizes, not T x 32\n"


@pytest.mark.keras
def test_keras_check_on_sequence_and_vector_files(keras_models, tmp_path):
    for name in ("seq", "mlp"):
        path = tmp_path / f"{name}.keras"
        keras_models[name].save(path)
        code, out, err = run(str(path), "--check-keras")
        assert code == 0 and "OK: all" in out, out + err


@pytest.mark.keras
@pytest.mark.parametrize("model", [SEQUENCE, VECTOR], ids=["sequence", "mlp"])
def test_the_keras_bridge_round_trip(model):
    code, out, err = run(model, "--check-keras")
    assert code == 0 and "OK: all" in out, out + err


# --------------------------------------------------------------------------------------------
# torch exports (the TorchScript exporter): skip without torch
# --------------------------------------------------------------------------------------------


@pytest.mark.slow  # imports torch and exports twice (about 3 s of CPU)
def test_torch_sequence_and_mlp_exports(tmp_path):
    torch = pytest.importorskip("torch")

    class Seq(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.l = torch.nn.Linear(32, 64)
            self.a = torch.nn.MultiheadAttention(64, 4, batch_first=True)

        def forward(self, x):
            h = self.l(x)
            return self.a(h, h, h, need_weights=False)[0]

    cases = [(Seq(), (1, 16, 32), (16, 32), (16, 64)), (torch.nn.Linear(100, 10), (1, 100), (100,), (10,))]
    for module, sample, shape, output in cases:
        path = tmp_path / "m.onnx"
        torch.onnx.export(module.eval(), torch.randn(*sample), str(path), dynamo=False)
        model = onnx.load(str(path))
        a = analyze(from_onnx(str(path)))
        assert (a.input, a.output) == (shape, output)
        assert a.totals.params == float_elements(model) == sum(p.numel() for p in module.parameters())
        if output == (10,):
            assert a.totals.macs == 100 * 10
        else:  # the Linear, the in-projection (Q, K, V at once), Q K^T and A V of 4 heads of 16, the out-projection
            assert a.totals.macs == 16 * 32 * 64 + 16 * 64 * 192 + 2 * 4 * 16 * 16 * 16 + 16 * 64 * 64 == 327_680
