"""``--distribute mirrored``: MirroredStrategy over the CPU split into two logical devices.

The split (``CNNTRAIN_LOGICAL_CPUS=2``) must happen before TensorFlow initialises, so everything
runs in a fresh Python process. Without augmentation or dropout the two-replica run computes the
same gradients as the one-device run (each replica's loss is scaled by the *global* batch and the
gradients are summed), so the histories agree to float round-off; resuming from a checkpoint
under the strategy gives the uninterrupted history.

One child process (a module fixture) runs both scripts, the training first (its CPU split is the
one under test), then the augmentation check on the same two logical CPUs: TensorFlow's start-up
(about 5 s of CPU) is paid once. Both tests are ``slow``.
"""

import json
import math
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.keras
keras = pytest.importorskip("keras", reason="needs TensorFlow/Keras: pip install -e '.[dev]'")

SCRIPT = r"""
import json, sys
import numpy as np
import keras
from training.runs import RunDir, TrainingPlan, train

root = sys.argv[1]
rng = np.random.default_rng(0)
x = rng.normal(size=(120, 8, 8, 3)).astype("float32")
y = (x[:, :4].mean(axis=(1, 2, 3)) > 0).astype("int64") + (x[:, 4:].mean(axis=(1, 2, 3)) > 0)
xv, yv = x[:40], y[:40]

def build():
    model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3, activation="relu"),
                              keras.layers.Flatten(), keras.layers.Dense(3, activation="softmax")])
    model.compile(keras.optimizers.SGD(0.05, momentum=0.9), "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model

def plan(epochs, distribute):
    # 120 samples, batch 32: three steps of 32 and one of 24, each split 16/16 or 12/12
    return TrainingPlan(build, x, y, epochs=epochs, batch_size=32, seed=5, x_val=xv, y_val=yv, x_test=xv, y_test=yv,
                        distribute=distribute, verbose=0)

out = {}
# The strategy first: the CPU split must precede TensorFlow's initialisation.
for name, epochs, distribute in (("mirrored", 3, "mirrored"), ("single", 3, None), ("cut", 1, "mirrored")):
    run = RunDir(f"{root}/{name}")
    run.create({})
    out[name] = {"metrics": train(run, plan(epochs, distribute))}
run = RunDir(f"{root}/cut")
out["resumed"] = {"metrics": train(run, plan(3, "mirrored"), resume=True)}
for name in out:
    out[name]["history"] = RunDir(f"{root}/{name if name != 'resumed' else 'cut'}").history()
import tensorflow as tf
out["logical_cpus"] = len(tf.config.list_logical_devices("CPU"))
print("RESULT " + json.dumps(out))
"""


AUGMENT_SCRIPT = r"""
import json, sys
import numpy as np
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
if tf.config.get_logical_device_configuration(cpu) is None:  # after SCRIPT, the CPU is split already
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import keras
from training.augment import augmentation

x = np.random.default_rng(0).normal(size=(8, 12, 12, 2)).astype("float32")

def apply(strategy):
    with strategy.scope():
        block = augmentation(standard=True, cutout=6, seed=3)
        block.build((None, 12, 12, 2))
    dist = strategy.experimental_distribute_dataset(tf.data.Dataset.from_tensor_slices(x).batch(8))
    batch = next(iter(dist))
    out = strategy.run(tf.function(lambda b: block(b, training=True)), args=(batch,))
    parts = strategy.experimental_local_results(out)
    return np.concatenate([np.asarray(p) for p in parts])

devices = [d.name for d in tf.config.list_logical_devices("CPU")]
mirrored = apply(tf.distribute.MirroredStrategy(devices))
single = apply(tf.distribute.OneDeviceStrategy(devices[0]))
# Where each sample is zero (crop padding and the Cutout square): its draw, compared between replicas.
zeros = (mirrored == 0).reshape(8, -1)
changed = (mirrored != x).reshape(8, -1)
print("AUGMENT " + json.dumps({"replicas": len(devices), "equal": bool(np.array_equal(mirrored, single)),
      "same_pattern": bool(np.array_equal(zeros[:4], zeros[4:])), "changed": bool(changed.any(axis=1).all())}))
"""


def run_script(tmp_path, script=SCRIPT) -> dict:
    """Run ``script`` in a fresh process; its ``TAG {json}`` lines, by tag."""
    env = {**os.environ, "CNNTRAIN_LOGICAL_CPUS": "2", "TF_CPP_MIN_LOG_LEVEL": "3", "KERAS_BACKEND": "tensorflow"}
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path)], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    tagged = (line.split(" ", 1) for line in done.stdout.splitlines() if line.startswith(("RESULT ", "AUGMENT ")))
    return {tag: json.loads(text) for tag, text in tagged}


@pytest.fixture(scope="module")
def child(tmp_path_factory):
    """Both scripts in one fresh process: the training (which splits the CPU), then the augmentation check."""
    return run_script(tmp_path_factory.mktemp("distribute"), SCRIPT + AUGMENT_SCRIPT)


@pytest.mark.slow
def test_mirrored_over_two_logical_cpus_matches_one_device_and_resumes(child):
    out = child["RESULT"]
    assert out["logical_cpus"] == 2
    mirrored, single = out["mirrored"], out["single"]
    assert mirrored["metrics"]["replicas"] == 2 and "replicas" not in single["metrics"]
    assert len(mirrored["history"]) == len(single["history"]) == 3
    losses = [r["loss"] for r in mirrored["history"]]
    assert all(math.isfinite(v) for v in losses) and losses[-1] < losses[0]  # it trained
    for a, b in zip(mirrored["history"], single["history"]):
        for key in ("loss", "val_loss", "accuracy", "val_accuracy", "learning_rate"):
            assert a[key] == pytest.approx(b[key], rel=1e-4, abs=1e-6), key
        assert (a["steps"], a["batch_size"]) == (b["steps"], b["batch_size"]) == (4, 32)  # the global batch
    assert mirrored["metrics"]["test_accuracy"] == pytest.approx(single["metrics"]["test_accuracy"], abs=1e-6)
    # Checkpoint after epoch 1 under the strategy, reloaded inside strategy.scope(): same run.
    resumed = out["resumed"]
    assert resumed["metrics"]["replicas"] == 2 and len(resumed["history"]) == 3
    for a, b in zip(resumed["history"], mirrored["history"]):
        for key in ("loss", "val_loss", "val_accuracy"):
            assert a[key] == pytest.approx(b[key], rel=1e-5, abs=1e-7), key


@pytest.mark.slow
def test_augmentation_draws_are_independent_across_replicas_and_equal_one_device(child):
    """Each replica keeps its own slice of a draw for the global batch (training.augment.per_sample_randint):
    without it, sample k of both replicas got the same crop, flip and Cutout square."""
    out = child["AUGMENT"]
    assert out["replicas"] == 2 and out["changed"]
    assert out["equal"]  # the mirrored output equals the one-device output for the same global batch
    assert not out["same_pattern"]  # the two replicas' samples were not augmented alike


def test_logical_cpus_must_be_a_positive_integer(tmp_path, monkeypatch):
    import numpy as np

    from training.runs import RunDir, RunError, TrainingPlan, train

    monkeypatch.setenv("CNNTRAIN_LOGICAL_CPUS", "two")
    run = RunDir(tmp_path / "run")
    run.create({})
    x = np.zeros((4, 2), "float32")
    with pytest.raises(RunError, match="CNNTRAIN_LOGICAL_CPUS must be a positive integer, got 'two'"):
        train(run, TrainingPlan(lambda: None, x, np.zeros(4, "int64"), epochs=1, distribute="mirrored", verbose=0))
