"""Resumable runs: an interrupted-and-resumed run ends with the same history as an uninterrupted one."""

import json
import math
import os

import numpy as np
import pytest

from training.runs import NonFiniteLoss, RunDir, RunError, TrainingPlan, epoch_order, train

pytestmark = pytest.mark.keras
keras = pytest.importorskip("keras", reason="needs TensorFlow/Keras: pip install -e '.[dev]'")


def data(n=96, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 6)).astype("float32")
    y = (x[:, 0] + x[:, 1] > 0).astype("int32")
    return x, y


def build_model():
    model = keras.Sequential([
        keras.Input((6,)),
        keras.layers.Dense(16, activation="relu"),
        keras.layers.Dropout(0.3, seed=3),
        keras.layers.Dense(2, activation="softmax"),
    ])
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def plan(epochs=3, **kw):
    x, y = data()
    xv, yv = data(32, seed=1)
    return TrainingPlan(build_model=build_model, x_train=x, y_train=y, x_val=xv, y_val=yv, x_test=xv, y_test=yv,
                        epochs=epochs, batch_size=16, seed=7, verbose=0, **kw)


def strip_times(rows):
    return [{k: v for k, v in r.items() if not k.endswith("seconds")} for r in rows]


def test_fresh_run_writes_the_run_directory(tmp_path):
    run = RunDir(tmp_path / "run")
    run.create({"experiment": "unit"})
    metrics = train(run, plan(epochs=2))
    names = set(os.listdir(run.path))
    assert {"config.json", "history.csv", "traces.csv", "metrics.json", "status.json", "checkpoint"} <= names
    assert [r["epoch"] for r in run.history()] == [1, 2]
    assert len(run.traces()) == 2 * 6 and run.traces()[-1]["step"] == 12
    assert run.status()["state"] == "finished"
    assert metrics["epochs"] == 2 and 0 <= metrics["test_accuracy"] <= 1
    assert json.loads((tmp_path / "run" / "checkpoint" / "latest.json").read_text())["epoch"] == 2
    assert "keras" in run.config()["versions"]


