"""The exercise's chain: ``--bounds-from``/``--lr-from`` read earlier runs, and ``cnntrain policies``
runs the whole of Problem 2 as one resumable run on real Fashion-MNIST, killed in the middle and resumed.
"""

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from training.cli import main
from training.experiments import load_recipes, resolve_config
from training.finders import BATCH_SIZE_FINDER_DIAGRAM

RECIPES = load_recipes()
from training.experiments.policies import batch_gamma  # noqa: E402
from training.experiments.range_tests import first_cycle_mean  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


def _fake_run(path, experiment, results=None, state="finished"):
    """A run directory as a finished (or not) experiment leaves it: config, status and results."""
    path.mkdir(parents=True)
    (path / "config.json").write_text(json.dumps({"experiment": experiment}))
    (path / "status.json").write_text(json.dumps({"state": state}))
    if results is not None:
        (path / "results.json").write_text(json.dumps(results))
    return str(path)


def test_chaining_options_take_the_values_and_record_where_from(tmp_path):
    lr = _fake_run(tmp_path / "lr", "lr-range", {"lr_min": 2e-4, "lr_max": 0.03})
    br = _fake_run(tmp_path / "br", "batch-range", {"b_min": 32, "b_max": 256, "lr": 2e-4})
    clr = resolve_config(RECIPES["clr"], "quick", {"bounds_from": lr})
    assert (clr["lr_min"], clr["lr_max"]) == (2e-4, 0.03)
    assert clr["bounds_from"] == {"run": os.path.abspath(lr), "lr_min": 2e-4, "lr_max": 0.03}
    sweep = resolve_config(RECIPES["batch-range"], "quick", {"lr_from": lr})
    assert sweep["lr"] == 2e-4 and sweep["lr_from"] == {"run": os.path.abspath(lr), "lr": 2e-4}
    cbs = resolve_config(RECIPES["cyclical-batch"], "quick", {"bounds_from": br, "mode": "exp_increase", "gamma": 0.999})
    assert (cbs["b_min"], cbs["b_max"], cbs["mode"]) == (32, 256, "exp_increase")
    assert cbs["bounds_from"] == {"run": os.path.abspath(br), "b_min": 32, "b_max": 256}


def test_chaining_errors_are_one_line_and_leave_no_run_directory(tmp_path, capsys):
    note = "the loss never falls below its starting value; widen the range or train longer"
    flat = _fake_run(tmp_path / "flat", "lr-range", {"lr_min": None, "lr_max": None, "note": note})
    br = _fake_run(tmp_path / "br", "batch-range", {"b_min": 32, "b_max": 256})
    cut = _fake_run(tmp_path / "cut", "lr-range", state="interrupted")
    good = _fake_run(tmp_path / "good", "lr-range", {"lr_min": 1e-3, "lr_max": 1e-1})
    cases = [
        (["clr", "--bounds-from", flat], f"error: --bounds-from: '{flat}' suggested no lr_min (null: {note})"),
        (["batch-range", "--lr-from", flat], f"error: --lr-from: '{flat}' suggested no lr_min (null: {note})"),
        (["clr", "--bounds-from", br], f"error: --bounds-from: '{br}' is a batch-range run, not a lr-range run"),
        (["cyclical-batch", "--bounds-from", good], f"error: --bounds-from: '{good}' is a lr-range run, not a batch-range run"),
        (["clr", "--bounds-from", cut], f"error: --bounds-from: '{cut}' has no results yet (interrupted); finish it with 'cnntrain resume {cut}'"),
        (["clr", "--bounds-from", str(tmp_path / "none")], f"error: '{tmp_path / 'none'}' is not a run directory (no config.json)"),
        (["clr", "--bounds-from", good, "--lr-min", "1e-4"], "error: give --lr-min or --bounds-from, not both"),
        (["clr", "--until-convergence", "--patience", "0"], "error: --patience must be at least 1, got 0"),
        (["cyclical-batch", "--mode", "exp_increase", "--gamma", "1.5"], "error: --gamma must lie in (0, 1], got 1.5"),
    ]
    for argv, message in cases:
        out = tmp_path / "run"
        assert main([*argv, "--out", str(out)]) == 2, argv
        err = capsys.readouterr().err
        assert err == message + "\n", err
        assert not out.exists()


