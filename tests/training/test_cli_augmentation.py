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


@pytest.mark.slow
def test_batch_augment_keeps_the_steps_and_multiplies_the_batch(tmp_path, cifar_dir, capsys):
    out = tmp_path / "ba"
    args = ["batch-augment", "--data-dir", str(cifar_dir), "--model", "lenet5", "--m", "1", "2", "--max-epochs", "1",
            "--batch-size", "32", "--subset", "256", "--test-subset", "64", "--target-acc", "0.05", "--out", str(out), "--quiet"]
    assert main(args) == 0
    log = capsys.readouterr().err
    assert [line for line in log.splitlines() if line.startswith(("run 1/", "run 2/", "run 3/"))] == ["run 1/3: baseline", "run 2/3: m1", "run 3/3: m2"]
    results = json.loads((out / "results.json").read_text())
    assert results["epochs"] == 1 and results["target_accuracy"] == 0.05 and results["baseline"] is True
    base, one, two = results["runs"]
    assert set(one) >= {"name", "augmentation", "cutout", "m", "batch_size", "samples_per_step", "steps_per_epoch", "epochs",
                        "epochs_to_target", "seconds_to_target", "test_accuracy", "best_val_accuracy", "seconds_per_epoch", "val_error"}
    # The baseline is He et al.'s simple augmentation at M = 1; `--m 1` is Cutout at M = 1.
    assert (base["name"], base["augmentation"], base["cutout"], base["m"]) == ("baseline", "crop+flip", 0, 1)
    assert (one["name"], one["augmentation"], one["cutout"], one["m"]) == ("m1", "crop+flip+Cutout L=16", 16, 1)
    # 256 images minus a 10% validation split leave 231 training images: ceil(231 / 32) = 8 steps.
    assert base["steps_per_epoch"] == one["steps_per_epoch"] == two["steps_per_epoch"] == results["steps_per_epoch"] == 8
    assert (base["samples_per_step"], one["samples_per_step"], two["samples_per_step"]) == (32, 32, 64)
    for row in (base, one, two):
        history = [line.split(",") for line in (out / row["name"] / "history.csv").read_text().splitlines()[1:]]
        traces = (out / row["name"] / "traces.csv").read_text().splitlines()[1:]
        assert len(history) == 1 and len(traces) == 8  # one epoch of 8 optimizer steps for every M
        assert np.isfinite(float(history[0][1]))
        assert row["epochs_to_target"] == 1  # any accuracy reaches 0.05 on 10 classes
        assert len(row["val_error"]) == 1 and row["val_error"][0] == pytest.approx(1 - row["best_val_accuracy"], abs=1e-6)
    config = json.loads((out / "m2" / "config.json").read_text())
    assert config["m_value"] == 2 and config["max_epochs"] == 1 and config["length"] == 16
    config = json.loads((out / "baseline" / "config.json").read_text())
    assert (config["m_value"], config["length"], config["augmentation"]) == (1, 0, "crop+flip")
    assert (out / "val_error.png").read_bytes()[:4] == b"\x89PNG"
    assert_results_md_matches_json((out / "results.md").read_text(), results)
    assert_baseline_trains_without_cutout(out, cifar_dir)

    # Idempotent for `cnntrain resume`: finished sub-runs are skipped, the results are rebuilt.
    (out / "results.json").unlink()
    (out / "status.json").write_text(json.dumps({"state": "interrupted"}))
    assert main(["resume", str(out), "--quiet"]) == 0
    again = json.loads((out / "results.json").read_text())
    assert [r["test_accuracy"] for r in again["runs"]] == [base["test_accuracy"], one["test_accuracy"], two["test_accuracy"]]
    assert [r["samples_per_step"] for r in again["runs"]] == [32, 32, 64]


