"""The start-up handshake of ``--distribute multi-host``: every process meets process 0 first.

Why before ``jax.distributed.initialize``: JAX's runtime ends a process with a fatal native error
(no Python exception, a C++ stack dump, exit 134) when the coordinator never answers or a peer
never arrives, and it never compares the processes' settings. So the processes meet on the
coordinator's port first, over a plain TCP socket: process 0 listens, every other process
connects (retrying until the start timeout) and sends one JSON line: its process id, the number
of processes it was told, its settings (the resolved experiment settings and the data's sizes)
or the one-line error it already met (a missing dataset, a run directory that cannot be
resumed). Process 0 compares them with its own and answers every process with one verdict:
``ok``, ``done`` (nothing to do: a finished run) or the first error, one line naming the process
it concerns. Every process then stops together, or goes on to start JAX's runtime on the same
port (process 0 closes its socket first; the peers' JAX clients retry until the runtime listens).

Nothing here imports JAX or Keras.
"""

from __future__ import annotations

import json
import socket
import time
from dataclasses import dataclass

MAX_MESSAGE = 1 << 20  # a settings line is a few kilobytes; a peer that sends more is not one of ours


class RendezvousError(RuntimeError):
    """The processes cannot start together; the message is one line naming the cause."""


@dataclass(frozen=True)
class Verdict:
    """What process 0 decided for everyone: ``state`` is ``ok``, ``done`` or ``error``, ``message`` one line."""

    state: str
    message: str = ""


def parse_address(address: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[IPv6]:PORT`` too) as ``(host, port)``; a one-line error otherwise."""
    host, sep, port = str(address).rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise RendezvousError(f"--coordinator must be HOST:PORT with a port in 1..65535, got '{address}'")
    return host, int(port)


def meet(address: str, processes: int, process: int, settings: dict | None, error: str | None, timeout: float, *, done: str | None = None) -> Verdict:
    """Meet the other processes at ``address``; every process gets process 0's verdict.

    ``settings`` must be equal on every process (JSON-comparable); ``error`` is this process's own
    failure so far (then ``settings`` may be None), reported to all; ``done`` (process 0 only) says
    that there is nothing to do, and why (a finished run). Process 0 waits up to
    ``timeout`` seconds for the others; another process tries to reach process 0 for up to
    ``timeout`` seconds and then waits for the verdict as long again.
    """
    host, port = parse_address(address)
    if processes == 1:
        return _judge({0: {"settings": settings, "error": error, "done": done}})
    if process == 0:
        return _host(port, processes, {"settings": settings, "error": error, "done": done}, timeout, address)
    return _join(host, port, address, processes, process, settings, error, timeout)


def _host(port: int, processes: int, own: dict, timeout: float, address: str) -> Verdict:
    listener = _listen(port)
    peers: dict[int, socket.socket] = {}
    hellos = {0: own}
    problems: dict[int, str] = {}
    deadline = time.monotonic() + timeout
    try:
        while len(hellos) < processes and time.monotonic() < deadline:
            listener.settimeout(max(0.05, deadline - time.monotonic()))
            try:
                conn, _ = listener.accept()
            except (socket.timeout, InterruptedError):
                continue
            try:
                hello = _receive(conn, deadline)
            except (OSError, ValueError):
                conn.close()  # a stray connection (a port scanner, a health check): not one of ours
                continue
            who = hello.get("process_id")
            if not isinstance(who, int) or who in peers or who == 0 or not 0 <= who < max(processes, int(hello.get("num_processes") or 0)):
                problems.setdefault(-1, f"two processes were started with --process-id {who}" if who in peers or who == 0
                                    else f"a process was started with --process-id {who}, outside 0..{processes - 1}")  # fmt: skip
                _send(conn, {"state": "error", "message": problems[-1]})
                conn.close()
                continue
            if hello.get("num_processes") != processes:
                problems.setdefault(who, f"process {who} was started with --num-processes {hello.get('num_processes')}, process 0 with {processes}")
            peers[who] = conn
            hellos[who] = hello
        missing = [p for p in range(processes) if p not in hellos]
        if missing:
            names = ", ".join(map(str, missing))
            verdict = Verdict("error", f"process{'es' if len(missing) > 1 else ''} {names} of {processes} did not reach the coordinator at {address} within {timeout:g} s")
        elif problems:
            verdict = Verdict("error", problems[min(problems)])
        else:
            verdict = _judge(hellos)
        for conn in peers.values():
            try:
                _send(conn, {"state": verdict.state, "message": verdict.message})
                conn.settimeout(5.0)
                conn.recv(1)  # the peer closes first, so the port is free of TIME_WAIT for JAX's runtime
            except OSError:
                pass
        return verdict
    finally:
        for conn in peers.values():
            conn.close()
        listener.close()


def _judge(hellos: dict) -> Verdict:
    """The verdict on every process's hello: the first error in process order, else process 0's
    ``done``, else a settings mismatch (named by the first setting that differs), else ``ok``."""
    for who in sorted(hellos):
        if hellos[who].get("error"):
            return Verdict("error", f"process {who}: {hellos[who]['error']}")
    if hellos[0].get("done"):
        return Verdict("done", str(hellos[0]["done"]))
    base = hellos[0]["settings"]
    for who in sorted(hellos):
        other = hellos[who]["settings"]
        if other != base:
            return Verdict("error", f"process {who} was started with other settings than process 0: {_difference(base, other)}")
    return Verdict("ok")


def _difference(a, b) -> str:
    """The first setting in which ``b`` differs from ``a``, as ``key: A (process 0) vs B``."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b), key=str):
            if a.get(key) != b.get(key):
                if isinstance(a.get(key), dict) and isinstance(b.get(key), dict):
                    return f"{key}.{_difference(a[key], b[key])}"
                return f"{key} {json.dumps(a.get(key))} (process 0) vs {json.dumps(b.get(key))}"
    return f"{json.dumps(a)[:80]} vs {json.dumps(b)[:80]}"


