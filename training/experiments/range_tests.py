"""The finder experiments: pick the bounds of a cyclical policy, then train with a cyclical batch size.

Three recipes over the building blocks of :mod:`training.finders` and :mod:`training.batching`:

* ``lr-range``: the learning-rate range test (Smith 2017, Section 3.3). By default one run with the
  rate growing geometrically per batch (:func:`training.finders.lr_range_test`); with ``--grid``
  the exercise's form, a fresh model per candidate rate in ``logspace(start, end, points)``
  trained ``--epochs`` epochs, each candidate a sub-run (so ``cnntrain resume`` skips the
  finished ones). Writes ``lr_range.png``, ``results.md`` and ``lr_min``/``lr_max``.
* ``batch-range``: the batch-size range test (:func:`training.finders.batch_size_range_test`):
  a fixed learning rate, batch sizes ``b_lo .. b_hi`` (powers of two), the same number of
  updates each, each batch size a sub-run. Writes ``loss_vs_batch.png`` and ``b_min``/``b_max``.
* ``cyclical-batch``: training with :class:`training.batching.CyclicalBatchSize` between
  ``b_min`` and ``b_max``; writes ``curves.png`` and ``batch_size_trace.png``.

All three use SGD with momentum (as ``clr``), so the learning-rate bounds found here feed
``cnntrain clr --lr-min/--lr-max`` directly.
"""

from __future__ import annotations

import math
import os

import numpy as np

from cnncalc.atomic import write_json, write_text

from .. import plots
from ..batching import CBS_MODES, is_power_of_two
from ..runs import NonFiniteLoss, RunError
from . import CONVERGENCE_DEFAULTS, CONVERGENCE_OPTIONS, Option, ReadsRun, check_positive, experiment

# -- shared helpers -------------------------------------------------------------------------------


def _check_bounds(config: dict, lo: str, hi: str, *, strict: bool) -> None:
    """Both bounds powers of two, ``lo <= hi`` (``lo < hi`` when ``strict``); one-line RunError."""
    a, b = config.get(lo), config.get(hi)
    flag = lambda key: "--" + key.replace("_", "-")  # noqa: E731
    for key, value in ((lo, a), (hi, b)):
        if not is_power_of_two(value):
            raise RunError(f"{flag(key)} must be a power of two, got {value}")
    if a > b or (strict and a == b):
        raise RunError(f"{flag(lo)} must be {'<' if strict else '<='} {flag(hi)}, got {a} and {b}")


def _sgd(ctx, learning_rate):
    import keras

    return keras.optimizers.SGD(learning_rate=float(learning_rate), momentum=float(ctx.get("momentum", 0.9)))


def _finite_or_none(values) -> list:
    return [float(v) if v is not None and math.isfinite(float(v)) else None for v in values]


def markdown_table(header: list[str], rows: list[list]) -> str:
    """A GitHub markdown table; cells are written with ``str``."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _g(value) -> str:
    return "diverged" if value is None or not math.isfinite(float(value)) else f"{float(value):.4g}"


# -- lr-range -------------------------------------------------------------------------------------

LR_PRESETS = {
    "quick": {"dataset": "fashion_mnist", "model": "lenet5", "epochs": 2, "batch_size": 64, "subset": 4096, "test_subset": 1000,
              "start_lr": 1e-6, "end_lr": 10.0, "steps": 100, "grid": False, "grid_points": 6, "beta": 0.98, "diverge": 4.0,
              "momentum": 0.9, "seed": 0},
    # The exercise: MiniGoogLeNet on Fashion-MNIST, candidates logspace(-9, 1, 10), 5 epochs at batch 64
    # each (--grid); the one-run test sweeps the same range over one epoch (steps None) at batch 64.
    "paper": {"dataset": "fashion_mnist", "model": "minigooglenet", "epochs": 5, "batch_size": 64,
              "start_lr": 1e-9, "end_lr": 10.0, "steps": None, "grid": False, "grid_points": 10, "beta": 0.98, "diverge": 4.0,
              "momentum": 0.9, "seed": 0},
}  # fmt: skip


def _validate_lr(config: dict) -> None:
    start, end = config.get("start_lr"), config.get("end_lr")
    if not (start is not None and end is not None and 0 < start < end):
        raise RunError(f"need 0 < --start-lr < --end-lr, got {start} and {end}")
    if config.get("steps") is not None and not config["steps"] >= 2:
        raise RunError(f"--steps must be at least 2, got {config['steps']}")
    if not config.get("grid_points", 0) >= 2:
        raise RunError(f"--grid-points must be at least 2, got {config.get('grid_points')}")
    if not 0 <= config.get("beta", 0) < 1:
        raise RunError(f"--beta must lie in [0, 1), got {config.get('beta')}")
    if not config.get("diverge", 0) > 1:
        raise RunError(f"--diverge must be > 1, got {config.get('diverge')}")


def grid_lrs(config: dict) -> np.ndarray:
    """The grid's candidate rates: ``logspace(log10 start_lr, log10 end_lr, grid_points)``."""
    return np.logspace(math.log10(config["start_lr"]), math.log10(config["end_lr"]), int(config["grid_points"]))


