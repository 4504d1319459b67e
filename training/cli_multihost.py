"""The multi-host side of ``cnntrain``: every process runs the same command; process 0 writes the run.

``cnntrain EXPERIMENT ... --distribute multi-host`` and ``cnntrain resume DIR --distribute
multi-host`` go through the same steps on every process, and every step before training ends on
every process with the same one-line error (exit 2) when something is wrong, before any run
directory is written:

1. alone: the JAX backend, launch values that can work, a cluster to join
   (:func:`training.multihost.prepare`);
2. alone: process 0 checks that the run directory can take the run (or be resumed, or is
   finished: then every process is done); every process loads its data;
3. together: the handshake compares every process's settings and data with process 0's, then JAX's
   runtime starts (:func:`training.multihost.start`);
4. together: the batch sizes must split among the devices of all processes;
5. process 0 takes the run directory's lock, writes ``config.json`` (with the number of
   processes and devices) and trains in it; every other process trains the same recipe in a
   private directory (:mod:`training.multihost.peers`), for a resume a copy of the run taken
   before process 0 writes anything. The other processes keep the native notices on their
   terminal (``native.log`` is the run's, process 0's): should process 0 die outright, JAX's
   runtime ends them with a native fatal error, which must not vanish into a private file.
"""

from __future__ import annotations

import contextlib
import sys
import zlib

from .cli import EXIT_OK, Terminated, _execute, _first_line, refuse_a_started_run, require, resumable


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _silent(message: str) -> None:
    """The other processes log nothing per epoch: process 0 says it once for all."""


