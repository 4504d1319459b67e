"""CLI latency: ``cnncalc vgg19 --table`` as a whole process versus Keras' ``summary()``.

What a user does today to see VGG19's layer table is start Python, import Keras (and TensorFlow
behind it), build ``keras.applications.VGG19(weights=None)`` and call ``summary()``. Both sides run
as fresh processes, so each pays its own interpreter start and imports, exactly as a user would.
Goal (issue 7): cnncalc at least 10x faster.
"""

from __future__ import annotations

import sys

from .harness import Row, measure, run_process

CNNCALC = [sys.executable, "-m", "cnncalc.cli", "vgg19", "--table"]
KERAS_SUMMARY = [
    sys.executable,
    "-c",
    "import keras; keras.applications.VGG19(weights=None).summary()",
]
KERAS_IMPORT = [sys.executable, "-c", "import keras"]
PYTHON_BARE = [sys.executable, "-c", "pass"]

GOAL = 10.0


def run(quick: bool = False, smoke: bool = False) -> list[Row]:
    """``smoke``: one run of each of the first three rows, no Keras summary (a check that it runs)."""
    fast_repeats, slow_repeats, slow_warmup = (1, 1, 0) if smoke else (3, 1, 0) if quick else (9, 5, 1)
    # The output must be the real table, or the timing means nothing.
    table = run_process(CNNCALC).stdout
    if "143,667,240" not in table:
        raise RuntimeError("cnncalc vgg19 --table did not print VGG19's 143,667,240 parameters")
    if not smoke and "143,667,240" not in run_process(KERAS_SUMMARY).stdout:
        raise RuntimeError("Keras' VGG19 summary() did not report 143,667,240 parameters")

    bare = measure(lambda: run_process(PYTHON_BARE), repeats=fast_repeats, warmup=0 if smoke else 1)
    ours = measure(lambda: run_process(CNNCALC), repeats=fast_repeats, warmup=0 if smoke else 1)
    keras_import = measure(lambda: run_process(KERAS_IMPORT), repeats=slow_repeats, warmup=slow_warmup)
    name = "cli-latency"
    rows = [
        Row(name, "python -c pass (interpreter start, the floor of both)", bare.median, "s"),
        Row(name, "cnncalc vgg19 --table (whole process)", ours.median, "s",
            note=f"{ours.repeats} repeats, min {ours.minimum:.3f} s; "
            f"{ours.median - bare.median:.3f} s beyond the interpreter start"),
        Row(name, "python -c 'import keras' (whole process)", keras_import.median, "s",
            ratio=keras_import.median / ours.median, ratio_of="keras import / cnncalc",
            note=f"{keras_import.repeats} repeats"),
    ]
    if smoke:
        return rows
    keras_summary = measure(lambda: run_process(KERAS_SUMMARY), repeats=slow_repeats, warmup=slow_warmup)
    ratio = keras_summary.median / ours.median
    return rows + [
        Row(name, "keras VGG19(weights=None).summary() (whole process)", keras_summary.median, "s",
            ratio=ratio, ratio_of="keras summary / cnncalc", goal=f">= {GOAL:g}x",
            met=ratio >= GOAL, note=f"{keras_summary.repeats} repeats, min {keras_summary.minimum:.3f} s"),
    ]
