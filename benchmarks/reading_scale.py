"""Reading scale: the importers read a model in time linear in its layers and nodes, whatever
their order or names (issue 27).

Two probes once ran superlinear: a Keras functional config with its layers listed in reverse
order (a pass over every waiting layer per layer made: past 120 s for 20,000 layers, 2.4 s in
order) and ONNX nodes that share one name (a search for a free suffix from ``_2`` each time:
40-95 s for 20,000, 3.5 s with unique names). Both are measured side by side with their plain
twin, at 20,000, 40,000 and 80,000:

- ``keras``: ``from_config`` of an ``image -> ReLU x N`` chain listed in order and in reverse;
- ``onnx``: ``from_onnx`` of a ``Conv -> Relu x N`` chain whose Relu nodes share one name, and
  the same chain with unique names (the model is serialised once; reading includes parsing).

Per size: the CPU time of each (``time.process_time``, the two run in alternation: on a shared
machine the wall clock wanders by 2x), and the ratio reverse / forward (same-named / unique),
goal <= 1.5.
Each ratio's note gives the Python calls per layer of both sides (counted once under cProfile:
the noise-free figure on a loaded machine, where even CPU time wanders with the other processes'
use of the caches). Per series: the time per layer at 80,000 over the time per layer at 20,000
(linearity), goal <= 1.5, and, in its note, the same ratio of calls per layer. Only the reading is timed, not the analysis.
In full mode one more row runs ``cnncalc FILE.keras`` (the 20,000-layer reverse config) as a whole
process: issue 27's "reads in under 10 s".
"""

from __future__ import annotations

import cProfile
import gc
import json
import os
import pstats
import statistics
import sys
import tempfile
import time
import zipfile

from .harness import Row, measure, run_process

SIZES = (20_000, 40_000, 80_000)
QUICK_SIZES = (20_000, 80_000)
SMOKE_SIZES = (100, 400)
ORDER_GOAL = LINEAR_GOAL = 1.5


def keras_chain(n: int, reverse: bool) -> dict:
    """``image (8x8x3) -> r0 -> ... -> r{n-1}`` (ReLU layers), Keras 3's config format."""

    def relu(i):
        source = f"r{i - 1}" if i else "image"
        history = {"class_name": "__keras_tensor__", "config": {"shape": [None, 8, 8, 3], "dtype": "float32", "keras_history": [source, 0, 0]}}
        return {"class_name": "ReLU", "name": f"r{i}", "config": {"name": f"r{i}"}, "inbound_nodes": [{"args": [history], "kwargs": {}}]}

    layers = [relu(i) for i in range(n)]
    if reverse:
        layers.reverse()
    image = {"class_name": "InputLayer", "name": "image", "config": {"name": "image", "batch_shape": [None, 8, 8, 3]}, "inbound_nodes": []}
    return {"class_name": "Functional", "config": {"name": "chain", "layers": [image, *layers], "input_layers": [["image", 0, 0]], "output_layers": [[f"r{n - 1}", 0, 0]]}}


def onnx_chain(n: int, same_name: bool) -> bytes:
    """``x (1x3x8x8) -> Conv -> Relu x n`` as a serialised ModelProto; the Relu nodes all named
    ``block/Relu`` or each its own."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    nodes = [helper.make_node("Conv", ["x", "w"], ["t0"], name="conv")]
    for i in range(n):
        nodes.append(helper.make_node("Relu", [f"t{i}"], [f"t{i + 1}"], name="block/Relu" if same_name else f"block{i}/Relu"))
    graph = helper.make_graph(
        nodes, "chain", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info(f"t{n}", TensorProto.FLOAT, None)], initializer=[numpy_helper.from_array(np.zeros((4, 3, 1, 1), np.float32), "w")],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()


def _calls(fn) -> int:
    profile = cProfile.Profile()
    profile.enable()
    fn()
    profile.disable()
    return pstats.Stats(profile).total_calls


def _paired(first, second, repeats):
    """Median CPU seconds (``time.process_time``) of ``first()`` and of ``second()``, run in
    alternation after one untimed round of each (a shared machine's load wanders less in CPU
    time than in wall time, and alternation pairs the two under the same load)."""
    times = ([], [])
    for k in range(repeats + 1):
        for fn, found in zip((first, second), times):
            gc.collect()
            start = time.process_time()
            fn()
            if k:
                found.append(time.process_time() - start)
    return statistics.median(times[0]), statistics.median(times[1])


def _series(benchmark, label, plain_label, sizes, read, make, repeats):
    """Rows for one pair of series: ``read(make(n, hostile))`` timed against ``read(make(n, plain))``;
    each ratio row's note adds the Python calls per layer of both (cProfile, once per case)."""
    rows, per_layer = [], {}
    for n in sizes:
        plain, hostile = make(n, False), make(n, True)
        ours, twin = _paired(lambda: read(hostile), lambda: read(plain), repeats)
        calls = (_calls(lambda: read(hostile)) / n, _calls(lambda: read(plain)) / n)
        ratio = ours / twin
        rows.append(Row(benchmark, f"{n:,} {plain_label}", twin, "CPU-s", note=f"{repeats} repeats, {twin / n * 1e6:.1f} CPU-us per layer"))
        rows.append(Row(benchmark, f"{n:,} {label}", ours, "CPU-s", ratio=ratio, ratio_of=f"{label} / {plain_label}", goal=f"<= {ORDER_GOAL:g}",
                        met=ratio <= ORDER_GOAL, note=f"{repeats} repeats, {ours / n * 1e6:.1f} CPU-us per layer; Python calls per layer {calls[0]:.1f} and {calls[1]:.1f}"))
        per_layer[n] = (ours / n, calls[0])
    small, large = min(sizes), max(sizes)
    linear = per_layer[large][0] / per_layer[small][0]
    rows.append(Row(benchmark, f"linearity: {label}, time per layer at {large:,} over {small:,}", linear, "x", ratio=linear,
                    ratio_of=f"per layer {large:,} / {small:,}", goal=f"<= {LINEAR_GOAL:g}", met=linear <= LINEAR_GOAL,
                    note=f"Python calls per layer {large:,} / {small:,}: {per_layer[large][1] / per_layer[small][1]:.3f}"))
    return rows


def run(quick: bool = False, smoke: bool = False) -> list[Row]:
    from cnncalc.importers.keras import from_config
    from cnncalc.importers.onnx import from_onnx

    sizes = SMOKE_SIZES if smoke else QUICK_SIZES if quick else SIZES
    repeats = 1 if smoke or quick else 3
    rows = _series("reading-scale/keras", "layers listed in reverse", "layers listed in order", sizes, from_config, lambda n, rev: keras_chain(n, rev), repeats)
    rows += _series("reading-scale/onnx", "nodes sharing one name", "nodes with unique names", sizes, from_onnx, lambda n, same: onnx_chain(n, same), repeats)
    if not smoke and not quick:
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "reverse.keras")
            with zipfile.ZipFile(path, "w") as archive:
                archive.writestr("config.json", json.dumps(keras_chain(SIZES[0], True)))
            command = [sys.executable, "-m", "cnncalc.cli", path]
            whole = measure(lambda: run_process(command), repeats=1, warmup=0)
            rows.append(Row("reading-scale/keras", f"cnncalc FILE.keras, {SIZES[0]:,} layers in reverse (whole process: read and analyse)", whole.median, "s",
                            note="issue 27's done-when: under 10 s"))
    return rows
