"""``cnntrain optimizers``: the MLP with dropout, L2 on built kernels, and the 5 x 2 sweep end to end
on real Fashion-MNIST (a 2-method subset for speed), its files, numbers and resume."""

import json
import os
import shutil

import numpy as np
import pytest

from training.cli import main

pytestmark = pytest.mark.keras
keras = pytest.importorskip("keras", reason="needs TensorFlow/Keras: pip install -e '.[dev]'")

TINY = ["--subset", "512", "--test-subset", "256", "--epochs", "2", "--quiet"]
FIVE = ["adagrad", "rmsprop", "rmsprop_nesterov", "adadelta", "adam"]


# ----------------------------------------------------------------------------- model pieces


def test_mlp_dropout_layers_and_counts_match_the_calculator():
    from cnncalc import analyze
    from training.models import build, spec_for

    plain = build("mlp", (32, 32, 3), 10)
    dropped = build("mlp", (32, 32, 3), 10, input_dropout=0.2, dropout=0.5)
    assert not any(isinstance(layer, keras.layers.Dropout) for layer in plain.layers)
    rates = [layer.rate for layer in dropped.layers if isinstance(layer, keras.layers.Dropout)]
    assert rates == [0.2, 0.5, 0.5]  # after the flatten, after each of the two hidden ReLUs
    totals = analyze(spec_for("mlp", (32, 32, 3), 10, input_dropout=0.2, dropout=0.5)).totals
    assert dropped.count_params() == plain.count_params() == totals.params == 4_084_010


