"""One run of the NumPy two-layer net: presets, training, run-directory files and plots.

``run_numpy_net(data, preset=..., out_dir=...)`` trains on arrays already in memory and writes the
run files; it is the body of the ``numpy-net`` experiment (``cnntrain numpy-net``, recipe
``training/experiments/two_layer_net.py``), which loads the data set into the dict below and
passes its run directory. Source of the presets and of the preprocessing: CS231n assignment 1,
``two_layer_net.ipynb``.

Data: ``data = {x_train, y_train, x_val, y_val, x_test, y_test}``, images of any shape
(N, ...) flattened to (N, D); labels integers in ``[0, C)``, ``C = max label + 1`` over the three
splits unless ``num_classes`` is given. Preprocessing as the assignment: subtract the mean
training image (no scaling). The centred arrays are kept as float32 to halve the memory of a
CIFAR-10-sized set (1.2 GB in float64); each mini-batch meets the float64 weights in the matmul,
so the arithmetic is float64.

Presets (``**overrides`` replace any field):

=========  =====  ======  =====  =====  =========  =====  ====  ====================================
preset     H      lr      decay  reg    num_iters  batch  std   note
=========  =====  ======  =====  =====  =========  =====  ====  ====================================
quick      50     1e-3    0.95   0.25   400        200    1e-4  seconds on 2 cores for CIFAR-10
paper      50     1e-4    0.95   0.25   1000       200    1e-4  the notebook's first run: ~0.29 val
                                                                acc on CIFAR-10 (the notebook's text)
=========  =====  ======  =====  =====  =========  =====  ====  ====================================

Files written into ``out_dir`` (each written to a temporary file in ``out_dir`` then moved with
``os.replace``, so a reader never sees half a file):

- ``config.json``: preset, resolved hyper-parameters, seed, data shapes, preprocessing;
- ``history.csv``: one row per epoch record (``epoch, iteration, learning_rate, loss,
  accuracy, val_accuracy``; ``loss`` is the mean mini-batch loss since the previous record,
  ``accuracy`` the accuracy on the current mini-batch, as the assignment records it);
- ``loss_history.csv``: ``iteration, loss`` for every iteration;
- ``metrics.json``: final train/val/test accuracy, final loss, timing, sizes;
- ``history.png`` and ``first_layer_weights.png`` (drawn by :mod:`training.plots`; skipped with
  a warning when matplotlib is missing).
"""

from __future__ import annotations

import math
import os
import platform
import time
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np

from cnncalc.atomic import write_csv, write_json

from .network import TwoLayerNet

__all__ = [
    "PRESETS",
    "run_numpy_net",
    "prepare_data",
    "weight_grid",
]

PRESETS: dict[str, dict[str, Any]] = {
    "quick": {
        "hidden_size": 50, "learning_rate": 1e-3, "learning_rate_decay": 0.95, "reg": 0.25,
        "num_iters": 400, "batch_size": 200, "std": 1e-4,
    },
    "paper": {
        "hidden_size": 50, "learning_rate": 1e-4, "learning_rate_decay": 0.95, "reg": 0.25,
        "num_iters": 1000, "batch_size": 200, "std": 1e-4,
    },
}
SPLITS = ("train", "val", "test")
PREPROCESSING = "flatten to (N, D); subtract the mean training image (CS231n assignment 1); float32 storage"


# ---------------------------------------------------------------------------- data


def prepare_data(data: Mapping[str, Any], num_classes: int | None = None) -> dict[str, Any]:
    """Flatten, centre on the training mean and validate ``data``; see the module docstring.

    Returns ``{x_train, y_train, ..., num_classes, image_shape, mean_image}`` with x arrays
    (N, D) float32 and y arrays int64. Raises ValueError (one line) on a missing key, mismatched
    lengths, differing image shapes, an empty split, or a label outside ``[0, C)``.
    """
    missing = [f"{p}_{s}" for s in SPLITS for p in ("x", "y") if f"{p}_{s}" not in data]
    if missing:
        raise ValueError(f"data is missing {', '.join(missing)}")
    xs = {s: np.asarray(data[f"x_{s}"]) for s in SPLITS}
    ys = {s: np.asarray(data[f"y_{s}"]) for s in SPLITS}
    image_shape = xs["train"].shape[1:]
    for s in SPLITS:
        x, y = xs[s], ys[s]
        if x.ndim < 2 or x.shape[0] == 0 or x.shape[1:] != image_shape:
            raise ValueError(
                f"x_{s} must have shape (N >= 1, *{image_shape}) like x_train, got {x.shape}"
            )
        if y.ndim == 2 and y.shape[1] == 1:  # (N, 1) label columns, as some loaders give
            y = ys[s] = y[:, 0]
        if y.shape != (x.shape[0],):
            raise ValueError(f"y_{s} must have shape ({x.shape[0]},) to match x_{s}, got {y.shape}")
        if not np.issubdtype(y.dtype, np.integer):
            raise ValueError(f"y_{s} must hold integer labels, got dtype {y.dtype}")
    top = max(int(ys[s].max()) for s in SPLITS)
    low = min(int(ys[s].min()) for s in SPLITS)
    if num_classes is None:
        num_classes = top + 1
    if low < 0 or top >= num_classes or num_classes < 2:
        raise ValueError(
            f"labels must lie in [0, {num_classes - 1}] with at least 2 classes, got [{low}, {top}]"
        )

    mean_image = xs["train"].reshape(len(ys["train"]), -1).mean(axis=0, dtype=np.float64)
    out: dict[str, Any] = {"num_classes": int(num_classes), "image_shape": tuple(image_shape),
                           "mean_image": mean_image}
    for s in SPLITS:
        centred = xs[s].reshape(xs[s].shape[0], -1).astype(np.float32)  # no float64 copy of the set
        centred -= mean_image.astype(np.float32)
        out[f"x_{s}"] = centred
        out[f"y_{s}"] = ys[s].astype(np.int64)
    return out


