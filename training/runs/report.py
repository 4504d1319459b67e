"""``cnntrain report``: markdown tables and combined plots over run directories.

Reads only the files a run wrote (config.json, history.csv, metrics.json, results.json), so a
report can be made on another machine than the one that trained. ``--html FILE`` puts the same
table, every run's curves and per-step traces (drawn in the page), the PNGs the run wrote (the
finders' plots), their suggested bounds and each run's configuration in one offline page
(:func:`cnncalc.html.runs_page`).

The paths given may be runs or hold runs at any depth (``runs/``, ``runs/clr``, a sweep): they are
walked without following a link (:func:`find_runs`), and every file is read through
:class:`~training.runs.rundir.RunDir` (no link, regular files only, capped sizes). A page embeds
only regular ``*.png`` files of a run's own directory that start with the PNG signature, each at
most :data:`MAX_IMAGE_BYTES` and all of them at most :data:`MAX_PAGE_IMAGE_BYTES`.
"""

from __future__ import annotations

import base64
import os
import re

from tabulate import tabulate

from cnncalc import confined
from cnncalc.printable import visible as printable  # controls and bidi overrides shown as \xNN / \uNNNN (one rule for every front end)

from .rundir import RunDir, RunError

MAX_TRACE_POINTS = 2000
"""Per-step traces longer than this are thinned (every k-th step) in the HTML page."""
BOUNDS = ("lr_min", "lr_max", "b_min", "b_max")
MAX_IMAGE_BYTES = 8 << 20
"""The largest PNG embedded in a page (a matplotlib plot is 30-300 KB)."""
MAX_PAGE_IMAGE_BYTES = 64 << 20
"""All PNGs of one page together; past it the remaining images are left out, each named."""
MAX_DEPTH = 32
"""Directories deeper than this below a given path are not searched for runs."""
MAX_DIRECTORIES = 100_000
"""The most directories one report searches (``cnntrain report ~`` ends, and says so)."""
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

COLUMNS = ("run", "experiment", "model", "dataset", "epochs", "final loss", "best val acc", "test acc", "epochs to target", "wall s", "state")


def find_runs(path: str, note=None) -> list[RunDir]:
    """Every run at ``path`` or below it, at any depth, in name order, a run before its sub-runs.

    A directory holding ``config.json`` is a run; it is listed when it trained (it has a history)
    or when nothing below it is a run (a run that failed before training keeps its row), so a
    sweep or a chain is listed through its sub-runs. ``path`` is opened as named; below it no
    link is followed (``a -> .`` is a link, not a second copy of the tree), a run's
    ``checkpoint/`` is not searched, and the search stops at :data:`MAX_DEPTH` levels and
    :data:`MAX_DIRECTORIES` directories (``note`` says so). Each run is a :class:`RunDir` in the
    room of ``path``, so its files are read without following a link either.
    """
    found: list[RunDir] = []
    budget = [MAX_DIRECTORIES]

    def walk(folder: confined.Folder, rel: str, depth: int) -> bool:
        """Adds the runs at and below ``folder`` to ``found``; true when there is one."""
        entries = folder.entries()
        names = {name for name, _ in entries}
        is_run = "config.json" in names
        here = len(found)
        if is_run:
            found.append(RunDir(os.path.join(path, rel) if rel else path, inside=path))
        below = False
        for name, kind in entries:
            if kind != "directory" or (is_run and name == "checkpoint"):
                continue
            shown = folder.shown(name)
            if depth >= MAX_DEPTH:
                _say(note, f"not searching '{shown}' for runs: deeper than {MAX_DEPTH} levels")
                continue
            if budget[0] <= 0:
                _say(note, f"stopped searching for runs at '{shown}': {MAX_DIRECTORIES:,} directories searched")
                break
            budget[0] -= 1
            try:
                with folder.folder(name) as inner:
                    below |= walk(inner, os.path.join(rel, name), depth + 1)
            except OSError as exc:  # unreadable, or swapped for a link meanwhile: named, skipped
                _say(note, f"not searching '{shown}': {_first_line(exc)}")
        if is_run and below and "history.csv" not in names:
            del found[here]  # a sweep or chain: its sub-runs are its rows
        return is_run or below

    with confined.open_folder(path) as root:
        walk(root, "", 0)
    return found


