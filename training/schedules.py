"""Cyclical learning rates (Smith 2017) as a Keras ``LearningRateSchedule``, and an LR recorder.

:class:`CyclicalLearningRate` is evaluated by the optimizer inside the compiled train step at
``optimizer.iterations``, so it costs no Python per batch (a per-batch ``Callback`` that sets
the rate, as bckenstler/CLR does, was measured at three times the batch time in a published run).
It is a plain serializable object, no lambdas: a model compiled with it saves and loads as
``.keras``. :class:`LearningRateRecorder` is the optional callback that writes the rate down per
step for plots.
"""

from __future__ import annotations

import math

import keras
from keras import ops

__all__ = ["CLR_MODES", "CyclicalLearningRate", "LearningRateRecorder"]

CLR_MODES = ("triangular", "triangular2", "exp_range")


@keras.saving.register_keras_serializable(package="cnncalc")
class CyclicalLearningRate(keras.optimizers.schedules.LearningRateSchedule):
    """Smith's cyclical learning rate, as in bckenstler/CLR (Smith 2017, *Cyclical Learning Rates
    for Training Neural Networks*, WACV, Section 3.1)::

        cycle = floor(1 + t / (2 * step_size))
        x     = |t / step_size - 2 * cycle + 1|
        lr    = base_lr + (max_lr - base_lr) * max(0, 1 - x) * scale

    where ``t`` is the optimizer step (``optimizer.iterations``, counting from 0) and ``scale`` is
    ``1`` for ``triangular``, ``1 / 2**(cycle - 1)`` for ``triangular2`` (the amplitude halves every
    cycle) and ``gamma**t`` for ``exp_range`` (an exponentially decaying amplitude). The rate
    starts at ``base_lr``, reaches ``max_lr`` at ``t = step_size`` and is back at ``base_lr`` at
    ``t = 2 * step_size``. Smith suggests ``step_size`` of 2 to 10 epochs' worth of steps and the
    bounds from an LR range test (:func:`training.finders.lr_range_test`).

    Args:
        base_lr: lower bound, >= 0.
        max_lr: upper bound, > ``base_lr``.
        step_size: steps in half a cycle, > 0.
        mode: ``"triangular"``, ``"triangular2"`` or ``"exp_range"``.
        gamma: decay per step of ``exp_range``, in (0, 1]; ignored by the other modes.
        name: optional name.

    Raises:
        ValueError: bad bounds, step size, mode or gamma (one line naming the cause).
    """

    def __init__(self, base_lr, max_lr, step_size, mode="triangular", gamma=1.0, name="CyclicalLearningRate"):
        super().__init__()
        if not base_lr >= 0:
            raise ValueError(f"base_lr must be >= 0, got {base_lr!r}")
        if not max_lr > base_lr:
            raise ValueError(f"max_lr must be > base_lr, got max_lr={max_lr!r} <= base_lr={base_lr!r}")
        if not step_size > 0:
            raise ValueError(f"step_size must be > 0, got {step_size!r}")
        if mode not in CLR_MODES:
            raise ValueError(f"unknown mode {mode!r}; valid modes: {', '.join(CLR_MODES)}")
        if not 0 < gamma <= 1:
            raise ValueError(f"gamma must lie in (0, 1], got {gamma!r}")
        self.base_lr = float(base_lr)
        self.max_lr = float(max_lr)
        self.step_size = float(step_size)
        self.mode = mode
        self.gamma = float(gamma)
        self.name = name

    def __call__(self, step):
        t = ops.cast(step, "float32")
        cycle = ops.floor(1.0 + t / (2.0 * self.step_size))
        x = ops.abs(t / self.step_size - 2.0 * cycle + 1.0)
        height = ops.maximum(0.0, 1.0 - x)
        if self.mode == "triangular2":
            height = height / ops.power(2.0, cycle - 1.0)
        elif self.mode == "exp_range":
            # gamma**t as exp(t*log(gamma)) with log(gamma) in float64: a float32 gamma near 1
            # (0.99994 is typical) would be off by ~1e-4 relative after 10,000 steps.
            height = height * ops.exp(t * math.log(self.gamma))
        return ops.add(self.base_lr, (self.max_lr - self.base_lr) * height)

    def value(self, step: float) -> float:
        """The same formula in plain Python floats (for tables, tests and plots without a backend)."""
        cycle = math.floor(1 + step / (2 * self.step_size))
        x = abs(step / self.step_size - 2 * cycle + 1)
        scale = {"triangular": 1.0, "triangular2": 1.0 / 2 ** (cycle - 1), "exp_range": self.gamma**step}[self.mode]
        return self.base_lr + (self.max_lr - self.base_lr) * max(0.0, 1.0 - x) * scale

    def get_config(self):
        return {
            "base_lr": self.base_lr,
            "max_lr": self.max_lr,
            "step_size": self.step_size,
            "mode": self.mode,
            "gamma": self.gamma,
            "name": self.name,
        }


class LearningRateRecorder(keras.callbacks.Callback):
    """Records ``(step, learning rate)`` before every ``every``-th train batch, for plots.

    The rate is read from the optimizer at ``optimizer.iterations``, the step the coming batch
    updates with, so a schedule's value is what the optimizer uses for that batch. The recorder
    costs one Python call per batch; leave it out of timed runs (the schedule itself needs none).

    Attributes:
        steps: optimizer steps (``iterations`` before the batch).
        learning_rates: the rates, as floats.
    """

    def __init__(self, every: int = 1):
        super().__init__()
        if not int(every) >= 1:
            raise ValueError(f"every must be >= 1, got {every!r}")
        self.every = int(every)
        self.steps: list[int] = []
        self.learning_rates: list[float] = []
        self._batches = 0

    def on_train_batch_begin(self, batch, logs=None):
        if self._batches % self.every == 0:
            optimizer = self.model.optimizer
            self.steps.append(int(ops.convert_to_numpy(optimizer.iterations)))
            self.learning_rates.append(float(ops.convert_to_numpy(optimizer.learning_rate)))
        self._batches += 1

    def plot(self, path, title: str = "learning rate per step"):
        """Write the recorded rate against the step to ``path`` (any matplotlib format)."""
        from . import plots

        plots.learning_rate_steps(self.steps, self.learning_rates, path, title=title)
        return path
