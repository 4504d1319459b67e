"""report.py is the one renderer: formats defined once, one table renderer, every CLI list from it.

fvcore keeps every way of printing in one module and torchinfo defines its settings once
(docs/design.md): these tests pin the definitions, the renderer's output in every format, and
that the analyses (compare, keras_check, explain) hand data to report rather than print.
"""

from __future__ import annotations

import inspect
import io
import subprocess
import sys
from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cnncalc import analyze, compare, explain, parse, zoo
from cnncalc.cli import _build_parser, _compare_parser, _prove_parser, main
from cnncalc.tables import render
from cnncalc.report import (
    COMPARISON_FORMATS,
    FORMATS,
    PROOF_FORMATS,
    TABLE_FORMATS,
    UNITS,
    TableOptions,
    csv_text,
    render_check,
    render_explanations,
    render_rows,
    render_table,
)


def _choices(parser, dest):
    return tuple(next(a.choices for a in parser._actions if a.dest == dest))


# -- the formats, defined once ---------------------------------------------------------------


def test_formats_are_the_table_formats_and_json():
    assert TABLE_FORMATS == {"text": "simple", "markdown": "github", "latex": "latex_booktabs", "csv": None}
    assert FORMATS == (*TABLE_FORMATS, "json") == ("text", "markdown", "latex", "csv", "json")
    assert UNITS == ("exact", "human")
    assert COMPARISON_FORMATS == ("text", "markdown", "json") and PROOF_FORMATS == ("text", "latex")
    assert set(COMPARISON_FORMATS) <= set(FORMATS) and set(PROOF_FORMATS) <= set(FORMATS)


def test_every_cli_choice_list_is_reports_definition():
    main_parser, compare_parser, prove_parser = _build_parser(), _compare_parser(), _prove_parser()
    assert _choices(main_parser, "format") == FORMATS
    assert _choices(main_parser, "units") == UNITS
    assert _choices(compare_parser, "format") == COMPARISON_FORMATS
    assert _choices(compare_parser, "units") == UNITS
    assert _choices(prove_parser, "format") == PROOF_FORMATS


def test_a_format_a_subcommand_lacks_is_a_usage_error():
    out, err = io.StringIO(), io.StringIO()
    assert main(["compare", "inception-naive", "inception-reduced", "--format", "csv"], out=out, err=err) == 2
    assert "invalid choice: 'csv'" in err.getvalue() and "'text', 'markdown', 'json'" in err.getvalue()


# -- the one table renderer ------------------------------------------------------------------

HEADERS = ["layer", "output", "params"]
ROWS = [["conv1", "32x32x64", "1,792"], ["fc1", "10", "163,850"], ["total", "10", "165,642"]]
ALIGN = ["left", "right", "right"]
RENDERED = {
    "text": (
        "layer      output    params\n"
        "-------  --------  --------\n"
        "conv1    32x32x64     1,792\n"
        "fc1            10   163,850\n"
        "-------  --------  --------\n"
        "total          10   165,642"
    ),
    "markdown": (
        "| layer   |   output |   params |\n"
        "|---------|----------|----------|\n"
        "| conv1   | 32x32x64 |    1,792 |\n"
        "| fc1     |       10 |  163,850 |\n"
        "| total   |       10 |  165,642 |"
    ),
    "latex": (
        "\\begin{tabular}{lrr}\n"
        "\\toprule\n"
        " layer   &   output &   params \\\\\n"
        "\\midrule\n"
        " conv1   & 32x32x64 &    1,792 \\\\\n"
        " fc1     &       10 &  163,850 \\\\\n"
        " total   &       10 &  165,642 \\\\\n"
        "\\bottomrule\n"
        "\\end{tabular}"
    ),
    "csv": 'layer,output,params\nconv1,32x32x64,"1,792"\nfc1,10,"163,850"\ntotal,10,"165,642"',
}