def _say(note, message: str) -> None:
    if note is not None:
        note(message)


def _first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _fmt(value, digits=4):
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)


# What markdown (GitHub's, in a table cell) reads as markup or raw HTML.
_MARKDOWN = re.compile(r"([\\`*_\[\]<>|&~$])")


def markdown_text(value) -> str:
    """``value`` as literal text in a markdown table cell: every character markdown would read as
    markup (emphasis, links and images, code, raw HTML, the cell separator) backslash-escaped,
    controls shown visibly (:func:`printable`)."""
    return _MARKDOWN.sub(r"\\\1", printable(value))


def rows_for(found: dict[str, list[RunDir]]) -> tuple[list[list], list[RunDir], list[dict], list[tuple[str, str]]]:
    """Table rows of the runs ``found`` below each given path (:func:`find_runs`), the runs, what
    was read of each (``config``, ``metrics``, ``history``: every file is read once), and
    ``(path, reason)`` of each run whose state files cannot be read (it is listed, never allowed
    to stop the report)."""
    rows, runs, records, unreadable = [], [], [], []
    for path, below in found.items():
        for run in below:
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
            records.append({"config": config, "metrics": metrics, "history": history})
    return rows, runs, records, unreadable


def html_data(rows, runs, records, note=None) -> dict:
    """The runs page's data (:func:`cnncalc.html.runs_page`): the table and, per run, what it
    wrote (``records``: what :func:`rows_for` read)."""
    items = []
    budget = [MAX_PAGE_IMAGE_BYTES]
    for row, run, record in zip(rows, runs, records):
        try:
            traces = run.traces()
        except RunError:  # a damaged trace file: the run keeps its row and curves
            traces = []
        try:
            results = run.read_json("results.json") if run.exists("results.json") else {}
        except RunError:
            results = {}
        items.append({
            "label": row[0], "state": row[-1], "config": record["config"], "metrics": record["metrics"],
            "history": record["history"], "traces": traces[:: max(1, -(-len(traces) // MAX_TRACE_POINTS))],
            "bounds": {k: results[k] for k in BOUNDS if k in results} or None,
            "images": _images(run, budget, note),
        })  # fmt: skip
    return {"columns": list(COLUMNS), "rows": rows, "runs": items}


def _images(run: RunDir, budget: list, note) -> list[dict]:
    """The run's own plots as ``data:`` URLs: regular ``*.png`` files of its directory (a link,
    FIFO or device is never opened), each at most :data:`MAX_IMAGE_BYTES`, starting with the PNG
    signature, while the page's :data:`MAX_PAGE_IMAGE_BYTES` last; every file left out is named."""
    images = []
    with run.folder() as folder:
        for name, kind in folder.entries():
            if not name.lower().endswith(".png"):
                continue
            shown = printable(folder.shown(name))
            if kind != "regular file":
                _say(note, f"not embedding '{shown}': a {kind}" + (" (never followed)" if kind == "symbolic link" else ""))
                continue
            try:
                data = folder.read(name, min(MAX_IMAGE_BYTES, budget[0]))
            except confined.Refused:
                size = folder.lstat(name)
                if size is not None and size.st_size > MAX_IMAGE_BYTES:
                    _say(note, f"not embedding '{shown}': {size.st_size:,} bytes, over the {MAX_IMAGE_BYTES:,} an image may have")
                else:
                    _say(note, f"not embedding '{shown}': the page's {MAX_PAGE_IMAGE_BYTES:,} bytes of images are used up")
                continue
            except OSError as exc:
                _say(note, f"not embedding '{shown}': {_first_line(exc)}")
                continue
            if not data.startswith(PNG_SIGNATURE):
                _say(note, f"not embedding '{shown}': not a PNG file (no PNG signature)")
                continue
            budget[0] -= len(data)
            images.append({"name": name, "data": "data:image/png;base64," + base64.b64encode(data).decode("ascii")})
    return images


def _found(given: list[str], note) -> dict[str, list[RunDir]]:
    """The runs below each given path that holds one (at any depth); each path that holds none
    (a file, an empty folder) is named through ``note`` when other paths were given."""
    found = {}
    for path in given:
        runs = find_runs(path, note) if os.path.isdir(path) else []
        if runs:
            found[path] = runs
        elif len(given) == 1:
            pass  # the error names it
        elif not os.path.lexists(path):
            _say(note, f"skipping '{path}': no such directory")
        else:
            _say(note, f"skipping '{path}': not a run directory" + (" and holds none (no config.json at any depth)" if os.path.isdir(path) else ""))
    return found


def report(paths, out: str | None = None, *, note=None, html: str | None = None, wrote=None) -> str:
    """A markdown table of every run below ``paths``; with ``out``, also report.md and plots;
    with ``html``, one self-contained page of it all.

    Each path may be a run, a sweep or chain, or any directory holding runs at any depth
    (``cnntrain report runs/*`` over the default ``runs/EXPERIMENT/DATE`` layout). What is no
    run and holds none (a log file, an empty folder) is skipped, each named through ``note``,
    as long as one run remains; otherwise the error names the paths. A run whose state files are
    corrupt is listed under the table with the reason (the file and what is wrong); the other
    runs are reported as usual. ``wrote(path)`` is called for each file written.
    """
    given = [os.fspath(p) for p in paths]
    if not given:
        raise RunError("no run directories given")
    found = _found(given, note)
    if not found:
        if len(given) == 1:
            path = given[0]
            if not os.path.lexists(path):
                raise RunError(f"'{path}' is not a run directory (no config.json): no such directory")
            raise RunError(f"'{path}' is not a run directory (no config.json) and holds none")
        raise RunError(f"no run directories in {', '.join(given)} (no config.json at any depth)")
    paths = list(found)
    rows, runs, records, unreadable = rows_for(found)
    if not rows:
        reasons = "; ".join(reason for _, reason in unreadable)
        raise RunError(f"no readable runs below {', '.join(paths)}" + (f": {reasons}" if reasons else ""))
    _say(note, f"found {_count(len(rows) + len(unreadable), 'run')} in {', '.join(paths)}" + (f" ({len(unreadable)} unreadable)" if unreadable else ""))
    table = _table(rows, unreadable, printable)
    if html:
        from cnncalc.atomic import write_text
        from cnncalc.html import runs_page

        write_text(html, runs_page(html_data(rows, runs, records, note)))
        _say(wrote, html)
    if out:
        from cnncalc.atomic import write_text

        from .. import plots

        os.makedirs(out, exist_ok=True)
        labels = [r[0] for r in rows]
        for key, name in (("loss", "train_loss.png"), ("val_loss", "val_loss.png"), ("val_accuracy", "val_accuracy.png")):
            series = {label: ([h["epoch"] for h in r["history"]], [h.get(key) for h in r["history"]]) for label, r in zip(labels, records) if r["history"]}
            plots.curves(series, os.path.join(out, name), xlabel="epoch", ylabel=key.replace("_", " "))
            _say(wrote, os.path.join(out, name))
        markdown = _table(rows, unreadable, markdown_text)
        write_text(os.path.join(out, "report.md"), f"# Runs\n\n{markdown}\n\n![training loss](train_loss.png)\n![validation loss](val_loss.png)\n![validation accuracy](val_accuracy.png)\n")
        _say(wrote, os.path.join(out, "report.md"))
    return table


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _table(rows, unreadable, text) -> str:
    """The github-format table with every cell passed through ``text`` (:func:`printable` for a
    terminal, :func:`markdown_text` for report.md), the unreadable runs listed below it."""
    table = tabulate([[text(cell) for cell in row] for row in rows], headers=COLUMNS, tablefmt="github")
    if unreadable:
        quote = (lambda path: f"`{path}`") if text is printable else text  # a code span would keep markdown's backslashes
        table += "\n\nUnreadable runs (not in the table):\n\n" + "\n".join(f"- {quote(text(path))}: {text(reason)}" for path, reason in unreadable)
    return table
