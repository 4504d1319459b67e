"""``cnntrain report``: markdown tables and combined plots over run directories.

Reads only the files a run wrote (config.json, history.csv, metrics.json, results.json), so a
report can be made on another machine than the one that trained. ``--html FILE`` puts the same
table, every run's curves and per-step traces (drawn in the page), the PNGs the run wrote (the
finders' plots), their suggested bounds and each run's configuration in one offline page
(:func:`cnncalc.html.runs_page`).
"""

from __future__ import annotations

import base64
import glob
import os

from tabulate import tabulate

from .rundir import RunDir, RunError

MAX_TRACE_POINTS = 2000
"""Per-step traces longer than this are thinned (every k-th step) in the HTML page."""
BOUNDS = ("lr_min", "lr_max", "b_min", "b_max")

COLUMNS = ("run", "experiment", "model", "dataset", "epochs", "final loss", "best val acc", "test acc", "epochs to target", "wall s", "state")


def _runs_below(path: str) -> list[RunDir]:
    """The run itself and, for sweeps, every sub-run: a run that trained (it has a history), or
    one with no sub-runs that stopped before training (a failed run still gets its row)."""
    found = []
    children = sorted(glob.glob(os.path.join(path, "*", "config.json")))
    if os.path.exists(os.path.join(path, "history.csv")) or not children:
        found.append(RunDir(path))
    for child in children:
        found.extend(_runs_below(os.path.dirname(child)))
    return found


def _fmt(value, digits=4):
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)


def rows_for(paths) -> tuple[list[list], list[RunDir], list[tuple[str, str]]]:
    """Table rows of every run below ``paths``, the runs, and ``(path, reason)`` of each run
    whose state files cannot be read (it is listed, never allowed to stop the report)."""
    rows, runs, unreadable = [], [], []
    for path in paths:
        for run in _runs_below(path):
            try:
                config, metrics, history, state = run.config(), run.metrics(), run.history(), run.status().get("state", "")
            except RunError as exc:
                unreadable.append((run.path, str(exc)))
                continue
            last = history[-1] if history else {}
            rows.append([
                os.path.relpath(run.path, os.path.dirname(os.path.abspath(path)) or "."),
                config.get("experiment", ""), config.get("model", ""), config.get("dataset", ""),
                len(history), _fmt(last.get("loss")), _fmt(metrics.get("best_val_accuracy")),
                _fmt(metrics.get("test_accuracy")), _fmt(metrics.get("epochs_to_target")),
                _fmt(last.get("wall_seconds"), 5), state,
            ])  # fmt: skip
            runs.append(run)
    return rows, runs, unreadable


def _is_run(path: str) -> bool:
    return os.path.isfile(os.path.join(path, "config.json"))


def html_data(rows, runs) -> dict:
    """The runs page's data (:func:`cnncalc.html.runs_page`): the table and, per run, what it wrote."""
    items = []
    for row, run in zip(rows, runs):
        try:
            traces = run.traces() if os.path.exists(run.file("traces.csv")) else []
        except RunError:  # a damaged trace file: the run keeps its row and curves
            traces = []
        results = _read(run.file("results.json"))
        images = []
        for name in sorted(os.listdir(run.path)):
            if name.endswith(".png"):
                with open(run.file(name), "rb") as fh:
                    images.append({"name": name, "data": "data:image/png;base64," + base64.b64encode(fh.read()).decode("ascii")})
        items.append({
            "label": row[0], "state": row[-1], "config": run.config(), "metrics": run.metrics(),
            "history": run.history(), "traces": traces[:: max(1, -(-len(traces) // MAX_TRACE_POINTS))],
            "bounds": {k: results[k] for k in BOUNDS if isinstance(results, dict) and k in results} or None,
            "images": images,
        })  # fmt: skip
    return {"columns": list(COLUMNS), "rows": rows, "runs": items}


def _read(path):
    from cnncalc.atomic import read_json

    try:
        return read_json(path) if os.path.exists(path) else {}
    except ValueError:
        return {}


def report(paths, out: str | None = None, *, note=None, html: str | None = None) -> str:
    """A markdown table of every run below ``paths``; with ``out``, also report.md and plots;
    with ``html``, one self-contained page of it all.

    ``cnntrain report runs/*`` meets whatever the shell glob finds: files and directories that
    are not runs are skipped (each named through ``note``) as long as one run remains; a lone
    non-run path is an error naming it. A run whose state files are corrupt is listed under the
    table with the reason (the file and what is wrong); the other runs are reported as usual.
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
    rows, runs, unreadable = rows_for(paths)
    if not rows:
        reasons = "; ".join(reason for _, reason in unreadable)
        raise RunError(f"no readable runs below {', '.join(paths)}" + (f": {reasons}" if reasons else ""))
    table = tabulate(rows, headers=COLUMNS, tablefmt="github")
    if unreadable:
        table += "\n\nUnreadable runs (not in the table):\n\n" + "\n".join(f"- `{path}`: {reason}" for path, reason in unreadable)
    if html:
        from cnncalc.atomic import write_text
        from cnncalc.html import runs_page

        write_text(html, runs_page(html_data(rows, runs)))
    if out:
        from cnncalc.atomic import write_text

        from .. import plots

        os.makedirs(out, exist_ok=True)
        labels = [r[0] for r in rows]
        for key, name in (("loss", "train_loss.png"), ("val_loss", "val_loss.png"), ("val_accuracy", "val_accuracy.png")):
            series = {label: ([h["epoch"] for h in run.history()], [h.get(key) for h in run.history()]) for label, run in zip(labels, runs) if run.history()}
            plots.curves(series, os.path.join(out, name), xlabel="epoch", ylabel=key.replace("_", " "))
        write_text(os.path.join(out, "report.md"), f"# Runs\n\n{table}\n\n![training loss](train_loss.png)\n![validation loss](val_loss.png)\n![validation accuracy](val_accuracy.png)\n")
    return table
