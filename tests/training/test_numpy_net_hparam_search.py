"""training.numpy_net.search: grid and random search over the NumPy two-layer net."""

import math

import numpy as np
import pytest

from training.numpy_net.search import LogUniform, search_hyperparameters


def blobs(n, d=10, classes=3, seed=0):
    """Separable Gaussian blobs: class c is centred at 3 * e_c."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n)
    X = rng.standard_normal((n, d))
    X[np.arange(n), y] += 3.0
    return X, y


@pytest.fixture(scope="module")
def split():
    X, y = blobs(500)
    return X[:400], y[:400], X[400:], y[400:]


def test_grid_tries_every_combination_and_keeps_the_best(split):
    result = search_hyperparameters(
        *split, hidden_sizes=[5, 20], learning_rates=[1e-3, 3e-1], regs=[1e-3], epochs=[3],
        batch_size=50, std=0.1,
    )
    assert len(result.trials) == 4
    assert [(t["hidden_size"], t["learning_rate"]) for t in result.trials] == [
        (5, 1e-3), (5, 3e-1), (20, 1e-3), (20, 3e-1)
    ]
    assert all(t["num_iters"] == 3 * (400 // 50) for t in result.trials)
    best_acc = max(t["val_acc"] for t in result.trials)
    assert result.best["val_acc"] == best_acc
    assert result.best["learning_rate"] == 3e-1  # 24 steps of 1e-3 barely move the weights
    X_val, y_val = split[2], split[3]
    assert (result.best_net.predict(X_val) == y_val).mean() == best_acc
    assert best_acc > 0.9
    assert result.best_net.hidden_size == result.best["hidden_size"]
    assert len(result.best_history["loss_history"]) == result.best["num_iters"]


def test_table_lists_all_trials_best_first(split):
    result = search_hyperparameters(*split, learning_rates=[1e-4, 1e-1], epochs=[2], batch_size=50,
                                    std=0.1)
    lines = result.table().splitlines()
    assert len(lines) == 2 + 2  # header, rule, one line per trial
    assert "val_acc" in lines[0] and "hidden_size" in lines[0]
    assert lines[2].split("|")[1].strip() == str(result.best["trial"])


def test_random_search_samples_log_uniform_ranges_reproducibly(split):
    kwargs = dict(hidden_sizes=[8, 16], learning_rates=LogUniform(1e-3, 1e-1),
                  regs=LogUniform(1e-5, 1e-1), epochs=[1, 2], method="random", num_trials=5,
                  batch_size=100, seed=3)
    a = search_hyperparameters(*split, **kwargs)
    b = search_hyperparameters(*split, **kwargs)
    assert len(a.trials) == 5
    assert all(1e-3 <= t["learning_rate"] <= 1e-1 and 1e-5 <= t["reg"] <= 1e-1 for t in a.trials)
    assert all(t["hidden_size"] in (8, 16) and t["epochs"] in (1, 2) for t in a.trials)
    strip = lambda r: [{k: v for k, v in t.items() if k != "seconds"} for t in r.trials]  # noqa: E731
    assert strip(a) == strip(b)


def test_a_diverging_trial_is_flagged_and_not_chosen(split):
    # lr * 2 * reg = 200: the weight decay step alone multiplies W by -199 each iteration
    result = search_hyperparameters(*split, hidden_sizes=[20], learning_rates=[1e-1, 1e4],
                                    regs=[1e-2], epochs=[20], batch_size=50, std=0.1)
    diverged = [t for t in result.trials if t["diverged"]]
    assert [t["learning_rate"] for t in diverged] == [1e4]
    assert not math.isfinite(diverged[0]["final_loss"])
    assert result.best["learning_rate"] == 1e-1


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"method": "bayes"}, "method must be"),
        ({"learning_rates": LogUniform(1e-3, 1e-1)}, "needs method='random'"),
        ({"hidden_sizes": []}, "non-empty list"),
        ({"hidden_sizes": [0]}, "positive integer"),
        ({"regs": [-1.0]}, "non-negative"),
        ({"method": "random"}, "num_trials"),
        ({"epochs": [0]}, "epochs"),
    ],
)
def test_bad_search_arguments_raise(split, kwargs, message):
    with pytest.raises(ValueError, match=message):
        search_hyperparameters(*split, **kwargs)


def test_log_uniform_needs_an_ordered_positive_range():
    with pytest.raises(ValueError, match="0 < low <= high"):
        LogUniform(0.0, 1.0)
    with pytest.raises(ValueError, match="0 < low <= high"):
        LogUniform(1.0, 0.1)
