"""The whole of the exercise's Problem 2 as one resumable run: ``cnntrain policies``.

Four stages, each a sub-run made by its own recipe and fed by the one before (nothing copied by
hand; every stage's ``config.json`` names the run it read and the values it took):

1. ``1-lr-range``: the LR grid (``lr-range --grid``), a fresh model per rate in
   ``logspace(start_lr, end_lr, grid_points)``, ``grid_epochs`` epochs each; ``lr_min``/``lr_max``.
2. ``2-clr``: the cyclical learning rate, ``exp_range`` (exponentially decaying amplitude,
   ``gamma`` per step) between those bounds, trained to convergence (``--until-convergence``).
3. ``3-batch-range``: the batch-size range test at the fixed rate ``lr_min`` of stage 1, every
   batch size with the same number of updates; ``b_min``/``b_max``.
4. ``4-cyclical-batch``: the cyclical batch size between those bounds with the analogous
   trajectory, ``exp_increase`` (:mod:`training.batching`), at ``lr_min``, to convergence.

Then ``results.md`` answers each part: the data (split sizes, three images of three classes),
each stage's table and figure, the block diagram of the batch-size finder, and the two policies'
best accuracies side by side with the winner. ``cnntrain resume`` skips the finished stages and
continues an interrupted one from its last checkpoint.

``exp_increase``'s ``gamma`` is derived from the CLR's so that both excursions decay alike *per
sample seen*: ``gamma_B = gamma ** (mean_B / batch_size)``, with ``mean_B`` the mean batch size of
the first cycle (a step of batch ``B`` sees ``B / batch_size`` of a CLR step's samples).
"""

from __future__ import annotations

import numpy as np

from cnncalc.atomic import write_json, write_text

from .. import plots
from ..finders import BATCH_SIZE_FINDER_DIAGRAM
from ..runs import RunError
from . import Option, check_positive, experiment
from .range_tests import first_cycle_mean, markdown_table

PRESETS = {
    # lenet5 on 4,096 training images: a few minutes on a 2-core CPU. The grid starts at 1e-5, not
    # 1e-9: after one epoch every rate below 1e-5 sits on the same plateau (loss 2.30), which would
    # put lr_min where no batch size trains in a hundred updates and leave the batch sweep flat.
    "quick": {"dataset": "fashion_mnist", "model": "lenet5", "batch_size": 64, "subset": 4096, "test_subset": 2000, "seed": 0,
              "start_lr": 1e-5, "end_lr": 10.0, "grid_points": 6, "grid_epochs": 1,
              "epochs": 12, "patience": 2, "min_delta": 0.001, "step_epochs": 1.0, "gamma": 0.99, "momentum": 0.9,
              "b_lo": 16, "b_hi": 256, "iterations": 100, "epochs_at_lo": None, "max_physical_batch": 256},
    # The exercise: MiniGoogLeNet on all of Fashion-MNIST, the grid logspace(-9, 1, 10) at 5 epochs
    # and batch 64, the CLR tutorial's step size (8 epochs) and gamma; the batch sweep 64..8192 with
    # as many updates as 5 epochs at 64 (a GPU's work).
    "paper": {"dataset": "fashion_mnist", "model": "minigooglenet", "batch_size": 64, "seed": 0,
              "start_lr": 1e-9, "end_lr": 10.0, "grid_points": 10, "grid_epochs": 5,
              "epochs": 96, "patience": 10, "min_delta": 0.001, "step_epochs": 8.0, "gamma": 0.99994, "momentum": 0.9,
              "b_lo": 64, "b_hi": 8192, "iterations": None, "epochs_at_lo": 5, "max_physical_batch": 1024},
}  # fmt: skip

STAGES = ("1-lr-range", "2-clr", "3-batch-range", "4-cyclical-batch")
DATA = ("dataset", "model", "seed", "data_dir", "subset", "test_subset", "distribute")


def _validate(config: dict) -> None:
    check_positive(config, "grid_points", "grid_epochs", "patience", "step_epochs", "iterations", "epochs_at_lo")
    if not 0 < float(config["start_lr"]) < float(config["end_lr"]):
        raise RunError(f"need 0 < --start-lr < --end-lr, got {config['start_lr']} and {config['end_lr']}")
    if not 0 < float(config["gamma"]) <= 1:
        raise RunError(f"--gamma must lie in (0, 1], got {config['gamma']}")