# ---------------------------------------------------------------------------- the weight grid


def _default_image_shape(D: int) -> tuple[int, ...] | None:
    """(32, 32, 3) for D = 3072 (CIFAR-10), (s, s) for D = s*s, else None."""
    if D == 32 * 32 * 3:
        return (32, 32, 3)
    side = math.isqrt(D)
    return (side, side) if side * side == D else None


def weight_grid(W1: np.ndarray, image_shape: tuple[int, ...] | None = None, padding: int = 1) -> np.ndarray:
    """First-layer weights as one image: column ``h`` of ``W1`` (D, H) reshaped to an image.

    As CS231n's ``visualize_grid``: each filter is min-max scaled to [0, 1] on its own, filters
    are tiled row-major, ``ceil(sqrt(H))`` per row (as many rows as needed), separated by
    ``padding`` pixels of 0.
    ``image_shape`` defaults to (32, 32, 3) for D = 3072, else (s, s) for D = s*s. Returns a
    (rows, cols) or (rows, cols, 3) float array. Vectorised: no loop over filters.
    """
    W1 = np.asarray(W1, dtype=np.float64)
    if W1.ndim != 2:
        raise ValueError(f"W1 must be 2-D (D, H), got shape {W1.shape}")
    D, H = W1.shape
    if image_shape is None:
        image_shape = _default_image_shape(D)
        if image_shape is None:
            raise ValueError(f"cannot infer an image shape for D={D}; pass image_shape")
    image_shape = tuple(int(s) for s in image_shape)
    if len(image_shape) == 3 and image_shape[2] == 1:
        image_shape = image_shape[:2]
    if math.prod(image_shape) != D or len(image_shape) not in (2, 3) or image_shape[2:] not in ((), (3,)):
        raise ValueError(
            f"image_shape {image_shape} does not hold D={D} values as (h, w), (h, w, 1) or (h, w, 3)"
        )
    filters = W1.T.reshape((H, *image_shape))
    axes = tuple(range(1, filters.ndim))
    low = filters.min(axis=axes, keepdims=True)
    span = filters.max(axis=axes, keepdims=True) - low
    filters = (filters - low) / np.where(span > 0, span, 1.0)
    cols = math.ceil(math.sqrt(H))
    rows = math.ceil(H / cols)
    h, w = image_shape[:2]
    rest = image_shape[2:]
    tiles = np.zeros((rows * cols, h + padding, w + padding, *rest))
    tiles[:H, :h, :w] = filters
    grid = tiles.reshape(rows, cols, h + padding, w + padding, *rest).swapaxes(1, 2)
    grid = grid.reshape(rows * (h + padding), cols * (w + padding), *rest)
    return grid[: rows * (h + padding) - padding, : cols * (w + padding) - padding]


# ---------------------------------------------------------------------------- the run


def _resolve(preset: str, overrides: Mapping[str, Any]) -> dict[str, Any]:
    if preset not in PRESETS:
        raise ValueError(f"preset must be one of {sorted(PRESETS)}, got {preset!r}")
    unknown = sorted(set(overrides) - set(PRESETS[preset]))
    if unknown:
        raise ValueError(f"unknown override(s) {unknown}; allowed: {sorted(PRESETS[preset])}")
    return {**PRESETS[preset], **overrides}


def _plot_shape(image_shape: tuple[int, ...]) -> tuple[int, ...]:
    """The data's own image shape when it is (h, w[, 1 or 3]); else a square guess; else 1 x D."""
    if len(image_shape) in (2, 3) and image_shape[2:] in ((), (1,), (3,)):
        return image_shape
    D = math.prod(image_shape)
    return _default_image_shape(D) or (1, D)


