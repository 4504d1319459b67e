"""Fault injection: runs are killed, terminated, locked, starved of disk and fed corrupt state, and
each time end in a correct, complete run or one ``error:`` line naming the cause (issue 16).

The faults are real: ``kill -9`` and SIGTERM of a child process at a chosen moment (the child
signals itself from a hook, so the moment is exact, not a race), a lock held by another process,
a tmpfs that fills up (in a private mount namespace, where ``unshare`` allows one), files
overwritten with garbage, and no network for a download. The data is a tiny Fashion-MNIST-format
set written here (idx files), so the Keras runs take seconds. docs/training.md has the table of
what each fault does to a run.
"""

import gzip
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from training.cli import main
from training.runs import RunDir

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ENV = {**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""), "TF_CPP_MIN_LOG_LEVEL": "3"}


def write_idx(path, array):
    """An idx file (magic 0x0803 images / 0x0801 labels, big-endian sizes), gzipped."""
    header = bytes([0, 0, 8, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    with gzip.open(path, "wb") as fh:
        fh.write(header + array.astype(np.uint8).tobytes())


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    """200 training and 60 test images in the original Fashion-MNIST file format."""
    directory = tmp_path_factory.mktemp("fashion-mnist")
    rng = np.random.default_rng(0)
    for split, n in (("train", 200), ("t10k", 60)):
        labels = np.arange(n) % 10
        images = rng.integers(0, 60, size=(n, 28, 28)) + (labels[:, None, None] * 20)
        write_idx(directory / f"{split}-images-idx3-ubyte.gz", images)
        write_idx(directory / f"{split}-labels-idx1-ubyte.gz", labels)
    return str(directory)


def tiny(data_dir, epochs=2):
    return ["clr", "--data-dir", data_dir, "--epochs", str(epochs), "--batch-size", "60", "--subset", "200", "--test-subset", "60", "--quiet"]


def child(argv, hook: str):
    """Run ``cnntrain ARGV`` in a child process with ``hook`` (Python) run first; the hook wraps a
    function so that the child signals itself at the chosen moment."""
    script = "import os, signal, sys\n" + textwrap.dedent(hook) + f"\nfrom training.cli import main\nsys.exit(main({argv!r}))\n"
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=ENV, timeout=300)


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def state(path) -> dict:
    return json.loads((path / "status.json").read_text())


# -- kill -9 during the final evaluation: resume completes the run ---------------------------------


@pytest.fixture(scope="module")
def finished(tmp_path_factory, data_dir):
    """A run killed (SIGKILL) inside its final test evaluation, then resumed to completion.

    Made once for the module (a child process that loads TensorFlow and trains: about 6 s of CPU),
    so every test that uses it is ``slow``."""
    out = tmp_path_factory.mktemp("runs") / "r1"
    proc = child([*tiny(data_dir), "--out", str(out)], """
        import training.runs.loop as loop
        evaluate = loop._metrics  # after the last checkpoint: the final metrics and test evaluation
        def evaluate_and_die(model, plan, history):
            evaluate(model, plan, history)
            os.kill(os.getpid(), signal.SIGKILL)
        loop._metrics = evaluate_and_die
    """)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    assert json.loads((out / "checkpoint" / "latest.json").read_text())["epoch"] == 2
    assert not (out / "metrics.json").exists() and state(out)["state"] == "running"
    assert main(["resume", str(out)]) == 0
    return out


@pytest.mark.slow
def test_a_kill_during_the_final_evaluation_is_completed_by_resume(finished):
    metrics = json.loads((finished / "metrics.json").read_text())
    assert metrics["epochs"] == 2 and 0 <= metrics["test_accuracy"] <= 1
    assert {"results.json", "curves.png", "lr_trace.png"} <= set(os.listdir(finished))
    assert state(finished)["state"] == "finished"
    assert json.loads((finished / "results.json").read_text())["test_accuracy"] == metrics["test_accuracy"]


def unfinished_copy(run, tmp_path, name="copy"):
    """A copy of ``run`` as a kill before its end leaves it: no results, status running."""
    copy = tmp_path / name
    shutil.copytree(run, copy)
    (copy / "results.json").unlink()
    RunDir(copy).set_status("running")
    return copy


@pytest.mark.slow
def test_a_finished_status_without_results_is_resumed_not_believed(finished, tmp_path):
    copy = unfinished_copy(finished, tmp_path)
    RunDir(copy).set_status("finished")  # the loop marked it; the experiment's results never came
    assert main(["resume", str(copy)]) == 0
    assert (copy / "results.json").exists() and state(copy)["state"] == "finished"


@pytest.mark.slow
@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda p: (p / "history.csv").unlink(), "history.csv' is missing, but the checkpoint is at epoch 2"),
        (lambda p: (p / "history.csv").write_text((p / "history.csv").read_text().splitlines()[0] + "\n"), "history.csv' holds 0 of those epochs"),
        (lambda p: (p / "traces.csv").unlink(), "traces.csv' is missing, but the checkpoint is at step"),
        (lambda p: (p / "checkpoint" / "latest.json").write_text(json.dumps({**json.loads((p / "checkpoint" / "latest.json").read_text()), "epoch": 9})), "latest.json': names epoch 9, but the run has 2 epochs"),
    ],
    ids=["history-deleted", "history-truncated", "traces-deleted", "epoch-past-the-end"],
)
def test_an_inconsistent_run_is_named_never_finished(finished, tmp_path, capsys, damage, message):
    copy = unfinished_copy(finished, tmp_path)
    (copy / "metrics.json").unlink()
    damage(copy)
    assert main(["resume", str(copy)]) == 2
    assert message in one_error_line(capsys)
    assert state(copy)["state"] == "failed" and not (copy / "metrics.json").exists()