@pytest.mark.real_fashion_mnist
def test_a_stage_without_bounds_stops_the_chain_with_its_note(tmp_path, capsys):
    # Stages 1-3 finished (as a resume finds them); the batch sweep suggested nothing.
    out = tmp_path / "p2"
    config = resolve_config(RECIPES["policies"], "quick", {"subset": 256, "test_subset": 64})
    out.mkdir()
    (out / "config.json").write_text(json.dumps(config))
    note = "the loss never falls below its starting value; widen the range or train longer"
    _fake_run(out / "1-lr-range", "lr-range", {"lr_min": 1e-3, "lr_max": 0.1})
    _fake_run(out / "2-clr", "clr", {"test_accuracy": 0.8})
    _fake_run(out / "3-batch-range", "batch-range", {"b_min": None, "b_max": None, "lr": 1e-3, "note": note})
    assert main(["resume", str(out), "--quiet"]) == 2
    message = f"error: stage 3-batch-range suggested no b_min/b_max ({note}); start a new run with more --iterations or a wider --b-lo/--b-hi\n"
    assert capsys.readouterr().err == message
    assert json.loads((out / "status.json").read_text())["state"] == "failed" and not (out / "4-cyclical-batch").exists()


def test_the_finder_diagram_of_results_md_is_the_documented_one():
    assert f"```mermaid\n{BATCH_SIZE_FINDER_DIAGRAM}```" in (ROOT / "docs" / "batch-size-finder.md").read_text()


def test_batch_gamma_decays_alike_per_sample_seen():
    # 32 .. 512 exponential: the half cycle visits 32, 64, 128, 256, 512 for equal numbers of steps
    # (the ends half as long): mean 2**5 .. 2**9 averaged as the probe does.
    mean_b = first_cycle_mean({"b_min": 32, "b_max": 512, "mode": "exp_increase"})
    assert 150 < mean_b < 250
    gamma = batch_gamma(0.99, 64, {"b_min": 32, "b_max": 512})
    assert gamma == pytest.approx(0.99 ** (mean_b / 64))
    # One step of mean batch mean_b sees mean_b / 64 CLR steps' samples, and decays as much as they do.
    assert gamma ** (64 / mean_b) == pytest.approx(0.99)


# The smallest chain that still answers every part: 512 images (461 training, 51 validation), a
# 3-point grid (the fewest with a fall to read bounds from), 2 epochs per policy (one decision of
# the stopping rule, and a CLR with an epoch before and after the kill), 3 batch sizes of 10 updates.
TINY = ["--subset", "512", "--test-subset", "256", "--grid-points", "3", "--start-lr", "1e-3", "--end-lr", "1", "--grid-epochs", "1",
        "--epochs", "2", "--patience", "1", "--b-lo", "16", "--b-hi", "64", "--iterations", "10", "--max-physical-batch", "64"]  # fmt: skip


