"""``arith.total``: the column sums behind every total, numeric and symbolic.

Pins behaviour, not speed: summing symbolic terms in one ``sympy.Add`` (benchmarks/scale.py shows
why) must give exactly the expression that adding the terms one by one gives.
"""

import sympy

from cnncalc import analyze, parse_size
from cnncalc.arith import is_number, total
from cnncalc.spec import Activation, Add, BatchNorm, Conv2D, Input, MaxPool2D, Sequential, Spec

H, W = sympy.symbols("H W", integer=True, positive=True)


def fold(values):
    result = 0
    for v in values:
        result = result + v
    return result


def test_ints_stay_ints():
    assert total([]) == 0 and is_number(total([]))
    assert total([3, 4, 5]) == 12 and type(total([3, 4, 5])) is int
    assert total(v for v in (1, 2)) == 3  # generators, as the analysis passes them


def test_symbolic_sum_is_the_same_expression_as_adding_one_by_one():
    terms = [16 * H * W, 3, 32 * sympy.ceiling(H / 2) * sympy.ceiling(W / 2), 0, 16 * H * W, H / 2, -3]
    assert total(terms) == fold(terms)
    assert total(terms) == 32 * H * W + 32 * sympy.ceiling(H / 2) * sympy.ceiling(W / 2) + H / 2
    assert total([H, -H]) == 0
    assert total([sympy.Integer(2), 5]) == 7


def _residual_spec():
    block = Add((Sequential((Conv2D(8, 3, 2, bias=False), BatchNorm(), Activation("relu"), Conv2D(8, 3))),
                 Sequential((Conv2D(8, 1, 2), BatchNorm()))))
    return Spec(Sequential((Input(32, 32, 3), Conv2D(4, 3), MaxPool2D(2), block, Activation("relu"))))


def test_symbolic_totals_are_row_sums_and_match_numeric():
    spec = _residual_spec()
    numeric = analyze(spec)
    symbolic = analyze(spec, input=parse_size("H x W x 3"))
    for key in ("activations", "weights", "biases", "non_trainable", "macs"):
        rows = [getattr(r, key) for r in symbolic.layers]
        assert getattr(symbolic.totals, key) == fold(rows)
        value = sympy.sympify(getattr(symbolic.totals, key)).subs({H: 32, W: 32})
        assert value == getattr(numeric.totals, key)
