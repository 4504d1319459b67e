"""The run directory: what a run leaves on disk, written atomically, read back by resume and report.

A run directory holds::

    config.json       everything needed to reproduce: experiment, model, data, seeds, versions
    history.csv       one row per epoch: losses, accuracies, learning rate, batch size, wall time
    traces.csv        one row per optimizer step: learning rate, batch size, batch loss
    metrics.json      test accuracy, best validation accuracy, epochs/wall time to the target
    results.json      what the experiment returned (written when it finishes)
    status.json       running / finished / interrupted / failed, with the reason
    checkpoint/       epoch-NNNN/model.keras + state.json (+ best.weights.h5 when training to
                      convergence), and latest.json pointing at one
    *.png             plots written by the experiment
    .lock             held (``flock``) by the one process working in the directory

Every file goes through :mod:`cnncalc.atomic`, so a reader never sees half of one. Checkpoints
are written to a fresh directory and published by atomically replacing ``latest.json``, so a
crash at any moment leaves the last good checkpoint intact. Nothing here imports Keras: the run
directory of the NumPy network (``numpy-net``) is the same kind of directory.

Every state file is read through a checker: a file that is not valid JSON, or valid JSON of the
wrong shape (a list, ``latest.json`` without ``dir``), or a ``history.csv`` whose rows do not fit
its header, raises :class:`RunError` naming the file and what is wrong, never a bare
``KeyError``. One process at a time works in a run directory: :meth:`RunDir.locked` takes an
exclusive ``flock`` on ``.lock`` (the kernel drops it when the process dies, even by ``kill -9``)
and a second process gets :class:`RunBusy` naming the holder's pid.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import json
import math
import os
import re
import shutil
import sys
import time

import numpy as np

from cnncalc.atomic import read_csv, read_json, write_csv, write_json

HISTORY_FIELDS = ("epoch", "loss", "accuracy", "val_loss", "val_accuracy", "learning_rate", "batch_size", "steps", "epoch_seconds", "wall_seconds")
TRACE_FIELDS = ("step", "epoch", "learning_rate", "batch_size", "loss")
BEST_WEIGHTS = "best.weights.h5"  # the best epoch's weights, in a checkpoint of a run trained to convergence


STATES = ("created", "running", "finished", "interrupted", "failed")
LOCK_FILE = ".lock"
# What a run that stopped before its first epoch leaves: it may be restarted in place.
_BEFORE_FIRST_EPOCH = re.compile(r"^(config\.json|status\.json|\.lock|\.tmp-.*)$")


class RunError(RuntimeError):
    """A run that cannot start or continue; the message is one line naming the cause."""


class RunBusy(RunError):
    """Another live process holds the run directory's lock."""


