"""``cnntrain report``: markdown tables and combined plots over run directories.

Reads only the files a run wrote (config.json, history.csv, metrics.json, results.json), so a
report can be made on another machine than the one that trained.
"""

from __future__ import annotations

import glob
import os

from tabulate import tabulate

from .rundir import RunDir, RunError

COLUMNS = ("run", "experiment", "model", "dataset", "epochs", "final loss", "best val acc", "test acc", "epochs to target", "wall s", "state")


def _runs_below(path: str) -> list[RunDir]:
    """The run itself and, for sweeps, every sub-run that trained."""
    found = []
    if os.path.exists(os.path.join(path, "history.csv")):
        found.append(RunDir(path))
    for child in sorted(glob.glob(os.path.join(path, "*", "config.json"))):
        found.extend(_runs_below(os.path.dirname(child)))
    return found


def _fmt(value, digits=4):
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)


def rows_for(paths) -> tuple[list[list], list[RunDir]]:
    rows, runs = [], []
    for path in paths:
        top = RunDir(path)
        top.config()  # raises a clear error for a directory that is not a run
        for run in _runs_below(path):
            config, metrics, history = run.config(), run.metrics(), run.history()
            last = history[-1] if history else {}
            rows.append([
                os.path.relpath(run.path, os.path.dirname(os.path.abspath(path)) or "."),
                config.get("experiment", ""), config.get("model", ""), config.get("dataset", ""),
                len(history), _fmt(last.get("loss")), _fmt(metrics.get("best_val_accuracy")),
                _fmt(metrics.get("test_accuracy")), _fmt(metrics.get("epochs_to_target")),
                _fmt(last.get("wall_seconds"), 5), run.status().get("state", ""),
            ])  # fmt: skip
            runs.append(run)
    return rows, runs


def _is_run(path: str) -> bool:
    return os.path.isfile(os.path.join(path, "config.json"))


def report(paths, out: str | None = None, *, note=None) -> str:
    """A markdown table of every run below ``paths``; with ``out``, also report.md and plots.

    ``cnntrain report runs/*`` meets whatever the shell glob finds: files and directories that
    are not runs are skipped (each named through ``note``) as long as one run remains; a lone
    non-run path is an error naming it.
    """
    given = list(paths)
    if not given:
        raise RunError("no run directories given")
    paths = [p for p in given if os.path.isdir(p) and _is_run(p)]
    if not paths:
        RunDir(given[0]).config()  # the one-line error naming the first path
        raise RunError(f"no run directories among {', '.join(given)}")
    for skipped in (p for p in given if p not in paths):
        if note is not None:
            note(f"skipping '{skipped}': not a run directory")
    rows, runs = rows_for(paths)
    if not rows:
        raise RunError(f"no trained runs below {', '.join(paths)}")
    table = tabulate(rows, headers=COLUMNS, tablefmt="github")
    if out:
        from cnncalc.atomic import write_text

        from .. import plots

        os.makedirs(out, exist_ok=True)
        labels = [r[0] for r in rows]
        for key, name in (("loss", "train_loss.png"), ("val_loss", "val_loss.png"), ("val_accuracy", "val_accuracy.png")):
            series = {label: ([h["epoch"] for h in run.history()], [h.get(key) for h in run.history()]) for label, run in zip(labels, runs)}
            plots.curves(series, os.path.join(out, name), xlabel="epoch", ylabel=key.replace("_", " "))
        write_text(os.path.join(out, "report.md"), f"# Runs\n\n{table}\n\n![training loss](train_loss.png)\n![validation loss](val_loss.png)\n![validation accuracy](val_accuracy.png)\n")
    return table
