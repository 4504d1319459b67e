"""``cnntrain report --html``: the runs' table, curves, traces, plots, bounds and configurations
in one page, made from run directories' files alone (here written directly, no training)."""

from __future__ import annotations

import base64
import json
import math
import re

import pytest

from training.runs.report import MAX_TRACE_POINTS, report
from training.runs.rundir import RunDir

# a 1x1 PNG: what an experiment's plot looks like to the report
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")


def make_run(path, *, experiment="clr", epochs=3, steps=0, bounds=None, diverged=False):
    run = RunDir(path)
    run.create({"experiment": experiment, "model": "cs231n-a", "dataset": "cifar10", "seed": 1})
    run.write_history([
        {"epoch": e + 1, "loss": (math.nan if diverged and e == epochs - 1 else 2.0 / (e + 1)), "val_loss": 2.2 / (e + 1), "val_accuracy": 0.3 + 0.1 * e, "wall_seconds": 1.5 * (e + 1)}
        for e in range(epochs)
    ])  # fmt: skip
    if steps:
        run.write_traces([{"step": s, "epoch": 1, "learning_rate": 1e-3 * (1 + s % 10), "batch_size": 32, "loss": 2.0} for s in range(steps)])
    run.write_metrics({"best_val_accuracy": 0.3 + 0.1 * (epochs - 1)})
    if bounds:
        (path / "results.json").write_text(json.dumps(bounds))
        (path / "lr_range.png").write_bytes(PNG)
    run.set_status("finished")
    return run


def embedded(page: str) -> dict:
    return json.loads(re.search(r'id="cnncalc-data">(.*?)</script>', page, re.S).group(1))


def test_html_page_holds_every_run(tmp_path):
    make_run(tmp_path / "a", steps=5000)
    make_run(tmp_path / "b", experiment="lr-range", epochs=2, bounds={"lr_min": 1e-4, "lr_max": 0.02, "other": 1}, diverged=True)
    page = tmp_path / "report.html"
    table = report([str(tmp_path / "a"), str(tmp_path / "b")], html=str(page))
    data = embedded(page.read_text())
    assert data["kind"] == "runs" and data["columns"][0] == "run"
    assert [r[0] for r in data["rows"]] == ["a", "b"] and "| a " in table
    a, b = data["runs"]
    assert [h["val_accuracy"] for h in a["history"]] == [0.3, 0.4, 0.5]
    assert a["config"]["experiment"] == "clr" and a["metrics"] == {"best_val_accuracy": 0.5}
    assert MAX_TRACE_POINTS // 2 <= len(a["traces"]) <= MAX_TRACE_POINTS and a["traces"][0]["step"] == 0
    assert a["bounds"] is None and a["images"] == []
    assert b["bounds"] == {"lr_min": 1e-4, "lr_max": 0.02}  # the finder's suggested bounds only
    assert b["images"] == [{"name": "lr_range.png", "data": "data:image/png;base64," + base64.b64encode(PNG).decode()}]
    assert b["history"][-1]["loss"] is None  # a diverged loss (NaN) is null, which JSON.parse reads


def test_runs_page_in_a_browser(tmp_path):
    from cnncalc.html.chromium import Chromium, find

    if find() is None:
        pytest.skip("Chromium is not installed (apt-get install chromium; CI installs it)")
    make_run(tmp_path / "a", steps=300)
    make_run(tmp_path / "b", experiment="lr-range", bounds={"lr_min": 1e-4, "lr_max": 0.02})
    page_path = tmp_path / "report.html"
    report([str(tmp_path / "a"), str(tmp_path / "b")], html=str(page_path))
    with Chromium() as browser:
        page = browser.open(str(page_path))
        page.wait_for("document.body.dataset.complete")
        browser.drain(0.1)
        assert page.console_errors() == []
        # the page itself and its embedded images (data: URLs, read from the page, not fetched)
        assert [u for u in page.requests() if not u.startswith("data:image/png;base64,")] == [page_path.as_uri()]
        assert page.evaluate("document.querySelectorAll('#runs tbody tr').length") == 2
        # three curves of two runs, then per run its traces (run a) and its plot (run b)
        assert page.evaluate("document.querySelectorAll('#curves svg path[stroke]').length") == 6
        assert page.evaluate("document.querySelectorAll('#each details')[0].querySelectorAll('svg').length") == 3
        assert page.evaluate("document.querySelector('#each img').naturalWidth") == 1
        assert '"lr_max": 0.02' in page.evaluate("document.querySelector('#each').innerText")
