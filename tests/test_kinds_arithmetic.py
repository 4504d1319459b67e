"""The kinds ONNX graphs need between their layers: Resize (upsampling), Elementwise and Binary
arithmetic. Shapes, parameters (none), MACs (none) and each preset's count, from their formulas."""

from __future__ import annotations

import pytest

from cnncalc import analyze
from cnncalc.conventions import get
from cnncalc.kinds import Binary, Conv2D, Elementwise, Input, Resize
from cnncalc.sizes import parse_size
from cnncalc.spec import Graph, Node, Sequential, Spec, SpecError


def _chain(*layers, input=(8, 8, 3)):
    return Spec(Sequential((Input(*input, name="x"), *layers)))


@pytest.mark.parametrize(
    "layer, output",
    [
        (Resize(scale=2), (16, 16, 3)),
        (Resize(scale=(2, 3), mode="linear"), (16, 24, 3)),
        (Resize(scale=0.5), (4, 4, 3)),
        (Resize(scale=1.5), (12, 12, 3)),
        (Resize(size=(5, 7)), (5, 7, 3)),
    ],
)
def test_resize_shapes(layer, output):
    a = analyze(_chain(layer))
    row = a.layers[-1]
    assert (row.output, row.params, row.macs, row.activations) == (output, 0, 0, output[0] * output[1] * output[2])


def test_resize_symbolic_and_refusals():
    h, w, _ = parse_size("H x W x 3")
    a = analyze(_chain(Resize(scale=2)), input=(h, w, 3))
    assert a.output == (2 * h, 2 * w, 3)
    for bad, message in ((Resize(), "give a scale or a size"), (Resize(scale=2, size=(4, 4)), "not both"), (Resize(scale=2, mode="magic"), "unknown mode"), (Resize(scale=0), "positive")):
        with pytest.raises(SpecError, match=message):
            analyze(_chain(bad))


def test_resize_counts_under_the_presets():
    """fvcore: upsample_nearest2d one per output element, upsample_bilinear2d four; ptflops'
    upsample hook one per output element in any mode; the others count none."""
    nearest = analyze(_chain(Resize(scale=2)))
    linear = analyze(_chain(Resize(scale=2, mode="linear")))
    out = 16 * 16 * 3
    assert (get("fvcore").total(nearest), get("fvcore").total(linear)) == (out, 4 * out)
    assert (get("ptflops").total(nearest), get("ptflops").total(linear)) == (out, out)
    assert get("macs").total(linear) == get("tf-profiler").total(linear) == 0


def test_elementwise_keeps_the_shape_and_adds_nothing():
    a = analyze(_chain(Conv2D(4, 3), Elementwise("exp"), Elementwise("neg")))
    exp, neg = a.layers[2:]
    assert (exp.output, exp.params, exp.macs, exp.activations) == ((8, 8, 4), 0, 0, 0)
    assert get("tf-profiler").count(neg) == 8 * 8 * 4 and get("tf-profiler").count(exp) == 0  # TF lists Neg, not Exp
    assert exp.rf == a.layers[1].rf == 3  # point-wise: the field passes through
    with pytest.raises(SpecError, match="unknown function 'magic'"):
        analyze(_chain(Elementwise("magic")))


def _graph(*nodes):
    return Spec(Graph((Node(Input(8, 8, 3, name="x")), *nodes)))


def test_binary_broadcasts_and_merges_fields():
    from cnncalc.kinds import GlobalAvgPool2D

    spec = _graph(
        Node(Conv2D(3, 3, name="c"), ("x",)),
        Node(GlobalAvgPool2D(keepdims=True, name="g"), ("c",)),
        Node(Binary("sub", name="centred"), ("c", "g")),
        Node(Binary("div", name="ratio"), ("centred", "x")),
    )
    a = analyze(spec)
    assert a.row("centred").output == a.row("ratio").output == (8, 8, 3)
    assert a.row("ratio").params == a.row("ratio").macs == 0
    assert get("tf-profiler").count(a.row("ratio")) == 8 * 8 * 3  # RealDiv: one per output element
    assert a.row("ratio").rf == 3  # the widest input's field (the convolution's)


def test_binary_refuses_shapes_that_do_not_broadcast():
    spec = _graph(Node(Conv2D(4, 3, name="c"), ("x",)), Node(Binary("max", name="m"), ("c", "x")))
    with pytest.raises(SpecError, match="do not broadcast"):
        analyze(spec)
