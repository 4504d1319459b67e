"""``--distribute multi-host``: several processes on 127.0.0.1 train one model with JAX's distributed runtime.

Every process is a real ``cnntrain`` (a child process with ``KERAS_BACKEND=jax``), started with a
free port of its own, a timeout, and killed (by its own pid) if it outlives it; the directories
they work in are the test's. The faults are real: a ``kill -9`` of process 1 in the middle of an
epoch (it signals itself from a hook, so the moment is exact), a coordinator address nobody
listens on, processes started with different settings. The compiled XLA programs are shared
between the runs through JAX's persistent compilation cache (a directory of this module) and
compiled unoptimised (test_backends.FAST_COMPILE), which changes no result, only the time.
docs/distributed.md describes what is tested here.
"""

import csv
import json
import os
import socket
import subprocess
import sys
import textwrap
import time

import pytest

from tests.training.test_backends import FAST_COMPILE, jax_env, tiny_data
from training.cli import main

pytestmark = pytest.mark.keras
pytest.importorskip("jax", reason="needs JAX: pip install -e '.[dev]' (jax[cpu])")

HEARTBEAT = 4  # seconds: how long a silent process may stay silent before the others stop
PROCESS_TIMEOUT = 240  # seconds: no child process of this module outlives this


CACHE = {}  # the session's XLA compilation cache (tests/conftest.py), set by the place fixture


@pytest.fixture(scope="module")
def place(tmp_path_factory, xla_cache):
    """Tiny Fashion-MNIST and CIFAR-10 (test_backends.tiny_data) and a TMPDIR for the children."""
    root = tmp_path_factory.mktemp("multihost")
    tiny_data(root)
    (root / "tmp").mkdir()
    CACHE["dir"] = xla_cache
    return root


def env(place, **extra):
    return jax_env(CACHE["dir"], TMPDIR=str(place / "tmp"),  # a killed process leaves its private directory here
                   **{**extra, "XLA_FLAGS": " ".join(filter(None, (FAST_COMPILE["XLA_FLAGS"], extra.get("XLA_FLAGS"))))})


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# A hook run in a child before cnntrain: process 1 kills itself (SIGKILL) when Keras asks for
# the second batch of the second epoch, in the middle of that epoch.
KILL_IN_EPOCH_2 = """
import os, signal
import training.runs.feeding as feeding
make = feeding.host_batches
def host_batches(*args, **kwargs):
    data = make(*args, **kwargs)
    get = type(data).__getitem__
    def getitem(self, i):
        if self.epoch == 1 and i == 1:
            os.kill(os.getpid(), signal.SIGKILL)
        return get(self, i)
    type(data).__getitem__ = getitem
    return data
feeding.host_batches = host_batches
"""


