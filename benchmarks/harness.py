"""Timing, result rows and the machine description (the results file is written by cnncalc.atomic).

Every figure is the median of several repeats after warm-ups, timed with ``time.perf_counter``.
Benchmarks report ratios measured side by side in one run, never absolute goals in seconds.
"""

from __future__ import annotations

import gc
import os
import platform
import statistics
import subprocess
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import metadata
from typing import Callable

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@dataclass(frozen=True)
class Row:
    """One line of the results table.

    ``value`` is the measured figure in ``unit`` (a median). ``ratio`` compares it with something
    named in ``ratio_of`` (e.g. ``"keras / cnncalc"``); ``goal`` says what the ratio should be and
    ``met`` whether it is (``None`` when there is no goal). ``bound`` says, for a goal that can
    be missed, what limits the figure (printed under Goals in RESULTS.md when it is missed).
    """

    benchmark: str
    case: str
    value: float
    unit: str
    ratio: float | None = None
    ratio_of: str = ""
    goal: str = ""
    met: bool | None = None
    note: str = ""
    bound: str = ""


@dataclass(frozen=True)
class Timing:
    """Median and spread of ``repeats`` timed calls (seconds)."""

    median: float
    minimum: float
    maximum: float
    repeats: int


def measure(fn: Callable[[], object], *, repeats: int = 5, warmup: int = 1, setup: Callable[[], object] | None = None) -> Timing:
    """Time ``fn()`` ``repeats`` times after ``warmup`` untimed calls; ``setup()`` runs untimed before each.

    A full garbage collection runs before each call so one call's garbage is not charged to the next.
    """
    for _ in range(warmup):
        if setup:
            setup()
        fn()
    times = []
    for _ in range(repeats):
        if setup:
            setup()
        gc.collect()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return Timing(statistics.median(times), min(times), max(times), repeats)


def subprocess_env() -> dict:
    """Environment for child processes: this checkout first on the path, TensorFlow's logs quiet."""
    env = dict(os.environ)
    env["PYTHONPATH"] = ROOT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    env.setdefault("KERAS_BACKEND", "tensorflow")
    return env


def run_process(argv: list[str], env: dict | None = None, cwd: str = ROOT) -> subprocess.CompletedProcess:
    """Run a child process to completion (in :func:`subprocess_env` and the repository root unless
    told otherwise); a non-zero exit is an error of the benchmark."""
    done = subprocess.run(argv, capture_output=True, text=True, env=env or subprocess_env(), cwd=cwd)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
        raise RuntimeError(f"{' '.join(argv[:4])} ... exited {done.returncode}: {' | '.join(tail)}")
    return done


# --------------------------------------------------------------------------------------------
# Machine description
# --------------------------------------------------------------------------------------------

PACKAGES = ("cnncalc", "sympy", "tabulate", "numpy", "keras", "tensorflow-cpu", "tensorflow", "jax", "jaxlib",
            "torch", "onnx", "onnx-tool", "hypothesis")


def cpu_model() -> str:
    """The CPU's ``model name`` from /proc/cpuinfo (platform.processor() elsewhere)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def machine() -> dict:
    """What the figures were measured on: CPU, cores, OS, Python, package versions, date, load."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        usable = os.cpu_count()
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    try:
        load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        load = "n/a"
    return {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu_model(),
        "cores": f"{os.cpu_count()} ({usable} usable)",
        "os": platform.platform(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "packages": ", ".join(f"{k} {v}" for k, v in versions.items()),
        "load average at start (1, 5, 15 min)": load,
    }