def zeros_are_padding_only(image, pad=4):
    """True when the pixels that are 0 in every channel are exactly whole rows and columns at the
    borders, at most ``pad`` deep on each side: what the pad-4 crop leaves, and no Cutout square."""
    zero = np.all(image == 0, axis=-1)
    rows, cols = zero.all(axis=1), zero.all(axis=0)
    if not np.array_equal(zero, rows[:, None] | cols[None, :]):
        return False

    def border_strips(full):
        k = np.flatnonzero(full)
        top, bottom = k[k < len(full) // 2], k[k >= len(full) // 2]
        return (len(top) == 0 or top.tolist() == list(range(len(top)))) and (len(bottom) == 0 or bottom.tolist() == list(range(len(full) - len(bottom), len(full)))) and max(len(top), len(bottom)) <= pad

    return border_strips(rows) and border_strips(cols)


def assert_baseline_trains_without_cutout(out, cifar_dir):
    """What each trained model feeds its network in training mode (its own augmentation block on
    the run's training images): the baseline zeroes only the crop's padding, `m1` cuts squares."""
    x = data.load("cifar10", cifar_dir, subset=256, seed=0).x_train
    assert not np.any(np.all(x == 0, axis=-1))  # no zero pixel before augmentation
    blocks = {}
    for name in ("baseline", "m1"):
        state = json.loads((out / name / "checkpoint" / "latest.json").read_text())
        model = keras.models.load_model(out / name / "checkpoint" / state["dir"] / "model.keras")
        blocks[name] = model.get_layer("augment")
    assert [layer.name for layer in blocks["baseline"].layers] == ["standard_augment"]
    assert [layer.name for layer in blocks["m1"].layers] == ["standard_augment", "cutout"]
    seen = {name: keras.ops.convert_to_numpy(block(x, training=True)) for name, block in blocks.items()}
    assert all(zeros_are_padding_only(image) for image in seen["baseline"])
    assert np.any(np.all(seen["baseline"] == 0, axis=-1))  # the crop did shift images (the check is not vacuous)
    cut = sum(not zeros_are_padding_only(image) for image in seen["m1"])
    assert cut == len(x)  # a 16x16 square is never whole rows or columns of a 32x32 image


def assert_results_md_matches_json(md, r):
    """results.md opens with the exercise parts, and its table and comparison are results.json's numbers."""
    lines = md.splitlines()
    assert lines[0].startswith("# Problem 4:")
    tables = [i for i, line in enumerate(lines) if line.startswith("| ---")]
    opening = [[c.strip() for c in line.strip("|").split("|")] for line in lines[tables[0] + 1 : tables[0] + 3]]
    assert [row[0] for row in opening] == ["part 2", "part 3"]
    assert "sub-run `baseline`" in opening[0][2] and "M = 1, 2" in opening[1][1]
    table = [[c.strip() for c in line.strip("|").split("|")] for line in lines[tables[1] + 1 : tables[1] + 1 + len(r["runs"])]]
    for cells, row in zip(table, r["runs"]):
        assert cells[:5] == [row["name"], row["augmentation"], str(row["m"]), str(row["samples_per_step"]), str(row["steps_per_epoch"])]
        assert int(cells[5]) == row["epochs_to_target"] and float(cells[6]) == pytest.approx(row["seconds_to_target"], abs=0.05)
        assert float(cells[7]) == pytest.approx(row["test_accuracy"], abs=5e-5)
    c = r["comparison"]
    base = r["runs"][0]
    assert c["baseline"] == {"epochs_to_target": base["epochs_to_target"], "seconds_to_target": base["seconds_to_target"]}
    assert f"Baseline (part 2): validation accuracy 0.05 after 1 epoch, {base['seconds_to_target']:.1f} s." in md
    batch = r["runs"][1:]
    fastest = min(batch, key=lambda row: (row["seconds_to_target"], row["m"]))
    assert c["fewest_epochs"] == {"name": "m1", "m": 1, "epochs_to_target": 1, "tied": [2]}  # a tie goes to the smaller M
    assert c["fewest_seconds"] == {"name": fastest["name"], "m": fastest["m"], "seconds_to_target": fastest["seconds_to_target"],
                                   "tied": [row["m"] for row in batch if row is not fastest and row["seconds_to_target"] == fastest["seconds_to_target"]]}
    assert "Batch augmentation (part 3), fewest epochs to the target: M=1 (1 epoch; M=2 as well)." in md
    assert f"Batch augmentation (part 3), least wall-clock to the target: M={fastest['m']} ({fastest['seconds_to_target']:.1f} s)." in md


def test_both_presets_have_the_baseline_and_no_baseline_drops_it():
    from training.cli import build_parser
    from training.experiments import load_recipes, resolve_config
    from training.experiments.augmentation import batch_subruns

    exp = load_recipes()["batch-augment"]
    assert build_parser().parse_args(["batch-augment", "--no-baseline"]).no_baseline is True
    assert build_parser().parse_args(["batch-augment"]).no_baseline is None  # the preset decides
    for preset, ms in (("quick", [1, 2, 4, 8]), ("paper", [2, 4, 8, 16, 32])):
        config = resolve_config(exp, preset, {})
        assert [r["name"] for r in batch_subruns(config)] == ["baseline", *(f"m{m}" for m in ms)]
        assert batch_subruns(config)[0] == {"name": "baseline", "m": 1, "cutout": 0}
        assert {r["cutout"] for r in batch_subruns(config)[1:]} == {16}
    config = resolve_config(exp, "paper", {"no_baseline": True, "m": [1, 4]})
    assert batch_subruns(config) == [{"name": "m1", "m": 1, "cutout": 16}, {"name": "m4", "m": 4, "cutout": 16}]


@pytest.mark.parametrize("bad, message", [(["--m", "0"], "--m values must be >= 1, got 0"), (["--m", "2", "2"], "--m values must be distinct")])
def test_batch_augment_bad_m_exits_2_without_a_run_directory(tmp_path, cifar_dir, capsys, bad, message):
    out = tmp_path / "bad"
    assert main(["batch-augment", "--data-dir", str(cifar_dir), *bad, "--out", str(out), "--quiet"]) == 2
    assert f"error: {message}" in capsys.readouterr().err
    assert not out.exists() and not os.path.exists(tmp_path / "runs")
