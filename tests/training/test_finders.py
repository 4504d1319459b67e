"""LR range test, LR grid search and batch-size range test: the bounds rule on curves with a known
answer, then each finder on a tiny Keras regression model (seconds, not minutes)."""

import numpy as np
import pytest

from training.finders import BatchSizeResult, LRResult, fall_bounds

# -- the bounds rule on synthetic curves (no Keras needed) ----------------------------------------


def synthetic_lr_curve():
    """Flat at 2.0 up to 1e-4, falling linearly in log10(lr) to 0.5 at 1e-1, then blowing up."""
    log_lr = np.linspace(-7, 1, 161)  # 20 points per decade
    loss = np.where(log_lr < -4, 2.0, np.where(log_lr <= -1, 2.0 - 0.5 * (log_lr + 4), 0.5 + 10 * (log_lr + 1) ** 2))
    return 10.0**log_lr, loss


def test_lr_bounds_of_a_known_curve():
    # 5% of the fall (1.5) is done at log10(lr) = -4 + 0.05*3 = -3.85, 95% at -4 + 0.95*3 = -1.15.
    lrs, loss = synthetic_lr_curve()
    bounds = LRResult(lrs, loss).suggest()
    assert bounds.lr_min == pytest.approx(10**-3.85, rel=1e-9)
    assert bounds.lr_max == pytest.approx(10**-1.15, rel=1e-9)
    assert "0.05 and 0.95" in bounds.rule
    wider = LRResult(lrs, loss).suggest(frac=0.2)  # 20%: -3.4, 80%: -1.6
    assert (wider.lr_min, wider.lr_max) == (pytest.approx(10**-3.4), pytest.approx(10**-1.6))
    assert LRResult(lrs, loss).best_lr == pytest.approx(0.1)


def test_lr_bounds_ignore_diverged_points_and_use_smoothed_curve():
    lrs, loss = synthetic_lr_curve()
    raw = loss + np.random.default_rng(0).normal(scale=0.3, size=loss.size)  # noise the rule must not read
    diverged = loss.copy()
    diverged[-5:] = np.nan
    result = LRResult(lrs, raw, smoothed=diverged)
    assert result.suggest().lr_min == pytest.approx(10**-3.85, rel=1e-9)


def test_batch_size_bounds_snap_to_tested_powers_of_two():
    # fall 3.0 -> 0.5 = 2.5; done: 0, 0, .04, .4, .8, .98, .992, 1 -> 5% first at 64, so b_min is
    # the last size before it (32); 95% first at 256.
    result = BatchSizeResult(
        batch_sizes=2 ** np.arange(3, 11),
        losses=np.array([3.0, 3.0, 2.9, 2.0, 1.0, 0.55, 0.52, 0.5]),
        train_losses=np.zeros(8),
        iterations=100,
        physical_batch_sizes=2 ** np.arange(3, 11),
        accumulation_steps=np.ones(8, dtype=int),
        seconds=np.zeros(8),
    )
    bounds = result.suggest()
    assert (bounds.b_min, bounds.b_max) == (32, 256)


def test_bounds_rule_refuses_curves_that_never_fall():
    with pytest.raises(ValueError, match="never falls below its starting value"):
        fall_bounds([1, 2, 3], [1.0, 1.5, 2.0])
    with pytest.raises(ValueError, match="at least two finite losses"):
        fall_bounds([1, 2, 3], [np.nan, 1.0, np.inf])
    with pytest.raises(ValueError, match="frac must lie in"):
        fall_bounds([1, 2], [2.0, 1.0], frac=0.5)


# -- the finders on a tiny Keras model ------------------------------------------------------------


def _keras():
    return pytest.importorskip("keras")


def _data(n=256, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 8)).astype("float32")
    w = rng.normal(size=(8, 1)).astype("float32")
    return x, (x @ w + 0.1 * rng.normal(size=(n, 1))).astype("float32")


def _model_fn(optimizer="adam", lr=1e-3):
    keras = _keras()
    from training.optimizers import make

    def build():
        model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, activation="relu"), keras.layers.Dense(1)])
        opt = keras.optimizers.SGD(learning_rate=lr) if optimizer == "sgd" else make(optimizer, learning_rate=lr)
        model.compile(optimizer=opt, loss="mse")
        return model

    return build


