"""Keras reach (issue 26): weights found where Keras 3 stores them, nested models called more than
once, unknown layers of any arity, the attention layers mapped, ``--check-keras`` on a file
checking the file's reading, a ViT-style model counted with its receptive fields stopping at the
attention. Every count is compared with Keras' own ``count_params()`` and output shapes."""

from __future__ import annotations

import json
import zipfile

import pytest

from cnncalc import analyze, from_keras
from cnncalc.cli import main
from cnncalc.importers.keras import read_keras_file
from cnncalc.importers.keras.weights import saved_order, snake_case

keras = pytest.importorskip("keras")
pytestmark = pytest.mark.keras


def _read(path):
    return read_keras_file(str(path))


@keras.saving.register_keras_serializable(package="cnncalc_reach")
class Gate(keras.layers.Layer):
    """A user's layer: a trainable vector per channel and a non-trainable counter."""

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1],), initializer="zeros", name="w")
        self.counter = self.add_weight(shape=(), initializer="zeros", trainable=False, name="counter")

    def call(self, x):
        return x * keras.ops.sigmoid(self.w)


@keras.saving.register_keras_serializable(package="cnncalc_reach")
class Block(keras.layers.Layer):
    """Layers inside a layer: a convolution and a list of two BatchNorms as attributes, a weight of its own."""

    def __init__(self, filters=4, **kwargs):
        super().__init__(**kwargs)
        self.filters = filters
        self.conv = keras.layers.Conv2D(filters, 3, padding="same")
        self.norms = [keras.layers.BatchNormalization(), keras.layers.BatchNormalization()]
        self.zscale = self.add_weight(shape=(filters,), initializer="ones", name="zscale")

    def build(self, input_shape):
        self.conv.build(input_shape)
        for norm in self.norms:
            norm.build((*input_shape[:-1], self.filters))

    def call(self, x):
        return self.norms[1](self.norms[0](self.conv(x))) * self.zscale

    def get_config(self):
        return {**super().get_config(), "filters": self.filters}


@keras.saving.register_keras_serializable(package="cnncalc_reach")
class Mix(keras.layers.Layer):
    """Two inputs, two outputs: ``(a * w + b, a - b)``."""

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[0][-1],), initializer="ones", name="w")

    def call(self, inputs):
        a, b = inputs
        return a * self.w + b, a - b

    def compute_output_shape(self, input_shape):
        return input_shape[0], input_shape[0]


def renamed_custom_layers():
    """Custom layers named ``mygate`` and ``dense`` beside a real Dense (named ``real``), a layer
    holding layers, and a ``keras.ops`` operation (``x + 3.0``, no h5 name)."""
    inputs = keras.Input((8, 8, 3), name="image")
    x = keras.layers.Conv2D(4, 3, padding="same", name="stem")(inputs)
    x = Gate(name="mygate")(x)
    x = Gate(name="dense")(x)
    x = Block(4, name="blk")(x)
    x = x + 3.0
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    outputs = keras.layers.Dense(5, name="real")(x)
    return keras.Model(inputs, outputs, name="renamed")


def nested_twice():
    """A nested model (with a custom layer) called twice in a row and once on another branch."""
    inner_in = keras.Input((8, 8, 4))
    y = keras.layers.Conv2D(4, 3, padding="same", name="c")(inner_in)
    y = Gate(name="g")(y)
    y = keras.layers.Add(name="sc")([y, inner_in])
    block = keras.Model(inner_in, y, name="seqblk")
    inputs = keras.Input((8, 8, 4), name="image")
    a = block(block(inputs))
    b = block(keras.layers.Conv2D(4, 1, name="side")(inputs))
    x = keras.layers.Add(name="join")([a, b])
    x = keras.Sequential([keras.layers.Conv2D(4, 1), Gate()], name="tail")(x)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)  # records the shape the Gate made
    return keras.Model(inputs, x, name="outer")


def sequential_custom():
    return keras.Sequential(
        [keras.Input((8, 8, 3)), keras.layers.Conv2D(2, 1, name="dense"), Gate(name="mygate"), keras.layers.Flatten(name="flat"), keras.layers.Dense(3, name="head")],
        name="seq",
    )


def two_in_two_out():
    inputs = keras.Input((4, 4, 6), name="image")
    a = keras.layers.Conv2D(6, 1, name="a")(inputs)
    b = keras.layers.Conv2D(6, 3, padding="same", name="b")(inputs)
    s, d = Mix(name="mix")([a, b])
    x = keras.layers.Concatenate(name="cat")([s, d])
    return keras.Model(inputs, keras.layers.Conv2D(2, 1, name="out")(x), name="mix2")


