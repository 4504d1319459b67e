"""CyclicalBatchSize: the trajectory at known steps, every sample once per epoch, and model.fit."""

import numpy as np
import pytest

from training.batching import CyclicalBatchSize


def test_exponential_trajectory_at_known_steps():
    # 32 -> 512 is four doublings; step_size 4 moves one doubling per step, then back down.
    policy = CyclicalBatchSize(32, 512, step_size=4)
    assert [policy.batch_size(t) for t in range(10)] == [32, 64, 128, 256, 512, 256, 128, 64, 32, 64]
    # step_size 8: two steps per doubling (2**(5 + 0.5) rounds half up to 64)
    slow = CyclicalBatchSize(32, 512, step_size=8)
    assert [slow.batch_size(t) for t in (0, 1, 2, 4, 8, 16, 24)] == [32, 64, 64, 128, 512, 32, 512]


def test_linear_trajectory_snaps_to_powers_of_two():
    # b = 32 + h*480 then 2**round(log2 b): h=.25 -> 152 (2**7.25) -> 128; .5 -> 272 (2**8.09) -> 256;
    # .75 -> 392 (2**8.61) -> 512: the linear path reaches the large sizes sooner than the exponential.
    policy = CyclicalBatchSize(32, 512, step_size=4, mode="linear")
    assert [policy.batch_size(t) for t in range(5)] == [32, 128, 256, 512, 512]


def test_exp_increase_trajectory_at_known_steps():
    # 32 -> 512 (log2 5 -> 9), step_size 4, gamma 0.9: the troughs (t = 0, 8, 16, 24) sit at
    # 2**(9 - 4 * 0.9**t) = 2**5, 2**7.28, 2**8.26, 2**8.68 -> 32, 128, 256, 512; the peaks stay at 512.
    policy = CyclicalBatchSize(32, 512, step_size=4, mode="exp_increase", gamma=0.9)
    assert [policy.batch_size(t) for t in (0, 8, 16, 24)] == [32, 128, 256, 512]
    assert [policy.batch_size(t) for t in (4, 12, 20, 28)] == [512] * 4
    # half way up the second cycle (t=6, h=0.5): 2**(9 - 0.5 * 4 * 0.9**6) = 2**7.94 -> 256, where the
    # exponential mode is at 2**7 = 128
    assert policy.batch_size(6) == 256 and CyclicalBatchSize(32, 512, step_size=4).batch_size(6) == 128
    assert policy.low_end(8) == pytest.approx(2 ** (9 - 4 * 0.9**8))  # 155.2, drawn on the trace
    troughs = [policy.batch_size(t) for t in range(0, 200, 8)]
    assert troughs == sorted(troughs)  # the cycles only drift toward b_max


def test_exp_increase_is_exp_range_seen_through_the_noise_scale():
    # exp_range's excursion above lr_min at its peaks is gamma**t of the full one (Smith 2017, 3.1);
    # exp_increase's excursion below b_max (log2 space: the noise scale lr*N/B moves a doubling at a
    # time) at its troughs is gamma**t of the full one.
    from training.schedules import CyclicalLearningRate

    gamma, step_size = 0.97, 5
    clr = CyclicalLearningRate(1e-4, 1e-1, step_size, mode="exp_range", gamma=gamma)
    cbs = CyclicalBatchSize(16, 1024, step_size, mode="exp_increase", gamma=gamma)
    for k in range(6):
        peak, trough = (2 * k + 1) * step_size, 2 * k * step_size
        assert (clr.value(peak) - 1e-4) / (1e-1 - 1e-4) == pytest.approx(gamma**peak)
        assert (10 - np.log2(cbs.low_end(trough))) / (10 - 4) == pytest.approx(gamma**trough)
    # gamma = 1 is the exponential mode
    flat = CyclicalBatchSize(16, 1024, step_size, mode="exp_increase", gamma=1.0)
    assert [flat.batch_size(t) for t in range(40)] == [CyclicalBatchSize(16, 1024, step_size).batch_size(t) for t in range(40)]


@pytest.mark.parametrize("n", [1000, 1023, 7, 4096])
def test_every_sample_once_per_epoch_with_power_of_two_shapes(n):
    policy = CyclicalBatchSize(8, 128, step_size=5)
    for epoch in range(4):
        batches = policy.epoch_batches(n, epoch, seed=1)
        np.testing.assert_array_equal(np.sort(np.concatenate(batches)), np.arange(n))
    assert sum(policy.batch_sizes) == 4 * n
    assert set(policy.batch_sizes) <= {1 << k for k in range(8)}  # 1 .. 128: at most 8 shapes
    assert policy.steps == list(range(len(policy.batch_sizes)))


def test_epochs_continue_the_cycle():
    policy = CyclicalBatchSize(4, 32, step_size=3)
    assert policy.epoch_plan(100, 0) == [4, 8, 16, 32, 16, 8, 4, 8, 4]  # 96 on the trajectory + remainder 4
    policy.epoch_batches(100, 1)
    assert policy.batch_sizes[:9] == [4, 8, 16, 32, 16, 8, 4, 8, 4]
    # epoch 2 starts at step 9, the peak: 32, 16, 8, 4, 8, 16 (84 samples), then 32 no longer fits
    # and the remaining 16 make one batch
    assert policy.batch_sizes[9:] == [32, 16, 8, 4, 8, 16, 16]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"b_min": 48, "b_max": 512, "step_size": 4}, "b_min and b_max must be powers of two"),
        ({"b_min": 512, "b_max": 512, "step_size": 4}, "b_max must be > b_min"),
        ({"b_min": 32, "b_max": 512, "step_size": 0}, "step_size must be > 0"),
        ({"b_min": 32, "b_max": 512, "step_size": 4, "mode": "cosine"}, "unknown mode 'cosine'; valid modes: exponential, linear, exp_increase"),
        ({"b_min": 32, "b_max": 512, "step_size": 4, "mode": "exp_increase", "gamma": 0}, r"gamma must lie in \(0, 1\], got 0"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        CyclicalBatchSize(**kwargs)


@pytest.mark.keras
def test_trains_with_plain_fit_and_records_per_step_sizes(tmp_path):
    keras = pytest.importorskip("keras")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(100, 4)).astype("float32")
    y = (x @ np.array([[1.0], [2.0], [-1.0], [0.5]])).astype("float32")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse")
    policy = CyclicalBatchSize(4, 32, step_size=3)

    # one epoch through a plain model.fit
    model.fit(policy.epoch_dataset(x, y, epoch=0), verbose=0)
    assert int(keras.ops.convert_to_numpy(model.optimizer.iterations)) == 9

    # three epochs through the helper: one update per planned step, losses fall
    model = keras.models.clone_model(model)
    model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse")
    history = CyclicalBatchSize(4, 32, step_size=3).fit(model, x, y, epochs=3, verbose=0)
    assert history.epoch == [0, 1, 2] and len(history.history["loss"]) == 3
    assert history.history["loss"][2] < history.history["loss"][0]
    assert int(keras.ops.convert_to_numpy(model.optimizer.iterations)) == 23  # 9 + 7 + 7 steps
    with pytest.raises(ValueError, match="batch_size is set by CyclicalBatchSize.fit"):
        policy.fit(model, x, y, batch_size=8)
    policy.plot(tmp_path / "cbs.png")
    assert (tmp_path / "cbs.png").stat().st_size > 1000
