"""Learning-rate and batch-size range tests: pick the bounds of a cyclical policy from a short run.

Three finders, two result types, one rule for the bounds:

* :func:`lr_range_test` (Smith 2017, Section 3.3; the fastai ``lr_find`` form): one run, the
  learning rate growing geometrically per batch from ``start_lr`` to ``end_lr``, the per-batch
  loss smoothed by a bias-corrected EMA, stopped when it diverges; the model's weights *and*
  optimizer state are restored afterwards.
* :func:`lr_grid_search` (the exercise's form): a fresh model per candidate learning rate
  (``logspace(-9, 1, 10)`` by default), trained a few epochs; the final training loss per rate.
* :func:`batch_size_range_test`: a fixed learning rate, batch sizes ``2**k`` from ``b_lo`` to
  ``b_hi``, each trained for the same number of optimizer iterations, with Keras' gradient
  accumulation above ``max_physical_batch`` (see ``docs/batch-size-finder.md``).

**The bounds rule** (``suggest``), the same for all three. Take the (smoothed) loss curve
against ``log x``, its first finite value ``L0`` and its minimum ``Lmin``; the fall is
``D = L0 - Lmin``. The lower bound is where the loss *starts to fall*, the first point where
``frac * D`` of it is done; the upper bound is the point *before the loss stops falling and
diverges*, the first point where ``(1 - frac) * D`` is done (``frac = 0.05`` by default). This
is Smith's reading of the range test ("the learning rate when the accuracy starts to increase and
when [it] slows, becomes ragged, or starts to fall", Smith 2017, Section 3.3) written as a rule.
Learning rates are interpolated geometrically between the tested points; batch sizes snap to
the tested powers of two (the lower bound down, the upper bound up).

In a multi-host run (:mod:`training.multihost`) the range tests hand each process its share of
every global batch, so their curves are the single-process ones.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from .batching import is_power_of_two

__all__ = [
    "BatchSizeBounds",
    "BatchSizeResult",
    "LRBounds",
    "LRResult",
    "batch_size_range_test",
    "fall_bounds",
    "lr_grid_search",
    "lr_range_test",
]


# -- the bounds rule ------------------------------------------------------------------------------


def fall_bounds(x, y, frac: float = 0.05, interpolate: bool = True) -> tuple[float, float]:
    """Where ``frac`` and ``1 - frac`` of the fall from the first finite ``y`` to the minimum are done.

    ``x`` must increase and be positive (the crossing is interpolated in ``log x``); non-finite
    ``y`` count as ``+inf``. With ``interpolate=False`` the lower bound snaps to the last tested
    point at or before the crossing and the upper bound to the first point at or after it.

    Raises:
        ValueError: fewer than two finite points, or a loss that never falls below its start.
    """
    if not 0 < frac < 0.5:
        raise ValueError(f"frac must lie in (0, 0.5), got {frac!r}")
    x = np.asarray(x, dtype=float)
    y = np.where(np.isfinite(np.asarray(y, dtype=float)), np.asarray(y, dtype=float), np.inf)
    finite = np.flatnonzero(np.isfinite(y))
    if finite.size < 2:
        raise ValueError("need at least two finite losses to suggest bounds")
    start = finite[0]
    best = int(np.argmin(y))
    fall = y[start] - y[best]
    if not fall > 0:
        raise ValueError("the loss never falls below its starting value; widen the range or train longer")

    def crossing(level: float, snap_down: bool) -> float:
        done = (y[start] - y[start : best + 1]) / fall  # fraction of the fall done at each point
        i = start + int(np.flatnonzero(done >= level)[0])
        if i == start:
            return float(x[i])
        if not interpolate:
            return float(x[i - 1] if snap_down and done[i - start] > level else x[i])
        d0, d1 = done[i - 1 - start], done[i - start]
        w = 1.0 if not np.isfinite(d0) else (level - d0) / (d1 - d0)
        w = min(max(w, 0.0), 1.0)
        return float(np.exp(np.log(x[i - 1]) + w * (np.log(x[i]) - np.log(x[i - 1]))))

    return crossing(frac, snap_down=True), crossing(1.0 - frac, snap_down=False)


@dataclass(frozen=True)
class LRBounds:
    """Bounds for :class:`training.schedules.CyclicalLearningRate` (``base_lr``, ``max_lr``)."""

    lr_min: float
    lr_max: float
    rule: str


@dataclass(frozen=True)
class BatchSizeBounds:
    """Bounds for :class:`training.batching.CyclicalBatchSize` (``b_min``, ``b_max``)."""

    b_min: int
    b_max: int
    rule: str


def _rule(frac: float) -> str:
    return f"points where {frac:g} and {1 - frac:g} of the fall from the first loss to the minimum are done"


# -- results -------------------------------------------------------------------------------------


@dataclass
class LRResult:
    """The curve of an LR finder: ``lrs`` against ``losses`` (and ``smoothed`` for the range test).

    Attributes:
        lrs: learning rates tried, increasing.
        losses: raw loss per rate (per batch for the range test, final epoch's mean for the grid).
        smoothed: bias-corrected EMA of the per-batch loss (range test only, else ``None``).
        method: ``"range_test"`` or ``"grid_search"``.
        stopped_early: the range test stopped at divergence before ``end_lr``.
        histories: per-epoch training losses of each candidate (grid search only).
    """

    lrs: np.ndarray
    losses: np.ndarray
    smoothed: np.ndarray | None = None
    method: str = "range_test"
    stopped_early: bool = False
    histories: list = field(default_factory=list)

    @property
    def curve(self) -> np.ndarray:
        """The curve ``suggest`` reads: ``smoothed`` when there is one, else ``losses``."""
        return self.smoothed if self.smoothed is not None else self.losses

    @property
    def best_lr(self) -> float:
        """The learning rate at the minimum of the curve."""
        c = np.where(np.isfinite(self.curve), self.curve, np.inf)
        return float(self.lrs[int(np.argmin(c))])

    def suggest(self, frac: float = 0.05) -> LRBounds:
        """``lr_min`` where the loss starts to fall, ``lr_max`` before it stops falling (module doc)."""
        lo, hi = fall_bounds(self.lrs, self.curve, frac=frac, interpolate=True)
        return LRBounds(lo, hi, _rule(frac))

    def plot(self, path, title: str | None = None):
        """Loss against learning rate (log axis), with the suggested bounds; written to ``path``."""
        from . import plots

        plots.lr_range(self, path, title=title)
        return path


@dataclass
class BatchSizeResult:
    """The curve of the batch-size range test: ``batch_sizes`` against ``losses``.

    Attributes:
        batch_sizes: effective batch sizes (powers of two), increasing.
        losses: loss of the trained model on the evaluation data, per batch size.
        train_losses: mean training loss over each run.
        iterations: optimizer updates every batch size got (the same for all).
        physical_batch_sizes, accumulation_steps: how each effective batch was made up.
        seconds: wall-clock time of each run.
    """

    batch_sizes: np.ndarray
    losses: np.ndarray
    train_losses: np.ndarray
    iterations: int
    physical_batch_sizes: np.ndarray
    accumulation_steps: np.ndarray
    seconds: np.ndarray

    @property
    def curve(self) -> np.ndarray:
        return self.losses

    def suggest(self, frac: float = 0.05) -> BatchSizeBounds:
        """``b_min`` the last size before the loss starts to fall, ``b_max`` the first where it has
        (nearly) stopped falling: the module's rule, snapped to the tested powers of two."""
        lo, hi = fall_bounds(self.batch_sizes, self.losses, frac=frac, interpolate=False)
        return BatchSizeBounds(int(round(lo)), int(round(hi)), _rule(frac))

    def plot(self, path, title: str = "batch-size range test"):
        """Loss against batch size (log2 axis), with the suggested bounds; written to ``path``."""
        from . import plots

        plots.batch_range(self, path, title=title)
        return path


# The block diagram of batch_size_range_test (mermaid), drawn in docs/batch-size-finder.md and in the
# results.md of ``cnntrain policies``; tests/training/test_policies.py checks that the two agree.
BATCH_SIZE_FINDER_DIAGRAM = """\
flowchart TD
    A["inputs: model_fn, data (x, y), fixed learning_rate,<br/>b_lo, b_hi (powers of two), max_physical_batch"] --> B["iterations N = given, or epochs_at_lo * (n // b_lo)<br/>(5 epochs at b_lo by default)"]
    B --> C["batch sizes b = b_lo, 2 b_lo, 4 b_lo, ..., b_hi"]
    C --> D{"next b?"}
    D -- yes --> E["set_random_seed(seed); model = model_fn()<br/>(same initial weights for every b)"]
    E --> F{"b > max_physical_batch?"}
    F -- no --> G["physical batch p = b, k = 1"]
    F -- yes --> H["p = max_physical_batch<br/>k = b / p accumulation steps"]
    G --> I["recompile: copy of the optimizer with<br/>learning_rate fixed, gradient_accumulation_steps = k"]
    H --> I
    I --> J["fit N * k physical batches of p<br/>(shuffled, every pass a fresh permutation)<br/>= N optimizer updates of b samples"]
    J --> K["check optimizer.iterations == N"]
    K --> L["loss = model.evaluate(eval_data or training data)<br/>record b, loss, mean training loss, p, k, seconds"]
    L --> D
    D -- no --> M["BatchSizeResult: curve of loss against b"]
    M --> N["suggest(): b_min, b_max"]
    M --> O["plot(path)"]
    N --> P["CyclicalBatchSize(b_min, b_max, step_size)"]
"""


# -- helpers --------------------------------------------------------------------------------------


def _split(data):
    if not (isinstance(data, (tuple, list)) and len(data) == 2):
        raise ValueError("data must be a pair (x, y) of arrays with the same first dimension")
    x, y = data
    n = len(x)
    if len(y) != n or n == 0:
        raise ValueError(f"data must be a non-empty pair (x, y) with equal lengths, got {len(x)} and {len(y)}")
    return x, y, n


def _resolve_model(model_fn):
    import keras

    model = model_fn if isinstance(model_fn, keras.Model) else model_fn()
    if not isinstance(model, keras.Model):
        raise ValueError(f"model_fn must be a keras.Model or return one, got {type(model).__name__}")
    if getattr(model, "optimizer", None) is None:
        raise ValueError("the model must be compiled (model.compile(optimizer=..., loss=...)) before a range test")
    return model


def _settable_learning_rate(optimizer):
    import keras

    if isinstance(optimizer._learning_rate, keras.optimizers.schedules.LearningRateSchedule):
        raise ValueError("compile the model with a float learning rate for the finder, not a LearningRateSchedule")


def _batches(n: int, batch_size: int, rng: np.random.Generator):
    """Index arrays of full batches forever, a fresh permutation per pass (fixed shapes: no retracing)."""
    while True:
        order = rng.permutation(n)
        for i in range(n // batch_size):
            yield order[i * batch_size : (i + 1) * batch_size]


def _stop_on_non_finite():
    """A quiet ``TerminateOnNaN``: stops ``fit`` at the first non-finite batch loss, printing nothing."""
    import keras

    class StopOnNonFinite(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            loss = (logs or {}).get("loss")
            if loss is not None and not math.isfinite(float(loss)):
                self.model.stop_training = True

    return StopOnNonFinite()


def _cluster():
    """The multi-host cluster this process belongs to (:mod:`training.multihost`), or None."""
    from .multihost import current

    return current()


def _local(x, y):
    """This process's share of the global batch ``x, y`` in a multi-host run, else the batch itself."""
    cluster = _cluster()
    return (x, y) if cluster is None else cluster.local_share(x, y)


def _evaluate(model, x, y, batch_size: int) -> dict:
    """``model.evaluate`` over ``x, y``; in a multi-host run each process feeds its part of every batch."""
    cluster = _cluster()
    if cluster is None:
        return model.evaluate(x, y, batch_size=batch_size, verbose=0, return_dict=True)
    from .runs.feeding import evaluation_batches

    return model.evaluate(evaluation_batches(x, y, batch_size, cluster), verbose=0, return_dict=True)


def _to_numpy(v):
    from keras import ops

    return np.array(ops.convert_to_numpy(v))


# -- LR range test --------------------------------------------------------------------------------


def lr_range_test(
    model_fn,
    data,
    start_lr: float = 1e-7,
    end_lr: float = 10.0,
    num_steps: int = 100,
    batch_size: int = 32,
    beta: float = 0.98,
    diverge: float = 4.0,
    restore: bool = True,
    seed: int | None = 0,
) -> LRResult:
    """One run with the learning rate growing geometrically per batch (Smith 2017, Section 3.3).

    At step ``i`` (``0 .. num_steps - 1``) the rate is ``start_lr * (end_lr/start_lr)**(i/(num_steps-1))``.
    The loss of *that batch* (``train_on_batch`` resets the metrics, unlike ``fit``'s logs, which
    hold the running mean of the epoch) is smoothed by a bias-corrected exponential moving
    average, as fastai's ``lr_find``::

        avg_i      = beta * avg_{i-1} + (1 - beta) * loss_i       (avg_{-1} = 0)
        smoothed_i = avg_i / (1 - beta**(i + 1))

    and the run stops after the first step whose smoothed loss exceeds ``diverge`` times the best
    so far (or whose loss is not finite). With ``restore=True`` the model's variables and every
    optimizer variable (iterations, learning rate, moments) are put back as they were, so the
    test can run on a model about to be trained.

    Args:
        model_fn: a compiled ``keras.Model`` (restored afterwards), or a zero-argument callable
            returning one. Its optimizer must have a float learning rate.
        data: ``(x, y)`` arrays; batches are drawn in a fresh random order each pass.
        start_lr, end_lr: the range, ``0 < start_lr < end_lr``.
        num_steps: batches in the sweep (>= 2).
        batch_size: batch size.
        beta: EMA coefficient in [0, 1).
        diverge: stop factor (> 1).
        restore: restore the model and optimizer state afterwards.
        seed: seed of the batch order.

    Returns:
        :class:`LRResult` with ``lrs``, per-batch ``losses`` and ``smoothed``.
    """
    if not 0 < start_lr < end_lr:
        raise ValueError(f"need 0 < start_lr < end_lr, got start_lr={start_lr!r}, end_lr={end_lr!r}")
    if not int(num_steps) >= 2:
        raise ValueError(f"num_steps must be >= 2, got {num_steps!r}")
    if not 0 <= beta < 1:
        raise ValueError(f"beta must lie in [0, 1), got {beta!r}")
    if not diverge > 1:
        raise ValueError(f"diverge must be > 1, got {diverge!r}")
    x, y, n = _split(data)
    if not 1 <= batch_size <= n:
        raise ValueError(f"batch_size must lie in [1, {n}] (the number of samples), got {batch_size!r}")
    model = _resolve_model(model_fn)
    optimizer = model.optimizer
    _settable_learning_rate(optimizer)

    if not model.built:
        model(x[:batch_size])
    if not optimizer.built:  # build now, so the snapshot holds the initial optimizer state
        optimizer.build(model.trainable_variables)
    saved_model = [_to_numpy(v) for v in model.variables]
    saved_optimizer = [_to_numpy(v) for v in optimizer.variables]

    lrs = start_lr * (end_lr / start_lr) ** (np.arange(num_steps) / (num_steps - 1))
    batches = _batches(n, batch_size, np.random.default_rng(seed))
    losses, smoothed = [], []
    avg, best, stopped = 0.0, math.inf, False
    try:
        for i, lr in enumerate(lrs):
            optimizer.learning_rate = float(lr)
            idx = next(batches)
            loss = float(model.train_on_batch(*_local(x[idx], y[idx]), return_dict=True)["loss"])
            avg = beta * avg + (1 - beta) * loss
            s = avg / (1 - beta ** (i + 1))
            losses.append(loss)
            smoothed.append(s)
            if not math.isfinite(loss) or (i > 0 and s > diverge * best):
                stopped = i < num_steps - 1
                break
            best = min(best, s)
    finally:
        if restore:
            for v, value in zip(model.variables, saved_model):
                v.assign(value)
            for v, value in zip(optimizer.variables, saved_optimizer):
                v.assign(value)
    k = len(losses)
    return LRResult(lrs[:k], np.array(losses), np.array(smoothed), method="range_test", stopped_early=stopped)


# -- LR grid search -------------------------------------------------------------------------------


def lr_grid_search(
    model_fn,
    data,
    lrs=None,
    epochs: int = 5,
    batch_size: int = 64,
    seed: int | None = 0,
    verbose: int = 0,
) -> LRResult:
    """The exercise's LR finder: a fresh model per candidate rate, ``epochs`` epochs of ``fit`` each.

    Args:
        model_fn: zero-argument callable returning a freshly built, compiled ``keras.Model``
            (float learning rate; it is set to each candidate).
        data: ``(x, y)`` arrays.
        lrs: candidate rates, default ``numpy.logspace(-9, 1, 10)`` (1e-9 .. 10). Sorted.
        epochs, batch_size: training of each candidate.
        seed: ``keras.utils.set_random_seed(seed)`` before each model is built, so all
            candidates start from the same weights and batch order; ``None`` leaves seeds alone.
        verbose: passed to ``fit``.

    Returns:
        :class:`LRResult` whose ``losses`` are the last epoch's mean training loss per rate
        (``nan`` where training diverged; such a run is stopped at the first non-finite batch loss) and ``histories`` the
        per-epoch losses.
    """
    import keras

    lrs = np.logspace(-9, 1, 10) if lrs is None else np.sort(np.asarray(lrs, dtype=float))
    if lrs.size < 2 or not np.all(lrs > 0):
        raise ValueError("lrs must hold at least two positive learning rates")
    if not int(epochs) >= 1:
        raise ValueError(f"epochs must be >= 1, got {epochs!r}")
    x, y, n = _split(data)
    if isinstance(model_fn, keras.Model) or not callable(model_fn):
        raise ValueError("model_fn must be a zero-argument callable that builds a fresh compiled model per candidate")
    finals, histories = [], []
    for lr in lrs:
        if seed is not None:
            keras.utils.set_random_seed(seed)
        model = _resolve_model(model_fn())
        _settable_learning_rate(model.optimizer)
        model.optimizer.learning_rate = float(lr)
        history = model.fit(x, y, batch_size=batch_size, epochs=epochs, verbose=verbose, callbacks=[_stop_on_non_finite()])
        per_epoch = [float(v) for v in history.history.get("loss", [])]
        histories.append(per_epoch)
        finals.append(per_epoch[-1] if per_epoch and math.isfinite(per_epoch[-1]) else math.nan)
    return LRResult(lrs, np.array(finals), None, method="grid_search", histories=histories)


# -- batch-size range test ------------------------------------------------------------------------


def batch_size_range_test(
    model_fn,
    data,
    learning_rate: float | None = None,
    b_lo: int = 64,
    b_hi: int = 8192,
    iterations: int | None = None,
    epochs_at_lo: int = 5,
    max_physical_batch: int | None = None,
    eval_data=None,
    seed: int | None = 0,
    verbose: int = 0,
) -> BatchSizeResult:
    """Train at batch sizes ``b_lo, 2*b_lo, ..., b_hi`` for the same number of iterations each.

    For each effective batch size ``b``: ``keras.utils.set_random_seed(seed)``, a fresh model from
    ``model_fn``, recompiled with a copy of its optimizer at the fixed ``learning_rate`` and, when
    ``b > max_physical_batch``, ``gradient_accumulation_steps = b / max_physical_batch`` (Keras
    averages the gradients of that many physical batches into one update, so one update sees
    ``b`` samples); then ``iterations`` optimizer updates of ``fit`` over shuffled full batches,
    and the loss of ``model.evaluate`` on ``eval_data`` (default: the training data). The flow
    is drawn in ``docs/batch-size-finder.md``.

    Args:
        model_fn: zero-argument callable returning a freshly built, compiled ``keras.Model``.
        data: ``(x, y)`` training arrays.
        learning_rate: the fixed rate; ``None`` keeps the optimizer's own (a float).
        b_lo, b_hi: powers of two, ``b_lo <= b_hi``.
        iterations: optimizer updates per batch size; default ``epochs_at_lo`` epochs at
            ``b_lo``, i.e. ``epochs_at_lo * (n // b_lo)``.
        max_physical_batch: largest batch put through the model at once (a power of two);
            ``None`` means no limit (then every ``b`` must fit in the data).
        eval_data: ``(x, y)`` to measure the loss on after training.
        seed: seed of weights and batch order (``None`` leaves seeds alone).
        verbose: passed to ``fit``.

    Returns:
        :class:`BatchSizeResult`.
    """
    import keras

    if not (is_power_of_two(b_lo) and is_power_of_two(b_hi)):
        raise ValueError(f"b_lo and b_hi must be powers of two, got b_lo={b_lo!r}, b_hi={b_hi!r}")
    if not b_lo <= b_hi:
        raise ValueError(f"need b_lo <= b_hi, got b_lo={b_lo}, b_hi={b_hi}")
    if max_physical_batch is not None and not is_power_of_two(max_physical_batch):
        raise ValueError(f"max_physical_batch must be a power of two, got {max_physical_batch!r}")
    if isinstance(model_fn, keras.Model) or not callable(model_fn):
        raise ValueError("model_fn must be a zero-argument callable that builds a fresh compiled model per batch size")
    x, y, n = _split(data)
    if iterations is None:
        if not int(epochs_at_lo) >= 1:
            raise ValueError(f"epochs_at_lo must be >= 1, got {epochs_at_lo!r}")
        if n < b_lo:
            raise ValueError(f"b_lo={b_lo} exceeds the {n} samples; pass iterations explicitly")
        iterations = int(epochs_at_lo) * (n // b_lo)
    if not int(iterations) >= 1:
        raise ValueError(f"iterations must be >= 1, got {iterations!r}")
    iterations = int(iterations)
    x_eval, y_eval, _ = _split(eval_data) if eval_data is not None else (x, y, n)

    sizes = [b_lo * 2**k for k in range(int(math.log2(b_hi // b_lo)) + 1)]
    physicals = [b if max_physical_batch is None else min(b, max_physical_batch) for b in sizes]
    if physicals[-1] > n:
        raise ValueError(f"batch size {physicals[-1]} exceeds the {n} samples; set max_physical_batch <= {n}")
    rows = []
    for b, physical in zip(sizes, physicals):
        steps = b // physical
        if seed is not None:
            keras.utils.set_random_seed(seed)
        model = _resolve_model(model_fn())
        old = model.optimizer
        config = old.get_config()
        if learning_rate is None:
            _settable_learning_rate(old)
        else:
            config["learning_rate"] = float(learning_rate)
        config["gradient_accumulation_steps"] = steps if steps > 1 else None
        model.compile(optimizer=type(old).from_config(config), loss=model.loss)

        rng = np.random.default_rng(seed)

        def stream(rng=rng, physical=physical):
            for idx in _batches(n, physical, rng):
                yield _local(x[idx], y[idx])

        start = time.perf_counter()
        history = model.fit(stream(), steps_per_epoch=iterations * steps, epochs=1, shuffle=False, verbose=verbose)
        seconds = time.perf_counter() - start
        done = int(_to_numpy(model.optimizer.iterations))
        if done != iterations:  # pragma: no cover - guards the Keras >= 3.5 counting
            raise RuntimeError(f"expected {iterations} optimizer updates at batch size {b}, Keras counted {done}")
        result = _evaluate(model, x_eval, y_eval, physical)
        rows.append((b, float(result["loss"]), float(history.history["loss"][-1]), physical, steps, seconds))

    cols = list(zip(*rows))
    return BatchSizeResult(
        batch_sizes=np.array(cols[0]),
        losses=np.array(cols[1]),
        train_losses=np.array(cols[2]),
        iterations=iterations,
        physical_batch_sizes=np.array(cols[3]),
        accumulation_steps=np.array(cols[4]),
        seconds=np.array(cols[5]),
    )
