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
