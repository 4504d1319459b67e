"""``cnntrain lr-range``, ``batch-range`` and ``cyclical-batch`` end to end on real Fashion-MNIST.

Tiny settings (a 512-image subset, 1-2 epochs, lenet5); the assertions are relations the finders
and the policy must satisfy: bounds inside the tested range and ordered, powers of two, a batch-size
trace that covers every training sample once per epoch, resume that neither recomputes nor changes.
"""

import csv
import json
import math
import os

import numpy as np
import pytest

from training.cli import main
from training.experiments import load_recipes

# Register every recipe before importing one directly: load_recipes() imports the package's recipe
# modules only while the registry is empty, so a lone direct import would hide the others (clr...).
load_recipes()
from training.experiments.range_tests import LR_PRESETS, cbs_policy, grid_lrs  # noqa: E402

pytestmark = pytest.mark.keras
keras = pytest.importorskip("keras", reason="needs TensorFlow/Keras: pip install -e '.[dev]'")

TINY = ["--subset", "512", "--test-subset", "256", "--quiet"]
N_TRAIN = 461  # 512 images less the 10% validation split (round(51.2) = 51)


def _json(path):
    return json.loads(path.read_text())


def _interrupt(run_dir):
    """Make a finished run look interrupted before its results were written."""
    (run_dir / "results.json").unlink()
    (run_dir / "status.json").write_text(json.dumps({"state": "interrupted"}))


@pytest.mark.slow
@pytest.mark.real_fashion_mnist
def test_lr_range_one_run_bounds_inside_the_swept_range_and_resume_reuses_the_curve(tmp_path):
    out = tmp_path / "lr"
    argv = ["lr-range", "--start-lr", "1e-5", "--end-lr", "10", "--steps", "40", "--batch-size", "32", "--out", str(out), *TINY]
    assert main(argv) == 0
    assert {"lr_range.png", "lr_range.json", "results.md", "results.json", "config.json"} <= set(os.listdir(out))
    results = _json(out / "results.json")
    assert results["method"] == "range_test"
    lrs = np.array(results["curve"]["lr"])
    assert 2 <= len(lrs) <= 40 and lrs[0] == pytest.approx(1e-5)
    ratios = lrs[1:] / lrs[:-1]  # geometric steps: (10 / 1e-5) ** (1 / 39) each
    assert np.allclose(ratios, 1e6 ** (1 / 39), rtol=1e-6)
    assert 1e-5 <= results["lr_min"] < results["lr_max"] <= lrs[-1]
    smoothed = np.array([math.inf if v is None else v for v in results["curve"]["smoothed"]])
    if results["stopped_early"]:  # the last point is the divergence: 4x the best smoothed loss before it
        assert smoothed[-1] > 4 * smoothed[:-1].min()
    assert "| lr_min | lr_max | best lr |" in (out / "results.md").read_text()

    before = (out / "lr_range.json").stat().st_mtime_ns
    _interrupt(out)
    assert main(["resume", str(out), "--quiet"]) == 0
    assert (out / "lr_range.json").stat().st_mtime_ns == before  # the curve is reused, not recomputed
    assert _json(out / "results.json") == results


def _rows(path) -> list[dict]:
    """A CSV file's rows without its timings."""
    with open(path, newline="") as fh:
        return [{k: v for k, v in row.items() if "second" not in k} for row in csv.DictReader(fh)]


