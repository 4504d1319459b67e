"""Symbolic sizes and hyper-parameters: the same formulas, sympy expressions, equal after subs."""

import io
import json

import pytest
import sympy

import cnncalc
from cnncalc import zoo
from cnncalc.cli import main
from cnncalc.spec import Conv2D, Input, Sequential, Spec, SpecError
from cnncalc.stacking import stack
from cnncalc.symbolic import symbol

H, W, C = (symbol(n) for n in "HWC")


@pytest.mark.parametrize("model,size", [("vgg16", 224), ("alexnet", 227), ("inception-reduced", 32)])
def test_symbolic_activations_equal_numeric_after_subs(model, size):
    spec = zoo.get(model)
    channels = spec.input.channels
    sym = cnncalc.analyze(spec, input=(H, W, channels))
    num = cnncalc.analyze(spec, input=(size, size, channels))
    for s_row, n_row in zip(sym.layers, num.layers):
        for key in ("activations", "params", "macs"):
            value = sympy.sympify(getattr(s_row, key)).subs({H: size, W: size})
            assert value == getattr(n_row, key), (s_row.name, key)
    assert sympy.sympify(sym.totals.activations).subs({H: size, W: size}) == num.totals.activations


def test_first_conv_activations_are_64_h_w():
    a = cnncalc.analyze(cnncalc.parse("CONV3-64 -> CONV3-64 -> POOL2"), input="H x W x 3")
    assert a.layers[1].activations == 64 * H * W
    assert a.layers[-1].output[0] == sympy.floor(H / 2)


def test_assume_divisible_gives_the_exercise_form():
    spec = cnncalc.parse("CONV3-64 -> POOL2")
    a = cnncalc.analyze(spec, input="H x W x 3", assume_divisible=True)
    assert a.layers[-1].output[:2] == (H / 2, W / 2)
    valid = cnncalc.parse("CONV5-8(p=1,s=2)")
    out = cnncalc.analyze(valid, input="H x W x 3", assume_divisible=True).layers[-1].output[0]
    assert sympy.simplify(out - ((H - 5 + 2 * 1) / 2 + 1)) == 0
    # numeric sizes are never affected
    assert cnncalc.analyze(spec, input="33x33x3", assume_divisible=True).layers[-1].output == (16, 16, 64)


def test_symbolic_kernel_stride_and_filters():
    F, S, K = symbol("F"), symbol("S"), symbol("K")
    spec = Spec(Sequential((Input("H", "W", "C"), Conv2D("K", kernel="F", stride="S", padding="valid"))))
    a = cnncalc.analyze(spec, symbols="H W C K F S")
    conv = a.layers[-1]
    assert conv.weights == F**2 * C * K and conv.biases == K
    values = {H: 227, W: 227, C: 3, K: 96, F: 11, S: 4}
    numeric = cnncalc.analyze(Spec(Sequential((Input(227, 227, 3), Conv2D(96, 11, 4, "valid")))))
    assert sympy.sympify(conv.macs).subs(values) == numeric.layers[-1].macs == 105_415_200
    assert tuple(sympy.sympify(v).subs(values) for v in conv.output) == (55, 55, 96)
    assert conv.rf == F and conv.jump == S


def test_unknown_symbol_name_is_an_error():
    spec = Spec(Sequential((Input(8, 8, 3), Conv2D(4, kernel="F"))))
    with pytest.raises(SpecError):
        cnncalc.analyze(spec, symbols=["G"])


def test_symbolic_layer_count_matches_the_unrolled_stack():
    N, F = symbol("N"), symbol("F")
    st = stack([Conv2D("C", kernel="F", bias=False)], "N", "H x W x C", symbols="C F N")
    assert st.params == N * F**2 * C**2 and st.rf == N * F - N + 1
    unrolled = cnncalc.parse("INPUT-32x32x16 -> [CONV5-16(bias=false)]*3")
    a = cnncalc.analyze(unrolled)
    values = {N: 3, F: 5, C: 16, H: 32, W: 32}
    assert st.params.subs(values) == a.totals.params
    assert st.macs.subs(values) == a.totals.macs
    assert st.rf.subs(values) == a.layers[-1].rf == 13


def test_cli_symbolic_table_and_json():
    out, err = io.StringIO(), io.StringIO()
    assert main(["CONV3-64 -> CONV3-64 -> POOL2", "--input", "H x W x 3", "--table"], out=out, err=err) == 0
    assert "64*H*W" in out.getvalue() and "floor(H/2) x floor(W/2) x 64" in out.getvalue()
    out = io.StringIO()
    assert main(["CONV3-64 -> POOL2", "--input", "H x W x 3", "--format", "json", "--assume-divisible"], out=out, err=err) == 0
    data = json.loads(out.getvalue())
    assert data["output"] == ["H/2", "W/2", 64]
    assert data["layers"][1]["activations"] == "64*H*W"
