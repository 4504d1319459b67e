"""Inputs that fuzzing (tests/test_fuzz.py) found to break a promise, pinned one by one."""

import io

from cnncalc.cli import main


def run(*argv):
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_line_breaks_in_the_input_keep_the_error_on_one_line():
    # hypothesis: argv=['\n'] printed "error: unknown model '" and the rest on a second line.
    for model in ("\n", "a\rb", "CONV3-64\x0b", "x\u2028y"):
        code, out, err = run(model)
        assert code == 2 and out == ""
        assert len(err.splitlines()) == 1 and err.startswith("error: "), repr(err)
    code, _, err = run("\n")
    assert err == "error: unknown model '\\n' (see 'cnncalc list', or give arrow notation such as 'INPUT-32x32x3 -> CONV3-32 -> FCS')\n"


def test_huge_repeat_counts_are_errors_not_crashes():
    # Found probing past the fuzzer: '*99999999999999999999' raised OverflowError and nested
    # repetitions MemoryError, both exit 3 ("internal error") instead of 2.
    for text in (
        "INPUT-32x32x3 -> [CONV3-3]*99999999999999999999",
        "INPUT-32x32x3 -> [[[CONV3-3]*1000]*1000]*1000",
        "INPUT-32x32x3 -> [CONV3-3 -> RELU]x60000",
        "INPUT-32x32x3 -> [CONV3-3]*60000 -> [CONV3-3]*60000",
    ):
        code, out, err = run(text)
        assert code == 2 and out == "", (text, err)
        assert err.startswith("error: ") and "layers" in err and len(err.splitlines()) == 1, err


def test_the_layer_limit_leaves_deep_networks_alone():
    from cnncalc import parse
    from cnncalc.notation import MAX_LAYERS

    spec = parse(f"INPUT-8x8x3 -> [CONV3-4 -> RELU]*{MAX_LAYERS // 2 - 1}")
    assert len(spec.root.layers) == MAX_LAYERS - 1


def test_numbers_too_long_for_int_are_errors_not_crashes():
    # Found probing past the fuzzer: int() refuses strings over 4,300 digits with ValueError,
    # which reached the CLI as exit 3 ("internal error") from every integer in the notation.
    n = "9" * 5000
    for argv in (
        ["INPUT-32x32x3 -> CONV3-" + n],
        ["INPUT-32x32x3 -> CONV" + n + "-3"],
        ["INPUT-" + n + "x3x3"],
        ["INPUT-3x3x3 -> [CONV3-3]*" + n],
        ["INPUT-3x3x3 -> CONV3-3(s=" + n + ")"],
        ["vgg19", "--input", n + "x3x3"],
    ):
        code, out, err = run(*argv)
        assert code == 2 and out == "", err
        assert err.startswith("error: a number of 5,000 digits is too long") and len(err.splitlines()) == 1, err


def test_long_but_reasonable_numbers_still_count():
    code, out, _ = run("INPUT-32x32x3 -> FC-" + "9" * 100, "--format", "json")
    assert code == 0 and '"weights": ' + str(3072 * int("9" * 100)) in out