def _history_rows(history: Mapping[str, list]) -> list[list[Any]]:
    losses = history["loss_history"]
    rows, start = [], 0
    for epoch, it in enumerate(history["epoch_iterations"]):
        window = losses[start:it + 1]
        rows.append([epoch, it, history["learning_rate_history"][epoch], float(np.mean(window)),
                     history["train_acc_history"][epoch], history["val_acc_history"][epoch]])
        start = it + 1
    return rows


def run_numpy_net(
    data: Mapping[str, Any],
    *,
    preset: str = "quick",
    out_dir: str | os.PathLike,
    seed: int = 0,
    num_classes: int | None = None,
    plots: bool = True,
    verbose: bool = False,
    record: Mapping[str, Any] | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """Train a :class:`TwoLayerNet` on ``data`` with a preset, write the run files, return metrics.

    ``overrides`` replace preset fields (``hidden_size, learning_rate, learning_rate_decay,
    reg, num_iters, batch_size, std``); anything else raises ValueError, as do an unknown
    preset and malformed data (see :func:`prepare_data`). ``seed`` seeds a private
    ``np.random.RandomState`` for the initial weights and the mini-batch draws, so a run is
    reproducible and NumPy's global generator is left alone. ``out_dir`` is created if needed.
    ``record`` is what already identifies the run in ``out_dir`` (the ``numpy-net`` experiment
    passes its run directory's config: experiment, dataset, data source, versions); it is kept in
    ``config.json``, under the keys written here. The returned dict is the content of
    ``metrics.json``.
    """
    hp = _resolve(preset, overrides)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    d = prepare_data(data, num_classes)
    out_dir = os.fspath(out_dir)
    os.makedirs(out_dir, exist_ok=True)

    start = time.perf_counter()
    net = TwoLayerNet(d["x_train"].shape[1], hp["hidden_size"], d["num_classes"], std=hp["std"],
                      rng=np.random.RandomState(seed))
    with np.errstate(over="ignore", invalid="ignore"):
        history = net.train(
            d["x_train"], d["y_train"], d["x_val"], d["y_val"],
            learning_rate=hp["learning_rate"], learning_rate_decay=hp["learning_rate_decay"],
            reg=hp["reg"], num_iters=hp["num_iters"], batch_size=hp["batch_size"], verbose=verbose,
        )
        train_seconds = time.perf_counter() - start
        acc = {s: net.accuracy(d[f"x_{s}"], d[f"y_{s}"]) for s in SPLITS}
    iterations_per_epoch = max(len(d["y_train"]) // hp["batch_size"], 1)
    final_loss = float(history["loss_history"][-1])

    config = {
        "model": "numpy-net (training.numpy_net.TwoLayerNet, CS231n assignment 1)",
        "preset": preset,
        "overrides": dict(overrides),
        "hyperparameters": hp,
        "seed": int(seed),
        "num_classes": d["num_classes"],
        "image_shape": list(d["image_shape"]),
        "input_size": int(d["x_train"].shape[1]),
        "sizes": {s: int(len(d[f"y_{s}"])) for s in SPLITS},
        "iterations_per_epoch": iterations_per_epoch,
        "preprocessing": PREPROCESSING,
        "numpy": np.__version__,
        "python": platform.python_version(),
    }
    metrics = {
        "preset": preset,
        "seed": int(seed),
        "train_accuracy": acc["train"],
        "val_accuracy": acc["val"],
        "test_accuracy": acc["test"],
        "best_val_accuracy_during_training": float(max(history["val_acc_history"])),
        "final_loss": final_loss,
        "diverged": not math.isfinite(final_loss),
        "num_iters": hp["num_iters"],
        "epochs": hp["num_iters"] / iterations_per_epoch,
        "num_params": net.num_params,
        "train_seconds": round(train_seconds, 3),
        "seconds": None,
        "plots": [],
    }

    write_json(os.path.join(out_dir, "config.json"), {**(record or {}), **config})
    write_csv(os.path.join(out_dir, "history.csv"),
              ["epoch", "iteration", "learning_rate", "loss", "accuracy", "val_accuracy"], _history_rows(history))
    write_csv(os.path.join(out_dir, "loss_history.csv"),
              ["iteration", "loss"], [[i, v] for i, v in enumerate(history["loss_history"])])
    if plots:
        try:
            import matplotlib  # noqa: F401  (only to learn whether plotting is possible)
        except ImportError:
            warnings.warn("matplotlib is not installed: no plots written", stacklevel=2)
        else:
            from ..plots import iteration_history, weight_image

            iteration_history(history, os.path.join(out_dir, "history.png"), title=f"numpy-net {preset}")
            weight_image(weight_grid(net.params["W1"], _plot_shape(d["image_shape"])),
                         os.path.join(out_dir, "first_layer_weights.png"))
            metrics["plots"] = ["history.png", "first_layer_weights.png"]
    metrics["seconds"] = round(time.perf_counter() - start, 3)
    write_json(os.path.join(out_dir, "metrics.json"), metrics)
    return metrics
