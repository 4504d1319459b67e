"""Start JAX's distributed runtime for ``--distribute multi-host`` and describe the cluster it made.

One call, :func:`start`, takes a process from its command line to a member of the cluster:

1. the launch parameters (:class:`Launch`): ``--coordinator HOST:PORT``, ``--num-processes N``,
   ``--process-id I``, or what JAX's cluster detection finds (Slurm, Open MPI, ...) for the ones
   not given;
2. the handshake of :mod:`.rendezvous`: every process meets process 0, which compares their
   settings and answers one verdict, so a bad start ends on every process with the same one-line
   error instead of a native crash or a hang;
3. ``jax.distributed.initialize`` with the start and heartbeat timeouts, and JAX's *recoverable*
   mode (without it the runtime ends every surviving process with a native fatal error the
   moment one process dies, before it can mark its run interrupted; see :mod:`.watchdog`);
4. ``keras.distribution.DataParallel`` over every device of every process, set globally, so that
   every model built afterwards has its variables replicated and its batches split on the batch
   axis. ``auto_shard_dataset=False``: each process hands Keras its own share of every global
   batch (:meth:`Cluster.local_part`), and Keras joins the shares into the global batch
   (``jax.make_array_from_process_local_data``).

The global batch is the one a single process would use: process ``p`` of ``P`` takes the
``p``-th of ``P`` contiguous slices of it, so the ``D`` devices (of all processes) hold the global
batch in order. Every batch is therefore a multiple of ``D``: :func:`check_batch_sizes` refuses
batch sizes that are not, and :meth:`Cluster.cut` shortens an epoch's last, smaller batch to a
multiple of ``D`` (the few samples cut sit out that epoch's pass; see docs/distributed.md).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from dataclasses import dataclass, field

from ..runs.rundir import RunError
from . import rendezvous

DEFAULT_START_TIMEOUT = 300.0  # seconds, JAX's own default initialization timeout
DEFAULT_HEARTBEAT_TIMEOUT = 100  # seconds, JAX's own default
# The settings whose values a multi-host run needs to be multiples of the number of devices.
BATCH_KEYS = ("batch_size", "b_min", "b_max", "b_lo", "b_hi", "max_physical_batch")


class ClusterError(RunError):
    """The cluster cannot start; the message is one line naming the cause."""


@dataclass(frozen=True)
class Launch:
    """Where this process belongs: the coordinator's address, the number of processes, its index.

    ``None`` values are filled by JAX's cluster detection (:meth:`detected`). ``start_timeout``
    bounds the wait for the other processes at start; ``heartbeat_timeout`` is how long a
    process may stay silent before the others count it as lost (JAX's heartbeat).
    """

    coordinator: str | None = None
    num_processes: int | None = None
    process_id: int | None = None
    start_timeout: float = DEFAULT_START_TIMEOUT
    heartbeat_timeout: int = DEFAULT_HEARTBEAT_TIMEOUT

    def check(self) -> None:
        """One-line :class:`ClusterError` for launch values that cannot work on any machine."""
        if self.num_processes is not None and not self.num_processes >= 1:
            raise ClusterError(f"--num-processes must be at least 1, got {self.num_processes}")
        if self.process_id is not None:
            top = f"0..{self.num_processes - 1}" if self.num_processes else "0 or more"
            if not (self.process_id >= 0 and (self.num_processes is None or self.process_id < self.num_processes)):
                raise ClusterError(f"--process-id must lie in {top} (--num-processes {self.num_processes}), got {self.process_id}")
        if self.coordinator is not None:
            try:
                rendezvous.parse_address(self.coordinator)
            except rendezvous.RendezvousError as exc:
                raise ClusterError(str(exc)) from None
        if not self.start_timeout > 0:
            raise ClusterError(f"--start-timeout must be positive, got {self.start_timeout}")
        if not self.heartbeat_timeout >= 1:
            raise ClusterError(f"--heartbeat-timeout must be at least 1 second, got {self.heartbeat_timeout}")

    def detected(self) -> Launch:
        """This launch with the values not given filled by JAX's cluster detection (Slurm, Open MPI,
        a TPU pod, Kubernetes), as ``jax.distributed.initialize`` would fill them."""
        if None not in (self.coordinator, self.num_processes, self.process_id):
            return self
        try:
            from jax._src import clusters  # what jax.distributed.initialize itself calls

            coordinator, count, index, _ = clusters.ClusterEnv.auto_detect_unset_distributed_params(
                self.coordinator, self.num_processes, self.process_id, None, None, int(self.start_timeout))
        except Exception as exc:  # noqa: BLE001 - any failure of the detection: say what to give instead
            detail = " ".join(str(exc).split())[:160]
            raise ClusterError(f"--distribute multi-host could not detect its cluster ({detail}): give --coordinator, --num-processes and --process-id") from None
        missing = [flag for flag, value in (("--coordinator", coordinator), ("--num-processes", count), ("--process-id", index)) if value is None]
        if missing:
            raise ClusterError(f"--distribute multi-host found no cluster (Slurm, Open MPI, ...) to take {', '.join(missing)} from: give {' and '.join(missing)}")
        found = Launch(str(coordinator), int(count), int(index), self.start_timeout, self.heartbeat_timeout)
        found.check()
        return found


@dataclass(frozen=True)
class Cluster:
    """The started cluster: this process's index, the number of processes and of devices."""

    process: int
    processes: int
    devices: int
    local_devices: int
    coordinator: str
    heartbeat_timeout: int
    startup_log: str = field(default="", repr=False)  # native notices written while the runtime started

    def record(self) -> dict:
        """What a run directory records about the cluster (config.json, metrics.json)."""
        return {"processes": self.processes, "devices": self.devices, "devices_per_process": self.local_devices}

    def cut(self, sizes) -> list[int]:
        """Batch sizes as the devices can split them: each cut down to a multiple of ``devices``,
        batches that become empty dropped."""
        d = self.devices
        return [b - b % d for b in sizes if b >= d]

    def local_part(self, n: int) -> slice:
        """This process's contiguous part of a global batch of ``n`` samples (``n`` a multiple of the devices)."""
        step = n // self.processes
        return slice(self.process * step, (self.process + 1) * step)

    def local_share(self, *arrays):
        """This process's share of a global batch given whole: the batch cut to a multiple of the
        devices, then this process's contiguous part of it."""
        n = len(arrays[0])
        n -= n % self.devices
        part = self.local_part(n)
        return tuple(a[part] for a in arrays)


