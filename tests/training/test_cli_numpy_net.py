"""``cnntrain numpy-net``: an ordinary registered experiment, on a tiny CIFAR-10 in the original
pickle format; its run directory names experiment and dataset, report shows them, resume works,
and none of it needs Keras (or, for resume, matplotlib)."""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.training.test_data import cifar_files, write_cifar_dir
from training.cli import main
from training.experiments import load_recipes

ROOT = Path(__file__).resolve().parents[2]
TINY = ["--batch-size", "10", "--num-iters", "20", "--hidden-size", "8", "--lr", "1e-4"]


def cnntrain(*argv, block=()):
    """``cnntrain ARGV`` in a fresh process; ``block``: modules made to look uninstalled there.

    Prints, last, which of keras/tensorflow the process imported.
    """
    code = (
        "import sys\n"
        f"for name in {list(block)!r}: sys.modules[name] = None\n"
        "from training.cli import main\n"
        "code = main(sys.argv[1:])\n"
        "print(sorted(m for m in ('keras', 'tensorflow') if sys.modules.get(m) is not None))\n"
        "sys.exit(code)\n"
    )
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, cwd=ROOT, env=env)


@pytest.fixture
def tiny_cifar(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras-home"))  # no Keras cache, no download
    return write_cifar_dir(tmp_path / "cifar", cifar_files(n=20))


def test_numpy_net_is_registered_like_the_keras_experiments():
    exp = load_recipes()["numpy-net"]
    assert {"quick", "paper"} <= set(exp.presets) and exp.requires == {}
    assert "numpy" not in (ROOT / "training" / "cli.py").read_text()  # no special case left in the CLI


@pytest.mark.slow
def test_run_report_and_resume_without_keras(tiny_cifar, tmp_path):
    out = tmp_path / "np"
    done = cnntrain("numpy-net", "--data-dir", str(tiny_cifar), *TINY, "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "[]"  # neither keras nor tensorflow imported
    assert "test_accuracy" in done.stderr and f"done: {out}" in done.stderr

    config = json.loads((out / "config.json").read_text())
    assert config["experiment"] == "numpy-net" and config["dataset"] == "cifar10" and config["preset"] == "quick"
    assert config["hyperparameters"]["num_iters"] == 20 and config["hyperparameters"]["learning_rate"] == 1e-4
    assert config["overrides"] == {"hidden_size": 8, "learning_rate": 1e-4, "num_iters": 20, "batch_size": 10}
    assert "versions" in config and config["sizes"] == {"train": 90, "val": 10, "test": 20}
    metrics = json.loads((out / "metrics.json").read_text())
    assert json.loads((out / "results.json").read_text()) == metrics
    plots = {"history.png", "first_layer_weights.png"} if importlib.util.find_spec("matplotlib") else set()
    assert {"history.csv", "loss_history.csv", "status.json", *plots} <= set(os.listdir(out))

    report = cnntrain("report", str(out), block=("keras", "tensorflow"))
    assert report.returncode == 0, report.stderr
    row = next(line for line in report.stdout.splitlines() if line.startswith("| np "))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[1] == "numpy-net" and cells[3] == "cifar10" and cells[-1] == "finished"

    # An interrupted run resumes (the net retrains from the stored config), with neither Keras nor matplotlib.
    status = json.loads((out / "status.json").read_text())
    (out / "status.json").write_text(json.dumps({**status, "state": "interrupted"}))
    resumed = cnntrain("resume", str(out), block=("keras", "tensorflow", "matplotlib"))
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads((out / "status.json").read_text())["state"] == "finished"
    again = json.loads((out / "metrics.json").read_text())
    drop = lambda m: {k: v for k, v in m.items() if "seconds" not in k and k != "plots"}  # noqa: E731
    assert drop(again) == drop(metrics)
    assert json.loads((out / "config.json").read_text())["experiment"] == "numpy-net"
    assert cnntrain("resume", str(out)).returncode == 0  # finished: says so, exits 0


def test_bad_options_are_one_line_errors_before_any_run_directory(tiny_cifar, tmp_path, capsys):
    out = tmp_path / "bad"
    assert main(["numpy-net", "--data-dir", str(tiny_cifar), "--hidden-size", "0", "--out", str(out)]) == 2
    assert capsys.readouterr().err == "error: --hidden-size must be positive, got 0\n"
    assert main(["numpy-net", "--lr", "-1", "--out", str(out)]) == 2
    assert capsys.readouterr().err == "error: --lr must be positive, got -1.0\n"
    assert main(["numpy-net", "--epochs", "3", "--out", str(out)]) == 2  # a Keras experiment's option
    assert "unrecognized arguments: --epochs 3" in capsys.readouterr().err
    assert not out.exists()
