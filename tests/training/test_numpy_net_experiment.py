"""training.numpy_net.run: one preset run on small synthetic images, files and plots."""

import csv
import json
import os

import numpy as np
import pytest

from training.numpy_net.run import PRESETS, prepare_data, run_numpy_net, weight_grid

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
FAST = dict(learning_rate=5e-2, std=1e-2, num_iters=60, batch_size=50)  # unit-scale data


def synthetic(shape=(6, 6, 3), classes=3, n=(300, 60, 60), seed=0, dtype=np.float64):
    """uint8-like images, class c brighter in its own block of pixels: separable by a linear map."""
    rng = np.random.default_rng(seed)
    data = {}
    d = int(np.prod(shape))
    for split, size in zip(("train", "val", "test"), n):
        y = rng.integers(0, classes, size)
        x = rng.normal(0, 1, (size, d))
        block = d // classes
        mask = (np.arange(d) // block)[None, :] == y[:, None]
        x[mask] += 2.0
        data[f"x_{split}"] = x.reshape(size, *shape).astype(dtype)
        data[f"y_{split}"] = y
    return data


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    pytest.importorskip("matplotlib")
    out = tmp_path_factory.mktemp("run")
    metrics = run_numpy_net(synthetic(), preset="quick", out_dir=out, seed=0, **FAST)
    return out, metrics


def test_run_writes_the_run_directory(quick_run):
    out, metrics = quick_run
    names = sorted(os.listdir(out))
    assert names == ["config.json", "first_layer_weights.png", "history.csv", "history.png",
                     "loss_history.csv", "metrics.json"]  # and no temporary file left behind
    assert json.loads((out / "metrics.json").read_text()) == metrics
    for png in ("history.png", "first_layer_weights.png"):
        assert (out / png).read_bytes().startswith(PNG_SIGNATURE)
    assert metrics["plots"] == ["history.png", "first_layer_weights.png"]


def test_metrics_report_accuracies_and_sizes(quick_run):
    _, m = quick_run
    assert m["test_accuracy"] > 0.9 and m["val_accuracy"] > 0.9 and m["train_accuracy"] > 0.9
    assert m["num_params"] == 108 * 50 + 50 + 50 * 3 + 3
    assert m["num_iters"] == 60 and m["epochs"] == 60 / (300 // 50)
    assert m["preset"] == "quick" and m["seed"] == 0 and m["diverged"] is False


def test_config_records_the_resolved_hyperparameters(quick_run):
    out, _ = quick_run
    config = json.loads((out / "config.json").read_text())
    assert config["hyperparameters"] == {**PRESETS["quick"], **FAST}
    assert config["overrides"] == FAST
    assert config["image_shape"] == [6, 6, 3] and config["num_classes"] == 3
    assert config["sizes"] == {"train": 300, "val": 60, "test": 60}
    assert "mean training image" in config["preprocessing"]


def test_history_csv_has_one_row_per_epoch_record(quick_run):
    out, _ = quick_run
    with open(out / "history.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["epoch", "iteration", "learning_rate", "loss", "accuracy", "val_accuracy"]
    # 300 // 50 = 6 iterations per epoch; records at iterations 0, 6, ..., 54
    assert [int(r["iteration"]) for r in rows] == list(range(0, 60, 6))
    assert float(rows[1]["learning_rate"]) == pytest.approx(5e-2 * 0.95)
    with open(out / "loss_history.csv", newline="") as f:
        assert len(list(csv.reader(f))) == 1 + 60


def test_same_seed_same_run_and_global_rng_untouched(tmp_path):
    data = synthetic(n=(100, 20, 20))
    np.random.seed(5)
    expected_next = np.random.RandomState(5).rand()
    a = run_numpy_net(data, out_dir=tmp_path / "a", seed=1, plots=False, **FAST)
    b = run_numpy_net(data, out_dir=tmp_path / "b", seed=1, plots=False, **FAST)
    c = run_numpy_net(data, out_dir=tmp_path / "c", seed=2, plots=False, **FAST)
    assert np.random.rand() == expected_next
    drop = lambda m: {k: v for k, v in m.items() if "seconds" not in k}  # noqa: E731
    assert drop(a) == drop(b)
    assert a["final_loss"] != c["final_loss"]
    assert a["plots"] == [] and not (tmp_path / "a" / "history.png").exists()


def test_quick_preset_defaults_run_on_uint8_images_with_column_labels(tmp_path):
    data = synthetic(shape=(8, 8), n=(400, 50, 50), seed=3)
    for k in ("x_train", "x_val", "x_test"):
        data[k] = np.clip(data[k] * 40 + 100, 0, 255).astype(np.uint8)
    for k in ("y_train", "y_val", "y_test"):
        data[k] = data[k][:, None]  # (N, 1) labels, as the CIFAR-10 pickles give after stacking
    m = run_numpy_net(data, preset="quick", out_dir=tmp_path, num_iters=50)
    assert m["test_accuracy"] > 0.8  # the quick preset's lr 1e-3 is meant for pixel-scale inputs


def test_flat_inputs_of_non_square_size_still_get_a_weight_plot(tmp_path):
    pytest.importorskip("matplotlib")
    data = synthetic(shape=(10,), n=(100, 20, 20))
    m = run_numpy_net(data, out_dir=tmp_path, num_iters=5, plots=True)
    assert (tmp_path / "first_layer_weights.png").read_bytes().startswith(PNG_SIGNATURE)
    assert m["plots"][-1] == "first_layer_weights.png"


@pytest.mark.parametrize(
    "mutate, kwargs, message",
    [
        (lambda d: d.pop("x_test"), {}, "missing x_test"),
        (lambda d: d.update(y_val=d["y_val"][:-1]), {}, r"y_val must have shape \(20,\)"),
        (lambda d: d.update(x_val=d["x_val"][:, :3]), {}, "x_val must have shape"),
        (lambda d: d.update(y_test=d["y_test"] - 1), {}, r"labels must lie in"),
        (lambda d: d.update(y_train=d["y_train"].astype(float)), {}, "integer labels"),
        (lambda d: None, {"preset": "huge"}, "preset must be one of"),
        (lambda d: None, {"momentum": 0.9}, r"unknown override\(s\) \['momentum'\]"),
        (lambda d: None, {"hidden_size": 0}, "hidden_size must be a positive integer"),
        (lambda d: None, {"seed": -1}, "seed must be"),
    ],
)
def test_bad_runs_raise_one_line_value_errors(tmp_path, mutate, kwargs, message):
    data = synthetic(n=(100, 20, 20))
    mutate(data)
    with pytest.raises(ValueError, match=message) as info:
        run_numpy_net(data, out_dir=tmp_path / "run", plots=False, **{"num_iters": 2, **kwargs})
    assert "\n" not in str(info.value)
    assert not any((tmp_path / "run").glob("*.json"))  # nothing half-written


def test_numpy_scalar_overrides_are_recorded(tmp_path):
    m = run_numpy_net(synthetic(n=(100, 20, 20)), out_dir=tmp_path, plots=False,
                      num_iters=np.int64(3), learning_rate=np.float32(1e-2))
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["overrides"]["num_iters"] == 3 and m["num_iters"] == 3


def test_paper_preset_is_the_notebooks_first_cifar10_run():
    # two_layer_net.ipynb: TwoLayerNet(3072, 50, 10) (std 1e-4), num_iters=1000, batch_size=200,
    # learning_rate=1e-4, learning_rate_decay=0.95, reg=0.25
    assert PRESETS["paper"] == {"hidden_size": 50, "learning_rate": 1e-4, "learning_rate_decay": 0.95,
                                "reg": 0.25, "num_iters": 1000, "batch_size": 200, "std": 1e-4}


def test_prepare_data_centres_on_the_training_mean():
    d = prepare_data(synthetic(n=(50, 10, 10)))
    np.testing.assert_allclose(d["x_train"].mean(axis=0), 0.0, atol=1e-5)
    assert d["x_val"].dtype == np.float32 and d["x_val"].shape == (10, 108)
    assert d["num_classes"] == 3 and d["image_shape"] == (6, 6, 3)


def test_weight_grid_tiles_filters_row_major_each_scaled_to_0_1():
    H = 5
    W1 = np.arange(16 * H, dtype=float).reshape(16, H) * np.array([1, -1, 2, 3, 0.5])
    grid = weight_grid(W1, (4, 4), padding=1)
    # ceil(sqrt(5)) = 3 per row, 2 rows: (2*5 - 1, 3*5 - 1)
    assert grid.shape == (9, 14)
    first = grid[:4, :4]
    np.testing.assert_allclose(first, (np.arange(16).reshape(4, 4) * 5) / 75)
    assert first.min() == 0 and first.max() == 1
    assert np.all(grid[4, :] == 0) and np.all(grid[5:, 10:] == 0)  # padding row, empty cell


def test_weight_grid_rgb_and_inferred_shapes():
    assert weight_grid(np.ones((3072, 10))).shape == (3 * 33 - 1, 4 * 33 - 1, 3)  # 4 per row
    assert weight_grid(np.ones((784, 4))).shape == (2 * 29 - 1, 2 * 29 - 1)
    with pytest.raises(ValueError, match="cannot infer an image shape for D=10"):
        weight_grid(np.ones((10, 2)))
    with pytest.raises(ValueError, match="does not hold D=10"):
        weight_grid(np.ones((10, 2)), (3, 3))