@pytest.mark.parametrize("fmt", list(TABLE_FORMATS))
def test_the_same_rows_in_every_table_format(fmt):
    # conv1: 3x3x3x64 + 64 = 1,792; fc1: 16,384 x 10 + 10 = 163,850 (the network below)
    assert render_rows(HEADERS, ROWS, fmt, ALIGN, totals_rule=True) == RENDERED[fmt]


def test_the_totals_rule_is_drawn_in_text_only_when_asked():
    plain = render_rows(HEADERS, ROWS, "text", ALIGN).split("\n")
    ruled = render_rows(HEADERS, ROWS, "text", ALIGN, totals_rule=True).split("\n")
    assert len(plain) == 5 and ruled == plain[:-1] + [plain[1], plain[-1]]
    for fmt in ("markdown", "latex", "csv"):  # a rule inside those would break the format
        assert render_rows(HEADERS, ROWS, fmt, ALIGN, totals_rule=True) == render_rows(HEADERS, ROWS, fmt, ALIGN)


_CELL = st.text(st.sampled_from(list("abc xyz_&%$#{}~\\<>^019-.,")), max_size=8)
try:  # tabulate measures wide characters with wcwidth when it is installed, as cnncalc.tables does
    import wcwidth  # noqa: F401

    _CELL = st.text(st.sampled_from(list("abc xyz_&%$#{}~\\<>^019-.,") + ["\u754c", "\u00e9", "\u0301", "\uff21"]), max_size=8)
except ImportError:
    pass


@settings(max_examples=300, deadline=None)
@given(
    st.integers(1, 4).flatmap(
        lambda n: st.tuples(
            st.lists(_CELL, min_size=n, max_size=n),
            st.lists(st.lists(_CELL, min_size=n, max_size=n), min_size=1, max_size=4),
            st.lists(st.sampled_from(["left", "right"]), min_size=n, max_size=n) | st.none(),
            st.sampled_from(["simple", "github", "latex_booktabs"]),
        )
    )
)
def test_tables_are_written_as_tabulate_writes_them(table):
    # cnncalc.tables replaces tabulate on the CLI's path (issue 28): the same characters
    from tabulate import tabulate

    headers, rows, align, layout = table
    assert render(headers, rows, layout, align) == tabulate(rows, headers=headers, tablefmt=layout, disable_numparse=True, colalign=align)


def test_json_is_not_a_table_format():
    with pytest.raises(ValueError, match="not a table format: 'json'"):
        render_rows(HEADERS, ROWS, "json")


def test_csv_quotes_what_needs_quoting():
    # a line break in a name is written as \n, as in every other format: a row is one line
    assert csv_text(["a", "b"], [["x, y", 3], ['say "hi"', "z"], ["two\nlines", ""]]) == (
        'a,b\n"x, y",3\n"say ""hi""",z\ntwo\\nlines,'
    )


@pytest.mark.parametrize("fmt", list(TABLE_FORMATS))
def test_every_table_format_carries_the_same_numbers(fmt):
    a = analyze(parse("INPUT-32x32x3 -> CONV3-64 -> RELU -> POOL2 -> FC-10"))
    out = render_table(a, fmt, TableOptions())
    assert ("1792" if fmt == "csv" else "1,792") in out  # conv1: 3x3x3x64 + 64
    assert ("163850" if fmt == "csv" else "163,850") in out  # fc1: 16384 x 10 + 10
    assert ("165642" if fmt == "csv" else "165,642") in out  # total
    assert "total" in out


def test_cnncalc_list_goes_through_the_one_renderer():
    out = io.StringIO()
    assert main(["list"], out=out) == 0
    rows = [[e.name, e.summary] for e in zoo.entries()]
    assert out.getvalue() == render_rows(["model", "description"], rows, "text") + "\n"
    assert out.getvalue().split("\n")[0].split() == ["model", "description"]


# -- the analyses return data; report renders it ---------------------------------------------


def test_the_analyses_do_not_render():
    import cnncalc.compare
    import cnncalc.explain

    for module in (cnncalc.compare, cnncalc.explain):
        source = inspect.getsource(module)
        assert "tabulate" not in source and "csv" not in source and "json.dumps" not in source
    assert not hasattr(cnncalc.compare, "render_comparison")
    assert not hasattr(cnncalc.explain, "render_explanations")


