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

A run directory is a closed room (docs/training.md, "The run directory is a closed room"): every
file is opened, written, locked and deleted through :mod:`cnncalc.confined`, walking from the
run's root without following a link, and only regular files and real directories are used. A
state file is read up to :data:`MAX_STATE_BYTES`; pruning deletes only the checkpoints this
code wrote (``epoch-NNNN`` directories holding the ``state.json`` of that epoch). A sub-run
(:meth:`RunDir.child`) lives in its parent's room: a sub-run linked elsewhere is refused too.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import io
import json
import math
import os
import re
import sys
import time

import numpy as np

from cnncalc import confined
from cnncalc.atomic import write_csv, write_json

HISTORY_FIELDS = ("epoch", "loss", "accuracy", "val_loss", "val_accuracy", "learning_rate", "batch_size", "steps", "epoch_seconds", "wall_seconds")
TRACE_FIELDS = ("step", "epoch", "learning_rate", "batch_size", "loss")
BEST_WEIGHTS = "best.weights.h5"  # the best epoch's weights, in a checkpoint of a run trained to convergence


STATES = ("created", "running", "finished", "interrupted", "failed")
LOCK_FILE = ".lock"
# What a run that stopped before its first epoch leaves: it may be restarted in place.
_BEFORE_FIRST_EPOCH = re.compile(r"^(config\.json|status\.json|\.lock|\.tmp-.*)$")
CHECKPOINT_NAME = re.compile(r"epoch-\d{4,}")
MAX_STATE_BYTES = 16 << 20
"""The largest JSON state file read (config, status, metrics, results, latest.json): far above
what a run writes, far below what would exhaust memory."""
MAX_TABLE_BYTES = 32 << 20
"""The largest ``history.csv``/``traces.csv`` read: a trace row (one optimizer step) is about 45
bytes, so some 700,000 steps (the paper presets write at most about 100,000); parsing that many
takes seconds and some 600 MB."""


class RunError(RuntimeError):
    """A run that cannot start or continue; the message is one line naming the cause."""


class RunBusy(RunError):
    """Another live process holds the run directory's lock."""


