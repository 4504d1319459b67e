"""Augmentation throughput: our pipeline's images per second against ResNet-44's training rate
and against a per-image numpy loop.

- ``pipeline``: what a batch-augmented CIFAR run feeds its model (``training.augment``):
  :class:`BatchAugment` (M=8) yields each batch of ``B`` images repeated 8 times, then
  :class:`StandardAugment` (pad 4, random crop, flip) and :class:`Cutout` (L=16) draw for all
  ``8B`` images in one compiled function, as they do at the top of the compiled train step. The
  figure is augmented images per second, the numpy batch included, synchronised once per batch
  on a scalar of the output (no copy of the batch back to NumPy).
- ``model``: ResNet-44 (the cnncalc zoo's ``resnet44`` through ``training.models.build``), SGD,
  ``train_on_batch`` at batch 128 on random data: images per second of training, no augmentation.
  Goal (issue 7): the pipeline delivers at least 5x the model's rate, so it is never the
  bottleneck.
- ``numpy loop``: the published notebook's way, one image at a time in Python: ``np.pad`` by 4,
  a random 32x32 crop, a random flip, a random Cutout square, over the same ``8B`` images.

Each figure is the median of several timed repeats after a warm-up (the warm-up traces the
compiled functions); the repeats of the three cases are interleaved.
"""

from __future__ import annotations

import gc
import statistics
import time

import numpy as np

from .harness import Row

GOAL = 5.0
M = 8
CUTOUT = 16
PAD = 4
# batch, batches per pipeline repeat, model train steps per repeat, repeats, model name
SIZES = {
    "full": dict(batch=128, batches=8, steps=3, repeats=5, model="resnet44"),
    "quick": dict(batch=128, batches=3, steps=1, repeats=3, model="resnet44"),
    "smoke": dict(batch=8, batches=1, steps=1, repeats=1, model="resnet20"),
}


def numpy_augment(images: np.ndarray, rng: np.random.Generator, pad: int = PAD, length: int = CUTOUT) -> np.ndarray:
    """Pad, random crop, random flip and Cutout, one image at a time (the per-image Python way)."""
    out = np.empty_like(images)
    n, h, w = images.shape[:3]
    for i in range(n):
        img = np.pad(images[i], ((pad, pad), (pad, pad), (0, 0)))
        y, x = rng.integers(0, 2 * pad + 1, 2)
        img = img[y:y + h, x:x + w]
        if rng.random() < 0.5:
            img = img[:, ::-1]
        img = img.copy()
        cy, cx = rng.integers(0, h), rng.integers(0, w)
        img[max(0, cy - length // 2):max(0, cy - length // 2 + length),
            max(0, cx - length // 2):max(0, cx - length // 2 + length)] = 0
        out[i] = img
    return out


def _pipeline(x, y, batch: int, batches: int):
    """A function that runs ``batches`` batch-augmented batches through the compiled layers."""
    import tensorflow as tf

    from training.augment import BatchAugment, augmentation

    dataset = BatchAugment(x, y, batch, m=M, seed=0)
    block = augmentation(standard=True, cutout=CUTOUT, seed=0)

    @tf.function
    def augment(images):
        out = block(images, training=True)
        return tf.reduce_sum(out[:, 0, 0, 0])  # forces the whole batch, copies back one float

    def run_batches():
        images = 0
        for i in range(batches):
            xb, _ = dataset[i]
            augment(xb).numpy()
            images += len(xb)
        return images

    return run_batches


def _trainer(model_name: str, batch: int, steps: int, seed: int = 0):
    import keras

    from training.models import build

    keras.utils.set_random_seed(seed)
    model = build(model_name, (32, 32, 3), 10)
    model.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.9),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    rng = np.random.default_rng(seed)
    xb = rng.standard_normal((batch, 32, 32, 3), dtype=np.float32)
    yb = rng.integers(0, 10, batch)

    def train():
        for _ in range(steps):
            model.train_on_batch(xb, yb)
        return steps * batch

    return train, model.count_params()


def measure(batch: int, batches: int, steps: int, repeats: int, model: str, seed: int = 0) -> dict:
    """Images per second per repeat of each case: ``{"pipeline": [...], "model": [...], "numpy": [...]}``."""
    rng = np.random.default_rng(seed)
    n = batch * batches
    x = rng.standard_normal((n, 32, 32, 3), dtype=np.float32)
    y = rng.integers(0, 10, n)
    pipeline = _pipeline(x, y, batch, batches)
    train, params = _trainer(model, batch, steps, seed)
    loop_rng = np.random.default_rng(seed + 1)
    repeated = np.repeat(x, M, axis=0)  # the same 8B images the pipeline augments

    def numpy_loop():
        numpy_augment(repeated, loop_rng)
        return len(repeated)

    cases = {"pipeline": pipeline, "model": train, "numpy": numpy_loop}
    for fn in cases.values():  # warm-up: tracing, optimizer variables, caches
        fn()
    rates = {k: [] for k in cases}
    names = list(cases)
    for r in range(repeats):
        for k in names[r % 3:] + names[: r % 3]:
            gc.collect()
            start = time.perf_counter()
            images = cases[k]()
            rates[k].append(images / (time.perf_counter() - start))
    rates["params"] = params
    return rates


def check_numpy_augment() -> None:
    """The numpy loop does the same work as ours: crops of the padded image, a square of zeros."""
    rng = np.random.default_rng(0)
    img = rng.uniform(1, 2, (1, 32, 32, 3)).astype(np.float32)
    out = numpy_augment(img, rng)
    zeros = int((out[0, :, :, 0] == 0).sum())
    if not 0 < zeros <= CUTOUT * CUTOUT + 2 * PAD * 32 + 2 * PAD * 32:
        raise RuntimeError(f"numpy_augment zeroed {zeros} pixels; expected a Cutout square plus padding")


def run(quick: bool = False, smoke: bool = False) -> list[Row]:
    size = SIZES["smoke" if smoke else "quick" if quick else "full"]
    check_numpy_augment()
    rates = measure(**size)
    med = {k: statistics.median(rates[k]) for k in ("pipeline", "model", "numpy")}
    spread = {k: f"min {min(rates[k]):,.0f}, max {max(rates[k]):,.0f}" for k in med}
    ratio = med["pipeline"] / med["model"]
    name = "augmentation"
    b, model = size["batch"], size["model"]
    reps = f"{size['repeats']} repeats"
    return [
        Row(name, f"{model} train_on_batch, batch {b} (no augmentation)", med["model"], "images/s",
            note=f"{reps} of {size['steps']} steps; {spread['model']}; {rates['params']:,} params"),
        Row(name, f"ours: BatchAugment M={M} + crop/flip + Cutout {CUTOUT}, compiled", med["pipeline"], "images/s",
            ratio=ratio, ratio_of=f"ours / {model} training", goal=f">= {GOAL:g}x", met=ratio >= GOAL,
            note=f"{reps} of {size['batches']} batches of {b}x{M} images; {spread['pipeline']}"),
        Row(name, "per-image numpy loop (pad, crop, flip, cutout)", med["numpy"], "images/s",
            ratio=med["pipeline"] / med["numpy"], ratio_of="ours / numpy loop",
            note=f"{reps} of {b * size['batches'] * M} images; {spread['numpy']}; "
            f"{med['numpy'] / med['model']:.1f}x the model's rate"),
    ]
