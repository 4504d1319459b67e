"""``cnntrain cnn-ladder``: cs231n-a/b/c and c with augmentation end to end on a tiny CIFAR-10
written in the original pickle format; table, confusion matrix, counts and resume."""

import json
import os
import shutil

import numpy as np
import pytest

from training import data
from training.cli import main

pytestmark = pytest.mark.keras
keras = pytest.importorskip("keras", reason="needs TensorFlow/Keras: pip install -e '.[dev]'")

from tests.training.test_data import cifar_files, write_cifar_dir  # noqa: E402


@pytest.fixture
def tiny_cifar(tmp_path, monkeypatch):
    """5 x 20 training and 20 test images in the official layout; no Keras cache, no download."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras-home"))
    write_cifar_dir(tmp_path / "cifar", cifar_files(n=20))
    return tmp_path / "cifar"


def test_augmented_model_keeps_the_zoo_counts(tiny_cifar, tmp_path):
    from cnncalc import analyze
    from training.experiments import Context, load_recipes, resolve_config
    from training.experiments.cnn_ladder import build_model
    from training.models import spec_for
    from training.runs import RunDir

    config = resolve_config(load_recipes()["cnn-ladder"], "quick", {"dataset": "cifar10", "data_dir": str(tiny_cifar)})
    assert config["networks"] == ["cs231n-a", "cs231n-b", "cs231n-c", "cs231n-c+augment"]
    ctx = Context(config, RunDir(tmp_path / "unused"))
    model = build_model(ctx, "cs231n-c+augment")
    assert [type(layer).__name__ for layer in model.get_layer("augment").layers] == ["StandardAugment"]
    totals = analyze(spec_for("cs231n-c", (32, 32, 3), 10)).totals
    assert model.count_params() == build_model(ctx, "cs231n-c").count_params() == totals.params == 1_351_946
    x = np.random.default_rng(0).normal(size=(4, 32, 32, 3)).astype("float32")
    assert not np.allclose(model(x, training=True), model(x, training=True))  # augmentation draws differ
    np.testing.assert_allclose(model(x, training=False), model(x, training=False))  # identity at test time


def test_bad_options_exit_2(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["cnn-ladder", "--networks", "cs231n-a", "cs231n-a", "--out", str(out)]) == 2
    assert main(["cnn-ladder", "--model", "lenet5", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: --networks lists a network twice: cs231n-a cs231n-a",
                   "error: cnn-ladder trains its own ladder (choose with --networks), not --model"]
    assert not out.exists()


@pytest.mark.slow
def test_ladder_on_tiny_cifar_then_resume(tiny_cifar, tmp_path, capsys):
    """Two rungs for speed (the cheapest and the augmented one); all four are the default above."""
    from training.models import describe

    out = tmp_path / "ladder"
    args = ["cnn-ladder", "--dataset", "cifar10", "--data-dir", str(tiny_cifar), "--epochs", "1", "--batch-size", "32", "--quiet"]
    assert main([*args, "--networks", "cs231n-c+augment", "cs231n-a", "--out", str(out)]) == 0
    log = capsys.readouterr().err
    assert "run 1/2: cs231n-a" in log and "run 2/2: cs231n-c+augment" in log  # ladder order, whatever the order given
    assert {"ladder.md", "ladder.png", "confusion.png", "results.json", "cs231n-a", "cs231n-c_augment"} <= set(os.listdir(out))

    results = json.loads((out / "results.json").read_text())
    table = results["table"]
    assert list(table) == ["cs231n-a", "cs231n-c+augment"]
    for network, row in table.items():
        counts = describe(row["model"], (32, 32, 3), 10)
        assert (row["params"], row["macs"]) == (counts["params"], counts["macs"])
        assert 0.0 <= row["test_accuracy"] <= 1.0 and row["train_seconds"] > 0
    assert table["cs231n-c+augment"]["params"] == 1_351_946 and table["cs231n-a"]["params"] < 1_351_946

    confusion = results["confusion"]
    matrix = np.array(confusion["matrix"])
    test_labels = np.array(data.load("cifar10", tiny_cifar, val_fraction=0.1).y_test)
    assert matrix.shape == (10, 10) and len(confusion["classes"]) == 10
    assert matrix.sum(axis=1).tolist() == np.bincount(test_labels, minlength=10).tolist()  # rows: true classes
    assert np.trace(matrix) / matrix.sum() == pytest.approx(table["cs231n-c+augment"]["test_accuracy"], abs=1e-6)
    md = (out / "ladder.md").read_text()
    assert "| cs231n-c+augment | 1,351,946 |" in md

    # Half-finished: cs231n-a is gone; resume retrains it alone and rebuilds the matrix and plots.
    kept = (out / "cs231n-c_augment" / "metrics.json").stat().st_mtime_ns
    shutil.rmtree(out / "cs231n-a")
    for name in ("results.json", "confusion.png", "ladder.md"):
        (out / name).unlink()
    (out / "status.json").write_text(json.dumps({"state": "interrupted"}))
    assert main(["resume", str(out), "--quiet"]) == 0
    assert (out / "cs231n-c_augment" / "metrics.json").stat().st_mtime_ns == kept
    again = json.loads((out / "results.json").read_text())
    assert (out / "confusion.png").exists()
    assert [line.split("|")[1:5] for line in (out / "ladder.md").read_text().splitlines()] == [line.split("|")[1:5] for line in md.splitlines()]
    assert again["table"]["cs231n-c+augment"] == table["cs231n-c+augment"]
    assert again["confusion"]["matrix"] == confusion["matrix"]
    # the retrained sub-run is deterministic (seeded data order and initial weights)
    assert again["table"]["cs231n-a"]["test_accuracy"] == pytest.approx(table["cs231n-a"]["test_accuracy"])