# -- corrupt state files: one line naming the file; report goes on --------------------------------

CORRUPT = {
    "status-garbage": ("status.json", "\x00\x01garbage", "status.json': not valid JSON"),
    "status-list": ("status.json", "[1, 2]", "status.json': holds a JSON list, expected an object"),
    "status-unknown-state": ("status.json", '{"state": "sleeping"}', "status.json': unknown state 'sleeping'"),
    "config-garbage": ("config.json", "{not json", "config.json': not valid JSON"),
    "config-list": ("config.json", "[]", "config.json': holds a JSON list, expected an object"),
    "latest-without-dir": ("checkpoint/latest.json", '{"epoch": 2, "step": 6, "wall_seconds": 1.0}', "latest.json': no 'dir' field"),
    "latest-bad-dir": ("checkpoint/latest.json", '{"dir": "../../etc", "epoch": 2, "step": 6, "wall_seconds": 1.0}', "latest.json': 'dir' is '../../etc'"),
    "metrics-garbage": ("metrics.json", "nan nan", "metrics.json': not valid JSON"),
    "history-ragged": ("history.csv", "epoch,loss\n1,0.5,7\n", "history.csv': line 2 has 3 fields, expected 2"),
    "history-binary": ("history.csv", "\xff\xfe\x00", "history.csv': "),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CORRUPT))
def test_a_corrupt_state_file_is_named_by_resume_and_listed_by_report(finished, tmp_path, capsys, name):
    target, content, message = CORRUPT[name]
    copy = unfinished_copy(finished, tmp_path, "bad")
    (copy / target).write_bytes(content.encode("latin-1"))
    assert main(["resume", str(copy)]) == 2
    assert message in one_error_line(capsys)

    assert main(["report", str(finished), str(copy)]) == 0
    out = capsys.readouterr().out
    assert "| r1 " in out and "| finished" in out  # the good run is reported
    if target not in ("checkpoint/latest.json",):  # report reads no checkpoint
        assert f"- `{copy}`: " in out and message in out


@pytest.mark.slow
def test_report_lists_a_run_that_failed_before_training(finished, tmp_path, capsys):
    failed = tmp_path / "failed"
    RunDir(failed).create({"experiment": "clr", "model": "lenet5", "dataset": "fashion_mnist"})
    RunDir(failed).set_status("failed", reason="no data")
    assert main(["report", str(finished), str(failed)]) == 0
    assert "| failed " in capsys.readouterr().out


# -- one process per run directory ---------------------------------------------------------------


