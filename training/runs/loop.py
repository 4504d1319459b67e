"""The training loop: per-epoch atomic checkpoints and an exact resume.

Why it resumes *exactly*: the model file carries the weights, the optimizer state (its step
counter drives every schedule) and the seed-generator state of dropout/augmentation layers; the
sample order of epoch ``e`` is a pure function of ``(seed, e)``; batch sizes are a pure function
of the step. So an interrupted-and-resumed run replays the same computation as an uninterrupted
one. What the loop writes, and where, is :mod:`training.runs.rundir`'s layout.

Training *to convergence* (:class:`Convergence`, ``--until-convergence``) is part of that state:
the best validation loss, its epoch and the epochs since are stored in every checkpoint beside the
best epoch's weights, so a resumed run stops at the same epoch as an uninterrupted one and
evaluates the same weights.

Why it costs little over a plain ``model.fit`` (``python -m benchmarks --only training-loop``):
an epoch's batches are gathered from tensors made once per run by a ``tf.data`` pipeline (no
Python per batch; under JAX, from the host arrays by :mod:`.feeding`'s ``PyDataset``), the
validation split is one dataset made once, and the per-step trace asks
nothing of the optimizer per batch: the batch losses are the logs Keras hands every callback
anyway, and the learning rates are computed for the whole epoch at its end, from the schedule.
When every epoch has the same number of steps (any constant batch size), one ``fit`` runs every
epoch and the per-epoch work happens in its ``on_epoch_end`` (:func:`_make_epoch_recorder`), so
the data iterators are made once per run, as in a plain ``fit``; a batch-size schedule that
changes the step count gets a ``fit`` per epoch.

``--distribute mirrored`` runs the step under ``tf.distribute.MirroredStrategy``;
``--distribute multi-host`` trains with every process of a :mod:`training.multihost` cluster
(JAX's ``keras.distribution.DataParallel``), each feeding its part of every global batch.

Keras (and TensorFlow, for ``--distribute mirrored``) is imported inside the functions that
train, so importing this module stays light.
"""

from __future__ import annotations

import math
import os
import sys
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .feeding import Feeder
from .rundir import RunDir, RunError


class NonFiniteLoss(RunError):
    """The loss became NaN or infinite; the last good checkpoint is kept."""


@dataclass(frozen=True)
class Convergence:
    """Stop when the monitored loss has not improved by ``min_delta`` for ``patience`` epochs.

    Epoch ``e`` *improves* when ``loss_e < best - min_delta`` (``best`` the lowest loss so far,
    ``inf`` at the start; a NaN never improves), the rule of Keras' ``EarlyStopping``; the run
    stops after the epoch that makes ``patience`` epochs in a row without improvement, or at the
    cap. The state (``best``, ``best_epoch``, ``wait``, ``stopped``) is a plain dict stored in
    every checkpoint, so a resumed run takes the same decisions.
    """

    patience: int = 5
    min_delta: float = 0.0
    monitor: str = "val_loss"

    def __post_init__(self):
        if not int(self.patience) >= 1:
            raise RunError(f"--patience must be at least 1, got {self.patience}")
        if not float(self.min_delta) >= 0:
            raise RunError(f"--min-delta must be >= 0, got {self.min_delta}")

    @staticmethod
    def start() -> dict:
        return {"best": math.inf, "best_epoch": 0, "wait": 0, "stopped": False}

    def update(self, state: dict, epoch: int, value) -> dict:
        """The state after epoch ``epoch`` (1-based) whose monitored loss is ``value``."""
        value = math.nan if value is None else float(value)
        if value < float(state["best"]) - float(self.min_delta):
            return {"best": value, "best_epoch": epoch, "wait": 0, "stopped": False}
        wait = int(state["wait"]) + 1
        return {**state, "wait": wait, "stopped": wait >= int(self.patience)}