def start(place, argv, hook="", extra_env=None):
    script = textwrap.dedent(hook) + "\nimport sys\nfrom training.cli import main\nsys.exit(main(sys.argv[1:]))\n"
    return subprocess.Popen([sys.executable, "-c", script, *argv], env=env(place, **(extra_env or {})),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip


class Ended:
    def __init__(self, proc, out, err, at):
        self.returncode, self.stdout, self.stderr, self.at = proc.returncode, out, err, at

    def errors(self):
        return [line for line in self.stderr.splitlines() if line.startswith("error:")]


def wait_all(procs, timeout=PROCESS_TIMEOUT):
    """Wait for every process (each returns ``Ended`` with its exit time); kill what outlives ``timeout``."""
    deadline = time.monotonic() + timeout
    ended = {}
    try:
        while len(ended) < len(procs):
            for i, proc in enumerate(procs):
                if i not in ended and proc.poll() is not None:
                    ended[i] = time.monotonic()
            if time.monotonic() > deadline:
                raise AssertionError(f"processes still running after {timeout} s")
            time.sleep(0.05)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()  # our own child, by its pid
        results = [Ended(proc, *proc.communicate(), ended.get(i, time.monotonic())) for i, proc in enumerate(procs)]
    return results


def cluster_argv(argv, n, port, process):
    return [*argv, "--distribute", "multi-host", "--coordinator", f"127.0.0.1:{port}", "--num-processes", str(n), "--process-id", str(process),
            "--start-timeout", "60", "--heartbeat-timeout", str(HEARTBEAT)]  # fmt: skip


def launch(place, argv, n=2, hooks=None, extra=None):
    port = free_port()
    return [start(place, cluster_argv(argv + list((extra or {}).get(p, [])), n, port, p), (hooks or {}).get(p, "")) for p in range(n)]


def clr(place, out):
    return ["clr", "--data-dir", str(place / "fashion"), "--epochs", "2", "--batch-size", "60", "--subset", "200", "--test-subset", "60",
            "--seed", "3", "--out", str(out)]  # fmt: skip


def batch_augment(place, out):
    """Batch augmentation, M = 2, on LeNet-5 (no dropout, no BatchNorm): 144 training images, batch 32
    (four steps of 32 and one of 16, each sample twice: 64 and 32 samples a step), 2 epochs."""
    return ["batch-augment", "--data-dir", str(place / "cifar"), "--model", "lenet5", "--m", "2", "--no-baseline", "--max-epochs", "2",
            "--batch-size", "32", "--subset", "160", "--test-subset", "32", "--target-acc", "0.05", "--seed", "3", "--out", str(out)]  # fmt: skip


def rows(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def status(path):
    return json.loads((path / "status.json").read_text())


# -- two processes: batch augmentation killed in epoch 2, resumed, equal to one process ---------


@pytest.fixture(scope="module")
def runs(place):
    """The single-process run and, beside it, two processes whose process 1 dies in epoch 2, then their resume."""
    single, cut = place / "single", place / "cut"
    reference = start(place, [*batch_augment(place, single), "--quiet"])
    killed = launch(place, batch_augment(place, cut), hooks={1: KILL_IN_EPOCH_2})
    first = wait_all([reference, *killed])
    after_kill = {"status": status(cut), "sub-run": status(cut / "m2"), "history": rows(cut / "m2" / "history.csv")}
    resumed = wait_all(launch(place, ["resume", str(cut)]))
    return {"single": single, "cut": cut, "reference": first[0], "killed": first[1:], "after_kill": after_kill, "resumed": resumed}


@pytest.mark.slow
def test_a_killed_process_stops_the_others_with_one_line_and_an_interrupted_run(runs):
    zero, one = runs["killed"]
    assert one.returncode == -9  # SIGKILL, in the middle of epoch 2
    assert zero.returncode == 75, zero.stderr[-3000:]  # EX_TEMPFAIL: resume to continue
    assert zero.errors() == [zero.errors()[0]] and zero.errors()[0].startswith("error: lost process 1 of 2 ("), zero.stderr[-3000:]
    assert "Traceback" not in zero.stderr and "Check failure" not in zero.stderr
    assert zero.at - one.at < HEARTBEAT + 15  # bounded by JAX's heartbeat, not a hang
    sub = runs["after_kill"]["sub-run"]
    assert sub["state"] == "interrupted" and sub["completed_epochs"] == 1 and "lost process 1 of 2" in sub["reason"]
    assert runs["after_kill"]["status"]["state"] == "interrupted"  # the sweep, too
    assert [int(r["epoch"]) for r in runs["after_kill"]["history"]] == [1]


@pytest.mark.slow
def test_two_processes_resumed_after_the_kill_match_the_single_process_run(runs):
    """The same global batches, the same augmentation draws (crop, flip, Cutout: drawn for the
    global batch inside the one compiled step), the same losses as one process."""
    assert runs["reference"].returncode == 0, runs["reference"].stderr[-3000:]
    assert [r.returncode for r in runs["resumed"]] == [0, 0], runs["resumed"][0].stderr[-3000:] + runs["resumed"][1].stderr[-3000:]
    assert status(runs["cut"])["state"] == "finished"
    two, one = rows(runs["cut"] / "m2" / "history.csv"), rows(runs["single"] / "m2" / "history.csv")
    assert len(two) == len(one) == 2
    for a, b in zip(two, one):
        assert (a["steps"], a["batch_size"], a["learning_rate"]) == (b["steps"], b["batch_size"], b["learning_rate"]) == ("5", "32", a["learning_rate"])
        for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
            assert float(a[key]) == pytest.approx(float(b[key]), rel=1e-4), key
    steps = list(zip(rows(runs["cut"] / "m2" / "traces.csv"), rows(runs["single"] / "m2" / "traces.csv")))
    assert [int(a["batch_size"]) for a, _ in steps] == [32, 32, 32, 32, 16] * 2  # the global batches, before the repetition
    assert all(float(a["loss"]) == pytest.approx(float(b["loss"]), rel=1e-4) for a, b in steps)
    metrics = json.loads((runs["cut"] / "m2" / "metrics.json").read_text())
    assert (metrics["processes"], metrics["devices"]) == (2, 2)
    assert metrics["test_loss"] == pytest.approx(json.loads((runs["single"] / "m2" / "metrics.json").read_text())["test_loss"], rel=1e-4)
    (run,) = json.loads((runs["cut"] / "results.json").read_text())["runs"]
    assert (run["m"], run["samples_per_step"], run["steps_per_epoch"]) == (2, 64, 5)
    config = json.loads((runs["cut"] / "config.json").read_text())
    assert config["distribute"] == "multi-host" and config["cluster"] == {"processes": 2, "devices": 2, "devices_per_process": 1}
    assert "coordinator" not in config  # the launch is no setting of the run: a resume may use another address


@pytest.mark.slow
def test_only_process_0_writes_the_run_directory(runs):
    """Process 1 kept its records in a private directory of its own (the killed one left it
    behind in its TMPDIR; the resumed one removed its own); process 0 logged for both."""
    (left,) = [name for name in os.listdir(runs["cut"].parent / "tmp") if name.startswith("cnntrain-process1-")]
    private = runs["cut"].parent / "tmp" / left / "cut" / "m2"
    assert [int(r["epoch"]) for r in rows(private / "history.csv")] == [1] and (private / "checkpoint" / "latest.json").exists()
    assert rows(private / "history.csv")[0]["loss"] == rows(runs["cut"] / "m2" / "history.csv")[0]["loss"]  # the same computation
    zero, one = runs["resumed"]
    assert "process 1 of 2: resuming with process 0" in one.stderr and "epoch 2/2" not in one.stderr
    assert "epoch 2/2: loss" in zero.stderr


# -- bad input: one line, exit 2, nothing written ------------------------------------------------


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--num-processes", "2", "--process-id", "2"], "error: --process-id must lie in 0..1 (--num-processes 2), got 2"),
        (["--coordinator", "localhost", "--num-processes", "2", "--process-id", "0"], "error: --coordinator must be HOST:PORT"),
        (["--coordinator", "127.0.0.1:1", "--num-processes", "2", "--process-id", "0"], "error: --distribute multi-host needs the JAX backend (KERAS_BACKEND=jax); this process runs tensorflow"),
    ],
)
def test_bad_launches_are_refused_before_anything_is_written(place, tmp_path, capsys, extra, message):
    out = tmp_path / "x"
    assert main([*clr(place, out), "--distribute", "multi-host", *extra]) == 2
    err = capsys.readouterr().err
    assert [line for line in err.splitlines() if line.startswith("error:")][0].startswith(message) and "Traceback" not in err
    assert not out.exists()