def test_report_imports_no_heavy_library():
    code = (
        "import sys, cnncalc.report; "
        "print(sorted(m for m in ('keras', 'tensorflow', 'sympy', 'tabulate') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def _side(output, trainable, non_trainable=0):
    return SimpleNamespace(output=output, trainable=trainable, non_trainable=non_trainable, params=trainable + non_trainable)


def _row(name, ours, keras, layers):
    differs = () if ours == keras else tuple(k for k in ("output", "trainable", "non_trainable") if getattr(ours, k) != getattr(keras, k))
    return SimpleNamespace(name=name, kind="Conv2D" if name != "total" else "", ours=ours, keras=keras, keras_layers=layers, ok=not differs, differs=differs)


def test_the_keras_check_renders_from_duck_typed_data_without_keras():
    conv = _row("conv1", _side((32, 32, 64), 1792), _side((32, 32, 64), 1792), ("conv1",))
    totals = _row("total", _side((32, 32, 64), 1792), _side((32, 32, 64), 1792), ())
    result = SimpleNamespace(rows=(conv,), totals=totals, ok=True, mismatches=(), keras_version="3.0", backend="tensorflow")
    assert render_check(result, "text").split("\n") == [
        "layer    kind      output    keras output    trainable    keras trainable  check",
        "-------  ------  --------  --------------  -----------  -----------------  -------",
        "conv1    Conv2D  32x32x64        32x32x64        1,792              1,792  OK",
        "-------  ------  --------  --------------  -----------  -----------------  -------",
        "total            32x32x64        32x32x64        1,792              1,792  OK",
        "",
        "OK: all 1 layers and the totals agree with Keras (Keras 3.0, tensorflow backend): "
        "1,792 params (1,792 trainable, 0 non-trainable), output 32x32x64",
    ]
    assert render_check(result, "csv").split("\n") == [
        "layer,kind,output,keras output,trainable,keras trainable,check",
        "conv1,Conv2D,32x32x64,32x32x64,1792,1792,OK",
        "total,,32x32x64,32x32x64,1792,1792,OK",
    ]


def test_explanations_render_with_the_tables_units():
    e = SimpleNamespace(name="conv2", steps=(("weights", "2 x 5x5x48x128", 307_200), ("biases", "2 x 128", 256), ("params", "2 x (5x5x48x128 + 128)", 307_456), ("macs", "1", 1)))
    assert render_explanations([e]).split("\n") == [
        "conv2 weights: 2 x 5x5x48x128 = 307,200",
        "conv2 biases: 2 x 128 = 256",
        "conv2 params: 2 x (5x5x48x128 + 128) = 307,456",
        "conv2 MACs: 1",  # the expression is the value itself: written once
    ]
    assert render_explanations([e], units="human", bias=False).split("\n") == ["conv2 weights: 2 x 5x5x48x128 = 307K", "conv2 MACs: 1"]


def test_a_comparison_renders_in_every_format_it_offers():
    from cnncalc.report import render_comparison

    c = compare.compare([zoo.get("inception-naive"), zoo.get("inception-reduced")])
    text = render_comparison(c, "text").split("\n")
    assert text[0].split() == ["inception-naive", "inception-reduced"]
    assert text[-1].split()[-2:] == ["1.00x", "2.81x"]  # 1,115,684,864 / 397,410,304
    markdown = render_comparison(c, "markdown").split("\n")
    assert markdown[0].startswith("|") and "1,115,684,864" in markdown[-4] and len(markdown) == len(text)
    assert '"ops": 397410304' in render_comparison(c, "json")


def test_explain_data_feeds_report():
    a = analyze(parse("INPUT-32x32x3 -> CONV3-64"))
    (inp, conv) = explain.explain(a)
    assert conv.text("params") == "3x3x3x64 + 64" and conv.value("params") == 1792
    assert render_explanations([conv]).split("\n")[-2] == "conv1 params: 3x3x3x64 + 64 = 1,792"