@dataclass
class TrainingPlan:
    """What :func:`train` needs, all derived from a run's config so that resume can rebuild it.

    - ``build_model()``: a new, compiled Keras model (used for a fresh run only).
    - ``x_train, y_train`` and optional validation / test arrays.
    - ``batch_sizes(epoch) -> list[int]``: the batch size of each step of that epoch; the default
      is a constant ``batch_size`` covering every sample once.
    - ``expand_batch(x, y) -> (x, y)``: optional per-batch transform (batch augmentation repeats
      each sample M times here; the random augmentations themselves run inside the model).
    - ``target_accuracy``: record the first epoch whose validation accuracy reaches it.
    - ``convergence``: a :class:`Convergence` to stop before ``epochs`` once the validation loss
      stops improving (``epochs`` is then the cap); the best epoch's weights are evaluated.
    - ``callbacks``: extra Keras callbacks. They see every batch and epoch; ``on_train_begin`` /
      ``on_train_end`` run once per ``fit``: once per run when every epoch has the same number of
      steps, once per epoch otherwise. One that sets ``model.stop_training`` ends the run after
      that epoch (evaluated and finished, like a run stopped by ``convergence``).
    """

    build_model: Callable
    x_train: np.ndarray
    y_train: np.ndarray
    epochs: int
    batch_size: int = 128
    seed: int = 0
    x_val: np.ndarray | None = None
    y_val: np.ndarray | None = None
    x_test: np.ndarray | None = None
    y_test: np.ndarray | None = None
    batch_sizes: Callable[[int], list] | None = None
    expand_batch: Callable | None = None
    target_accuracy: float | None = None
    custom_objects: dict = field(default_factory=dict)
    callbacks: list = field(default_factory=list)  # extra Keras callbacks, e.g. recorders of an experiment
    distribute: str | None = None  # None or "mirrored"
    checkpoints: bool = True  # False: no per-epoch checkpoint (benchmarks; such a run cannot resume)
    convergence: Convergence | None = None
    verbose: int = 1
    log: Callable[[str], None] = field(default=lambda msg: print(msg, file=sys.stderr))

    def steps_of(self, epoch: int) -> list:
        if self.batch_sizes is not None:
            sizes = [int(b) for b in self.batch_sizes(epoch)]
        else:
            n, b = len(self.x_train), int(self.batch_size)
            sizes = [b] * (n // b) + ([n % b] if n % b else [])
        if sum(sizes) != len(self.x_train) or min(sizes) <= 0:
            raise RunError(f"batch sizes of epoch {epoch} cover {sum(sizes)} samples, expected {len(self.x_train)}")
        return sizes


# --------------------------------------------------------------------------------------------
# Seed-generator states: saved beside the model in each checkpoint
# --------------------------------------------------------------------------------------------


def seed_states(model) -> list:
    """Values of the model's seed-generator states (dropout, augmentation layers).

    Keras does not save them in ``.keras`` files (a reloaded Dropout restarts its random stream),
    so the checkpoint stores them beside the model and :func:`restore_seed_states` puts them back.
    """
    return [v.numpy().tolist() for v in model.variables if v.path.endswith("seed_generator_state")]


def restore_seed_states(model, states: list) -> None:
    variables = [v for v in model.variables if v.path.endswith("seed_generator_state")]
    if len(variables) != len(states):
        raise RunError(f"checkpoint holds {len(states)} seed-generator states, the model has {len(variables)}")
    for variable, value in zip(variables, states):
        variable.assign(np.asarray(value, dtype=variable.dtype))


# --------------------------------------------------------------------------------------------
# Callbacks
# --------------------------------------------------------------------------------------------


def current_learning_rate(optimizer) -> float:
    """The learning rate the optimizer applies at its current step (schedules evaluated)."""
    import keras

    lr = optimizer.learning_rate
    return float(keras.ops.convert_to_numpy(lr))


def learning_rates(optimizer, first_step: int, count: int) -> list[float]:
    """The rates the optimizer applied at steps ``first_step .. first_step + count - 1``.

    A ``LearningRateSchedule`` is evaluated at those steps in one call (the optimizer evaluates it
    at ``optimizer.iterations`` before each update, so the rate of the update numbered ``k`` from
    0 is ``schedule(k)``); a schedule that cannot take a vector of steps is asked one step at a
    time. A plain rate is read once. Asked after the epoch, so the steps cost nothing.
    """
    import keras

    schedule = getattr(optimizer, "_learning_rate", None)
    if not isinstance(schedule, keras.optimizers.schedules.LearningRateSchedule):
        return [current_learning_rate(optimizer)] * count
    steps = np.arange(first_step, first_step + count, dtype="int64")
    try:
        values = np.asarray(keras.ops.convert_to_numpy(schedule(steps)), dtype=float).reshape(-1)
        if values.shape == (count,):
            return values.tolist()
    except Exception:  # a schedule written for scalar steps only
        pass
    return [float(keras.ops.convert_to_numpy(schedule(int(t)))) for t in steps]


def _make_epoch_recorder(state: dict, close: Callable, begin: Callable | None = None):
    import keras

    class EpochRecorder(keras.callbacks.Callback):
        """Per batch, the running mean of the loss Keras logs; per epoch, the loop's work (``close``).

        Keras hands every callback the logs of each batch (converted to Python numbers on the
        TensorFlow backend whether a callback reads them or not), so recording costs a list
        append; the batch loss is recovered from consecutive means after the epoch:
        ``l_k = k*m_k - (k-1)*m_{k-1}``. A non-finite mean stops training at once. At the end of
        each epoch ``close(epoch, first_step, means, seconds, logs)`` does the loop's per-epoch
        work (history, traces, checkpoint, convergence) inside ``fit``, so one ``fit`` can run
        every epoch; when it returns true, training stops (``model.stop_training``, which
        stays set after ``fit`` returns). ``seconds`` runs from
        ``began``: set by the loop before it calls ``fit``, and again after each ``close``, so an
        epoch's time holds everything Keras does for it but not the loop's own work.
        ``begin(epoch)``, when given, runs as Keras begins each epoch, before it asks for the
        epoch's first batch (a host-fed dataset switches to that epoch's order there).
        """

        def __init__(self):
            super().__init__()
            self.began = time.perf_counter()
            self.epoch, self.first_step, self.means = 0, 0, []

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch, self.means = epoch, []
            if begin is not None:
                begin(epoch)
            self.first_step = int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))

        def on_train_batch_end(self, batch, logs=None):
            mean = float((logs or {}).get("loss", float("nan")))
            self.means.append(mean)
            if not math.isfinite(mean) and "nonfinite" not in state:
                state["nonfinite"] = f"the loss became {mean} at epoch {self.epoch + 1}, step {batch + 1}"
                self.model.stop_training = True

        def on_epoch_end(self, epoch, logs=None):
            seconds = time.perf_counter() - self.began
            if close(epoch, self.first_step, self.means, seconds, dict(logs or {})):
                self.model.stop_training = True
            self.began = time.perf_counter()

    return EpochRecorder()


