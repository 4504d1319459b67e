"""report.py is the one renderer: formats defined once, one table renderer, every CLI list from it."""

from __future__ import annotations

import pytest

from cnncalc import analyze, parse
from cnncalc.cli import _build_parser
from cnncalc.report import COMPARISON_FORMATS, FORMATS, PROOF_FORMATS, UNITS, TableOptions, csv_text, render_rows, render_table


def _choices(parser, dest):
    return next(a.choices for a in parser._actions if a.dest == dest)


def test_cli_choice_lists_come_from_report():
    parser = _build_parser()
    assert tuple(_choices(parser, "format")) == FORMATS == ("text", "markdown", "latex", "csv", "json")
    assert tuple(_choices(parser, "units")) == UNITS == ("exact", "human")
    assert set(COMPARISON_FORMATS) <= set(FORMATS) and set(PROOF_FORMATS) <= set(FORMATS)


def test_one_renderer_draws_the_totals_rule_only_in_text():
    headers, rows = ["layer", "params"], [["conv1", "1,728"], ["total", "1,728"]]
    text = render_rows(headers, rows, "text", ["left", "right"], totals_rule=True).split("\n")
    assert text[0].split() == ["layer", "params"] and set(text[1]) == {"-", " "}
    assert text[-2] == text[1] and text[-1].split() == ["total", "1,728"]
    assert len(render_rows(headers, rows, "text", totals_rule=False).split("\n")) == 4
    markdown = render_rows(headers, rows, "markdown", totals_rule=True).split("\n")
    assert markdown[0].startswith("| layer") and len(markdown) == 4
    assert "\\toprule" in render_rows(headers, rows, "latex")


def test_csv_quotes_what_needs_quoting():
    assert csv_text(["a", "b"], [["x, y", 3], ['say "hi"', "z"]]) == 'a,b\n"x, y",3\n"say ""hi""",z'


@pytest.mark.parametrize("fmt", ["text", "markdown", "latex", "csv"])
def test_every_table_format_carries_the_same_numbers(fmt):
    a = analyze(parse("INPUT-32x32x3 -> CONV3-64 -> RELU -> POOL2 -> FC-10"))
    out = render_table(a, fmt, TableOptions())
    assert ("1792" if fmt == "csv" else "1,792") in out  # conv1: 3x3x3x64 + 64
    assert ("163850" if fmt == "csv" else "163,850") in out  # fc1: 16384 x 10 + 10
    assert "total" in out