@pytest.mark.slow
def test_a_second_process_is_refused_until_the_holder_dies(finished, capsys):
    holder = subprocess.Popen(
        [sys.executable, "-c", f"import sys, time\nfrom training.runs import RunDir\nwith RunDir({str(finished)!r}).locked():\n    print('locked', flush=True)\n    time.sleep(120)\n"],
        stdout=subprocess.PIPE, text=True, env=ENV,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "locked"
        assert main(["resume", str(finished)]) == 2
        assert f"is in use by process {holder.pid}" in one_error_line(capsys)
    finally:
        holder.kill()  # SIGKILL: the kernel releases the lock, no clean-up runs
        holder.wait()
    assert main(["resume", str(finished)]) == 0
    assert "already finished" in capsys.readouterr().err


# -- SIGTERM: interrupted, exit 143, resumable ----------------------------------------------------


@pytest.mark.slow
def test_sigterm_marks_the_run_interrupted_and_resume_finishes_it(data_dir, tmp_path, monkeypatch, capsys):
    """A real SIGTERM to this process once epoch 1 is checkpointed (main() installs the handler)."""
    save = RunDir.save_checkpoint

    def save_then_terminate(self, model, state):
        save(self, model, state)
        if state["epoch"] == 1:
            os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(RunDir, "save_checkpoint", save_then_terminate)
    before = signal.getsignal(signal.SIGTERM)
    out = tmp_path / "term"
    assert main([*tiny(data_dir), "--out", str(out)]) == 143
    assert one_error_line(capsys).startswith("error: terminated (SIGTERM); the last completed epoch is saved")
    status = state(out)
    assert status["state"] == "interrupted" and status["completed_epochs"] == 1  # the loop's details kept
    assert signal.getsignal(signal.SIGTERM) == before  # main() put the handler back
    monkeypatch.setattr(RunDir, "save_checkpoint", save)
    assert main(["resume", str(out)]) == 0
    assert [r["epoch"] for r in RunDir(out).history()] == [1, 2] and (out / "metrics.json").exists()


# -- a full disk: failed, with the path -----------------------------------------------------------


def test_a_full_disk_marks_the_run_failed_naming_the_file(data_dir, tmp_path):
    if shutil.which("unshare") is None:
        pytest.skip("needs unshare (util-linux) for a private tmpfs")
    disk = tmp_path / "disk"
    disk.mkdir()
    script = (
        f"mount -t tmpfs -o size=16k tmpfs {disk} || exit 77\n"
        f"{sys.executable} -m training.cli numpy-net --dataset fashion_mnist --data-dir {data_dir} --subset 200 --num-iters 20 --out {disk}/run\n"
        f"echo rc=$?\ncat {disk}/run/status.json\n"
    )
    proc = subprocess.run(["unshare", "-rm", "sh", "-c", script], capture_output=True, text=True, env=ENV, timeout=300)
    if proc.returncode == 77 or "rc=" not in proc.stdout:
        pytest.skip(f"cannot mount a private tmpfs here ({proc.stderr.strip()[:100]})")
    assert "rc=2" in proc.stdout, proc.stdout + proc.stderr
    error = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(error) == 1 and "[Errno 28] No space left on device: " in error[0] and str(disk) in error[0], proc.stderr
    status = json.loads(proc.stdout.split("\n", 1)[1])
    assert status["state"] == "failed" and str(disk) in status["reason"]


# -- validate before creating; restart in place; resume from anywhere -----------------------------


@pytest.mark.parametrize(
    "argv, message",
    [
        (["clr", "--model", "bogus"], "error: unknown --model 'bogus'"),
        (["clr", "--lr-min", "0.1", "--lr-max", "0.01"], "error: need 0 < --lr-min < --lr-max, got 0.1 and 0.01"),
        (["clr", "--gamma", "-1"], "error: --gamma (the exp_range decay per step) must lie in (0, 1], got -1.0"),
        (["clr", "--momentum", "5"], "error: --momentum must lie in [0, 1), got 5.0"),
        (["clr", "--seed", "-1"], "error: --seed must lie in [0, 2**32), got -1"),
        (["clr", "--target-acc", "2"], "error: --target-acc is an accuracy in (0, 1], got 2.0"),
        (["clr", "--target-acc", "nan"], "error: --target-acc must be a finite number, got nan"),
        (["clr", "--lr", "inf"], "error: ambiguous option: --lr could match --lr-min, --lr-max"),  # clr takes no --lr
        (["clr", "--lr-max", "inf"], "error: --lr-max must be a finite number, got inf"),
        (["numpy-net", "--hidden-size", "0"], "error: --hidden-size must be positive, got 0"),
        (["numpy-net", "--reg", "inf"], "error: --reg must be a finite number, got inf"),
        (["numpy-net", "--lr", "-1"], "error: --lr must be positive, got -1.0"),
        (["numpy-net", "--dataset", "fashion_mnist", "--batch-size", "100000"], "error: --batch-size 100000 exceeds the 180 training samples"),
        (["numpy-net", "--dataset", "fashion_mnist", "--subset", "1"], "error: the data leaves no validation sample (1 training, 0 validation, 60 test): raise --subset or --test-subset"),
        (["batch-range", "--b-hi", "1099511627776"], "error: --b-hi 1099511627776 exceeds the 180 training samples"),
        (["clr", "--model", "alexnet"], "error: --model alexnet does not fit 28x28x1 images"),
        (["clr", "--dataset", "cifar10"], "and the Keras download failed (Exception: URL fetch failure"),
    ],
)
def test_bad_options_create_nothing(argv, message, data_dir, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))  # no cached CIFAR-10 ...
    monkeypatch.setenv("https_proxy", "http://127.0.0.1:9")  # ... and no way to download it
    out = tmp_path / "x"
    data = [] if "cifar10" in argv else ["--data-dir", data_dir] + ([] if "--subset" in argv else ["--subset", "200"])
    assert main([*argv, *data, "--out", str(out)]) == 2
    line = one_error_line(capsys)
    assert line.startswith(message) or (message in line and line.endswith("download cifar-10-python.tar.gz from https://www.cs.toronto.edu/~kriz/cifar.html and pass --data-dir DIR holding it"))
    assert not out.exists()


