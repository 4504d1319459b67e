"""The Keras bridge: every spec builds a Keras model whose counts equal the calculator's.

Given a network, the calculator's per-layer trainable / non-trainable parameters and output
shapes must equal those of the Keras model built from the same spec (``count_params()``, the
layer's output shape); custom layers (LRN, the option-A shortcut, -inf padding, subsampling)
compute what their papers say and survive a ``.keras`` save/load round trip.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys

import numpy as np
import pytest

pytestmark = pytest.mark.keras
keras = pytest.importorskip(
    "keras", reason="the Keras bridge tests need Keras 3 and a backend: pip install 'cnncalc[keras]'"
)

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import cnncalc  # noqa: E402
from cnncalc import analyze, parse, zoo  # noqa: E402
from cnncalc.keras_bridge import (  # noqa: E402
    ConstantPadding2D,
    LocalResponseNormalization,
    Subsample2D,
    ZeroPaddedShortcut,
    keras_name,
    spec_name,
    to_keras,
)
from cnncalc.keras_check import check, run_check  # noqa: E402
from cnncalc.report import render_check as render  # noqa: E402
from cnncalc.spec import (  # noqa: E402
    LRN,
    Activation,
    Add,
    BatchNorm,
    Concat,
    Conv2D,
    Input,
    MaxPool2D,
    PadShortcut,
    Sequential,
    Spec,
    SpecError,
    sequential,
)


def _assert_agrees(result):
    assert result.ok, "\n" + render(result, "text")
    assert result.totals.ours == result.totals.keras


# --------------------------------------------------------------------------------------------
# Names
# --------------------------------------------------------------------------------------------


def test_name_mapping_is_reversible():
    for name in ("conv1", "inception_3a/5x5", "conv1/7x7_s2", "stage1_block2/bn1", "a/b/c"):
        assert "/" not in keras_name(name)
        assert spec_name(keras_name(name)) == name
    assert keras_name("inception_3a/5x5") == "inception_3a.5x5"


def test_every_analysis_row_is_the_keras_layer_of_the_same_name():
    spec = zoo.get("inception-reduced", input=(8, 8, 16))
    model = to_keras(spec)
    for row in analyze(spec).layers:
        layer = model.get_layer(keras_name(row.name))
        assert tuple(layer.output.shape[1:]) == row.output
    assert model.get_layer("inception.3x3_reduce").count_params() == 1 * 1 * 16 * 128 + 128


def test_a_dot_in_a_spec_name_is_refused():
    spec = Spec(sequential(Input(8, 8, 3), Conv2D(4, name="conv.1")))
    with pytest.raises(SpecError, match="may not contain '.'"):
        to_keras(spec)


def test_symbolic_sizes_are_refused_with_one_line():
    with pytest.raises(SpecError, match="numeric input size"):
        to_keras(parse("INPUT-H x W x 3 -> CONV3-8"))


def test_to_keras_is_re_exported_and_names_the_model():
    spec = parse("INPUT-8x8x1 -> FCS")
    assert cnncalc.to_keras is to_keras
    assert to_keras(spec).name == "INPUT-8x8x1_FCS"
    assert to_keras(spec, name="tiny").name == "tiny"


# --------------------------------------------------------------------------------------------
# The zoo: every entry, per layer and in total
# --------------------------------------------------------------------------------------------


def _small_input(name):
    """The smallest square input (keeping the channels) the architecture accepts, up to its default.

    Parameters of convolutional layers do not depend on the input size, so small inputs check
    the same counts faster; a Flatten -> Dense shrinks consistently on both sides.
    """
    default = zoo.get(name).input.shape
    for n in (32, 64, 96, 128):
        if n * n >= default[0] * default[1]:
            break
        try:
            analyze(zoo.get(name, input=(n, n, default[2])))
        except SpecError:
            continue
        return (n, n, default[2])
    return default


SLOW_ZOO = {"resnet110", "resnet50"}
"""Zoo entries whose Keras build costs over a second of CPU (docs/testing.md): slow."""


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n in SLOW_ZOO else n for n in zoo.names()])
def test_zoo_entry_agrees_with_keras_per_layer_and_imports_back(name):
    spec = zoo.get(name, input=_small_input(name))
    model = to_keras(spec)
    _assert_agrees(check(spec, model=model))
    # the round trip: the Keras model read back (cnncalc.from_keras) counts as the spec does
    ours, back = analyze(spec), analyze(cnncalc.from_keras(model))
    assert (back.totals.params, back.totals.non_trainable, back.totals.macs) == (ours.totals.params, ours.totals.non_trainable, ours.totals.macs)
    assert back.output == ours.output


# Reference totals from docs/design.md, all Keras count_params() (entries not registered yet skip).
REFERENCE = [
    ("vgg19", {}, 143_667_240, 0),
    ("alexnet", {}, 60_965_224, 0),
    ("alexnet-ungrouped", {}, 62_378_344, 0),
    ("resnet44", {"shortcut": "B"}, 665_994, 3_168),
    ("minigooglenet", {}, 1_654_522, 3_424),
]


SLOW_REFERENCE = {"vgg19", "resnet44-B"}
"""Reference builds that cost over a second of CPU (docs/testing.md): slow."""


def _reference_id(entry):
    return entry[0] + "".join(f"-{v}" for v in entry[1].values())


@pytest.mark.parametrize(
    "name, options, params, non_trainable",
    [pytest.param(*r, id=_reference_id(r), marks=[pytest.mark.slow] if _reference_id(r) in SLOW_REFERENCE else []) for r in REFERENCE],
)
def test_reference_totals_at_full_size(name, options, params, non_trainable):
    if name not in zoo.names():
        pytest.skip(f"zoo entry '{name}' is not registered on this branch yet")
    result = check(zoo.get(name, **options))  # builds the model; no inference on big models
    keras.backend.clear_session(free_memory=True)
    _assert_agrees(result)
    assert result.totals.keras.params == params
    assert result.totals.keras.non_trainable == non_trainable


def test_resnet44_option_a_trainable_parameters():
    if "resnet44" not in zoo.names():
        pytest.skip("zoo entry 'resnet44' is not registered on this branch yet")
    result = check(zoo.get("resnet44"))
    _assert_agrees(result)
    assert result.totals.keras.trainable == 658_586  # akamaster/pytorch_resnet_cifar10


# --------------------------------------------------------------------------------------------
# Random sequential networks in the arrow notation
# --------------------------------------------------------------------------------------------


@st.composite
def notations(draw):
    """A valid random network: convs (kernel 1-7, stride 1-2, same/valid/pixels), pools, FC layers."""
    h, w, c = draw(st.integers(5, 20)), draw(st.integers(5, 20)), draw(st.integers(1, 3))
    parts = [f"INPUT-{h}x{w}x{c}"]
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(("conv", "conv", "conv", "pool", "avgpool", "bn", "relu")))
        if kind == "conv":
            k, s = draw(st.integers(1, 7)), draw(st.integers(1, 2))
            pad = draw(st.sampled_from(("same", "valid", 0, 1, 2)))
            p = 0 if pad in ("same", "valid") else pad
            if pad != "same" and k > min(h, w) + 2 * p:
                pad, p = "same", 0
            parts.append(f"CONV{k}-{draw(st.integers(1, 8))}(s={s},p={pad})")
            if pad == "same":
                h, w = -(-h // s), -(-w // s)
            else:
                h, w = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
        elif kind in ("pool", "avgpool"):
            k = draw(st.integers(1, min(3, h, w)))
            ceil = draw(st.booleans())
            parts.append(f"{kind.upper()}{k}" + ("(ceil=true)" if ceil else ""))
            if ceil:
                h, w = -(-(h - k) // k) + 1, -(-(w - k) // k) + 1
            else:
                h, w = (h - k) // k + 1, (w - k) // k + 1
        else:
            parts.append(kind.upper())
    if draw(st.booleans()):
        parts.append("GAP")
    for _ in range(draw(st.integers(0, 2))):
        parts.append(f"FC-{draw(st.integers(1, 16))}")
        parts.append(draw(st.sampled_from(("RELU", "TANH", "DROPOUT(0.3)"))))
    parts.append("FCS")
    return " -> ".join(parts)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(notations())
def test_random_sequential_networks_agree_with_keras(text):
    spec = parse(text)
    analysis = analyze(spec)
    model = to_keras(spec)
    assert model.count_params() == analysis.totals.params, text
    assert tuple(model.output.shape[1:]) == analysis.output, text
    _assert_agrees(check(spec, model=model))


# --------------------------------------------------------------------------------------------
# Custom layers: numerics
# --------------------------------------------------------------------------------------------


def _lrn_reference(a, n=5, k=2.0, alpha=1e-4, beta=0.75):
    """Krizhevsky et al. 2012, section 3.3: b_i = a_i / (k + alpha sum_{j=i-n/2}^{i+n/2} a_j^2)^beta."""
    channels = a.shape[-1]
    b = np.empty_like(a)
    for i in range(channels):
        lo, hi = max(0, i - n // 2), min(channels - 1, i + n // 2)
        b[..., i] = a[..., i] / (k + alpha * np.sum(a[..., lo : hi + 1] ** 2, axis=-1)) ** beta
    return b


@pytest.mark.parametrize("k, alpha, beta", [(2.0, 1e-4, 0.75), (1.0, 0.5, 0.75), (2.0, 0.1, 0.5)])
def test_lrn_is_alexnets_formula(k, alpha, beta):
    a = np.random.default_rng(0).normal(0, 3, size=(2, 3, 4, 9)).astype("float32")
    layer = LocalResponseNormalization(depth_radius=2, bias=k, alpha=alpha, beta=beta)
    got = keras.ops.convert_to_numpy(layer(a))
    np.testing.assert_allclose(got, _lrn_reference(a, 5, k, alpha, beta), rtol=1e-5, atol=1e-6)
    assert layer.count_params() == 0


def test_lrn_matches_tensorflow_when_it_is_the_backend():
    if keras.backend.backend() != "tensorflow":
        pytest.skip("compares with tf.nn.local_response_normalization")
    import tensorflow as tf

    a = np.random.default_rng(1).normal(0, 3, size=(1, 2, 2, 7)).astype("float32")
    got = keras.ops.convert_to_numpy(LocalResponseNormalization(2, 1.0, 0.2, 0.75)(a))
    want = tf.nn.local_response_normalization(a, depth_radius=2, bias=1.0, alpha=0.2, beta=0.75).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_pad_shortcut_subsamples_and_zero_pads_channels():
    x = np.random.default_rng(2).normal(size=(2, 5, 5, 3)).astype("float32")
    got = keras.ops.convert_to_numpy(ZeroPaddedShortcut(filters=8, stride=2)(x))
    # He et al. option A as akamaster: F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, p, p)), here 2 + 3.
    want = np.pad(x[:, ::2, ::2, :], [(0, 0), (0, 0), (0, 0), (2, 3)])
    assert got.shape == (2, 3, 3, 8)
    np.testing.assert_array_equal(got, want)


def _max_pool_reference(x, k, s, pad, extra=0):
    """PyTorch's max pool on one channel: padding never wins (it is -inf)."""
    padded = np.pad(x, [(pad, pad + extra), (pad, pad + extra)], constant_values=-np.inf)
    out = (padded.shape[0] - k) // s + 1
    return np.array([[padded[i * s : i * s + k, j * s : j * s + k].max() for j in range(out)] for i in range(out)])


