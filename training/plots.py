"""PNG plots of runs (matplotlib on the Agg canvas, imported only when a plot is drawn).

Every function takes plain lists or dicts read from a run directory, so a plot can be redrawn
from the files alone (``cnntrain report``).
"""

from __future__ import annotations

import os

from ._agg import agg_figure
from cnncalc.atomic import replacing


def _save(fig, path) -> str:
    path = os.fspath(path)
    with replacing(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=110, bbox_inches="tight", format="png")
    return path


def curves(series: dict, path, *, xlabel: str, ylabel: str, title: str = "", logx=False, logy=False) -> str:
    """One line per label: ``series = {label: (xs, ys)}``."""
    fig = agg_figure((7.0, 4.0))
    ax = fig.add_subplot(1, 1, 1)
    for label, (xs, ys) in series.items():
        points = [(x, y) for x, y in zip(xs, ys) if y is not None]
        if points:
            ax.plot(*zip(*points), label=str(label), marker="." if len(points) < 30 else None)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if logx:
        ax.set_xscale("log", base=2 if "batch" in xlabel.lower() else 10)
    if logy:
        ax.set_yscale("log")
    if title:
        ax.set_title(title)
    if len(series) > 1:
        ax.legend(fontsize="small")
    ax.grid(alpha=0.3)
    return _save(fig, path)


def history(rows: list[dict], path, *, title: str = "") -> str:
    """Training and validation loss (left) and accuracy (right) against the epoch."""
    fig = agg_figure((10.0, 3.8))
    epochs = [r["epoch"] for r in rows]
    for i, metric in enumerate(("loss", "accuracy")):
        ax = fig.add_subplot(1, 2, i + 1)
        for prefix, label in (("", "train"), ("val_", "validation")):
            ys = [r.get(prefix + metric) for r in rows]
            if any(y is not None for y in ys):
                ax.plot(epochs, ys, label=label, marker="." if len(epochs) < 30 else None)
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    if title:
        fig.suptitle(title)
    return _save(fig, path)


def trace(rows: list[dict], key: str, path, *, title: str = "", logy=False) -> str:
    """A per-step trace (``learning_rate`` or ``batch_size``) against the optimizer step."""
    label = key.replace("_", " ")
    return curves({label: ([r["step"] for r in rows], [r[key] for r in rows])}, path, xlabel="step", ylabel=label, title=title, logy=logy)


def confusion(matrix, class_names, path, *, title: str = "confusion matrix") -> str:
    """A confusion matrix with counts in the cells (rows: true class, columns: predicted)."""
    import numpy as np

    matrix = np.asarray(matrix)
    fig = agg_figure((6.5, 5.5))
    ax = fig.add_subplot(1, 1, 1)
    image = ax.imshow(matrix, cmap="Blues")
    fig.colorbar(image, ax=ax)
    ticks = range(len(class_names))
    ax.set_xticks(list(ticks), labels=list(class_names), rotation=60, ha="right", fontsize="small")
    ax.set_yticks(list(ticks), labels=list(class_names), fontsize="small")
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    high = matrix.max() / 2 if matrix.size else 0
    for (i, j), value in np.ndenumerate(matrix):
        ax.text(j, i, str(value), ha="center", va="center", fontsize=6, color="white" if value > high else "black")
    return _save(fig, path)


def bars(values: dict, path, *, ylabel: str, title: str = "") -> str:
    """A bar per label (training time with and without dropout, for example)."""
    fig = agg_figure((7.0, 4.0))
    ax = fig.add_subplot(1, 1, 1)
    labels = list(values)
    ax.bar(range(len(labels)), [values[k] for k in labels])
    ax.set_xticks(range(len(labels)), labels=labels, rotation=30, ha="right", fontsize="small")
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    return _save(fig, path)


def before_after(before, after, path, *, rows=("original", "after"), titles=None, boxes=None, captions=None) -> str:
    """Images on the top row, the same images transformed below (one display scale per image,
    taken from the original, so a zeroed region shows as the dataset mean does).

    ``titles`` label the columns, ``boxes`` (``{"x0", "y0", "width", "height"}`` per image) are
    outlined in red on the bottom row with ``captions`` under them.
    """
    import numpy as np
    from matplotlib.patches import Rectangle

    n = len(before)
    fig = agg_figure((2.1 * n + 0.6, 4.4))
    axes = fig.subplots(2, n, squeeze=False)
    for j in range(n):
        lo, hi = float(before[j].min()), float(before[j].max())
        for row, batch in enumerate((before, after)):
            ax = axes[row, j]
            img = np.clip((batch[j].astype(np.float64) - lo) / (hi - lo), 0, 1) if hi > lo else np.zeros_like(batch[j])
            ax.imshow(img[..., 0] if img.shape[-1] == 1 else img, cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
        if titles:
            axes[0, j].set_title(titles[j], fontsize="small")
        if boxes:
            b = boxes[j]
            axes[1, j].add_patch(Rectangle((b["x0"] - 0.5, b["y0"] - 0.5), b["width"], b["height"], fill=False, edgecolor="red", linewidth=1.2))
        if captions:
            axes[1, j].set_xlabel(captions[j], fontsize="small")
    axes[0, 0].set_ylabel(rows[0])
    axes[1, 0].set_ylabel(rows[1])
    fig.tight_layout()
    return _save(fig, path)
