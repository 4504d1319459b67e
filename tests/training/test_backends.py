"""Every experiment under ``KERAS_BACKEND=tensorflow`` and ``KERAS_BACKEND=jax``: the same smallest configuration.

Two child processes, one per backend (started together), run every experiment's smallest
configuration on tiny data through ``cnntrain`` itself. What must be the same whatever the
backend is compared: the files each run writes, the epochs, steps and batch sizes, the learning
rate of every step (the CLR and step schedules, the cyclical batch size, the finders' sweeps),
the keys of every result. The losses differ (each backend draws its own initial weights). The
JAX process must train without importing TensorFlow, and resume exactly: a run stopped after
its first epoch and resumed gives the uninterrupted history. ``policies`` is the chain of the
four finder experiments run here one by one (the chain itself: test_policies.py).
"""

import csv
import json
import os
import subprocess
import sys

import numpy as np
import pytest

pytestmark = [pytest.mark.keras, pytest.mark.slow]
pytest.importorskip("jax", reason="needs JAX: pip install -e '.[dev]' (jax[cpu])")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# JAX compiles every program (each weight initialiser too) once per process, which is most of these
# tests' time on a CPU: XLA's unoptimised code generation compiles in about two thirds of the time,
# and the persistent cache shares identical programs between the runs. Neither changes what is tested.
FAST_COMPILE = {"XLA_FLAGS": "--xla_backend_optimization_level=0", "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
                "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "0"}  # fmt: skip
# (the cache directory itself is tests/conftest.py's xla_cache, one per session)


def cases(fashion, cifar):
    f = ["--data-dir", fashion, "--subset", "200", "--test-subset", "60"]
    c = ["--data-dir", cifar, "--batch-size", "32"]
    return {
        "clr": ["clr", *f, "--epochs", "2", "--batch-size", "60"],
        "lr-range": ["lr-range", *f, "--steps", "12", "--batch-size", "32"],
        "batch-range": ["batch-range", *f, "--b-lo", "16", "--b-hi", "32", "--iterations", "4", "--max-physical-batch", "16"],
        "cyclical-batch": ["cyclical-batch", *f, "--b-min", "16", "--b-max", "64", "--step-epochs", "0.5", "--epochs", "2"],
        "optimizers": ["optimizers", *f, "--methods", "adam", "--epochs", "1"],
        "cnn-ladder": ["cnn-ladder", "--dataset", "cifar10", *c, "--networks", "cs231n-a", "--epochs", "1"],
        "cutout-demo": ["cutout-demo", "--data-dir", cifar],
        "batch-augment": ["batch-augment", *c, "--model", "lenet5", "--m", "2", "--no-baseline", "--max-epochs", "1", "--subset", "160", "--test-subset", "32"],
        "numpy-net": ["numpy-net", "--dataset", "fashion_mnist", "--data-dir", fashion, "--subset", "200", "--num-iters", "20"],
    }


# Runs the given cases with cnntrain's main() in one JAX process; with "stop" also stops clr after
# its first epoch (KeyboardInterrupt once its checkpoint is written) and resumes it; with "layers"
# also calls the augmentation layers directly.
DRIVER = r"""
import json, sys
sys.path.insert(0, sys.argv[3])
import keras
import training.runs as runs
from training.cli import main
from tests.training.test_backends import layer_checks

out, job = sys.argv[1], json.loads(sys.argv[2])
codes = {name: main([*argv, "--quiet", "--out", f"{out}/{name}"]) for name, argv in job["cases"].items()}
if job.get("stop"):
    save = runs.RunDir.save_checkpoint
    def save_then_stop(self, model, state, **kw):
        save(self, model, state, **kw)
        if state["epoch"] == 1:
            raise KeyboardInterrupt
    runs.RunDir.save_checkpoint = save_then_stop
    codes["clr-stopped"] = main([*job["cases"]["clr"], "--quiet", "--out", f"{out}/clr-cut"])
    runs.RunDir.save_checkpoint = save
    codes["clr-resumed"] = main(["resume", f"{out}/clr-cut", "--quiet"])
result = {"codes": codes, "backend": keras.backend.backend(), "tensorflow_imported": "tensorflow" in sys.modules}
if job.get("layers"):
    result["layers"] = layer_checks()
print("RESULT " + json.dumps(result))
"""
# The JAX work in two processes side by side (JAX compiles each program on one core), while the
# test's own process trains the TensorFlow side.
JAX_JOBS = ({"cases": ("clr", "lr-range", "batch-range", "cyclical-batch", "cutout-demo", "numpy-net"), "stop": True},
            {"cases": ("optimizers", "cnn-ladder", "batch-augment"), "layers": True})  # fmt: skip


def layer_checks() -> dict:
    """The augmentation layers called directly (the recipes call them inside the compiled step)."""
    import keras

    from training.augment import augmentation

    x = (np.arange(2 * 32 * 32 * 3, dtype="float32") + 1).reshape(2, 32, 32, 3)
    y = keras.ops.convert_to_numpy(augmentation(True, 16, seed=0)(x, training=True))
    same = keras.ops.convert_to_numpy(augmentation(True, 16, seed=0)(x))
    return {"shape_kept": y.shape == x.shape, "zeros": bool((y == 0).any()), "identity_at_test": bool((same == x).all())}


def tiny_data(root):
    """``(fashion, cifar)``: 200 training and 60 test images in the Fashion-MNIST idx format, each
    class a brighter shade (learnable in a few steps); 5 x 32 training and 32 test CIFAR-10 images."""
    from tests.training.test_cli_augmentation import write_tiny_cifar
    from tests.training.test_faults import write_idx

    fashion = root / "fashion"
    fashion.mkdir()
    rng = np.random.default_rng(0)
    for split, n in (("train", 200), ("t10k", 60)):
        labels = np.arange(n) % 10
        write_idx(fashion / f"{split}-images-idx3-ubyte.gz", rng.integers(0, 60, size=(n, 28, 28)) + labels[:, None, None] * 20)
        write_idx(fashion / f"{split}-labels-idx1-ubyte.gz", labels)
    return fashion, write_tiny_cifar(root / "cifar", n_per_batch=32, n_test=32)


def jax_env(xla_cache, **extra) -> dict:
    """The environment of a child process that trains with JAX: this checkout first, the shared
    compilation cache, fast compilation (:data:`FAST_COMPILE`)."""
    return {**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""), "KERAS_BACKEND": "jax", "TF_CPP_MIN_LOG_LEVEL": "3",
            "JAX_COMPILATION_CACHE_DIR": str(xla_cache), **FAST_COMPILE, **extra}  # fmt: skip


