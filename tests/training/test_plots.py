"""training.plots draws every figure, and saves each one through cnncalc.atomic."""

from __future__ import annotations

import ast
import os
from pathlib import Path

import numpy as np
import pytest

TRAINING = Path(__file__).resolve().parents[2] / "training"


def test_no_module_but_plots_draws():
    """A figure drawn elsewhere would bypass the atomic save (docs/training.md, "Layout")."""
    drawing = []
    for path in sorted(TRAINING.rglob("*.py")):
        if path.name == "plots.py" and path.parent == TRAINING:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr == "savefig":
                drawing.append(f"{path.relative_to(TRAINING)}:{node.lineno} savefig")
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("matplotlib"):
                drawing.append(f"{path.relative_to(TRAINING)}:{node.lineno} from {node.module}")
            if isinstance(node, ast.Import) and any(a.name.startswith("matplotlib.") for a in node.names):
                drawing.append(f"{path.relative_to(TRAINING)}:{node.lineno} import matplotlib.*")
    assert drawing == []


def test_figures_are_whole_readable_files_and_leave_no_temporary(tmp_path):
    pytest.importorskip("matplotlib", reason="needs matplotlib: pip install -e '.[plots]'")
    from training import plots

    out = plots.curves({"a": ([1, 2, 3], [0.5, None, 0.25])}, tmp_path / "c.png", xlabel="epoch", ylabel="loss")
    assert out == os.fspath(tmp_path / "c.png")
    plots.batch_trace([{"step": s, "epoch": 1 + s // 4, "batch_size": 2 ** (s % 4)} for s in range(8)], 2, tmp_path / "t.png")
    grid = plots.image_grid(np.zeros((4, 5, 5, 1)), np.array([0, 1, 0, 1]), ["a", "b"], tmp_path / "sub" / "g.png", per_class=2)
    assert Path(grid).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(os.listdir(tmp_path)) == ["c.png", "sub", "t.png"] and os.listdir(tmp_path / "sub") == ["g.png"]
    mask = os.umask(0o022)
    os.umask(mask)
    assert os.stat(tmp_path / "c.png").st_mode & 0o777 == 0o666 & ~mask
