"""Problem 1 of the exercise: the five adaptive optimizers on the CIFAR-10 MLP, with L2, then with
dropout added: training loss against the epoch, training time and test accuracy.

Every method of :func:`training.optimizers.make` (AdaGrad, RMSProp, RMSProp with Nesterov
momentum, AdaDelta, Adam) trains the zoo's ``mlp`` twice, both times with the L2 penalty ``--l2``
on the kernels of its three Dense layers (the exercise's part 2 trains "with L2 regularization"):
``no_dropout`` (part 2) and ``dropout`` (part 3, which *adds* dropout: ``--dropout-input`` on the
flattened pixels, ``--dropout-hidden`` after each hidden ReLU, Srivastava et al. 2014's 0.2 and
0.5). Dropout is the only difference between the variants, and each sub-run's ``config.json``
records the L2 factor and dropout rates it trained with. Each of the 2 x 5 trainings is a sub-run
(``adam_no_dropout``, ``adam_dropout``, ...), so ``cnntrain resume`` skips the finished ones.

Writes ``loss_no_dropout.png`` and ``loss_dropout.png`` (training loss per epoch, one curve per
method; the loss includes the L2 term in both, and with dropout it is measured with dropout
active), ``loss_with_without_dropout.png`` (each method's two curves in one colour, dashed with
dropout), ``time_bars.png`` (training seconds of every sub-run) and ``results.md``, which opens
with the exercise part each table and figure answers and answers parts 2-4 from the runs:
final training loss per method and variant and the lowest of each,
loss and time with dropout over without, the test-accuracy table, and the part-4 note measured
on one trained dropout model (:mod:`training.dropout_scaling`: Keras' inverted dropout against
the textbook's test-time weight scaling). ``results.json`` holds the same numbers and the curves.

The ``paper`` preset is the exercise's CIFAR-10 MLP (two hidden layers of 1000 ReLU units,
4,084,010 parameters): 200 epochs, batch 128, learning rate 0.001 (Keras' default) for all but
AdaDelta, which gets 1.0 (Zeiler's rule has no learning rate), unless ``--lr`` sets one for all,
dropout 0.2 / 0.5, L2 1e-4. The ``quick`` preset runs on Fashion-MNIST (CIFAR-10 cannot be
downloaded everywhere; ``--dataset cifar10`` with ``--data-dir`` or the Keras cache works the same).
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


def variant_settings(config: dict, variant: str) -> dict:
    """What one variant trains with: the same L2 in both, dropout rates only in ``dropout``."""
    dropout = variant == "dropout"
    return {
        "l2": float(config["l2"]),
        "dropout_input": float(config["dropout_input"]) if dropout else 0.0,
        "dropout_hidden": float(config["dropout_hidden"]) if dropout else 0.0,
    }


def _check_subruns(ctx, candidates: dict) -> None:
    """Before anything trains, refuse an existing sub-run whose recorded regularisation is not
    what this run trains (a directory made by an older ``cnntrain``, which put L2 only in the
    dropout runs), rather than mixing it into the comparison."""
    for name, (_, variant) in candidates.items():
        sub = ctx.run.child(name)
        if not sub.exists("config.json"):
            continue
        settings = variant_settings(ctx.config, variant)
        recorded = sub.config()
        got = {k: recorded.get(k) for k in settings}
        if got != settings:
            raise RunError(f"sub-run {name} was trained with {got}, not {settings} (an older layout?); start a new run")


@experiment(
    "optimizers",
    "AdaGrad, RMSProp, RMSProp+Nesterov, AdaDelta and Adam on an MLP with L2, without and with dropout: loss curves, times, test accuracy",
    PRESETS,
    options=(
        Option("--methods", "optimizers to compare (default: all five)", str, nargs="+", choices=METHODS),
        Option("--dropout-input", "dropout rate on the input pixels in the dropout runs (paper: 0.2)", float),
        Option("--dropout-hidden", "dropout rate after each hidden layer in the dropout runs (paper: 0.5)", float),
        Option("--l2", "L2 factor on the Dense kernels in both variants (paper: 1e-4; 0: none)", float),
    ),
    validate=validate,
)
def run(ctx):
    from ..models import add_l2
    from ..optimizers import make

    methods = [m for m in METHODS if m in ctx["methods"]]  # the canonical order
    lr = ctx.get("lr")
    candidates = {subrun_name(m, v): (m, v) for v in VARIANTS for m in methods}
    _check_subruns(ctx, candidates)
    runs, subs = {}, {}
    for name in ctx.sweep(list(candidates)):
        method, variant = candidates[name]
        settings = variant_settings(ctx.config, variant)
        options = {"input_dropout": settings["dropout_input"], "dropout": settings["dropout_hidden"]}

        def build(method=method, options=options, l2=settings["l2"]):
            model = ctx.build_model(make(method, learning_rate=lr if lr is not None else DEFAULT_LR[method]), **options)
            if l2 > 0:
                add_l2(model, l2)
            return model

        sub = ctx.subrun(name, {"method": method, "variant": variant, **settings})
        metrics = ctx.fit(sub, build)
        history = sub.history()
        subs[name] = sub
        runs[name] = {
            "method": method,
            "dropout": variant == "dropout",
            **settings,
            "test_accuracy": metrics.get("test_accuracy"),
            "test_loss": metrics.get("test_loss"),
            "train_seconds": metrics.get("wall_seconds"),
            "final_loss": history[-1]["loss"] if history else None,
            "loss": [r["loss"] for r in history],
            "val_accuracy": [r["val_accuracy"] for r in history],
        }

    l2 = float(ctx["l2"])
    l2_label = f"L2 {l2:g}" if l2 > 0 else "no L2"
    drop_label = f"dropout {float(ctx['dropout_input']):g}/{float(ctx['dropout_hidden']):g}"
    epochs = list(range(1, int(ctx["epochs"]) + 1))
    where = f"{ctx['model']} on {ctx['dataset']}"
    for variant in VARIANTS:
        label = f"{l2_label} + {drop_label}" if variant == "dropout" else f"{l2_label}, no dropout"
        part = "part 3" if variant == "dropout" else "part 2"
        series = {m: (epochs, runs[subrun_name(m, variant)]["loss"]) for m in methods}
        plots.curves(series, ctx.file(f"loss_{variant}.png"), xlabel="epoch", ylabel="training loss (with the L2 term)",
                     title=f"{part}: {where}, {label}", logy=True)
    # Part 3's comparison, method by method: one colour per method, dashed with dropout.
    series, styles = {}, {}
    for i, m in enumerate(methods):
        for variant, suffix, line in (("no_dropout", "", "-"), ("dropout", " + dropout", "--")):
            series[m + suffix] = (epochs, runs[subrun_name(m, variant)]["loss"])
            styles[m + suffix] = {"color": f"C{i}", "linestyle": line}
    plots.curves(series, ctx.file("loss_with_without_dropout.png"), xlabel="epoch", ylabel="training loss (with the L2 term)",
                 title=f"part 3: {where}, {l2_label} in both; dashed: + {drop_label}", logy=True, styles=styles)
    plots.bars({f"{r['method']}{' +dropout' if r['dropout'] else ''}": r["train_seconds"] for r in runs.values()},
               ctx.file("time_bars.png"), ylabel="training seconds", title=f"part 3: training time, {l2_label} in both, with and without {drop_label}")

    def per(key):
        return {m: {v: runs[subrun_name(m, v)][key] for v in VARIANTS} for m in methods}

    accuracy, seconds, final_loss = per("test_accuracy"), per("train_seconds"), per("final_loss")
    results = {
        "methods": methods,
        "learning_rate": {m: float(lr) if lr is not None else DEFAULT_LR[m] for m in methods},
        "dropout_input": float(ctx["dropout_input"]),
        "dropout_hidden": float(ctx["dropout_hidden"]),
        "l2": l2,
        "variants": {v: variant_settings(ctx.config, v) for v in VARIANTS},
        "test_accuracy": accuracy,
        "train_seconds": seconds,
        "final_loss": final_loss,
        "lowest_final_loss": {v: min(methods, key=lambda m, v=v: final_loss[m][v]) for v in VARIANTS},
        "loss_ratio": {m: _ratio(final_loss[m]["dropout"], final_loss[m]["no_dropout"]) for m in methods},
        "accuracy_difference": {m: _difference(accuracy[m]["dropout"], accuracy[m]["no_dropout"]) for m in methods},
        "time_ratio": {m: _ratio(seconds[m]["dropout"], seconds[m]["no_dropout"]) for m in methods},
        "dropout_scaling": _dropout_scaling(ctx, methods, accuracy, subs),
        "runs": runs,
    }
    write_results(ctx, results)
    return results


def _ratio(a, b):
    return None if a is None or not b else round(float(a) / float(b), 4)


def _difference(a, b):
    return None if a is None or b is None else round(float(a) - float(b), 6)


def _dropout_scaling(ctx, methods, accuracy, subs) -> dict | None:
    """Part 4's note, measured: the best dropout model's test accuracy as Keras computes it
    (inverted dropout) and as the textbook's no-dropout network with weights scaled by ``q`` does."""
    import keras

    from ..dropout_scaling import compare
    from ..models import build

    if not any(float(ctx[k]) > 0 for k in ("dropout_input", "dropout_hidden")):
        return None  # nothing to scale
    method = max(methods, key=lambda m: (accuracy[m]["dropout"] or 0.0, -methods.index(m)))
    name = subrun_name(method, "dropout")
    checkpoint = subs[name].latest_checkpoint()
    if checkpoint is None:
        return None
    model = keras.models.load_model(checkpoint["model_path"], compile=False)
    data = ctx.dataset()
    plain = build(ctx["model"], data.input_shape, data.num_classes)  # the same mlp, no Dropout layers
    return {"subrun": name, **compare(model, plain, data.x_test, data.y_test)}


