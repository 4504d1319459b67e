"""Saved ``.keras`` files read without Keras, live models with their own layers, ``keras:NAME``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile

import pytest

from cnncalc import analyze, from_keras
from cnncalc.cli import main
from cnncalc.importers.keras import KerasImportError, from_config, read_keras_file
from cnncalc.spec import SpecError

keras = pytest.importorskip("keras")
pytestmark = pytest.mark.keras

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@keras.saving.register_keras_serializable(package="cnncalc_tests")
class Gate(keras.layers.Layer):
    """A user's custom layer: one trainable vector per channel, x * sigmoid(w)."""

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1],), initializer="zeros", name="w")
        self.counter = self.add_weight(shape=(), initializer="zeros", trainable=False, name="counter")

    def call(self, x):
        return x * keras.ops.sigmoid(self.w)


def small_model(custom=False):
    """Functional, with a nested Sequential, a shared layer, a frozen layer, BatchNorm and a branch."""
    inputs = keras.Input((32, 32, 3), name="image")
    x = keras.layers.Conv2D(8, 3, padding="same", name="stem")(inputs)
    x = keras.layers.BatchNormalization(name="stem_bn")(x)
    block = keras.Sequential([keras.layers.Conv2D(8, 3, padding="same", name="inner_conv"), keras.layers.ReLU(name="inner_relu")], name="block")
    y = block(x)
    frozen = keras.layers.Conv2D(8, 1, name="frozen")
    frozen.trainable = False
    y = frozen(y)
    if custom:
        y = Gate(name="gate")(y)
    x = keras.layers.Add(name="merge")([x, y])
    x = keras.layers.MaxPooling2D(name="pool")(x)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    shared = keras.layers.Dense(8, name="shared")
    x = shared(shared(x))
    outputs = keras.layers.Dense(10, activation="softmax", name="head")(x)
    return keras.Model(inputs, outputs, name="small")


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    folder = tmp_path_factory.mktemp("keras_files")
    model = small_model()
    path = folder / "small.keras"
    model.save(path)
    custom = small_model(custom=True)
    custom_path = folder / "custom.keras"
    custom.save(custom_path)
    return {"model": model, "path": str(path), "custom": custom, "custom_path": str(custom_path), "folder": folder}


def _size(weights):
    n_total = 0
    for w in weights:
        n = 1
        for d in w.shape:
            n *= int(d)
        n_total += n
    return n_total


def test_a_live_model_with_nesting_sharing_and_frozen_layers(saved):
    model = saved["model"]
    a = analyze(from_keras(model))
    assert a.totals.params == model.count_params()
    assert a.totals.non_trainable == _size(model.non_trainable_weights) == 2 * 8 + 8 * 8 + 8  # BN stats, the frozen conv
    names = [r.name for r in a.layers]
    assert names == ["image", "stem", "stem_bn", "block/inner_conv", "block/inner_relu", "frozen", "merge", "pool", "gap", "shared", "shared#2", "head"]
    shared, again = a.row("shared"), a.row("shared#2")
    assert shared.params == 8 * 8 + 8 and again.params == 0 and shared.macs == again.macs == 64
    assert a.row("merge").rf == 5 and a.row("pool").output == (16, 16, 8)


def test_a_saved_file_is_read_without_keras_or_tensorflow(saved):
    code = (
        "import sys, json, io, contextlib\n"
        "from cnncalc.cli import main\n"
        "buf = io.StringIO()\n"
        "with contextlib.redirect_stdout(buf):\n"
        "    rc = main([sys.argv[1], '--format', 'json'])\n"
        "heavy = sorted(m for m in ('keras', 'tensorflow', 'jax', 'torch', 'h5py', 'sympy') if m in sys.modules)\n"
        "print(json.dumps({'rc': rc, 'heavy': heavy, 'out': json.loads(buf.getvalue())}))\n"
    )
    env = {**os.environ, "PYTHONPATH": ROOT}
    result = json.loads(subprocess.run([sys.executable, "-c", code, saved["path"]], capture_output=True, text=True, env=env, check=True).stdout)
    assert result["rc"] == 0 and result["heavy"] == []
    out = result["out"]
    assert out["totals"]["params"] == saved["model"].count_params()
    assert out["model"] == "small" and out["output"] == [10]
    assert [layer["name"] for layer in out["layers"]][:4] == ["image", "stem", "stem_bn", "block/inner_conv"]


def test_reading_the_file_and_loading_it_through_keras_agree(saved):
    direct, via = analyze(read_keras_file(saved["path"])), analyze(read_keras_file(saved["path"], via_keras=True))
    assert [r.to_dict() for r in direct.layers] == [r.to_dict() for r in via.layers]


