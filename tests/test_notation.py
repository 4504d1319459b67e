"""The arrow notation: grammar, options, round trips and every error message with its column."""

import pytest

from cnncalc import analyze, parse, to_notation
from cnncalc.notation import NotationError, parse_size
from cnncalc.spec import Activation, AvgPool2D, Conv2D, Dense, Dropout, Flatten, GlobalAvgPool2D, MaxPool2D

EXAMPLE = "INPUT-32x32x3 -> [CONV3-32 -> RELU]*2 -> POOL2 -> [CONV3-64 -> RELU]*2 -> POOL2 -> FC-512 -> RELU -> FCS"


def kinds(spec):
    return [type(layer).__name__ for layer in spec.root.layers]


def test_issue_example_expands_repetitions_and_inserts_flatten():
    spec = parse(EXAMPLE)
    assert kinds(spec) == [
        "Input", "Conv2D", "Activation", "Conv2D", "Activation", "MaxPool2D",
        "Conv2D", "Activation", "Conv2D", "Activation", "MaxPool2D",
        "Flatten", "Dense", "Activation", "Dense", "Activation",
    ]
    a = analyze(spec)
    # 896 + 9,248 + 18,496 + 36,928 + (8*8*64*512 + 512) + (512*10 + 10)
    assert a.totals.params == 896 + 9_248 + 18_496 + 36_928 + 2_097_664 + 5_130
    assert a.output == (10,)


def test_defaults():
    spec = parse("INPUT-8x8x1 -> CONV-32 -> POOL -> MAXPOOL3 -> AVGPOOL2 -> FCS", classes=7)
    conv, pool, pool3, avg = spec.root.layers[1:5]
    assert conv == Conv2D(32, 3, 1, "same")
    assert pool == MaxPool2D(2) and pool3 == MaxPool2D(3) and avg == AvgPool2D(2)
    assert spec.root.layers[-2] == Dense(7) and spec.root.layers[-1] == Activation("softmax")


def test_every_option():
    spec = parse("INPUT-64x64x4 -> CONV5-8(s=2, p=valid, d=2, g=4, bias=false) -> CONV3-8(p=1) -> POOL3(s=2, p=1, ceil=true) -> DROPOUT(0.25) -> FC-4(bias=false)")
    layers = spec.root.layers
    assert layers[1] == Conv2D(8, 5, 2, "valid", 2, 4, False)
    assert layers[2] == Conv2D(8, 3, padding=1)
    assert layers[3] == MaxPool2D(3, 2, 1, True)
    assert layers[4] == Dropout(0.25)
    assert layers[6] == Dense(4, bias=False)


def test_simple_layers_and_case_and_whitespace():
    a = parse("input-16x16x3->conv3-8->bn->relu->lrn->tanh->sigmoid->gap->fc-3->softmax")
    b = parse("  INPUT - 16 x 16 x 3  ->  CONV3 - 8 -> BN -> RELU -> LRN -> TANH -> SIGMOID -> GAP -> FC - 3 -> SOFTMAX ")
    assert a.root == b.root
    assert kinds(a)[2:5] == ["BatchNorm", "Activation", "LRN"]
    assert isinstance(a.root.layers[7], GlobalAvgPool2D) and not any(isinstance(layer, Flatten) for layer in a.root.layers)


@pytest.mark.parametrize("repeat", ["]*2", "]x2", "] x 2", "]X2", "] * 2"])
def test_repetition_forms(repeat):
    spec = parse(f"INPUT-8x8x1 -> [CONV3-4 -> RELU{repeat} -> FCS")
    assert kinds(spec).count("Conv2D") == 2


def test_nested_repetition():
    spec = parse("INPUT-32x32x3 -> [[CONV3-4 -> RELU]*2 -> POOL2]*3 -> FCS")
    assert kinds(spec).count("Conv2D") == 6 and kinds(spec).count("MaxPool2D") == 3


