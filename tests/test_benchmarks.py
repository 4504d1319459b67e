"""Benchmarks (``python -m benchmarks``): every benchmark runs in its smoke form and returns
well-formed rows. No test here asserts a time: only the structure of the results (rows, units,
ratios positive and finite, goals stated with a verdict) and the results file.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from benchmarks import augmentation_throughput, schedule_overhead
from benchmarks.__main__ import BENCHMARKS, main
from benchmarks.harness import Row


def check_rows(rows, benchmark_prefix, *, goals):
    assert rows and all(isinstance(r, Row) for r in rows)
    assert all(r.benchmark.startswith(benchmark_prefix) for r in rows)
    for r in rows:
        assert math.isfinite(r.value) and r.value > 0, r
        assert r.unit and r.case, r
        if r.ratio is not None:
            assert math.isfinite(r.ratio) and r.ratio > 0, r
            assert r.ratio_of, r
        # A goal always comes with a ratio and a verdict; no verdict without a goal.
        assert (r.goal != "") == (r.met is not None), r
        if r.goal:
            assert r.ratio is not None
    assert sum(r.goal != "" for r in rows) == goals
    assert len({(r.case, r.unit) for r in rows}) == len(rows)  # no case twice


def test_registry_names_every_benchmark():
    assert list(BENCHMARKS) == ["cli-latency", "cli-startup", "scale", "schedule-overhead", "augmentation", "keras-import", "onnx-peer", "torchvision-onnx", "reading-scale", "html", "training-loop", "multi-host"]


@pytest.mark.slow
def test_html_page_smoke():
    from benchmarks import html_page

    rows = html_page.run(smoke=True)
    check_rows(rows, "html/", goals=2)
    assert [r.unit for r in rows] == ["s", "MB"] * 2
    assert all(r.met for r in rows if r.goal)  # small pages are far under 2 MB


@pytest.mark.slow
def test_scale_smoke(tmp_path, capsys):
    out = tmp_path / "r.md"
    code = main(["--only", "scale", "--smoke", "--output", str(out)])
    assert code in (0, 1)
    text = out.read_text()
    assert "python -m benchmarks --smoke --only scale" in text
    assert "## Machine" in text and "- cpu: " in text and "(smoke mode, " in text
    assert "| scale/resnet | resnet-20, 74 rows, numeric 32x32x3" in text
    assert "linearity" in capsys.readouterr().out
    from benchmarks import scale

    check_rows(scale.run(smoke=True), "scale/", goals=3)


def test_unknown_benchmark_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--only", "nope"])
    assert exc.value.code == 2
    assert "invalid choice: 'nope'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--quick", "--smoke"])


def test_cli_startup_smoke():
    from benchmarks import cli_startup

    rows = cli_startup.run(smoke=True)
    check_rows(rows, "cli-startup", goals=2)
    assert [r.unit for r in rows[:4]] == ["s CPU"] * 4 and all(r.unit == "ms" for r in rows[4:])
    assert [r.case.split(",")[1].split("(")[0].strip() for r in rows[:4]] == ["installed", "installed", "from source", "from source"]


@pytest.mark.slow
@pytest.mark.keras
def test_cli_latency_smoke():
    pytest.importorskip("keras")  # the benchmark times 'import keras' and a Keras summary in child processes
    from benchmarks import cli_latency

    rows = cli_latency.run(smoke=True)
    check_rows(rows, "cli-latency", goals=0)
    assert [r.unit for r in rows] == ["s", "s", "s"]


@pytest.mark.slow
@pytest.mark.keras
def test_schedule_overhead_smoke():
    pytest.importorskip("keras")
    rows = schedule_overhead.run(smoke=True)
    check_rows(rows, "schedule-overhead", goals=2)
    assert [r.unit for r in rows] == ["steps/s"] * 3 + ["CPU-ms/step"] * 3 + ["µs/step"]
    assert [r.ratio is None for r in rows] == [True, False, False] * 2 + [False]
    assert rows[-1].ratio <= 1  # a predicted slowdown, never a speed-up


@pytest.mark.keras
def test_old_keras_clr_callback_follows_bckenstler_formula():
    keras = pytest.importorskip("keras")
    from training.schedules import CyclicalLearningRate

    callback = schedule_overhead.old_keras_clr_callback(0.001, 0.006, 4)
    schedule = CyclicalLearningRate(0.001, 0.006, 4)
    for t in range(12):
        callback.clr_iterations = float(t)
        assert callback.clr() == pytest.approx(schedule.value(t)), t
    assert isinstance(callback, keras.callbacks.Callback)


@pytest.mark.slow
@pytest.mark.keras
def test_augmentation_smoke():
    pytest.importorskip("keras")
    rows = augmentation_throughput.run(smoke=True)
    check_rows(rows, "augmentation", goals=1)
    assert [r.unit for r in rows] == ["images/s"] * 3


@pytest.mark.slow
@pytest.mark.keras
def test_keras_import_smoke():
    pytest.importorskip("keras")  # the benchmark saves a catalogue model with Keras first
    from benchmarks import keras_import

    rows = keras_import.run(smoke=True)
    check_rows(rows, "import/", goals=0)
    assert [r.unit for r in rows] == ["s", "us/row"]
    assert "MobileNetV3Small" in rows[1].case


@pytest.mark.slow
def test_torchvision_onnx_smoke():
    """The stored ViT-B/16 export read once (the smoke form skips the 330 MB file onnx-tool needs)."""
    pytest.importorskip("onnx", reason="needs the onnx package (the dev extra has it)")
    from benchmarks import torchvision_onnx

    rows = torchvision_onnx.run(smoke=True)
    check_rows(rows, "torchvision-onnx/", goals=1)


@pytest.mark.slow
def test_onnx_peer_smoke():
    pytest.importorskip("onnx_tool", reason="needs onnx-tool, the peer it compares with (pip install onnx-tool; the dev extra has it)")
    pytest.importorskip("torch", reason="needs torch to write the ONNX file (pip install torch==2.13.0; CI installs it)")
    from benchmarks import onnx_tool_peer

    rows = onnx_tool_peer.run(smoke=True)
    check_rows(rows, "onnx-peer/", goals=0)
    assert [r.unit for r in rows] == ["ms", "ms", "params", "params", "MACs", "MACs"]
    # Both tools count the same parameters; onnx-tool's MACs add bias adds and element-wise ops.
    assert rows[3].ratio == 1.0 and rows[5].ratio > 1.0


@pytest.mark.slow
def test_reading_scale_smoke():
    pytest.importorskip("onnx", reason="needs the onnx package (pip install 'cnncalc[onnx]'; CI installs it)")
    from benchmarks import reading_scale

    rows = reading_scale.run(smoke=True)
    check_rows(rows, "reading-scale/", goals=6)  # reverse / forward and same-named / unique at two sizes, two linearity rows
    assert [r.benchmark for r in rows] == ["reading-scale/keras"] * 5 + ["reading-scale/onnx"] * 5 and rows[0].unit == "CPU-s"
    assert rows[1].ratio_of == "layers listed in reverse / layers listed in order" and "Python calls per layer" in rows[1].note and "Python calls per layer" in rows[4].note
    # The configs and graphs are what they say: the reverse config holds the same layers.
    forward, backward = reading_scale.keras_chain(3, False), reading_scale.keras_chain(3, True)
    assert forward["config"]["layers"][1:] == backward["config"]["layers"][:0:-1]


@pytest.mark.slow
@pytest.mark.keras
def test_training_loop_smoke():
    pytest.importorskip("keras")
    from benchmarks import training_loop

    rows = training_loop.run(smoke=True)
    check_rows(rows, "training-loop", goals=2)  # the loop without checkpoints, in wall and in CPU time
    epochs, gaps = ["plain fit", "cnntrain loop", "cnntrain loop + checkpoints"], ["cnntrain loop: between epochs", "cnntrain loop + checkpoints: between epochs"]
    assert [r.case for r in rows] == (epochs + gaps) * 2
    assert [r.unit for r in rows] == ["s/epoch"] * 3 + ["ms"] * 2 + ["CPU-s/epoch"] * 3 + ["CPU-ms"] * 2
    assert "the checkpoint's own cost" in rows[2].note and "paired speed ratio" in rows[1].note
    assert "the checkpoint's own cost" in rows[4].note and "plain fit:" in rows[3].note


@pytest.mark.keras
@pytest.mark.slow
def test_multihost_smoke(xla_cache, monkeypatch):
    pytest.importorskip("jax", reason="needs JAX: pip install -e '.[dev]' (jax[cpu])")
    from benchmarks import multihost
    from tests.training.test_backends import FAST_COMPILE

    monkeypatch.setenv("JAX_COMPILATION_CACHE_DIR", str(xla_cache))  # shared with the other JAX tests; smoke compiles unoptimised
    for key in ("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES"):
        monkeypatch.setenv(key, FAST_COMPILE[key])

    rows = multihost.run(smoke=True)  # three child processes: one alone, two joined on 127.0.0.1
    check_rows(rows, "multi-host/", goals=0)
    assert [r.case for r in rows] == ["1 process x 2 threads", "2 processes x 1 thread", "all-reduce of the gradients (2 processes)", "all-reduce of one float (2 processes)"]
    assert [r.unit for r in rows] == ["examples/s", "examples/s", "ms/step", "ms"]
    assert 0 < rows[2].ratio < 1  # an all-reduce inside a step takes part of it


def test_numpy_augment_is_pad_crop_flip_cutout():
    rng = np.random.default_rng(3)
    images = rng.uniform(1, 2, (20, 32, 32, 3)).astype(np.float32)
    out = augmentation_throughput.numpy_augment(images, np.random.default_rng(0))
    assert out.shape == images.shape and out.dtype == images.dtype
    for img, src in zip(out, images):
        zero = img[..., 0] == 0
        assert zero.any()  # a Cutout square (or padding) is there
        kept = img[~zero]
        # Every kept pixel is a pixel of the source image, moved, not interpolated.
        assert np.isin(kept[:, 0], src[..., 0]).all()
    no_cut = augmentation_throughput.numpy_augment(images, np.random.default_rng(0), pad=0, length=0)
    flipped = [np.array_equal(a, b[:, ::-1]) for a, b in zip(no_cut, images)]
    same = [np.array_equal(a, b) for a, b in zip(no_cut, images)]
    assert all(f or s for f, s in zip(flipped, same)) and any(flipped) and any(same)


def test_a_missed_goal_says_by_how_much_and_what_bounds_it():
    from benchmarks.__main__ import results_markdown

    rows = [
        Row("b", "fast enough", 0.97, "x", ratio=0.9712, ratio_of="ours / theirs", goal=">= 0.98x",
            met=False, bound="noise bounds it"),
        Row("b", "other", 3.0, "x", ratio=3.0, ratio_of="a / b", goal=">= 2x", met=True),
    ]
    text = results_markdown(rows, {"cpu": "test"}, ["b"], "quick", 1.0)
    assert "- missed: b: fast enough: 0.971 (goal >= 0.98x). noise bounds it" in text
    assert "goals met" not in text.split("## Goals")[1]
    assert "(quick mode, 1 s)" in text


def test_only_replaces_its_own_rows_and_keeps_the_others():
    """``--only`` keeps the rows (and a missed goal) of benchmarks it did not run, with the run
    they came from, and replaces every row of the family it ran, also the ones it no longer makes."""
    from benchmarks.__main__ import BENCHMARKS, Earlier, results_markdown

    first = [
        Row("scale/resnet", "resnet-20", 5.0, "ms"),
        Row("scale/chain", "chain-100", 3.0, "ms"),
        Row("import/file", "keras file", 2.0, "s", ratio=0.9, ratio_of="a / b", goal=">= 1x", met=False,
            bound="noise"),
        Row("cli-startup", "cnncalc", 0.07, "s CPU", ratio=2.0, ratio_of="c / d", goal="<= 3x", met=True),
    ]
    full = results_markdown(first, {"date": "2026-12-01 10:00 UTC", "load average at start (1, 5, 15 min)": "0.5"},
                            list(BENCHMARKS), "full", 100.0)
    again = [Row("scale/resnet", "resnet-20", 4.0, "ms")]
    text = results_markdown(again, {"date": "2026-12-02 11:00 UTC", "load average at start (1, 5, 15 min)": "1.5"},
                            ["scale"], "quick", 2.0, Earlier(full))
    figures = text.split("## Figures")[1].split("## Goals")[0]
    assert "| scale/resnet" in figures and "| 4.00 " in figures and "| 5.00 " not in figures
    assert "scale/chain" not in figures  # the rerun family's rows go, even one it did not make
    assert "| import/file " in figures and "| cli-startup " in figures
    runs = text.split("## Runs")[1].split("## Figures")[0]
    assert "- 2026-12-02 11:00 UTC (quick mode, 2 s), load at start 1.5: scale" in runs
    assert "2026-12-01 10:00 UTC (full mode, 100 s), load at start 0.5: cli-latency, cli-startup," in runs
    assert ": scale," not in runs and ", scale," not in runs
    goals = text.split("## Goals")[1]
    assert "- missed: import/file: keras file: 0.900 (goal >= 1x). noise" in goals
    # Run again on its own output: nothing doubles.
    twice = results_markdown(again, {"date": "2026-12-02 12:00 UTC"}, ["scale"], "quick", 2.0, Earlier(text))
    assert twice.count("| scale/resnet") == 1 and twice.count("| import/file") == 1
    assert twice.count(": scale\n") == 1