@pytest.mark.slow
def test_interrupted_then_resumed_equals_uninterrupted(tmp_path):
    full = RunDir(tmp_path / "full")
    full.create({})
    train(full, plan(epochs=3))

    class InterruptInEpochTwo(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            if self.model.optimizer.iterations.numpy() == 6 + 1:  # second batch of epoch 2
                raise KeyboardInterrupt

    cut = RunDir(tmp_path / "cut")
    cut.create({})
    with pytest.raises(KeyboardInterrupt):
        train(cut, plan(epochs=3, callbacks=[InterruptInEpochTwo()]))
    assert cut.status() ["state"] == "interrupted" and [r["epoch"] for r in cut.history()] == [1]

    train(cut, plan(epochs=3), resume=True)
    assert strip_times(cut.history()) == strip_times(full.history())
    assert cut.traces() == full.traces()
    assert cut.metrics()["test_accuracy"] == full.metrics()["test_accuracy"]


@pytest.mark.slow
def test_resuming_a_finished_run_does_nothing(tmp_path):
    run = RunDir(tmp_path / "run")
    run.create({})
    first = train(run, plan(epochs=1))
    assert train(run, plan(epochs=1), resume=True) == first


@pytest.mark.slow
def test_non_finite_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path):
    def build_linear():
        model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(2, activation="softmax")])
        model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        return model

    poisoned = {"on": False}

    class PoisonEpochTwo(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            poisoned["on"] = epoch == 1

    def poison(x, y):
        if poisoned["on"]:
            x = np.full_like(x, np.nan)
        return x, y

    run = RunDir(tmp_path / "run")
    run.create({})
    bad = plan(epochs=3, expand_batch=poison, callbacks=[PoisonEpochTwo()])
    bad.build_model = build_linear
    with pytest.raises(NonFiniteLoss, match=r"the loss became nan at epoch 2, step 1; kept the last good checkpoint \(epoch 1\)"):
        train(run, bad)
    assert run.latest_checkpoint()["epoch"] == 1
    assert run.status()["state"] == "failed"
    assert [r["epoch"] for r in run.history()] == [1] and math.isfinite(run.history()[0]["loss"])


def test_existing_run_directory_is_not_overwritten(tmp_path):
    run = RunDir(tmp_path / "run")
    run.create({})
    with pytest.raises(RunError, match="already holds a run"):
        RunDir(tmp_path / "run").create({})
    with pytest.raises(RunError, match="is not a run directory"):
        RunDir(tmp_path / "nothing").config()


def test_epoch_order_is_a_pure_function_of_seed_and_epoch():
    assert (epoch_order(1, 3, 50) == epoch_order(1, 3, 50)).all()
    assert not (epoch_order(1, 3, 50) == epoch_order(1, 4, 50)).all()
    assert sorted(epoch_order(1, 3, 50)) == list(range(50))


def test_variable_batch_sizes_must_cover_the_epoch(tmp_path):
    run = RunDir(tmp_path / "run")
    run.create({})
    with pytest.raises(RunError, match="cover 90 samples, expected 96"):
        train(run, plan(epochs=1, batch_sizes=lambda epoch: [30, 30, 30]))
    run2 = RunDir(tmp_path / "run2")
    run2.create({})
    train(run2, plan(epochs=1, batch_sizes=lambda epoch: [8, 8, 16, 32, 32]))
    assert [t["batch_size"] for t in run2.traces()] == [8, 8, 16, 32, 32]


class FitCounter(keras.callbacks.Callback):
    """Counts the ``fit`` calls the loop makes (``on_train_begin`` runs once per call)."""

    def __init__(self):
        super().__init__()
        self.fits = 0

    def on_train_begin(self, logs=None):
        self.fits += 1


@pytest.mark.slow
def test_one_fit_runs_every_epoch_when_the_step_count_is_constant(tmp_path):
    counter = FitCounter()
    run = RunDir(tmp_path / "run")
    run.create({})
    train(run, plan(epochs=3, callbacks=[counter]))
    assert counter.fits == 1  # the iterators are made once per run
    assert [r["steps"] for r in run.history()] == [6, 6, 6] and [t["step"] for t in run.traces()] == list(range(1, 19))

    # A batch-size schedule that changes the step count: one fit per epoch, the batches as scheduled.
    counter = FitCounter()
    sizes = {0: [16] * 6, 1: [32] * 3, 2: [48] * 2}
    run = RunDir(tmp_path / "schedule")
    run.create({})
    train(run, plan(epochs=3, callbacks=[counter], batch_sizes=lambda epoch: sizes[epoch]))
    assert counter.fits == 3
    assert [t["batch_size"] for t in run.traces()] == sizes[0] + sizes[1] + sizes[2]
    assert [r["steps"] for r in run.history()] == [6, 3, 2]


@pytest.mark.slow
def test_one_fit_trains_exactly_as_a_fit_per_epoch(tmp_path):
    """The graph-fed single fit and the Python-fed fit per epoch see the same batches in the same order."""
    one = RunDir(tmp_path / "one")
    one.create({})
    train(one, plan(epochs=3))
    counter = FitCounter()
    per_epoch = RunDir(tmp_path / "per-epoch")
    per_epoch.create({})
    train(per_epoch, plan(epochs=3, callbacks=[counter], expand_batch=lambda x, y: (x, y)))  # served from Python
    assert counter.fits == 3
    assert one.traces() == per_epoch.traces()  # every batch loss, bit for bit
    for a, b in zip(one.history(), per_epoch.history()):
        # the validation split is batched differently (by the graph feeder, by Keras): the same mean up to rounding
        assert a["loss"] == b["loss"] and a["val_loss"] == pytest.approx(b["val_loss"], rel=1e-6)


@pytest.mark.slow
def test_non_finite_loss_inside_the_single_fit_stops_it(tmp_path):
    class BreakWeightsInEpochTwo(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 1:
                self.model.set_weights([np.full_like(w, np.nan) for w in self.model.get_weights()])

    counter = FitCounter()
    run = RunDir(tmp_path / "run")
    run.create({})
    with pytest.raises(NonFiniteLoss, match=r"the loss became nan at epoch 2, step 1; kept the last good checkpoint \(epoch 1\)"):
        train(run, plan(epochs=3, callbacks=[counter, BreakWeightsInEpochTwo()]))
    assert counter.fits == 1
    assert run.latest_checkpoint()["epoch"] == 1 and run.status()["state"] == "failed"
    assert [r["epoch"] for r in run.history()] == [1] and len(run.traces()) == 6 + 1


@pytest.mark.parametrize("feed", ["graph, one fit", "python, a fit per epoch"])
def test_a_callback_that_stops_training_ends_the_run_after_that_epoch(tmp_path, feed):
    class StopAfterEpochTwo(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                self.model.stop_training = True

    extra = {} if feed.startswith("graph") else {"expand_batch": lambda x, y: (x, y)}
    run = RunDir(tmp_path / "run")
    run.create({})
    metrics = train(run, plan(epochs=4, callbacks=[StopAfterEpochTwo()], **extra))
    assert [r["epoch"] for r in run.history()] == [1, 2] and len(run.traces()) == 2 * 6
    assert metrics["epochs"] == 2 and run.status()["state"] == "finished" and run.latest_checkpoint()["epoch"] == 2
