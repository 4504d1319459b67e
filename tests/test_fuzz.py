"""Fuzzing (hypothesis): bad input never breaks anything, random valid specs keep the invariants.

- Random strings and mutated valid notation: ``parse`` raises only :class:`SpecError`; the CLI
  ``main(argv, out, err)`` returns 0 or 2, and on 2 prints exactly one ``error: ...`` line and
  no traceback.
- Random valid specs, drawn as arrow notation from a small grammar: rows sum to the totals,
  parameters are never negative, every count is an ``int``, the symbolic analysis on
  ``H x W x C`` equals the numeric one after substitution, ``to_notation`` round-trips, and along
  the chain the receptive field and the jump never shrink (per axis) until the output stops
  being spatial, after which they stay undefined.

Example counts keep the whole module under ~30 s; no test here times anything. The campaigns
that cost seconds are ``slow``; ``-m "not slow"`` keeps the invariants and the round trip.
"""

from __future__ import annotations

import io

import pytest
import sympy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cnncalc import analyze, parse, parse_size, to_notation
from cnncalc.analysis import COUNT_FIELDS
from cnncalc.cli import main
from cnncalc.spec import SpecError

FUZZ = settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SPECS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])

VALID = [
    "INPUT-32x32x3 -> [CONV3-32 -> RELU]*2 -> POOL2 -> [CONV3-64 -> RELU]*2 -> POOL2 -> FC-512 -> RELU -> FCS",
    "INPUT-8x8x1 -> CONV-32 -> POOL -> MAXPOOL3 -> AVGPOOL2 -> FCS",
    "INPUT-64x64x4 -> CONV5-8(s=2, p=valid, d=2, g=4, bias=false) -> CONV3-8(p=1) -> POOL3(s=2, p=1, ceil=true) -> DROPOUT(0.25) -> FC-4(bias=false)",
    "INPUT-227x227x3 -> CONV11-96(s=4, p=valid) -> RELU -> LRN -> POOL3(s=2) -> BN -> GAP -> FC-10 -> SOFTMAX",
    "input-16x16x3 -> [conv3-8 -> bn -> relu]x2 -> flatten -> dropout(0.5) -> fcs",
    "INPUT-H x W x 3 -> CONV3-16(s=2) -> TANH -> SIGMOID -> GAP -> FCS",
    "INPUT-32x32x3 → CONV1-4 → AVGPOOL2(s=1) → FC-3",
]

# Characters the notation uses, plus a few it never does (newlines and other line breaks too).
NOTATION_CHARS = "INPUTCONVPOLFCSRELBGDAXMinputconvpolfcsrelbgdaxm0123456789-x×*>→[]()=,.; _sgpdbiastruefl\t\n\r\x0b\x0c\x85\u2028#'\"\\"
ALPHABET = st.sampled_from(NOTATION_CHARS) | st.characters()
# Whole chunks a one-character mutation would rarely build: the classes of input that once
# crashed the CLI (tests/test_fuzz_regressions.py) stay in the fuzzer's reach.
CHUNKS = st.sampled_from(["9" * 30, "9" * 5000, "]*99999999999999999999", "[[", "]*1000", "\n", "->", "(s=0)", "(p=-1)", "Hx", "٣"])


@st.composite
def mutated(draw):
    """A valid example with a few characters (or nasty chunks) inserted, deleted or replaced."""
    text = list(draw(st.sampled_from(VALID)))
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(("insert", "delete", "replace", "chunk")))
        i = draw(st.integers(0, len(text)))
        if op == "insert":
            text.insert(i, draw(ALPHABET))
        elif op == "chunk":
            text[i:i] = list(draw(CHUNKS))
        elif text and i < len(text):
            if op == "delete":
                del text[i]
            else:
                text[i] = draw(ALPHABET)
    return "".join(text)


NOTATION = st.text(ALPHABET, max_size=60) | mutated()


def _parse_or_spec_error(text):
    try:
        spec = parse(text)
    except SpecError:
        return None
    return spec


@pytest.mark.slow
@FUZZ
@given(NOTATION)
def test_parse_raises_only_spec_error(text):
    _parse_or_spec_error(text)


