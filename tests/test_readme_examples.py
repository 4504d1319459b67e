"""The README's examples run as written (issue 28): every ``$ `` line of README.md is executed by
bash, verbatim, in a fresh working directory.

The lines are read from README.md when the tests are collected, so the tests follow every edit
of the README; a line this module cannot prepare for fails with the reason. ``cnncalc`` and
``cnntrain`` are this checkout's (a shim on PATH runs ``python -m cnncalc.cli`` /
``python -m training.cli`` with this interpreter), whatever is installed.

What a line needs that the README leaves to the reader is provided, and only that:

- a user's model file it names (``my_model.keras``, ``resnet18.onnx``) is written first: a small
  Keras CNN, and ResNet-18 exported by ``torch.onnx.export`` (:data:`USER_FILES`);
- ``cnntrain resume runs/clr/2026-11-23_101500``: the date is the README's placeholder for the
  directory its ``cnntrain clr`` line made, so it becomes that directory. To make the resume a
  real one, the ``clr`` line is stopped (SIGTERM, as a user's Ctrl-C or a scheduler would) once its
  first epoch is checkpointed; ``resume`` must then finish it.

The lines run in a user's environment: ``TF_CPP_MIN_LOG_LEVEL`` is not set (the test session
sets it for its own process), and no line may show TensorFlow's native log lines on stderr.

The ``cnntrain`` lines train on Debian's Fashion-MNIST with ``--preset quick`` verbatim (about 70 s
of CPU on two cores: ``policies`` alone about 50 s, ``clr`` 11 s), so they form one slow test; it
is also the suite's one run of ``clr --preset quick`` and of ``policies --preset quick``, and checks
what those presets promise (:data:`QUICK_PROMISES`; ``tests/training/test_quick_presets.py`` runs
the other quick presets).
The ``cnncalc`` lines that build Keras models (``--check-keras``, ``keras:NAME``) or need
ResNet-18 exported by torch are slow as well.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
README = os.path.join(ROOT, "README.md")


def readme_lines() -> list[str]:
    """The commands of the README's ``$ `` lines (inside fenced blocks), in order."""
    lines, fenced = [], False
    with open(README, encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("```"):
                fenced = not fenced
            elif fenced and line.startswith("$ "):
                lines.append(line[2:].rstrip("\n"))
    return lines


def words(line: str) -> list[str]:
    """The shell words of a line, its ``# comment`` dropped."""
    return shlex.split(line, comments=True)


CNNCALC = [line for line in readme_lines() if words(line)[0] == "cnncalc"]
CNNTRAIN = [line for line in readme_lines() if words(line)[0] == "cnntrain"]


def _keras_model(path):
    import keras

    model = keras.Sequential([
        keras.Input((32, 32, 3)),
        keras.layers.Conv2D(16, 3, activation="relu"),
        keras.layers.MaxPooling2D(),
        keras.layers.Conv2D(32, 3, activation="relu"),
        keras.layers.GlobalAveragePooling2D(),
        keras.layers.Dense(10, activation="softmax"),
    ], name="my_model")  # fmt: skip
    model.save(path)


def _resnet18_onnx(path):
    """torchvision's ResNet-18 (He et al. 2016: basic blocks 2-2-2-2), exported with torch's defaults."""
    torch = pytest.importorskip("torch", reason="needs torch to write resnet18.onnx (pip install torch==2.13.0; CI installs it)")
    nn = torch.nn

    class Block(nn.Module):
        def __init__(self, c_in, c_out, stride):
            super().__init__()
            self.conv1, self.bn1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False), nn.BatchNorm2d(c_out)
            self.conv2, self.bn2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False), nn.BatchNorm2d(c_out)
            self.downsample = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out)) if stride != 1 or c_in != c_out else None

        def forward(self, x):
            y = self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x)))))
            return torch.relu(y + (x if self.downsample is None else self.downsample(x)))

    layers = [nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(3, 2, 1)]
    for c_in, c_out, stride in ((64, 64, 1), (64, 128, 2), (128, 256, 2), (256, 512, 2)):
        layers += [Block(c_in, c_out, stride), Block(c_out, c_out, 1)]
    model = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, 1000)).eval()
    torch.onnx.export(model, (torch.randn(1, 3, 224, 224),), path, dynamo=False)


# The files README lines name as the reader's own, and how this test writes each.
USER_FILES = {"my_model.keras": _keras_model, "resnet18.onnx": _resnet18_onnx}