def _epoch_traces(first_step: int, epoch: int, sizes: list, means: list, rates: list) -> list[dict]:
    """The trace rows of one epoch: step (from 1), epoch, learning rate, batch size, batch loss."""
    rows, previous = [], 0.0
    for k, mean in enumerate(means, start=1):
        loss = k * mean - (k - 1) * previous
        previous = mean
        rows.append({"step": first_step + k, "epoch": epoch + 1, "learning_rate": rates[k - 1], "batch_size": sizes[k - 1], "loss": loss})
    return rows


def _epoch_line(plan: TrainingPlan, row: dict, stop: dict | None) -> str:
    """The one line logged per epoch: its losses and accuracies, time and, to convergence, the stop state."""
    parts = [f"{key} {row[key]:.4g}" for key in ("loss", "accuracy", "val_loss", "val_accuracy") if row.get(key) is not None]
    line = f"epoch {row['epoch']}/{plan.epochs}: {', '.join(parts)} ({row['epoch_seconds']:.1f} s)"
    if stop is not None:
        c = plan.convergence
        line += f"; best {c.monitor} {stop['best']:.4g} at epoch {stop['best_epoch']}, {stop['wait']}/{c.patience} without improvement"
    return line


# --------------------------------------------------------------------------------------------
# The training loop
# --------------------------------------------------------------------------------------------


