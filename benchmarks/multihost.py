"""Multi-host data parallelism on one machine: 1 process x 2 threads against 2 processes x 1 thread.

The same model (LeNet-5 from the cnncalc zoo on 32x32x1 images, SGD with momentum 0.9), the same
global batch and the same number of steps, fed the way ``cnntrain`` feeds JAX
(:func:`training.runs.feeding.host_batches`), under ``KERAS_BACKEND=jax``:

- ``1 process x 2 threads``: one process pinned to two cores (``os.sched_setaffinity``; XLA sizes
  its thread pools by the cores a process may use), the whole global batch in one step;
- ``2 processes x 1 thread``: two processes on 127.0.0.1, each pinned to one core, joined by
  ``training.multihost`` (the handshake, ``jax.distributed.initialize``, ``DataParallel``): each
  computes the gradient of its half of every global batch, the two gradients are summed by an
  all-reduce (Gloo over TCP on loopback), both apply the same update.

The figure of a variant is its **examples per second** in the steady state: the global batch times
the steps of an epoch over the epoch's wall time, the median of the epochs after the first (which
compiles the step). ``ratio`` is 2 processes' examples/s over 1 process's: above 1 the processes
beat the threads. The **all-reduce share** is measured inside the 2-process run: the wall time of
an all-reduce of buffers shaped like the model's gradients (``jax.lax.psum`` over the two
devices, ``shard_map``, compiled once, the median of 20 calls) over the time of one training step;
the all-reduce of a single float beside it is the part of that time that is latency (the
processes waiting for each other), not the size of the gradients.

Each variant runs in fresh child processes (``python -m benchmarks.multihost worker ...``); the
variants alternate over the rounds. No goal: the figures say what the loopback cluster costs and
where the time goes. A GPU changes everything here (NCCL instead of Gloo, one process per GPU);
see benchmarks/README.md for what was and was not measured.
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import time

from .harness import ROOT, Row

SIZES = {
    "full": dict(batch=128, steps=60, epochs=4, rounds=3),
    "quick": dict(batch=128, steps=30, epochs=3, rounds=1),
    "smoke": dict(batch=16, steps=3, epochs=2, rounds=1),
}
TIMEOUT = 600  # seconds for one child process


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(smoke: bool) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = ROOT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env["KERAS_BACKEND"] = "jax"
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if smoke:  # the figures mean nothing in smoke mode: compile fast
        env["XLA_FLAGS"] = (env.get("XLA_FLAGS", "") + " --xla_backend_optimization_level=0").strip()
    return env


def _children(specs: list[list[str]], smoke: bool) -> list[dict]:
    """Run ``python -m benchmarks.multihost worker ARGS`` for each spec together; their RESULT lines."""
    procs = [subprocess.Popen([sys.executable, "-m", "benchmarks.multihost", "worker", *spec], cwd=ROOT, env=_env(smoke),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for spec in specs]  # fmt: skip
    results = []
    try:
        for proc in procs:
            out, err = proc.communicate(timeout=TIMEOUT)
            if proc.returncode != 0:
                tail = " | ".join(err.strip().splitlines()[-4:])
                raise RuntimeError(f"benchmarks.multihost worker exited {proc.returncode}: {tail}")
            results.append(json.loads(next(line for line in out.splitlines() if line.startswith("RESULT "))[len("RESULT "):]))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    return results


def run(quick: bool = False, smoke: bool = False) -> list[Row]:
    size = SIZES["smoke" if smoke else "quick" if quick else "full"]
    cpus = sorted(os.sched_getaffinity(0))
    two = [cpus[0], cpus[1 % len(cpus)]]
    common = [str(size["batch"]), str(size["steps"]), str(size["epochs"])]
    threads, processes, allreduce, step, latency = [], [], [], [], []
    for _ in range(size["rounds"]):
        single = [["single", f"{two[0]},{two[1]}", *common]]
        port = str(_free_port())
        cluster = [["cluster", str(cpu), port, str(p), *common] for p, cpu in enumerate(two)]
        if smoke:  # the figures mean nothing: all three processes at once
            one, *pair = _children(single + cluster, smoke)
        else:  # one variant at a time, so that neither competes with the other for the cores
            (one,) = _children(single, smoke)
            pair = _children(cluster, smoke)
        threads.append(one["examples_per_s"])
        processes.append(pair[0]["examples_per_s"])
        allreduce.append(pair[0]["allreduce_ms"])
        step.append(pair[0]["step_ms"])
        latency.append(pair[0]["latency_ms"])
    a, b = statistics.median(threads), statistics.median(processes)
    ms, per_step = statistics.median(allreduce), statistics.median(step)
    shared = " (one usable core: both processes share it)" if len(cpus) < 2 else ""
    setting = f"LeNet-5, global batch {size['batch']}, {size['steps']} steps an epoch, median of {size['rounds']} round(s){shared}"
    return [
        Row("multi-host/loopback", "1 process x 2 threads", a, "examples/s", note=setting),
        Row("multi-host/loopback", "2 processes x 1 thread", b, "examples/s", ratio=b / a, ratio_of="2 processes / 1 process",
            note=f"a step of 2 processes: {per_step:.1f} ms"),
        Row("multi-host/loopback", "all-reduce of the gradients (2 processes)", ms, "ms/step", ratio=ms / per_step, ratio_of="all-reduce / step",
            note=f"{100 * ms / per_step:.0f}% of a step (Gloo, TCP on 127.0.0.1)"),
        Row("multi-host/loopback", "all-reduce of one float (2 processes)", statistics.median(latency), "ms",
            note="the latency part of the row above: the two processes waiting for each other"),
    ]  # fmt: skip


# --------------------------------------------------------------------------------------------
# The child process
# --------------------------------------------------------------------------------------------


def _worker(argv: list[str]) -> None:
    """``single CPUS BATCH STEPS EPOCHS`` or ``cluster CPU PORT PROCESS BATCH STEPS EPOCHS``: train, print RESULT."""
    mode = argv[0]
    if mode == "single":
        cpus, rest, cluster_args = {int(c) for c in argv[1].split(",")}, argv[2:], None
    else:
        cpus, cluster_args, rest = {int(argv[1])}, (argv[2], int(argv[3])), argv[4:]
    os.sched_setaffinity(0, cpus)  # before JAX starts: XLA sizes its thread pools by the usable cores
    batch, steps, epochs = (int(v) for v in rest)
    import numpy as np

    cluster = None
    if cluster_args is not None:
        from training.multihost import Launch, start

        port, process = cluster_args
        cluster = start(Launch(f"127.0.0.1:{port}", 2, process, start_timeout=120, heartbeat_timeout=60), {"benchmark": "multi-host"})
    import keras

    from training.models import build, compile_model
    from training.runs.feeding import host_batches

    keras.utils.set_random_seed(0)
    model = compile_model(build("lenet5", (32, 32, 1), 10), keras.optimizers.SGD(0.01, momentum=0.9))
    rng = np.random.default_rng(0)
    x = rng.normal(size=(batch * steps, 32, 32, 1)).astype("float32")
    y = rng.integers(0, 10, batch * steps)
    rows = [np.arange(i * batch, (i + 1) * batch) for i in range(steps)]
    data = host_batches(x, y, lambda epoch: rows, 0, None, cluster)
    ends: list[float] = []

    class Clock(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            ends.append(time.perf_counter())

    began = time.perf_counter()
    model.fit(data, epochs=epochs, verbose=0, shuffle=False, callbacks=[Clock()])
    spans = [b - a for a, b in zip([began, *ends], ends)][1:]  # the first epoch compiles
    epoch = statistics.median(spans)
    result = {"examples_per_s": batch * steps / epoch, "step_ms": 1000 * epoch / steps}
    if cluster is not None:
        result["allreduce_ms"] = _allreduce_ms([tuple(v.shape) for v in model.trainable_variables])
        result["latency_ms"] = _allreduce_ms([(1,)])  # one float: what waiting for each other costs
        from training.multihost import finish

        finish()
    print("RESULT " + json.dumps(result), flush=True)


def _allreduce_ms(shapes) -> float:
    """Median wall time of one all-reduce (``psum`` over every device) of buffers of ``shapes``."""
    import jax
    import numpy as np
    from jax.sharding import Mesh, NamedSharding
    from jax.sharding import PartitionSpec as P

    mesh = Mesh(np.array(jax.devices()), ("d",))
    local = jax.local_device_count()
    buffers = [jax.make_array_from_process_local_data(NamedSharding(mesh, P("d")), np.ones((local, *s), "float32")) for s in shapes]
    reduce = jax.jit(jax.shard_map(lambda *g: tuple(jax.lax.psum(v, "d") for v in g), mesh=mesh, in_specs=P("d"), out_specs=P("d")))
    jax.block_until_ready(reduce(*buffers))  # compile
    times = []
    for _ in range(20):
        start = time.perf_counter()
        jax.block_until_ready(reduce(*buffers))
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


if __name__ == "__main__":
    if sys.argv[1:2] == ["worker"]:
        _worker(sys.argv[2:])
    else:
        print("python -m benchmarks --only multi-host", file=sys.stderr)
        sys.exit(2)
