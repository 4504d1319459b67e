"""The receptive-field proof: every step is a sympy identity (the tests check objects, not text)."""

import io

import sympy

from cnncalc.cli import main
from cnncalc.proofs import closed_form, prove_receptive_field, recurrence_field


def test_every_step_holds():
    proof = prove_receptive_field()
    assert proof.holds
    for step in proof.steps:
        assert sympy.simplify(step.lhs - step.rhs) == 0, step.title


def test_base_case_and_inductive_step_are_present():
    proof = prove_receptive_field()
    k = proof.results["symbols"]["k"]
    base = proof.step("Base case")
    assert sympy.simplify(base.lhs - k[1]) == 0 and sympy.simplify(base.rhs - k[1]) == 0
    assert proof.step("Inductive step").holds


def test_closed_form_equals_recurrence_for_concrete_depths():
    for depth in range(1, 6):
        assert sympy.expand(closed_form(depth).doit() - recurrence_field(depth)) == 0


def test_corollary_n_stacked_f_by_f():
    proof = prove_receptive_field()
    N, F = proof.results["symbols"]["N"], proof.results["symbols"]["F"]
    assert sympy.simplify(proof.results["stack_field"] - (N * F - N + 1)) == 0
    assert proof.results["stack_field"].subs({N: 3, F: 5}) == 13
    assert proof.results["instance"]["field"] == 13


def test_parameter_comparison_three_3x3_vs_one_7x7():
    proof = prove_receptive_field(n=3, f=3)
    C = proof.results["symbols"]["C"]
    assert proof.results["instance"]["field"] == 7
    assert proof.results["instance"]["stack_params"] == 27 * C**2
    assert proof.results["instance"]["single_params"] == 49 * C**2


def test_cli_text_and_latex():
    out, err = io.StringIO(), io.StringIO()
    assert main(["prove", "receptive-field", "--n", "3", "--f", "5"], out=out, err=err) == 0
    assert "13x13" in out.getvalue() and "Q.E.D." in out.getvalue()
    out = io.StringIO()
    assert main(["prove", "receptive-field", "--format", "latex"], out=out, err=err) == 0
    assert out.getvalue().startswith(r"\documentclass") and r"\end{document}" in out.getvalue()


def test_cli_usage_errors():
    for argv in (["prove", "nothing"], ["prove", "receptive-field", "--n", "3"], ["prove", "receptive-field", "--n", "0", "--f", "3"]):
        out, err = io.StringIO(), io.StringIO()
        assert main(argv, out=out, err=err) == 2, argv
        assert err.getvalue().startswith("error:")
