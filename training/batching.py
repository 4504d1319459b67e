"""Cyclical batch size: the batch size cycles between ``b_min`` and ``b_max`` over the steps.

Smith, Kindermans, Ying & Le 2017/2018 (*Don't Decay the Learning Rate, Increase the Batch
Size*, ICLR 2018, Section 3) show that the SGD noise scale is ``g ~ lr * N / B``: multiplying the
batch size ``B`` by ``k`` acts like dividing the learning rate by ``k``. A batch size that cycles
is thus a cyclical learning rate seen from the other side: the small-batch end of the cycle is
the noisy (high-LR-like) end and ``b_max`` the quiet one.

**Trajectory.** The triangle of Smith's CLR (``training.schedules.CyclicalLearningRate``), with
``t`` the optimizer step::

    cycle = floor(1 + t / (2 * step_size))
    h     = max(0, 1 - |t / step_size - 2 * cycle + 1|)           # 0 at b_min, 1 at b_max
    exponential (default): B = 2 ** round(log2 b_min + h * (log2 b_max - log2 b_min))
    linear:                B = 2 ** round(log2(b_min + h * (b_max - b_min)))
    exp_increase:          B = 2 ** round(log2 b_max - (1 - h) * (log2 b_max - log2 b_min) * gamma**t)

We default to the exponential trajectory: in noise-scale terms it moves ``g`` geometrically,
one doubling at a time, as the paper's schedules (which multiply ``B`` by a constant factor)
do, and it spends equal steps at each power of two. Both round to powers of two, so the set of
distinct shapes is bounded by ``log2(b_max) + 1`` and graph retracing stays bounded.

**The exponential increase** (``exp_increase``) is the batch-size counterpart of the CLR's
``exp_range`` (``lr = lr_min + (lr_max - lr_min) * h * gamma**t``, Smith 2017, Section 3.1, whose
amplitude decays exponentially). In noise-scale terms (``g ~ lr * N / B``, Smith et al. 2018) the
learning rate's excursion *above* the quiet ``lr_min`` is the batch size's excursion *below* the
quiet ``b_max``; decaying it by ``gamma`` per step, in log2 space where the noise scale moves one
doubling at a time, gives the trajectory above: the cycles start at the noisy ``b_min`` and their
low end drifts toward ``b_max`` (after ``t`` steps it sits at ``2 ** (log2 b_max - (log2 b_max -
log2 b_min) * gamma**t)``), while the high end stays at ``b_max``: the batch size *increases*
exponentially, as Smith et al. increase it in place of decaying the learning rate. ``gamma = 1``
is the ``exponential`` mode. Rounding to powers of two keeps the shapes bounded as before.

**Epochs.** Every sample is seen exactly once per epoch: an epoch is a fresh permutation cut
into batches that follow the trajectory; the remainder that no longer fills the step's batch is
split into powers of two (its binary digits), so it adds no new shape. Because an epoch's
number of batches depends on where in the cycle it starts, Keras (which fixes the batches per
epoch when ``fit`` starts) is given one epoch per ``fit`` call: :meth:`CyclicalBatchSize.fit`
does that loop, :meth:`CyclicalBatchSize.epoch_dataset` gives one epoch to a plain ``model.fit``.
The per-step batch sizes are recorded in ``steps`` and ``batch_sizes``.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["CBS_MODES", "CyclicalBatchSize"]

CBS_MODES = ("exponential", "linear", "exp_increase")


def is_power_of_two(b) -> bool:
    """True for an int (or numpy int) 1, 2, 4, 8, ...: the batch sizes that keep retracing bounded."""
    return isinstance(b, (int, np.integer)) and b >= 1 and (int(b) & (int(b) - 1)) == 0


def _binary_parts(r: int) -> list[int]:
    """``r`` as a sum of distinct powers of two, largest first (37 -> [32, 4, 1])."""
    return [1 << k for k in range(r.bit_length() - 1, -1, -1) if r >> k & 1]


class CyclicalBatchSize:
    """The cyclical batch-size policy (module docstring for the formula and its source).

    Args:
        b_min, b_max: bounds, powers of two with ``b_min < b_max`` (from
            :func:`training.finders.batch_size_range_test`).
        step_size: optimizer steps in half a cycle, > 0.
        mode: ``"exponential"`` (default), ``"linear"`` or ``"exp_increase"``.
        gamma: the decay per step of ``exp_increase``'s excursion below ``b_max``, in (0, 1];
            ignored by the other modes.

    Attributes:
        steps, batch_sizes: the batch size of every step planned so far (epochs in order).
    """

    def __init__(self, b_min: int, b_max: int, step_size: int, mode: str = "exponential", gamma: float = 1.0):
        if not (is_power_of_two(b_min) and is_power_of_two(b_max)):
            raise ValueError(f"b_min and b_max must be powers of two, got b_min={b_min!r}, b_max={b_max!r}")
        if not b_max > b_min:
            raise ValueError(f"b_max must be > b_min, got b_max={b_max} <= b_min={b_min}")
        if not step_size > 0:
            raise ValueError(f"step_size must be > 0, got {step_size!r}")
        if mode not in CBS_MODES:
            raise ValueError(f"unknown mode {mode!r}; valid modes: {', '.join(CBS_MODES)}")
        if not 0 < gamma <= 1:
            raise ValueError(f"gamma must lie in (0, 1], got {gamma!r}")
        self.b_min, self.b_max, self.step_size, self.mode = int(b_min), int(b_max), step_size, mode
        self.gamma = float(gamma)
        self.steps: list[int] = []
        self.batch_sizes: list[int] = []
        self._epoch_starts: list[int] = [0]  # step at which each planned epoch starts

    def get_config(self) -> dict:
        return {"b_min": self.b_min, "b_max": self.b_max, "step_size": self.step_size, "mode": self.mode, "gamma": self.gamma}

    def batch_size(self, step: int) -> int:
        """The trajectory's batch size at optimizer step ``step`` (a power of two)."""
        cycle = math.floor(1 + step / (2 * self.step_size))
        h = max(0.0, 1.0 - abs(step / self.step_size - 2 * cycle + 1))
        lo, hi = math.log2(self.b_min), math.log2(self.b_max)
        if self.mode == "exponential":
            exponent = lo + h * (hi - lo)
        elif self.mode == "exp_increase":
            exponent = hi - (1.0 - h) * (hi - lo) * self.gamma**step
        else:
            exponent = math.log2(self.b_min + h * (self.b_max - self.b_min))
        return 1 << int(math.floor(exponent + 0.5))  # round half up

    def low_end(self, step: int) -> float:
        """The unrounded low end of the cycle at ``step``: ``b_min``, or for ``exp_increase``
        ``2 ** (log2 b_max - (log2 b_max - log2 b_min) * gamma**step)``, the envelope its trace plot draws."""
        if self.mode != "exp_increase":
            return float(self.b_min)
        lo, hi = math.log2(self.b_min), math.log2(self.b_max)
        return 2.0 ** (hi - (hi - lo) * self.gamma**step)

    def epoch_plan(self, n: int, start_step: int) -> list[int]:
        """Batch sizes of one epoch of ``n`` samples starting at ``start_step``; they sum to ``n``."""
        if not n >= 1:
            raise ValueError(f"need at least one sample, got n={n!r}")
        sizes, seen, t = [], 0, start_step
        while True:
            b = self.batch_size(t)
            if seen + b > n:
                break
            sizes.append(b)
            seen += b
            t += 1
        return sizes + _binary_parts(n - seen)

    def _plan_through(self, n: int, epoch: int) -> None:
        if getattr(self, "_n", n) != n:
            raise ValueError(f"this policy planned epochs of {self._n} samples, not {n}; make a new one")
        self._n = n
        while len(self._epoch_starts) <= epoch + 1:
            start = self._epoch_starts[len(self._epoch_starts) - 1]
            plan = self.epoch_plan(n, start)
            self.steps.extend(range(start, start + len(plan)))
            self.batch_sizes.extend(plan)
            self._epoch_starts.append(start + len(plan))

    def epoch_sizes(self, n: int, epoch: int) -> list[int]:
        """Batch sizes of epoch ``epoch`` (0-based) of ``n`` samples; they sum to ``n``."""
        self._plan_through(n, epoch)
        return self.batch_sizes[self._epoch_starts[epoch] : self._epoch_starts[epoch + 1]]

    def epoch_batches(self, n: int, epoch: int, seed: int | None = 0) -> list[np.ndarray]:
        """Index arrays of epoch ``epoch``: a permutation of ``range(n)`` cut along the trajectory."""
        self._plan_through(n, epoch)
        start, stop = self._epoch_starts[epoch], self._epoch_starts[epoch + 1]
        rng = np.random.default_rng(None if seed is None else (seed, epoch))
        order = rng.permutation(n)
        cuts = np.cumsum(self.batch_sizes[start:stop])[:-1]
        return np.split(order, cuts)

    def epoch_dataset(self, x, y, epoch: int = 0, seed: int | None = 0):
        """One epoch as a ``keras.utils.PyDataset`` for a plain ``model.fit(dataset)`` call."""
        import keras

        batches = self.epoch_batches(len(x), epoch, seed)

        class EpochOfCyclicalBatches(keras.utils.PyDataset):
            def __init__(self):
                super().__init__()

            def __len__(self):
                return len(batches)

            def __getitem__(self, i):
                return x[batches[i]], y[batches[i]]

        return EpochOfCyclicalBatches()

    def fit(self, model, x, y, epochs: int = 1, seed: int | None = 0, **fit_kwargs):
        """Train ``model`` for ``epochs`` epochs, one ``model.fit`` call per epoch (``initial_epoch``
        set), with the same ``fit_kwargs`` (callbacks, validation_data, ...). Returns a
        ``keras.callbacks.History``-like object whose ``history`` merges the epochs.

        Callbacks see ``on_train_begin``/``on_train_end`` once per epoch, so those that reset their
        state there (``EarlyStopping``, ``ReduceLROnPlateau``) start afresh every epoch.
        """
        import keras

        for key in ("batch_size", "epochs", "initial_epoch", "shuffle", "steps_per_epoch"):
            if key in fit_kwargs:
                raise ValueError(f"{key} is set by CyclicalBatchSize.fit; do not pass it")
        merged = keras.callbacks.History()
        merged.history, merged.epoch = {}, []
        for epoch in range(epochs):
            history = model.fit(
                self.epoch_dataset(x, y, epoch, seed), epochs=epoch + 1, initial_epoch=epoch, **fit_kwargs
            )
            for key, values in history.history.items():
                merged.history.setdefault(key, []).extend(values)
            merged.epoch.extend(history.epoch)
            if model.stop_training:
                break
        merged.set_model(model)
        return merged

    def plot(self, path, title: str = "cyclical batch size"):
        """The recorded batch size per step (log2 axis), written to ``path``."""
        from . import plots

        plots.batch_size_steps(self.steps, self.batch_sizes, path, title=title)
        return path