def test_data_samples_are_bounded(capsys):
    assert main(["data", "fashion_mnist", "--samples", "100000"]) == 2
    assert one_error_line(capsys) == "error: --samples must lie in 0..32 images per class (one plot axis each), got 100000"


@pytest.mark.slow
def test_a_run_that_stopped_before_its_first_epoch_restarts_in_place(data_dir, tmp_path, capsys, monkeypatch):
    out = tmp_path / "again"
    RunDir(out).create({"experiment": "numpy-net", "dataset": "cifar10"})
    RunDir(out).set_status("failed", reason="no data")
    monkeypatch.chdir(tmp_path)  # a relative --data-dir ...
    relative = os.path.relpath(data_dir, tmp_path)
    argv = ["numpy-net", "--dataset", "fashion_mnist", "--data-dir", relative, "--subset", "200", "--num-iters", "20", "--quiet", "--out", "again"]
    assert main(argv) == 0
    assert "starting again in 'again'" in capsys.readouterr().err
    assert RunDir(out).config()["data_dir"] == data_dir  # ... is stored absolute
    assert main(argv) == 2  # a run that trained is never overwritten
    assert "already holds a run" in one_error_line(capsys)

    (out / "results.json").unlink()
    RunDir(out).set_status("interrupted")
    monkeypatch.chdir("/")
    assert main(["resume", str(out), "--quiet"]) == 0  # from another working directory
    assert state(out)["state"] == "finished"


def test_a_sweeps_sub_run_is_not_resumed_alone(tmp_path, capsys):
    sweep = tmp_path / "sw"
    RunDir(sweep).create({"experiment": "lr-range", "dataset": "fashion_mnist", "grid": True})
    RunDir(sweep / "lr_02_1.0e+01").create({"experiment": "lr-range", "dataset": "fashion_mnist", "subrun": "lr_02_1.0e+01"})
    assert main(["resume", str(sweep / "lr_02_1.0e+01")]) == 2
    assert f"resume the sweep with 'cnntrain resume {sweep}'" in one_error_line(capsys)


def test_an_idx_header_that_overflows_int64_names_the_file(tmp_path):
    from training.data import DataError, read_idx

    path = tmp_path / "huge-idx3-ubyte"
    path.write_bytes(bytes([0, 0, 8, 4]) + (2**32 - 1).to_bytes(4, "big") * 4 + b"\x00" * 16)
    with pytest.raises(DataError, match=f"^{path}: truncated: 16 data bytes; expected 3402823666"):
        read_idx(path)
