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


@pytest.mark.real_fashion_mnist
def test_two_methods_with_and_without_dropout_then_resume(tmp_path, capsys):
    out = tmp_path / "opt"
    assert main(["optimizers", "--methods", "adam", "rmsprop", "--out", str(out), *TINY]) == 0
    names = ["rmsprop_no_dropout", "adam_no_dropout", "rmsprop_dropout", "adam_dropout"]  # canonical method order
    log = capsys.readouterr().err
    assert [line for line in log.splitlines() if line.startswith(("run 1/", "run 2/", "run 3/", "run 4/"))] == [f"run {i}/4: {n}" for i, n in enumerate(names, 1)]
    files = set(os.listdir(out))
    assert {"loss_no_dropout.png", "loss_dropout.png", "time_bars.png", "results.md", "results.json", *names} <= files

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
    sub_config = json.loads((out / "adam_dropout" / "config.json").read_text())
    assert sub_config["method"] == "adam" and sub_config["variant"] == "dropout"
    table = (out / "results.md").read_text()
    assert "| adam |" in table and f"{results['test_accuracy']['adam']['dropout']:.4f}" in table

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
