"""``--cpu-durations=N``: the CPU seconds each test costs, for a machine whose wall clock lies.

pytest's ``--durations`` reports wall time, which on a shared machine measures the neighbours as
much as the test. This plugin reads the kernel's ``rusage`` around every phase of every test
(setup, call, teardown): user + system time of this process (all its threads: TensorFlow's
thread pools included) plus that of the child processes it waited for (``RUSAGE_CHILDREN``: a
``subprocess.run`` of ``cnntrain``, bash and what bash waited for). A session-scoped fixture is
charged to the setup of the first test that asks for it, as ``--durations`` does.

At the end it prints the session's CPU time (collection included), the sum over tests, the sum of
the slowest ``N``, the split between ``slow`` and the rest, the CPU time per module, and the ``N``
tests that cost most, each with its wall time and CPU/wall. ``--cpu-durations-json=FILE`` also
writes every test's figures, for comparing two runs side by side:
``python tests/cpu_durations.py BEFORE.json AFTER.json [N]``.

What it cannot see: a process the test started and did not wait for (killed with SIGKILL and
never reaped, or a daemon left running) is charged to nobody; a grandchild is charged only when
its own parent waited for it (bash does); a child that lives across tests (the browser of a
module-scoped fixture) is charged to the phase that reaps it.

Opt-in (``tests/conftest.py`` registers it only when the option is given): a plain run pays
nothing for it.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time

import pytest


def cpu_seconds() -> float:
    """User + system CPU seconds of this process and of its waited-for children so far."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


class CpuDurations:
    """The plugin object (``config.pluginmanager.register``): one record per test."""

    def __init__(self, count: int, json_path: str | None):
        self.count = count
        self.json_path = json_path
        self.tests: dict[str, dict] = {}
        self.session_cpu0 = cpu_seconds()
        self.session_wall0 = time.perf_counter()

    def _record(self, item, phase: str):
        record = self.tests.setdefault(item.nodeid, {"cpu": {}, "wall": {}, "slow": item.get_closest_marker("slow") is not None})
        cpu0, wall0 = cpu_seconds(), time.perf_counter()
        yield
        record["cpu"][phase] = cpu_seconds() - cpu0
        record["wall"][phase] = time.perf_counter() - wall0

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_setup(self, item):
        yield from self._record(item, "setup")

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_call(self, item):
        yield from self._record(item, "call")

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_teardown(self, item):
        yield from self._record(item, "teardown")

    def pytest_terminal_summary(self, terminalreporter):
        session_cpu, session_wall = cpu_seconds() - self.session_cpu0, time.perf_counter() - self.session_wall0
        rows = sorted(((sum(r["cpu"].values()), sum(r["wall"].values()), nodeid, r) for nodeid, r in self.tests.items()), reverse=True)
        total = sum(row[0] for row in rows)
        slow = sum(row[0] for row in rows if row[3]["slow"])
        top = rows[: self.count]
        write = terminalreporter.write_line
        terminalreporter.section(f"CPU time (rusage, this process and its waited-for children): slowest {len(top)} of {len(rows)} tests")
        write(f"session: {session_cpu:.1f} s CPU, {session_wall:.1f} s wall (collection and start-up included)")
        write(f"tests: {total:.1f} s CPU; slowest {len(top)}: {sum(row[0] for row in top):.1f} s; marked slow: {slow:.1f} s; not slow: {total - slow:.1f} s")
        modules: dict[str, float] = {}
        for cpu, _, nodeid, _ in rows:
            module = nodeid.split("::")[0]
            modules[module] = modules.get(module, 0.0) + cpu
        write("per module (CPU s): " + ", ".join(f"{os.path.basename(m)} {s:.1f}" for m, s in sorted(modules.items(), key=lambda kv: -kv[1])))
        write(f"{'CPU s':>8} {'wall s':>8} {'CPU/wall':>8} {'setup':>7} {'call':>7}  test")
        for cpu, wall, nodeid, record in top:
            ratio = cpu / wall if wall > 0 else 0.0
            mark = " [slow]" if record["slow"] else ""
            write(f"{cpu:8.2f} {wall:8.2f} {ratio:8.2f} {record['cpu'].get('setup', 0):7.2f} {record['cpu'].get('call', 0):7.2f}  {nodeid}{mark}")
        if self.json_path:
            document = {"session": {"cpu": session_cpu, "wall": session_wall, "load": os.getloadavg()}, "tests": self.tests}
            tmp = f"{self.json_path}.tmp{os.getpid()}"
            with open(tmp, "w", encoding="utf-8") as fh:
                json.dump(document, fh, indent=1, sort_keys=True)
            os.replace(tmp, self.json_path)
            write(f"wrote {self.json_path}")


def _load(path: str) -> tuple[dict, dict]:
    with open(path, encoding="utf-8") as fh:
        document = json.load(fh)
    return document["session"], {nodeid: sum(r["cpu"].values()) for nodeid, r in document["tests"].items()}


def compare(before_path: str, after_path: str, count: int = 30) -> str:
    """Two ``--cpu-durations-json`` files side by side: the totals, then the tests that cost most in
    either run (a test absent from one run shows ``-`` there)."""
    (s0, before), (s1, after) = _load(before_path), _load(after_path)

    def top(costs):
        return sum(sorted(costs.values(), reverse=True)[:count])

    lines = [f"| | {before_path} | {after_path} |", "| --- | ---: | ---: |",
             f"| session CPU s (collection included) | {s0['cpu']:.1f} | {s1['cpu']:.1f} |",
             f"| tests | {len(before)} | {len(after)} |",
             f"| tests' CPU s | {sum(before.values()):.1f} | {sum(after.values()):.1f} |",
             f"| the {count} costliest tests' CPU s | {top(before):.1f} | {top(after):.1f} |", "",
             "| CPU s before | CPU s after | test |", "| ---: | ---: | --- |"]  # fmt: skip
    names = sorted(set(sorted(before, key=before.get, reverse=True)[:count]) | set(sorted(after, key=after.get, reverse=True)[:count]),
                   key=lambda n: -max(before.get(n, 0.0), after.get(n, 0.0)))  # fmt: skip
    for name in names:
        cost = lambda costs: f"{costs[name]:.2f}" if name in costs else "-"  # noqa: E731
        lines.append(f"| {cost(before)} | {cost(after)} | {name} |")
    return "\n".join(lines)


if __name__ == "__main__":
    if len(sys.argv) not in (3, 4):
        sys.exit("usage: python tests/cpu_durations.py BEFORE.json AFTER.json [N]")
    print(compare(sys.argv[1], sys.argv[2], *(int(n) for n in sys.argv[3:])))
