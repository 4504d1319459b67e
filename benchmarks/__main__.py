"""``python -m benchmarks [--only NAME ...] [--quick | --smoke] [--output PATH]``: run, print, record.

A full run rewrites the results file; ``--only`` replaces just the rows of the benchmarks it ran
and keeps the others, with a line under "Runs" for each run the file's rows come from.

Each entry of :data:`BENCHMARKS` is one function ``run(quick, smoke) -> list[Row]``: full
repeats and sizes by default, fewer with ``quick``, the least that still runs every code path
with ``smoke`` (seconds; the figures mean nothing, tests/test_benchmarks.py uses it).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Callable

from tabulate import tabulate

from cnncalc.atomic import write_text

from . import augmentation_throughput, cli_latency, cli_startup, html_page, keras_import, multihost, onnx_tool_peer, reading_scale, scale, schedule_overhead, torchvision_onnx, training_loop
from .harness import ROOT, Row, machine

BENCHMARKS: dict[str, Callable[[bool, bool], list[Row]]] = {
    "cli-latency": cli_latency.run,
    "cli-startup": cli_startup.run,
    "scale": scale.run,
    "schedule-overhead": schedule_overhead.run,
    "augmentation": augmentation_throughput.run,
    "keras-import": keras_import.run,
    "onnx-peer": onnx_tool_peer.run,
    "torchvision-onnx": torchvision_onnx.run,
    "reading-scale": reading_scale.run,
    "html": html_page.run,
    "training-loop": training_loop.run,
    "multi-host": multihost.run,
}

RESULTS = os.path.join(ROOT, "benchmarks", "RESULTS.md")
HEADERS = ("benchmark", "case", "median", "unit", "ratio", "ratio of", "goal", "met", "note")


def _figure(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    if value >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def _cells(r: Row) -> tuple[str, ...]:
    return (
        r.benchmark,
        r.case,
        _figure(r.value),
        r.unit,
        "" if r.ratio is None else f"{r.ratio:.2f}x",
        r.ratio_of,
        r.goal,
        {True: "yes", False: "NO", None: ""}[r.met],
        r.note,
    )


def table(rows: list[Row], fmt: str, kept: list[tuple[str, ...]] = ()) -> str:
    """The figures table: ``rows`` just measured, then ``kept`` cells from an earlier file."""
    cells = [_cells(r) for r in rows] + list(kept)
    return tabulate(cells, headers=HEADERS, tablefmt=fmt, disable_numparse=True)


def _missed_line(r: Row) -> str:
    return (f"- missed: {r.benchmark}: {r.case}: {r.ratio:.3f} (goal {r.goal})"
            + (f". {r.bound}" if r.bound else ""))


class Earlier:
    """What a results file already holds, to keep beside the rows of an ``--only`` run.

    ``rows`` are the figures table's cells, ``runs`` the lines under "Runs" (the run each row
    came from: date, mode, load, benchmarks), ``missed`` the Goals lines of missed goals. A file
    written before the "Runs" section existed gets one line made from its Machine section.
    """

    def __init__(self, text: str):
        sections = self._sections(text)
        self.rows = [
            tuple(cell.strip() for cell in line.strip().strip("|").split("|"))
            for line in sections.get("Figures", [])[2:]
            if line.startswith("|")
        ]
        self.rows = [cells for cells in self.rows if len(cells) == len(HEADERS)]
        self.runs = [line for line in sections.get("Runs", []) if line.startswith("- ")]
        if not self.runs:
            machine_lines = {
                line[2:].split(": ", 1)[0]: line[2:].split(": ", 1)[-1]
                for line in sections.get("Machine", []) if line.startswith("- ")
            }
            ran = machine_lines.get("benchmarks run", "")
            if ran:
                names, _, how = ran.partition(" (")
                self.runs = [_run_line(machine_lines.get("date", "?"), "(" + how,
                                       machine_lines.get("load average at start (1, 5, 15 min)", "n/a"),
                                       names.split(", "))]
        self.missed = [line for line in sections.get("Goals", []) if line.startswith("- missed: ")]

    @staticmethod
    def _sections(text: str) -> dict[str, list[str]]:
        sections: dict[str, list[str]] = {}
        current = None
        for line in text.splitlines():
            if line.startswith("## "):
                current = sections.setdefault(line[3:].strip(), [])
            elif current is not None and line.strip():
                current.append(line)
        return sections

    def without(self, labels: set[str], names: list[str]) -> "Earlier":
        """Drop the rows (and their missed goals) of a benchmark just run again: a label measured
        again, or one whose family (``scale`` of ``scale/chain``) is a rerun benchmark's name or
        a family just measured; and the rerun ``names`` from the run lines (a line left with
        none goes)."""
        families = set(names) | {label.split("/")[0] for label in labels}

        def gone(label: str) -> bool:
            return label in labels or label.split("/")[0] in families

        self.rows = [cells for cells in self.rows if not gone(cells[0])]
        self.missed = [line for line in self.missed
                       if not gone(line[len("- missed: "):].split(": ", 1)[0])]
        runs = []
        for line in self.runs:
            head, sep, ran = line.rpartition(": ")
            left = [n for n in ran.split(", ") if n and n not in names]
            if sep and left:
                runs.append(f"{head}: {', '.join(left)}")
        self.runs = runs
        return self


def _run_line(date: str, how: str, load: str, names: list[str]) -> str:
    return f"- {date} {how}, load at start {load}: {', '.join(names)}"


def results_markdown(rows: list[Row], about: dict, names: list[str], mode: str, seconds: float,
                     earlier: Earlier | None = None) -> str:
    """The results file: this run's rows, and (for ``--only``) the rows of ``earlier`` that this
    run did not measure again."""
    earlier = earlier.without({r.benchmark for r in rows}, names) if earlier else None
    command = ("`python -m benchmarks" + ("" if mode == "full" else f" --{mode}")
               + ("" if names == list(BENCHMARKS) else " --only " + " ".join(names)) + "`")
    this_run = _run_line(about.get("date", "?"), f"({mode} mode, {seconds:.0f} s)",
                         about.get("load average at start (1, 5, 15 min)", "n/a"), names)
    lines = [
        "# Benchmark results",
        "",
        f"Written by {command}" + (", with the rows of earlier runs it did not repeat" if earlier and earlier.rows else "")
        + "; what each figure means is in `benchmarks/README.md`. Medians of several repeats "
        "after warm-ups (`time.perf_counter`); ratios are measured side by side within one run "
        "(the Runs section says which run each benchmark's rows come from).",
        "",
        "## Machine",
        "",
        *[f"- {key}: {value}" for key, value in about.items()],
        "",
        "## Runs",
        "",
        this_run,
        *(earlier.runs if earlier else []),
        "",
        "## Figures",
        "",
        table(rows, "github", earlier.rows if earlier else ()),
        "",
    ]
    missed = [_missed_line(r) for r in rows if r.met is False] + (earlier.missed if earlier else [])
    met = sum(r.met is True for r in rows) + sum(cells[7] == "yes" for cells in (earlier.rows if earlier else []))
    lines += ["## Goals", ""]
    lines += missed or [f"- all {met} goals met"]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", metavar="NAME", choices=list(BENCHMARKS),
                        help=f"run only these ({', '.join(BENCHMARKS)})")
    level = parser.add_mutually_exclusive_group()
    level.add_argument("--quick", action="store_true", help="fewer repeats and sizes (figures are noisier)")
    level.add_argument("--smoke", action="store_true",
                       help="one repeat of the smallest sizes: checks that everything runs (figures mean nothing)")
    parser.add_argument("--output", default=RESULTS, help="results file (default benchmarks/RESULTS.md)")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

    names = args.only or list(BENCHMARKS)
    names = [n for n in BENCHMARKS if n in names]  # registry order, no duplicates
    mode = "smoke" if args.smoke else "quick" if args.quick else "full"
    about = machine()
    start = time.perf_counter()
    rows: list[Row] = []
    for name in names:
        print(f"running {name}{'' if mode == 'full' else f' ({mode})'} ...", file=sys.stderr, flush=True)
        rows += BENCHMARKS[name](args.quick, args.smoke)
    seconds = time.perf_counter() - start

    print(table(rows, "simple"))
    earlier = None
    if names != list(BENCHMARKS) and os.path.isfile(args.output):
        with open(args.output, encoding="utf-8") as fh:
            earlier = Earlier(fh.read())
    write_text(args.output, results_markdown(rows, about, names, mode, seconds, earlier))
    print(f"\nwrote {os.path.relpath(args.output)}", file=sys.stderr)
    return 1 if any(r.met is False for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
