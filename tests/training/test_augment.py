"""training.augment: the properties each augmentation promises, checked on real layer outputs.

StandardAugment: He et al. 2016 sec. 4.2 (pad 4, random 32x32 crop, horizontal flip).
Cutout: DeVries & Taylor 2017, compared with their reference code's square for the same centres.
BatchAugment: Hoffer et al. 2019 (M copies per sample, labels repeated, same steps per epoch).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

pytestmark = pytest.mark.keras
keras = pytest.importorskip("keras")

from training.augment import (  # noqa: E402
    BatchAugment,
    Cutout,
    StandardAugment,
    augmentation,
    cutout_demo,
    repeat_batch,
)

B, H, W, C = 64, 32, 32, 3


def distinct_images(b=B, h=H, w=W, c=C):
    """Every pixel value unique and nonzero, so where a value went is unambiguous."""
    return (np.arange(b * h * w * c, dtype=np.float32) + 1).reshape(b, h, w, c)


def np_out(t):
    return keras.ops.convert_to_numpy(t)


# ----------------------------------------------------------------------------- StandardAugment


def find_crop(padded, out):
    """The (oy, ox, flipped) whose window of ``padded`` equals ``out`` exactly, or None."""
    h, w = out.shape[:2]
    for oy in range(padded.shape[0] - h + 1):
        for ox in range(padded.shape[1] - w + 1):
            win = padded[oy : oy + h, ox : ox + w]
            for flipped in (False, True):
                if np.array_equal(win[:, ::-1] if flipped else win, out):
                    return oy, ox, flipped
    return None


def test_standard_augment_is_a_shifted_flipped_window_of_the_padded_image():
    x = distinct_images()
    out = np_out(StandardAugment(seed=0)(x, training=True))
    assert out.shape == x.shape and out.dtype == np.float32
    padded = np.pad(x, ((0, 0), (4, 4), (4, 4), (0, 0)))
    found = [find_crop(padded[i], out[i]) for i in range(B)]
    assert all(f is not None for f in found), (
        "every output is an exact crop of its own padded input"
    )
    offsets = {(oy, ox) for oy, ox, _ in found}
    assert all(0 <= oy <= 8 and 0 <= ox <= 8 for oy, ox in offsets)
    assert len(offsets) > 20  # per-sample offsets, not one per batch
    flips = sum(f for _, _, f in found)
    assert 10 < flips < B - 10  # about half flipped
    # nothing invented: each output pixel is an input pixel of the same image, or padding zero
    for i in range(B):
        assert set(np.unique(out[i])) <= set(np.unique(x[i])) | {0.0}


def test_standard_augment_without_pad_and_flip_is_identity():
    x = distinct_images(8)
    np.testing.assert_array_equal(np_out(StandardAugment(pad=0, flip=False)(x, training=True)), x)
    flipped = np_out(StandardAugment(pad=0, flip=True, seed=1)(x, training=True))
    for i in range(8):
        assert np.array_equal(flipped[i], x[i]) or np.array_equal(flipped[i], x[i, :, ::-1])


def test_standard_augment_works_on_28x28_grayscale():
    x = distinct_images(4, 28, 28, 1)
    out = np_out(StandardAugment(pad=2, seed=3)(x, training=True))
    padded = np.pad(x, ((0, 0), (2, 2), (2, 2), (0, 0)))
    assert all(find_crop(padded[i], out[i]) is not None for i in range(4))


# ----------------------------------------------------------------------------- Cutout


def reference_cutout_mask(h, w, length, cy, cx):
    """DeVries & Taylor's reference code (uoguelph-mlrg/Cutout, util/cutout.py), one hole."""
    mask = np.ones((h, w), np.float32)
    y1, y2 = np.clip(cy - length // 2, 0, h), np.clip(cy + length // 2, 0, h)
    x1, x2 = np.clip(cx - length // 2, 0, w), np.clip(cx + length // 2, 0, w)
    mask[y1:y2, x1:x2] = 0.0
    return mask


@pytest.mark.parametrize("length", [16, 8])
def test_cutout_zeroes_exactly_the_clipped_square(length):
    x = distinct_images()
    out = np_out(Cutout(length, seed=7)(x, training=True))
    # the same draws from an identically seeded generator give the centres
    gen = keras.random.SeedGenerator(7)
    cy = np_out(keras.random.randint((B,), 0, H, seed=gen))
    cx = np_out(keras.random.randint((B,), 0, W, seed=gen))
    clipped = 0
    for i in range(B):
        mask = reference_cutout_mask(H, W, length, int(cy[i]), int(cx[i]))
        np.testing.assert_array_equal(out[i], x[i] * mask[..., None])
        clipped += mask.sum() > H * W - length * length
    assert clipped > 0, "some squares must be clipped at the border for this test to mean anything"
    # the zeroed area is the square intersected with the image, in every channel alike
    cut = (out == 0).all(axis=-1)
    assert np.array_equal(cut, (out == 0).any(axis=-1))
    ys0, ys1 = np.clip(cy - length // 2, 0, H), np.clip(cy + length // 2, 0, H)
    xs0, xs1 = np.clip(cx - length // 2, 0, W), np.clip(cx + length // 2, 0, W)
    np.testing.assert_array_equal(cut.sum(axis=(1, 2)), (ys1 - ys0) * (xs1 - xs0))


def test_cutout_centres_cover_the_whole_image():
    x = np.ones((2000, 8, 8, 1), np.float32)
    out = np_out(Cutout(2, seed=0)(x, training=True))
    # a 2x2 square at centre (cy, cx) covers rows cy-1..cy (row -1 clipped away), so the last cut
    # row and column are the centre itself
    cut = out[..., 0] == 0
    centres = {(int(np.flatnonzero(c.any(1))[-1]), int(np.flatnonzero(c.any(0))[-1])) for c in cut}
    assert centres == {(i, j) for i in range(8) for j in range(8)}  # border centres included


def test_odd_length_keeps_its_side():
    x = np.ones((200, 32, 32, 1), np.float32)
    cut = np_out(Cutout(5, seed=2)(x, training=True))[..., 0] == 0
    inside = [
        c
        for c in cut
        if c.sum() and not (c[0].any() or c[-1].any() or c[:, 0].any() or c[:, -1].any())
    ]
    assert inside and all(c.sum() == 25 for c in inside)


# ----------------------------------------------------------------------------- both layers


@pytest.mark.parametrize(
    "layer", [StandardAugment(seed=1), Cutout(16, seed=1), augmentation(True, 16, seed=1)]
)
def test_inference_is_identity(layer):
    x = distinct_images(4)
    for training in (False, None):
        np.testing.assert_array_equal(np_out(layer(x, training=training)), x)
    inp = keras.Input((H, W, C))
    model = keras.Model(inp, layer(inp))
    np.testing.assert_array_equal(model.predict(x, verbose=0), x)


@pytest.mark.parametrize("cls", [StandardAugment, Cutout])
def test_seeded_layers_are_deterministic(cls):
    x = distinct_images(16)
    a, b, other = cls(seed=11), cls(seed=11), cls(seed=12)
    first_a, first_b = np_out(a(x, training=True)), np_out(b(x, training=True))
    np.testing.assert_array_equal(first_a, first_b)
    assert not np.array_equal(first_a, np_out(other(x, training=True)))
    second_a = np_out(a(x, training=True))
    assert not np.array_equal(first_a, second_a)  # the generator advances between steps
    np.testing.assert_array_equal(second_a, np_out(b(x, training=True)))


def test_config_round_trip_and_saved_model(tmp_path):
    for layer in (StandardAugment(pad=2, flip=False, seed=5), Cutout(12, seed=6)):
        clone = type(layer).from_config(layer.get_config())
        assert clone.get_config() == layer.get_config()
    inp = keras.Input((H, W, C))
    h = augmentation(True, 16, seed=3)(inp)
    out = keras.layers.Dense(2)(keras.layers.GlobalAveragePooling2D()(h))
    model = keras.Model(inp, out)
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    block = loaded.get_layer("augment")
    assert [type(layer).__name__ for layer in block.layers] == ["StandardAugment", "Cutout"]
    assert block.layers[1].length == 16 and block.layers[1].seed == 4
    x = distinct_images(2)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)


# ----------------------------------------------------------------------------- BatchAugment


def test_repeat_batch_repeats_samples_and_labels():
    x, y = distinct_images(5), np.arange(5)
    xr, yr = repeat_batch(x, y, 3)
    assert xr.shape == (15, H, W, C) and yr.tolist() == [
        0,
        0,
        0,
        1,
        1,
        1,
        2,
        2,
        2,
        3,
        3,
        3,
        4,
        4,
        4,
    ]
    np.testing.assert_array_equal(xr[3:6], np.stack([x[1]] * 3))
    xt, yt = repeat_batch(keras.ops.convert_to_tensor(x), keras.ops.convert_to_tensor(y), 3)
    np.testing.assert_array_equal(np_out(xt), xr)
    np.testing.assert_array_equal(np_out(yt), yr)
    with pytest.raises(ValueError):
        repeat_batch(x, y, 0)


@pytest.mark.parametrize("m", [1, 4])
def test_batch_augment_shapes_steps_and_order(m):
    n, bs = 50, 16
    x, y = distinct_images(n, 4, 4, 1), np.arange(n)
    ds = BatchAugment(x, y, bs, m=m, seed=3)
    assert len(ds) == math.ceil(n / bs) == 4  # same steps per epoch for every M
    seen = []
    for i in range(len(ds)):
        xb, yb = ds[i]
        size = min(bs, n - i * bs)
        assert xb.shape == (m * size, 4, 4, 1) and yb.shape == (m * size,)
        groups = yb.reshape(size, m)
        assert (groups == groups[:, :1]).all()  # each label repeated m times in a row
        np.testing.assert_array_equal(
            xb, np.repeat(x[groups[:, 0]], m, axis=0)
        )  # images follow labels
        seen.extend(groups[:, 0].tolist())
    assert sorted(seen) == list(range(n))  # an epoch is a permutation of the samples
    order0 = ds.order.copy()
    ds.on_epoch_end()
    assert not np.array_equal(order0, ds.order)
    again = BatchAugment(x, y, bs, m=m, seed=3)
    again.set_epoch(1)  # resuming at epoch 1 reproduces its order
    np.testing.assert_array_equal(again.order, ds.order)
    assert len(BatchAugment(x, y, bs, m=m, drop_remainder=True)) == 3


def test_copies_get_independent_augmentations_and_training_runs():
    x, y = np.random.default_rng(0).normal(size=(24, H, W, C)).astype("float32"), np.arange(24) % 10
    ds = BatchAugment(x, y, 8, m=4, seed=0)
    xb, _ = ds[0]
    aug = np_out(augmentation(True, 16, seed=0)(xb, training=True)).reshape(8, 4, H, W, C)
    for group in aug:
        assert len({g.tobytes() for g in group}) == 4  # four different versions of one image
    inp = keras.Input((H, W, C))
    h = augmentation(True, 16, seed=0)(inp)
    out = keras.layers.Dense(10)(keras.layers.GlobalAveragePooling2D()(h))
    model = keras.Model(inp, out)
    model.compile("sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    history = model.fit(ds, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2 and np.isfinite(history.history["loss"]).all()


def test_cutout_demo_writes_a_png(tmp_path):
    path = cutout_demo(np.random.default_rng(0).normal(size=(2, H, W, C)), tmp_path / "cutout.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# Under KERAS_BACKEND=jax the layers are called directly and train inside the recipes
# (cutout-demo, batch-augment) in tests/training/test_backends.py, in the one JAX process it starts.