def test_max_pool_padding_is_minus_infinity_and_ceil_mode_adds_a_window():
    x = -np.arange(1, 37, dtype="float32").reshape(6, 6)  # all negative: zero padding would win
    for notation, pad, extra in (("POOL3(s=2,p=1)", 1, 0), ("POOL3(s=2,ceil=true)", 0, 1)):
        spec = parse(f"INPUT-6x6x1 -> {notation}")
        model = to_keras(spec)
        got = keras.ops.convert_to_numpy(model(x[None, :, :, None]))[0, :, :, 0]
        assert got.shape == analyze(spec).output[:2] == (3, 3)
        np.testing.assert_array_equal(got, _max_pool_reference(x, 3, 2, pad, extra))
        assert any(isinstance(layer, ConstantPadding2D) for layer in model.layers)


def test_strided_dilated_conv_is_tensorflows_same_convolution():
    # Keras refuses strides > 1 with dilation > 1; the bridge pads, convolves at stride 1, subsamples.
    spec = parse("INPUT-9x9x1 -> CONV3-1(s=2,d=2,bias=false)")
    model = to_keras(spec)
    assert tuple(model.output.shape[1:]) == analyze(spec).output == (5, 5, 1)
    kernel = keras.ops.convert_to_numpy(model.get_layer("conv1").kernel)[:, :, 0, 0]
    x = np.random.default_rng(3).normal(size=(9, 9)).astype("float32")
    # TensorFlow 'same': output ceil(9/2) = 5, total padding (5-1)*2 + 5 - 9 = 4, 2 before.
    padded = np.pad(x, 2)
    want = np.array([[sum(padded[2 * i + 2 * a, 2 * j + 2 * b] * kernel[a, b] for a in range(3) for b in range(3)) for j in range(5)] for i in range(5)])
    got = keras.ops.convert_to_numpy(model(x[None, :, :, None]))[0, :, :, 0]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    assert [type(layer) for layer in model.layers][-1] is Subsample2D