@experiment(
    "policies",
    "the exercise's Problem 2 end to end: LR grid -> CLR exp_range to convergence -> batch-size sweep at lr_min -> cyclical batch size (exp_increase) to convergence; results.md",
    PRESETS,
    options=(
        Option("--start-lr", "smallest rate of the LR grid", float),
        Option("--end-lr", "largest rate of the LR grid", float),
        Option("--grid-points", "rates of the LR grid (log-spaced)", int),
        Option("--grid-epochs", "epochs of each rate of the grid", int),
        Option("--step-epochs", "half a cycle of both policies, in epochs", float),
        Option("--gamma", "exp_range decay per step of the CLR (the batch policy's follows from it)", float),
        Option("--patience", "to convergence: epochs without improvement of the validation loss before stopping", int),
        Option("--min-delta", "to convergence: the least fall of the validation loss that counts", float),
        Option("--b-lo", "smallest batch size of the sweep (a power of two)", int),
        Option("--b-hi", "largest batch size of the sweep (a power of two)", int),
        Option("--iterations", "updates per batch size of the sweep (default: --epochs-at-lo epochs at b_lo)", int),
        Option("--epochs-at-lo", "with no --iterations: this many epochs at b_lo set the updates", int),
        Option("--max-physical-batch", "largest batch put through the model at once (gradient accumulation above)", int),
        Option("--momentum", "SGD momentum of every stage", float),
    ),
    common=("dataset", "model", "epochs", "batch_size", "seed", "data_dir", "subset", "test_subset", "distribute"),
    validate=_validate,
)
def run(ctx):
    ctx.dataset()  # loaded once: every stage with the same data settings shares it
    data = {k: ctx.config.get(k) for k in DATA}
    to_convergence = {"epochs": ctx["epochs"], "until_convergence": True, "patience": ctx["patience"], "min_delta": ctx["min_delta"],
                      "step_epochs": ctx["step_epochs"], "momentum": ctx["momentum"]}  # fmt: skip
    lr_run, lr = ctx.stage(STAGES[0], "lr-range", {**data, "batch_size": ctx["batch_size"], "grid": True, "grid_points": ctx["grid_points"],
                                                   "start_lr": ctx["start_lr"], "end_lr": ctx["end_lr"], "epochs": ctx["grid_epochs"],
                                                   "momentum": ctx["momentum"]})  # fmt: skip
    clr_run, clr = ctx.stage(STAGES[1], "clr", {**data, **to_convergence, "batch_size": ctx["batch_size"], "bounds_from": lr_run.path,
                                                "mode": "exp_range", "gamma": ctx["gamma"]})  # fmt: skip
    br_run, br = ctx.stage(STAGES[2], "batch-range", {**data, "lr_from": lr_run.path, "b_lo": ctx["b_lo"], "b_hi": ctx["b_hi"],
                                                      "iterations": ctx.get("iterations"), "epochs_at_lo": ctx.get("epochs_at_lo"),
                                                      "max_physical_batch": ctx["max_physical_batch"], "momentum": ctx["momentum"]})  # fmt: skip
    if br.get("b_min") is None or br.get("b_max") is None:
        raise RunError(f"stage {STAGES[2]} suggested no b_min/b_max ({br.get('note', 'no note')}); start a new run with more --iterations or a wider --b-lo/--b-hi")
    cbs_gamma = batch_gamma(ctx["gamma"], ctx["batch_size"], br)
    cbs_run, cbs = ctx.stage(STAGES[3], "cyclical-batch", {**data, **to_convergence, "bounds_from": br_run.path, "lr": br["lr"],
                                                           "mode": "exp_increase", "gamma": cbs_gamma})  # fmt: skip
    summary = _data_summary(ctx)
    comparison = _compare(clr, cbs)
    plots.curves({"CLR exp_range": _val_accuracy(clr_run), "cyclical batch exp_increase": _val_accuracy(cbs_run)},
                 ctx.file("val_accuracy.png"), xlabel="epoch", ylabel="validation accuracy",
                 title="validation accuracy of the two policies")  # fmt: skip
    write_text(ctx.file("results.md"), _markdown(ctx, summary, lr_run, lr, clr, br, cbs, comparison))
    out = {"data": summary, "lr_range": _pick(lr, "lr_min", "lr_max", "best_lr"), "clr": _policy_row(clr),
           "batch_range": _pick(br, "b_min", "b_max", "lr", "iterations"), "cyclical_batch": _policy_row(cbs),
           "winner": comparison["winner"], "stages": list(STAGES)}  # fmt: skip
    write_json(ctx.file("summary.json"), out)
    return out


