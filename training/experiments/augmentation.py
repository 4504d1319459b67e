"""Cutout and batch augmentation, as the exercise runs them.

``cutout-demo``
    Two training images (seeded, ``--images N``) before and after Cutout (DeVries & Taylor 2017:
    one ``L x L`` square, ``L = 16`` for CIFAR-10, centre uniform over the image, clipped at the
    borders, zeroed after normalisation so that it holds the dataset mean). Writes ``cutout.png``
    (originals on top, Cutout below, the square outlined), ``cutout.npz`` (the normalised images
    before and after) and the image indices and square coordinates in ``results.json``.

``batch-augment``
    Batch augmentation (Hoffer, Ben-Nun, Hubara, Giladi, Hoefler & Soudry 2019, "Augment your
    batch"): each sample of a batch of ``B`` is repeated ``M`` times, labels alike, and the
    augmentation layers at the top of the model (standard pad-4 crop + flip, then Cutout) draw
    independently for every copy inside the compiled step. A step sees ``M*B`` samples, an epoch
    keeps its ``ceil(N/B)`` steps. The exercise's part 2 is the sub-run ``baseline``: He et al.'s
    simple augmentation only (pad-4 crop + flip, no Cutout, M = 1); its part 3 is one sub-run per
    ``--m`` (``m2``, ``m4``, ...), each with crop + flip + Cutout (``m1`` is Cutout without
    repetition, not the baseline). ``--no-baseline`` skips the baseline. Writes the validation
    error per epoch of every sub-run in one figure (``val_error.png``, the baseline in black, as
    in Hoffer et al.'s Fig. 3a) and ``results.md``, which opens with the exercise part each
    answers, then one table with the epochs and wall-clock to ``--target-acc``, the final test
    accuracy and the time per epoch of every sub-run, and the comparison of part 3 with part 2.

    The ``paper`` preset is Hoffer et al.'s CIFAR-10 ResNet-44 setting as the exercise states it:
    batch ``B = 64`` (their per-batch size for the CIFAR ResNets), SGD with momentum 0.9, weight
    decay 1e-4 and the step schedule of He et al. 2016 (sec. 4.2: 0.1, divided by 10 at 32k and 48k
    of 64k iterations, i.e. at 50% and 75% of training; here of ``--max-epochs`` = 100),
    the baseline and ``M`` in 2 4 8 16 32, target accuracy 0.94. Hoffer et al. keep the baseline's
    regime unchanged for every ``M``, so the learning rate is not scaled with ``M``.
"""

from __future__ import annotations

import numpy as np

from ..runs import RunError
from . import Option, experiment

IMAGE_SIZE = {"cifar10": 32, "fashion_mnist": 28}


# --------------------------------------------------------------------------------------------
# cutout-demo
# --------------------------------------------------------------------------------------------

CUTOUT_PRESETS = {
    "quick": {"dataset": "cifar10", "images": 2, "length": 16, "seed": 0},
    "paper": {"dataset": "cifar10", "images": 2, "length": 16, "seed": 0},
}


def _validate_cutout(config: dict) -> None:
    size = IMAGE_SIZE[config["dataset"]]
    if not 1 <= int(config["length"]) <= size:
        raise RunError(f"--length must be between 1 and the image size {size}, got {config['length']}")
    if int(config["images"]) < 1:
        raise RunError(f"--images must be positive, got {config['images']}")


def cutout_square(keep_mask: np.ndarray) -> dict:
    """The clipped square of one ``(H, W)`` keep-mask (0 = cut) as half-open ``[y0, y1) x [x0, x1)``."""
    rows = np.flatnonzero((keep_mask == 0).any(axis=1))
    cols = np.flatnonzero((keep_mask == 0).any(axis=0))
    y0, y1, x0, x1 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
    return {"y0": y0, "y1": y1, "x0": x0, "x1": x1, "height": y1 - y0, "width": x1 - x0}