LOGICAL_CPUS_ENV = "CNNTRAIN_LOGICAL_CPUS"


def _split_cpu(tf) -> None:
    """Split the CPU into ``$CNNTRAIN_LOGICAL_CPUS`` logical devices (tests and CPU-only trials).

    TensorFlow accepts this only before its runtime initialises; a process that has already
    used TensorFlow gets a one-line error instead of a silent single device.
    """
    text = os.environ.get(LOGICAL_CPUS_ENV)
    if not text:
        return
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise RunError(f"{LOGICAL_CPUS_ENV} must be a positive integer, got '{text}'")
    cpu = tf.config.list_physical_devices("CPU")[0]
    current = tf.config.get_logical_device_configuration(cpu)
    if current is not None and len(current) == n:
        return
    try:
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * n)
    except RuntimeError:
        raise RunError(f"{LOGICAL_CPUS_ENV}={n}: TensorFlow was initialised before the CPU could be split") from None


def _strategy(name):
    """``tf.distribute.MirroredStrategy`` over every visible GPU, or else every logical CPU.

    TensorFlow's default device list is the GPUs or, without one, ``CPU:0`` alone; the CPU
    devices are named explicitly so that a CPU split in two (``CNNTRAIN_LOGICAL_CPUS=2``)
    gives two replicas.
    """
    if not name or name == "multi-host":  # multi-host: keras.distribution, set when the cluster started
        return None
    if name != "mirrored":
        raise RunError(f"unknown --distribute '{name}' (known: mirrored, multi-host)")
    import keras

    if keras.backend.backend() != "tensorflow":
        raise RunError("--distribute mirrored needs the TensorFlow backend")
    import tensorflow as tf

    _split_cpu(tf)
    if tf.config.list_logical_devices("GPU"):
        return tf.distribute.MirroredStrategy()
    return tf.distribute.MirroredStrategy([d.name for d in tf.config.list_logical_devices("CPU")])


def _deterministic(seed: int) -> None:
    import keras

    keras.utils.set_random_seed(seed)
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        try:
            tf.config.experimental.enable_op_determinism()
        except Exception:  # pragma: no cover - older TF
            pass


def _cluster(name):
    """The started multi-host cluster for ``--distribute multi-host`` (:mod:`training.multihost`), else None."""
    if name != "multi-host":
        return None
    from ..multihost import current

    cluster = current()
    if cluster is None:
        raise RunError("--distribute multi-host: the cluster is not started in this process (cnntrain starts it; a script calls training.multihost.start first)")
    return cluster


def train(run: RunDir, plan: TrainingPlan, *, resume: bool = False) -> dict:
    """Train ``plan`` in ``run`` (fresh, or from its latest checkpoint) and return the metrics.

    Logs one line per epoch (``plan.verbose``). Raises :class:`NonFiniteLoss` when the loss stops
    being finite (the last good checkpoint is kept) and re-raises ``KeyboardInterrupt`` after
    marking the run interrupted; in both cases everything up to the last completed epoch is on
    disk. With ``plan.convergence`` the run may stop before ``plan.epochs``; the metrics then
    describe the best epoch's weights (``best_epoch``, ``stopped_epoch``, ``converged``).

    With ``plan.distribute == "multi-host"`` every process of the started cluster
    (:mod:`training.multihost`) calls this with the same plan: each feeds its part of every
    global batch, and a lost process ends the run as ``interrupted``
    (:class:`training.multihost.PeerLost`).
    """
    cluster = _cluster(plan.distribute)
    if cluster is None:
        return _train(run, plan, resume, None)
    from ..multihost import working_in

    if int(plan.batch_size) % cluster.devices and plan.batch_sizes is None:
        raise RunError(f"--batch-size {plan.batch_size} does not split among the {cluster.devices} devices of {cluster.processes} processes: give a multiple of {cluster.devices}")
    with working_in(run):
        return _train(run, plan, resume, cluster)