@pytest.mark.slow
@pytest.mark.real_fashion_mnist
def test_lr_grid_one_subrun_per_candidate_and_resume_skips_them(tmp_path, capsys):
    out = tmp_path / "grid"
    argv = ["lr-range", "--grid", "--grid-points", "3", "--start-lr", "1e-4", "--end-lr", "1", "--epochs", "1", "--batch-size", "64", "--out", str(out), *TINY]
    assert main(argv) == 0
    assert "run 3/3: lr_03_1.0e+00" in capsys.readouterr().err
    results = _json(out / "results.json")
    assert results["method"] == "grid_search"
    assert results["curve"]["lr"] == pytest.approx([1e-4, 1e-2, 1.0])
    subruns = sorted(p for p in out.iterdir() if p.is_dir())
    assert [p.name for p in subruns] == ["lr_01_1.0e-04", "lr_02_1.0e-02", "lr_03_1.0e+00"]
    for sub, lr, loss in zip(subruns, results["curve"]["lr"], results["curve"]["loss"]):
        assert _json(sub / "config.json")["lr"] == pytest.approx(lr)
        assert _json(sub / "status.json")["state"] == "finished"
        assert _json(sub / "metrics.json")["final_loss"] == pytest.approx(loss)  # the final training loss
    assert 1e-4 <= results["lr_min"] < results["lr_max"] <= 1.0
    assert "lr_range.png" in os.listdir(out)
    # The grid resets one compiled model for each rate (range_tests.FreshModels): a grid that
    # starts at the second rate builds its model fresh there, and each rate trains to the bit,
    # step by step, as in the grid above, whatever the model trained before.
    later = tmp_path / "later"
    assert main([*argv[:argv.index("--out")], "--grid-points", "2", "--start-lr", "1e-2", "--out", str(later), *TINY]) == 0
    for a, b in (("lr_01_1.0e-02", "lr_02_1.0e-02"), ("lr_02_1.0e+00", "lr_03_1.0e+00")):
        for name in ("history.csv", "traces.csv"):
            assert _rows(later / a / name) == _rows(out / b / name) != [], (b, name)

    stamps = [(sub / "metrics.json").stat().st_mtime_ns for sub in subruns]
    _interrupt(out)
    assert main(["resume", str(out), "--quiet"]) == 0
    assert [(sub / "metrics.json").stat().st_mtime_ns for sub in subruns] == stamps  # nothing retrained
    assert _json(out / "results.json") == results


def test_grid_candidates_of_the_paper_preset():
    paper = LR_PRESETS["paper"]
    assert np.allclose(grid_lrs(paper), np.logspace(-9, 1, 10))
    assert (paper["model"], paper["dataset"], paper["epochs"], paper["batch_size"]) == ("minigooglenet", "fashion_mnist", 5, 64)


@pytest.mark.slow
@pytest.mark.real_fashion_mnist
def test_batch_range_same_updates_per_size_and_power_of_two_bounds(tmp_path):
    out = tmp_path / "br"
    argv = ["batch-range", "--lr", "0.01", "--b-lo", "32", "--b-hi", "128", "--iterations", "15", "--max-physical-batch", "64", "--out", str(out), *TINY]
    assert main(argv) == 0
    assert {"loss_vs_batch.png", "results.md", "results.json", "b00032", "b00064", "b00128"} <= set(os.listdir(out))
    results = _json(out / "results.json")
    curve = results["curve"]
    assert curve["batch_size"] == [32, 64, 128] and results["iterations"] == 15
    assert curve["physical_batch_size"] == [32, 64, 64] and curve["accumulation_steps"] == [1, 1, 2]  # 128 = 2 x 64
    assert all(math.isfinite(v) and v > 0 for v in curve["val_loss"])
    b_min, b_max = results["b_min"], results["b_max"]
    assert b_min in curve["batch_size"] and b_max in curve["batch_size"] and b_min <= b_max
    assert results["lr"] == 0.01