def test_the_backend_refusal_is_one_line_without_importing_tensorflow(place, tmp_path):
    """Asked from a shell on the TensorFlow backend, the refusal is the only line on stderr: the
    backend is read as Keras would choose it (KERAS_BACKEND, keras.json), without importing Keras,
    so TensorFlow's native start-up notices never come first."""
    out = tmp_path / "x"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TF_CPP")}
    env.update(KERAS_BACKEND="tensorflow", PYTHONPATH=os.pathsep.join(sys.path))
    code = "import sys; from training.cli import main; rc = main(sys.argv[1:]); print(sorted(m for m in sys.modules if m.split('.')[0] in ('keras', 'tensorflow'))); sys.exit(rc)"
    done = subprocess.run([sys.executable, "-c", code, *clr(place, out), "--distribute", "multi-host"], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 2
    assert done.stderr.splitlines() == ["error: --distribute multi-host needs the JAX backend (KERAS_BACKEND=jax); this process runs tensorflow"]
    assert done.stdout.strip() == "[]" and not out.exists()


@pytest.mark.parametrize(
    "variable, stored, expected",
    [("jax", {"backend": "tensorflow"}, "jax"), ("", {"backend": "jax"}, "jax"), (None, {"backend": "torch"}, "torch"), (None, None, "tensorflow"), (None, "{not json", "tensorflow")],
)
def test_the_configured_backend_is_decided_as_keras_decides_it(tmp_path, monkeypatch, variable, stored, expected):
    from training.keras_backend import configured_backend

    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    if variable is None:
        monkeypatch.delenv("KERAS_BACKEND", raising=False)
    else:
        monkeypatch.setenv("KERAS_BACKEND", variable)
    if stored is not None:
        (tmp_path / "keras.json").write_text(stored if isinstance(stored, str) else json.dumps(stored))
    assert configured_backend() == expected


def test_a_launch_flag_needs_multi_host(place, tmp_path, capsys):
    assert main([*clr(place, tmp_path / "x"), "--coordinator", "127.0.0.1:1"]) == 2
    assert "error: --coordinator needs --distribute multi-host" in capsys.readouterr().err


@pytest.mark.slow
def test_processes_with_other_settings_or_an_unsplittable_batch_stop_together(place):
    mismatch, odd = place / "mismatch", place / "odd"
    one_process_two_devices = {"XLA_FLAGS": "--xla_force_host_platform_device_count=2"}
    alone = start(place, cluster_argv([*clr(place, odd), "--batch-size", "45"], 1, free_port(), 0), extra_env=one_process_two_devices)
    *ended, alone = wait_all([*launch(place, clr(place, mismatch), extra={1: ["--lr-max", "0.2"]}), alone])
    for e in ended:
        assert e.returncode == 2, e.stderr[-2000:]
        assert e.errors() == ["error: process 1 was started with other settings than process 0: config.lr_max 0.1 (process 0) vs 0.2"], e.stderr[-2000:]
    assert alone.returncode == 2 and alone.errors() == ["error: --batch-size 45 does not split among the 2 devices of 1 processes: give a multiple of 2"], alone.stderr[-2000:]
    assert not mismatch.exists() and not odd.exists()


def test_a_coordinator_nobody_listens_on_fails_in_one_line_within_the_timeout(place, tmp_path, capsys, monkeypatch):
    """Process 1 alone: the handshake finds nobody at the address and gives up after --start-timeout,
    before JAX's runtime starts (which would end the process with a native fatal error instead)."""
    import training.keras_backend

    monkeypatch.setattr(training.keras_backend, "backend", lambda: "jax")  # JAX itself never starts here
    monkeypatch.setattr(training.keras_backend, "keep_tensorflow_out", lambda: False)  # this process does use TensorFlow
    port, out = free_port(), tmp_path / "nobody"
    began = time.monotonic()
    code = main([*clr(place, out), "--distribute", "multi-host", "--coordinator", f"127.0.0.1:{port}", "--num-processes", "2", "--process-id", "1", "--start-timeout", "1"])
    assert code == 2 and 1 <= time.monotonic() - began < 30
    err = capsys.readouterr().err
    assert [line for line in err.splitlines() if line.startswith("error:")] == [
        f"error: no coordinator (process 0) answered at 127.0.0.1:{port} within 1 s (Connection refused): start process 0 there, or correct --coordinator"]
    assert not out.exists()


# -- the handshake alone (no JAX): threads as the processes ---------------------------------------


def meet_all(hellos, timeout=2.0):
    """Run :func:`rendezvous.meet` for each ``(process_id, settings, error, num_processes)`` in threads; their verdicts."""
    import threading

    from training.multihost import rendezvous

    port, verdicts = free_port(), {}

    def one(index, who, settings, error, count):
        try:
            verdicts[index] = rendezvous.meet(f"127.0.0.1:{port}", count, who, settings, error, timeout)
        except rendezvous.RendezvousError as exc:
            verdicts[index] = rendezvous.Verdict("raised", str(exc))

    threads = [threading.Thread(target=one, args=(i, *hello)) for i, hello in enumerate(hellos)]
    threads[0].start()
    time.sleep(0.2)  # process 0 listens first (the others would retry anyway)
    for t in threads[1:]:
        t.start()
    for t in threads:
        t.join(timeout + 15)
    return [verdicts[i] for i in range(len(hellos))]


def test_the_handshake_names_the_process_that_differs():
    same = {"config": {"lr": 0.1}, "data": {"train": 10}}
    assert {v.state for v in meet_all([(p, same, None, 3) for p in range(3)])} == {"ok"}
    other = {"config": {"lr": 0.1}, "data": {"train": 11}}
    verdicts = meet_all([(0, same, None, 3), (1, same, None, 3), (2, other, None, 3)])
    assert {(v.state, v.message) for v in verdicts} == {("error", "process 2 was started with other settings than process 0: data.train 10 (process 0) vs 11")}
    verdicts = meet_all([(0, same, None, 2), (1, None, "its data is missing", 2)])
    assert {(v.state, v.message) for v in verdicts} == {("error", "process 1: its data is missing")}


def test_the_handshake_refuses_duplicate_ids_other_counts_and_missing_processes():
    s = {"config": {}}
    verdicts = meet_all([(0, s, None, 3), (1, s, None, 3), (1, s, None, 3)])
    assert any(v.message == "two processes were started with --process-id 1" for v in verdicts)
    assert all(v.state in ("error", "raised") for v in verdicts)
    verdicts = meet_all([(0, s, None, 2), (1, s, None, 3)])
    assert {(v.state, v.message) for v in verdicts} == {("error", "process 1 was started with --num-processes 3, process 0 with 2")}
    began = time.monotonic()
    (alone,) = meet_all([(0, s, None, 3)], timeout=1.0)
    assert alone.state == "error" and alone.message.startswith("processes 1, 2 of 3 did not reach the coordinator at 127.0.0.1:") and alone.message.endswith(" within 1 s")
    assert time.monotonic() - began < 10
