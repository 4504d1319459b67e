"""Receptive fields (Araujo, Norris & Sim, Distill 2019), pinned to published values.

google-research/receptive_field README table: alexnet_v2 RF 195, effective stride 32, effective
padding 64; vgg_16 RF 212, effective stride 32, effective padding 90 (both at their last pool).
"""

import io
import json


import cnncalc
from cnncalc import zoo
from cnncalc.cli import main
from cnncalc.receptive import same_left_padding
from cnncalc.spec import Concat, Conv2D, Input, MaxPool2D, Sequential, Spec


def run(*argv):
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_alexnet_pool5_matches_google_receptive_field_table():
    row = cnncalc.analyze(zoo.get("alexnet")).row("pool5")
    assert (row.rf, row.jump, row.effective_padding) == (195, 32, 64)
    assert row.start == (195 - 1) / 2 - 64 == 33


def test_vgg16_pool5_matches_google_receptive_field_table():
    row = cnncalc.analyze(zoo.get("vgg16")).row("pool5")
    assert (row.rf, row.jump, row.effective_padding) == (212, 32, 90)
    assert row.start == 15.5  # (212 - 1)/2 - 90, the centre of the first output unit


def test_vgg16_per_block_fields():
    a = cnncalc.analyze(zoo.get("vgg16"))
    assert [a.row(f"pool{b}").rf for b in range(1, 6)] == [6, 16, 44, 100, 212]
    assert [a.row(f"pool{b}").jump for b in range(1, 6)] == [2, 4, 8, 16, 32]


def test_dilated_stack_1_2_4_sees_15():
    spec = cnncalc.parse("INPUT-64x64x3 -> CONV3-8(d=1) -> CONV3-8(d=2) -> CONV3-8(d=4)")
    assert [r.rf for r in cnncalc.analyze(spec).layers] == [1, 3, 7, 15]


def test_three_5x5_see_13():
    spec = cnncalc.parse("INPUT-32x32x3 -> [CONV5-16]*3")
    assert cnncalc.analyze(spec).layers[-1].rf == 13


def test_dense_rows_have_no_spatial_field():
    row = cnncalc.analyze(zoo.get("vgg16")).row("fc6")
    assert row.rf is None and row.jump is None


def test_tf_same_padding_is_asymmetric():
    # TF: total = max(k - (s if n % s == 0 else n % s), 0), left = floor(total / 2)
    assert same_left_padding(224, 3, 2) == 0  # total 1: the extra pixel goes right
    assert same_left_padding(225, 3, 2) == 1  # total 2
    assert same_left_padding(224, 7, 2) == 2  # total 5
    assert same_left_padding(56, 3, 1) == 1


def test_rectangular_kernel_reports_both_axes():
    spec = Spec(Sequential((Input(32, 32, 3), Conv2D(8, (3, 5), padding="valid"))))
    assert cnncalc.analyze(spec).layers[-1].rf == (3, 5)


def test_concat_keeps_largest_field_and_warns_when_misaligned():
    aligned = cnncalc.analyze(zoo.get("inception-naive"))
    assert aligned.layers[-1].rf == 5 and aligned.warnings == ()
    # 3x3 conv vs 1x1 conv then 3x3 pool, both valid: same field, same centre -> aligned
    aligned_branches = Spec(Sequential((
        Input(32, 32, 8),
        Concat((Sequential((Conv2D(4, 3, padding="valid", name="a"),)),
                Sequential((Conv2D(4, 1, padding=0, name="b"), MaxPool2D(3, 1, padding="valid", name="q")))), name="cat"),
    )))
    a = cnncalc.analyze(aligned_branches)
    assert a.row("cat").rf == 3 and a.warnings == ()
    # 2x2 stride-2 vs 1x1 stride-2: centres 0.5 and 0 differ -> warning, largest field kept
    shifted = Spec(Sequential((
        Input(32, 32, 8),
        Concat((Sequential((Conv2D(4, 2, stride=2, padding="valid", name="a"),)),
                Sequential((Conv2D(4, 1, stride=2, padding="valid", name="b"),))), name="cat"),
    )))
    b = cnncalc.analyze(shifted)
    assert b.row("cat").rf == 2
    assert any("misaligned" in w for w in b.warnings)


def test_cli_rf_columns_and_json():
    code, out, _ = run("vgg16", "--rf")
    assert code == 0
    line = next(text for text in out.splitlines() if text.startswith("pool5"))
    assert line.split()[-4:] == ["212", "32", "15.5", "90"]
    code, out, _ = run("alexnet", "--format", "json")
    rows = {r["name"]: r for r in json.loads(out)["layers"]}
    assert (rows["pool5"]["rf"], rows["pool5"]["jump"], rows["pool5"]["start"]) == (195, 32, 33)
    assert rows["fc6"]["rf"] is None


def test_symbolic_input_keeps_fields():
    a = cnncalc.analyze(cnncalc.parse("CONV3-64 -> CONV3-64 -> POOL2"), input="H x W x 3")
    assert a.layers[-1].rf == 6 and a.layers[-1].jump == 2


def test_numeric_rf_path_does_not_import_sympy():
    import subprocess
    import sys

    code = (
        "import io, sys\n"
        "from cnncalc.cli import main\n"
        "for argv in (['vgg16', '--rf'], ['inception-reduced', '--rf', '--format', 'json'],"
        " ['alexnet', '--explain'], ['vgg19', '--convention', 'tf-profiler'],"
        " ['compare', 'inception-naive', 'inception-reduced']):\n"
        "    main(argv, out=io.StringIO())\n"
        "print(sorted(m for m in ('sympy', 'keras', 'tensorflow', 'matplotlib') if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