@pytest.mark.slow
@pytest.mark.real_fashion_mnist
def test_cyclical_batch_trace_covers_each_epoch_and_resume_replays_it(tmp_path, monkeypatch):
    full, cut = tmp_path / "full", tmp_path / "cut"
    argv = ["cyclical-batch", "--b-min", "32", "--b-max", "128", "--step-epochs", "0.5", "--epochs", "2", "--lr", "0.02", *TINY]
    assert main([*argv, "--out", str(full)]) == 0
    assert {"curves.png", "batch_size_trace.png", "results.md", "history.csv", "traces.csv"} <= set(os.listdir(full))
    results = _json(full / "results.json")
    assert 0.1 < results["test_accuracy"] <= 1.0  # better than chance
    rows = [line.split(",") for line in (full / "traces.csv").read_text().splitlines()[1:]]
    for epoch in (1, 2):
        sizes = [int(r[3]) for r in rows if r[1] == str(epoch)]
        assert sum(sizes) == N_TRAIN  # every training sample once per epoch
        assert all(b & (b - 1) == 0 and b <= 128 for b in sizes)  # powers of two, never above b_max
        tail = next((i for i, b in enumerate(sizes) if b < 32), len(sizes))
        assert all(32 <= b for b in sizes[:tail])  # the trajectory stays in [b_min, b_max] ...
        assert sizes[tail:] == sorted(set(sizes[tail:]), reverse=True)  # ... the leftover is its binary digits
        assert len(sizes) == results["steps_per_epoch"][epoch - 1]
    assert {32, 64, 128} <= set(results["batch_sizes_used"])  # the cycle reaches both bounds
    assert results["samples_per_epoch"] == [N_TRAIN, N_TRAIN]

    import training.runs as runs

    save = runs.RunDir.save_checkpoint

    def save_then_interrupt(self, model, state):
        save(self, model, state)
        if state["epoch"] == 1:
            raise KeyboardInterrupt

    monkeypatch.setattr(runs.RunDir, "save_checkpoint", save_then_interrupt)
    assert main([*argv, "--out", str(cut)]) == 130
    monkeypatch.setattr(runs.RunDir, "save_checkpoint", save)
    assert main(["resume", str(cut), "--quiet"]) == 0
    assert (cut / "traces.csv").read_text() == (full / "traces.csv").read_text()
    assert _json(cut / "results.json")["batch_sizes_used"] == results["batch_sizes_used"]


def test_cyclical_batch_sizes_are_a_pure_function_of_the_epoch():
    config = {"b_min": 128, "b_max": 2048, "step_epochs": 4.0, "mode": "exponential"}
    first = cbs_policy(config, 54000)
    later = cbs_policy(config, 54000)  # a resumed process: a fresh policy asked for epoch 5 directly
    in_order = [first.epoch_sizes(54000, e) for e in range(6)]  # an uninterrupted run plans epochs 0..5 in turn
    assert later.epoch_sizes(54000, 5) == in_order[5]
    assert len({len(sizes) for sizes in in_order}) > 1  # epochs differ (where the cycle starts), yet replay exactly
    assert sum(later.epoch_sizes(54000, 5)) == 54000
    # half a cycle is about step_epochs epochs of samples: 4 * 54000 / mean(128, 256, ..., 2048 over the half cycle)
    assert 4 * 54000 / 2048 < first.step_size < 4 * 54000 / 128


@pytest.mark.parametrize(
    "argv, message",
    [
        (["batch-range", "--b-lo", "48"], "error: --b-lo must be a power of two, got 48"),
        (["batch-range", "--b-lo", "256", "--b-hi", "64"], "error: --b-lo must be <= --b-hi, got 256 and 64"),
        (["batch-range", "--max-physical-batch", "100"], "error: --max-physical-batch must be a power of two, got 100"),
        (["cyclical-batch", "--b-min", "128", "--b-max", "1000"], "error: --b-max must be a power of two, got 1000"),
        (["cyclical-batch", "--b-min", "128", "--b-max", "128"], "error: --b-min must be < --b-max, got 128 and 128"),
        (["cyclical-batch", "--step-epochs", "0"], "error: --step-epochs must be positive, got 0.0"),
        (["lr-range", "--start-lr", "1", "--end-lr", "0.1"], "error: need 0 < --start-lr < --end-lr, got 1.0 and 0.1"),
        (["lr-range", "--grid", "--grid-points", "1"], "error: --grid-points must be at least 2, got 1"),
    ],
)
def test_bad_options_exit_2_with_one_line_and_no_run_directory(tmp_path, argv, message, capsys):
    out = tmp_path / "run"
    assert main([*argv, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(message), err
    assert err.count("\n") == 1 and not out.exists()
