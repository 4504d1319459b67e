"""Training loop: ``cnntrain``'s loop (:func:`training.runs.train`) against a plain ``model.fit``.

The same model (LeNet-5 from the cnncalc zoo, SGD with momentum 0.9), the same data (a
Fashion-MNIST subset, standardised and padded to 32x32 as the experiments prepare it; random
images of that shape when the dataset is absent, said in the notes), the same batch size and
number of epochs, the same initial weights, validation on the held-out split after every epoch:

- ``plain fit``: ``model.fit(x, y, batch_size=B, epochs=E, validation_data=(x_val, y_val),
  shuffle=True, verbose=0)``, the baseline a Keras user writes.
- ``cnntrain loop``: :func:`training.runs.train` with checkpoints off (``TrainingPlan(checkpoints=False)``):
  its own sample order per epoch, the per-step trace (learning rate, batch size, batch loss), the
  history and trace files written every epoch. Goal (issue 15): at most 5% slower (ratio >= 0.95x
  speed, i.e. epochs at most 1.05x as long).
- ``cnntrain loop + checkpoints``: the same with its per-epoch checkpoint (the ``.keras`` model
  file and the seed-generator states, published atomically); the row's note gives the
  checkpoint's own cost per epoch (this row's time less the previous one's, paired).

Each **round** trains a fresh copy of the model (initial weights restored, untimed) with each
variant back to back, their order rotated from round to round, after one untimed warm-up
training per variant. Op determinism (``tf.config.experimental.enable_op_determinism``, which
the loop turns on for its exact resume) is on for every variant, so the ratio measures the loop,
not the kernels. The figure of a training is its **steady-state epoch**: the median of its
epochs after the first, each timed from the previous epoch's end to its own end (the first epoch
traces the train step for every variant alike; everything the loop does per epoch, its files,
its checkpoint, a next ``fit`` call, falls inside some epoch's span; the median
keeps one stalled epoch, a scheduler hiccup on a shared machine, from deciding the figure), in
wall-clock time and in process CPU time (``time.process_time``, all threads). Figures are medians
over rounds; each ratio is the median over rounds of the ratio within the round (paired), with
its quartiles in the note. The loop's own work between epochs is also timed directly (the
``between epochs`` rows), which no noise of the epochs themselves can hide.
"""

from __future__ import annotations

import gc
import os
import statistics
import tempfile
import time

import numpy as np

from .harness import Row

GOAL = 0.05  # the loop's epochs at most 5% longer than plain fit's
# training images (before the 10% validation split), epochs per training, timed rounds, batch size
SIZES = {
    "full": dict(subset=16000, epochs=4, rounds=7, batch=64),
    "quick": dict(subset=16000, epochs=3, rounds=3, batch=64),
    "smoke": dict(subset=256, epochs=2, rounds=1, batch=64, random=True),
}


def _data(subset: int, seed: int = 0, random: bool = False):
    """``(x_train, y_train, x_val, y_val, where)``: real Fashion-MNIST as the experiments load it, or random."""
    from training.data import FASHION_MNIST_SYSTEM_DIR, load

    try:
        if random:  # smoke mode: no time spent reading the dataset
            raise FileNotFoundError
        d = load("fashion_mnist", None, subset=subset, test_subset=1, pad_to=32, seed=seed, download=False)
        return d.x_train, d.y_train, d.x_val, d.y_val, f"Fashion-MNIST from {FASHION_MNIST_SYSTEM_DIR}"
    except Exception:
        rng = np.random.default_rng(seed)
        n_val = subset // 10
        x = rng.standard_normal((subset, 32, 32, 1), dtype=np.float32)
        y = rng.integers(0, 10, subset)
        return x[n_val:], y[n_val:], x[:n_val], y[:n_val], "random images" + ("" if random else " (Fashion-MNIST not installed)")


def _model_factory(seed: int = 0):
    """A function returning a fresh compiled LeNet-5 with the same initial weights every call."""
    import keras

    from training.models import build, compile_model

    keras.utils.set_random_seed(seed)
    weights = build("lenet5", (32, 32, 1), 10).get_weights()

    def fresh():
        model = build("lenet5", (32, 32, 1), 10)
        model.set_weights(weights)
        return compile_model(model, keras.optimizers.SGD(learning_rate=0.01, momentum=0.9))

    return fresh