def test_a_users_custom_layer_is_counted_from_its_weights_and_named(saved):
    model = saved["custom"]
    live = analyze(from_keras(model))
    row = live.row("gate")
    assert row.kind == "Opaque" and row.output == (32, 32, 8) and row.params == 8 + 1 and row.macs == 0
    assert live.totals.params == model.count_params()
    assert any("gate" in w and "MACs not counted" in w for w in live.warnings)
    # From the file: shape from what 'merge' recorded, parameters from the weight file (h5py).
    pytest.importorskip("h5py")
    from_file = analyze(read_keras_file(saved["custom_path"]))
    assert from_file.row("gate").output == (32, 32, 8) and from_file.row("gate").params == 9
    assert from_file.totals.params == model.count_params()


def test_cli_names_an_uncounted_layer_in_the_table_and_json(saved, capsys):
    assert main([saved["custom_path"], "--table"]) == 0
    captured = capsys.readouterr()
    assert "gate" in captured.out and "MACs not counted" in captured.err
    assert main([saved["custom_path"], "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert any("MACs not counted" in w for w in data["warnings"])
    gate = next(row for row in data["layers"] if row["name"] == "gate")
    assert gate["macs_counted"] is False and all("macs_counted" not in row for row in data["layers"] if row["name"] != "gate")
    assert main([saved["custom_path"], "--table"]) == 0
    table = capsys.readouterr().out
    assert "not counted" in next(line for line in table.splitlines() if line.startswith("gate"))
    assert "the operation totals exclude 1 layer whose MACs are not counted: gate (Gate)" in table


@pytest.mark.parametrize(
    "content, message",
    [
        (b"not a zip at all", "not a Keras archive (not a zip file, or truncated)"),
        (None, "holds no config.json"),
        ("{not json", "config.json is not valid JSON"),
        (json.dumps({"class_name": "Dense", "config": {}}), "describes a Dense, not a Keras model"),
    ],
)
def test_a_bad_file_is_a_one_line_error_with_exit_2(tmp_path, capsys, content, message):
    path = tmp_path / "bad.keras"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("metadata.json", "{}")
            if content is not None:
                archive.writestr("config.json", content)
    assert main([str(path), "--table"]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_a_truncated_file_is_a_one_line_error(saved, tmp_path, capsys):
    data = open(saved["path"], "rb").read()
    cut = tmp_path / "cut.keras"
    cut.write_bytes(data[: len(data) // 2])
    assert main([str(cut)]) == 2
    assert "not a Keras archive" in capsys.readouterr().err
    assert main([str(tmp_path / "missing.keras")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_a_config_dict_and_a_subclassed_model():
    model = small_model()
    assert analyze(from_keras(model.get_config())).totals.params == model.count_params()

    class Sub(keras.Model):
        def __init__(self):
            super().__init__()
            self.d = keras.layers.Dense(3)

        def call(self, x):
            return self.d(x)

    sub = Sub()
    sub(keras.ops.zeros((1, 4)))
    with pytest.raises(KerasImportError, match="subclassed models are not supported"):
        from_keras(sub)
    with pytest.raises(KerasImportError, match="not a Keras model config"):
        from_config({"nothing": 1})


def test_an_unknown_class_in_a_config_without_the_model_names_it_and_the_way_out():
    config = small_model(custom=True).get_config()
    with pytest.raises(KerasImportError, match="Keras class Gate is not one cnncalc can count from a config.*--via-keras"):
        from_config(config)


@pytest.mark.slow  # builds a keras.applications model (over a second of CPU)
def test_keras_name_on_the_command_line(capsys):
    assert main(["keras:MobileNetV3Small", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["totals"]["params"] == 2_554_968 and data["output"] == [1000]
    assert main(["keras:NoSuchNet"]) == 2
    assert "keras.applications has no model 'NoSuchNet'" in capsys.readouterr().err


@pytest.mark.slow  # builds a keras.applications model (over a second of CPU)
def test_keras_name_check_keras_agrees_layer_by_layer(capsys):
    assert main(["keras:MobileNetV3Small", "--check-keras"]) == 0
    out = capsys.readouterr().out
    assert "MISMATCH" not in out


@pytest.mark.slow  # builds a keras.applications model (over a second of CPU)
def test_compare_an_import_with_the_zoo(capsys):
    assert main(["compare", "keras:VGG16", "vgg16"]) == 0
    out = capsys.readouterr().out
    assert "138,357,544" in out


def test_an_uncounted_layer_refuses_another_input_size(saved):
    spec = from_keras(saved["custom"])
    with pytest.raises(SpecError, match="'gate' \\(Gate\\): its output shape is known only for the input 32x32x8"):
        analyze(spec, input=(64, 64, 3))


@pytest.mark.parametrize("fmt", ["text", "markdown", "latex", "csv", "json"])
def test_a_saved_file_in_every_format_with_fields_and_explanations(saved, capsys, fmt):
    assert main([saved["path"], "--table", "--rf", "--format", fmt]) == 0
    out = capsys.readouterr().out
    assert "inner" in out and ("1,074" in out or "1074" in out)  # count_params() of the small model
    if fmt == "text":
        assert main([saved["path"], "--explain"]) == 0
        assert "stem MACs: 32x32x3x3x3x8 = 221,184" in capsys.readouterr().out