def _values(variables):
    return [np.array(_keras().ops.convert_to_numpy(v)) for v in variables]


@pytest.mark.keras
def test_lr_range_test_smooths_per_batch_loss_and_restores_state(tmp_path):
    keras = _keras()
    from training.finders import lr_range_test

    x, y = _data()
    model = _model_fn("adam", 1e-3)()
    model.fit(x, y, batch_size=32, epochs=1, verbose=0)  # non-trivial moments and iterations = 8
    weights, opt_state = _values(model.variables), _values(model.optimizer.variables)
    first = np.random.default_rng(0).permutation(len(x))[:32]  # the test's first batch (seed 0)
    loss_first = float(np.mean((keras.ops.convert_to_numpy(model(x[first])) - y[first]) ** 2))

    result = lr_range_test(model, (x, y), start_lr=1e-5, end_lr=100.0, num_steps=80, batch_size=32)

    # the learning rate grows geometrically: ratio (1e7)**(1/79) per step
    np.testing.assert_allclose(result.lrs[1:] / result.lrs[:-1], 1e7 ** (1 / 79), rtol=1e-9)
    assert result.lrs[0] == pytest.approx(1e-5)
    # losses are per batch (not Keras' running epoch mean): the first is the first batch's loss
    assert result.losses[0] == pytest.approx(loss_first, rel=1e-5)
    # smoothed = bias-corrected EMA with beta 0.98
    avg, expected = 0.0, []
    for i, loss in enumerate(result.losses):
        avg = 0.98 * avg + 0.02 * loss
        expected.append(avg / (1 - 0.98 ** (i + 1)))
    np.testing.assert_allclose(result.smoothed, expected, rtol=1e-12)
    # it stopped at divergence: the last smoothed loss exceeds 4x the best before it
    assert result.stopped_early and len(result.lrs) < 80
    assert result.smoothed[-1] > 4 * result.smoothed[:-1].min() or not np.isfinite(result.losses[-1])
    # weights and every optimizer variable (iterations, lr, moments) are back
    for a, b in zip(weights, _values(model.variables)):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(opt_state, _values(model.optimizer.variables)):
        np.testing.assert_array_equal(a, b)
    assert int(keras.ops.convert_to_numpy(model.optimizer.iterations)) == 8
    assert float(model.optimizer.learning_rate) == pytest.approx(1e-3)

    bounds = result.suggest()
    assert 1e-5 <= bounds.lr_min < bounds.lr_max <= result.lrs[-1]
    result.plot(tmp_path / "lr_range.png")
    assert (tmp_path / "lr_range.png").stat().st_size > 1000


@pytest.mark.keras
def test_lr_range_test_without_restore_and_fresh_model_fn():
    from training.finders import lr_range_test

    x, y = _data()
    model = _model_fn("sgd", 0.01)()
    before = _values(model.trainable_variables)
    lr_range_test(model, (x, y), 1e-4, 1e-2, num_steps=5, batch_size=32, restore=False)
    assert any(not np.array_equal(a, b) for a, b in zip(before, _values(model.trainable_variables)))
    result = lr_range_test(_model_fn("rmsprop_nesterov", 0.01), (x, y), 1e-4, 1e-2, num_steps=10, batch_size=64)
    assert len(result.lrs) == 10 and not result.stopped_early


@pytest.mark.keras
def test_lr_range_test_rejects_bad_arguments():
    keras = _keras()
    from training.finders import lr_range_test
    from training.schedules import CyclicalLearningRate

    x, y = _data(64)
    with pytest.raises(ValueError, match="need 0 < start_lr < end_lr"):
        lr_range_test(_model_fn(), (x, y), 1.0, 0.1)
    with pytest.raises(ValueError, match=r"batch_size must lie in \[1, 64\]"):
        lr_range_test(_model_fn(), (x, y), batch_size=128)
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(CyclicalLearningRate(1e-3, 1e-2, 10)), loss="mse")
    with pytest.raises(ValueError, match="float learning rate"):
        lr_range_test(model, (x, y))
    with pytest.raises(ValueError, match="must be compiled"):
        lr_range_test(keras.Sequential([keras.Input((8,)), keras.layers.Dense(1)]), (x, y))