def _train(run: RunDir, plan: TrainingPlan, resume: bool, cluster) -> dict:
    import keras

    _deterministic(plan.seed)
    strategy = _strategy(plan.distribute)
    if strategy is not None and plan.verbose:
        plan.log(f"MirroredStrategy: {strategy.num_replicas_in_sync} replicas, global batch split across them")
    if cluster is not None and plan.verbose:
        plan.log(f"multi-host: {cluster.processes} processes, {cluster.devices} devices; each process feeds 1/{cluster.processes} of every global batch")
    checkpoint = run.latest_checkpoint() if resume else None
    history, traces = ([], [])
    start_epoch, state = 0, {"step": 0, "wall_seconds": 0.0}
    stop = Convergence.start() if plan.convergence is not None else None
    if checkpoint is not None:
        start_epoch = int(checkpoint["epoch"])
        state = {"step": int(checkpoint["step"]), "wall_seconds": float(checkpoint["wall_seconds"])}
        history, traces = _resumable_records(run, plan, start_epoch, state["step"])
        if stop is not None:
            stop = dict(checkpoint.get("convergence") or stop)
    finished = start_epoch >= plan.epochs or bool(stop and stop["stopped"])
    if finished and run.has_metrics():
        return run.metrics()  # evaluated and written: nothing left to do
    # From here on a checkpoint at the last epoch (or at the stop) still lacks its evaluation: the
    # loop below is empty and the model is evaluated (a kill during the final evaluation is
    # completed here).

    def load_or_build():
        if checkpoint is None:
            return plan.build_model()
        _register_saved_objects()
        try:
            model = keras.models.load_model(checkpoint["model_path"], custom_objects=plan.custom_objects or None)
        except Exception as exc:
            raise RunError(f"cannot load checkpoint '{checkpoint['model_path']}': {exc}") from None
        restore_seed_states(model, checkpoint.get("seed_states", []))
        return model

    if strategy is not None:
        with strategy.scope():
            model = load_or_build()
    else:
        model = load_or_build()

    run.set_status("running", epoch=start_epoch)
    feeder = Feeder(plan, cluster)
    best_weights = None  # the best epoch's weights, when this process trained it
    epoch_sizes: dict = {}  # epoch -> its batch sizes

    def close(epoch: int, first_step: int, means: list, seconds: float, logs: dict) -> bool:
        """The loop's work after ``epoch`` (0-based): records, log line, checkpoint; true stops the run."""
        nonlocal stop, best_weights, traces
        sizes = epoch_sizes[epoch]
        traces += _epoch_traces(state["step"], epoch, sizes, means, learning_rates(model.optimizer, first_step, len(means)))
        state["step"] += len(means)
        if "nonfinite" in state:
            run.write_traces(traces)
            run.set_status("failed", reason=state["nonfinite"], last_good_epoch=epoch)
            state["last_good_epoch"] = epoch
            return True
        logs = {k: float(v) for k, v in logs.items()}
        state["wall_seconds"] += seconds
        row = {
            "epoch": epoch + 1,
            "loss": logs.get("loss"),
            "accuracy": logs.get("accuracy", logs.get("sparse_categorical_accuracy")),
            "val_loss": logs.get("val_loss"),
            "val_accuracy": logs.get("val_accuracy", logs.get("val_sparse_categorical_accuracy")),
            "learning_rate": current_learning_rate(model.optimizer),
            "batch_size": max(set(sizes), key=sizes.count),  # the epoch's usual batch size
            "steps": len(sizes),
            "epoch_seconds": round(seconds, 4),
            "wall_seconds": round(state["wall_seconds"], 4),
        }
        history.append(row)
        improved = False
        if stop is not None:
            stop = plan.convergence.update(stop, epoch + 1, row.get(plan.convergence.monitor))
            improved = stop["best_epoch"] == epoch + 1
            if improved and not plan.checkpoints:
                best_weights = model.get_weights()
        if plan.verbose:
            plan.log(_epoch_line(plan, row, stop))
        run.write_history(history)
        run.write_traces(traces)
        if plan.checkpoints:
            checkpoint_state = {"epoch": epoch + 1, "step": state["step"], "wall_seconds": state["wall_seconds"], "seed_states": seed_states(model)}
            if stop is None:
                run.save_checkpoint(model, checkpoint_state)
            else:
                run.save_checkpoint(model, {**checkpoint_state, "convergence": stop}, best="model" if improved else "keep")
        if stop is not None and stop["stopped"]:
            if plan.verbose:
                c = plan.convergence
                plan.log(f"converged: {c.monitor} has not improved by more than {c.min_delta:g} for {c.patience} epochs; "
                         f"the best epoch, {stop['best_epoch']}, is evaluated")  # fmt: skip
            return True
        return False

    end = start_epoch if finished else plan.epochs
    whole = feeder.epochs(start_epoch, end)
    # A host-fed single fit serves one epoch at a time: switched when Keras begins each epoch.
    begin = whole[0].set_epoch if whole is not None and feeder.mode == "host" else None
    recorder = _make_epoch_recorder(state, close, begin)
    # shuffle=False: the order is ours (epoch_order); Keras would reshuffle batches with Python's
    # global RNG, which a resumed process does not share. verbose=0: the loop logs each epoch once.
    fit_options = dict(shuffle=False, validation_data=feeder.val, callbacks=[recorder, *plan.callbacks], verbose=0)
    try:
        try:
            _fit(model, feeder, whole, start_epoch, end, epoch_sizes, recorder, fit_options)
        except Exception as exc:  # in a multi-host run, a failed collective may mean a lost process
            lost = _peer_loss(exc, cluster)
            if lost is None:
                raise
            raise lost from None
        if "nonfinite" in state:
            raise NonFiniteLoss(f"{state['nonfinite']}; kept the last good checkpoint (epoch {state['last_good_epoch']})")
    except KeyboardInterrupt as exc:
        done = history[-1]["epoch"] if history else start_epoch
        run.set_status("interrupted", completed_epochs=done, **({"reason": str(exc)} if str(exc) else {}))
        plan.log(f"interrupted: epochs up to {done} are saved; continue with 'cnntrain resume {run.path}'")
        raise

    if stop is not None and history and 0 < stop["best_epoch"] < history[-1]["epoch"]:
        _restore_best(model, run, best_weights)
    metrics = _metrics(model, plan, history)
    if stop is not None:
        metrics.update(best_epoch=stop["best_epoch"], stopped_epoch=history[-1]["epoch"] if history else 0, converged=bool(stop["stopped"]),
                       **{f"best_{plan.convergence.monitor}": stop["best"] if math.isfinite(stop["best"]) else None})  # fmt: skip
    if strategy is not None:
        metrics["replicas"] = int(strategy.num_replicas_in_sync)
    if cluster is not None:
        metrics.update(cluster.record())
    run.write_metrics(metrics)
    run.set_status("finished", epochs=len(history))
    return metrics