def _lr_one_run(ctx):
    """The one-run range test; its curve is kept in ``lr_range.json`` so a resume does not redo it."""
    from ..finders import LRResult, lr_range_test

    saved = ctx.file("lr_range.json")
    if ctx.run.exists("lr_range.json"):
        d = ctx.run.read_json("lr_range.json")
        nan = lambda v: [math.nan if x is None else x for x in v]  # noqa: E731
        return LRResult(np.array(d["lrs"]), np.array(nan(d["losses"])), np.array(nan(d["smoothed"])), stopped_early=d["stopped_early"])
    import keras

    data = ctx.dataset()
    batch = int(ctx["batch_size"])
    steps = int(ctx.get("steps") or max(2, len(data.x_train) // batch))
    keras.utils.set_random_seed(int(ctx["seed"]))
    model = ctx.build_model(_sgd(ctx, ctx["start_lr"]))
    result = lr_range_test(model, (data.x_train, data.y_train), start_lr=float(ctx["start_lr"]), end_lr=float(ctx["end_lr"]),
                           num_steps=steps, batch_size=batch, beta=float(ctx["beta"]), diverge=float(ctx["diverge"]),
                           restore=False, seed=int(ctx["seed"]))  # fmt: skip
    write_json(saved, {"lrs": result.lrs.tolist(), "losses": _finite_or_none(result.losses),
                       "smoothed": _finite_or_none(result.smoothed), "stopped_early": result.stopped_early, "steps": steps})  # fmt: skip
    return result


class FreshModels:
    """The grid's fresh models, one compiled model reset for each rate.

    Every rate of the grid trains the same network from the same initial weights (the run's seed)
    with SGD at its own rate. Building and compiling a model per rate made Keras trace its
    training and evaluation steps again each time (about 2 s of CPU per rate for LeNet-5, most of
    a quick grid point). Instead the first model is kept, and each later rate gets it back as a
    fresh build would give it: the initial weights (non-trainable ones such as BatchNorm's
    statistics included) and seed-generator states put back, SGD's step count and momenta zeroed,
    its learning-rate variable set to the rate. The histories are the ones fresh models give, to
    the bit (tests/training/test_cli_finders.py compares them). Under ``--distribute`` (a model lives
    in its strategy's scope, and each run makes its own) every rate builds its own model.
    """

    def __init__(self, ctx):
        self.ctx, self.model, self.initial = ctx, None, None

    def __call__(self, lr):
        from ..runs.loop import restore_seed_states, seed_states

        ctx = self.ctx
        if self.model is None or ctx.get("distribute"):
            model = ctx.build_model(_sgd(ctx, lr))
            if not ctx.get("distribute"):
                self.model, self.initial = model, (model.get_weights(), seed_states(model))
            return model
        weights, seeds = self.initial
        self.model.set_weights(weights)
        restore_seed_states(self.model, seeds)
        optimizer = self.model.optimizer
        for variable in optimizer.variables:  # the step count and the momenta (a fresh SGD's zeros)
            variable.assign(np.zeros(variable.shape, dtype=variable.dtype))
        optimizer.learning_rate = float(lr)  # its variable, which the traced step reads
        self.model.stop_training = False
        return self.model


def _lr_grid(ctx):
    """The exercise's grid: one sub-run per candidate, ``epochs`` epochs each; final training loss."""
    from ..finders import LRResult

    lrs = grid_lrs(ctx.config)
    names = [f"lr_{i:02d}_{lr:.1e}" for i, lr in enumerate(lrs, start=1)]
    finals, histories = [], []
    fresh = FreshModels(ctx)
    for name, lr in zip(ctx.sweep(names), lrs):
        sub = ctx.subrun(name, {"lr": float(lr), "grid": False})
        state = sub.status()
        diverged = state.get("state") == "failed" and str(state.get("reason", "")).startswith("the loss became")
        if not diverged:
            try:
                ctx.fit(sub, lambda lr=lr: fresh(lr))
            except NonFiniteLoss:
                diverged = True
        per_epoch = [r["loss"] for r in sub.history()] if os.path.exists(sub.file("history.csv")) else []
        histories.append(per_epoch)
        finals.append(math.nan if diverged or not per_epoch else float(per_epoch[-1]))
    return LRResult(lrs, np.array(finals, dtype=float), None, method="grid_search", histories=histories)


@experiment(
    "lr-range",
    "learning-rate range test (one run, or --grid: a fresh model per rate); plot and suggested lr_min/lr_max",
    LR_PRESETS,
    options=(
        Option("--start-lr", "smallest rate tried", float),
        Option("--end-lr", "largest rate tried", float),
        Option("--steps", "batches of the one-run test (default: one epoch)", int),
        Option("--grid", "the exercise's grid form: a fresh model per rate, --epochs epochs each", flag_only=True),
        Option("--grid-points", "candidates of the grid, log-spaced from --start-lr to --end-lr", int),
        Option("--beta", "EMA coefficient of the one-run test's loss smoothing", float),
        Option("--diverge", "the one-run test stops when the smoothed loss exceeds this times its best", float),
        Option("--momentum", "SGD momentum", float),
    ),
    validate=_validate_lr,
)
def run_lr_range(ctx):
    result = _lr_grid(ctx) if ctx.get("grid", False) else _lr_one_run(ctx)
    form = "grid" if result.method == "grid_search" else "range test"
    title = f"{ctx['model']} on {ctx['dataset']}: LR {form}"
    result.plot(ctx.file("lr_range.png"), title=title)
    out = {"method": result.method, "best_lr": result.best_lr, "lr_min": None, "lr_max": None}
    try:
        bounds = result.suggest()
        out.update(lr_min=bounds.lr_min, lr_max=bounds.lr_max, rule=bounds.rule)
    except ValueError as exc:  # a curve that never falls: no bounds, say why
        out["note"] = str(exc)
        ctx.log(f"no bounds suggested: {exc}")
    curve = {"lr": result.lrs.tolist(), "loss": _finite_or_none(result.losses)}
    if result.smoothed is not None:
        curve["smoothed"] = _finite_or_none(result.smoothed)
        out["stopped_early"] = bool(result.stopped_early)
    out["curve"] = curve

    lines = [f"# {title}\n\n", markdown_table(["lr_min", "lr_max", "best lr"], [[_g(out["lr_min"]), _g(out["lr_max"]), _g(out["best_lr"])]])]
    if result.method == "grid_search":
        rows = [[f"{lr:.1e}", _g(loss), " ".join(_g(v) for v in h)] for lr, loss, h in zip(result.lrs, result.losses, result.histories)]
        lines += ["\n", markdown_table(["learning rate", f"training loss after {ctx['epochs']} epochs", "per epoch"], rows)]
    else:  # the curve at (about) each decade
        picks = sorted({int(np.argmin(np.abs(np.log10(result.lrs) - d))) for d in np.arange(math.floor(np.log10(result.lrs[0])), math.ceil(np.log10(result.lrs[-1])) + 1)})
        rows = [[f"{result.lrs[i]:.1e}", _g(result.losses[i]), _g(result.smoothed[i])] for i in picks]
        lines += ["\n", markdown_table(["learning rate", "batch loss", "smoothed"], rows)]
    write_text(ctx.file("results.md"), "".join(lines))
    return out


# -- batch-range ----------------------------------------------------------------------------------

BATCH_PRESETS = {
    "quick": {"dataset": "fashion_mnist", "model": "lenet5", "lr": 0.01, "momentum": 0.9, "subset": 4096, "test_subset": 1000,
              "b_lo": 16, "b_hi": 512, "iterations": 60, "max_physical_batch": 256, "seed": 0},
    # training/finders.py's defaults: 64 .. 8192, as many updates as 5 epochs at b_lo, with gradient
    # accumulation above 1024 samples per physical batch.
    "paper": {"dataset": "fashion_mnist", "model": "lenet5", "lr": 0.01, "momentum": 0.9,
              "b_lo": 64, "b_hi": 8192, "iterations": None, "epochs_at_lo": 5, "max_physical_batch": 1024, "seed": 0},
}  # fmt: skip


def _validate_batch(config: dict) -> None:
    _check_bounds(config, "b_lo", "b_hi", strict=False)
    check_positive(config, "iterations", "epochs_at_lo")
    m = config.get("max_physical_batch")
    if m is not None and not is_power_of_two(m):
        raise RunError(f"--max-physical-batch must be a power of two, got {m}")


def _validate_batch_data(config: dict, dataset) -> None:
    """Each candidate batch size is a sub-run: ``b_hi`` beyond the training set plans runs that
    could only repeat the largest useful one (and 2**40 plans 38 of them)."""
    n = len(dataset.x_train)
    if int(config["b_hi"]) > n:
        raise RunError(f"--b-hi {config['b_hi']} exceeds the {n} training samples (a batch holds at most all of them)")


@experiment(
    "batch-range",
    "batch-size range test: a fixed learning rate, batch sizes b_lo..b_hi with the same number of updates; loss vs batch size, b_min/b_max",
    BATCH_PRESETS,
    options=(
        Option("--b-lo", "smallest batch size (a power of two)", int),
        Option("--b-hi", "largest batch size (a power of two)", int),
        Option("--iterations", "optimizer updates per batch size (default: --epochs-at-lo epochs at b_lo)", int),
        Option("--epochs-at-lo", "with no --iterations: this many epochs at b_lo set the number of updates", int),
        Option("--max-physical-batch", "largest batch put through the model at once; above it, gradient accumulation", int),
        Option("--momentum", "SGD momentum", float),
        Option("--lr-from", "take --lr from this finished lr-range run (its lr_min)", reads=ReadsRun("lr-range", {"lr_min": "lr"})),
    ),
    validate=_validate_batch,
    validate_data=_validate_batch_data,
)
def run_batch_range(ctx):
    from ..finders import BatchSizeResult, batch_size_range_test

    data = ctx.dataset()
    n = len(data.x_train)
    b_lo, b_hi = int(ctx["b_lo"]), int(ctx["b_hi"])
    iterations = int(ctx.get("iterations") or int(ctx.get("epochs_at_lo", 5)) * max(1, n // b_lo))
    sizes = [b_lo << k for k in range(int(math.log2(b_hi // b_lo)) + 1)]
    rows = []
    for name, b in zip(ctx.sweep([f"b{b:05d}" for b in sizes]), sizes):
        sub = ctx.subrun(name, {"batch_size": b, "iterations": iterations})
        if sub.status().get("state") != "finished":
            sub.set_status("running")
            r = batch_size_range_test(lambda: ctx.build_model(_sgd(ctx, ctx["lr"])), (data.x_train, data.y_train),
                                      learning_rate=float(ctx["lr"]), b_lo=b, b_hi=b, iterations=iterations,
                                      max_physical_batch=ctx.get("max_physical_batch"), eval_data=(data.x_val, data.y_val),
                                      seed=int(ctx["seed"]), verbose=0)  # fmt: skip
            sub.write_metrics({"batch_size": b, "val_loss": float(r.losses[0]), "train_loss": float(r.train_losses[0]),
                               "physical_batch_size": int(r.physical_batch_sizes[0]), "accumulation_steps": int(r.accumulation_steps[0]),
                               "iterations": iterations, "seconds": float(r.seconds[0])})  # fmt: skip
            sub.set_status("finished")
        rows.append(sub.metrics())
    col = lambda key: np.array([r[key] for r in rows])  # noqa: E731
    result = BatchSizeResult(col("batch_size"), col("val_loss"), col("train_loss"), iterations,
                             col("physical_batch_size"), col("accumulation_steps"), col("seconds"))  # fmt: skip
    title = f"{ctx['model']} on {ctx['dataset']}, lr {float(ctx['lr']):g}: loss vs batch size"
    result.plot(ctx.file("loss_vs_batch.png"), title=title)
    out = {"b_min": None, "b_max": None, "iterations": iterations, "lr": float(ctx["lr"])}
    try:
        bounds = result.suggest()
        out.update(b_min=bounds.b_min, b_max=bounds.b_max, rule=bounds.rule)
    except ValueError as exc:
        out["note"] = str(exc)
        ctx.log(f"no bounds suggested: {exc}")
    out["curve"] = {key: [r[key] for r in rows] for key in ("batch_size", "val_loss", "train_loss", "physical_batch_size", "accumulation_steps", "seconds")}
    table = markdown_table(["batch size", "validation loss", "mean training loss", "physical x accumulation", "seconds"],
                   [[r["batch_size"], _g(r["val_loss"]), _g(r["train_loss"]), f"{r['physical_batch_size']} x {r['accumulation_steps']}", f"{r['seconds']:.1f}"] for r in rows])  # fmt: skip
    head = markdown_table(["b_min", "b_max", "updates per size"], [[out["b_min"], out["b_max"], iterations]])
    write_text(ctx.file("results.md"), f"# {title}\n\n{head}\n{table}")
    return out


# -- cyclical-batch -------------------------------------------------------------------------------

CBS_PRESETS = {
    "quick": {"dataset": "fashion_mnist", "model": "lenet5", "epochs": 6, "lr": 0.02, "momentum": 0.9, "subset": 8192, "test_subset": 2000,
              "b_min": 32, "b_max": 512, "step_epochs": 1.0, "mode": "exponential", "gamma": 1.0, "seed": 0, **CONVERGENCE_DEFAULTS},
    # The bounds (128 .. 2048); SGD momentum 0.9 at a fixed rate, half a cycle = 4 epochs, 5 cycles.
    "paper": {"dataset": "fashion_mnist", "model": "lenet5", "epochs": 40, "lr": 0.05, "momentum": 0.9,
              "b_min": 128, "b_max": 2048, "step_epochs": 4.0, "mode": "exponential", "gamma": 1.0, "seed": 0, **CONVERGENCE_DEFAULTS},
}  # fmt: skip


def _validate_cbs(config: dict) -> None:
    _check_bounds(config, "b_min", "b_max", strict=True)
    check_positive(config, "step_epochs")
    if not 0 < float(config.get("gamma", 1.0)) <= 1:
        raise RunError(f"--gamma must lie in (0, 1], got {config.get('gamma')}")


def cbs_policy(config: dict, n: int):
    """The run's :class:`CyclicalBatchSize`: a pure function of the config and the training-set size.

    ``step_size`` (steps in half a cycle) is ``step_epochs`` epochs of steps at the trajectory's mean
    batch size, so half a cycle sees about ``step_epochs * n`` samples whatever the bounds (for
    ``exp_increase``, the mean of its first cycle, where it is the exponential trajectory).
    """
    from ..batching import CyclicalBatchSize

    step_size = max(1, int(round(float(config["step_epochs"]) * n / first_cycle_mean(config))))
    return CyclicalBatchSize(int(config["b_min"]), int(config["b_max"]), step_size, mode=config["mode"], gamma=float(config.get("gamma", 1.0)))


def first_cycle_mean(config: dict) -> float:
    """The mean batch size over half of the first cycle of the configured trajectory."""
    from ..batching import CyclicalBatchSize

    mode = "exponential" if config["mode"] == "exp_increase" else config["mode"]
    probe = CyclicalBatchSize(int(config["b_min"]), int(config["b_max"]), 1000, mode=mode)
    return float(np.mean([probe.batch_size(t) for t in range(1000)]))


@experiment(
    "cyclical-batch",
    "train with a cyclical batch size between b_min and b_max at a fixed learning rate; curves and the batch-size trace",
    CBS_PRESETS,
    options=(
        Option("--b-min", "smallest batch size of the cycle (a power of two)", int),
        Option("--b-max", "largest batch size of the cycle (a power of two)", int),
        Option("--step-epochs", "half a cycle, in epochs", float),
        Option("--mode", "trajectory between the bounds (rounded to powers of two); exp_increase: the cycles drift toward b_max by --gamma per step", str, choices=CBS_MODES),
        Option("--gamma", "exp_increase: decay per step of the excursion below b_max (log2 space)", float),
        Option("--momentum", "SGD momentum", float),
        Option("--bounds-from", "take --b-min and --b-max from this finished batch-range run (its b_min, b_max)", reads=ReadsRun("batch-range", {"b_min": "b_min", "b_max": "b_max"})),
        *CONVERGENCE_OPTIONS,
    ),
    validate=_validate_cbs,
)
def run_cyclical_batch(ctx):
    data = ctx.dataset()
    n = len(data.x_train)
    policy = cbs_policy(ctx.config, n)
    # A fresh policy replans from epoch 0, so the sizes of an epoch are the same after a resume.
    metrics = ctx.fit(ctx.run, lambda: ctx.build_model(_sgd(ctx, ctx["lr"])), batch_sizes=lambda epoch: policy.epoch_sizes(n, epoch))
    history, traces = ctx.run.history(), ctx.run.traces()
    title = f"{ctx['model']} on {ctx['dataset']}, cyclical batch size {ctx['b_min']}..{ctx['b_max']} ({ctx['mode']})"
    plots.history(history, ctx.file("curves.png"), title=title)
    plots.batch_trace(traces, int(ctx["b_min"]), ctx.file("batch_size_trace.png"), title=f"{title}, step size {policy.step_size}",
                      low_end=policy.low_end if policy.mode == "exp_increase" else None)  # fmt: skip
    used = sorted({int(r["batch_size"]) for r in traces})
    per_epoch = {}
    for r in traces:
        per_epoch.setdefault(int(r["epoch"]), []).append(int(r["batch_size"]))
    rows = [[r["epoch"], r["steps"], f"{min(per_epoch[int(r['epoch'])])}..{max(per_epoch[int(r['epoch'])])}", _g(r["loss"]), _g(r["val_loss"]), _g(r["val_accuracy"])] for r in history]
    summary = markdown_table(["test accuracy", "b_min", "b_max", "step size (steps)", "sizes used"],
                     [[_g(metrics.get("test_accuracy")), ctx["b_min"], ctx["b_max"], policy.step_size, " ".join(map(str, used))]])  # fmt: skip
    write_text(ctx.file("results.md"), f"# {title}\n\n{summary}\n" + markdown_table(["epoch", "steps", "batch sizes", "loss", "val loss", "val accuracy"], rows))
    return {**metrics, "b_min": int(ctx["b_min"]), "b_max": int(ctx["b_max"]), "mode": ctx["mode"], "gamma": policy.gamma, "lr": float(ctx["lr"]), "step_size": policy.step_size,
            "batch_sizes_used": used, "steps_per_epoch": [int(r["steps"]) for r in history],
            "samples_per_epoch": [sum(per_epoch[e]) for e in sorted(per_epoch)]}  # fmt: skip
