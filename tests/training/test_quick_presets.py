"""The quick presets exactly as a user types them, on real Fashion-MNIST (what CI runs for real).

The other CLI tests shrink the data further to stay fast; these run the presets unmodified (a
few seconds each on 2 cores), so a preset that stops fitting its budget or breaks shows up here.
``clr --preset quick`` and ``policies --preset quick`` are the README's own lines: they run once,
in tests/test_readme_examples.py, which checks what they promise on those runs.
"""

import json

import pytest

from training.cli import main

pytestmark = [pytest.mark.keras, pytest.mark.real_fashion_mnist, pytest.mark.slow]  # whole presets: seconds each
keras = pytest.importorskip("keras", reason="needs TensorFlow/Keras: pip install -e '.[dev]'")


def _run(tmp_path, *argv):
    out = tmp_path / argv[0]
    assert main([*argv, "--preset", "quick", "--quiet", "--out", str(out)]) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["preset"] == "quick" and config["dataset"] == "fashion_mnist"
    return out, json.loads((out / "results.json").read_text())


def test_lr_range_quick(tmp_path):
    out, results = _run(tmp_path, "lr-range")
    assert results["method"] == "range_test"
    lrs = results["curve"]["lr"]
    assert lrs[0] <= results["lr_min"] < results["lr_max"] <= lrs[-1]
    assert (out / "lr_range.png").exists() and (out / "results.md").exists()


def test_cyclical_batch_quick(tmp_path):
    out, results = _run(tmp_path, "cyclical-batch")
    assert results["b_min"] < results["b_max"]
    assert results["test_accuracy"] > 0.7
    assert (out / "batch_size_trace.png").exists()
