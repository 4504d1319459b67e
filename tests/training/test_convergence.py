"""Training to convergence: the stopping rule, the best epoch's weights evaluated, an exact resume.

The rule is Keras' ``EarlyStopping`` (an epoch improves when its validation loss is below the best
so far by more than ``min_delta``); its state lives in every checkpoint, so a run killed with
SIGKILL and resumed stops at the same epoch and tests the same weights as an uninterrupted one.
"""

import json
import math
import os
import signal
import subprocess
import sys

import pytest

from training.runs import Convergence, RunDir, RunError, train


def _stop_epoch(rule, losses):
    state = Convergence.start()
    for epoch, loss in enumerate(losses, start=1):
        state = rule.update(state, epoch, loss)
        if state["stopped"]:
            return epoch, state
    return None, state


def test_stops_after_patience_epochs_without_an_improvement_larger_than_min_delta():
    rule = Convergence(patience=2, min_delta=0.01)
    # 0.995 is not 0.01 below 1.0: no improvement; 0.98 is: the count restarts; 0.975, 0.971 are not.
    epoch, state = _stop_epoch(rule, [1.0, 0.995, 0.98, 0.975, 0.971, 0.5])
    assert epoch == 5 and state == {"best": 0.98, "best_epoch": 3, "wait": 2, "stopped": True}
    assert _stop_epoch(Convergence(patience=3), [1.0, 0.9, 0.8, 0.7])[0] is None  # still improving
    assert _stop_epoch(Convergence(patience=1), [1.0, math.nan])[0] == 2  # a NaN never improves
    epoch, state = _stop_epoch(Convergence(patience=1), [math.nan, 2.0])  # ... nor counts as the best
    assert epoch == 1 and state["best_epoch"] == 0


@pytest.mark.parametrize("kwargs, message", [({"patience": 0}, "--patience must be at least 1, got 0"), ({"min_delta": -0.1}, "--min-delta must be >= 0, got -0.1")])
def test_bad_rule_is_a_one_line_error(kwargs, message):
    with pytest.raises(RunError, match=message):
        Convergence(**kwargs)


# A small plan both this process and a child process build: synthetic data, a dense net, Adam.
# min_delta 10 makes only the first epoch an improvement, so with patience 3 the run stops after
# epoch 4 of at most 10, and the weights tested are epoch 1's, not the last epoch's.
PLAN = """
import numpy as np, keras
from training.runs import Convergence, TrainingPlan

def _data(n, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 6)).astype("float32")
    return x, (x[:, 0] + x[:, 1] > 0).astype("int32")

def build_model():
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(16, activation="relu"), keras.layers.Dropout(0.3, seed=3),
                              keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model

def make_plan():
    (x, y), (xv, yv) = _data(96, 0), _data(32, 1)
    return TrainingPlan(build_model=build_model, x_train=x, y_train=y, x_val=xv, y_val=yv, x_test=xv, y_test=yv,
                        epochs=10, batch_size=16, seed=7, verbose=0, convergence=Convergence(patience=3, min_delta=10.0))
"""


def _plan():
    scope = {}
    exec(PLAN, scope)
    return scope["make_plan"]()


def _strip(rows):
    return [{k: v for k, v in r.items() if not k.endswith("seconds")} for r in rows]


@pytest.mark.slow
@pytest.mark.keras
def test_killed_and_resumed_run_stops_at_the_same_epoch_and_tests_the_best_weights(tmp_path):
    keras = pytest.importorskip("keras")
    full = RunDir(tmp_path / "full")
    full.create({})
    metrics = train(full, _plan())
    assert [r["epoch"] for r in full.history()] == [1, 2, 3, 4]  # stopped after 3 epochs without improvement
    assert (metrics["best_epoch"], metrics["stopped_epoch"], metrics["converged"]) == (1, 4, True)
    assert metrics["best_val_loss"] == pytest.approx(full.history()[0]["val_loss"])
    # The test metrics are epoch 1's weights (kept in the checkpoint), not epoch 4's.
    plan = _plan()
    best = plan.build_model()
    best.optimizer.build(best.trainable_variables)  # the weights file holds the optimizer's state too
    best.load_weights(full.latest_checkpoint()["best_weights_path"])
    assert best.evaluate(plan.x_test, plan.y_test, verbose=0, return_dict=True)["loss"] == pytest.approx(metrics["test_loss"], rel=1e-6)
    last = keras.models.load_model(full.latest_checkpoint()["model_path"])
    assert last.evaluate(plan.x_test, plan.y_test, verbose=0, return_dict=True)["loss"] != pytest.approx(metrics["test_loss"], rel=1e-3)

    # A child process trains the same plan and kills itself (SIGKILL) once epoch 2 is checkpointed:
    # one epoch without improvement is counted by then. Without that count in the checkpoint the
    # resumed run would start counting again and stop after epoch 5.
    cut = tmp_path / "cut"
    script = PLAN + (
        "import os, signal\n"
        "from training.runs import RunDir, train\n"
        "save = RunDir.save_checkpoint\n"
        "def save_then_die(self, model, state, **kw):\n"
        "    save(self, model, state, **kw)\n"
        "    if state['epoch'] == 2: os.kill(os.getpid(), signal.SIGKILL)\n"
        "RunDir.save_checkpoint = save_then_die\n"
        f"run = RunDir({str(cut)!r}); run.create({{}})\n"
        "train(run, make_plan())\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    state = json.loads((cut / "checkpoint" / "latest.json").read_text())
    assert state["epoch"] == 2 and state["convergence"]["wait"] == 1 and state["convergence"]["best_epoch"] == 1

    resumed = RunDir(cut)
    again = train(resumed, _plan(), resume=True)
    assert _strip(resumed.history()) == _strip(full.history())
    assert resumed.traces() == full.traces()
    assert {k: again[k] for k in ("best_epoch", "stopped_epoch", "converged", "test_loss", "test_accuracy")} == {
        k: metrics[k] for k in ("best_epoch", "stopped_epoch", "converged", "test_loss", "test_accuracy")
    }