def _fit(model, feeder: Feeder, whole, start_epoch: int, end: int, epoch_sizes: dict, recorder, fit_options: dict) -> None:
    """Epochs ``start_epoch .. end - 1``: one ``fit`` when ``whole`` (:meth:`Feeder.epochs`) holds
    them all, else a ``fit`` per epoch; each epoch's batch sizes go to ``epoch_sizes``."""
    if whole is not None:  # one fit, its iterators made once (see Feeder.epochs)
        data, sizes = whole
        epoch_sizes.update(zip(range(start_epoch, end), sizes))
        recorder.began = time.perf_counter()
        model.fit(data, epochs=end, initial_epoch=start_epoch, steps_per_epoch=len(sizes[0]), **fit_options)
        return
    for epoch in range(start_epoch, end):  # a fit per epoch: a step count that changes, or batches served from Python
        data, epoch_sizes[epoch] = feeder.epoch(epoch)
        recorder.began = time.perf_counter()
        model.fit(data, epochs=epoch + 1, initial_epoch=epoch, **fit_options)
        if model.stop_training:  # set by the loop's close, a non-finite loss or any callback, as in one fit
            break


def _peer_loss(exc: BaseException, cluster):
    """:class:`training.multihost.PeerLost` when ``exc`` came from a lost process of ``cluster``, else None."""
    if cluster is None:
        return None
    from ..multihost import peer_loss

    return peer_loss(exc)