def batch_gamma(gamma: float, batch_size: int, batch_range: dict) -> float:
    """``exp_increase``'s decay per step, matching the CLR's ``gamma`` per sample seen (module doc)."""
    mean_b = first_cycle_mean({"b_min": batch_range["b_min"], "b_max": batch_range["b_max"], "mode": "exp_increase"})
    return float(gamma) ** (mean_b / int(batch_size))


def _pick(results: dict, *keys) -> dict:
    return {k: results.get(k) for k in keys}


def _policy_row(results: dict) -> dict:
    return _pick(results, "test_accuracy", "best_val_accuracy", "best_val_loss", "best_epoch", "stopped_epoch", "converged", "wall_seconds")


def _val_accuracy(run) -> tuple[list, list]:
    history = run.history()
    return [r["epoch"] for r in history], [r.get("val_accuracy") for r in history]


def _compare(clr: dict, cbs: dict) -> dict:
    """The winner by test accuracy of each policy's best epoch (its lowest validation loss)."""
    a, b = clr.get("test_accuracy"), cbs.get("test_accuracy")
    winner = None if a is None or b is None else "tie" if a == b else "clr" if a > b else "cyclical-batch"
    return {"winner": winner, "margin": None if winner is None else abs(a - b)}


def _data_summary(ctx) -> dict:
    """Split sizes of the data every stage trained on, and ``samples.png``: one image of each of three classes."""
    d = ctx.dataset()
    classes = sorted(set(int(c) for c in d.y_train[:200]))[:3]
    picks = [int(np.flatnonzero(d.y_train == c)[0]) for c in classes]
    names = [d.class_names[c] for c in classes]
    plots.image_grid(d.x_train[picks], np.arange(3), names, ctx.file("samples.png"), per_class=1, title="three classes")
    return {"train": len(d.x_train), "validation": len(d.x_val), "test": len(d.x_test), "classes": len(d.class_names),
            "image_shape": list(d.input_shape), "source": d.source, "shown": names}  # fmt: skip


def _g(value, spec=".4g") -> str:
    return "" if value is None else f"{value:{spec}}" if isinstance(value, float) else str(value)


def _table(header, rows) -> str:
    return markdown_table(header, [[_g(c) for c in row] for row in rows])


def _stopping(r: dict) -> str:
    how = "converged" if r.get("converged") else "reached the cap"
    return f"{r.get('stopped_epoch')} epochs ({how}); best epoch {r.get('best_epoch')} (validation loss {_g(r.get('best_val_loss'))})"


def _flatness(losses) -> str:
    """How far the batch sweep's loss falls, and a warning when so little that noise picks the bounds."""
    finite = [v for v in losses if v is not None]
    fall = (finite[0] - min(finite)) / finite[0] if finite and finite[0] else 0.0
    text = f"The validation loss falls by {fall:.1%} from the smallest batch size to its lowest point"
    if fall < 0.02:
        text += (": at lr_min this many updates train alike whatever the batch size, so the bounds are weakly "
                 "determined (more `--iterations`, or a sweep at a higher rate, sharpen the curve)")  # fmt: skip
    return text + "."


