"""Golden files: ``cnncalc MODEL --table`` for every zoo entry, compared byte for byte.

Regenerate with ``python -m pytest tests/test_golden.py --update-golden`` and review the diff.
Also checks the table invariant: the printed rows add up to the printed totals.
"""

import io
import pathlib

import pytest

from cnncalc import zoo
from cnncalc.cli import main

GOLDEN = pathlib.Path(__file__).parent / "golden"


def table(name, *extra):
    out = io.StringIO()
    assert main([name, "--table", *extra], out=out, err=io.StringIO()) == 0
    return out.getvalue()


@pytest.mark.parametrize("name", zoo.names())
def test_table_matches_golden_file(name, update_golden):
    path = GOLDEN / f"{name}.out"
    text = table(name)
    if update_golden:
        path.write_text(text)
    assert path.exists(), f"no golden file for '{name}': run pytest tests/test_golden.py --update-golden"
    assert text == path.read_text()


@pytest.mark.parametrize("name", zoo.names())
def test_printed_rows_sum_to_printed_totals(name):
    lines = table(name, "--all").splitlines()
    rule = [i for i, line in enumerate(lines) if line.startswith("---")]
    header, body, total = lines[rule[0] - 1], lines[rule[0] + 1 : rule[1]], lines[rule[1] + 1]
    columns = header.split()
    numbers = lambda line: [int(v.replace(",", "")) for v in line.split()[2:]]  # noqa: E731
    sums = [sum(col) for col in zip(*map(numbers, body))]
    assert sums == numbers(total), columns


def test_golden_directory_has_no_stale_files():
    expected = {f"{name}.out" for name in zoo.names()}
    assert {p.name for p in GOLDEN.glob("*.out")} <= expected
