"""Keras models built live and imported with ``cnncalc.from_keras``: a representative subset of the
catalogue (every layer class it uses appears), other sizes without the top, the TF1-profiler
figure of docs/import.md, symbolic sizes and the zoo round trip. The whole catalogue is checked
from stored configs in ``tests/test_keras_catalogue.py``; the first test here proves those stored
records are what this Keras builds.
"""

from __future__ import annotations

import gc
import importlib.util
import json
import os

import pytest

import cnncalc
from cnncalc import analyze, from_keras

keras = pytest.importorskip("keras")
pytestmark = pytest.mark.keras

_spec = importlib.util.spec_from_file_location("keras_truth", os.path.join(os.path.dirname(__file__), "keras_truth.py"))
keras_truth = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(keras_truth)

LIVE = ["MobileNetV3Small", "EfficientNetB0", "ConvNeXtTiny"]
"""Built at their default size: operators on tensors, Rescaling, Normalization, SE gates,
ZeroPadding2D, DepthwiseConv2D, LayerNormalization, LayerScale, Dense on a rank-4 tensor. With
the other sizes below (NASNetMobile's Cropping2D, SeparableConv2D and Concatenate) they cover the
classes of the catalogue; every model is checked from its stored record."""


def check_against_keras(model):
    """The import of a live model against the model: totals, every row's shape, MACs."""
    record = keras_truth.truth(keras, model)
    a = analyze(from_keras(model))
    assert a.totals.params == record["count_params"] == model.count_params()
    assert (a.totals.trainable, a.totals.non_trainable) == (record["trainable"], record["non_trainable"])
    rows = {r.name: r for r in a.layers}
    assert set(rows) == set(record["layers"]), sorted(set(rows) ^ set(record["layers"]))[:5]
    bad = [(n, rows[n].output, tuple(s)) for n, s in record["layers"].items() if rows[n].output != tuple(s)]
    assert not bad, bad[:5]
    assert list(a.output) == record["output"]
    assert a.totals.macs == record["macs"]
    assert not a.uncounted
    return a, record


@pytest.mark.slow  # each builds a catalogue model (1-2 s of CPU); the stored records are checked quickly elsewhere
@pytest.mark.parametrize("name", LIVE)
def test_live_models_match_keras_and_their_stored_records(name):
    keras.backend.clear_session()  # Keras names layers from global counters: the records' names need a fresh start
    model = keras_truth.build(keras, name)
    try:
        _, record = check_against_keras(model)
        stored = keras_truth.load(name)
        # the stored record is what this Keras builds (else: python tests/keras_truth.py NAME)
        assert {k: record[k] for k in ("count_params", "non_trainable", "output", "macs")} == {k: stored[k] for k in ("count_params", "non_trainable", "output", "macs")}
        assert record["layers"] == stored["layers"]
        # what model.to_json() writes is what a .keras file's config.json holds: the same rows
        from_json = analyze(cnncalc.importers.keras.from_config(json.loads(model.to_json())))
        assert [r.to_dict() for r in from_json.layers] == [r.to_dict() for r in analyze(from_keras(model)).layers]
    finally:
        del model
        keras.backend.clear_session()
        gc.collect()


@pytest.mark.slow  # each builds a catalogue model (1-3 s of CPU)
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


@pytest.mark.slow  # builds a catalogue model
def test_xception_at_150_without_the_top_gives_the_figure_docs_compare_with_the_tf1_profiler():
    model = keras.applications.Xception(weights=None, include_top=False, input_shape=(150, 150, 3))
    try:
        a, _ = check_against_keras(model)
        assert a.totals.macs == 1_924_397_456  # docs/import.md; the profiler's float ops / 2: 1,925,897,756
    finally:
        keras.backend.clear_session()


def test_an_imported_net_takes_symbolic_sizes_that_agree_with_the_numbers():
    import sympy

    spec = cnncalc.importers.keras.from_config(keras_truth.load("ResNet50")["config"])
    numeric = analyze(spec)
    symbolic = analyze(spec, input="H x W x 3")
    H, W = sympy.symbols("H W", integer=True, positive=True)
    assert symbolic.symbolic
    # Keras' (Caffe's) ResNet50 puts the stride in the first 1x1 of a stage: 3.858 G, not torchvision's 4.09 G
    assert sympy.sympify(symbolic.totals.macs).subs({H: 224, W: 224}) == numeric.totals.macs == 3_857_973_248
    assert symbolic.totals.params == numeric.totals.params == 25_636_712  # global pooling: no size in the head


@pytest.mark.slow  # builds a catalogue model
def test_a_model_built_on_any_size_imports_with_symbolic_sizes():
    """MobileNetV3's default input is ``(None, None, 3)``: the import gives H and W as symbols,
    and at 224 x 224 the formulas give what Keras counts for a model built at that size."""
    import sympy

    dynamic = from_keras(keras.applications.MobileNetV3Small(weights=None))
    keras.backend.clear_session()
    fixed = keras_truth.load("MobileNetV3Small")
    symbolic = analyze(dynamic)
    assert symbolic.symbolic and {str(s) for s in sympy.sympify(symbolic.totals.macs).free_symbols} == {"H", "W"}
    numeric = analyze(dynamic, input=(224, 224, 3))
    assert numeric.totals.params == fixed["count_params"] == symbolic.totals.params == 2_554_968
    assert numeric.totals.macs == fixed["macs"]
    H, W = sympy.symbols("H W", integer=True, positive=True)
    assert sympy.sympify(symbolic.totals.macs).subs({H: 224, W: 224}) == numeric.totals.macs