@experiment(
    "cutout-demo",
    "show training images before and after Cutout (DeVries & Taylor 2017) and record the squares",
    CUTOUT_PRESETS,
    options=(
        Option("--images", "how many training images to show (picked with --seed)", int),
        Option("--length", "side L of the Cutout square in pixels (DeVries & Taylor: 16 for CIFAR-10)", int),
    ),
    validate=_validate_cutout,
)
def cutout_demo(ctx):
    from ..augment import Cutout

    data = ctx.dataset()
    n, length, seed = int(ctx["images"]), int(ctx["length"]), int(ctx["seed"])
    if n > len(data.x_train):
        raise RunError(f"--images {n} exceeds the {len(data.x_train)} training images")
    indices = np.sort(np.random.default_rng(seed).choice(len(data.x_train), n, replace=False))
    before = data.x_train[indices]
    layer = Cutout(length, seed=seed)
    mask = np.asarray(layer.mask(before))  # one draw; the layer's call multiplies by this mask
    after = before * mask
    squares = [cutout_square(mask[j, ..., 0]) for j in range(n)]
    from cnncalc.atomic import replacing

    from .. import plots

    with replacing(ctx.file("cutout.npz")) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, indices=indices, before=before, after=after)
    plots.before_after(
        before, after, ctx.file("cutout.png"), rows=("original", f"Cutout L={length}"), boxes=squares,
        titles=[f"#{i}: {data.class_names[int(data.y_train[i])]}" for i in indices],
        captions=[f"rows {s['y0']}..{s['y1'] - 1}, cols {s['x0']}..{s['x1'] - 1}" for s in squares],
    )  # fmt: skip
    ctx.log(f"Cutout L={length}: " + "; ".join(f"image {i} rows {s['y0']}..{s['y1'] - 1} cols {s['x0']}..{s['x1'] - 1}" for i, s in zip(indices, squares)))
    return {
        "dataset": ctx["dataset"],
        "length": length,
        "image_shape": list(data.input_shape),
        "indices": [int(i) for i in indices],
        "labels": [data.class_names[int(data.y_train[i])] for i in indices],
        "squares": squares,
        "coordinates": "half-open pixel ranges [y0, y1) x [x0, x1) of the training split (x_train), clipped at the borders",
    }


# --------------------------------------------------------------------------------------------
# batch-augment
# --------------------------------------------------------------------------------------------

BATCH_PRESETS = {
    "quick": {"dataset": "cifar10", "model": "lenet5", "epochs": 5, "batch_size": 64, "subset": 8192, "test_subset": 2000,
              "m": [1, 2, 4, 8], "no_baseline": False, "lr": 0.05, "momentum": 0.9, "weight_decay": 0.0, "length": 16,
              "target_acc": 0.4, "seed": 0},
    "paper": {"dataset": "cifar10", "model": "resnet44", "epochs": 100, "batch_size": 64,
              "m": [2, 4, 8, 16, 32], "no_baseline": False, "lr": 0.1, "momentum": 0.9, "weight_decay": 1e-4, "length": 16,
              "target_acc": 0.94, "seed": 0},
}

# The sub-run of the exercise's part 2: He et al.'s simple augmentation only, no repetition.
BASELINE = "baseline"


def _validate_batch(config: dict) -> None:
    ms = config.get("m") or []
    if not ms:
        raise RunError("--m needs at least one value")
    bad = [m for m in ms if int(m) < 1]
    if bad:
        raise RunError(f"--m values must be >= 1, got {bad[0]}")
    if len(set(ms)) != len(ms):
        raise RunError(f"--m values must be distinct, got {' '.join(str(m) for m in ms)}")
    if config.get("max_epochs") is not None and int(config["max_epochs"]) < 1:
        raise RunError(f"--max-epochs must be positive, got {config['max_epochs']}")
    size = IMAGE_SIZE[config["dataset"]]
    if not 0 <= int(config["length"]) <= size:
        raise RunError(f"--length must be between 0 (no Cutout) and the image size {size}, got {config['length']}")
    target = config.get("target_acc")
    if target is not None and not 0 < float(target) <= 1:
        raise RunError(f"--target-acc must be in (0, 1], got {target}")


class RepeatBatch:
    """``expand_batch`` of batch augmentation: each sample ``m`` times (:func:`repeat_batch`).

    Records the size of each batch it hands to the model, so a run can report how many samples
    a step really saw (Keras may fetch the first batch twice to learn its shapes; sizes, not
    counts, are what it records).
    """

    def __init__(self, m: int):
        self.m = int(m)
        self.sizes: set[int] = set()

    def __call__(self, x, y):
        from ..augment import repeat_batch

        x, y = repeat_batch(x, y, self.m)
        self.sizes.add(len(x))
        return x, y


def step_schedule(lr: float, steps_per_epoch: int, epochs: int):
    """He et al.'s step schedule: ``lr``, divided by 10 at 50% and again at 75% of training."""
    import keras

    bounds = [max(1, int(round(f * epochs * steps_per_epoch))) for f in (0.5, 0.75)]
    if bounds[1] <= bounds[0]:
        bounds[1] = bounds[0] + 1
    return keras.optimizers.schedules.PiecewiseConstantDecay(bounds, [lr, lr / 10, lr / 100])


def augmented_model(ctx, optimizer, length: int):
    """Augmentation block (pad-4 crop + flip, then Cutout of side ``length``) before the zoo model."""
    from ..models import build_augmented, compile_model

    data = ctx.dataset()
    model = build_augmented(ctx["model"], data.input_shape, data.num_classes, cutout=length, seed=int(ctx["seed"]))
    return compile_model(model, optimizer)


