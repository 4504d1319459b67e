"""cnncalc.atomic, the one writer of run files, plots and benchmark results: whole files only,
readable like any other file.

It lives in cnncalc (the base package) and is tested here with its main user, the trainer.
"""

from __future__ import annotations

import ast
import os
import stat
import sys

import pytest

from cnncalc import atomic, confined


@pytest.fixture
def umask():
    """Run the test under a known umask, then put the caller's back."""
    saved = os.umask(0o022)
    yield lambda mask: os.umask(mask)
    os.umask(saved)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
@pytest.mark.parametrize("mask", [0o022, 0o002, 0o077])
def test_written_files_get_0666_less_the_umask_not_mkstemps_0600(tmp_path, umask, mask):
    umask(mask)
    atomic.write_text(tmp_path / "a.txt", "text\n")
    atomic.write_json(tmp_path / "b.json", {"x": 1})
    atomic.write_csv(tmp_path / "c.csv", ["x"], [[1]])
    with atomic.replacing(tmp_path / "d.bin") as tmp, open(tmp, "wb") as fh:
        fh.write(b"\x00")
    for name in ("a.txt", "b.json", "c.csv", "d.bin"):
        assert mode(tmp_path / name) == 0o666 & ~mask, name
    # and what a plain open() gives under the same umask
    (tmp_path / "plain.txt").write_text("x")
    assert mode(tmp_path / "a.txt") == mode(tmp_path / "plain.txt")


def test_usual_umask_gives_0644(tmp_path, umask):
    umask(0o022)
    atomic.write_text(tmp_path / "results.md", "# results\n")
    assert oct(mode(tmp_path / "results.md")) == oct(0o644)
    assert os.umask(0o022) == 0o022  # the writer put the umask back


def test_round_trip_and_no_temporary_file_left(tmp_path):
    atomic.write_json(tmp_path / "m.json", {"a": [1, 2.5], "b": None})
    atomic.write_csv(tmp_path / "h.csv", ["epoch", "loss"], [[1, 0.5], [2, 0.25]])
    assert atomic.read_json(tmp_path / "m.json") == {"a": [1, 2.5], "b": None}
    assert atomic.read_csv(tmp_path / "h.csv") == (["epoch", "loss"], [["1", "0.5"], ["2", "0.25"]])
    assert sorted(os.listdir(tmp_path)) == ["h.csv", "m.json"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    atomic.write_text(tmp_path / "r.txt", "old")
    with pytest.raises(RuntimeError):
        with atomic.replacing(tmp_path / "r.txt") as tmp:
            with open(tmp, "w") as fh:
                fh.write("half")
            raise RuntimeError("crash")
    assert (tmp_path / "r.txt").read_text() == "old"
    assert os.listdir(tmp_path) == ["r.txt"]


@pytest.mark.parametrize("module", [atomic, confined], ids=["atomic", "confined"])
def test_imports_only_the_standard_library(module):
    tree = ast.parse(open(module.__file__, encoding="utf-8").read())
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.level == 0}
    relative = {a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.level == 1 for a in n.names}
    assert imported and imported <= set(sys.stdlib_module_names), imported - set(sys.stdlib_module_names)
    assert relative <= {"confined"}, relative  # atomic's one relative import, itself standard-library only
