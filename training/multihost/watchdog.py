"""A lost process: name it, mark the run interrupted, stop every survivor within a bounded time.

What happens without this module when one of the processes dies (``kill -9``, a crashed machine):
the survivors that were waiting in a collective get an error from the collectives library
(``Gloo AllGather failed: ... Connection reset by peer``) that names an address, not a process;
a survivor that was busy elsewhere, or whose peer hangs without dying, waits in its next
collective for ever; and JAX's runtime, once its heartbeat declares the process dead, ends every
survivor with a native fatal error (a C++ stack dump, exit 134) before Python can write anything.
:mod:`.runtime` starts the runtime in JAX's *recoverable* mode, which drops that last behaviour,
and this module supplies the rest:

- a daemon thread asks JAX's coordination service which processes are alive, every half second
  (the service answers once every live process has asked, so the processes' threads keep pace;
  it declares a process dead after ``--heartbeat-timeout`` seconds without its heartbeat); a
  process that left, or a coordination service that stopped answering (process 0 hosts it), is
  recorded as lost;
- the main thread, when an operation fails (:func:`peer_loss`), waits up to the heartbeat timeout
  for that record and turns the failure into :class:`PeerLost`, a ``KeyboardInterrupt``: the loop
  marks the run ``interrupted`` with its completed epochs, exactly as on Ctrl-C, and ``cnntrain``
  prints one line naming the lost process and exits :data:`EXIT_PEER_LOST`;
- when the main thread does not get there (it is stuck in a collective whose peer hangs), the
  thread itself marks the runs registered with :func:`working_in` interrupted, prints the same
  line and ends the process (``os._exit``) after a grace period;
- process 0 hosts the coordination service, and a process that outlives it ends in a native fatal
  error: so when process 0 stops early (an error, SIGTERM, a lost peer) it says so in JAX's
  key-value store (:func:`announce_stop`) and waits for the others to leave before it ends; their
  threads read it and stop them as above ("process 0 stopped (...)"). Only a process 0 that dies
  outright (``kill -9``) takes the others down with that native error.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading

EXIT_PEER_LOST = 75  # sysexits.h EX_TEMPFAIL: a temporary failure, resume to continue
POLL_SECONDS = 0.5
GRACE_SECONDS = 10.0  # how long the main thread has to handle a loss itself before the thread ends the process
# Words of the errors a collective or the coordination service raises when a peer is gone.
_TRANSPORT_WORDS = ("gloo", "connection", "unavailable", "deadline", "coordination", "heartbeat", "peer", "socket", "closed")


class PeerLost(KeyboardInterrupt):
    """Another process of a multi-host run is gone; the run stops as on Ctrl-C (interrupted)."""


_lost: str | None = None
_lost_event = threading.Event()
_handled = threading.Event()
_runs: list = []  # the RunDirs this process works in, outermost first (for the thread's own stop)
_lock = threading.Lock()


def start(cluster) -> None:
    """Start watching the other processes of ``cluster`` (a daemon thread)."""
    if cluster.processes > 1:
        threading.Thread(target=_watch, args=(cluster,), name="cnntrain-watchdog", daemon=True).start()


_stopped = threading.Event()
_lost_processes: list[int] = []


def stop() -> None:
    """Stop watching (the run is over, the process disconnects)."""
    _stopped.set()


def coordinator_lost() -> bool:
    """True once process 0, which hosts JAX's coordination service, is lost."""
    return 0 in _lost_processes


def lost() -> str | None:
    """The description of the lost process, once one is lost."""
    return _lost


@contextlib.contextmanager
def working_in(run):
    """Register ``run`` (a RunDir) as one this process works in, for the stop of :func:`_stop_from_thread`."""
    with _lock:
        _runs.append(run)
    try:
        yield run
    finally:
        with _lock:
            if run in _runs:
                _runs.remove(run)


def peer_loss(exc: BaseException) -> PeerLost | None:
    """The :class:`PeerLost` behind ``exc`` when a process of the cluster is lost, else None.

    Without a cluster, or for an error that does not look like a failed collective, answers at
    once; otherwise waits up to the heartbeat timeout (plus a margin) for the watchdog's record.
    """
    from .runtime import current

    cluster = current()
    if cluster is None or cluster.processes == 1 or isinstance(exc, KeyboardInterrupt):
        return None
    text = str(exc).lower()
    if _lost is None and not any(word in text for word in _TRANSPORT_WORDS):
        return None
    if not _lost_event.wait(cluster.heartbeat_timeout + 5.0):
        return None
    _handled.set()
    return PeerLost(_lost)


def _watch(cluster) -> None:
    global _lost
    from jax._src.distributed import global_state  # the client jax.distributed.initialize made

    everyone = list(range(cluster.processes))
    while not _stopped.wait(POLL_SECONDS):
        client = global_state.client
        if client is None:  # the runtime was shut down: the run is over
            return
        try:
            alive = set(client.get_live_nodes(everyone))
        except Exception as exc:  # noqa: BLE001 - the service itself is gone: process 0 hosted it
            if global_state.client is None:
                return
            missing, why = [0], f"its coordination service stopped answering ({' '.join(str(exc).split())[:80]})"
        else:
            missing = [p for p in everyone if p not in alive]
            why = f"it stopped, or sent no heartbeat for {cluster.heartbeat_timeout} s"
            stop = _stop_note(client) if not missing and cluster.process != 0 else None
            if stop is not None and not _stopped.is_set():  # process 0 stopped (an error, a signal) and waits for us to leave
                _lost = f"process 0 stopped ({stop})"
                _lost_event.set()
                if not _handled.wait(GRACE_SECONDS):
                    _stop_from_thread()
                return
        if missing and not _stopped.is_set():
            _lost_processes.extend(missing)
            names = ", ".join(map(str, missing))
            _lost = f"lost process{'es' if len(missing) > 1 else ''} {names} of {cluster.processes} ({why})"
            _lost_event.set()
            if not _handled.wait(GRACE_SECONDS):
                _stop_from_thread()
            return


STOP_KEY = "cnntrain/stop"  # set by process 0 in JAX's key-value store when it stops before the end


def announce_stop(reason: str) -> None:
    """Process 0 stops early: tell the other processes (they leave, and process 0 may then end;
    a process that outlives the coordination service process 0 hosts ends in a native fatal error)."""
    from jax._src.distributed import global_state

    try:
        global_state.client.key_value_set(STOP_KEY, reason)
    except Exception:  # noqa: BLE001 - the others will find out through their collectives
        pass


def _stop_note(client) -> str | None:
    try:
        note = client.key_value_try_get(STOP_KEY)
    except Exception:  # noqa: BLE001 - not set (NOT_FOUND)
        return None
    return note.decode() if isinstance(note, bytes) else str(note)


def _stop_from_thread() -> None:
    """The main thread did not handle the loss (it waits in a collective that will never end):
    mark the registered runs interrupted, print the line, end the process."""
    with _lock:
        runs = list(_runs)
    for run in reversed(runs):  # the innermost (a sweep's sub-run) first, as the loop and execute() would
        try:
            checkpoint = run.latest_checkpoint()
            run.set_status("interrupted", **({"completed_epochs": int(checkpoint["epoch"])} if checkpoint else {}), reason=_lost)
        except Exception:  # noqa: BLE001 - the line below still says what happened
            pass
    print(f"error: {_lost}; the last completed epoch is saved (cnntrain resume DIR continues, on every process)", file=sys.stderr, flush=True)
    from .peers import remove_all

    remove_all()
    os._exit(EXIT_PEER_LOST)
