"""Every keras.applications model, imported with ``cnncalc.from_keras``, against Keras itself.

Per model (built once, ``weights=None``, at its default size): the totals against
``count_params()`` and the trainable / non-trainable weights, every layer's output shape against
the Keras layer of the same (qualified) name, one row per Keras layer and no other, and the
conv + dense MACs against the textbook formulas written out here from the live layers'
attributes (independently of cnncalc's kinds). A few models at other sizes without the top, the
TF1-profiler comparison figure of docs/import.md, symbolic sizes and the zoo round trip.
"""

from __future__ import annotations

import gc

import pytest

import cnncalc
from cnncalc import analyze, from_keras, zoo

keras = pytest.importorskip("keras")
pytestmark = pytest.mark.keras

CATALOGUE = [
    "ConvNeXtTiny", "DenseNet121", "DenseNet169", "DenseNet201",
    "EfficientNetB0", "EfficientNetB1", "EfficientNetB2", "EfficientNetB3", "EfficientNetB4",
    "EfficientNetB5", "EfficientNetB6", "EfficientNetB7",
    "EfficientNetV2B0", "EfficientNetV2B1", "EfficientNetV2B2", "EfficientNetV2B3",
    "EfficientNetV2S", "EfficientNetV2M", "EfficientNetV2L",
    "InceptionResNetV2", "InceptionV3", "MobileNet", "MobileNetV2", "MobileNetV3Small",
    "MobileNetV3Large", "NASNetMobile", "NASNetLarge", "ResNet50", "ResNet101", "ResNet152",
    "ResNet50V2", "ResNet101V2", "ResNet152V2", "VGG16", "VGG19", "Xception",
    "ConvNeXtSmall", "ConvNeXtBase", "ConvNeXtLarge", "ConvNeXtXLarge",
]

CONTAINERS = ("Functional", "Sequential", "Model")


def _size(weights):
    total = 0
    for w in weights:
        n = 1
        for d in w.shape:
            n *= int(d)
        total += n
    return total


def _leaves(model, scope="", top=True):
    """``(qualified name, layer)`` for every Keras layer that is not a container, nested models
    entered, their own InputLayers left out (an alias of the tensor fed in). Keras 3 records the
    operators applied to symbolic tensors (MobileNetV3's ``x + 3.0``, ConvNeXt's ``inputs + x``)
    as operations of the graph: ``model.operations`` lists them with the layers."""
    for layer in getattr(model, "operations", model.layers):
        name = scope + layer.name
        if type(layer).__name__ in CONTAINERS or (hasattr(layer, "layers") and hasattr(layer, "get_config") and hasattr(layer, "inputs")):
            yield from _leaves(layer, name + "/", top=False)
        elif top or type(layer).__name__ != "InputLayer":
            yield name, layer


def _shape(tensor):
    return tuple(int(v) for v in tensor.shape[1:])


def textbook_macs(layer) -> int:
    """Multiply-accumulates of one convolution or dense layer, from its own attributes."""
    cls = type(layer).__name__
    if cls not in ("Conv2D", "DepthwiseConv2D", "SeparableConv2D", "Conv2DTranspose", "Dense"):
        return 0
    c_in = int(layer.input.shape[-1])
    out = _shape(layer.output)
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
    h_in, w_in = _shape(layer.input)[:2]
    return h_in * w_in * kh * kw * c_in * c_out  # Conv2DTranspose


def check_against_keras(model):
    spec = from_keras(model)
    a = analyze(spec)
    assert a.totals.params == model.count_params()
    assert a.totals.trainable == _size(model.trainable_weights)
    assert a.totals.non_trainable == _size(model.non_trainable_weights)
    leaves = dict(_leaves(model))
    rows = {r.name: r for r in a.layers}
    assert set(rows) == set(leaves), (set(rows) ^ set(leaves))
    bad = [(n, rows[n].output, _shape(layer.output)) for n, layer in leaves.items() if rows[n].output != _shape(layer.output)]
    assert not bad, bad[:5]
    assert a.output == _shape(model.outputs[0])
    assert a.totals.macs == sum(textbook_macs(layer) for layer in leaves.values())
    assert not [w for w in a.warnings if "not counted" in w]
    return a


