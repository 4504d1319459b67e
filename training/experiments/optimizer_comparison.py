"""The five adaptive optimizers on an MLP, with and without dropout: training loss against the
epoch, training time and test accuracy.

Every method of :func:`training.optimizers.make` (AdaGrad, RMSProp, RMSProp with Nesterov
momentum, AdaDelta, Adam) trains the zoo's ``mlp`` twice: as it is, and regularised with dropout
(``--dropout-input`` on the flattened pixels, ``--dropout-hidden`` after each hidden ReLU, as
Srivastava et al. 2014 recommend: 0.2 and 0.5) plus an L2 penalty ``--l2`` on the Dense kernels.
Each of the 2 x 5 trainings is a sub-run (``adam_no_dropout``, ``adam_dropout``, ...), so
``cnntrain resume`` skips the finished ones.

Writes ``loss_no_dropout.png`` and ``loss_dropout.png`` (training loss per epoch, one curve per
method; with dropout the loss is measured with dropout active and includes the L2 term),
``time_bars.png`` (training seconds of every sub-run) and ``results.md`` (test accuracy and
training time, method x dropout); ``results.json`` holds the same numbers and the curves.

The ``paper`` preset is the exercise's CIFAR-10 MLP (two hidden layers of 1000 ReLU units,
4,084,010 parameters): 200 epochs, batch 128, learning rate 0.001 (Keras' default) for all but
AdaDelta, which gets 1.0 (Zeiler's rule has no learning rate), unless ``--lr`` sets one for all, dropout 0.2 / 0.5, L2 1e-4. The
``quick`` preset runs on Fashion-MNIST (CIFAR-10 cannot be downloaded everywhere; ``--dataset
cifar10`` with ``--data-dir`` or the Keras cache works the same).
"""

from __future__ import annotations

from .. import plots
from ..runs import RunError
from . import Option, experiment

METHODS = ("adagrad", "rmsprop", "rmsprop_nesterov", "adadelta", "adam")
VARIANTS = ("no_dropout", "dropout")
# Learning rates used when --lr is not given: Keras' defaults (0.001), except AdaDelta, which
# Zeiler 2012 defines without a learning rate (1.0; Keras 2's default; Keras 3 uses 0.001, with
# which AdaDelta barely moves in a few epochs).
DEFAULT_LR = {"adagrad": 0.001, "rmsprop": 0.001, "rmsprop_nesterov": 0.001, "adadelta": 1.0, "adam": 0.001}

PRESETS = {
    "quick": {"dataset": "fashion_mnist", "model": "mlp", "epochs": 5, "batch_size": 128, "subset": 8192, "test_subset": 2000,
              "methods": list(METHODS), "dropout_input": 0.2, "dropout_hidden": 0.5, "l2": 1e-4, "seed": 0},
    "paper": {"dataset": "cifar10", "model": "mlp", "epochs": 200, "batch_size": 128,
              "methods": list(METHODS), "dropout_input": 0.2, "dropout_hidden": 0.5, "l2": 1e-4, "seed": 0},
}


def validate(config: dict) -> None:
    if config.get("model") != "mlp":
        raise RunError(f"optimizers trains the zoo's mlp (its dropout options), not '{config.get('model')}'")
    methods = list(config.get("methods") or [])
    if not methods:
        raise RunError("--methods needs at least one method")
    if len(set(methods)) != len(methods):
        raise RunError(f"--methods lists a method twice: {' '.join(methods)}")
    for key in ("dropout_input", "dropout_hidden"):
        if not 0.0 <= float(config[key]) < 1.0:
            raise RunError(f"--{key.replace('_', '-')} must lie in [0, 1), got {config[key]}")
    if not float(config["l2"]) >= 0.0:
        raise RunError(f"--l2 must be >= 0, got {config['l2']}")


def subrun_name(method: str, variant: str) -> str:
    return f"{method}_{variant}"