@pytest.mark.slow
@FUZZ
@given(mutated())
def test_parsed_mutants_analyse_or_raise_spec_error(text):
    spec = _parse_or_spec_error(text)
    if spec is None:
        return
    try:
        analyze(spec)
    except SpecError:
        pass


# --------------------------------------------------------------------------------------------
# The CLI: exit 0 or 2, one error line, no traceback
# --------------------------------------------------------------------------------------------

FLAGS = ["--table", "--format", "json", "csv", "markdown", "latex", "text", "--units", "human", "exact",
         "--no-bias", "--flops", "--kind", "--all", "--input", "32x32x3", "H x W x 3", "--classes", "0", "7",
         "--bytes", "-1", "2", "list", "vgg19", "alexnet", "--nope", "--", "-"]


def _no_help(argv):
    # argparse answers -h/--help (and abbreviations like --he) by printing help and exiting 0
    # through SystemExit, as every console script does; that is not bad input.
    return not any(a.startswith("-h") or (a.startswith("--h") and "--help".startswith(a)) for a in argv)


ARGV = st.one_of(
    NOTATION.map(lambda text: [text]),
    st.tuples(NOTATION, st.lists(st.sampled_from(FLAGS) | st.text(ALPHABET, max_size=12), max_size=4)).map(
        lambda t: [t[0], *t[1]]
    ),
    st.lists(st.sampled_from(FLAGS) | st.text(ALPHABET, max_size=12), max_size=5),
).filter(_no_help)


def _run_cli(argv):
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def _assert_clean(argv, code, out, err):
    assert code in (0, 2), (argv, code, err)
    assert "Traceback" not in err and "Traceback" not in out
    if code == 2:
        lines = err.splitlines()
        assert len(lines) == 1 and err.endswith("\n"), (argv, err)
        assert lines[0].startswith("error: "), (argv, err)


@pytest.mark.slow
@FUZZ
@given(ARGV)
def test_cli_exits_0_or_2_with_one_error_line(argv):
    _assert_clean(argv, *_run_cli(argv))


# --------------------------------------------------------------------------------------------
# Random valid specs
# --------------------------------------------------------------------------------------------


