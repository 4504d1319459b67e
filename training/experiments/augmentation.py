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
    keeps its ``ceil(N/B)`` steps. One sub-run per ``M`` (``m1``, ``m2``, ...); writes the
    validation error per epoch of each (``val_error.png``) and ``results.md`` with the epochs and
    wall-clock to ``--target-acc``, the final test accuracy and the time per epoch.

    The ``paper`` preset is Hoffer et al.'s CIFAR-10 ResNet-44 setting as the exercise states it:
    batch ``B = 64`` (their per-batch size for the CIFAR ResNets), SGD with momentum 0.9, weight
    decay 1e-4 and the step schedule of He et al. 2016 (sec. 4.2: 0.1, divided by 10 at 32k and 48k
    of 64k iterations, i.e. at 50% and 75% of training; here of ``--max-epochs`` = 100),
    ``M`` in 2 4 8 16 32, target accuracy 0.94. Hoffer et al. keep the baseline's regime unchanged
    for every ``M``, so the learning rate is not scaled with ``M``.
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
              "m": [1, 2, 4, 8], "lr": 0.05, "momentum": 0.9, "weight_decay": 0.0, "length": 16, "target_acc": 0.4, "seed": 0},
    "paper": {"dataset": "cifar10", "model": "resnet44", "epochs": 100, "batch_size": 64,
              "m": [2, 4, 8, 16, 32], "lr": 0.1, "momentum": 0.9, "weight_decay": 1e-4, "length": 16, "target_acc": 0.94, "seed": 0},
}


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


@experiment(
    "batch-augment",
    "batch augmentation (Hoffer et al. 2019): each sample M times per batch with independent crop+flip+Cutout; error vs epoch per M",
    BATCH_PRESETS,
    options=(
        Option("--m", "the multiplicities M to compare (one sub-run each; M=1 is the baseline)", int, nargs="+"),
        Option("--max-epochs", "epochs of each sub-run (the cap; an alias of --epochs that wins over it)", int),
        Option("--momentum", "SGD momentum", float),
        Option("--weight-decay", "SGD weight decay", float),
        Option("--length", "Cutout side L in pixels, 0 for none", int),
    ),
    validate=_validate_batch,
)
def batch_augment(ctx):
    import keras

    data = ctx.dataset()
    b = int(ctx["batch_size"])
    epochs = int(ctx.get("max_epochs") or ctx["epochs"])
    steps_per_epoch = -(-len(data.x_train) // b)
    names = [f"m{int(m)}" for m in ctx["m"]]
    rows = []
    for name in ctx.sweep(names):
        m = int(name[1:])
        sub = ctx.subrun(name, {"m_value": m})

        def build():
            schedule = step_schedule(float(ctx["lr"]), steps_per_epoch, epochs)
            sgd = keras.optimizers.SGD(learning_rate=schedule, momentum=float(ctx["momentum"]), weight_decay=float(ctx["weight_decay"]) or None)
            return augmented_model(ctx, sgd, int(ctx["length"]))

        expand = RepeatBatch(m)
        metrics = ctx.fit(sub, build, epochs=epochs, expand_batch=expand)
        history = sub.history()
        seconds = [r["epoch_seconds"] for r in history]
        row = {
            "m": m,
            "batch_size": b,
            "samples_per_step": max(expand.sizes) if expand.sizes else m * b,  # measured; a finished sub-run is not re-fed
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
    _batch_outputs(ctx, rows, epochs)
    return {"target_accuracy": ctx.get("target_acc"), "epochs": epochs, "steps_per_epoch": steps_per_epoch, "runs": rows}


def _batch_outputs(ctx, rows, epochs):
    from .. import plots

    series = {f"M={r['m']}": (list(range(1, len(r["val_error"]) + 1)), r["val_error"]) for r in rows}
    title = f"{ctx['model']} on {ctx['dataset']}, B={ctx['batch_size']}, Cutout L={ctx['length']}"
    plots.curves(series, ctx.file("val_error.png"), xlabel="epoch", ylabel="validation error", title=title)
    target = ctx.get("target_acc")
    lines = [
        f"# Batch augmentation: {ctx['model']} on {ctx['dataset']}",
        "",
        f"Batch B = {ctx['batch_size']} samples drawn per step, each repeated M times; {epochs} epochs at most; "
        f"target validation accuracy {target if target is not None else '(none)'}.",
        "",
        "| M | samples per step | steps per epoch | epochs to target | wall s to target | final test accuracy | best val accuracy | s per epoch |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]

    def fmt(value, spec):
        return "not reached" if value is None else format(value, spec)

    for r in rows:
        lines.append(
            f"| {r['m']} | {r['samples_per_step']} | {r['steps_per_epoch']} | {fmt(r['epochs_to_target'], 'd')} | "
            f"{fmt(r['seconds_to_target'], '.1f')} | {fmt(r['test_accuracy'], '.4f')} | {fmt(r['best_val_accuracy'], '.4f')} | "
            f"{fmt(r['seconds_per_epoch'], '.2f')} |"
        )
    from cnncalc.atomic import write_text

    write_text(ctx.file("results.md"), "\n".join(lines) + "\n")