def _custom_spec():
    block = Add(
        (
            Sequential((Conv2D(8, 3, 2, 1, bias=False, name="conv"), BatchNorm(epsilon=1e-5, momentum=0.9, name="bn"))),
            Sequential((PadShortcut(8, 2, name="shortcut"),)),
        ),
        name="block",
    )
    layers = (
        Input(12, 12, 4, name="input"),
        Conv2D(4, 3, 2, dilation=2, name="dilated"),
        LRN(name="norm"),
        MaxPool2D(3, 1, 1, name="pool"),
        Concat((Sequential((Conv2D(2, 1, name="1x1"),)), Sequential(())), name="mix"),
        block,
        Activation("relu", name="relu"),
    )
    return Spec(Sequential(layers), model="custom_layers")


def test_every_layer_kind_in_one_model_agrees():
    result = check(_custom_spec())
    _assert_agrees(result)
    names = {row.name: row.keras_layers for row in result.rows}
    assert names["dilated"] == ("dilated.pad", "dilated", "dilated.subsample")
    assert names["pool"] == ("pool.pad", "pool")
    assert names["block/shortcut"] == ("block.shortcut",)


def test_save_and_load_round_trip_with_the_custom_layers(tmp_path):
    model = to_keras(_custom_spec())
    x = np.random.default_rng(4).normal(size=(2, 12, 12, 4)).astype("float32")
    before = keras.ops.convert_to_numpy(model(x))
    path = tmp_path / "custom.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in model.layers]
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded(x)), before, rtol=1e-6, atol=1e-6)
    kinds = {type(layer) for layer in loaded.layers}
    assert {LocalResponseNormalization, ZeroPaddedShortcut, ConstantPadding2D, Subsample2D} <= kinds