@pytest.mark.slow
@pytest.mark.keras
@pytest.mark.real_fashion_mnist
def test_policies_end_to_end_killed_in_the_middle_and_resumed(tmp_path):
    pytest.importorskip("keras")
    out = tmp_path / "p2"
    # A child process (not --quiet, TensorFlow's logging at its most talkative) runs the chain and
    # kills itself with SIGKILL once the CLR stage has checkpointed its first epoch.
    script = (
        "import os, signal, sys\n"
        "import training.runs as runs\n"
        "save = runs.RunDir.save_checkpoint\n"
        "def save_then_die(self, model, state, **kw):\n"
        "    save(self, model, state, **kw)\n"
        "    if self.path.endswith('2-clr') and state['epoch'] == 1: os.kill(os.getpid(), signal.SIGKILL)\n"
        "runs.RunDir.save_checkpoint = save_then_die\n"
        "from training.cli import main\n"
        f"sys.exit(main({['policies', *TINY, '--out', str(out)]!r}))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env={**env, "TF_CPP_MIN_LOG_LEVEL": "0"})
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-3000:]
    # The terminal saw each epoch once, in our words, and none of TensorFlow's native notices.
    lines = proc.stderr.splitlines()
    assert not [line for line in lines if re.match(r"[IWEF]\d{4} |WARNING: All log messages|Epoch \d", line)], proc.stderr[-3000:]
    assert sum(line.startswith("epoch 1/1: loss ") for line in lines) == 3  # the grid's 3 rates, an epoch each
    assert sum(line.startswith("epoch 1/2: loss ") for line in lines) == 1  # the CLR's first epoch, then the kill
    assert (out / "native.log").exists()
    lr_results = out / "1-lr-range" / "results.json"
    stamp, first_epoch = lr_results.stat().st_mtime_ns, (out / "2-clr" / "history.csv").read_text()
    assert json.loads((out / "status.json").read_text())["state"] == "running"  # killed: nothing claims it finished

    assert main(["resume", str(out), "--quiet"]) == 0
    assert lr_results.stat().st_mtime_ns == stamp  # the finished stage was not redone
    assert (out / "2-clr" / "history.csv").read_text().startswith(first_epoch.splitlines()[0] + "\n" + first_epoch.splitlines()[1])
    stage = lambda name, f: json.loads((out / name / f).read_text())  # noqa: E731
    lr, clr, br, cbs = (stage(n, "results.json") for n in ("1-lr-range", "2-clr", "3-batch-range", "4-cyclical-batch"))

    # Every stage read its bounds from the one before, and says so in its config.json.
    assert stage("2-clr", "config.json")["bounds_from"] == {"run": str(out / "1-lr-range"), "lr_min": lr["lr_min"], "lr_max": lr["lr_max"]}
    assert (clr["lr_min"], clr["lr_max"], clr["mode"]) == (lr["lr_min"], lr["lr_max"], "exp_range")
    assert stage("3-batch-range", "config.json")["lr_from"] == {"run": str(out / "1-lr-range"), "lr": lr["lr_min"]}
    assert br["lr"] == lr["lr_min"] and br["curve"]["batch_size"] == [16, 32, 64] and br["iterations"] == 10
    cbs_config = stage("4-cyclical-batch", "config.json")
    assert cbs_config["bounds_from"] == {"run": str(out / "3-batch-range"), "b_min": br["b_min"], "b_max": br["b_max"]}
    assert (cbs["mode"], cbs["lr"], cbs["gamma"]) == ("exp_increase", lr["lr_min"], pytest.approx(batch_gamma(0.99, 64, br)))
    for r in (clr, cbs):  # to convergence, capped at 2 epochs; the tested weights are the best epoch's
        assert cbs_config["until_convergence"] and 1 <= r["best_epoch"] <= r["stopped_epoch"] <= 2 and 0.1 < r["test_accuracy"] <= 1

    # results.md answers every part from those runs; every figure it shows exists.
    text = (out / "results.md").read_text()
    assert "| training | 461 |\n| validation | 51 |\n| test | 256 |" in text
    for heading in ("1. The data", "2. Learning-rate range", "3. Cyclical learning rate", "4. Batch-size range at lr_min",
                    "The automatic batch-size finder", "5. Cyclical batch size", "6. The two policies side by side"):  # fmt: skip
        assert f"## {heading}" in text or f"### {heading}" in text, heading
    assert BATCH_SIZE_FINDER_DIAGRAM in text
    assert f"**lr_min = {lr['lr_min']:.4g}, lr_max = {lr['lr_max']:.4g}**" in text and f"**b_min = {br['b_min']}, b_max = {br['b_max']}**" in text
    for figure in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text):
        assert (out / figure).stat().st_size > 1000, figure
    results = json.loads((out / "results.json").read_text())
    a, b = clr["test_accuracy"], cbs["test_accuracy"]
    assert results["winner"] == ("tie" if a == b else "clr" if a > b else "cyclical-batch")
    assert results["data"]["train"] == 461 and results["clr"]["test_accuracy"] == a
