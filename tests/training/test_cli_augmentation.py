"""``cnntrain cutout-demo`` and ``cnntrain batch-augment`` end to end on a tiny CIFAR-10 directory."""

import json
import os
import pickle

import numpy as np
import pytest

from training import data
from training.cli import main

pytestmark = pytest.mark.keras
keras = pytest.importorskip("keras", reason="needs TensorFlow/Keras: pip install -e '.[dev]'")


def write_tiny_cifar(root, n_per_batch=64, n_test=64):
    """The official layout (``cifar-10-batches-py/data_batch_1..5``, ``test_batch``, ``batches.meta``),
    random pixels, pickled the way Python 3 writes protocol 2 (the loader accepts both spellings)."""
    directory = root / "cifar-10-batches-py"
    directory.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name, n in [(f"data_batch_{i}", n_per_batch) for i in range(1, 6)] + [("test_batch", n_test)]:
        batch = {b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8), b"labels": [int(v) for v in rng.integers(0, 10, n)]}
        (directory / name).write_bytes(pickle.dumps(batch, protocol=2))
    meta = {b"label_names": [c.encode() for c in data.CIFAR10_CLASSES]}
    (directory / "batches.meta").write_bytes(pickle.dumps(meta, protocol=2))
    return root


@pytest.fixture(scope="module")
def cifar_dir(tmp_path_factory):
    return write_tiny_cifar(tmp_path_factory.mktemp("cifar"))


def test_cutout_demo_zeroes_exactly_the_recorded_square(tmp_path, cifar_dir):
    out = tmp_path / "cutout"
    assert main(["cutout-demo", "--data-dir", str(cifar_dir), "--images", "3", "--length", "10", "--seed", "4", "--out", str(out), "--quiet"]) == 0
    png = (out / "cutout.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000
    results = json.loads((out / "results.json").read_text())
    assert results["length"] == 10 and results["image_shape"] == [32, 32, 3] and len(results["indices"]) == 3
    # The images are those of the training split as `load` prepares it (normalised, seeded split).
    dataset = data.load("cifar10", cifar_dir, seed=4)
    saved = np.load(out / "cutout.npz")
    np.testing.assert_array_equal(saved["indices"], results["indices"])
    np.testing.assert_array_equal(saved["before"], dataset.x_train[results["indices"]])
    for j, square in enumerate(results["squares"]):
        y0, y1, x0, x1 = square["y0"], square["y1"], square["x0"], square["x1"]
        assert 0 <= y0 < y1 <= 32 and 0 <= x0 < x1 <= 32
        assert (y1 - y0 == 10 or y0 == 0 or y1 == 32) and (x1 - x0 == 10 or x0 == 0 or x1 == 32)  # clipped only at a border
        before, after = saved["before"][j], saved["after"][j]
        inside = np.zeros((32, 32), bool)
        inside[y0:y1, x0:x1] = True
        assert np.all(after[inside] == 0.0)  # zero after normalisation: the dataset mean
        np.testing.assert_array_equal(after[~inside], before[~inside])
        assert np.count_nonzero(before[inside]) > 0  # the square really removed something


def test_cutout_demo_rejects_a_square_larger_than_the_image(tmp_path, cifar_dir, capsys):
    out = tmp_path / "bad"
    assert main(["cutout-demo", "--data-dir", str(cifar_dir), "--length", "33", "--out", str(out)]) == 2
    assert "error: --length must be between 1 and the image size 32, got 33" in capsys.readouterr().err
    assert not out.exists()


def test_batch_augment_keeps_the_steps_and_multiplies_the_batch(tmp_path, cifar_dir, capsys):
    out = tmp_path / "ba"
    args = ["batch-augment", "--data-dir", str(cifar_dir), "--model", "lenet5", "--m", "1", "2", "--max-epochs", "1",
            "--batch-size", "32", "--subset", "256", "--test-subset", "64", "--target-acc", "0.05", "--out", str(out), "--quiet"]
    assert main(args) == 0
    assert "run 1/2: m1" in capsys.readouterr().err
    results = json.loads((out / "results.json").read_text())
    assert results["epochs"] == 1 and results["target_accuracy"] == 0.05
    one, two = results["runs"]
    assert set(one) >= {"m", "batch_size", "samples_per_step", "steps_per_epoch", "epochs", "epochs_to_target", "seconds_to_target",
                        "test_accuracy", "best_val_accuracy", "seconds_per_epoch", "val_error"}
    # 256 images minus a 10% validation split leave 231 training images: ceil(231 / 32) = 8 steps.
    assert one["steps_per_epoch"] == two["steps_per_epoch"] == results["steps_per_epoch"] == 8
    assert (one["m"], one["samples_per_step"]) == (1, 32) and (two["m"], two["samples_per_step"]) == (2, 64)
    for name, row in (("m1", one), ("m2", two)):
        history = [line.split(",") for line in (out / name / "history.csv").read_text().splitlines()[1:]]
        traces = (out / name / "traces.csv").read_text().splitlines()[1:]
        assert len(history) == 1 and len(traces) == 8  # one epoch of 8 optimizer steps for every M
        assert np.isfinite(float(history[0][1]))
        assert row["epochs_to_target"] == 1  # any accuracy reaches 0.05 on 10 classes
        assert len(row["val_error"]) == 1 and row["val_error"][0] == pytest.approx(1 - row["best_val_accuracy"], abs=1e-6)
    config = json.loads((out / "m2" / "config.json").read_text())
    assert config["m_value"] == 2 and config["max_epochs"] == 1 and config["length"] == 16
    assert (out / "val_error.png").read_bytes()[:4] == b"\x89PNG"
    table = (out / "results.md").read_text()
    assert "| 2 | 64 | 8 | 1 |" in table

    # Idempotent for `cnntrain resume`: finished sub-runs are skipped, the results are rebuilt.
    (out / "results.json").unlink()
    (out / "status.json").write_text(json.dumps({"state": "interrupted"}))
    assert main(["resume", str(out), "--quiet"]) == 0
    again = json.loads((out / "results.json").read_text())
    assert [r["test_accuracy"] for r in again["runs"]] == [one["test_accuracy"], two["test_accuracy"]]
    assert [r["samples_per_step"] for r in again["runs"]] == [32, 64]


@pytest.mark.parametrize("bad, message", [(["--m", "0"], "--m values must be >= 1, got 0"), (["--m", "2", "2"], "--m values must be distinct")])
def test_batch_augment_bad_m_exits_2_without_a_run_directory(tmp_path, cifar_dir, capsys, bad, message):
    out = tmp_path / "bad"
    assert main(["batch-augment", "--data-dir", str(cifar_dir), *bad, "--out", str(out), "--quiet"]) == 2
    assert f"error: {message}" in capsys.readouterr().err
    assert not out.exists() and not os.path.exists(tmp_path / "runs")