def test_symbolic_input_in_notation():
    spec = parse("INPUT-HxWx3 -> CONV3-64")
    assert str(spec.input.height) == "H" and spec.input.channels == 3
    assert parse_size("H x W x 3")[2] == 3


def test_round_trip():
    for text in [
        EXAMPLE,
        "INPUT-227x227x3 -> CONV11-96(s=4,p=valid) -> RELU -> LRN -> POOL3(s=2) -> CONV5-256(p=2,g=2) -> GAP -> FC-10 -> SOFTMAX",
        "INPUT-32x32x3 -> CONV3-16(d=2,bias=false) -> BN -> AVGPOOL2(ceil=true) -> DROPOUT(0.3) -> FLATTEN -> FC-10",
    ]:
        spec = parse(text)
        assert parse(to_notation(spec)).root == spec.root


@pytest.mark.parametrize(
    "text, message",
    [
        ("INPUT-32x32x3 -> BLAH", "unknown layer 'BLAH' at column 18"),
        ("INPUT-32x32x3 -> CONV3-32(q=1)", "unknown option 'q' at column 18"),
        ("INPUT-32x32x3 -> POOL2(g=2)", "option 'g' does not apply to POOL at column 18"),
        ("INPUT-32x32x3 -> CONV3-32(s=two)", "option stride takes an integer, got 'two' at column 18"),
        ("INPUT-32x32x3 -> CONV3-32(bias=maybe)", "option bias takes true or false, got 'maybe' at column 18"),
        ("INPUT-32x32x3 -> CONV3", "CONV filters expects an integer after '-' (e.g. CONV-64) at column 18"),
        ("INPUT-32x32x3 -> FC", "FC units expects an integer after '-' (e.g. FC-64) at column 18"),
        ("INPUT-32x32x3 -> RELU-3", "RELU takes no '-' argument at column 18"),
        ("INPUT-32x32x3 -> RELU3", "unknown layer 'RELU3' at column 18"),
        ("INPUT -> CONV3-3", "INPUT needs a size such as INPUT-32x32x3, INPUT-16x64 or INPUT-100 at column 1"),
        ("INPUT-32x32 -> CONV3-3", "CONV3-3 needs a spatial input, but INPUT-32x32 is not an HxWxC image (column 16)"),
        ("INPUT-100 -> POOL2", "POOL2 needs a spatial input, but INPUT-100 is a vector (column 14)"),
        ("INPUT-1x2x3x4x5x6x7x8x9 -> FC-2", "cannot read size '1x2x3x4x5x6x7x8x9': 9 sizes, at most 8"),
        ("[CONV3-32", "missing ']' at column 10"),
        ("INPUT-32x32x3 -> CONV3-32 ]", "unmatched ']' at column 27"),
        ("INPUT-32x32x3 -> [CONV3-32]", "expected '*' or 'x' and a count after ']' at column 28"),
        ("INPUT-32x32x3 -> [CONV3-32]*0", "repeat count must be positive, got 0 at column 29"),
        ("INPUT-32x32x3 CONV3-32", "expected '->' before 'CONV3-32' at column 15"),
        ("INPUT-32x32x3 -> ", "expected a layer at column 17"),
        ("INPUT-32x32x3 -> CONV3-32 -> $", "unexpected '$' at column 30"),
        ("INPUT-32x32x3 -> CONV3-32(s=2", "unclosed '(' at column 26"),
        ("CONV3-3 -> INPUT-8x8x1", "INPUT can only start the network (column 12)"),
        ("INPUT-8x8x1 -> FC-3 -> CONV3-3", "CONV3-3 needs a spatial input, but follows FC/GAP/FLATTEN (column 24)"),
        ("", "empty network"),
    ],
)
def test_error_messages_name_the_column(text, message):
    with pytest.raises(NotationError) as err:
        parse(text)
    assert message in str(err.value)
    assert "\n" not in str(err.value)
