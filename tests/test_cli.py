"""The ``cnncalc`` command line: outputs, formats, exit codes, one-line errors, a light start-up."""

import csv
import io
import json
import os
import subprocess
import sys

import pytest

from cnncalc.cli import main


def run(*argv):
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_vgg19_table_has_the_reference_totals():
    code, out, err = run("vgg19", "--table")
    assert code == 0 and err == ""
    total = next(line for line in out.splitlines() if line.startswith("total"))
    assert "16,542,184" in total and "143,652,544" in total and "143,667,240" in total
    assert "conv1_1" in out and "relu1_1" not in out  # in-place rows hidden unless --all
    assert "relu1_1" in run("vgg19", "--table", "--all")[1]


def test_summary_without_table():
    code, out, _ = run("alexnet")
    assert code == 0
    assert "params       60,965,224" in out and "227x227x3  ->  output 1000" in out


def test_human_units_and_weights_only():
    _, out, _ = run("vgg19", "--table", "--units", "human", "--no-bias")
    header = out.splitlines()[3]
    assert "biases" not in header and "params" not in header
    conv = next(line for line in out.splitlines() if line.startswith("conv1_1"))
    assert "3.2M" in conv and "1.7K" in conv
    assert any(line.startswith("input") and line.split()[2] == "150K" for line in out.splitlines())


def test_json_schema():
    code, out, _ = run("vgg19", "--format", "json")
    data = json.loads(out)
    assert code == 0
    assert set(data) >= {"model", "input", "layers", "totals"}
    assert data["totals"]["params"] == 143_667_240 and data["totals"]["weights"] == 143_652_544
    layer = data["layers"][1]
    assert set(layer) >= {"name", "kind", "output", "activations", "weights", "biases", "params", "non_trainable", "macs"}
    assert layer["kind"] == "Conv2D" and layer["output"] == [224, 224, 64]


def test_symbolic_json_uses_strings():
    code, out, _ = run("INPUT-8x8x3 -> CONV3-64 -> POOL2", "--input", "H x W x 3", "--format", "json")
    data = json.loads(out)
    assert code == 0 and data["layers"][1]["activations"] == "64*H*W"
    assert data["totals"]["params"] == 1792


def test_csv_markdown_latex():
    _, out, _ = run("inception-naive", "--format", "csv")
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0][:3] == ["layer", "output", "activations"] and rows[-1][0] == "total"
    assert rows[-1][-1] == "1115684864"
    _, md, _ = run("inception-naive", "--table", "--format", "markdown")
    assert md.startswith("| layer") and "| total" in md
    _, tex, _ = run("inception-naive", "--table", "--format", "latex")
    assert "\\toprule" in tex and "1,115,684,864" in tex


def test_notation_and_classes_and_input_override():
    code, out, _ = run("INPUT-32x32x3 -> CONV3-32 -> FCS", "--classes", "100", "--format", "json")
    assert json.loads(out)["output"] == [100]
    code, out, _ = run("vgg16", "--input", "32x32x3", "--classes", "10", "--format", "json")
    data = json.loads(out)
    assert data["input"] == [32, 32, 3] and data["output"] == [10]


def test_notation_file(tmp_path):
    path = tmp_path / "tiny.net"
    path.write_text("# a tiny net\nINPUT-8x8x1 ->\n  CONV3-4 -> FCS  # classifier\n")
    code, out, _ = run(str(path), "--format", "json")
    assert code == 0 and json.loads(out)["model"] == "tiny"


def test_list():
    code, out, _ = run("list")
    assert code == 0 and "vgg19" in out and "inception-reduced" in out


def test_floor_warning_goes_to_stderr():
    code, out, err = run("alexnet", "--input", "224x224x3")
    assert code == 0 and err.startswith("warning: layer 'conv1': ")