# --------------------------------------------------------------------------------------------
# The check's report and the CLI
# --------------------------------------------------------------------------------------------

NOTATION = "INPUT-28x28x1 -> CONV5-12(p=valid) -> RELU -> POOL2 -> FCS"


def test_cli_check_keras_json_agrees_and_exits_zero():
    from cnncalc.cli import main

    out = io.StringIO()
    assert main([NOTATION, "--check-keras", "--format", "json"], out=out) == 0
    data = json.loads(out.getvalue())
    assert data["ok"] and data["mismatches"] == []
    assert data["totals"]["ours"] == data["totals"]["keras"] == {"output": [10], "trainable": 17_602, "non_trainable": 0, "params": 17_602}
    assert [row["name"] for row in data["layers"]] == ["input", "conv1", "relu1", "pool1", "flatten1", "fc1", "softmax1"]


def test_cli_check_keras_text_table():
    from cnncalc.cli import main

    out = io.StringIO()
    assert main([NOTATION, "--check-keras"], out=out) == 0
    text = out.getvalue()
    assert "conv1     Conv2D      24x24x12        24x24x12          312                312  OK" in text
    assert text.rstrip().endswith("output 10")


def test_a_mismatch_is_shown_row_by_row_and_exits_one(monkeypatch):
    other = parse("INPUT-28x28x1 -> CONV5-13(p=valid) -> RELU -> POOL2 -> FCS -> FC-4")
    monkeypatch.setattr("cnncalc.keras_check.to_keras", lambda spec: to_keras(other))
    result = check(parse(NOTATION))
    assert not result.ok
    bad = {row.name: row.differs for row in result.mismatches}
    assert bad == {
        "conv1": ("output", "trainable"),
        "relu1": ("output",),
        "pool1": ("output",),
        "flatten1": ("output",),
        "fc1": ("trainable",),
        "fc2": ("missing",),  # only in Keras
        "total": ("output", "trainable"),
    }
    text = render(result, "text")
    assert "MISMATCH: 7 of 9 rows differ" in text
    assert text.count("MISMATCH (missing)") == 2  # in the table and again below it
    out = io.StringIO()
    assert run_check(parse(NOTATION), "markdown", out) == 1
    assert "| conv1 " in out.getvalue().split("MISMATCH: ")[1]
    assert json.loads(render(result, "json"))["mismatches"] == list(bad)


@pytest.mark.parametrize("fmt", ["latex", "csv"])
def test_other_formats_render(fmt):
    text = render(check(parse(NOTATION)), fmt)
    assert "conv1" in text and "OK" in text


def test_plain_table_never_imports_keras():
    code = (
        "import io, sys; from cnncalc.cli import main; "
        "assert main(['vgg19', '--table'], out=io.StringIO()) == 0; "
        "bad = [m for m in ('keras', 'tensorflow', 'jax') if m in sys.modules]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
