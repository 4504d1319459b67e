"""``cnntrain``: the CLR experiment end to end on real Fashion-MNIST, resume, report, data, errors."""

import json
import os
import subprocess
import sys

import pytest

from training.cli import main

pytestmark = pytest.mark.keras
keras = pytest.importorskip("keras", reason="needs TensorFlow/Keras: pip install -e '.[dev]'")

TINY = ["--subset", "640", "--test-subset", "256", "--batch-size", "64", "--quiet"]
# One small CLR run on real Fashion-MNIST serves two tests: its files and report, and the
# uninterrupted reference a killed-and-resumed run must equal.
CLR = ["clr", "--preset", "quick", "--epochs", "3", "--mode", "triangular2", *TINY]


@pytest.fixture(scope="module")
def clr_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("clr") / "run"
    assert main([*CLR, "--out", str(out)]) == 0
    return out


@pytest.mark.slow
@pytest.mark.real_fashion_mnist
def test_clr_quick_on_real_fashion_mnist_then_report(clr_run, tmp_path, capsys):
    out = clr_run
    files = set(os.listdir(out))
    assert {"config.json", "history.csv", "traces.csv", "metrics.json", "results.json", "curves.png", "lr_trace.png", "checkpoint"} <= files
    config = json.loads((out / "config.json").read_text())
    assert config["experiment"] == "clr" and config["mode"] == "triangular2" and config["epochs"] == 3
    assert config["model"] == "lenet5" and "keras" in config["versions"]
    results = json.loads((out / "results.json").read_text())
    assert results["epochs"] == 3 and results["steps_per_epoch"] == 9  # 576 training images / 64
    assert 0.1 < results["test_accuracy"] <= 1.0  # better than chance after 3 small epochs
    rates = [float(line.split(",")[2]) for line in (out / "traces.csv").read_text().splitlines()[1:]]
    # triangular2, half a cycle (9 steps) per epoch: up to lr_max at step 9, down to lr_min at step
    # 18, then up at half the amplitude (its last step, 26, is 8/9 of the way)
    assert len(rates) == 27 and max(rates) == pytest.approx(0.1, rel=1e-3) and min(rates) == pytest.approx(1e-4, rel=1e-2)
    assert rates[9] == max(rates) and max(rates[18:]) == pytest.approx(1e-4 + (0.1 - 1e-4) / 2 * 8 / 9, rel=1e-3)
    capsys.readouterr()
    assert main(["report", str(out), "--out", str(tmp_path / "report")]) == 0
    table = capsys.readouterr().out
    assert "| clr " in table and "lenet5" in table
    assert (tmp_path / "report" / "report.md").exists() and (tmp_path / "report" / "val_loss.png").exists()
    # What a shell glob (runs/*) also finds: a log file and a directory that is no run are skipped.
    (tmp_path / "notes.log").write_text("x")
    (tmp_path / "data").mkdir()
    assert main(["report", str(tmp_path / "notes.log"), str(tmp_path / "data"), str(out)]) == 0
    captured = capsys.readouterr()
    assert "| clr " in captured.out and f"skipping '{tmp_path / 'data'}': not a run directory" in captured.err


