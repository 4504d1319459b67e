"""The calculator under hostile input (issue 16): bounded work, one-line errors, clean streams.

Each test reproduces a reported fault: nesting past Python's recursion limit, deep symbolic
chains, options that were silently ignored or accepted twice, text appended to a CSV, closed or
full output streams (real closed descriptors and ``/dev/full``, in a child process), a UTF-8
byte-order mark, a multi-line file's error position, and ``compare`` of nets without operations.
Hostile model files (``.keras``, ``.onnx``: issue 27) are tests/test_hostile_files.py.
"""

import io
import json
import os
import subprocess
import sys

import pytest

from cnncalc.arith import MAX_ROUNDING_NESTING, rounding_depth
from cnncalc.cli import main
from cnncalc.notation import MAX_NESTING

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(argv):
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_brackets_nested_past_the_limit_are_refused_with_the_column():
    deep = "INPUT-32x32x3 -> " + "[" * 500 + "CONV3-8" + "]*1" * 500
    code, _, err = run([deep])
    assert code == 2 and err == f"error: brackets nested more than {MAX_NESTING} deep at column {18 + MAX_NESTING}\n"
    at_limit = "INPUT-32x32x3 -> " + "[" * MAX_NESTING + "CONV3-8" + "]*1" * MAX_NESTING
    assert run([at_limit, "--format", "json"])[0] == 0


@pytest.mark.slow
def test_a_chain_of_pools_stays_flat_and_exact():
    code, out, _ = run(["[POOL2]*150", "--input", "H x W x 3", "--format", "json"])
    assert code == 0
    data = json.loads(out)
    assert data["output"] == ["floor(H/1427247692705959881058285969449495136382746624)", "floor(W/1427247692705959881058285969449495136382746624)", 3]  # 2**150
    code, out, _ = run(["CONV3-8(s=2) -> POOL2 -> POOL2 -> CONV3-8(p=valid,s=2) -> POOL3(s=2)", "--input", "H x W x 3", "--format", "json"])
    # floor((floor(c/8 - 3/2) + 1 - 3)/2) + 1 with c = ceiling(H/2): the identity keeps one floor
    assert json.loads(out)["output"][0] == "floor(ceiling(H/2)/16 - 7/4) + 1"


@pytest.mark.slow
def test_floors_inside_ceilings_stop_at_a_documented_depth():
    code, _, err = run(["[POOL2 -> CONV3-8(s=2)]*100", "--input", "H x W x 3"])
    assert code == 2
    assert err == (f"error: layer 'pool17': its symbolic size nests {MAX_ROUNDING_NESTING + 1} floor/ceiling divisions, more than {MAX_ROUNDING_NESTING}: "
                   "give numeric sizes, or --assume-divisible for exact divisions\n")  # fmt: skip
    code, out, _ = run(["[POOL2 -> CONV3-8(s=2)]*8", "--input", "H x W x 3", "--format", "json"])
    import sympy

    assert code == 0 and rounding_depth(sympy.sympify(json.loads(out)["output"][0])) == 16


@pytest.mark.parametrize(
    "argv, message",
    [
        (["vgg11", "--input", ""], "error: cannot read size ''"),
        (["INPUT-8x8x3 -> CONV3-8(s=1,s=2)"], "error: option 's' given twice at column 16"),
        (["INPUT-8x8x3 -> DROPOUT(0.5, rate=0.2)"], "error: option 'rate' given twice at column 16"),
        (["vgg11", "--explain", "--format", "csv"], "error: --explain writes worked text, which --format csv cannot hold"),
        (["CONV3-8", "--input", "H x W x 3", "--check-keras"], "error: model 'CONV3-8': the Keras check needs numeric sizes, not H x W x 3"),
    ],
)
def test_input_that_was_ignored_or_accepted_is_an_error(argv, message):
    code, out, err = run(argv)
    assert code == 2 and out == "" and err.startswith(message) and err.count("\n") == 1, err


def test_check_keras_refuses_symbolic_sizes_before_loading_tensorflow():
    script = "import sys\nfrom cnncalc.cli import main\ncode = main(['CONV3-8', '--input', 'H x W x 3', '--check-keras'])\nprint(code, 'tensorflow' in sys.modules, 'keras' in sys.modules)\n"
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT)
    assert proc.stdout.split() == ["2", "False", "False"]


def test_input_replacing_the_declared_input_is_said():
    code, out, err = run(["INPUT-32x32x3 -> CONV3-8 -> FCS", "--input", "64x64x3"])
    assert code == 0 and "input        64x64x3" in out
    assert err == "warning: --input 64x64x3 replaces the INPUT layer the notation declares\n"
    assert run(["CONV3-8 -> FCS", "--input", "64x64x3"])[2] == ""  # nothing to replace: no warning