def _out(n, k, s, padding):
    if padding == "same":
        return -(-n // s)
    p = 0 if padding == "valid" else padding
    return (n + 2 * p - k) // s + 1


@st.composite
def valid_notation(draw):
    """Arrow notation for a network that is valid by construction (each window fits its input)."""
    h, w, c = draw(st.integers(4, 40)), draw(st.integers(4, 40)), draw(st.integers(1, 4))
    parts = [f"INPUT-{h}x{w}x{c}"]
    for _ in range(draw(st.integers(0, 8))):
        kind = draw(st.sampled_from(("conv", "conv", "pool", "avgpool", "bn", "act", "dropout")))
        if kind == "conv":
            k, s = draw(st.integers(1, 7)), draw(st.integers(1, 2))
            padding = draw(st.sampled_from(("same", "valid", 0, 1, 2, 3)))
            if padding != "same" and min(h, w) + 2 * (0 if padding == "valid" else padding) < k:
                padding = "same"
            opts = ([f"s={s}"] if s != 1 else []) + ([f"p={padding}"] if padding != "same" else [])
            if draw(st.booleans()):
                opts.append("bias=false")
            f = draw(st.integers(1, 16))
            parts.append(f"CONV{k}-{f}" + (f"({','.join(opts)})" if opts else ""))
            h, w = _out(h, k, s, padding), _out(w, k, s, padding)
        elif kind in ("pool", "avgpool"):
            k, s = draw(st.integers(1, 3)), draw(st.integers(1, 2))
            if min(h, w) < k:
                continue
            word = "POOL" if kind == "pool" else "AVGPOOL"
            parts.append(f"{word}{k}" + (f"(s={s})" if s != k else ""))
            h, w = _out(h, k, s, "valid"), _out(w, k, s, "valid")
        elif kind == "bn":
            parts.append("BN")
        elif kind == "act":
            parts.append(draw(st.sampled_from(("RELU", "TANH", "SIGMOID"))))
        else:
            parts.append(f"DROPOUT({draw(st.sampled_from(('0.1', '0.25', '0.5')))})")
    head = draw(st.sampled_from(("gap", "flatten", "fc", "none")))
    if head == "gap":
        parts.append("GAP")
    if head in ("gap", "flatten", "fc"):
        for _ in range(draw(st.integers(0, 2))):
            parts.append(f"FC-{draw(st.integers(1, 32))}")
            if draw(st.booleans()):
                parts.append("RELU")
        parts.append("FCS")
    return " -> ".join(parts)


H, W, C = parse_size("H x W x C")


def _ints(value):
    return type(value) is int


@SPECS
@given(valid_notation())
def test_valid_specs_keep_the_invariants(text):
    spec = parse(text)
    a = analyze(spec)
    for key in COUNT_FIELDS:
        column = [getattr(row, key) for row in a.layers]
        assert all(_ints(v) for v in column), (key, column)
        assert all(v >= 0 for v in column), (key, column)
        assert getattr(a.totals, key) == sum(column), key
        assert _ints(getattr(a.totals, key))
    assert all(_ints(v) and v > 0 for row in a.layers for v in row.output)
    assert a.totals.params == a.totals.weights + a.totals.biases + a.totals.non_trainable


@pytest.mark.slow
@SPECS
@given(valid_notation())
def test_notation_round_trips(text):
    spec = parse(text)
    again = parse(to_notation(spec))
    assert again.root == spec.root
    assert analyze(again).to_dict()["layers"] == analyze(spec).to_dict()["layers"]


def _axes(value):
    """An rf/jump/start value as an (h, w) pair (one value when the two axes agree)."""
    return value if isinstance(value, tuple) else (value, value)


@pytest.mark.slow
@SPECS
@given(valid_notation())
def test_receptive_field_never_shrinks_along_a_chain(text):
    layers = analyze(parse(text)).layers
    assert layers[0].kind == "Input" and _axes(layers[0].rf) == (1, 1) and _axes(layers[0].jump) == (1, 1)
    spatial = [row for row in layers if row.rf is not None]
    # Defined exactly on the prefix whose output is still H x W x C; undefined from there on.
    assert list(layers[: len(spatial)]) == spatial, [(row.name, row.rf) for row in layers]
    assert all(len(row.output) == 3 for row in spatial)
    for before, after in zip(spatial, spatial[1:]):
        for axis in (0, 1):
            assert _axes(after.rf)[axis] >= _axes(before.rf)[axis], (before.name, after.name)
            assert _axes(after.jump)[axis] >= _axes(before.jump)[axis], (before.name, after.name)
            assert _ints(_axes(after.rf)[axis]) and _axes(after.rf)[axis] >= 1


def _subs(value, values):
    if isinstance(value, int):
        return value
    result = sympy.sympify(value).subs(values)
    assert result.is_Integer, (value, result)
    return int(result)


@pytest.mark.slow
@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(valid_notation())
def test_symbolic_equals_numeric_after_substitution(text):
    spec = parse(text)
    numeric = analyze(spec)
    h, w, c = numeric.input
    symbolic = analyze(spec, input=(H, W, C))
    values = {H: h, W: w, C: c}
    assert [_subs(v, values) for v in symbolic.output] == list(numeric.output)
    for sym_row, num_row in zip(symbolic.layers, numeric.layers, strict=True):
        assert [_subs(v, values) for v in sym_row.output] == list(num_row.output), sym_row.name
        assert _subs(sym_row.activations, values) == num_row.activations, sym_row.name
        assert _subs(sym_row.macs, values) == num_row.macs, sym_row.name
    for key in ("activations", "macs", "params"):
        assert _subs(getattr(symbolic.totals, key), values) == getattr(numeric.totals, key), key


@pytest.mark.slow
@SPECS
@given(valid_notation(), st.sampled_from(("text", "json", "csv")))
def test_cli_prints_valid_specs(text, fmt):
    code, out, err = _run_cli([text, "--table", "--format", fmt])
    assert code == 0, err
    assert all(line.startswith("warning: ") for line in err.splitlines())
