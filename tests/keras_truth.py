"""What Keras itself says about a model, for the import tests: written from the live layers'
attributes, independently of cnncalc's kinds.

- :func:`leaves`: every Keras layer and operator of a model (nested models entered), by
  qualified name: the rows an import must have;
- :func:`textbook_macs`: a convolution's or dense layer's multiply-accumulates from its own
  attributes (the formulas of docs/counting.md written out again here);
- :func:`truth`: the record a stored catalogue file holds: the model's config as ``.keras`` files
  store it (``model.to_json()``), ``count_params()``, trainable and non-trainable weights, every
  row's output shape, the output and the conv + dense MACs.

Run as a script it (re)writes ``tests/data/keras_catalogue/NAME.json.gz`` for every catalogue model
(``python tests/keras_truth.py [NAME ...]``; needs Keras, a few minutes): building the whole
keras.applications catalogue takes longer than the test suite may, so the suite checks the import
of every stored config against the stored truth, and builds a representative subset live
(``tests/test_keras_live.py``) to prove the stored files are what Keras builds.
"""

from __future__ import annotations

import gzip
import json
import os
import sys

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "keras_catalogue")

CATALOGUE = [
    "ConvNeXtTiny", "ConvNeXtSmall", "ConvNeXtBase", "ConvNeXtLarge", "ConvNeXtXLarge",
    "DenseNet121", "DenseNet169", "DenseNet201",
    "EfficientNetB0", "EfficientNetB1", "EfficientNetB2", "EfficientNetB3", "EfficientNetB4",
    "EfficientNetB5", "EfficientNetB6", "EfficientNetB7",
    "EfficientNetV2B0", "EfficientNetV2B1", "EfficientNetV2B2", "EfficientNetV2B3",
    "EfficientNetV2S", "EfficientNetV2M", "EfficientNetV2L",
    "InceptionResNetV2", "InceptionV3", "MobileNet", "MobileNetV2", "MobileNetV3Small",
    "MobileNetV3Large", "NASNetMobile", "NASNetLarge", "ResNet50", "ResNet101", "ResNet152",
    "ResNet50V2", "ResNet101V2", "ResNet152V2", "VGG16", "VGG19", "Xception",
]
"""Every model of keras.applications that builds offline with ``weights=None``."""

DYNAMIC = {"MobileNetV3Small", "MobileNetV3Large"}
"""Built on ``Input((None, None, 3))`` by default (any size): recorded at their documented 224."""

CONTAINERS = ("Functional", "Sequential", "Model")


def build(keras, name, **kwargs):
    """``keras.applications.<name>(weights=None)`` at its default size (224 for the dynamic ones)."""
    if name in DYNAMIC and "input_shape" not in kwargs:
        kwargs["input_shape"] = (224, 224, 3)
    return getattr(keras.applications, name)(weights=None, **kwargs)


def weights_size(weights) -> int:
    total = 0
    for w in weights:
        n = 1
        for d in w.shape:
            n *= int(d)
        total += n
    return total


def shape(tensor) -> tuple:
    return tuple(int(v) for v in tensor.shape[1:])


def leaves(model, scope="", top=True):
    """``(qualified name, layer)`` for every Keras layer or operator that is not a container,
    nested models entered, their own InputLayers left out (an alias of the tensor fed in). Keras 3
    records the operators applied to symbolic tensors (MobileNetV3's ``x + 3.0``, ConvNeXt's
    ``inputs + x``) as operations of the graph: ``model.operations`` lists them with the layers."""
    for layer in getattr(model, "operations", None) or model.layers:
        name = scope + layer.name
        if type(layer).__name__ in CONTAINERS or (hasattr(layer, "layers") and hasattr(layer, "get_config") and hasattr(layer, "inputs")):
            yield from leaves(layer, name + "/", top=False)
        elif top or type(layer).__name__ != "InputLayer":
            yield name, layer


def textbook_macs(layer) -> int:
    """Multiply-accumulates of one convolution or dense layer, from its own attributes."""
    cls = type(layer).__name__
    if cls not in ("Conv2D", "DepthwiseConv2D", "SeparableConv2D", "Conv2DTranspose", "Dense"):
        return 0
    c_in = int(layer.input.shape[-1])
    out = shape(layer.output)
    if cls == "Dense":
        positions = 1
        for v in out[:-1]:
            positions *= v
        return positions * c_in * layer.units
    kh, kw = layer.kernel_size
    h, w, c_out = out
    if cls == "Conv2D":
        return h * w * c_out * kh * kw * c_in // layer.groups
    if cls == "DepthwiseConv2D":
        return h * w * c_in * layer.depth_multiplier * kh * kw
    if cls == "SeparableConv2D":
        mid = c_in * layer.depth_multiplier
        return h * w * mid * kh * kw + h * w * mid * c_out
    h_in, w_in = shape(layer.input)[:2]
    return h_in * w_in * kh * kw * c_in * c_out  # Conv2DTranspose


def truth(keras, model) -> dict:
    """The record of one model (see the module docstring)."""
    rows = dict(leaves(model))
    return {
        "keras": keras.__version__,
        "name": model.name,
        "config": json.loads(model.to_json()),
        "count_params": int(model.count_params()),
        "trainable": weights_size(model.trainable_weights),
        "non_trainable": weights_size(model.non_trainable_weights),
        "output": list(shape(model.outputs[0])),
        "layers": {name: list(shape(layer.output)) for name, layer in rows.items()},
        "macs": sum(textbook_macs(layer) for layer in rows.values()),
    }


def path_of(name: str) -> str:
    return os.path.join(DATA, f"{name}.json.gz")


def load(name: str) -> dict:
    with gzip.open(path_of(name), "rt", encoding="utf-8") as fh:
        return json.load(fh)


def main(names):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import gc

    import keras

    os.makedirs(DATA, exist_ok=True)
    for name in names or CATALOGUE:
        model = build(keras, name)
        record = truth(keras, model)
        data = json.dumps(record, separators=(",", ":"), sort_keys=True).encode("utf-8")
        tmp = path_of(name) + ".tmp"
        with open(tmp, "wb") as fh:
            fh.write(gzip.compress(data, 9, mtime=0))
        os.replace(tmp, path_of(name))
        print(f"{name}: {len(record['layers'])} rows, {record['count_params']:,} params, {record['macs']:,} MACs", flush=True)
        del model
        keras.backend.clear_session()
        gc.collect()


if __name__ == "__main__":
    main(sys.argv[1:])