class RunDir:
    """Paths and small atomic read/write helpers of one run directory."""

    def __init__(self, path):
        self.path = os.fspath(path)

    def file(self, name: str) -> str:
        return os.path.join(self.path, name)

    @property
    def checkpoint_dir(self) -> str:
        return self.file("checkpoint")

    # config / status / metrics -------------------------------------------------------------
    def create(self, config: dict, *, overwrite: bool = False) -> None:
        if os.path.exists(self.file("config.json")) and not overwrite:
            raise RunError(f"run directory '{self.path}' already holds a run: resume it with 'cnntrain resume {self.path}' or choose another --out")
        os.makedirs(self.path, exist_ok=True)
        write_json(self.file("config.json"), {**config, "versions": library_versions()})
        self.set_status("created")

    def stopped_before_first_epoch(self) -> bool:
        """True when the directory holds only what ``cnntrain`` writes before a run's first epoch
        (config, status, lock): such a run may be started again in place."""
        if not (os.path.isfile(self.file("config.json")) and os.path.isfile(self.file("status.json"))):
            return False
        return all(_BEFORE_FIRST_EPOCH.match(name) for name in os.listdir(self.path))

    @contextlib.contextmanager
    def locked(self):
        """Hold this directory's exclusive lock (``flock`` on ``.lock``) for the ``with`` body.

        The lock belongs to the open file, so the kernel releases it when the process ends in
        any way (``kill -9`` included): a stale lock file never blocks a later resume. The
        holder writes its pid into the file; a second process gets :class:`RunBusy` naming it.
        Without ``fcntl`` (Windows) the body runs unlocked.
        """
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX
            yield self
            return
        os.makedirs(self.path, exist_ok=True)
        fd = os.open(self.file(LOCK_FILE), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise RunBusy(f"run directory '{self.path}' is in use by process {_lock_holder(fd)}: wait for it to end, or stop it, then retry") from None
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
            yield self
        finally:
            os.close(fd)  # closing the only descriptor releases the flock

    def config(self) -> dict:
        path = self.file("config.json")
        if not os.path.exists(path):
            raise RunError(f"'{self.path}' is not a run directory (no config.json)")
        config = read_state(path)
        if not isinstance(config.get("experiment", ""), str):
            raise RunError(f"'{path}': 'experiment' is a {type(config['experiment']).__name__}, expected a name")
        return config

    def status(self) -> dict:
        path = self.file("status.json")
        if not os.path.exists(path):
            return {"state": "created"}
        status = read_state(path, required=("state",))
        if status["state"] not in STATES:
            raise RunError(f"'{path}': unknown state {status['state']!r}, expected one of {', '.join(STATES)}")
        return status

    def set_status(self, state: str, **details) -> None:
        status = {"state": state, **details, "time": time.strftime("%Y-%m-%dT%H:%M:%S")}
        try:
            write_json(self.file("status.json"), status)
        except OSError as exc:
            text = json.dumps(status, indent=2, default=str) + "\n"
            if exc.errno != errno.ENOSPC or not _overwrite_in_place(self.file("status.json"), text):
                raise

    def write_metrics(self, metrics: dict) -> None:
        write_json(self.file("metrics.json"), metrics)

    def metrics(self) -> dict:
        path = self.file("metrics.json")
        return read_state(path) if os.path.exists(path) else {}

    def has_metrics(self) -> bool:
        return os.path.exists(self.file("metrics.json"))

    # history / traces ----------------------------------------------------------------------
    def history(self) -> list[dict]:
        return _read_rows(self.file("history.csv"))

    def traces(self) -> list[dict]:
        return _read_rows(self.file("traces.csv"))

    def write_history(self, rows: list[dict]) -> None:
        write_csv(self.file("history.csv"), HISTORY_FIELDS, [[_fmt(r.get(k)) for k in HISTORY_FIELDS] for r in rows])

    def write_traces(self, rows: list[dict]) -> None:
        write_csv(self.file("traces.csv"), TRACE_FIELDS, [[_fmt(r.get(k)) for k in TRACE_FIELDS] for r in rows])

    # checkpoints ---------------------------------------------------------------------------
    def latest_checkpoint(self) -> dict | None:
        pointer = os.path.join(self.checkpoint_dir, "latest.json")
        if not os.path.exists(pointer):
            return None
        state = read_state(pointer, required=("dir", "epoch", "step", "wall_seconds"))
        if not (isinstance(state["dir"], str) and re.fullmatch(r"epoch-\d{4,}", state["dir"])):
            raise RunError(f"'{pointer}': 'dir' is {state['dir']!r}, expected a name epoch-NNNN")
        for key, low in (("epoch", 1), ("step", 0)):
            if not (isinstance(state[key], int) and not isinstance(state[key], bool) and state[key] >= low):
                raise RunError(f"'{pointer}': '{key}' is {state[key]!r}, expected an integer >= {low}")
        if not (isinstance(state["wall_seconds"], (int, float)) and math.isfinite(state["wall_seconds"])):
            raise RunError(f"'{pointer}': 'wall_seconds' is {state['wall_seconds']!r}, expected a number")
        model_path = os.path.join(self.checkpoint_dir, state["dir"], "model.keras")
        if not os.path.exists(model_path):
            raise RunError(f"checkpoint '{model_path}' named by latest.json is missing")
        best = os.path.join(self.checkpoint_dir, state["dir"], BEST_WEIGHTS)
        return {**state, "model_path": model_path, **({"best_weights_path": best} if os.path.exists(best) else {})}

    def save_checkpoint(self, model, state: dict, *, best: str | None = None) -> None:
        """Write ``epoch-NNNN/`` completely, then publish it by replacing ``latest.json``.

        ``best`` (training to convergence): ``"model"`` stores this model's weights as the best
        epoch's (``best.weights.h5``), ``"keep"`` carries the previous checkpoint's best weights
        over (a hard link where the file system allows), so the best weights are published in the
        same step as the state that names their epoch.
        """
        name = f"epoch-{state['epoch']:04d}"
        final = os.path.join(self.checkpoint_dir, name)
        staging = os.path.join(self.checkpoint_dir, f".staging-{name}")
        previous = self.latest_checkpoint() if best == "keep" else None
        shutil.rmtree(staging, ignore_errors=True)
        os.makedirs(staging)
        for filename, save in [("model.keras", model.save)] + ([(BEST_WEIGHTS, model.save_weights)] if best == "model" else []):
            path = os.path.join(staging, filename)
            try:
                save(path)
            except OSError as exc:  # a full disk: name the file (Keras' zip writer does not)
                raise OSError(exc.errno, exc.strerror, exc.filename or path) from None
        if previous is not None and "best_weights_path" in previous:
            try:
                os.link(previous["best_weights_path"], os.path.join(staging, BEST_WEIGHTS))
            except OSError:
                shutil.copyfile(previous["best_weights_path"], os.path.join(staging, BEST_WEIGHTS))
        write_json(os.path.join(staging, "state.json"), state)
        shutil.rmtree(final, ignore_errors=True)
        os.replace(staging, final)
        write_json(os.path.join(self.checkpoint_dir, "latest.json"), {**state, "dir": name})
        for entry in os.listdir(self.checkpoint_dir):
            if entry.startswith("epoch-") and entry != name:
                shutil.rmtree(os.path.join(self.checkpoint_dir, entry), ignore_errors=True)


def _fmt(value):
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return value


def read_state(path, *, required=()) -> dict:
    """A run-state JSON file as a dict; a one-line :class:`RunError` naming the file otherwise."""
    try:
        data = read_json(path)
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError
        raise RunError(f"'{path}': not valid JSON ({' '.join(str(exc).split())})") from None
    except OSError as exc:
        raise RunError(f"'{path}': cannot be read ({exc.strerror})") from None
    if not isinstance(data, dict):
        raise RunError(f"'{path}': holds a JSON {type(data).__name__}, expected an object")
    missing = [key for key in required if key not in data]
    if missing:
        raise RunError(f"'{path}': no {', '.join(repr(k) for k in missing)} field")
    return data


def _read_rows(path) -> list[dict]:
    """The rows of a CSV state file; a one-line :class:`RunError` naming it when it is malformed:
    no header, a row of the wrong length, an ``epoch``/``step`` column that is not 1, 2, 3, ..."""
    if not os.path.exists(path):
        return []
    try:
        header, rows = read_csv(path)
    except (ValueError, csv.Error) as exc:  # UnicodeDecodeError, NUL bytes
        raise RunError(f"'{path}': not a readable CSV file ({' '.join(str(exc).split())})") from None
    except OSError as exc:
        raise RunError(f"'{path}': cannot be read ({exc.strerror})") from None
    if not header or not any(key in header for key in ("epoch", "step", "iteration")):
        raise RunError(f"'{path}': header {','.join(header)[:60]!r} names no epoch, step or iteration column")
    parsed = []
    for number, row in enumerate(rows, start=2):
        if len(row) != len(header):
            raise RunError(f"'{path}': line {number} has {len(row)} fields, expected {len(header)}")
        parsed.append({k: _parse(v) for k, v in zip(header, row)})
    for key in ("epoch", "step"):
        if key in header and header[0] == key:
            values = [r[key] for r in parsed]
            if any(not isinstance(v, int) for v in values) or any(b <= a for a, b in zip(values, values[1:])):
                raise RunError(f"'{path}': column '{key}' must hold increasing integers")
    return parsed


def _overwrite_in_place(path, text: str) -> bool:
    """Rewrite a small existing file within its allocated block (a full disk has no room for
    the temporary file of an atomic write); False when that is impossible."""
    try:
        with open(path, "r+", encoding="utf-8") as fh:
            fh.write(text)
            fh.truncate()
        return True
    except OSError:
        return False


def _lock_holder(fd) -> str:
    """The pid written in a held lock file (the holder writes it just after locking)."""
    for _ in range(20):
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
        if text:
            return text
        time.sleep(0.01)
    return "(unknown pid)"


def _parse(text: str):
    if text == "":
        return None
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text


def library_versions() -> dict:
    """Versions that matter for reproducing a run."""
    import platform

    versions = {"python": platform.python_version(), "numpy": np.__version__}
    for name in ("keras", "tensorflow", "jax"):
        module = sys.modules.get(name)
        if module is not None:
            versions[name] = getattr(module, "__version__", "?")
    if sys.modules.get("keras") is not None:  # None: an import of keras was blocked
        versions["keras_backend"] = sys.modules["keras"].backend.backend()
    return versions


