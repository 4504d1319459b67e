"""The analysis engine: counting conventions of docs/design.md on small hand-checked networks."""

import pytest

from cnncalc import analyze, parse, zoo
from cnncalc.kinds import KINDS
from cnncalc.spec import (
    Activation,
    Add,
    AvgPool2D,
    BatchNorm,
    Concat,
    Conv2D,
    Dense,
    Flatten,
    GlobalAvgPool2D,
    Input,
    Layer,
    MaxPool2D,
    PadShortcut,
    Sequential,
    Spec,
    SpecError,
)
from dataclasses import dataclass


def net(*layers, input=(32, 32, 3)):
    return Spec(Sequential((Input(*input), *layers)))


def test_vgg19_reference_totals():
    # docs/design.md: Keras count_params() / torchvision; weights only is the textbook table's count.
    t = analyze(zoo.get("vgg19")).totals
    assert t.params == 143_667_240
    assert t.weights == 143_652_544
    # Activations with the input row, the VGG table's "memory" column.
    assert t.activations == 16_542_184


def test_vgg19_first_rows_of_the_exercise_table():
    rows = analyze(zoo.get("vgg19")).layers
    assert (rows[0].output, rows[0].activations) == ((224, 224, 3), 150_528)
    assert (rows[1].name, rows[1].activations, rows[1].weights) == ("conv1_1", 3_211_264, 1_728)


def test_alexnet_grouped_and_ungrouped():
    # docs/design.md: Keras Conv2D(groups=2) at 227; and without grouping.
    assert analyze(zoo.get("alexnet")).totals.params == 60_965_224
    assert analyze(zoo.get("alexnet-ungrouped")).totals.params == 62_378_344


def test_alexnet_conv2_grouped_weights():
    # 2 x (5x5x48x128 + 128) = 307,456
    row = analyze(zoo.get("alexnet")).row("conv2")
    assert (row.weights, row.biases, row.params) == (5 * 5 * 48 * 256, 256, 307_456)


def test_inception_modules():
    naive = analyze(zoo.get("inception-naive"))
    reduced = analyze(zoo.get("inception-reduced"))
    assert naive.output == (32, 32, 672) and naive.totals.macs == 1_115_684_864
    assert reduced.output == (32, 32, 480) and reduced.totals.macs == 397_410_304
    assert round(naive.totals.macs / reduced.totals.macs, 2) == 2.81


