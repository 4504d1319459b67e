"""Keras import: ``cnncalc FILE.keras --table`` against ``load_model(FILE).summary()``, and the
analysis cost per layer of imported graphs.

A user with a saved model today loads it with Keras (TensorFlow behind it) to see its summary;
cnncalc reads the archive's ``config.json`` without importing either. Both sides run as fresh
processes on the same files (saved here first, ``weights=None``), each paying its own interpreter
start and imports. Goal (issue 13): cnncalc at least 20x faster on every file.

``import/per-layer``: ``cnncalc.analyze(from_config(config))`` end to end (the graph read, lowered
and analysed) in microseconds per row, for catalogue models from ~160 to ~1,040 layers. Linear
cost means a flat figure; the ``linearity`` row is the per-row cost of the largest over the
smallest, goal <= 2.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import zipfile

from .harness import Row, measure, run_process

FILES = ("MobileNetV3Small", "EfficientNetB0", "NASNetMobile")
PER_LAYER = ("MobileNetV3Small", "EfficientNetB0", "NASNetMobile", "NASNetLarge")
GOAL, LINEAR_GOAL = 20.0, 2.0


def _save(names, folder):
    """Save each catalogue model as ``folder/NAME.keras``; returns {name: (path, count_params)}."""
    code = (
        "import sys, keras\n"
        "for name in sys.argv[2:]:\n"
        "    build = getattr(keras.applications, name)\n"
        "    m = build(weights=None)\n"
        "    if None in m.input_shape[1:3]:  # MobileNetV3: built for any size; save it at 224\n"
        "        m = build(weights=None, input_shape=(224, 224, 3))\n"
        "    m.save(f'{sys.argv[1]}/{name}.keras')\n"
        "    print(name, m.count_params())\n"
        "    keras.backend.clear_session()\n"
    )
    out = run_process([sys.executable, "-c", code, folder, *names]).stdout
    counts = dict(line.split() for line in out.splitlines() if line.strip())
    return {name: (os.path.join(folder, f"{name}.keras"), int(counts[name])) for name in names}


def run(quick: bool = False, smoke: bool = False) -> list[Row]:
    """``smoke``: one file, one run of cnncalc and no Keras timing (a check that it runs)."""
    from cnncalc import analyze
    from cnncalc.importers.keras import from_config

    names = FILES[:1] if smoke else FILES
    repeats, slow_repeats = (1, 1) if smoke else (3, 1) if quick else (7, 3)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        files = _save(sorted(set(names) | (set() if smoke else set(PER_LAYER))), folder)
        for name in names:
            path, params = files[name]
            ours_cmd = [sys.executable, "-m", "cnncalc.cli", path, "--table"]
            theirs_cmd = [sys.executable, "-c", f"import keras; keras.saving.load_model({path!r}).summary()"]
            if f"{params:,}" not in run_process(ours_cmd).stdout:
                raise RuntimeError(f"cnncalc {name}.keras --table did not print its {params:,} parameters")
            ours = measure(lambda: run_process(ours_cmd), repeats=repeats, warmup=0 if smoke else 1)
            rows.append(Row("import/file", f"cnncalc {name}.keras --table (whole process)", ours.median, "s", note=f"{ours.repeats} repeats, min {ours.minimum:.3f} s"))
            if smoke:
                continue
            if f"{params:,}" not in run_process(theirs_cmd).stdout:
                raise RuntimeError(f"Keras' summary of {name}.keras did not report {params:,} parameters")
            theirs = measure(lambda: run_process(theirs_cmd), repeats=slow_repeats, warmup=0)
            ratio = theirs.median / ours.median
            rows.append(
                Row("import/file", f"keras load_model({name}.keras).summary() (whole process)", theirs.median, "s",
                    ratio=ratio, ratio_of="keras / cnncalc", goal=f">= {GOAL:g}x", met=ratio >= GOAL,
                    note=f"{theirs.repeats} repeats", bound="Keras' import and model rebuild dominate; cnncalc is bounded by the interpreter start")
            )
        per_row = []
        for name in (PER_LAYER[:1] if smoke else PER_LAYER):
            path, _ = files[name]
            with zipfile.ZipFile(path) as archive:
                config = json.loads(archive.read("config.json"))
            n_rows = len(analyze(from_config(config)).layers)
            t = measure(lambda: analyze(from_config(config)), repeats=repeats, warmup=0 if smoke else 1)
            us = t.median / n_rows * 1e6
            per_row.append((name, n_rows, us))
            rows.append(Row("import/per-layer", f"{name} ({n_rows} rows): read + analyse", us, "us/row", note=f"{t.median * 1000:.1f} ms per model"))
        if len(per_row) > 1:
            small, large = per_row[0], per_row[-1]
            ratio = large[2] / small[2]
            rows.append(
                Row("import/per-layer", f"linearity: {large[0]} per row over {small[0]} per row", ratio, "x",
                    ratio=ratio, ratio_of=f"{large[1]} rows / {small[1]} rows", goal=f"<= {LINEAR_GOAL:g}", met=ratio <= LINEAR_GOAL)
            )
    return rows