@experiment(
    "optimizers",
    "AdaGrad, RMSProp, RMSProp+Nesterov, AdaDelta and Adam on an MLP, with and without dropout + L2: loss curves, times, test accuracy",
    PRESETS,
    options=(
        Option("--methods", "optimizers to compare (default: all five)", str, nargs="+", choices=METHODS),
        Option("--dropout-input", "dropout rate on the input pixels in the dropout runs (paper: 0.2)", float),
        Option("--dropout-hidden", "dropout rate after each hidden layer in the dropout runs (paper: 0.5)", float),
        Option("--l2", "L2 factor on the Dense kernels in the dropout runs (0: none)", float),
    ),
    validate=validate,
)
def run(ctx):
    from ..models import add_l2
    from ..optimizers import make

    methods = [m for m in METHODS if m in ctx["methods"]]  # the canonical order
    lr = ctx.get("lr")
    candidates = {subrun_name(m, v): (m, v) for v in VARIANTS for m in methods}
    runs = {}
    for name in ctx.sweep(list(candidates)):
        method, variant = candidates[name]
        dropout = variant == "dropout"
        options = {"input_dropout": float(ctx["dropout_input"]), "dropout": float(ctx["dropout_hidden"])} if dropout else {}

        def build(method=method, dropout=dropout, options=options):
            model = ctx.build_model(make(method, learning_rate=lr if lr is not None else DEFAULT_LR[method]), **options)
            if dropout and float(ctx["l2"]) > 0:
                add_l2(model, float(ctx["l2"]))
            return model

        sub = ctx.subrun(name, {"method": method, "variant": variant})
        metrics = ctx.fit(sub, build)
        history = sub.history()
        runs[name] = {
            "method": method,
            "dropout": dropout,
            "test_accuracy": metrics.get("test_accuracy"),
            "test_loss": metrics.get("test_loss"),
            "train_seconds": metrics.get("wall_seconds"),
            "loss": [r["loss"] for r in history],
            "val_accuracy": [r["val_accuracy"] for r in history],
        }

    epochs = list(range(1, int(ctx["epochs"]) + 1))
    for variant in VARIANTS:
        label = "with dropout + L2" if variant == "dropout" else "without dropout"
        series = {m: (epochs, runs[subrun_name(m, variant)]["loss"]) for m in methods}
        plots.curves(series, ctx.file(f"loss_{variant}.png"), xlabel="epoch", ylabel="training loss",
                     title=f"{ctx['model']} on {ctx['dataset']}, {label}", logy=True)
    plots.bars({f"{r['method']}{' +dropout' if r['dropout'] else ''}": r["train_seconds"] for r in runs.values()},
               ctx.file("time_bars.png"), ylabel="training seconds", title="training time with and without dropout")

    table = {m: {v: runs[subrun_name(m, v)]["test_accuracy"] for v in VARIANTS} for m in methods}
    seconds = {m: {v: runs[subrun_name(m, v)]["train_seconds"] for v in VARIANTS} for m in methods}
    write_table(ctx, methods, table, seconds)
    return {
        "methods": methods,
        "learning_rate": {m: float(lr) if lr is not None else DEFAULT_LR[m] for m in methods},
        "dropout_input": float(ctx["dropout_input"]),
        "dropout_hidden": float(ctx["dropout_hidden"]),
        "l2": float(ctx["l2"]),
        "test_accuracy": table,
        "train_seconds": seconds,
        "runs": runs,
    }


def write_table(ctx, methods, accuracy, seconds) -> None:
    from cnncalc.atomic import write_text

    lines = [
        f"# Optimizers on {ctx['model']} ({ctx['dataset']}, {ctx['epochs']} epochs, batch {ctx['batch_size']})",
        "",
        f"Dropout runs: input {ctx['dropout_input']:g}, hidden {ctx['dropout_hidden']:g}, L2 {ctx['l2']:g} on the Dense kernels.",
        "",
        "| method | test acc. (no dropout) | test acc. (dropout + L2) | train s (no dropout) | train s (dropout + L2) |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for m in methods:
        a, s = accuracy[m], seconds[m]
        lines.append(f"| {m} | {a['no_dropout']:.4f} | {a['dropout']:.4f} | {s['no_dropout']:.1f} | {s['dropout']:.1f} |")
    write_text(ctx.file("results.md"), "\n".join(lines) + "\n")
