"""``python -m benchmarks [--only NAME ...] [--quick | --smoke] [--output PATH]``: run, print, record.

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


def table(rows: list[Row], fmt: str) -> str:
    cells = [
        (
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
        for r in rows
    ]
    return tabulate(cells, headers=HEADERS, tablefmt=fmt, disable_numparse=True)


def results_markdown(rows: list[Row], about: dict, names: list[str], mode: str, seconds: float) -> str:
    lines = [
        "# Benchmark results",
        "",
        "Written by `python -m benchmarks" + ("" if mode == "full" else f" --{mode}")
        + ("" if names == list(BENCHMARKS) else " --only " + " ".join(names))
        + "`; what each figure means is in `benchmarks/README.md`. Medians of several repeats "
        "after warm-ups (`time.perf_counter`); ratios are measured side by side in this one run.",
        "",
        "## Machine",
        "",
        *[f"- {key}: {value}" for key, value in about.items()],
        f"- benchmarks run: {', '.join(names)} ({mode} mode, {seconds:.0f} s)",
        "",
        "## Figures",
        "",
        table(rows, "github"),
        "",
    ]
    missed = [r for r in rows if r.met is False]
    lines += ["## Goals", ""]
    if missed:
        for r in missed:
            lines.append(f"- missed: {r.benchmark}: {r.case}: {r.ratio:.3f} (goal {r.goal})"
                         + (f". {r.bound}" if r.bound else ""))
    else:
        lines += [f"- all {sum(r.met is True for r in rows)} goals met"]
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
    write_text(args.output, results_markdown(rows, about, names, mode, seconds))
    print(f"\nwrote {os.path.relpath(args.output)}", file=sys.stderr)
    return 1 if any(r.met is False for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