@pytest.mark.slow
@pytest.mark.real_fashion_mnist
def test_resume_after_interrupt_continues_to_the_same_history(clr_run, tmp_path):
    """Kill a quick run after epoch 1 (a real SIGKILL of the process), resume, compare with the
    same run uninterrupted."""
    full, cut = clr_run, tmp_path / "cut"
    args = CLR

    # A child process that trains and kills itself hard once epoch 1 is checkpointed.
    script = (
        "import os, signal, sys\n"
        "import training.runs as runs\n"
        "save = runs.RunDir.save_checkpoint\n"
        "def save_then_die(self, model, state):\n"
        "    save(self, model, state)\n"
        "    if state['epoch'] == 1: os.kill(os.getpid(), signal.SIGKILL)\n"
        "runs.RunDir.save_checkpoint = save_then_die\n"
        "from training.cli import main\n"
        f"sys.exit(main({[*args, '--out', str(cut)]!r}))\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert proc.returncode == -9
    assert json.loads((cut / "checkpoint" / "latest.json").read_text())["epoch"] == 1

    assert main(["resume", str(cut), "--quiet"]) == 0
    strip = lambda p: [line.split(",")[:8] for line in (p / "history.csv").read_text().splitlines()]  # noqa: E731 - drop times
    assert strip(cut) == strip(full)
    assert (cut / "traces.csv").read_text() == (full / "traces.csv").read_text()
    assert main(["resume", str(cut)]) == 0  # finished: says so, exits 0


@pytest.mark.slow
@pytest.mark.real_fashion_mnist
def test_data_summary_and_samples(tmp_path, capsys):
    assert main(["data", "fashion_mnist", "--summary", "--samples", "2", "--out", str(tmp_path)]) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    # The split every experiment trains on: 10% of the 60,000 training images held out (seed 0).
    sizes = {split: summary["splits"][split]["size"] for split in ("train", "val", "test")}
    assert sizes == {"train": 54000, "val": 6000, "test": 10000}
    assert sum(summary["splits"]["val"]["per_class"].values()) == 6000
    assert (tmp_path / "samples.png").stat().st_size > 1000
    out = capsys.readouterr().out
    assert "training 54000, validation 6000, test 10000" in out and "Ankle boot" in out


@pytest.mark.slow
@pytest.mark.real_fashion_mnist
def test_numpy_net_on_real_data(tmp_path):
    out = tmp_path / "np"
    assert main(["numpy-net", "--dataset", "fashion_mnist", "--subset", "3000", "--num-iters", "150", "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["test_accuracy"] > 0.5
    assert (out / "history.csv").exists() and json.loads((out / "status.json").read_text())["state"] == "finished"


@pytest.mark.parametrize(
    "argv, message",
    [
        (["clr", "--epochs", "0"], "error: --epochs must be positive, got 0"),
        (["clr", "--lr-min", "x"], "error: argument --lr-min: invalid float value: 'x'"),
        (["clr", "--dataset", "mnist"], "error: argument --dataset: invalid choice: 'mnist'"),
        (["nosuch"], "error: argument COMMAND: invalid choice: 'nosuch'"),
        (["data"], "error: the following arguments are required: dataset (choose from 'fashion_mnist', 'cifar10')"),
        ([], "error: the following arguments are required: COMMAND (choose from 'data', 'resume', 'report', "),
        (["resume", "/nonexistent/run"], "error: '/nonexistent/run' is not a run directory (no config.json)"),
        (["report", "/nonexistent/run"], "error: '/nonexistent/run' is not a run directory (no config.json)"),
        (["data", "cifar10", "--data-dir", "/nonexistent/dir"], "error: "),
    ],
)
def test_bad_input_is_one_line_and_exit_2(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(message), err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_existing_run_directory_is_refused(tmp_path, capsys):
    (tmp_path / "config.json").write_text("{}")
    assert main(["clr", "--out", str(tmp_path)]) == 2
    assert "already holds a run" in capsys.readouterr().err


def test_every_experiment_has_quick_and_paper_presets():
    from training.experiments import load_recipes

    recipes = load_recipes()
    assert "clr" in recipes
    for exp in recipes.values():
        assert {"quick", "paper"} <= set(exp.presets), exp.name


def test_missing_keras_is_a_usage_error_before_any_run_directory(tmp_path, monkeypatch, capsys):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name in ("keras", "matplotlib") else real(name, *a))
    out = tmp_path / "run"
    assert main(["clr", "--preset", "quick", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "error: cnntrain clr needs keras and matplotlib (not installed): pip install 'cnncalc[keras,plots]'"
    assert not out.exists()
    assert main(["data", "fashion_mnist", "--samples", "2", "--data-dir", str(tmp_path)]) == 2
    assert "cnntrain data --samples needs matplotlib (not installed): pip install 'cnncalc[plots]'" in capsys.readouterr().err