def _markdown(ctx, summary, lr_run, lr, clr, br, cbs, comparison) -> str:
    c = ctx.config
    lrs, losses = lr["curve"]["lr"], lr["curve"]["loss"]
    grid_rows = [[f"{x:.1e}", "diverged" if y is None else _g(y)] for x, y in zip(lrs, losses)]
    batch = br["curve"]
    batch_rows = [[b, _g(v), _g(t)] for b, v, t in zip(batch["batch_size"], batch["val_loss"], batch["train_loss"])]
    winner = {"clr": "the cyclical learning rate", "cyclical-batch": "the cyclical batch size", "tie": "neither (a tie)", None: "undecided (a test accuracy is missing)"}[comparison["winner"]]
    policy_rows = [
        ["CLR exp_range", f"lr {_g(clr['lr_min'])} .. {_g(clr['lr_max'])}, batch {c['batch_size']}", clr.get("best_epoch"), clr.get("stopped_epoch"),
         clr.get("best_val_accuracy"), clr.get("test_accuracy")],
        ["cyclical batch exp_increase", f"batch {cbs['b_min']} .. {cbs['b_max']}, lr {_g(cbs['lr'])}", cbs.get("best_epoch"), cbs.get("stopped_epoch"),
         cbs.get("best_val_accuracy"), cbs.get("test_accuracy")],
    ]  # fmt: skip
    parts = [
        f"# Problem 2: learning-rate and batch-size policies ({c['model']} on {c['dataset']}, preset {c['preset']})\n\n",
        "Every number below comes from the stages of this run (`1-lr-range/` .. `4-cyclical-batch/`); each stage's "
        "`config.json` names the stage it read its bounds from.\n\n",
        "## 1. The data\n\n",
        _table(["split", "images"], [["training", summary["train"]], ["validation", summary["validation"]], ["test", summary["test"]]]),
        f"\n{summary['classes']} classes, images {'x'.join(map(str, summary['image_shape']))} (after padding), from {summary['source']}. "
        f"Three images of three classes ({', '.join(summary['shown'])}):\n\n![three images of three classes](samples.png)\n\n",
        "## 2. Learning-rate range: the grid\n\n",
        f"A fresh model per rate, {len(lrs)} rates log-spaced from {_g(c['start_lr'])} to {_g(c['end_lr'])}, {c['grid_epochs']} epoch(s) each "
        f"at batch {c['batch_size']}; the curve is the last epoch's training loss.\n\n",
        _table(["learning rate", "training loss"], grid_rows),
        f"\nBounds ({lr.get('rule', 'no rule')}): **lr_min = {_g(lr['lr_min'])}, lr_max = {_g(lr['lr_max'])}**.\n\n"
        "![loss against the learning rate, bounds dashed](1-lr-range/lr_range.png)\n\n",
        "## 3. Cyclical learning rate, exponential decay, to convergence\n\n",
        f"`exp_range` between lr_min and lr_max (`lr = lr_min + (lr_max - lr_min) * h * gamma**t`, gamma {_g(clr['gamma'])} per step, "
        f"half a cycle {c['step_epochs']:g} epoch(s) = {clr['step_size']} steps), SGD momentum {c['momentum']:g}, until the validation loss "
        f"has not improved by {c['min_delta']:g} for {c['patience']} epochs (at most {c['epochs']}): {_stopping(clr)}. "
        f"The best epoch's weights are tested: **test accuracy {_g(clr.get('test_accuracy'))}**.\n\n"
        "![CLR: loss and accuracy per epoch](2-clr/curves.png)\n![CLR: the learning rate of every step](2-clr/lr_trace.png)\n\n",
        "## 4. Batch-size range at lr_min\n\n",
        f"The learning rate fixed at lr_min = {_g(br['lr'])}, batch sizes {batch['batch_size'][0]} .. {batch['batch_size'][-1]}, "
        f"every one with the same number of updates ({br['iterations']}); the loss is measured on the validation split.\n\n",
        _table(["batch size", "validation loss", "mean training loss"], batch_rows),
        f"\nBounds read off the curve: **b_min = {br['b_min']}, b_max = {br['b_max']}**. {_flatness(batch['val_loss'])}\n\n"
        "![loss against the batch size, bounds dashed](3-batch-range/loss_vs_batch.png)\n\n",
        "### The automatic batch-size finder\n\n```mermaid\n", BATCH_SIZE_FINDER_DIAGRAM, "```\n\n",
        "## 5. Cyclical batch size, exponential increase, to convergence\n\n",
        f"The batch size cycles between b_min and b_max at lr_min with `exp_increase`, the batch-size counterpart of `exp_range`: in "
        "noise-scale terms (g ~ lr N / B, Smith et al. 2018) decaying the learning rate's excursion above lr_min is shrinking the batch "
        "size's excursion below b_max, here in log2 steps: `B = 2**round(log2 b_max - (1 - h) (log2 b_max - log2 b_min) gamma**t)`. "
        f"gamma {_g(cbs['gamma'])} per step decays the excursion as the CLR's decays per sample seen; half a cycle {c['step_epochs']:g} epoch(s) of the first cycle = {cbs['step_size']} steps. "
        f"{_stopping(cbs)}. **Test accuracy {_g(cbs.get('test_accuracy'))}**.\n\n"
        "![cyclical batch size: loss and accuracy per epoch](4-cyclical-batch/curves.png)\n"
        "![cyclical batch size: the batch size of every step](4-cyclical-batch/batch_size_trace.png)\n\n",
        "## 6. The two policies side by side\n\n",
        _table(["policy", "bounds", "best epoch", "epochs trained", "best validation accuracy", "test accuracy (best epoch)"], policy_rows),
        f"\n**Winner: {winner}**" + (f", by {comparison['margin']:.4f} in test accuracy" if comparison["margin"] else "") + ".\n\n"
        "![validation accuracy of the two policies](val_accuracy.png)\n",
    ]
    return "".join(parts)
