"""CyclicalLearningRate against Smith's formula (bckenstler/CLR) at known steps, inside fit, saved and loaded."""

import numpy as np
import pytest

pytestmark = pytest.mark.keras
keras = pytest.importorskip("keras")

from training.optimizers import make  # noqa: E402
from training.schedules import CyclicalLearningRate, LearningRateRecorder  # noqa: E402

# bckenstler/CLR's README example: base_lr=0.001, max_lr=0.006, step_size=2000.
BASE, MAX, STEP = 0.001, 0.006, 2000


def smith(t, mode="triangular", gamma=1.0):
    """Smith 2017 / bckenstler/CLR, in float64 numpy."""
    cycle = np.floor(1 + t / (2 * STEP))
    x = np.abs(t / STEP - 2 * cycle + 1)
    scale = {"triangular": 1.0, "triangular2": 1 / 2 ** (cycle - 1), "exp_range": gamma**t}[mode]
    return BASE + (MAX - BASE) * np.maximum(0, 1 - x) * scale


@pytest.mark.parametrize(
    "mode, gamma, known",
    [
        # triangular: base at 0, peak at step_size, back at 2*step_size, same peak every cycle
        ("triangular", 1.0, {0: 0.001, 500: 0.00225, 1000: 0.0035, 2000: 0.006, 3000: 0.0035, 4000: 0.001, 6000: 0.006}),
        # triangular2: amplitude 0.005, 0.0025, 0.00125 in cycles 1, 2, 3
        ("triangular2", 1.0, {2000: 0.006, 4000: 0.001, 6000: 0.0035, 7000: 0.00225, 10000: 0.00225, 9000: 0.001625}),
        # exp_range: amplitude times gamma**t
        ("exp_range", 0.99994, {0: 0.001, 2000: 0.001 + 0.005 * 0.99994**2000, 6000: 0.001 + 0.005 * 0.99994**6000}),
    ],
)
def test_values_at_known_steps(mode, gamma, known):
    clr = CyclicalLearningRate(BASE, MAX, STEP, mode=mode, gamma=gamma)
    for t, lr in known.items():
        assert float(clr(t)) == pytest.approx(lr, rel=1e-6), (mode, t)
        assert clr.value(t) == pytest.approx(lr, rel=1e-12), (mode, t)


@pytest.mark.parametrize("mode, gamma", [("triangular", 1.0), ("triangular2", 1.0), ("exp_range", 0.9999)])
def test_matches_formula_over_three_cycles(mode, gamma):
    clr = CyclicalLearningRate(BASE, MAX, STEP, mode=mode, gamma=gamma)
    t = np.arange(0, 6 * STEP + 1, 37)
    got = keras.ops.convert_to_numpy(clr(keras.ops.convert_to_tensor(t)))
    np.testing.assert_allclose(got, smith(t, mode, gamma), rtol=1e-6)
    assert got.min() >= BASE * (1 - 1e-6) and got.max() <= MAX * (1 + 1e-6)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"base_lr": 0.01, "max_lr": 0.01, "step_size": 10}, "max_lr must be > base_lr"),
        ({"base_lr": 0.1, "max_lr": 0.01, "step_size": 10}, "max_lr must be > base_lr"),
        ({"base_lr": -1.0, "max_lr": 0.01, "step_size": 10}, "base_lr must be >= 0"),
        ({"base_lr": 0.001, "max_lr": 0.01, "step_size": 0}, "step_size must be > 0"),
        ({"base_lr": 0.001, "max_lr": 0.01, "step_size": 10, "mode": "cosine"}, "unknown mode 'cosine'; valid modes: triangular, triangular2, exp_range"),
        ({"base_lr": 0.001, "max_lr": 0.01, "step_size": 10, "mode": "exp_range", "gamma": 1.5}, r"gamma must lie in \(0, 1\]"),
    ],
)
def test_bad_arguments_raise_one_clear_line(kwargs, message):
    with pytest.raises(ValueError, match=message) as info:
        CyclicalLearningRate(**kwargs)
    assert "\n" not in str(info.value)


def test_config_round_trip():
    clr = CyclicalLearningRate(1e-4, 1e-2, 50, mode="exp_range", gamma=0.999)
    again = CyclicalLearningRate.from_config(clr.get_config())
    assert again.get_config() == clr.get_config()
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(clr))
    assert isinstance(restored, CyclicalLearningRate) and float(restored(75)) == pytest.approx(float(clr(75)))


def _data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype("float32")
    return x, (x @ np.array([[1.0], [-2.0], [0.5], [0.0]], dtype="float32"))


def _model(optimizer):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)])
    model.compile(optimizer=optimizer, loss="mse")
    return model


def test_schedule_drives_fit_and_recorder_sees_it(tmp_path):
    x, y = _data()
    clr = CyclicalLearningRate(0.001, 0.01, step_size=3, mode="triangular2")
    model = _model(make("rmsprop_nesterov", learning_rate=clr))
    recorder = LearningRateRecorder()
    model.fit(x, y, batch_size=8, epochs=2, verbose=0, callbacks=[recorder])  # 16 steps
    assert recorder.steps == list(range(16))
    np.testing.assert_allclose(recorder.learning_rates, [clr.value(t) for t in range(16)], rtol=1e-6)
    assert recorder.learning_rates[3] == pytest.approx(0.01) and recorder.learning_rates[9] == pytest.approx(0.0055)
    out = recorder.plot(tmp_path / "lr.png")
    assert (tmp_path / "lr.png").stat().st_size > 1000 and out == tmp_path / "lr.png"


def test_model_compiled_with_clr_saves_and_loads(tmp_path):
    x, y = _data()
    clr = CyclicalLearningRate(0.001, 0.02, step_size=4, mode="exp_range", gamma=0.99)
    model = _model(make("adam", learning_rate=clr))
    model.fit(x, y, batch_size=16, epochs=2, verbose=0)  # 8 steps
    path = tmp_path / "clr.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    schedule = loaded.optimizer._learning_rate
    assert isinstance(schedule, CyclicalLearningRate)
    assert schedule.get_config() == clr.get_config()
    assert int(keras.ops.convert_to_numpy(loaded.optimizer.iterations)) == 8
    assert float(loaded.optimizer.learning_rate) == pytest.approx(clr.value(8), rel=1e-6)
    # both continue identically
    model.fit(x, y, batch_size=16, epochs=1, verbose=0, shuffle=False)
    loaded.fit(x, y, batch_size=16, epochs=1, verbose=0, shuffle=False)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_recorder_every_n_and_validation():
    with pytest.raises(ValueError, match="every must be >= 1"):
        LearningRateRecorder(every=0)
    x, y = _data()
    model = _model(make("rmsprop", learning_rate=CyclicalLearningRate(0.001, 0.01, 2)))
    rec = LearningRateRecorder(every=3)
    model.fit(x, y, batch_size=8, epochs=1, verbose=0, callbacks=[rec])
    assert rec.steps == [0, 3, 6]