DYNAMIC = {"MobileNetV3Small", "MobileNetV3Large"}
"""Built on ``Input((None, None, 3))`` by default (any size): checked at their documented 224."""


@pytest.mark.parametrize("name", CATALOGUE)
def test_every_catalogue_model_matches_keras(name):
    build = getattr(keras.applications, name)
    model = build(weights=None, input_shape=(224, 224, 3)) if name in DYNAMIC else build(weights=None)
    try:
        a = check_against_keras(model)
        assert len(a.layers) == len(list(_leaves(model)))
    finally:
        del model
        keras.backend.clear_session()
        gc.collect()


@pytest.mark.parametrize(
    "name, size",
    [("ResNet50", (160, 160, 3)), ("MobileNetV2", (96, 128, 3)), ("NASNetMobile", (160, 160, 3)), ("EfficientNetB0", (260, 200, 3))],
)
def test_models_without_the_top_at_other_sizes(name, size):
    model = getattr(keras.applications, name)(weights=None, include_top=False, input_shape=size)
    try:
        check_against_keras(model)
    finally:
        keras.backend.clear_session()


def test_xception_at_150_without_the_top_gives_the_figure_docs_compare_with_the_tf1_profiler():
    model = keras.applications.Xception(weights=None, include_top=False, input_shape=(150, 150, 3))
    try:
        a = check_against_keras(model)
        assert a.totals.macs == 1_924_397_456  # docs/import.md; the profiler's float ops / 2: 1,925,897,756
    finally:
        keras.backend.clear_session()


def test_an_imported_net_takes_symbolic_sizes_that_agree_with_the_numbers():
    import sympy

    model = keras.applications.ResNet50(weights=None)
    spec = from_keras(model)
    keras.backend.clear_session()
    numeric = analyze(spec)
    symbolic = analyze(spec, input="H x W x 3")
    H, W = sympy.symbols("H W", integer=True, positive=True)
    assert symbolic.symbolic
    assert sympy.sympify(symbolic.totals.macs).subs({H: 224, W: 224}) == numeric.totals.macs == 3_858_726_912
    assert symbolic.totals.params == numeric.totals.params == 25_636_712  # global pooling: no size in the head


def test_a_model_built_on_any_size_imports_with_symbolic_sizes():
    """MobileNetV3's default input is ``(None, None, 3)``: the import gives H and W as symbols,
    and at 224 x 224 the formulas give what Keras counts for a model built at that size."""
    import sympy

    dynamic = from_keras(keras.applications.MobileNetV3Small(weights=None))
    fixed = keras.applications.MobileNetV3Small(weights=None, input_shape=(224, 224, 3))
    keras.backend.clear_session()
    symbolic = analyze(dynamic)
    assert symbolic.symbolic and {str(s) for s in sympy.sympify(symbolic.totals.macs).free_symbols} == {"H", "W"}
    numeric = analyze(dynamic, input=(224, 224, 3))
    assert numeric.totals.params == fixed.count_params() == symbolic.totals.params == 2_554_968
    H, W = sympy.symbols("H W", integer=True, positive=True)
    assert sympy.sympify(symbolic.totals.macs).subs({H: 224, W: 224}) == numeric.totals.macs


@pytest.mark.parametrize("name", zoo.names())
def test_zoo_round_trip_through_keras(name):
    spec = zoo.get(name)
    ours = analyze(spec)
    back = analyze(from_keras(cnncalc.to_keras(spec)))
    keras.backend.clear_session()
    assert (back.totals.params, back.totals.non_trainable) == (ours.totals.params, ours.totals.non_trainable)
    assert back.totals.macs == ours.totals.macs
    assert back.output == ours.output
