"""The run directory: what a run leaves on disk, written atomically, read back by resume and report.

A run directory holds::

    config.json       everything needed to reproduce: experiment, model, data, seeds, versions
    history.csv       one row per epoch: losses, accuracies, learning rate, batch size, wall time
    traces.csv        one row per optimizer step: learning rate, batch size, batch loss
    metrics.json      test accuracy, best validation accuracy, epochs/wall time to the target
    results.json      what the experiment returned (written when it finishes)
    status.json       running / finished / interrupted / failed, with the reason
    checkpoint/       epoch-NNNN/model.keras + state.json, and latest.json pointing at one
    *.png             plots written by the experiment

Every file goes through :mod:`cnncalc.atomic`, so a reader never sees half of one. Checkpoints
are written to a fresh directory and published by atomically replacing ``latest.json``, so a
crash at any moment leaves the last good checkpoint intact. Nothing here imports Keras: the run
directory of the NumPy network (``numpy-net``) is the same kind of directory.
"""

from __future__ import annotations

import os
import shutil
import sys
import time

import numpy as np

from cnncalc.atomic import read_csv, read_json, write_csv, write_json

HISTORY_FIELDS = ("epoch", "loss", "accuracy", "val_loss", "val_accuracy", "learning_rate", "batch_size", "steps", "epoch_seconds", "wall_seconds")
TRACE_FIELDS = ("step", "epoch", "learning_rate", "batch_size", "loss")


class RunError(RuntimeError):
    """A run that cannot start or continue; the message is one line naming the cause."""


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

    def config(self) -> dict:
        path = self.file("config.json")
        if not os.path.exists(path):
            raise RunError(f"'{self.path}' is not a run directory (no config.json)")
        try:
            return read_json(path)
        except ValueError as exc:
            raise RunError(f"'{path}' is not valid JSON: {exc}") from None

    def status(self) -> dict:
        path = self.file("status.json")
        return read_json(path) if os.path.exists(path) else {"state": "created"}

    def set_status(self, state: str, **details) -> None:
        write_json(self.file("status.json"), {"state": state, **details, "time": time.strftime("%Y-%m-%dT%H:%M:%S")})

    def write_metrics(self, metrics: dict) -> None:
        write_json(self.file("metrics.json"), metrics)

    def metrics(self) -> dict:
        path = self.file("metrics.json")
        return read_json(path) if os.path.exists(path) else {}

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
        state = read_json(pointer)
        model_path = os.path.join(self.checkpoint_dir, state["dir"], "model.keras")
        if not os.path.exists(model_path):
            raise RunError(f"checkpoint '{model_path}' named by latest.json is missing")
        return {**state, "model_path": model_path}

    def save_checkpoint(self, model, state: dict) -> None:
        """Write ``epoch-NNNN/`` completely, then publish it by replacing ``latest.json``."""
        name = f"epoch-{state['epoch']:04d}"
        final = os.path.join(self.checkpoint_dir, name)
        staging = os.path.join(self.checkpoint_dir, f".staging-{name}")
        shutil.rmtree(staging, ignore_errors=True)
        os.makedirs(staging)
        model.save(os.path.join(staging, "model.keras"))
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


def _read_rows(path) -> list[dict]:
    if not os.path.exists(path):
        return []
    header, rows = read_csv(path)
    return [{k: _parse(v) for k, v in zip(header, row)} for row in rows]


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