@pytest.mark.slow
@pytest.mark.keras
def test_lr_grid_search_default_grid(tmp_path):
    from training.finders import lr_grid_search

    x, y = _data(128)
    result = lr_grid_search(_model_fn("sgd"), (x, y), epochs=2, batch_size=64)
    np.testing.assert_allclose(result.lrs, np.logspace(-9, 1, 10))  # 1e-9, 1.29e-8, ..., 10
    assert result.method == "grid_search" and all(len(h) in (1, 2) for h in result.histories)
    # same seed, same start: the tiniest rates leave the loss where it was
    assert result.histories[0][0] == pytest.approx(result.histories[1][0], rel=1e-5)
    finite = np.isfinite(result.losses)
    assert finite[:7].all()  # 1e-9 .. 1.7e-3 train fine
    assert result.losses[6] < result.losses[0]  # 1.7e-3 learns something in 4 steps
    assert not np.isfinite(result.losses[-1]) or result.losses[-1] > result.losses[0]  # 10 diverges
    assert result.suggest().lr_max <= 10.0
    result.plot(tmp_path / "grid.png")
    assert (tmp_path / "grid.png").stat().st_size > 1000


@pytest.mark.slow
@pytest.mark.keras
def test_batch_size_range_test_same_iterations_with_accumulation(tmp_path):
    from training.finders import batch_size_range_test

    x, y = _data(256)
    result = batch_size_range_test(_model_fn("sgd"), (x, y), learning_rate=0.05, b_lo=8, b_hi=64, iterations=15, max_physical_batch=16)
    assert result.batch_sizes.tolist() == [8, 16, 32, 64]
    assert result.physical_batch_sizes.tolist() == [8, 16, 16, 16]
    assert result.accumulation_steps.tolist() == [1, 1, 2, 4]
    assert result.iterations == 15  # checked against optimizer.iterations inside
    assert np.isfinite(result.losses).all()
    bounds = result.suggest() if result.losses.min() < result.losses[0] else None
    if bounds is not None:
        assert 8 <= bounds.b_min <= bounds.b_max <= 64
    result.plot(tmp_path / "bs.png")
    assert (tmp_path / "bs.png").stat().st_size > 1000


@pytest.mark.slow
@pytest.mark.keras
def test_gradient_accumulation_equals_the_big_batch():
    # Effective batch 16 as 4 physical batches of 4 sees the same samples per update as one batch
    # of 16 (same seed, same permutation), so plain SGD ends at the same weights and loss.
    from training.finders import batch_size_range_test

    x, y = _data(64)
    kwargs = dict(learning_rate=0.05, b_lo=16, b_hi=16, iterations=6)
    whole = batch_size_range_test(_model_fn("sgd"), (x, y), **kwargs)
    accumulated = batch_size_range_test(_model_fn("sgd"), (x, y), max_physical_batch=4, **kwargs)
    assert accumulated.accumulation_steps.tolist() == [4]
    assert accumulated.losses[0] == pytest.approx(whole.losses[0], rel=1e-5)
    assert whole.losses[0] < batch_size_range_test(_model_fn("sgd"), (x, y), learning_rate=0.05, b_lo=16, b_hi=16, iterations=1).losses[0]


@pytest.mark.keras
def test_batch_size_range_test_default_iterations_and_bad_arguments():
    from training.finders import batch_size_range_test

    x, y = _data(64)
    result = batch_size_range_test(_model_fn("sgd"), (x, y), learning_rate=0.01, b_lo=32, b_hi=32, epochs_at_lo=2)
    assert result.iterations == 2 * (64 // 32)
    with pytest.raises(ValueError, match="b_lo and b_hi must be powers of two"):
        batch_size_range_test(_model_fn(), (x, y), b_lo=48, b_hi=64)
    with pytest.raises(ValueError, match="need b_lo <= b_hi"):
        batch_size_range_test(_model_fn(), (x, y), b_lo=64, b_hi=32)
    with pytest.raises(ValueError, match="batch size 128 exceeds the 64 samples"):
        batch_size_range_test(_model_fn(), (x, y), b_lo=32, b_hi=128, iterations=1)