@pytest.fixture(scope="module")
def both(tmp_path_factory, xla_cache):
    """The JAX side in two child processes and, meanwhile, the TensorFlow side in this process."""
    root = tmp_path_factory.mktemp("backends")
    fashion, cifar = tiny_data(root)
    every = cases(str(fashion), str(cifar))
    env = jax_env(xla_cache, KERAS_HOME=str(root / "keras-home"))
    procs = [subprocess.Popen([sys.executable, "-c", DRIVER, str(root / "jax"), json.dumps({**job, "cases": {k: every[k] for k in job["cases"]}}), ROOT],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for job in JAX_JOBS]  # fmt: skip
    jax = {"codes": {}, "layers": {}, "path": root / "jax", "stderr": "", "backend": set(), "tensorflow_imported": set()}
    try:
        import keras

        from training.cli import main

        tf = {"codes": {name: main([*argv, "--quiet", "--out", str(root / "tensorflow" / name)]) for name, argv in every.items()},
              "layers": layer_checks(), "path": root / "tensorflow", "stderr": "", "backend": keras.backend.backend()}  # fmt: skip
        for proc in procs:
            out, err = proc.communicate(timeout=600)
            assert proc.returncode == 0, err[-3000:]
            result = json.loads(next(line for line in out.splitlines() if line.startswith("RESULT "))[len("RESULT "):])
            jax["codes"].update(result["codes"])
            jax["layers"].update(result.get("layers", {}))
            jax["backend"].add(result["backend"])
            jax["tensorflow_imported"].add(result["tensorflow_imported"])
            jax["stderr"] += err
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()  # our own child, by its pid
                proc.communicate()
    jax["backend"], jax["tensorflow_imported"] = "/".join(sorted(jax["backend"])), any(jax["tensorflow_imported"])
    return {"tensorflow": tf, "jax": jax}


def tree(path):
    """Every file below a run directory, relative to it (the native log and lock apart)."""
    found = set()
    for dirpath, _, files in os.walk(path):
        for name in files:
            if name not in ("native.log", ".lock"):
                found.add(os.path.relpath(os.path.join(dirpath, name), path))
    return found


def rows(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


NAMES = list(cases("", ""))


@pytest.mark.parametrize("name", NAMES)
def test_each_experiment_runs_alike_on_both_backends(both, name):
    tf, jax = both["tensorflow"], both["jax"]
    assert tf["backend"] == "tensorflow" and jax["backend"] == "jax"
    assert tf["codes"][name] == 0, tf["stderr"][-3000:]
    assert jax["codes"][name] == 0, jax["stderr"][-3000:]
    a, b = tf["path"] / name, jax["path"] / name
    files = tree(a)
    assert files == tree(b)  # the same files: plots, tables, state, checkpoints
    for history in sorted(f for f in files if f.endswith("history.csv")):
        one, two = rows(a / history), rows(b / history)
        keys = [k for k in ("epoch", "steps", "batch_size") if one and k in one[0]] or [k for k in one[0] if "second" not in k]  # numpy-net: no Keras
        assert one and [[r[k] for k in keys] for r in one] == [[r[k] for k in keys] for r in two], history
    for trace in sorted(f for f in files if f.endswith("traces.csv")):
        one, two = rows(a / trace), rows(b / trace)
        assert [(r["step"], r["epoch"], r["batch_size"]) for r in one] == [(r["step"], r["epoch"], r["batch_size"]) for r in two], trace
        for x, y in zip(one, two):  # the schedule's rate at every step
            assert float(x["learning_rate"]) == pytest.approx(float(y["learning_rate"]), rel=1e-6), trace
    for result in sorted(f for f in files if f.endswith(("results.json", "metrics.json"))):
        one, two = json.loads((a / result).read_text()), json.loads((b / result).read_text())
        assert set(one) == set(two), result
    if name == "lr-range":
        lr = [json.loads((p / name / "results.json").read_text())["curve"]["lr"] for p in (a.parent, b.parent)]
        assert lr[0][: len(lr[1])] == pytest.approx(lr[1][: len(lr[0])], rel=1e-12)  # the same sweep (it may stop at another divergence)
    if name == "cutout-demo":
        assert json.loads((a / "results.json").read_text())["indices"] == json.loads((b / "results.json").read_text())["indices"]


def test_augmentation_layers_called_directly_on_both_backends(both):
    for backend in ("tensorflow", "jax"):
        assert both[backend]["layers"] == {"shape_kept": True, "zeros": True, "identity_at_test": True}, backend


def test_jax_trains_without_tensorflow(both):
    assert both["jax"]["tensorflow_imported"] is False


def test_jax_resume_is_exact(both):
    jax = both["jax"]
    assert (jax["codes"]["clr-stopped"], jax["codes"]["clr-resumed"]) == (130, 0), jax["stderr"][-3000:]
    full, cut = jax["path"] / "clr", jax["path"] / "clr-cut"

    def timeless(path):
        return [{k: v for k, v in r.items() if not k.endswith("seconds")} for r in rows(path)]

    assert timeless(cut / "history.csv") == timeless(full / "history.csv")
    assert rows(cut / "traces.csv") == rows(full / "traces.csv")  # every batch loss, bit for bit
    assert json.loads((cut / "metrics.json").read_text())["test_loss"] == json.loads((full / "metrics.json").read_text())["test_loss"]
