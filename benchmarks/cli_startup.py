"""CLI start-up: CPU time of ``cnncalc vgg19 --table`` over the interpreter floor, ``python -c pass``.

The one figure a user feels on every call of a light command is the process' start-up, and its
floor is the interpreter's own start. Both commands run as fresh processes, **paired**: each round
runs the floor and ours back to back (the order alternating from round to round) and the ratio is
taken within the round, so the load of a shared machine cancels; the figure is the median of the
per-round ratios. The time is **CPU time** (user + system of the child, from the kernel's
``rusage``), which moves far less than the wall clock when other processes share the cores.
Goal (issue 28): ours at most **3x** the floor, in both variants of :data:`VARIANTS`: with the
package's bytecode cached (as pip installs it) and compiled from source at every start (a checkout
run with ``PYTHONDONTWRITEBYTECODE=1``, as in the development environment), each on its own copy
of the package so the tree's own ``__pycache__`` cannot decide which is measured.

A second part says where the time beyond the floor goes: ``python -X importtime`` of the same
command, the *self* time of each imported module summed per package (median over a few runs),
so a heavy import that creeps back onto the path shows up by name.
"""

from __future__ import annotations

import os
import re
import resource
import shutil
import statistics
import sys
import tempfile
from dataclasses import dataclass

from .harness import ROOT, Row, run_process, subprocess_env

CNNCALC = [sys.executable, "-m", "cnncalc.cli", "vgg19", "--table"]
PYTHON_BARE = [sys.executable, "-c", "pass"]
GOAL = 3.0
IMPORT_LINE = re.compile(r"import time:\s+(\d+)\s+\|\s+(\d+)\s+\|( *)(\S+)")
VARIANTS = {
    "installed": "bytecode cached, as pip installs it",
    "from source": "cnncalc compiled at every start: a checkout run with PYTHONDONTWRITEBYTECODE=1",
}


@dataclass(frozen=True)
class Copy:
    """A copy of the package and how children run it: from ``cwd`` (``python -m`` puts the working
    directory first on the path) in ``env``."""

    cwd: str
    env: dict

    def run(self, argv: list[str]):
        return run_process(argv, self.env, cwd=self.cwd)


def package_copy(tmp: str, variant: str) -> Copy:
    """A copy of ``cnncalc`` in ``tmp``, its bytecode written once and reused (``installed``) or
    never written (``from source``); the standard library's bytecode as the interpreter has it,
    for the floor and ours alike."""
    shutil.copytree(os.path.join(ROOT, "cnncalc"), os.path.join(tmp, "cnncalc"), ignore=shutil.ignore_patterns("__pycache__"))
    env = subprocess_env()
    env["PYTHONPATH"] = tmp + os.pathsep + env["PYTHONPATH"]
    copy = Copy(tmp, env)
    if variant == "installed":
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        copy.run(CNNCALC)  # writes the bytecode
    else:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    return copy


def cpu_seconds(argv: list[str], copy: Copy) -> float:
    """User + system CPU seconds of one child process run to completion."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    copy.run(argv)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def paired(rounds: int, copy: Copy) -> tuple[list[float], list[float]]:
    """CPU seconds of the floor and of ours, one of each per round, the order alternating."""
    bare, ours = [], []
    for k in range(rounds):
        if k % 2:
            ours.append(cpu_seconds(CNNCALC, copy))
            bare.append(cpu_seconds(PYTHON_BARE, copy))
        else:
            bare.append(cpu_seconds(PYTHON_BARE, copy))
            ours.append(cpu_seconds(CNNCALC, copy))
    return bare, ours


def import_self_times(argv: list[str], copy: Copy) -> dict[str, float]:
    """Seconds of self time per imported top-level package (``cnncalc.kinds`` kept apart) in one
    ``-X importtime`` run of ``argv`` (a ``-m`` or ``-c`` command)."""
    done = copy.run([argv[0], "-X", "importtime", *argv[1:]])
    totals: dict[str, float] = {}
    for line in done.stderr.splitlines():
        m = IMPORT_LINE.match(line)
        if not m:
            continue
        name = m.group(4)
        parts = name.split(".")
        key = ".".join(parts[:2]) if parts[0] == "cnncalc" and len(parts) > 1 else parts[0]
        totals[key] = totals.get(key, 0.0) + int(m.group(1)) / 1e6
    return totals


def where_the_time_goes(runs: int, copy: Copy) -> list[tuple[str, float]]:
    """Median self time per package, for the packages ``cnncalc vgg19 --table`` imports beyond
    ``python -c pass``, largest first."""
    floor = set(import_self_times(PYTHON_BARE, copy))
    samples = [import_self_times(CNNCALC, copy) for _ in range(runs)]
    keys = {k for s in samples for k in s if k not in floor}
    medians = {k: statistics.median(s.get(k, 0.0) for s in samples) for k in keys}
    return sorted(medians.items(), key=lambda kv: -kv[1])


def run(quick: bool = False, smoke: bool = False) -> list[Row]:
    rounds, import_runs, shown = (1, 1, 3) if smoke else (7, 3, 8) if quick else (21, 5, 10)
    name = "cli-startup"
    rows, imports = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for variant, meaning in VARIANTS.items():
            copy = package_copy(os.path.join(tmp, variant.replace(" ", "-")), variant)
            if "143,667,240" not in copy.run(CNNCALC).stdout:  # the real table, or the timing means nothing
                raise RuntimeError("cnncalc vgg19 --table did not print VGG19's 143,667,240 parameters")
            cpu_seconds(PYTHON_BARE, copy)  # warm the file cache for both
            bare, ours = paired(rounds, copy)
            ratios = [o / b for o, b in zip(ours, bare) if b > 0]
            ratio = statistics.median(ratios)
            quartiles = statistics.quantiles(ratios, n=4) if len(ratios) >= 4 else []
            rows += [
                Row(name, f"python -c pass, {variant} (CPU time, the floor)", statistics.median(bare), "s CPU", note=f"{rounds} rounds; {meaning}"),
                Row(name, f"cnncalc vgg19 --table, {variant} (CPU time)", statistics.median(ours), "s CPU",
                    ratio=ratio, ratio_of="cnncalc / python -c pass, paired", goal=f"<= {GOAL:g}x", met=ratio <= GOAL,
                    note=f"median of {rounds} per-round ratios" + (f" (quartiles {quartiles[0]:.2f}x-{quartiles[2]:.2f}x)" if quartiles else ""),
                    bound="the interpreter start and the modules the table path needs (the import rows)"),
            ]
            if variant == "installed":  # listed after both variants
                for package, seconds in where_the_time_goes(import_runs, copy)[:shown]:
                    imports.append(Row(name, f"import {package} (self time under -X importtime)", max(seconds * 1000, 1e-6), "ms",
                                    note=f"median of {import_runs} runs, bytecode cached; -X importtime inflates every figure: read them against each other"))
    return rows + imports
