"""The CS231n assignment-2 ladder: three "good architectures to try", then the best one with
standard augmentation, trained alike and compared on parameters, MACs, test accuracy and time.

=====================  ==============================================================
``cs231n-a``           ``[conv-relu-pool]x3 -> [affine]x2``
``cs231n-b``           ``[conv-relu-conv-relu-pool]x3 -> [affine]x2``
``cs231n-c``           ``[batchnorm-relu-conv]x6 -> [affine]x2`` with dropout 0.5
``cs231n-c+augment``   ``cs231n-c`` behind :func:`training.augment.augmentation` (zero-pad 4,
                       random crop, random horizontal flip; He et al. 2016, sec. 4.2)
=====================  ==============================================================

The augmentation block is a model input stage (identity at test time, no weights), so the
augmented network has exactly the zoo model's parameters and MACs, which are taken from the
calculator (:func:`training.models.describe`). Each network is a sub-run, so ``cnntrain resume``
skips the finished ones.

Writes ``ladder.md`` (network, parameters, MACs, test accuracy, training seconds),
``ladder.png`` (test accuracy bars) and ``confusion.png``, the test-set confusion matrix of the
augmented network (rows: true class); ``results.json`` holds the table and the matrix.

The ``paper`` preset: CIFAR-10, Adam at 1e-3, batch 128, 50 epochs for every network (the
assignment fixes no schedule; 50 epochs lets the augmented network, which converges slowest,
reach its plateau, and keeps the four runs comparable). ``quick`` runs on a Fashion-MNIST subset.
"""

from __future__ import annotations

from .. import plots
from ..runs import RunError
from . import Option, experiment

NETWORKS = ("cs231n-a", "cs231n-b", "cs231n-c", "cs231n-c+augment")
AUGMENTED = "cs231n-c+augment"

PRESETS = {
    "quick": {"dataset": "fashion_mnist", "epochs": 3, "batch_size": 32, "lr": 1e-3, "subset": 4096, "test_subset": 2000,
              "networks": list(NETWORKS), "seed": 0},
    "paper": {"dataset": "cifar10", "epochs": 50, "batch_size": 128, "lr": 1e-3, "networks": list(NETWORKS), "seed": 0},
}


def validate(config: dict) -> None:
    if config.get("model") is not None:
        raise RunError("cnn-ladder trains its own ladder (choose with --networks), not --model")
    networks = list(config.get("networks") or [])
    if len(set(networks)) != len(networks):
        raise RunError(f"--networks lists a network twice: {' '.join(networks)}")


def zoo_name(network: str) -> str:
    """The zoo entry a ladder network trains (``cs231n-c+augment`` -> ``cs231n-c``)."""
    return network.split("+")[0]


def subrun_name(network: str) -> str:
    return network.replace("+", "_")


def build_model(ctx, network: str):
    """The compiled Keras model of ``network``: the zoo model, behind the augmentation block if asked."""
    from ..models import build, build_augmented, compile_model
    from ..optimizers import make

    data = ctx.dataset()
    if network.endswith("+augment"):
        model = build_augmented(zoo_name(network), data.input_shape, data.num_classes, seed=int(ctx.get("seed", 0)))
    else:
        model = build(zoo_name(network), data.input_shape, data.num_classes)
    return compile_model(model, make("adam", learning_rate=float(ctx["lr"])))


def confusion_matrix(run, x, y, classes: int):
    """Counts ``m[true, predicted]`` of the final model of ``run`` on ``(x, y)``."""
    import keras
    import numpy as np

    checkpoint = run.latest_checkpoint()
    model = keras.models.load_model(checkpoint["model_path"])
    predicted = np.argmax(model.predict(x, batch_size=256, verbose=0), axis=1)
    matrix = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(matrix, (np.asarray(y, dtype=np.int64), predicted), 1)
    return matrix


@experiment(
    "cnn-ladder",
    "the CS231n a2 architectures a, b, c and c with augmentation: parameters, MACs, test accuracy, time, confusion matrix",
    PRESETS,
    options=(Option("--networks", "ladder networks to train (default: all four)", str, nargs="+", choices=NETWORKS),),
    validate=validate,
)
def run(ctx):
    from ..models import describe

    data = ctx.dataset()
    networks = [n for n in NETWORKS if n in ctx["networks"]]
    rows = {}
    for network in ctx.sweep(networks):
        sub = ctx.subrun(subrun_name(network), {"model": zoo_name(network), "network": network})
        metrics = ctx.fit(sub, lambda network=network: build_model(ctx, network))
        counts = describe(zoo_name(network), data.input_shape, data.num_classes)
        rows[network] = {
            "model": zoo_name(network),
            "augment": network.endswith("+augment"),
            "params": counts["params"],
            "macs": counts["macs"],
            "test_accuracy": metrics.get("test_accuracy"),
            "train_seconds": metrics.get("wall_seconds"),
            "best_val_accuracy": metrics.get("best_val_accuracy"),
        }

    results = {"networks": networks, "table": rows}
    if AUGMENTED in rows:
        matrix = confusion_matrix(ctx.subrun(subrun_name(AUGMENTED)), data.x_test, data.y_test, data.num_classes)
        results["confusion"] = {"network": AUGMENTED, "classes": list(data.class_names), "matrix": matrix.tolist()}
        plots.confusion(matrix, data.class_names, ctx.file("confusion.png"), title=f"{AUGMENTED} on {ctx['dataset']} (test set)")
    plots.bars({n: rows[n]["test_accuracy"] for n in networks}, ctx.file("ladder.png"), ylabel="test accuracy",
               title=f"CS231n ladder on {ctx['dataset']}, {ctx['epochs']} epochs")
    write_table(ctx, networks, rows)
    return results


def write_table(ctx, networks, rows) -> None:
    from cnncalc.atomic import write_text

    lines = [
        f"# CS231n ladder on {ctx['dataset']} ({ctx['epochs']} epochs, batch {ctx['batch_size']}, Adam {ctx['lr']:g})",
        "",
        "| network | params | MACs | test accuracy | train s |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for n in networks:
        r = rows[n]
        lines.append(f"| {n} | {r['params']:,} | {r['macs']:,} | {r['test_accuracy']:.4f} | {r['train_seconds']:.1f} |")
    write_text(ctx.file("ladder.md"), "\n".join(lines) + "\n")
