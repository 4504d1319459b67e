"""Refresh the screenshots of docs/html.md: ``python docs/screenshots.py`` (needs Chromium and
matplotlib; ``--keras`` adds the imported NASNetMobile page, which needs Keras).

Each page is written by the same code a user runs (``cnncalc ... --html``, ``cnncalc compare ...
--html``, ``cnntrain report ... --html``, ``--plot``), opened in a headless Chromium
(:mod:`cnncalc.html.chromium`) and captured into ``docs/images/``. The runs page is made from two
small run directories written here with synthetic curves (its title says so), so the script needs
no training.
"""

from __future__ import annotations

import argparse
import io
import math
import os
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from cnncalc.cli import main as cnncalc  # noqa: E402
from cnncalc.html.chromium import Chromium  # noqa: E402

IMAGES = os.path.join(ROOT, "docs", "images")
WIDTH, HEIGHT = 1280, 860


def _cli(*argv):
    code = cnncalc(list(argv), out=io.StringIO(), err=io.StringIO())
    if code:
        raise SystemExit(f"cnncalc {' '.join(argv)} exited {code}")


def _example_runs(tmp: str) -> list[str]:
    from training.runs.rundir import RunDir

    paths = []
    for name, lr, speed in (("clr-triangular", 0.006, 1.6), ("fixed-lr", 0.001, 0.9)):
        run = RunDir(os.path.join(tmp, name))
        run.create({"experiment": "clr", "model": "cs231n-a", "dataset": "cifar10", "note": "synthetic curves for the docs' screenshot", "lr": lr})
        epochs = 12
        run.write_history([
            {"epoch": e, "loss": 2.2 * math.exp(-speed * e / epochs) + 0.3, "val_loss": 2.2 * math.exp(-speed * e / epochs) + 0.45,
             "val_accuracy": 0.75 - 0.6 * math.exp(-speed * e / epochs), "wall_seconds": 9.5 * e}
            for e in range(1, epochs + 1)
        ])  # fmt: skip
        step_size = 40
        run.write_traces([
            {"step": s, "epoch": s // 80 + 1, "batch_size": 64, "loss": 2.2 * math.exp(-speed * s / 960) + 0.3,
             "learning_rate": 0.001 + (lr - 0.001) * (1 - abs(s / step_size % 2 - 1)) if name.startswith("clr") else lr}
            for s in range(960)
        ])  # fmt: skip
        run.write_metrics({"best_val_accuracy": round(0.75 - 0.6 * math.exp(-speed), 4)})
        run.set_status("finished")
        paths.append(run.path)
    return paths


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keras", action="store_true", help="also the page of keras:NASNetMobile (needs Keras)")
    args = parser.parse_args(argv)
    os.makedirs(IMAGES, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="cnncalc-shots-") as tmp:
        pages = []

        def page(name, *argv, action=None):
            path = os.path.join(tmp, f"{name}.html")
            _cli(*argv, "--html", path)
            pages.append((name, path, action))

        page("html-vgg19", "vgg19", action="click:.network g.node[data-name='conv3_1'] rect.box")
        page("html-compare", "compare", "inception-naive", "inception-reduced", action="click:.network[data-model='inception-reduced'] g.node[data-name='inception/5x5'] rect.box")
        if args.keras:
            page("html-nasnetmobile", "keras:NASNetMobile", action="click:#panel .list a")
        from training.runs.report import report

        runs = os.path.join(tmp, "runs.html")
        report(_example_runs(tmp), html=runs)
        pages.append(("html-runs", runs, None))
        _cli("resnet50", "--plot", os.path.join(IMAGES, "plot-resnet50.png"))
        with Chromium(width=WIDTH, height=HEIGHT) as browser:
            for name, path, action in pages:
                tab = browser.open(path)
                tab.wait_for("document.body.dataset.complete")
                for step in (action or "").split(";"):
                    if step.startswith("click:"):
                        tab.click(step[6:])
                        tab.evaluate("window.scrollTo(0, document.querySelector('#network, #networks').offsetTop - 8)")
                    elif step.startswith("scroll:"):
                        tab.evaluate(f"window.scrollTo(0, document.querySelector('{step[7:]}').offsetTop - 8)")
                browser.drain(0.3)
                errors = tab.console_errors()
                if errors:
                    raise SystemExit(f"{name}: console errors: {errors}")
                out = os.path.join(IMAGES, f"{name}.png")
                tab.screenshot(out)
                print(f"wrote {os.path.relpath(out, ROOT)}")
        print(f"wrote {os.path.relpath(os.path.join(IMAGES, 'plot-resnet50.png'), ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