@pytest.mark.parametrize(
    "argv, message",
    [
        (["nosuchnet"], "error: unknown model 'nosuchnet' (see 'cnncalc list'"),
        (["vgg20"], "error: unknown model 'vgg20' (did you mean vgg19 or "),
        (["resnet-50"], "error: unknown model 'resnet-50' (did you mean resnet50 or "),
        (["alexnt"], "error: unknown model 'alexnt' (did you mean alexnet"),
        (["INPUT-32x32x3 -> BLAH"], "error: unknown layer 'BLAH' at column 18 (layer words: AVGPOOL, BN, CONV, DROPOUT, "),
        (["INPUT-32x32x3 -> CONVV3-8"], "error: unknown layer 'CONVV3' at column 18 (did you mean CONV?)"),
        (["prove"], "error: the following arguments are required: theorem (choose from 'receptive-field')"),
        (["INPUT-8x8x3 -> CONV11-4(p=valid)"], "error: layer 'conv1': kernel 11 is larger than its input of 8 pixels"),
        (["INPUT-8x8x3 -> CONV3-4(s=0)"], "error: layer 'conv1': stride must be positive, got 0"),
        (["INPUT-8x8x3 -> CONV3-4(g=2)"], "error: layer 'conv1': groups=2 does not divide its 3 input channels"),
        (["CONV3-4 -> FCS"], "error: model 'CONV3-4 -> FCS' has no input size"),
        (["vgg19", "--input", "0x224x3"], "error: sizes must be positive"),
        (["vgg19", "--input", "224x224"], "error: an image input is HxWxC (channels last), got 224x224"),
        (["vgg19", "--classes", "0"], "error: --classes must be positive"),
        (["vgg19", "--format", "yaml"], "error: argument --format: invalid choice"),
        (["vgg19", "--bogus"], "error: unrecognized arguments: --bogus"),
        ([], "error: the following arguments are required: model"),
        (["list", "extra"], "error: 'list' takes no arguments"),
        (["/nonexistent/dir/"], "error: unknown model"),
    ],
)
def test_bad_input_is_one_error_line_and_exit_2(argv, message):
    code, out, err = run(*argv)
    assert code == 2 and out == ""
    assert err.startswith(message) and err.count("\n") == 1, err


def test_console_script_exit_code_and_no_traceback():
    proc = subprocess.run([sys.executable, "-m", "cnncalc.cli", "INPUT-32x32x3 -> BLAH"], capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stderr.startswith("error: unknown layer 'BLAH' at column 18 (layer words: ") and proc.stderr.count("\n") == 1
    assert "Traceback" not in proc.stderr


def test_numeric_path_imports_no_heavy_library():
    # docs/design.md: the numeric path never imports sympy, keras or TensorFlow (nor matplotlib, onnx, torch).
    code = (
        "import sys; from cnncalc.cli import main; import io; "
        "rc = main(['vgg19', '--table'], out=io.StringIO()); "
        "heavy = sorted(m for m in ('sympy', 'keras', 'tensorflow', 'matplotlib', 'onnx', 'torch', 'cnncalc.html', 'cnncalc.plot') if m in sys.modules); "
        "print(rc, heavy)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "0 []"


def test_the_table_path_loads_only_what_vgg19_needs():
    # issue 28: start-up. No importer, no analysis beyond the table, no other zoo module, no kind
    # family VGG does not use, and no importlib.metadata (tabulate reads its version through it).
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "cnncalc.cli", "vgg19", "--table"], capture_output=True, text=True, check=True)
    loaded = {line.split("|")[-1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")}
    unwanted = {
        "importlib.metadata", "tabulate", "wcwidth", "email", "cnncalc.importers", "cnncalc.importers.keras",
        "cnncalc.importers.onnx", "cnncalc.notation", "cnncalc.compare", "cnncalc.explain", "cnncalc.proofs", "cnncalc.atomic",
        "cnncalc.zoo.resnet", "cnncalc.zoo.googlenet", "cnncalc.kinds.norm", "cnncalc.kinds.merge", "cnncalc.kinds.depthwise", "cnncalc.kinds.nd",
    }
    assert "cnncalc.zoo.vgg" in loaded and "cnncalc.kinds.conv" in loaded  # -X importtime sees the lazy loads
    assert not loaded & unwanted, sorted(loaded & unwanted)


def test_symbolic_path_loads_sympy_only_then():
    code = (
        "import sys, io; from cnncalc.cli import main; "
        "main(['INPUT-8x8x3 -> CONV3-4', '--input', 'H x W x 3'], out=io.StringIO()); "
        "print('sympy' in sys.modules, 'keras' in sys.modules)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "True False"


@pytest.mark.keras
@pytest.mark.slow
def test_tensorflow_native_log_reaches_stderr_with_verbose():
    # issue 28: TensorFlow's C++ runtime writes absl/oneDNN/cpu_feature_guard lines to descriptor
    # 2 (some before TF_CPP_MIN_LOG_LEVEL is read); cnncalc's stderr holds only its own lines.
    # The quiet half is the README's `cnncalc vgg19 --check-keras`, run in a user's environment by
    # tests/test_readme_examples.py, which asserts that stderr holds only cnncalc's lines (one
    # process that loads TensorFlow, about 6 s of CPU, instead of two); here --verbose lets them through.
    pytest.importorskip("keras")
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}  # as a user's shell has it
    loud = subprocess.run([sys.executable, "-m", "cnncalc.cli", "INPUT-8x8x3 -> CONV3-4 -> FCS", "--check-keras", "--verbose"], capture_output=True, text=True, env=env)
    assert loud.returncode == 0 and loud.stdout.rstrip().splitlines()[-1].startswith("OK: all 5 layers"), loud.stdout
    assert any(word in loud.stderr for word in ("absl", "oneDNN", "cpu_feature_guard")), loud.stderr