def _shims(folder) -> dict:
    """An environment whose ``cnncalc``/``cnntrain`` are this checkout's, run by this interpreter."""
    bin_dir = folder / "bin"
    bin_dir.mkdir(exist_ok=True)
    for name, module in (("cnncalc", "cnncalc.cli"), ("cnntrain", "training.cli")):
        shim = bin_dir / name
        shim.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -m {module} "$@"\n')
        shim.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}  # as a user's shell has it
    return {**env, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""),
            "MPLBACKEND": "Agg"}  # fmt: skip


def bash(line: str, cwd, env, timeout=600, **popen) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-c", line], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, **popen)


# TensorFlow's native log lines (absl, oneDNN, cpu_feature_guard), which cnncalc and cnntrain keep
# off the terminal unless --verbose (issue 28).
NATIVE_LOG = re.compile(r"^([IWEF]\d{4} |WARNING: All log messages)|oneDNN|cpu_feature_guard", re.MULTILINE)


def succeeded(proc, line: str) -> None:
    assert proc.returncode == 0, f"$ {line}\nexit {proc.returncode}\n{proc.stderr[-3000:]}"
    assert "Traceback" not in proc.stderr and not any(e.startswith("error:") for e in proc.stderr.splitlines()), proc.stderr[-3000:]
    assert not NATIVE_LOG.search(proc.stderr), f"$ {line}\nTensorFlow's log reached the terminal:\n{proc.stderr[-3000:]}"


def _needs(line: str) -> list:
    """The marks of a cnncalc line: Keras builds, torch's export and matplotlib's import are slow, a
    .keras file needs Keras to be written."""
    marks = []
    if "--check-keras" in line or "keras:" in line or "--via-keras" in line:
        marks += [pytest.mark.keras, pytest.mark.slow]
    if any(w.endswith(".keras") for w in words(line)):
        marks.append(pytest.mark.keras)
    if any(w.endswith(".onnx") for w in words(line)):
        marks.append(pytest.mark.slow)  # exporting ResNet-18 with torch takes several seconds
    if "--plot" in line:
        marks.append(pytest.mark.slow)  # the child process imports matplotlib (about 1 s of CPU)
    return marks


def test_the_readme_has_examples_of_both_tools():
    assert len(CNNCALC) >= 10 and len(CNNTRAIN) >= 3, (CNNCALC, CNNTRAIN)
    # tests/test_cli.py leaves the quiet half of issue 28's TensorFlow-log check to this line
    assert "cnncalc vgg19 --check-keras" in [" ".join(words(line)) for line in CNNCALC]