def small_vit(patch=4, size=16, dim=16, heads=2, depth=2):
    """A ViT without a class token: patches by a strided convolution, tokens, pre-norm blocks of
    MultiHeadAttention and an MLP, mean over the tokens by an Attention pooling, a head."""
    inputs = keras.Input((size, size, 3), name="image")
    x = keras.layers.Conv2D(dim, patch, strides=patch, name="patches")(inputs)
    x = keras.layers.Reshape(((size // patch) ** 2, dim), name="tokens")(x)
    for i in range(depth):
        h = keras.layers.LayerNormalization(name=f"ln{i}a")(x)
        h = keras.layers.MultiHeadAttention(num_heads=heads, key_dim=dim // heads, name=f"mha{i}")(h, h)
        x = keras.layers.Add(name=f"res{i}a")([x, h])
        h = keras.layers.LayerNormalization(name=f"ln{i}b")(x)
        h = keras.layers.Dense(2 * dim, activation="gelu", name=f"mlp{i}a")(h)
        h = keras.layers.Dense(dim, name=f"mlp{i}b")(h)
        x = keras.layers.Add(name=f"res{i}b")([x, h])
    x = keras.layers.LayerNormalization(name="ln")(x)
    x = keras.layers.AdditiveAttention(name="pool_scores")([x, x])
    x = keras.layers.Attention(use_scale=True, name="pool")([x, x, x])
    x = keras.layers.Flatten(name="flat")(x)
    return keras.Model(inputs, keras.layers.Dense(10, name="head")(x), name="my_vit")


BUILDERS = {
    "renamed": renamed_custom_layers,
    "nested": nested_twice,
    "seq": sequential_custom,
    "mix": two_in_two_out,
    "vit": small_vit,
}


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    folder = tmp_path_factory.mktemp("keras_reach")
    models, paths = {}, {}
    for name, build in BUILDERS.items():
        models[name] = build()
        paths[name] = folder / f"{name}.keras"
        models[name].save(paths[name])
    return models, paths


@pytest.mark.parametrize("name", list(BUILDERS))
def test_the_file_reading_and_the_live_import_have_keras_parameter_count(saved, name):
    models, paths = saved
    model = models[name]
    for spec in (_read(paths[name]), from_keras(model)):
        a = analyze(spec)
        assert a.totals.params == model.count_params(), name
        assert a.output == tuple(model.outputs[0].shape[1:])


def test_a_custom_layer_has_keras_count_whatever_its_name(saved):
    """Before: ``mygate`` got 0 parameters (no h5 group of that name) and the Gate named ``dense``
    got the real Dense's 25 (``layers/dense``): 162 printed where Keras says 331."""
    models, paths = saved
    model = models["renamed"]
    a = analyze(_read(paths["renamed"]))
    assert model.count_params() == 331 and a.totals.params == 331
    for name in ("mygate", "dense", "blk"):
        assert a.row(name).params == model.get_layer(name).count_params(), name
    assert (a.row("mygate").params, a.row("dense").params, a.row("blk").params) == (5, 5, 4 * 37 + 2 * 16 + 4)
    assert a.row("real").params == 25


def test_the_saved_order_names_follow_keras_saving(saved):
    """The h5 groups are the snake_case class names, unique per container, in model.layers order."""
    _, paths = saved
    with zipfile.ZipFile(paths["renamed"]) as archive:
        config = json.loads(archive.read("config.json"))["config"]
        import io

        import h5py

        groups = set(h5py.File(io.BytesIO(archive.read("model.weights.h5")), "r")["layers"])
    order = saved_order(config)
    assert [(h5, layer["name"]) for h5, layer in order] == [
        ("input_layer", "image"), ("conv2d", "stem"), ("gate", "mygate"), ("gate_1", "dense"), ("block", "blk"),
        ("global_average_pooling2d", "gap"), ("dense", "real"),
    ]
    assert {h5 for h5, _ in order} == groups
    assert snake_case("GlobalAveragePooling2D") == "global_average_pooling2d" and snake_case("MyNet") == "my_net"


def test_a_nested_model_called_twice_and_on_two_branches(saved):
    """Before: "layer 'seqblk#2/c#2' reads 'seqblk#2/c', which no node of the graph produces"."""
    models, paths = saved
    model = models["nested"]
    for spec in (_read(paths["nested"]), from_keras(model)):
        a = analyze(spec)
        names = [r.name for r in a.layers]
        assert {"seqblk/c", "seqblk#2/c", "seqblk#3/c", "seqblk#3/g", "tail/gate"} <= set(names)
        assert a.row("seqblk/c").params == 4 * 9 * 4 + 4 and a.row("seqblk#2/c").params == a.row("seqblk#3/c").params == 0
        assert a.row("seqblk#2/c").macs == a.row("seqblk/c").macs == 8 * 8 * 4 * 9 * 4
        assert a.totals.params == model.count_params() == (148 + 5) + 20 + (20 + 5)
        assert analyze(spec).row("seqblk#3/c").layer.name == "seqblk#3/c"


def test_a_sequential_file_gives_a_custom_layer_the_shape_its_successor_was_built_for(saved):
    models, paths = saved
    a = analyze(_read(paths["seq"]))
    assert a.row("mygate").output == (8, 8, 2) and a.row("mygate").params == 3  # 2 + the counter
    assert a.row("dense").params == 8 and a.totals.params == models["seq"].count_params()


def test_an_unknown_layer_with_two_inputs_and_two_outputs_is_a_not_counted_row_per_output(saved):
    models, paths = saved
    model = models["mix"]
    for spec in (_read(paths["mix"]), from_keras(model)):
        a = analyze(spec)
        mix, second = a.row("mix"), a.row("mix:1")
        assert (mix.fan_in, mix.output, mix.params, mix.ops_counted) == (2, (4, 4, 6), 6, False)
        assert (second.output, second.params) == ((4, 4, 6), 0)
        assert a.row("cat").output == (4, 4, 12)
        assert [w for w in a.warnings if "not counted" in w] == [
            "layer 'mix' (Mix): MACs not counted (cnncalc has no formula for this class); the totals exclude its operations"
        ]


def test_attention_layers_are_counted_live_and_from_the_file(saved):
    models, paths = saved
    model = models["vit"]
    for spec in (_read(paths["vit"]), from_keras(model)):
        a = analyze(spec)
        assert not a.uncounted and not [w for w in a.warnings if "not counted" in w]
        assert (a.row("mha0").kind, a.row("pool").kind, a.row("pool_scores").kind) == ("MultiHeadAttention", "Attention", "AdditiveAttention")
        for name in ("mha0", "mha1", "pool", "pool_scores"):
            assert a.row(name).params == model.get_layer(name).count_params(), name
        # 16 tokens of 16 channels, 2 heads of 8: 4 T D^2 + 2 T^2 D
        assert a.row("mha0").macs == 4 * 16 * 16 * 16 + 2 * 16 * 16 * 16
        assert a.totals.params == model.count_params()


def test_my_vit_rf_counts_attention_and_stops_the_field_there(saved, capsys):
    _, paths = saved
    assert main([str(paths["vit"]), "--rf"]) == 0
    out, err = capsys.readouterr()
    rows = {line.split()[0]: line.split() for line in out.splitlines() if line.strip()}
    assert rows["ln0a"][-4:] == ["4", "4", "1.5", "0"]  # each token: its 4x4 patch
    assert rows["mha0"][-4:] == ["-", "-", "-", "-"]
    assert "warning: layer 'mha0' (MultiHeadAttention): receptive fields stop here: attention mixes every position" in err
    assert "not counted" not in out + err


def test_check_keras_on_a_file_checks_the_files_reading(saved, capsys):
    """The reading of the file (no Keras) against Keras' own loading of it, layer by layer: the
    Gate's parameters are compared in total (the file does not say which are trainable), which only
    the file's reading cannot tell (the live import knows)."""
    _, paths = saved
    for name in ("renamed", "nested", "mix", "vit"):
        code = main([str(paths[name]), "--check-keras"])
        out = capsys.readouterr().out
        assert code == 0, out
        assert "OK: all" in out
    main([str(paths["renamed"]), "--check-keras"])
    out = capsys.readouterr().out
    mygate = next(line for line in out.splitlines() if line.startswith("mygate"))
    assert mygate.endswith("OK (params: the file does not say which are trainable)")


def test_the_reading_counts_what_the_file_holds(saved, tmp_path):
    """The parameters of an unknown layer come from its own h5 group: with the counter of the Gate
    named ``dense`` (``layers/gate_1``) removed from the file, that row has 4, the others agree."""
    import io

    import h5py

    _, paths = saved
    changed = tmp_path / "changed.keras"
    with zipfile.ZipFile(paths["renamed"]) as src, zipfile.ZipFile(changed, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "model.weights.h5":
                buffer = io.BytesIO(data)
                with h5py.File(buffer, "a") as h5:
                    del h5["layers/gate_1/vars/1"]
                data = buffer.getvalue()
            dst.writestr(item, data)
    a = analyze(_read(changed))
    assert (a.row("mygate").params, a.row("dense").params, a.row("real").params) == (5, 4, 25)


def test_attention_called_by_keyword_with_a_mask_and_returning_its_scores(tmp_path):
    """``mha(query=q, value=v, key=k, attention_mask=m, return_attention_scores=True)``: the tensors
    by keyword in the signature's order, the mask left out (it does not change the counts), the
    scores a second row ``mha:1`` of their own shape."""
    inputs = keras.Input((4, 4, 8), name="image")
    tokens = keras.layers.Reshape((16, 8), name="tokens")(inputs)
    value = keras.layers.Dense(6, name="v")(tokens)
    key = keras.layers.Dense(5, name="k")(tokens)
    mask = keras.layers.Dense(16, name="mask")(tokens)
    out, scores = keras.layers.MultiHeadAttention(num_heads=2, key_dim=4, name="mha")(
        key=key, value=value, query=tokens, attention_mask=mask, return_attention_scores=True
    )
    flat = keras.layers.Flatten(name="flat")(scores)
    model = keras.Model(inputs, [out, flat], name="kw")
    path = tmp_path / "kw.keras"
    model.save(path)
    for spec in (_read(path), from_keras(model)):
        a = analyze(spec)
        mha, second = a.row("mha"), a.row("mha:1")
        assert mha.inputs == ((16, 8), (16, 6), (16, 5))
        assert (mha.params, second.params, second.output) == (model.get_layer("mha").count_params(), 0, (2, 16, 16))
        assert a.row("flat").output == (512,) and a.totals.params == model.count_params()
    from cnncalc.keras_check import check_import

    result = check_import(keras.saving.load_model(path), _read(path))
    assert result.ok, [(r.name, r.ours, r.keras) for r in result.mismatches]


def test_a_pool_over_tokens_is_a_global_pool_not_an_unknown_layer():
    """GlobalAveragePooling1D / GlobalMaxPooling1D at the end of a transformer: the 1-D global pools
    over the steps (tests/test_conv_nd.py has the rest of the 1-D layers)."""
    inputs = keras.Input((4, 4, 8), name="image")
    tokens = keras.layers.Reshape((16, 8), name="tokens")(inputs)
    mean = keras.layers.GlobalAveragePooling1D(name="mean")(tokens)
    peak = keras.layers.GlobalMaxPooling1D(keepdims=True, name="peak")(tokens)
    x = keras.layers.Concatenate(name="cat")([mean, keras.layers.Flatten(name="flat")(peak)])
    model = keras.Model(inputs, keras.layers.Dense(3, name="head")(x), name="pools")
    a = analyze(from_keras(model))
    assert (a.row("mean").kind, a.row("mean").output, a.row("peak").kind, a.row("peak").output) == ("GlobalAvgPool1D", (8,), "GlobalMaxPool1D", (1, 8))
    assert not a.uncounted and a.totals.params == model.count_params() == 16 * 3 + 3


@pytest.mark.parametrize("shared", ["dense", "attention"])
def test_a_layer_shared_by_a_nested_model_and_its_outer_model_counts_once(shared):
    """One layer object called inside a nested model and again in the model around it: Keras
    counts its weights once (count_params), and so does the live import, the second call a row
    with MACs and no parameters of its own."""
    layers = keras.layers
    layer = layers.Dense(16, name="shared") if shared == "dense" else layers.MultiHeadAttention(2, 8, name="shared")

    def apply(t):
        return layer(t) if shared == "dense" else layer(t, t)

    inner_in = keras.Input((10, 16))
    inner = keras.Model(inner_in, apply(inner_in), name="inner")
    x = keras.Input((10, 16))
    model = keras.Model(x, apply(inner(x)))
    a = analyze(from_keras(model))
    assert a.totals.params == model.count_params() == layer.count_params()
    rows = {r.name: r for r in a.layers}
    assert rows["inner/shared"].params == layer.count_params()
    assert rows["shared"].params == 0 and rows["shared"].macs == rows["inner/shared"].macs > 0


@pytest.mark.parametrize(
    "shape, shared",
    [((8, 8, 3), None), ((8, 8, 3), [1, 2]), ((8, 8, 3), [3]), ((16, 32), [1]), ((16, 32), None)],
)
def test_prelu_counts_its_slopes_as_keras_does(tmp_path, shape, shared):
    """Keras' ``PReLU``: one learned slope per element but along ``shared_axes``; no "not counted"
    row; the file's reading (no Keras) and the live model's both equal ``count_params()``."""
    inputs = keras.Input(shape)
    x = keras.layers.Dense(5)(inputs) if len(shape) == 2 else inputs
    model = keras.Model(inputs, keras.layers.PReLU(shared_axes=shared, name="act")(x))
    path = tmp_path / "prelu.keras"
    model.save(path)
    for spec in (from_keras(model), _read(path)):
        a = analyze(spec)
        row = a.row("act")
        assert row.kind == "PReLU" and row.output == tuple(model.output.shape[1:])
        assert a.totals.params == model.count_params() and row.macs == 0
        assert not a.uncounted