def write_results(ctx, r: dict) -> None:
    """``results.md``: a map from the exercise's parts to the files and tables that answer them,
    then each table under its part of Problem 1, every number from ``r`` (``results.json``)."""
    from cnncalc.atomic import write_text

    from ..models import describe

    methods, fl, sec, acc = r["methods"], r["final_loss"], r["train_seconds"], r["test_accuracy"]
    data = ctx.dataset()
    params = describe(ctx["model"], data.input_shape, data.num_classes)["params"]
    l2 = f"L2 {r['l2']:g} on the kernels of the three Dense layers" if r["l2"] > 0 else "no L2 penalty"
    drop = f"dropout {r['dropout_input']:g} on the input pixels and {r['dropout_hidden']:g} after each hidden ReLU"

    def f4(value):
        return "n/a" if value is None else f"{value:.4f}"

    def signed(value):
        return "n/a" if value is None else f"{value:+.4f}"

    def lowest(variant):
        m = r["lowest_final_loss"][variant]
        return f"**{m}** ({f4(fl[m][variant])})"

    lines = [
        f"# Problem 1: optimizers on {ctx['model']} ({ctx['dataset']}, {params:,} parameters, {ctx['epochs']} epochs, batch {ctx['batch_size']})",
        "",
        "| exercise part | question | answered by |",
        "| --- | --- | --- |",
        "| part 2 | train the five methods with L2; training loss against the epoch; which method ends lowest | `loss_no_dropout.png`, table *Part 2* |",
        "| part 3 | add dropout and train again; training loss and training time with dropout against without | `loss_dropout.png`, `loss_with_without_dropout.png`, `time_bars.png`, table *Part 3* |",
        "| part 4 | test accuracy of parts 2 and 3; inverted dropout against test-time weight scaling | table *Part 4* and the line under it |",
        "",
        f"Both variants train with {l2}; `dropout` adds {drop}. Dropout is the only difference.",
        "Training losses are Keras' epoch means and include the L2 term; with dropout they are measured with dropout active.",
        "",
        "## Part 2: the methods with L2 (`loss_no_dropout.png`)",
        "",
        "| method | learning rate | final training loss |",
        "| --- | ---: | ---: |",
        *[f"| {m} | {r['learning_rate'][m]:g} | {f4(fl[m]['no_dropout'])} |" for m in methods],
        "",
        f"Lowest final training loss with L2: {lowest('no_dropout')}.",
        "",
        "## Part 3: dropout added (`loss_dropout.png`, `loss_with_without_dropout.png`, `time_bars.png`)",
        "",
        "| method | final loss, L2 | final loss, L2 + dropout | loss with / without dropout | train s, L2 | train s, L2 + dropout | time with / without dropout |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        *[f"| {m} | {f4(fl[m]['no_dropout'])} | {f4(fl[m]['dropout'])} | {f4(r['loss_ratio'][m])} | {sec[m]['no_dropout']:.1f} | "
          f"{sec[m]['dropout']:.1f} | {f4(r['time_ratio'][m])} |" for m in methods],
        "",
        f"Lowest final training loss with dropout: {lowest('dropout')}.",
        "Training seconds are the sum of the epoch times (validation pass included).",
        "",
        "## Part 4: test accuracy of parts 2 and 3",
        "",
        "| method | test acc. part 2 (L2) | test acc. part 3 (L2 + dropout) | part 3 - part 2 |",
        "| --- | ---: | ---: | ---: |",
        *[f"| {m} | {f4(acc[m]['no_dropout'])} | {f4(acc[m]['dropout'])} | {signed(r['accuracy_difference'][m])} |" for m in methods],
    ]  # fmt: skip
    s = r["dropout_scaling"]
    if s is not None:
        q = ", ".join(f"{k} {v:g}" for k, v in s["keep_probability"].items())
        same = s["weight_scaled_accuracy"] == s["inverted_dropout_accuracy"]
        lines += [
            "",
            f"Inverted dropout against test-time weight scaling, computed on `{s['subrun']}` ({s['images']} test images): "
            f"Keras' inverted dropout (no mask and no scaling at test) gives test accuracy {f4(s['inverted_dropout_accuracy'])} "
            f"(cross-entropy {f4(s['inverted_dropout_cross_entropy'])}); the textbook network (training-time kernels W/q, "
            f"no Dropout layers, kernels times q at test; q: {q}) gives {f4(s['weight_scaled_accuracy'])} "
            f"({f4(s['weight_scaled_cross_entropy'])}): **{'the same test accuracy' if same else 'different test accuracies'}**, "
            f"{s['predictions_differing']} of {s['images']} predictions differ, largest probability difference {s['max_probability_difference']:.2e}. "
            f"Without the test-time scaling: {f4(s['unscaled_accuracy'])} ({f4(s['unscaled_cross_entropy'])}), "
            f"largest probability difference {s['unscaled_max_probability_difference']:.2e}.",
        ]
    write_text(ctx.file("results.md"), "\n".join(lines) + "\n")