def test_conv_output_size_formula_and_same_padding():
    # floor((n + 2p - d(k-1) - 1)/s) + 1
    a = analyze(net(Conv2D(8, 5, 2, 1, dilation=2)))
    assert a.output == ((32 + 2 - 8 - 1) // 2 + 1,) * 2 + (8,)
    # 'same' gives ceil(n/s), as Keras/TF
    assert analyze(net(Conv2D(8, 3, 2, "same"), input=(33, 33, 3))).output == (17, 17, 8)
    assert analyze(net(Conv2D(8, (3, 5), (1, 2), "valid"))).output == (30, 14, 8)


def test_conv_params_and_macs_with_groups():
    row = analyze(net(Conv2D(16, 3, groups=4, bias=False), input=(8, 8, 8))).row("conv1")
    assert row.weights == 3 * 3 * (8 // 4) * 16 and row.biases == 0
    assert row.macs == 8 * 8 * 16 * 3 * 3 * 2


def test_dense_batchnorm_and_in_place_layers():
    a = analyze(net(Conv2D(4, 3), BatchNorm(), Activation("relu"), Flatten(), Dense(10), input=(4, 4, 2)))
    bn = a.row("bn1")
    assert (bn.weights, bn.biases, bn.non_trainable, bn.params, bn.activations) == (4, 4, 8, 16, 64)
    assert a.row("relu1").activations == 0 and a.row("flatten1").activations == 0
    fc = a.row("fc1")
    assert (fc.weights, fc.biases, fc.macs) == (64 * 10, 10, 640)
    assert a.totals.params == (3 * 3 * 2 * 4 + 4) + 16 + 650


def test_pools_ceil_mode_and_global_pool():
    assert analyze(net(MaxPool2D(3, 2), input=(56, 56, 1))).output == (27, 27, 1)
    # ceil mode as PyTorch / Caffe: ceil((56-3)/2)+1 = 28
    assert analyze(net(MaxPool2D(3, 2, ceil_mode=True), input=(56, 56, 1))).output == (28, 28, 1)
    # PyTorch drops a last window that would start in the right padding
    # (ceil((5 + 2 - 2)/2) + 1 = 4, but window 4 would start at 6 >= 5 + 1)
    assert analyze(net(MaxPool2D(2, 2, padding=1, ceil_mode=True), input=(5, 5, 1))).output == (3, 3, 1)
    assert analyze(net(AvgPool2D(2), GlobalAvgPool2D(), input=(8, 8, 5))).output == (5,)


def test_concat_and_add_rows_count_their_output():
    block = Add((Sequential((Conv2D(3, 3),)), Sequential()), name="res")
    a = analyze(net(block, input=(4, 4, 3)))
    assert a.row("res").activations == 48 and a.row("res/conv1").params == 84
    cat = Concat((Conv2D(2, 1), Conv2D(5, 1)), name="cat")
    assert analyze(net(cat, input=(4, 4, 3))).output == (4, 4, 7)


def test_pad_shortcut_shape():
    a = analyze(net(PadShortcut(32, 2), input=(16, 16, 16)))
    assert a.output == (8, 8, 32) and a.totals.params == 0


def test_rows_sum_to_totals_for_every_zoo_entry():
    for name in zoo.names():
        a = analyze(zoo.get(name))
        for key in ("activations", "weights", "biases", "non_trainable", "macs", "params"):
            assert sum(getattr(r, key) for r in a.layers) == getattr(a.totals, key), (name, key)


def test_numeric_sizes_stay_python_ints():
    a = analyze(zoo.get("vgg19"))
    assert all(type(v) is int for r in a.layers for v in (*r.output, r.params, r.macs, r.activations))


def test_floor_that_drops_pixels_warns_and_names_the_layer():
    a = analyze(zoo.get("alexnet"), input=(224, 224, 3))
    assert a.warnings[0].startswith("layer 'conv1': ")
    assert "an input of 227 fits exactly" in a.warnings[0]
    assert analyze(zoo.get("alexnet")).warnings == ()


def test_symbolic_input_flows_through_the_same_formulas():
    sympy = pytest.importorskip("sympy")
    H, W = sympy.symbols("H W", integer=True, positive=True)
    spec = parse("INPUT-32x32x3 -> CONV3-64 -> CONV3-64 -> POOL2")
    a = analyze(spec, input=(H, W, 3))
    assert sympy.simplify(a.row("conv1").activations - 64 * H * W) == 0
    numeric = analyze(spec, input=(40, 24, 3))
    assert a.totals.activations.subs({H: 40, W: 24}) == numeric.totals.activations
    assert a.totals.params == numeric.totals.params


@pytest.mark.parametrize(
    "layers, input, message",
    [
        ((Conv2D(4, 5, padding="valid"),), (3, 3, 1), "layer 'conv1': kernel 5 is larger than its input of 3 pixels"),
        ((Conv2D(4, 3, 0),), (8, 8, 1), "layer 'conv1': stride must be positive, got 0"),
        ((Conv2D(0, 3),), (8, 8, 1), "layer 'conv1': filters must be positive, got 0"),
        ((Conv2D(6, 3, groups=4),), (8, 8, 8), "groups=4 does not divide its 6 filters"),
        ((Conv2D(8, 3, groups=3),), (8, 8, 8), "groups=3 does not divide its 8 input channels"),
        ((Dense(10),), (8, 8, 1), "layer 'fc1' (Dense) needs a vector input, got 8x8x1"),
        ((Conv2D(4, 3, padding="full"),), (8, 8, 1), "padding must be 'same', 'valid' or pixels"),
        ((Activation("swishy"),), (8, 8, 1), "unknown activation 'swishy'"),
        ((Concat((Conv2D(2, 1), Conv2D(2, 1, 2)), name="cat"),), (8, 8, 1), "layer 'cat' (Concat): branch spatial sizes differ: 8x8x2 vs 4x4x2"),
        ((Add((Conv2D(2, 1), Conv2D(3, 1)), name="res"),), (8, 8, 1), "layer 'res' (Add): branch shapes differ"),
        ((PadShortcut(8, 2),), (8, 8, 16), "cannot shrink 16 channels to 8"),
    ],
)
def test_impossible_layers_raise_one_line_errors(layers, input, message):
    with pytest.raises(SpecError) as err:
        analyze(net(*layers, input=input))
    assert message in str(err.value) and "\n" not in str(err.value)


def test_non_positive_input_and_missing_input():
    with pytest.raises(SpecError, match="input height must be positive"):
        analyze(net(input=(0, 4, 3)))
    with pytest.raises(SpecError, match="has no input size"):
        analyze(Spec(Sequential((Conv2D(3, 3),))))
    assert analyze(Spec(Sequential((Conv2D(3, 3),))), input=(5, 5, 1)).output == (5, 5, 3)


def test_unknown_layer_kind_raises_instead_of_counting_zero():
    @dataclass(frozen=True)
    class Mystery(Layer):
        pass

    assert Mystery not in KINDS
    with pytest.raises(SpecError, match="no counting rule for layer kind Mystery"):
        analyze(net(Mystery(name="m")))


def test_duplicate_names_are_rejected():
    with pytest.raises(SpecError, match="two layers are named 'c'"):
        analyze(net(Conv2D(3, 3, name="c"), Conv2D(3, 3, name="c")))


def test_to_dict_schema():
    d = analyze(zoo.get("vgg19")).to_dict()
    assert d["model"] == "vgg19" and d["input"] == [224, 224, 3]
    assert set(d["totals"]) == {"activations", "weights", "biases", "params", "non_trainable", "macs"}
    first = d["layers"][1]
    assert {k: first[k] for k in ("name", "kind", "output", "weights", "biases", "params", "macs")} == {
        "name": "conv1_1", "kind": "Conv2D", "output": [224, 224, 64], "weights": 1728, "biases": 64, "params": 1792,
        "macs": 224 * 224 * 64 * 27,
    }