def batch_subruns(config: dict) -> list[dict]:
    """The sub-runs of a batch-augment run, in order: ``baseline`` (the exercise's part 2: He et
    al.'s pad-4 crop + flip, no Cutout, M = 1) unless ``--no-baseline``, then one ``mM`` per
    ``--m`` (part 3: crop + flip + Cutout of side ``--length``, each sample M times)."""
    length = int(config["length"])
    runs = [] if config.get("no_baseline") else [{"name": BASELINE, "m": 1, "cutout": 0}]
    return runs + [{"name": f"m{int(m)}", "m": int(m), "cutout": length} for m in config["m"]]


def augmentation_label(cutout: int) -> str:
    return f"crop+flip+Cutout L={cutout}" if cutout else "crop+flip"


@experiment(
    "batch-augment",
    "batch augmentation (Hoffer et al. 2019): a crop+flip baseline, then each sample M times per batch with independent "
    "crop+flip+Cutout; error vs epoch per M",
    BATCH_PRESETS,
    options=(
        Option("--m", "the multiplicities M to compare, each with Cutout (one sub-run each; M=1: Cutout without repetition)", int, nargs="+"),
        Option("--no-baseline", "skip the baseline sub-run (He et al.'s crop+flip only: no Cutout, M=1)", flag_only=True),
        Option("--max-epochs", "epochs of each sub-run (the cap; an alias of --epochs that wins over it)", int),
        Option("--momentum", "SGD momentum", float),
        Option("--weight-decay", "SGD weight decay", float),
        Option("--length", "Cutout side L in pixels in the M sub-runs, 0 for none (the baseline never has Cutout)", int),
    ),
    validate=_validate_batch,
)
def batch_augment(ctx):
    import keras

    data = ctx.dataset()
    b = int(ctx["batch_size"])
    epochs = int(ctx.get("max_epochs") or ctx["epochs"])
    steps_per_epoch = -(-len(data.x_train) // b)
    plan = {r["name"]: r for r in batch_subruns(ctx.config)}
    rows = []
    for name in ctx.sweep(list(plan)):
        m, cutout = plan[name]["m"], plan[name]["cutout"]
        sub = ctx.subrun(name, {"m_value": m, "length": cutout, "augmentation": augmentation_label(cutout)})

        def build(cutout=cutout):
            schedule = step_schedule(float(ctx["lr"]), steps_per_epoch, epochs)
            sgd = keras.optimizers.SGD(learning_rate=schedule, momentum=float(ctx["momentum"]), weight_decay=float(ctx["weight_decay"]) or None)
            return augmented_model(ctx, sgd, cutout)

        expand = RepeatBatch(m)
        metrics = ctx.fit(sub, build, epochs=epochs, expand_batch=expand)
        history = sub.history()
        seconds = [r["epoch_seconds"] for r in history]
        row = {
            "name": name,
            "augmentation": augmentation_label(cutout),
            "cutout": cutout,
            "m": m,
            "batch_size": b,
            # measured (each process of a multi-host run expands its own part); a finished sub-run is not re-fed
            "samples_per_step": max(expand.sizes) * int((ctx.get("cluster") or {}).get("processes", 1)) if expand.sizes else m * b,
            "steps_per_epoch": history[-1]["steps"] if history else steps_per_epoch,
            "epochs": len(history),
            "epochs_to_target": metrics.get("epochs_to_target"),
            "seconds_to_target": metrics.get("seconds_to_target"),
            "test_accuracy": metrics.get("test_accuracy"),
            "best_val_accuracy": metrics.get("best_val_accuracy"),
            "seconds_per_epoch": round(sum(seconds) / len(seconds), 3) if seconds else None,
            "val_error": [None if r["val_accuracy"] is None else round(1.0 - r["val_accuracy"], 6) for r in history],
        }
        if "replicas" in metrics:
            row["replicas"] = metrics["replicas"]
        rows.append(row)
    results = {"target_accuracy": ctx.get("target_acc"), "epochs": epochs, "steps_per_epoch": steps_per_epoch,
               "baseline": not ctx.get("no_baseline"), "comparison": compare_to_target(rows), "runs": rows}  # fmt: skip
    _batch_outputs(ctx, results)
    return results


def compare_to_target(rows: list[dict]) -> dict:
    """Part 3's comparison with part 2: the baseline's epochs and seconds to the target, and the M
    sub-run that needed the fewest epochs and the one that needed the fewest seconds (ties: the
    smaller M; the others that tie are listed). None where no run reached the target."""
    baseline = next((r for r in rows if r["name"] == BASELINE), None)
    batch = [r for r in rows if r["name"] != BASELINE]

    def best(key):
        reached = [r for r in batch if r[key] is not None]
        if not reached:
            return None
        r = min(reached, key=lambda r: (r[key], r["m"]))
        return {"name": r["name"], "m": r["m"], key: r[key], "tied": [o["m"] for o in reached if o is not r and o[key] == r[key]]}

    return {
        "baseline": None if baseline is None else {k: baseline[k] for k in ("epochs_to_target", "seconds_to_target")},
        "fewest_epochs": best("epochs_to_target"),
        "fewest_seconds": best("seconds_to_target"),
    }


def _run_label(row: dict) -> str:
    return f"baseline ({row['augmentation']}, M=1)" if row["name"] == BASELINE else f"{row['augmentation']}, M={row['m']}"


def _batch_outputs(ctx, results):
    """``val_error.png`` (the baseline in black with the M curves, Hoffer et al.'s Fig. 3a) and
    ``results.md``, which opens with the exercise part each figure and row answers."""
    from cnncalc.atomic import write_text

    from .. import plots

    rows, epochs, target = results["runs"], results["epochs"], results["target_accuracy"]
    series = {_run_label(r): (list(range(1, len(r["val_error"]) + 1)), r["val_error"]) for r in rows}
    styles = {_run_label(r): {"color": "black", "linewidth": 2.0} for r in rows if r["name"] == BASELINE}
    title = f"{ctx['model']} on {ctx['dataset']}, B={ctx['batch_size']}: crop+flip baseline and batch augmentation M"
    plots.curves(series, ctx.file("val_error.png"), xlabel="epoch", ylabel="validation error", title=title, styles=styles)

    def fmt(value, spec):
        return "not reached" if value is None else format(value, spec)

    ms = ", ".join(str(r["m"]) for r in rows if r["name"] != BASELINE)
    part2 = ("sub-run `baseline`: its curve in `val_error.png` (black) and its row in the table" if results["baseline"]
             else "not run (`--no-baseline`)")  # fmt: skip
    lines = [
        f"# Problem 4: batch augmentation, {ctx['model']} on {ctx['dataset']}",
        "",
        "| exercise part | question | answered by |",
        "| --- | --- | --- |",
        f"| part 2 | train with He et al.'s simple augmentation (pad-4 crop + flip, no Cutout); validation error against the epoch | {part2} |",
        f"| part 3 | add Cutout and batch augmentation, M = {ms}; compare with part 2 | sub-runs `mM`: their curves in `val_error.png`, "
        "their rows in the table, the comparison under it |",
        "",
        f"Batch B = {ctx['batch_size']} samples drawn per step, each repeated M times and augmented independently; {epochs} epochs at most; "
        f"target validation accuracy {target if target is not None else '(none)'}. The same optimizer and schedule for every run.",
        "",
        "| run | augmentation | M | samples per step | steps per epoch | epochs to target | wall s to target | final test accuracy | best val accuracy | s per epoch |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        lines.append(
            f"| {r['name']} | {r['augmentation']} | {r['m']} | {r['samples_per_step']} | {r['steps_per_epoch']} | "
            f"{fmt(r['epochs_to_target'], 'd')} | {fmt(r['seconds_to_target'], '.1f')} | {fmt(r['test_accuracy'], '.4f')} | "
            f"{fmt(r['best_val_accuracy'], '.4f')} | {fmt(r['seconds_per_epoch'], '.2f')} |"
        )
    def epochs_text(n):
        return f"{n} epoch{'' if n == 1 else 's'}"

    c = results["comparison"]
    if target is not None:
        lines.append("")
        if c["baseline"] is not None:
            b = c["baseline"]
            lines.append(f"Baseline (part 2): validation accuracy {target} "
                         + (f"not reached in {epochs_text(epochs)}." if b["epochs_to_target"] is None
                            else f"after {epochs_text(b['epochs_to_target'])}, {b['seconds_to_target']:.1f} s."))  # fmt: skip
        e, t = c["fewest_epochs"], c["fewest_seconds"]
        lines += [
            "Batch augmentation (part 3), fewest epochs to the target: "
            + ("none reached it." if e is None else f"M={e['m']} ({epochs_text(e['epochs_to_target'])}"
               + (f"; M={', '.join(str(m) for m in e['tied'])} as well" if e["tied"] else "") + ")."),
            "Batch augmentation (part 3), least wall-clock to the target: "
            + ("none reached it." if t is None else f"M={t['m']} ({t['seconds_to_target']:.1f} s)."),
        ]
    write_text(ctx.file("results.md"), "\n".join(lines) + "\n")