def _register_saved_objects() -> None:
    """Import the modules whose Keras classes a checkpoint may name (the calculator's layers, the
    augmentation layers, the optimizers, the schedules): each registers its classes on import,
    and a resume in a fresh process loads the checkpoint before any of them is otherwise imported."""
    import cnncalc.keras_layers  # noqa: F401
    from .. import augment, optimizers, schedules  # noqa: F401


def _resumable_records(run: RunDir, plan: TrainingPlan, epoch: int, step: int) -> tuple[list, list]:
    """The history rows and step traces up to checkpoint ``epoch`` (step ``step``).

    Rows past the checkpoint (a kill between writing the history and publishing the checkpoint)
    are dropped; rows *missing* before it (a deleted or truncated ``history.csv``), or a
    checkpoint past the configured epochs, are inconsistencies a resume cannot repair: a
    one-line :class:`RunError` names the file.
    """
    pointer = os.path.join(run.checkpoint_dir, "latest.json")
    if epoch > plan.epochs:
        raise RunError(f"'{pointer}': names epoch {epoch}, but the run has {plan.epochs} epochs")
    history = [r for r in run.history() if int(r["epoch"]) <= epoch]
    if [int(r["epoch"]) for r in history] != list(range(1, epoch + 1)):
        found = "is missing" if not os.path.exists(run.file("history.csv")) else f"holds {len(history)} of those epochs"
        raise RunError(f"'{run.file('history.csv')}' {found}, but the checkpoint is at epoch {epoch}")
    traces = [r for r in run.traces() if int(r["step"]) <= step]
    if len(traces) != step:
        found = "is missing" if not os.path.exists(run.file("traces.csv")) else f"holds {len(traces)} of those steps"
        raise RunError(f"'{run.file('traces.csv')}' {found}, but the checkpoint is at step {step}")
    return history, traces


def _restore_best(model, run: RunDir, best_weights) -> None:
    """Put the best epoch's weights into ``model``: kept in memory, or from the latest checkpoint."""
    if best_weights is not None:
        model.set_weights(best_weights)
        return
    checkpoint = run.latest_checkpoint()
    path = checkpoint and checkpoint.get("best_weights_path")
    if not path:
        raise RunError(f"'{run.path}' stopped at its best epoch's weights, but its checkpoint holds none")
    model.load_weights(path)


def _metrics(model, plan: TrainingPlan, history: list[dict]) -> dict:
    metrics = {"epochs": len(history), "wall_seconds": history[-1]["wall_seconds"] if history else 0.0}
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        if history and history[-1].get(key) is not None:
            metrics[f"final_{key}"] = history[-1][key]
    accs = [r["val_accuracy"] for r in history if r.get("val_accuracy") is not None]
    if accs:
        metrics["best_val_accuracy"] = max(accs)
    if plan.target_accuracy is not None:
        metrics["target_accuracy"] = plan.target_accuracy
        hit = next((r for r in history if (r.get("val_accuracy") or 0) >= plan.target_accuracy), None)
        metrics["epochs_to_target"] = hit["epoch"] if hit else None
        metrics["seconds_to_target"] = hit["wall_seconds"] if hit else None
    if plan.x_test is not None:
        cluster = _cluster(plan.distribute)
        if cluster is None:
            values = model.evaluate(plan.x_test, plan.y_test, verbose=0, return_dict=True)
        else:  # each process feeds its part of every test batch
            values = model.evaluate(Feeder(plan, cluster).evaluation(plan.x_test, plan.y_test), verbose=0, return_dict=True)
        metrics["test_loss"] = float(values.get("loss"))
        acc = values.get("accuracy", values.get("sparse_categorical_accuracy"))
        if acc is not None:
            metrics["test_accuracy"] = float(acc)
    return metrics
