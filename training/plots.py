"""Every figure of the trainer: PNG plots of runs, range tests, schedules, data and the NumPy net.

One module draws, so that every figure is drawn the same way and saved the same way:

- on a matplotlib ``Figure`` with its own Agg canvas (imported only when a plot is drawn; pyplot's
  global state and backend are left alone, so plotting works headless and in threads);
- saved through :func:`cnncalc.atomic.replacing`: a reader (``cnntrain report``, a browser
  refreshing a run directory) never sees half a PNG.

Every function takes plain lists, arrays or small result objects and a path, and returns the path
written, so a plot can be redrawn from a run directory's files alone (``cnntrain report``). The
modules that compute (finders, schedules, batching, data, numpy_net) never import matplotlib.
"""

from __future__ import annotations

import os

from cnncalc.atomic import replacing


def _figure(figsize=(7.0, 3.5)):
    """A ``matplotlib.figure.Figure`` attached to an Agg canvas (no pyplot state)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize)
    FigureCanvasAgg(fig)
    return fig


def _save(fig, path, *, dpi=110, tight=True) -> str:
    """Write ``fig`` to ``path`` atomically, in the format its extension names (PNG without one).

    ``tight`` crops to the drawn area (``bbox_inches="tight"``); the figures laid out with
    ``tight_layout`` keep their full size (``tight=False``).
    """
    path = os.fspath(path)
    ext = os.path.splitext(path)[1]
    with replacing(path, suffix=ext or ".png") as tmp:
        fig.savefig(tmp, dpi=dpi, format=ext[1:] or "png", **({"bbox_inches": "tight"} if tight else {}))
    return path


# --------------------------------------------------------------------------------------------
# Runs: curves, histories, per-step traces, confusion matrices, bars
# --------------------------------------------------------------------------------------------


def curves(series: dict, path, *, xlabel: str, ylabel: str, title: str = "", logx=False, logy=False, styles=None) -> str:
    """One line per label: ``series = {label: (xs, ys)}``; ``styles`` maps a label to extra
    matplotlib line properties (``{"color": "black", "linestyle": "--"}``)."""
    fig = _figure((7.0, 4.0))
    ax = fig.add_subplot(1, 1, 1)
    for label, (xs, ys) in series.items():
        points = [(x, y) for x, y in zip(xs, ys) if y is not None]
        if points:
            style = {"marker": "." if len(points) < 30 else None, **((styles or {}).get(label) or {})}
            ax.plot(*zip(*points), label=str(label), **style)
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
    fig = _figure((10.0, 3.8))
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
    fig = _figure((6.5, 5.5))
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
    fig = _figure((7.0, 4.0))
    ax = fig.add_subplot(1, 1, 1)
    labels = list(values)
    ax.bar(range(len(labels)), [values[k] for k in labels])
    ax.set_xticks(range(len(labels)), labels=labels, rotation=30, ha="right", fontsize="small")
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    return _save(fig, path)


# --------------------------------------------------------------------------------------------
# Images: before/after a transformation, a grid of samples per class
# --------------------------------------------------------------------------------------------


def before_after(before, after, path, *, rows=("original", "after"), titles=None, boxes=None, captions=None) -> str:
    """Images on the top row, the same images transformed below (one display scale per image,
    taken from the original, so a zeroed region shows as the dataset mean does).

    ``titles`` label the columns, ``boxes`` (``{"x0", "y0", "width", "height"}`` per image) are
    outlined in red on the bottom row with ``captions`` under them.
    """
    import numpy as np
    from matplotlib.patches import Rectangle

    n = len(before)
    fig = _figure((2.1 * n + 0.6, 4.4))
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


def _displayable(img):
    """An image min-max scaled to [0, 1] for display; (h, w, 1) becomes (h, w)."""
    import numpy as np

    img = img.astype(np.float64)
    lo, hi = img.min(), img.max()
    img = (img - lo) / (hi - lo) if hi > lo else np.zeros_like(img)
    return img[..., 0] if img.shape[-1] == 1 else img


def image_grid(images, labels, class_names, path, *, per_class: int = 3, seed: int = 0, title: str | None = None) -> str:
    """A PNG grid: one row per class, ``per_class`` random samples of it (seeded).

    Each image is min-max scaled for display; grayscale images use a gray colour map.
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    n_cls = len(class_names)
    fig = _figure((1.3 * per_class + 1.5, 1.3 * n_cls))
    axes = fig.subplots(n_cls, per_class, squeeze=False)
    for c, cname in enumerate(class_names):
        idx = np.flatnonzero(labels == c)
        chosen = rng.choice(idx, size=min(per_class, len(idx)), replace=False) if len(idx) else []
        for j in range(per_class):
            ax = axes[c, j]
            ax.set_xticks([])
            ax.set_yticks([])
            if j < len(chosen):
                ax.imshow(_displayable(images[chosen[j]]), cmap="gray", vmin=0, vmax=1)
            if j == 0:
                ax.set_ylabel(cname, rotation=0, ha="right", va="center", fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return _save(fig, path, dpi=100, tight=False)


# --------------------------------------------------------------------------------------------
# Range tests (training.finders) and the cyclical policies (schedules, batching)
# --------------------------------------------------------------------------------------------


def _suggested_bounds(ax, result, low: str, high: str, spec: str) -> None:
    """Dashed lines at the two bounds ``result.suggest()`` names; none for a curve that never falls."""
    try:
        bounds = result.suggest()
    except ValueError:
        return
    for name, color in ((low, "C2"), (high, "C3")):
        value = getattr(bounds, name)
        ax.axvline(value, color=color, ls="--", label=f"{name} {value:{spec}}")


def lr_range(result, path, *, title: str | None = None) -> str:
    """Loss against learning rate (log axis), with the suggested bounds: a ``finders.LRResult``."""
    import numpy as np

    fig = _figure()
    ax = fig.add_subplot()
    if result.smoothed is not None:
        ax.plot(result.lrs, result.losses, color="0.75", lw=1, label="per-batch loss")
        ax.plot(result.lrs, result.smoothed, color="C0", label="smoothed (EMA)")
    else:
        ax.plot(result.lrs, result.losses, "o-", color="C0", label="final training loss")
    _suggested_bounds(ax, result, "lr_min", "lr_max", ".2g")
    finite = result.curve[np.isfinite(result.curve)]
    if finite.size:
        lo, hi = float(finite.min()), float(finite[0])
        ax.set_ylim(lo - 0.1 * (hi - lo + 1e-12), max(hi, lo) + 0.5 * (hi - lo + 1e-12))
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("loss")
    ax.set_title(title or ("LR range test" if result.method == "range_test" else "LR grid search"))
    ax.legend(fontsize=8)
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    return _save(fig, path, dpi=100, tight=False)


def batch_range(result, path, *, title: str = "batch-size range test") -> str:
    """Loss against batch size (log2 axis), with the suggested bounds: a ``finders.BatchSizeResult``."""
    fig = _figure()
    ax = fig.add_subplot()
    ax.plot(result.batch_sizes, result.losses, "o-", label="evaluation loss")
    ax.plot(result.batch_sizes, result.train_losses, "s:", color="0.5", label="mean training loss")
    _suggested_bounds(ax, result, "b_min", "b_max", "")
    ax.set_xscale("log", base=2)
    ax.set_xlabel(f"effective batch size ({result.iterations} iterations each)")
    ax.set_ylabel("loss")
    ax.set_title(title)
    ax.legend(fontsize=8)
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    return _save(fig, path, dpi=100, tight=False)


def learning_rate_steps(steps, learning_rates, path, *, title: str = "learning rate per step") -> str:
    """The learning rate against the optimizer step (``schedules.LearningRateRecorder``)."""
    fig = _figure()
    ax = fig.add_subplot()
    ax.plot(steps, learning_rates)
    ax.set_xlabel("step (optimizer iterations)")
    ax.set_ylabel("learning rate")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    return _save(fig, path, dpi=100, tight=False)


def batch_size_steps(steps, batch_sizes, path, *, title: str = "cyclical batch size") -> str:
    """The batch size per step, as a step function on a log2 axis (``batching.CyclicalBatchSize``)."""
    fig = _figure()
    ax = fig.add_subplot()
    ax.step(steps, batch_sizes, where="post")
    ax.set_yscale("log", base=2)
    ax.set_xlabel("step")
    ax.set_ylabel("batch size")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    return _save(fig, path, dpi=100, tight=False)


def batch_trace(traces: list[dict], b_min: int, path, *, title: str = "", low_end=None) -> str:
    """The batch size of every step of a run's ``traces.csv`` (log2 axis), epochs marked; the
    leftover of each epoch (the binary digits of the samples that no longer fill a trajectory
    batch) drawn apart. ``low_end(step)``, when given, is drawn as the unrounded low end of the
    cycles (the ``exp_increase`` trajectory's envelope rising toward ``b_max``)."""
    fig = _figure((8.0, 3.6))
    ax = fig.add_subplot()
    steps = [int(r["step"]) for r in traces]
    sizes = [int(r["batch_size"]) for r in traces]
    epochs = [int(r["epoch"]) for r in traces]
    ax.step(steps, sizes, where="post", color="C0", lw=1.2, label="batch size")
    if low_end is not None:
        ax.plot(steps, [low_end(s - 1) for s in steps], "--", color="C2", lw=1, label="low end of the cycle (unrounded)")
    leftover = [i for i in range(len(sizes)) if sizes[i] < b_min]
    if leftover:
        ax.plot([steps[i] for i in leftover], [sizes[i] for i in leftover], "x", color="C3", label="end-of-epoch leftover")
    for i in range(1, len(steps)):
        if epochs[i] != epochs[i - 1]:
            ax.axvline(steps[i] - 0.5, color="0.6", ls=":", lw=0.8)
    ax.set_yscale("log", base=2)
    ax.set_xlabel("optimizer step (dotted: epoch boundaries)")
    ax.set_ylabel("batch size")
    if title:
        ax.set_title(title, fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize="small")
    return _save(fig, path)


# --------------------------------------------------------------------------------------------
# The NumPy network (training.numpy_net)
# --------------------------------------------------------------------------------------------


def iteration_history(history, path, *, title: str = "") -> str:
    """The loss per iteration (top) and train/val accuracy per epoch record (bottom).

    ``history`` is what ``TwoLayerNet.train`` returns (``loss_history``, ``train_acc_history``,
    ``val_acc_history``).
    """
    import numpy as np

    fig = _figure((7, 6))
    ax_loss, ax_acc = fig.subplots(2, 1)
    ax_loss.plot(history["loss_history"], lw=0.8)
    ax_loss.set(title=f"{title} loss history".strip(), xlabel="iteration", ylabel="loss")
    epochs = np.arange(len(history["val_acc_history"]))
    ax_acc.plot(epochs, history["train_acc_history"], marker="o", label="train (batch)")
    ax_acc.plot(epochs, history["val_acc_history"], marker="o", label="val")
    ax_acc.set(title="classification accuracy history", xlabel="epoch", ylabel="accuracy")
    ax_acc.xaxis.get_major_locator().set_params(integer=True)
    ax_acc.legend()
    fig.tight_layout()
    return _save(fig, path, dpi=100, tight=False)


def weight_image(grid, path, *, title: str = "first-layer weights") -> str:
    """One image of tiled filters (``numpy_net.run.weight_grid``); grey for one-channel images."""
    fig = _figure((6, 6))
    ax = fig.add_subplot()
    ax.imshow(grid, cmap="gray" if grid.ndim == 2 else None, interpolation="nearest")
    ax.set_title(title)
    ax.axis("off")
    fig.tight_layout()
    return _save(fig, path, dpi=100, tight=False)