def test_add_l2_penalty_is_in_the_loss_and_survives_a_checkpoint(tmp_path):
    from training.models import add_l2, build, compile_model

    model = compile_model(build("mlp", (6, 6, 1), 3, hidden=8), "adam")  # compiled first, as the recipe does
    assert add_l2(model, 1e-2) == ["fc1", "fc2", "fc3"]
    kernels = [layer.kernel.numpy() for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    penalty = 1e-2 * sum(float(np.sum(k.astype(np.float64) ** 2)) for k in kernels)
    assert len(model.losses) == 3
    assert float(sum(keras.ops.convert_to_numpy(v) for v in model.losses)) == pytest.approx(penalty, rel=1e-5)
    x = np.random.default_rng(0).normal(size=(12, 6, 6, 1)).astype("float32")
    y = np.arange(12) % 3
    probs = model.predict(x, verbose=0)
    cross_entropy = float(np.mean(-np.log(probs[np.arange(12), y])))
    assert model.evaluate(x, y, verbose=0, return_dict=True)["loss"] == pytest.approx(cross_entropy + penalty, rel=1e-5)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras", compile=False)
    assert float(sum(keras.ops.convert_to_numpy(v) for v in loaded.losses)) == pytest.approx(penalty, rel=1e-5)
    with pytest.raises(ValueError, match="> 0"):
        add_l2(model, 0.0)


def test_default_methods_are_all_five():
    from training.experiments import load_recipes, resolve_config

    exp = load_recipes()["optimizers"]
    for preset in ("quick", "paper"):
        config = resolve_config(exp, preset, {})
        assert config["methods"] == FIVE and config["model"] == "mlp"
    paper = resolve_config(exp, "paper", {})
    assert (paper["dataset"], paper["epochs"], paper["batch_size"]) == ("cifar10", 200, 128)
    assert (paper["dropout_input"], paper["dropout_hidden"]) == (0.2, 0.5)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--dropout-hidden", "1.5"], "--dropout-hidden must lie in [0, 1)"),
        (["--l2", "-1"], "--l2 must be >= 0"),
        (["--methods", "adam", "adam"], "lists a method twice"),
        (["--methods", "sgd"], "invalid choice"),
        (["--model", "lenet5"], "trains the zoo's mlp"),
    ],
)
def test_bad_options_exit_2_with_one_line_and_no_run_directory(tmp_path, capsys, args, message):
    out = tmp_path / "run"
    assert main(["optimizers", *args, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and message in err[0]
    assert not out.exists()


# ----------------------------------------------------------------------------- end to end


@pytest.mark.slow
@pytest.mark.real_fashion_mnist
def test_two_methods_with_and_without_dropout_then_resume(tmp_path, capsys):
    out = tmp_path / "opt"
    assert main(["optimizers", "--methods", "adam", "rmsprop", "--out", str(out), *TINY]) == 0
    names = ["rmsprop_no_dropout", "adam_no_dropout", "rmsprop_dropout", "adam_dropout"]  # canonical method order
    log = capsys.readouterr().err
    assert [line for line in log.splitlines() if line.startswith(("run 1/", "run 2/", "run 3/", "run 4/"))] == [f"run {i}/4: {n}" for i, n in enumerate(names, 1)]
    files = set(os.listdir(out))
    assert {"loss_no_dropout.png", "loss_dropout.png", "loss_with_without_dropout.png", "time_bars.png", "results.md", "results.json", *names} <= files

    results = json.loads((out / "results.json").read_text())
    assert results["methods"] == ["rmsprop", "adam"]
    assert results["learning_rate"] == {"rmsprop": 0.001, "adam": 0.001}
    for method in ("rmsprop", "adam"):
        for variant in ("no_dropout", "dropout"):
            run = results["runs"][f"{method}_{variant}"]
            assert 0.0 <= results["test_accuracy"][method][variant] <= 1.0
            assert results["test_accuracy"][method][variant] == run["test_accuracy"]
            assert results["train_seconds"][method][variant] > 0
            assert len(run["loss"]) == 2 and all(np.isfinite(run["loss"]))
        # adaptive methods at 1e-3 learn Fashion-MNIST well above chance in 2 small epochs
        assert results["test_accuracy"][method]["no_dropout"] > 0.5
        plain, dropped = results["runs"][f"{method}_no_dropout"]["loss"], results["runs"][f"{method}_dropout"]["loss"]
        assert not np.allclose(plain, dropped)
        assert plain[1] < plain[0]  # the loss falls
    # Each sub-run records what it trained with: the same L2 in both variants, dropout only in one.
    for name in names:
        sub_config = json.loads((out / name / "config.json").read_text())
        dropout = name.endswith("_dropout") and not name.endswith("no_dropout")
        assert sub_config["variant"] == ("dropout" if dropout else "no_dropout")
        assert (sub_config["l2"], sub_config["dropout_input"], sub_config["dropout_hidden"]) == ((1e-4, 0.2, 0.5) if dropout else (1e-4, 0.0, 0.0))
        assert results["runs"][name]["l2"] == 1e-4
    assert results["variants"] == {"no_dropout": {"l2": 1e-4, "dropout_input": 0.0, "dropout_hidden": 0.0},
                                   "dropout": {"l2": 1e-4, "dropout_input": 0.2, "dropout_hidden": 0.5}}
    for name in ("adam_no_dropout", "adam_dropout"):
        assert_l2_is_in_the_trained_model(out / name, 1e-4, dropout=name == "adam_dropout")
    assert_results_md_matches_json((out / "results.md").read_text(), results)
    scaling = results["dropout_scaling"]
    best = max(["rmsprop", "adam"], key=lambda m: results["test_accuracy"][m]["dropout"])
    assert scaling["subrun"] == f"{best}_dropout" and scaling["images"] == 256
    assert scaling["keep_probability"] == {"fc1": 0.8, "fc2": 0.5, "fc3": 0.5}
    # Keras' own evaluate, the argmax of its predictions and the textbook's weight-scaled network agree.
    assert scaling["inverted_dropout_accuracy"] == pytest.approx(results["test_accuracy"][best]["dropout"], abs=1e-6)
    assert scaling["weight_scaled_accuracy"] == scaling["inverted_dropout_accuracy"] and scaling["predictions_differing"] == 0
    assert scaling["max_probability_difference"] < 1e-5
    assert scaling["weight_scaled_cross_entropy"] == pytest.approx(scaling["inverted_dropout_cross_entropy"], abs=1e-5)
    assert scaling["unscaled_cross_entropy"] > scaling["inverted_dropout_cross_entropy"]  # W/q unscaled: overconfident

    # Half-finished sweep: the last sub-run and the results vanish; resume trains only that one.
    finished = {n: (out / n / "metrics.json").stat().st_mtime_ns for n in names[:3]}
    shutil.rmtree(out / "adam_dropout")
    (out / "results.json").unlink()
    (out / "status.json").write_text(json.dumps({"state": "interrupted"}))
    assert main(["resume", str(out), "--quiet"]) == 0
    assert {n: (out / n / "metrics.json").stat().st_mtime_ns for n in names[:3]} == finished
    again = json.loads((out / "results.json").read_text())
    assert again["runs"]["rmsprop_no_dropout"] == results["runs"]["rmsprop_no_dropout"]
    # the retrained sub-run is deterministic (seeded data order, weights and dropout)
    assert again["runs"]["adam_dropout"]["loss"] == pytest.approx(results["runs"]["adam_dropout"]["loss"], rel=1e-5)
    assert json.loads((out / "status.json").read_text())["state"] == "finished"

    # A sub-run recording other regularisation (an older layout: no L2 without dropout) is refused
    # before anything trains.
    config_path = out / "adam_no_dropout" / "config.json"
    config_path.write_text(json.dumps({**json.loads(config_path.read_text()), "l2": 0.0}))
    (out / "status.json").write_text(json.dumps({"state": "interrupted"}))
    capsys.readouterr()
    assert main(["resume", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: sub-run adam_no_dropout was trained with")


def assert_l2_is_in_the_trained_model(sub, factor, *, dropout):
    """The trained model's loss minus the same weights' loss in the plain mlp (no L2, no Dropout;
    Keras evaluates with dropout off) is exactly the penalty ``factor * sum(w**2)`` over the three
    Dense kernels, computed here: L2 is in the no-dropout variant as in the dropout one."""
    from training.data import load
    from training.models import build, compile_model

    state = json.loads((sub / "checkpoint" / "latest.json").read_text())
    trained = keras.models.load_model(sub / "checkpoint" / state["dir"] / "model.keras")
    rates = [layer.rate for layer in trained.layers if isinstance(layer, keras.layers.Dropout)]
    assert rates == ([0.2, 0.5, 0.5] if dropout else [])
    kernels = [layer.kernel.numpy().astype(np.float64) for layer in trained.layers if isinstance(layer, keras.layers.Dense)]
    penalty = factor * sum(float(np.sum(k**2)) for k in kernels)
    assert len(kernels) == 3 and penalty > 0
    plain = compile_model(build("mlp", (28, 28, 1), 10), "adam")
    plain.set_weights(trained.get_weights())
    test = load("fashion_mnist", subset=512, test_subset=256, seed=0)
    x, y = test.x_test[:128], test.y_test[:128]
    with_l2 = trained.evaluate(x, y, verbose=0, return_dict=True)["loss"]
    without = plain.evaluate(x, y, verbose=0, return_dict=True)["loss"]
    assert with_l2 - without == pytest.approx(penalty, rel=1e-4)


def _table(md, heading):
    """The rows of the first table after ``## heading`` as lists of cells (header row dropped)."""
    return _rows(md.split(f"## {heading}", 1)[1].splitlines())


def _rows(lines):
    """The first markdown table in ``lines`` as lists of cells, header and rule dropped."""
    start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    end = next((i for i in range(start, len(lines)) if not lines[i].startswith("|")), len(lines))
    return [[c.strip() for c in line.strip("|").split("|")] for line in lines[start + 2 : end]]


def assert_results_md_matches_json(md, r):
    """Every answer of results.md, read back from the markdown, equals results.json's number."""
    methods = r["methods"]
    lines = md.splitlines()
    assert lines[0].startswith("# Problem 1:")
    # It opens with the exercise part each table and figure answers.
    opening = [row[0] for row in _rows(lines[2:])]
    assert opening == ["part 2", "part 3", "part 4"]
    assert "## Part 2" in md and "## Part 3" in md and "## Part 4" in md
    part2 = _table(md, "Part 2")[: len(methods)]
    assert [row[0] for row in part2] == methods
    for row, m in zip(part2, methods):
        assert float(row[2]) == pytest.approx(r["final_loss"][m]["no_dropout"], abs=5e-5)
    for variant, label in (("no_dropout", "with L2"), ("dropout", "with dropout")):
        lowest = r["lowest_final_loss"][variant]
        assert lowest == min(methods, key=lambda m: r["final_loss"][m][variant])
        assert f"Lowest final training loss {label}: **{lowest}** ({r['final_loss'][lowest][variant]:.4f})" in md
    for row, m in zip(_table(md, "Part 3")[: len(methods)], methods):
        loss_without, loss_with, loss_ratio, s_without, s_with, time_ratio = map(float, row[1:])
        assert (loss_without, loss_with) == pytest.approx((r["final_loss"][m]["no_dropout"], r["final_loss"][m]["dropout"]), abs=5e-5)
        assert loss_ratio == pytest.approx(r["final_loss"][m]["dropout"] / r["final_loss"][m]["no_dropout"], abs=5e-4)
        # seconds are shown to 0.1 s: compare the text (an approx of +-0.05 fails on a tie such as 1.25 -> "1.2")
        assert row[4:6] == [f"{r['train_seconds'][m]['no_dropout']:.1f}", f"{r['train_seconds'][m]['dropout']:.1f}"], (row, r["train_seconds"][m])
        assert time_ratio == pytest.approx(r["train_seconds"][m]["dropout"] / r["train_seconds"][m]["no_dropout"], abs=5e-4)
    for row, m in zip(_table(md, "Part 4")[: len(methods)], methods):
        acc2, acc3, diff = map(float, row[1:])
        assert (acc2, acc3) == pytest.approx((r["test_accuracy"][m]["no_dropout"], r["test_accuracy"][m]["dropout"]), abs=5e-5)
        assert diff == pytest.approx(acc3 - acc2, abs=2e-4)
    s = r["dropout_scaling"]
    assert (f"computed on `{s['subrun']}` ({s['images']} test images): Keras' inverted dropout (no mask and no scaling at test) "
            f"gives test accuracy {s['inverted_dropout_accuracy']:.4f}") in md
    assert (f"kernels times q at test; q: fc1 0.8, fc2 0.5, fc3 0.5) gives {s['weight_scaled_accuracy']:.4f} "
            f"({s['weight_scaled_cross_entropy']:.4f}): **the same test accuracy**, {s['predictions_differing']} of {s['images']} predictions differ") in md
    assert f"Without the test-time scaling: {s['unscaled_accuracy']:.4f} ({s['unscaled_cross_entropy']:.4f})" in md
