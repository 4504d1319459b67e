"""Writes the tf2onnx files the ONNX tests read: Keras applications converted by tf2onnx (the
converter users run on TensorFlow models), stored as graphs without their weights, and a record
per file of what Keras and cnncalc's own Keras reading say of the model
(``tests/test_tf2onnx_files.py`` reads them; CI needs neither tf2onnx nor a conversion).

Run as a script (TensorFlow, Keras and tf2onnx; tf2onnx 1.17.0 installs next to TensorFlow 2.21 and
onnx 1.23 with ``--no-deps``, its requirements being there already; a few seconds a model)::

    python -m venv /work/venvs/tf2onnx --system-site-packages
    /work/venvs/tf2onnx/bin/pip install --no-deps "tf2onnx==1.17.0"
    /work/venvs/tf2onnx/bin/python tests/tf2onnx_truth.py

What it writes under ``tests/data/tf2onnx/``: ``NAME.onnx``, the converted graph with every float
initializer over 1,024 bytes as external data whose ``.data`` file is dropped (as the torchvision
catalogue's: cnncalc reads shapes, never values, of weights), and ``records.json``: per file, the
Keras model's ``count_params()`` and its non-trainable part, the channels of its BatchNormalization
layers, cnncalc's parameters and MACs of the live Keras model (``cnncalc.from_keras``), the float
elements the file stores, the opset and the versions used.

The weights are drawn at random before converting (BatchNorm's moving variance positive), as a
trained model's are: an untrained model's equal tensors (BatchNorm's zero betas and means, whose
folded biases are all zero) are stored once by the converter's optimizer, which is not what a user's
trained file holds.
"""

from __future__ import annotations

import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data", "tf2onnx")
RECORDS = os.path.join(DATA, "records.json")
OPSET = 17


def models():
    import keras

    apps = keras.applications
    return {
        "mobilenetv2_035_96": lambda: apps.MobileNetV2(weights=None, input_shape=(96, 96, 3), alpha=0.35),
        "resnet50_64": lambda: apps.ResNet50(weights=None, input_shape=(64, 64, 3)),
        "efficientnetb0_64": lambda: apps.EfficientNetB0(weights=None, input_shape=(64, 64, 3)),
    }


def _trained_like(model):
    import numpy as np

    rng = np.random.default_rng(0)
    for w in model.weights:
        shape = tuple(w.shape)
        if "variance" in w.path:
            w.assign(rng.uniform(0.5, 1.5, shape).astype("float32"))
        elif shape:
            w.assign((rng.standard_normal(shape) * 0.05).astype("float32"))


def _bn_channels(model) -> int:
    import keras

    total = 0
    for layer in model._flatten_layers(include_self=False, recursive=True):
        if isinstance(layer, keras.layers.BatchNormalization):
            total += int(layer.gamma.shape[0] if layer.gamma is not None else layer.moving_mean.shape[0])
    return total


def main(names):
    sys.path.insert(0, os.path.dirname(HERE))
    sys.path.insert(0, HERE)
    import keras
    import onnx
    import tensorflow as tf
    import tf2onnx

    import cnncalc
    from torchvision_truth import _strip, file_facts

    os.makedirs(DATA, exist_ok=True)
    records = json.load(open(RECORDS)) if os.path.exists(RECORDS) else {}
    for name, build in models().items():
        if names and name not in names:
            continue
        keras.backend.clear_session()
        model = build()
        _trained_like(model)
        size = tuple(int(v) for v in model.input_shape[1:])
        spec = (tf.TensorSpec((1, *size), tf.float32, name="input"),)
        proto, _ = tf2onnx.convert.from_keras(model, input_signature=spec, opset=OPSET)
        target = os.path.join(DATA, f"{name}.onnx")
        _strip(proto, os.path.basename(target) + ".data")
        onnx.save(proto, target)
        ours = cnncalc.analyze(cnncalc.from_keras(model))
        records[name] = {
            "input": list(size),
            "keras_params": int(model.count_params()),
            "keras_non_trainable": int(sum(int(w.numpy().size) for w in model.non_trainable_weights)),
            "bn_channels": _bn_channels(model),
            "cnncalc_keras_params": int(ours.totals.params),
            "cnncalc_keras_macs": int(ours.totals.macs),
            "versions": {"tf2onnx": tf2onnx.__version__, "tensorflow": tf.__version__, "keras": keras.__version__, "onnx": onnx.__version__},
            **file_facts(target),
        }
        print(name, records[name], flush=True)
    with open(RECORDS, "w") as f:
        json.dump(records, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main(sys.argv[1:])