def test_a_file_with_a_bom_parses_and_errors_name_line_and_column(tmp_path):
    good = tmp_path / "net.txt"
    good.write_bytes("\ufeffINPUT-32x32x3 -> CONV3-8  # first\n -> POOL2\n".encode())
    code, out, _ = run([str(good), "--format", "json"])
    assert code == 0 and json.loads(out)["output"] == [16, 16, 8]
    bad = tmp_path / "bad.txt"
    bad.write_bytes("\ufeffINPUT-32x32x3 -> CONV3-8\n -> POOL2\n -> BLAH -> FCS\n".encode())
    assert run([str(bad)])[2].startswith(f"error: {bad}: unknown layer 'BLAH' at line 3, column 5 (layer words: AVGPOOL, BN, CONV, ")


def test_compare_of_nets_without_operations_has_no_infinite_saving():
    code, out, _ = run(["compare", "INPUT-8x8x3 -> RELU", "INPUT-8x8x3 -> FLATTEN"])
    assert code == 0 and "inf" not in out and out.splitlines()[-1].split()[-2:] == ["n/a", "n/a"]
    code, out, _ = run(["compare", "INPUT-8x8x3 -> RELU", "INPUT-8x8x3 -> FLATTEN", "--format", "json"])
    assert [m["saving"] for m in json.loads(out)["models"]] == [None, None]


def cnncalc(args, **redirect):
    """``cnncalc ARGS`` in a child process with real (closed, full) standard streams."""
    return subprocess.run([sys.executable, "-c", "import sys\nfrom cnncalc.cli import main\nsys.exit(main())", *args], cwd=ROOT, **redirect)


def test_closed_stderr_keeps_warnings_out_of_json():
    net = "INPUT-9x9x3 -> CONV3-8(p=valid) -> POOL2(s=3)"  # warns: the floor drops pixels
    closed = subprocess.run(["sh", "-c", f'exec "$0" -c "import sys; from cnncalc.cli import main; sys.exit(main())" "{net}" --format json 2>&-', sys.executable],
                            stdout=subprocess.PIPE, cwd=ROOT)  # fmt: skip
    assert closed.returncode == 0 and json.loads(closed.stdout)["output"] == [2, 2, 8]


def test_closed_or_full_stdout_is_an_error():
    closed = subprocess.run(["sh", "-c", 'exec "$0" -c "import sys; from cnncalc.cli import main; sys.exit(main())" vgg19 >&-', sys.executable],
                            stderr=subprocess.PIPE, text=True, cwd=ROOT)  # fmt: skip
    assert (closed.returncode, closed.stderr) == (2, "error: cannot write the output: standard output is closed\n")
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full on this system")
    with open("/dev/full", "w") as full:
        proc = cnncalc(["vgg19", "--table"], stdout=full, stderr=subprocess.PIPE, text=True)
    assert (proc.returncode, proc.stderr) == (2, "error: cannot write the output: [Errno 28] No space left on device\n")


ERASE = "\x1b[2K\x1b[1A"  # erase the line, cursor up: it would wipe the warning printed before
OVERRIDE = "\u202e"  # right-to-left override: what follows reads backwards


def test_control_characters_in_names_reach_the_terminal_escaped(tmp_path):
    # issue 27: a model file's names are data; ESC sequences and bidi overrides in them are
    # printed as escapes in every format, the summary, the warnings and the errors
    import gzip
    import zipfile

    with gzip.open(os.path.join(ROOT, "tests", "data", "keras_catalogue", "VGG16.json.gz"), "rt", encoding="utf-8") as fh:
        config = json.load(fh)["config"]
    text = json.dumps(config)
    for name in ("block1_conv1", "block1_pool"):
        text = text.replace(json.dumps(name), json.dumps(name + ERASE + OVERRIDE + "x"))
    path = tmp_path / "evil.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", text)
    seen = []
    for argv in ([], ["--table"], ["--format", "markdown"], ["--format", "latex"], ["--format", "csv"], ["--table", "--explain"], ["--input", "225x225x3"]):
        code, out, err = run([str(path), *argv])
        assert code == 0, err
        assert not any(ch in out + err for ch in ("\x1b", OVERRIDE)), argv
        seen.append(out + err)
    assert "block1_conv1\\x1b[2K\\x1b[1A\\u202ex" in seen[1]  # the table row
    assert "warning: " in seen[-1] and "block1_pool\\x1b[2K" in seen[-1]  # 225 drops a pixel at the first pool
    code, _, err = run(["vgg" + ERASE + "19"])
    assert code == 2 and err == "error: unexpected '\\x1b' at column 4\n"