_CLUSTER: Cluster | None = None
_ABANDONED = False  # process 0 is lost: this process cannot disconnect and must end with os._exit


def abandoned() -> bool:
    """True when this process lost process 0 and must end without JAX's exit handler (which would
    try to disconnect from the lost coordination service and end in a native fatal error)."""
    return _ABANDONED


def current() -> Cluster | None:
    """The cluster this process started (:func:`start`), or None in a single-process run."""
    return _CLUSTER


def check_batch_sizes(config: dict, cluster: Cluster) -> None:
    """One-line :class:`ClusterError` for a batch size of ``config`` that the devices cannot split evenly."""
    for key in BATCH_KEYS:
        value = config.get(key)
        if value is not None and int(value) % cluster.devices:
            raise ClusterError(f"--{key.replace('_', '-')} {value} does not split among the {cluster.devices} devices of "
                               f"{cluster.processes} processes: give a multiple of {cluster.devices}")  # fmt: skip


def prepare(launch: Launch) -> Launch:
    """The checks every process can make alone, then ``launch`` completed by cluster detection:
    launch values that can work, the JAX backend, a coordinator, a count and an index."""
    launch.check()
    from ..keras_backend import backend as keras_backend

    backend = keras_backend()
    if backend != "jax":
        raise ClusterError(f"--distribute multi-host needs the JAX backend (KERAS_BACKEND=jax); this process runs {backend}")
    return launch.detected()


def start(launch: Launch, settings: dict | None, *, error: str | None = None, done: str | None = None, verbose: bool = False) -> Cluster | str:
    """Join the cluster of ``launch`` (completed by :func:`prepare`, here if not yet): meet the other
    processes, start JAX's runtime, set ``DataParallel``.

    ``settings`` (JSON-comparable) must be equal on every process; ``error`` is this process's
    own failure so far (every process then stops with it); ``done`` (process 0) says there is
    nothing to do. Returns the :class:`Cluster`, or the ``done`` message when process 0 said so.
    Raises :class:`ClusterError` (one line) when the processes cannot start together.
    """
    global _CLUSTER
    if _CLUSTER is not None:
        raise ClusterError("the multi-host runtime is already started in this process")
    launch = prepare(launch)
    try:
        verdict = rendezvous.meet(launch.coordinator, launch.num_processes, launch.process_id, settings, error, launch.start_timeout, done=done)
    except rendezvous.RendezvousError as exc:
        raise ClusterError(str(exc)) from None
    if verdict.state == "error":
        raise ClusterError(verdict.message)
    if verdict.state == "done":
        return verdict.message
    startup_log = _initialize(launch, verbose)
    import jax
    import keras

    keras.distribution.set_distribution(keras.distribution.DataParallel(auto_shard_dataset=False))
    _CLUSTER = Cluster(jax.process_index(), jax.process_count(), jax.device_count(), jax.local_device_count(),
                       launch.coordinator, int(launch.heartbeat_timeout), startup_log)  # fmt: skip
    from . import watchdog

    watchdog.start(_CLUSTER)
    return _CLUSTER