@pytest.mark.parametrize("line", [pytest.param(line, marks=_needs(line), id=" ".join(words(line))[:60]) for line in CNNCALC])
def test_a_cnncalc_line_runs_as_written(line, tmp_path):
    env = _shims(tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    for word in words(line):
        if re.search(r"\.(keras|onnx|h5)$", word) and not word.startswith("keras:"):
            assert word in USER_FILES, f"the README line '{line}' names '{word}': add how to write it to USER_FILES"
            USER_FILES[word](str(work / word))
    proc = bash(line, work, env)
    succeeded(proc, line)
    written = [w for i, w in enumerate(words(line)) if i and words(line)[i - 1] in ("--html", "--plot", "-o", "--out")]
    for name in written:
        assert (work / name).is_file() and (work / name).stat().st_size > 1000, name
    # stderr holds only cnncalc's own lines (issue 28: for `cnncalc vgg19 --check-keras` too, whose
    # TensorFlow would otherwise write its absl/oneDNN notices there)
    assert [e for e in proc.stderr.splitlines() if not e.startswith("wrote ")] == [], proc.stderr[-3000:]
    assert written or proc.stdout.strip(), f"$ {line} printed nothing"


@pytest.mark.slow
@pytest.mark.keras
@pytest.mark.real_fashion_mnist
def test_the_cnntrain_lines_run_in_order(tmp_path):
    """The README's training session: each line as written, in order, in one working directory."""
    env = _shims(tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    made: dict[str, str] = {}  # experiment -> the run directory its line made
    for line in CNNTRAIN:
        argv = words(line)
        if argv[1] == "resume" and not (work / argv[2]).exists():
            placeholder = argv[2]
            experiment = placeholder.split("/")[1]
            assert experiment in made, f"'{line}': no earlier README line made a {experiment} run to resume"
            line = line.replace(placeholder, made[experiment])
            proc = bash(line, work, env)
            succeeded(proc, line)
            run = work / made[experiment]
            assert json.loads((run / "status.json").read_text())["state"] == "finished"
            history = (run / "history.csv").read_text().splitlines()
            assert len(history) == 1 + json.loads((run / "config.json").read_text())["epochs"]
            continue
        if argv[1] in ("report", "resume", "data"):
            proc = bash(line, work, env)
            succeeded(proc, line)
            if argv[1] == "report":
                labels = [r.split("|")[1].strip() for r in proc.stdout.splitlines()[2:] if r.startswith("| ")]
                assert {label.split("/")[0] for label in labels} == {out.split("/")[1] for out in made.values()}, proc.stdout  # clr, p2
                if "--html" in argv:
                    page = argv[argv.index("--html") + 1]
                    assert f"wrote {page} (" in proc.stderr and (work / page).stat().st_size > 10_000
            continue
        # An experiment: the first one is stopped after its first checkpoint, for the resume line.
        before = {str(p.relative_to(work)) for p in (work / "runs").glob("*/*")} if (work / "runs").exists() else set()
        stop_early = argv[1] not in made and any(words(later)[1] == "resume" and argv[1] in later for later in CNNTRAIN)
        if stop_early:
            proc = _stopped_after_first_epoch(line, work, env)
        else:
            proc = bash(line, work, env)
            succeeded(proc, line)
        out = argv[argv.index("--out") + 1] if "--out" in argv else next(p for p in sorted({str(p.relative_to(work)) for p in (work / "runs").glob("*/*")} - before))
        made[argv[1]] = out
        assert (work / out / "config.json").is_file()
        assert json.loads((work / out / "status.json").read_text())["state"] == ("interrupted" if stop_early else "finished")
    for experiment, out in made.items():  # every run finished (the stopped one by the resume line)
        if experiment in QUICK_PROMISES and json.loads((work / out / "config.json").read_text())["preset"] == "quick":
            QUICK_PROMISES[experiment](work / out)


def _clr_quick(run) -> None:
    """What ``clr --preset quick`` promises (docs/experiments-finders.md): LeNet-5, 3 epochs on 4,096
    Fashion-MNIST images, half a cycle per epoch, its two figures."""
    config = json.loads((run / "config.json").read_text())
    assert (config["dataset"], config["model"]) == ("fashion_mnist", "lenet5")
    results = json.loads((run / "results.json").read_text())
    assert results["epochs"] == 3 and results["step_size"] == results["steps_per_epoch"]
    assert results["test_accuracy"] > 0.7  # about 0.80
    assert (run / "curves.png").stat().st_size > 1000 and (run / "lr_trace.png").stat().st_size > 1000


def _policies_quick(run) -> None:
    """What ``policies`` promises (docs/experiments-finders.md): results.md answers every part of
    Problem 2 from the four stages, each stage fed by the one before, every figure it shows there."""
    text = (run / "results.md").read_text()
    for heading in ("1. The data", "2. Learning-rate range", "3. Cyclical learning rate", "4. Batch-size range at lr_min",
                    "5. Cyclical batch size", "6. The two policies side by side"):  # fmt: skip
        assert f"## {heading}" in text, heading
    for figure in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text):
        assert (run / figure).stat().st_size > 1000, figure
    stage = lambda name: json.loads((run / name / "config.json").read_text())  # noqa: E731
    assert os.path.realpath(stage("2-clr")["bounds_from"]["run"]) == os.path.realpath(run / "1-lr-range")
    assert os.path.realpath(stage("4-cyclical-batch")["bounds_from"]["run"]) == os.path.realpath(run / "3-batch-range")
    summary = json.loads((run / "results.json").read_text())
    a, b = summary["clr"]["test_accuracy"], summary["cyclical_batch"]["test_accuracy"]
    assert summary["winner"] == ("tie" if a == b else "clr" if a > b else "cyclical-batch")


# The quick presets' promises, checked on the README's own runs: the suite runs each of these
# presets once, here (tests/training/test_quick_presets.py has the others).
QUICK_PROMISES = {"clr": _clr_quick, "policies": _policies_quick}


def _stopped_after_first_epoch(line: str, work, env) -> subprocess.CompletedProcess:
    """Run ``line``; SIGTERM it once its first checkpoint is published (the run is then
    ``interrupted`` with one epoch saved, exit 143)."""
    proc = subprocess.Popen(["bash", "-c", line], cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        if any((work / "runs").glob("*/*/checkpoint/latest.json")):
            os.killpg(proc.pid, signal.SIGTERM)
            break
        time.sleep(0.02)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, f"$ {line}\nexit {proc.returncode}\n{err[-3000:]}"
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