def settings(config: dict, data) -> dict:
    """What must be equal on every process: the run's settings (paths apart: each machine has its
    own), the data's sizes and a checksum of its labels and of a sample of its images, the versions."""
    import jax
    import keras
    import numpy as np

    from .experiments import PATH_OPTIONS

    kept = {k: v for k, v in config.items() if k not in PATH_OPTIONS and k != "cluster"}
    step = max(1, len(data.x_train) // 64)
    checksum = 0
    for array in (data.y_train, data.y_val, data.y_test, np.ascontiguousarray(data.x_train[::step])):
        checksum = zlib.crc32(np.ascontiguousarray(array).tobytes(), checksum)
    shape = {"train": len(data.x_train), "validation": len(data.x_val), "test": len(data.x_test), "image": list(data.input_shape), "checksum": checksum}
    return {"config": kept, "data": shape, "versions": {"keras": keras.__version__, "jax": jax.__version__, "numpy": np.__version__}}


def _local_checks(work) -> str | None:
    """Run ``work()``; its one-line error (carried to every process by the handshake), or None."""
    from .runs import RunError

    try:
        work()
    except (RunError, ValueError, OSError) as exc:
        return _first_line(exc)
    return None


def run_experiment(exp, config: dict, run, launch, args) -> int:
    """``cnntrain EXPERIMENT --distribute multi-host`` on this process."""
    from . import multihost
    from .experiments import Context, check_data
    from .keras_backend import keep_tensorflow_out

    launch = multihost.prepare(launch)
    keep_tensorflow_out()
    lead = launch.process_id == 0
    ctx = Context(config, run, verbose=0 if args.quiet or not lead else 1, log=_stderr if lead else _silent)
    found: dict = {}

    def checks():
        if lead:
            refuse_a_started_run(run)
        data = ctx.dataset()
        check_data(exp, config, data)
        found["settings"] = settings(config, data)

    error = _local_checks(checks)
    cluster = multihost.start(launch, found.get("settings"), error=error, verbose=args.verbose)
    with _leaving():
        return _train_new(exp, config, run, cluster, ctx, args, lead)


@contextlib.contextmanager
def _leaving():
    """Around everything after the runtime started: a normal end waits for every process and
    leaves in order (:func:`training.multihost.finish`); an error leaves at once, still in order."""
    from . import multihost

    try:
        yield
    except BaseException as exc:
        reason = "terminated (SIGTERM)" if isinstance(exc, Terminated) else _first_line(exc)
        multihost.leave(reason)
        raise
    multihost.finish()


def _train_new(exp, config, run, cluster, ctx, args, lead: bool) -> int:
    from . import multihost
    from .experiments import Context
    from .runs import RunDir

    multihost.check_batch_sizes(config, cluster)
    config = {**config, "cluster": cluster.record()}
    if lead:
        with run.locked():
            refuse_a_started_run(run)  # again, under the lock
            if run.exists("config.json"):
                print(f"starting again in '{run.path}': its earlier run stopped before its first epoch ({run.status().get('state')})", file=sys.stderr)
            run.create(config, overwrite=True)
            print(f"run directory: {run.path} (process 0 of {cluster.processes}, {cluster.devices} devices)", file=sys.stderr)
            code = _execute(exp, Context(config, run, verbose=ctx.verbose, log=_stderr, _data=ctx._data), args.verbose, prelude=cluster.startup_log)
    else:
        peer = RunDir(multihost.private_directory(run.path, cluster.process, resume=False))
        peer.create(config)
        print(f"process {cluster.process} of {cluster.processes}: training with process 0, which writes the run directory", file=sys.stderr)
        code = _execute(exp, Context(config, peer, verbose=0, log=_silent, _data=ctx._data), True, announce=False)
    return code


def resume(run, launch, args) -> int:
    """``cnntrain resume DIR --distribute multi-host`` on this process."""
    from . import multihost
    from .experiments import Context, check_config
    from .keras_backend import keep_tensorflow_out
    from .runs import RunError

    launch = multihost.prepare(launch)
    keep_tensorflow_out()
    lead = launch.process_id == 0
    found: dict = {}
    with contextlib.ExitStack() as stack:

        def checks():
            config, exp = resumable(run)
            if config.get("distribute") != "multi-host":
                raise RunError(f"'{run.path}' was not trained with --distribute multi-host (its config.json says {config.get('distribute')}): resume it as it was started")
            if lead:
                stack.enter_context(run.locked())
                if run.status().get("state") == "finished" and run.exists("results.json"):
                    found["done"] = f"run '{run.path}' already finished; nothing to resume"
                    return
            try:
                check_config(exp, config)
            except (RunError, ValueError, TypeError) as exc:
                raise RunError(f"'{run.file('config.json')}': {exc}") from None
            require("cnntrain resume", exp.requires)
            ctx = Context(config, run, resume=True, verbose=0 if args.quiet or not lead else 1, log=_stderr if lead else _silent)
            found.update(exp=exp, config=config, ctx=ctx, settings=settings(config, ctx.dataset()))

        error = _local_checks(checks)
        cluster = multihost.start(launch, found.get("settings"), error=error, done=found.get("done"), verbose=args.verbose)
        if isinstance(cluster, str):  # process 0 found the run finished
            print(cluster, file=sys.stderr)
            return EXIT_OK
        with _leaving():
            return _resume_run(run, cluster, found, args, lead)


def _resume_run(run, cluster, found: dict, args, lead: bool) -> int:
    from . import multihost
    from .experiments import Context
    from .runs import RunDir

    exp, config, ctx = found["exp"], found["config"], found["ctx"]
    multihost.check_batch_sizes(config, cluster)
    if lead and config.get("cluster") not in (None, cluster.record()):
        was = config["cluster"]
        print(f"resuming on {cluster.processes} processes, {cluster.devices} devices (the run started on {was.get('processes')}, {was.get('devices')}): "
              "the data order and global batch are the same, metrics.json records the new numbers", file=sys.stderr)  # fmt: skip
    if lead:
        multihost.barrier("cnntrain: the other processes copied the run")  # process 0 writes nothing before
        return _execute(exp, ctx, args.verbose, prelude=cluster.startup_log)
    peer = RunDir(multihost.private_directory(run.path, cluster.process, resume=True))
    multihost.barrier("cnntrain: the other processes copied the run")
    print(f"process {cluster.process} of {cluster.processes}: resuming with process 0, which writes the run directory", file=sys.stderr)
    return _execute(exp, Context(config, peer, resume=True, verbose=0, log=_silent, _data=ctx._data), True, announce=False)