def _initialize(launch: Launch, verbose: bool) -> str:
    """``jax.distributed.initialize`` in recoverable mode, then a first collective (which connects
    the collectives library); returns the native notices both wrote to the process's stdout and
    stderr (kept for the run's ``native.log``: the run directory does not exist yet)."""
    import jax

    jax.config.update("jax_enable_recoverability", True)
    # JAX's preemption service takes over SIGTERM (it notes a "preemption" and carries on), so a
    # process told to stop (Slurm's scancel, kill) would keep training: cnntrain's own handler
    # stops it as on Ctrl-C instead (the run is marked interrupted; the others stop as for a lost process).
    jax.config.update("jax_enable_preemption_service", False)
    kwargs = dict(coordinator_address=launch.coordinator, num_processes=launch.num_processes, process_id=launch.process_id,
                  initialization_timeout=int(max(1, launch.start_timeout)), heartbeat_timeout_seconds=int(launch.heartbeat_timeout),
                  shutdown_timeout_seconds=int(launch.heartbeat_timeout))  # fmt: skip

    def begin():
        jax.distributed.initialize(**kwargs)
        from jax.experimental import multihost_utils

        multihost_utils.sync_global_devices("cnntrain: started")  # Gloo says "Rank 0 is connected ..." on stdout

    if verbose:
        begin()
        return ""
    from cnncalc.native_stderr import redirected

    with tempfile.NamedTemporaryFile("r", prefix="cnntrain-start-", suffix=".log") as log:
        sys.stdout.flush()
        saved = os.dup(1)
        try:
            with redirected(log.name):
                os.dup2(2, 1)  # native stdout to the same log; Python's sys.stdout is not written meanwhile
                begin()
        finally:
            os.dup2(saved, 1)
            os.close(saved)
        return log.read()


def barrier(name: str) -> None:
    """Wait until every process of the cluster reaches the barrier ``name``."""
    if _CLUSTER is None or _CLUSTER.processes == 1:
        return
    from jax.experimental import multihost_utils

    multihost_utils.sync_global_devices(name)


def finish() -> None:
    """The end of a run on every process: wait for all of them, then leave (:func:`leave`)."""
    barrier("cnntrain: end of run")
    leave()


def leave(reason: str | None = None) -> None:
    """Disconnect from JAX's runtime in order: the other processes first, then process 0, which
    hosts the coordination service (a process whose service goes away first ends with a native
    fatal error). Process 0 waits for the others to disconnect, at most the heartbeat timeout
    and the watchdog's grace; with a ``reason`` (it stops early) it first tells them to stop
    (:func:`.watchdog.announce_stop`). Without a reachable service (process 0 is lost) there is
    nothing to disconnect from."""
    if _CLUSTER is None or _CLUSTER.processes == 1:
        return
    import jax
    from jax._src.distributed import global_state

    from . import watchdog

    watchdog.stop()
    client = global_state.client
    if client is None:
        return
    if _CLUSTER.process != 0:
        if watchdog.coordinator_lost():
            global _ABANDONED
            _ABANDONED = True  # nothing to disconnect from: the process must end without JAX's exit handler
            return
        jax.distributed.shutdown()
        return
    # get_live_nodes returns once every live process has asked too, or has left: the others
    # do not ask any more, so it returns as they disconnect (or are declared dead).
    if reason is not None:
        watchdog.announce_stop(reason)
    everyone = list(range(_CLUSTER.processes))
    deadline = time.monotonic() + _CLUSTER.heartbeat_timeout + watchdog.GRACE_SECONDS + 5.0
    while time.monotonic() < deadline:
        try:
            if set(client.get_live_nodes(everyone)) <= {0}:
                break
        except Exception:  # noqa: BLE001 - the service cannot say: stop waiting
            break
        time.sleep(0.05)
    jax.distributed.shutdown()

