"""Cyclical learning rates (Smith 2017), as the exercise runs them: MiniGoogLeNet on Fashion-MNIST
with SGD + momentum and a triangular / triangular2 / exp_range policy between the bounds an LR
range test suggested. Writes the train/validation loss and accuracy curves and the LR trace.

The ``paper`` preset follows the pyimagesearch CLR tutorial the exercise builds on: bounds 1e-7 and
1e-2, batch 64, step size 8 epochs, 96 epochs, SGD momentum 0.9.
"""

from __future__ import annotations

from .. import plots
from ..runs import RunError
from . import COMMON_OPTIONS, CONVERGENCE_DEFAULTS, CONVERGENCE_OPTIONS, Option, ReadsRun, check_positive, experiment

PRESETS = {
    "quick": {"dataset": "fashion_mnist", "model": "lenet5", "epochs": 3, "batch_size": 64, "subset": 4096, "test_subset": 2000,
              "lr_min": 1e-4, "lr_max": 1e-1, "step_epochs": 1, "mode": "triangular", "gamma": 0.99994, "momentum": 0.9, "seed": 0,
              **CONVERGENCE_DEFAULTS},
    "paper": {"dataset": "fashion_mnist", "model": "minigooglenet", "epochs": 96, "batch_size": 64,
              "lr_min": 1e-7, "lr_max": 1e-2, "step_epochs": 8, "mode": "triangular", "gamma": 0.99994, "momentum": 0.9, "seed": 0,
              **CONVERGENCE_DEFAULTS},
}


def _validate(config: dict) -> None:
    lo, hi = config.get("lr_min"), config.get("lr_max")
    if not 0 < lo < hi:
        raise RunError(f"need 0 < --lr-min < --lr-max, got {lo} and {hi}")
    if not 0 < config.get("gamma", 1) <= 1:
        raise RunError(f"--gamma (the exp_range decay per step) must lie in (0, 1], got {config.get('gamma')}")
    check_positive(config, "step_epochs")


@experiment(
    "clr",
    "train with a cyclical learning rate (triangular, triangular2, exp_range) and plot the curves and the LR trace",
    PRESETS,
    options=(
        Option("--lr-min", "lower bound of the cycle", float),
        Option("--lr-max", "upper bound of the cycle", float),
        Option("--mode", "policy", str, choices=("triangular", "triangular2", "exp_range")),
        Option("--gamma", "exp_range decay per step", float),
        Option("--step-epochs", "half a cycle, in epochs (Smith: 2-10)", float),
        Option("--momentum", "SGD momentum", float),
        Option("--bounds-from", "take --lr-min and --lr-max from this finished lr-range run (its lr_min, lr_max)", reads=ReadsRun("lr-range", {"lr_min": "lr_min", "lr_max": "lr_max"})),
        *CONVERGENCE_OPTIONS,
    ),
    validate=_validate,
    common=tuple(c for c in COMMON_OPTIONS if c != "lr"),  # the rates are --lr-min/--lr-max
)
def run(ctx):
    import keras

    from ..schedules import CyclicalLearningRate

    data = ctx.dataset()
    steps_per_epoch = -(-len(data.x_train) // int(ctx["batch_size"]))
    step_size = max(1, int(round(float(ctx["step_epochs"]) * steps_per_epoch)))

    def build():
        schedule = CyclicalLearningRate(float(ctx["lr_min"]), float(ctx["lr_max"]), step_size, mode=ctx["mode"], gamma=float(ctx["gamma"]))
        return ctx.build_model(keras.optimizers.SGD(learning_rate=schedule, momentum=float(ctx["momentum"])))

    metrics = ctx.fit(ctx.run, build, custom_objects={"CyclicalLearningRate": CyclicalLearningRate})
    history, traces = ctx.run.history(), ctx.run.traces()
    plots.history(history, ctx.file("curves.png"), title=f"{ctx['model']} on {ctx['dataset']}, CLR {ctx['mode']}")
    plots.trace(traces, "learning_rate", ctx.file("lr_trace.png"), title=f"{ctx['mode']}: {ctx['lr_min']:g} .. {ctx['lr_max']:g}, step size {step_size}")
    return {**metrics, "lr_min": float(ctx["lr_min"]), "lr_max": float(ctx["lr_max"]), "mode": ctx["mode"], "gamma": float(ctx["gamma"]),
            "step_size": step_size, "steps_per_epoch": steps_per_epoch}  # fmt: skip