class RunDir:
    """Paths and small atomic read/write helpers of one run directory.

    ``inside``: the tree the run belongs to (its parent sweep or chain; default the run itself).
    The root of that tree is opened as named; everything below it is reached without following
    a link (:mod:`cnncalc.confined`).
    """

    def __init__(self, path, *, inside=None):
        self.path = os.fspath(path)
        self.inside = self.path if inside is None else os.fspath(inside)

    def file(self, name: str) -> str:
        return os.path.join(self.path, name)

    def child(self, name: str) -> RunDir:
        """The sub-run ``name`` (a sweep's candidate, a chain's stage), in this run's room."""
        return RunDir(self.file(name), inside=self.inside)

    def _rel(self, name: str = ".") -> str:
        """``name`` relative to the room's root."""
        return os.path.relpath(os.path.abspath(self.file(name)), os.path.abspath(self.inside))

    def folder(self, name: str = ".", *, create: bool = False) -> confined.Folder:
        """The run's directory (or its sub-directory ``name``), reached without following a link."""
        return confined.open_folder(self.inside, self._rel(name), create=create)

    def kind(self, name: str) -> str | None:
        """What ``name`` is in this run (``"regular file"``, ``"directory"``, ``"symbolic link"``,
        ...; None when it or the run directory is missing)."""
        head, tail = os.path.split(name)
        try:
            with self.folder(head or ".") as folder:
                return folder.kind(tail)
        except (FileNotFoundError, NotADirectoryError):
            return None
        except confined.Refused as exc:  # a link or a file on the way: named, never followed
            raise RunError(str(exc)) from None

    def exists(self, name: str) -> bool:
        """True when the run holds an entry ``name`` (a link counts: it is there, and refused when used)."""
        return self.kind(name) is not None

    def read_bytes(self, name: str, limit: int = MAX_STATE_BYTES) -> bytes:
        """The regular file ``name`` of the run, at most ``limit`` bytes (:class:`confined.Refused` otherwise)."""
        head, tail = os.path.split(name)
        with self.folder(head or ".") as folder:
            return folder.read(tail, limit)

    def read_json(self, name: str) -> dict:
        """A JSON state file of the run (``results.json``, ``lr_range.json``): :func:`read_state`."""
        return read_state(self, name)

    def write_json(self, name: str, data) -> None:
        write_json(self.file(name), data, inside=self.inside)

    @property
    def checkpoint_dir(self) -> str:
        return self.file("checkpoint")

    # config / status / metrics -------------------------------------------------------------
    def create(self, config: dict, *, overwrite: bool = False) -> None:
        if self.exists("config.json") and not overwrite:
            raise RunError(f"run directory '{self.path}' already holds a run: resume it with 'cnntrain resume {self.path}' or choose another --out")
        self.folder(create=True).close()
        self.write_json("config.json", {**config, "versions": library_versions()})
        self.set_status("created")

    def stopped_before_first_epoch(self) -> bool:
        """True when the directory holds only what ``cnntrain`` writes before a run's first epoch
        (config, status, lock): such a run may be started again in place."""
        if not (self.kind("config.json") == self.kind("status.json") == "regular file"):
            return False
        with self.folder() as folder:
            return all(_BEFORE_FIRST_EPOCH.match(name) for name, _ in folder.entries())

    @contextlib.contextmanager
    def locked(self):
        """Hold this directory's exclusive lock (``flock`` on ``.lock``) for the ``with`` body.

        The lock belongs to the open file, so the kernel releases it when the process ends in
        any way (``kill -9`` included): a stale lock file never blocks a later resume. The
        holder writes its pid into the file; a second process gets :class:`RunBusy` naming it.
        ``.lock`` is opened without following a link and must be a regular file with one hard
        link: a ``.lock`` linked to another file is refused, never truncated. Without ``fcntl``
        (Windows) the body runs unlocked.
        """
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX
            yield self
            return
        with self.folder(create=True) as folder:
            fd = folder.open(LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
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
        if not self.exists("config.json"):
            raise RunError(f"'{self.path}' is not a run directory (no config.json)")
        config = read_state(self, "config.json")
        if not isinstance(config.get("experiment", ""), str):
            raise RunError(f"'{path}': 'experiment' is a {type(config['experiment']).__name__}, expected a name")
        return config

    def status(self) -> dict:
        path = self.file("status.json")
        if not self.exists("status.json"):
            return {"state": "created"}
        status = read_state(self, "status.json", required=("state",))
        if status["state"] not in STATES:
            raise RunError(f"'{path}': unknown state {status['state']!r}, expected one of {', '.join(STATES)}")
        return status

    def set_status(self, state: str, **details) -> None:
        status = {"state": state, **details, "time": time.strftime("%Y-%m-%dT%H:%M:%S")}
        try:
            self.write_json("status.json", status)
        except OSError as exc:
            text = json.dumps(status, indent=2, default=str) + "\n"
            if exc.errno != errno.ENOSPC or not self._overwrite_in_place("status.json", text):
                raise

    def _overwrite_in_place(self, name: str, text: str) -> bool:
        """Rewrite a small existing file within its allocated block (a full disk has no room for
        the temporary file of an atomic write); False when that is impossible. The file is
        opened without following a link and must have no other hard link."""
        try:
            with self.folder() as folder:
                fd = folder.open(name, os.O_WRONLY)
            try:
                data = text.encode("utf-8")
                os.pwrite(fd, data, 0)
                os.ftruncate(fd, len(data))
            finally:
                os.close(fd)
            return True
        except OSError:
            return False

    def write_metrics(self, metrics: dict) -> None:
        self.write_json("metrics.json", metrics)

    def metrics(self) -> dict:
        return read_state(self, "metrics.json") if self.exists("metrics.json") else {}

    def has_metrics(self) -> bool:
        return self.exists("metrics.json")

    # history / traces ----------------------------------------------------------------------
    def history(self) -> list[dict]:
        return _read_rows(self, "history.csv")

    def traces(self) -> list[dict]:
        return _read_rows(self, "traces.csv")

    def write_history(self, rows: list[dict]) -> None:
        write_csv(self.file("history.csv"), HISTORY_FIELDS, [[_fmt(r.get(k)) for k in HISTORY_FIELDS] for r in rows], inside=self.inside)

    def write_traces(self, rows: list[dict]) -> None:
        write_csv(self.file("traces.csv"), TRACE_FIELDS, [[_fmt(r.get(k)) for k in TRACE_FIELDS] for r in rows], inside=self.inside)

    # checkpoints ---------------------------------------------------------------------------
    def latest_checkpoint(self) -> dict | None:
        pointer = os.path.join(self.checkpoint_dir, "latest.json")
        if not self.exists("checkpoint/latest.json"):
            return None
        state = read_state(self, "checkpoint/latest.json", required=("dir", "epoch", "step", "wall_seconds"))
        if not (isinstance(state["dir"], str) and CHECKPOINT_NAME.fullmatch(state["dir"])):
            raise RunError(f"'{pointer}': 'dir' is {state['dir']!r}, expected a name epoch-NNNN")
        for key, low in (("epoch", 1), ("step", 0)):
            if not (isinstance(state[key], int) and not isinstance(state[key], bool) and state[key] >= low):
                raise RunError(f"'{pointer}': '{key}' is {state[key]!r}, expected an integer >= {low}")
        if not (isinstance(state["wall_seconds"], (int, float)) and math.isfinite(state["wall_seconds"])):
            raise RunError(f"'{pointer}': 'wall_seconds' is {state['wall_seconds']!r}, expected a number")
        model_path = os.path.join(self.checkpoint_dir, state["dir"], "model.keras")
        kinds = {name: self.kind(f"checkpoint/{state['dir']}/{name}") for name in ("model.keras", BEST_WEIGHTS)}
        if kinds["model.keras"] is None:
            raise RunError(f"checkpoint '{model_path}' named by latest.json is missing")
        for name, kind in kinds.items():  # Keras opens them by path: each must be the file itself
            if kind not in (None, "regular file"):
                raise RunError(f"checkpoint file '{os.path.join(self.checkpoint_dir, state['dir'], name)}' is a {kind}, not a regular file (never followed or opened)")
        best = os.path.join(self.checkpoint_dir, state["dir"], BEST_WEIGHTS)
        return {**state, "model_path": model_path, **({"best_weights_path": best} if kinds[BEST_WEIGHTS] else {})}

    def save_checkpoint(self, model, state: dict, *, best: str | None = None) -> None:
        """Write ``epoch-NNNN/`` completely, then publish it by replacing ``latest.json``.

        ``best`` (training to convergence): ``"model"`` stores this model's weights as the best
        epoch's (``best.weights.h5``), ``"keep"`` carries the previous checkpoint's best weights
        over (a hard link where the file system allows), so the best weights are published in the
        same step as the state that names their epoch.

        ``checkpoint/`` must be a real directory of the run (a link is refused, never written
        through); afterwards the checkpoints this code wrote before are pruned
        (:meth:`_prune_checkpoints`), nothing else.
        """
        name = f"epoch-{state['epoch']:04d}"
        staging = f".staging-{name}"
        previous = self.latest_checkpoint() if best == "keep" else None
        with self.folder("checkpoint", create=True) as checkpoints:
            checkpoints.remove(staging)  # a crashed save's leftover: a link there is unlinked, never followed
            with checkpoints.folder(staging, create=True) as staged:
                for filename, save in [("model.keras", model.save)] + ([(BEST_WEIGHTS, model.save_weights)] if best == "model" else []):
                    path = staged.shown(filename)
                    try:
                        save(path)  # Keras writes by path, into the directory just made and checked
                    except OSError as exc:  # a full disk: name the file (Keras' zip writer does not)
                        raise OSError(exc.errno, exc.strerror, exc.filename or path) from None
                if previous is not None and "best_weights_path" in previous:
                    with checkpoints.folder(previous["dir"]) as earlier:
                        staged.link_from(earlier, BEST_WEIGHTS, BEST_WEIGHTS)
            self.write_json(f"checkpoint/{staging}/state.json", state)
            checkpoints.remove(name)
            checkpoints.replace(staging, name)
            self.write_json("checkpoint/latest.json", {**state, "dir": name})
            self._prune_checkpoints(checkpoints, keep=name)

    def _prune_checkpoints(self, checkpoints: confined.Folder, *, keep: str) -> None:
        """Delete the earlier checkpoints: only directories named ``epoch-NNNN`` (not links) whose
        ``state.json`` is a regular file naming that epoch, the mark of a checkpoint this code
        wrote. Anything else in ``checkpoint/`` is left alone."""
        for entry, kind in checkpoints.entries():
            if entry == keep or kind != "directory" or not CHECKPOINT_NAME.fullmatch(entry):
                continue
            try:
                with checkpoints.folder(entry) as folder:
                    written = json.loads(folder.read("state.json", MAX_STATE_BYTES))
            except (OSError, ValueError):
                continue
            if isinstance(written, dict) and written.get("epoch") == int(entry.split("-")[1]):
                checkpoints.remove(entry)


def _fmt(value):
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return value


def read_state(run: RunDir, name: str, *, required=()) -> dict:
    """The run-state JSON file ``name`` of ``run`` as a dict; a one-line :class:`RunError` naming
    the file otherwise (a link, a FIFO, more than :data:`MAX_STATE_BYTES` included)."""
    path = run.file(name)
    try:
        data = json.loads(run.read_bytes(name, MAX_STATE_BYTES))
    except RecursionError:
        raise RunError(f"'{path}': not valid JSON (nested too deeply)") from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError
        raise RunError(f"'{path}': not valid JSON ({' '.join(str(exc).split())})") from None
    except confined.Refused as exc:
        raise RunError(str(exc)) from None
    except OSError as exc:
        raise RunError(f"'{path}': cannot be read ({exc.strerror})") from None
    if not isinstance(data, dict):
        raise RunError(f"'{path}': holds a JSON {type(data).__name__}, expected an object")
    missing = [key for key in required if key not in data]
    if missing:
        raise RunError(f"'{path}': no {', '.join(repr(k) for k in missing)} field")
    return data


def _read_rows(run: RunDir, name: str) -> list[dict]:
    """The rows of a CSV state file; a one-line :class:`RunError` naming it when it is malformed:
    no header, a row of the wrong length, an ``epoch``/``step`` column that is not 1, 2, 3, ...
    (or when it is a link, a FIFO, more than :data:`MAX_TABLE_BYTES`)."""
    path = run.file(name)
    if not run.exists(name):
        return []
    try:
        rows = list(csv.reader(io.StringIO(run.read_bytes(name, MAX_TABLE_BYTES).decode("utf-8"), newline="")))
    except (ValueError, csv.Error) as exc:  # UnicodeDecodeError, NUL bytes
        raise RunError(f"'{path}': not a readable CSV file ({' '.join(str(exc).split())})") from None
    except confined.Refused as exc:
        raise RunError(str(exc)) from None
    except OSError as exc:
        raise RunError(f"'{path}': cannot be read ({exc.strerror})") from None
    header, rows = (rows[0], rows[1:]) if rows else ([], [])
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


