"""Real tf2onnx files: Keras applications converted by tf2onnx 1.17 (TensorFlow 2.21), stored
without their weights with a record of what Keras says of each model (written by
``tests/tf2onnx_truth.py``; CI needs neither TensorFlow nor tf2onnx).

Each file reads with exit 0 and no "not counted" row, its input is the Keras model's channels-last
input (EfficientNet's is read through its Rescaling and Normalization arithmetic before
tf2onnx's transpose), and it counts what Keras' model counts: the MACs of cnncalc's reading of the
live Keras model, exactly; parameters the file's float tensors, which are Keras' ``count_params()``
less what the converter folded away: every BatchNorm's moving mean and variance (Keras'
non-trainable weights), and, where it folded a BatchNorm into the convolution before it, one of
its two trainable vectors per channel (the scale goes into the weight, the shift becomes the bias).
"""

from __future__ import annotations

import io
import json
import os

import pytest

pytest.importorskip("onnx", reason="needs the onnx package (pip install 'cnncalc[onnx]'; CI installs it)")

from cnncalc import analyze, from_onnx  # noqa: E402
from cnncalc.cli import main  # noqa: E402

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "tf2onnx")
RECORDS = json.load(open(os.path.join(DATA, "records.json")))


@pytest.mark.parametrize("name", sorted(RECORDS))
def test_a_tf2onnx_file_counts_what_keras_counts(name):
    record = RECORDS[name]
    path = os.path.join(DATA, f"{name}.onnx")
    out, err = io.StringIO(), io.StringIO()
    assert main([path], out=out, err=err) == 0
    assert "not counted" not in err.getvalue() + out.getvalue()
    a = analyze(from_onnx(path))
    assert not a.uncounted
    assert a.input == tuple(record["input"]) and a.output == (1000,)
    assert a.totals.macs == record["cnncalc_keras_macs"]
    assert a.totals.params == record["file_floats"]
    folded = record["keras_params"] - a.totals.params
    assert record["keras_non_trainable"] <= folded <= record["keras_non_trainable"] + record["bn_channels"]
    assert record["cnncalc_keras_params"] == record["keras_params"]