def _join(host: str, port: int, address: str, processes: int, process: int, settings, error, timeout: float) -> Verdict:
    deadline = time.monotonic() + timeout
    conn = None
    while conn is None:
        try:
            conn = socket.create_connection((host, port), timeout=max(0.1, min(2.0, deadline - time.monotonic())))
        except OSError as exc:
            if time.monotonic() >= deadline:
                reason = exc.strerror or type(exc).__name__
                raise RendezvousError(f"no coordinator (process 0) answered at {address} within {timeout:g} s ({reason}): start process 0 there, or correct --coordinator") from None
            time.sleep(0.2)
    try:
        _send(conn, {"process_id": process, "num_processes": processes, "settings": settings, "error": error})
        answer = _receive(conn, time.monotonic() + timeout + 10.0)
    except (OSError, ValueError) as exc:
        raise RendezvousError(f"the coordinator at {address} closed the connection before the processes agreed ({exc})") from None
    finally:
        conn.close()
    return Verdict(str(answer.get("state", "error")), str(answer.get("message", "")))


def _listen(port: int) -> socket.socket:
    """A listening socket on every interface at ``port``, as JAX's runtime binds it next."""
    try:
        listener = socket.create_server(("", port), family=socket.AF_INET6, dualstack_ipv6=True) if socket.has_dualstack_ipv6() else socket.create_server(("", port))
    except OSError as exc:
        raise RendezvousError(f"process 0 cannot listen on port {port} for the other processes: {exc.strerror or exc}") from None
    return listener


def _send(conn: socket.socket, message: dict) -> None:
    conn.sendall(json.dumps(message).encode() + b"\n")


def _receive(conn: socket.socket, deadline: float) -> dict:
    """One JSON object line from ``conn`` before ``deadline``; ValueError for anything else."""
    data = b""
    while not data.endswith(b"\n"):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise ValueError("no answer in time")
        conn.settimeout(remaining)
        chunk = conn.recv(65536)
        if not chunk:
            raise ValueError("connection closed")
        data += chunk
        if len(data) > MAX_MESSAGE:
            raise ValueError("message too long")
    message = json.loads(data)
    if not isinstance(message, dict):
        raise ValueError("not a JSON object")
    return message