def _epoch_clock():
    """A Keras callback noting ``(wall, CPU)`` seconds at an epoch's start, its validation's end and its end.

    Between the end of one epoch's validation and the start of the next epoch, plain ``fit`` only
    runs its callbacks' ``on_epoch_end`` (``History``: a few CPU-ms; in wall time it can also wait
    for the validation iterator's teardown), while cnntrain's loop
    does its per-epoch work there (its ``on_epoch_end``, which runs before this clock's: the
    history and trace files, the checkpoint) and, where it makes a ``fit`` per epoch, returns from
    ``fit`` and calls it again: that gap is the loop's own work, measured directly rather than as
    a small difference of two noisy epoch times.
    """
    import keras

    class EpochClock(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.begins, self.validated, self.ends = [], [], []

        def on_epoch_begin(self, epoch, logs=None):
            self.begins.append((time.perf_counter(), time.process_time()))

        def on_test_end(self, logs=None):  # fit's validation after each epoch
            self.validated.append((time.perf_counter(), time.process_time()))

        def on_epoch_end(self, epoch, logs=None):
            self.ends.append((time.perf_counter(), time.process_time()))

        def epoch(self) -> tuple[float, float]:
            """Median ``(wall, CPU)`` seconds of the epochs after the first, each from the previous epoch's end to its own."""
            return _median_spans(self.ends, self.ends[1:])

        def gaps(self) -> tuple[float, float]:
            """Median ``(wall, CPU)`` seconds from an epoch's validation end to the next epoch's start."""
            return _median_spans(self.validated, self.begins[1:])

    return EpochClock()


def _median_spans(starts: list, stops: list) -> tuple[float, float]:
    """Median ``(wall, CPU)`` of ``stop - start`` over paired ``(wall, CPU)`` clock readings."""
    spans = [(b[0] - a[0], b[1] - a[1]) for a, b in zip(starts, stops)]
    return statistics.median(w for w, _ in spans), statistics.median(c for _, c in spans)


def _variants(data, size: dict, workdir: str):
    """name -> function(model, clock) training ``model`` for the configured epochs, ``clock`` among its callbacks."""
    from training.runs import RunDir, TrainingPlan, train

    x, y, xv, yv = data
    epochs, batch = size["epochs"], size["batch"]
    counter = iter(range(10**6))

    def plain(model, clock):
        model.fit(x, y, batch_size=batch, epochs=epochs, validation_data=(xv, yv), shuffle=True, verbose=0, callbacks=[clock])

    def loop(checkpoints: bool):
        def run(model, clock):
            run_dir = RunDir(os.path.join(workdir, f"run-{next(counter)}"))
            run_dir.create({"experiment": "benchmark"})
            plan = TrainingPlan(build_model=lambda: model, x_train=x, y_train=y, x_val=xv, y_val=yv, epochs=epochs,
                                batch_size=batch, seed=0, verbose=0, checkpoints=checkpoints, callbacks=[clock])  # fmt: skip
            train(run_dir, plan)

        return run

    return {"plain fit": plain, "cnntrain loop": loop(False), "cnntrain loop + checkpoints": loop(True)}


def measure(size: dict) -> tuple[dict, str]:
    """Per variant, per round: ``{"wall": s/epoch, "cpu": CPU s/epoch, "gap_wall": s, "gap_cpu": CPU s}``, and where the data came from.

    ``gap_*`` is the median time from one epoch's validation end to the next epoch's start (:func:`_epoch_clock`).
    """
    from training.runs.loop import _deterministic

    x, y, xv, yv, where = _data(size["subset"], random=size.get("random", False))
    _deterministic(0)  # as the loop does, for every variant
    fresh = _model_factory()
    out: dict = {}
    with tempfile.TemporaryDirectory(prefix="cnncalc-bench-loop-") as workdir:
        variants = _variants((x, y, xv, yv), size, workdir)
        names = list(variants)
        for name in names if size["rounds"] > 1 else ():  # warm-up: library code paths, allocator, file system
            variants[name](fresh(), _epoch_clock())
        out = {name: {"wall": [], "cpu": [], "gap_wall": [], "gap_cpu": []} for name in names}
        for r in range(size["rounds"]):
            order = names[r % len(names):] + names[: r % len(names)]
            for name in order:
                model, clock = fresh(), _epoch_clock()
                gc.collect()
                variants[name](model, clock)
                for prefix, (wall, cpu) in (("", clock.epoch()), ("gap_", clock.gaps())):
                    out[name][prefix + "wall"].append(wall)
                    out[name][prefix + "cpu"].append(cpu)
    return out, f"{where}; {len(x):,} training and {len(xv):,} validation images"


def _paired(values, base):
    """Median and quartiles over rounds of ``base / value`` (a speed ratio: < 1 means slower)."""
    pairs = [b / v for v, b in zip(values, base)]
    ratio = statistics.median(pairs)
    q1, _, q3 = statistics.quantiles(pairs, n=4) if len(pairs) > 1 else (ratio, ratio, ratio)
    return ratio, q1, q3


def run(quick: bool = False, smoke: bool = False) -> list[Row]:
    level = "smoke" if smoke else "quick" if quick else "full"
    size = SIZES[level]
    m, about = measure(size)
    name = "training-loop"
    goal = f">= {1 - GOAL:.2f}x (epochs within {GOAL:.0%})"
    rows = []
    for unit, key, label in (("s/epoch", "wall", "wall clock"), ("CPU-s/epoch", "cpu", "process CPU time")):
        base = m["plain fit"][key]
        for variant in m:
            values = m[variant][key]
            note = (f"{label}; median of the steady-state epochs ({size['epochs'] - 1} per training after the first), {size['rounds']} rounds, batch {size['batch']}, LeNet-5; "
                    f"{about}; min {min(values):.3f}, max {max(values):.3f}")  # fmt: skip
            if variant == "plain fit":
                rows.append(Row(name, variant, statistics.median(values), unit, note=note))
                continue
            ratio, q1, q3 = _paired(values, base)
            note += f"; paired speed ratio {ratio:.3f}, quartiles {q1:.3f}..{q3:.3f}"
            graded = variant == "cnntrain loop"
            if variant == "cnntrain loop + checkpoints":
                cost = statistics.median([c - v for c, v in zip(values, m["cnntrain loop"][key])])
                note += f"; the checkpoint's own cost {cost * 1e3:.0f} ms per epoch (paired difference to the loop without)"
            rows.append(Row(name, variant, statistics.median(values), unit, ratio=ratio, ratio_of="plain fit / cnntrain epoch time, paired",
                            goal=goal if graded else "", met=(ratio >= 1 - GOAL) if graded else None, note=note,
                            bound=(f"the loop's epochs take {1 / ratio:.3f}x plain fit's ({label}); per-round ratios "
                                   f"{q1:.3f}..{q3:.3f} (quartiles)") if graded else ""))  # fmt: skip
        rows += _gap_rows(name, m, key, label)
    return rows


def _gap_rows(name: str, m: dict, key: str, label: str) -> list[Row]:
    """The loop's own work between epochs, with and without checkpoints, and the checkpoint's cost.

    Plain fit has no such work (its figure, the time from one epoch's validation end to the next
    epoch's start, is a few CPU-ms of callbacks); the loop's gap holds its files (and, for
    a ``fit`` per epoch, the next ``fit`` call); the difference of the two loops' gaps, paired per
    round, is the checkpoint's own cost.
    """
    gap = f"gap_{key}"
    plain = statistics.median(m["plain fit"][gap]) * 1e3
    base = m["cnntrain loop"][gap]
    rows = []
    for variant in ("cnntrain loop", "cnntrain loop + checkpoints"):
        values = [v * 1e3 for v in m[variant][gap]]
        epoch = statistics.median(m[variant][key]) * 1e3
        note = (f"{label}; median over rounds of the median time from an epoch's validation end to the next epoch's start (plain fit: {plain:.2f} ms); "
                f"min {min(values):.1f}, max {max(values):.1f}; {statistics.median(values) / epoch:.1%} of the loop's epoch")  # fmt: skip
        if variant == "cnntrain loop + checkpoints":
            cost = statistics.median([(c - v) * 1e3 for c, v in zip(m[variant][gap], base)])
            note += f"; the checkpoint's own cost {cost:.0f} ms per epoch (paired difference to the loop without)"
        rows.append(Row(name, f"{variant}: between epochs", statistics.median(values), "ms" if key == "wall" else "CPU-ms", note=note))
    return rows
