"""--explain: worked arithmetic recomputed by the analysis' own Rule functions."""

import io

import pytest

import cnncalc
from cnncalc import zoo
from cnncalc.cli import main
from cnncalc.explain import Term, explain, render


@pytest.mark.parametrize("model", ["alexnet", "alexnet-ungrouped", "vgg11", "vgg19", "inception-naive", "inception-reduced"])
def test_explained_values_equal_the_numeric_columns(model):
    a = cnncalc.analyze(zoo.get(model))
    by_name = {e.name: e for e in explain(a)}
    for row in a.layers:
        if row.name not in by_name:
            assert row.activations == row.params == row.macs == 0
            continue
        e = by_name[row.name]
        for quantity in ("activations", "weights", "biases", "params", "macs"):
            expected = getattr(row, quantity)
            if expected:
                assert e.value(quantity) == expected, (row.name, quantity)


def test_alexnet_grouped_conv2_reads_per_gpu():
    e = {x.name: x for x in explain(cnncalc.analyze(zoo.get("alexnet")))}["conv2"]
    assert e.text("params") == "2 x (5x5x48x128 + 128)"
    assert e.value("params") == 307_456
    assert e.text("macs") == "27x27x2x5x5x48x128" and e.value("macs") == 223_948_800


def test_vgg19_conv2_1_activations():
    e = {x.name: x for x in explain(cnncalc.analyze(zoo.get("vgg19")))}["conv2_1"]
    assert (e.text("activations"), e.value("activations")) == ("112x112x128", 1_605_632)
    assert e.text("weights") == "3x3x64x128"


def test_output_size_is_explained_with_the_floor():
    e = {x.name: x for x in explain(cnncalc.analyze(zoo.get("alexnet")))}["conv1"]
    assert e.text("output height") == "floor((227 - 11)/4) + 1"
    assert e.value("output height") == 55


def test_term_records_and_keeps_int_semantics():
    t = Term(5) * Term(5) * 48 * 128
    assert int(t) == 153_600 and render(t) == "5x5x48x128"
    assert render(Term(2) * t + Term(2) * Term(128)) == "2 x (5x5x48x128 + 128)"


def test_cli_explain_prints_the_lines():
    out, err = io.StringIO(), io.StringIO()
    assert main(["alexnet", "--table", "--explain"], out=out, err=err) == 0
    assert "conv2 params: 2 x (5x5x48x128 + 128) = 307,456" in out.getvalue()


def test_explain_refuses_symbolic_sizes():
    out, err = io.StringIO(), io.StringIO()
    assert main(["CONV3-64 -> POOL2", "--input", "H x W x 3", "--explain"], out=out, err=err) == 2
    assert err.getvalue().startswith("error:")
