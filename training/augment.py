"""Data augmentation inside the compiled training step: per-sample, vectorised, backend-neutral.

=====================  ====================================================================
:class:`StandardAugment`  zero-pad 4, random 32x32 crop, random horizontal flip
                          (He, Zhang, Ren & Sun 2016, "Deep Residual Learning", sec. 4.2)
:class:`Cutout`           one square of side ``L`` (default 16) zeroed, centre uniform over the
                          image, clipped at the borders, after normalisation, training only
                          (DeVries & Taylor 2017, "Improved Regularization of CNNs with Cutout")
:class:`BatchAugment`     each sample repeated ``M`` times in its batch, labels repeated: the
                          step sees ``M*B`` samples, the epoch keeps its number of steps
                          (Hoffer, Ben-Nun, Hubara, Giladi, Hoefler & Soudry 2019/2020,
                          "Augment your batch")
=====================  ====================================================================

The two layers are written only in ``keras.ops`` and ``keras.random`` (no ``tf.*``), so they run
under the TensorFlow, JAX and PyTorch backends and are traced into the compiled ``train_step``.
Every random draw is a vector of ``B`` values, one per sample (crop offsets, flip bits, Cutout
centres); the image work is one gather or one mask multiply for the whole batch, never a Python
loop over images. In inference (``training`` false or None) both layers are the identity. Each
layer owns a :class:`keras.random.SeedGenerator`, so a seeded layer gives the same sequence of
augmentations run after run, and ``get_config`` makes a saved model load again.

Batch augmentation needs the *labels* repeated too, which a layer cannot do. It is therefore a
:class:`keras.utils.PyDataset` that yields each batch with its samples repeated ``M`` times; the
augmentation layers at the top of the model then draw independent crops, flips and holes for
the ``M`` copies inside the compiled step. A PyDataset works with every backend (a
``train_step`` override would have to be written once per backend, and ``tf.data`` is
TensorFlow-only), and repeating a NumPy batch is one memory copy.
"""

from __future__ import annotations

import math
from pathlib import Path

import keras
import numpy as np
from keras import ops

__all__ = [
    "BatchAugment",
    "Cutout",
    "StandardAugment",
    "augmentation",
    "cutout_demo",
    "repeat_batch",
]


def _replica() -> tuple:
    """``(replica id, replicas in sync)`` inside a ``tf.distribute`` step, else ``(0, 1)``."""
    if keras.backend.backend() != "tensorflow":
        return 0, 1
    import tensorflow as tf

    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return 0, 1
    return context.replica_id_in_sync_group, context.num_replicas_in_sync


def per_sample_randint(b, minval: int, maxval: int, seed_generator):
    """``b`` independent integers in ``[minval, maxval)``, one per sample of the (local) batch.

    Under ``MirroredStrategy`` every replica holds the same seed-generator state, so a plain draw
    would give sample k of every replica the same crop, flip and Cutout square. Instead each
    replica draws for the whole global batch (``b * replicas`` values, the same on every replica)
    and keeps its own contiguous slice: the draws are independent across replicas and, when the
    global batch splits evenly, equal to what one device draws for the same global batch.
    """
    replica, replicas = _replica()
    if replicas == 1:
        return keras.random.randint((b,), minval, maxval, seed=seed_generator)
    draws = keras.random.randint((b * replicas,), minval, maxval, seed=seed_generator)
    return ops.slice(draws, (replica * b,), (b,))


@keras.saving.register_keras_serializable(package="cnncalc")
class StandardAugment(keras.layers.Layer):
    """Zero-pad ``pad`` pixels, crop back to the input size at a random offset, maybe flip.

    The standard CIFAR augmentation of He et al. 2016, sec. 4.2: "4 pixels are padded on each
    side, and a 32x32 crop is randomly sampled from the padded image or its horizontal flip."
    Offsets are uniform in ``0..2*pad`` on each axis, independently per sample; the flip has
    probability 1/2 per sample. Output pixels are input pixels or padding zeros, moved, never
    interpolated. Input NHWC.
    """

    def __init__(self, pad: int = 4, flip: bool = True, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        if pad < 0:
            raise ValueError(f"pad must be >= 0, got {pad}")
        self.pad = int(pad)
        self.flip = bool(flip)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.supports_masking = False

    def call(self, images, training=None):
        if not training:
            return images
        p = self.pad
        shape = ops.shape(images)
        b, h, w = shape[0], shape[1], shape[2]
        hp, wp = h + 2 * p, w + 2 * p
        padded = ops.pad(images, ((0, 0), (p, p), (p, p), (0, 0)))
        oy = per_sample_randint(b, 0, 2 * p + 1, self.seed_generator)
        ox = per_sample_randint(b, 0, 2 * p + 1, self.seed_generator)
        cols = ops.arange(w, dtype="int32")
        if self.flip:
            flip = per_sample_randint(b, 0, 2, self.seed_generator)
            cols = ops.where(ops.expand_dims(flip, 1) == 1, (w - 1) - cols, cols)  # (B, W)
        else:
            cols = ops.broadcast_to(cols, (b, w))
        rows = ops.expand_dims(oy, 1) + ops.arange(h, dtype="int32")  # (B, H)
        cols = ops.expand_dims(ox, 1) + cols  # (B, W)
        # One gather: flat index of (b, rows[b, i], cols[b, j]) in the (B*Hp*Wp, C) pixel list.
        base = ops.arange(b, dtype="int32") * (hp * wp)
        flat = (
            ops.reshape(base, (-1, 1, 1)) + ops.expand_dims(rows, 2) * wp + ops.expand_dims(cols, 1)
        )  # (B, H, W)
        pixels = ops.reshape(padded, (-1, shape[3]))
        return ops.take(pixels, flat, axis=0)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "pad": self.pad, "flip": self.flip, "seed": self.seed}


@keras.saving.register_keras_serializable(package="cnncalc")
class Cutout(keras.layers.Layer):
    """Zero one ``length x length`` square per sample, centre uniform over the image.

    DeVries & Taylor 2017, sec. 3: the centre ``(cy, cx)`` is drawn uniformly over all pixels
    (so the square may lie partly outside the image, and is then clipped), the region is
    ``[cy - L//2, cy - L//2 + L) x [cx - L//2, cx - L//2 + L)``. For even ``L`` (16 for CIFAR-10)
    this is exactly the reference code's square; for odd ``L`` the side stays ``L``. Applied after
    normalisation, zero is the dataset mean. Identity in inference. Input NHWC.
    """

    def __init__(self, length: int = 16, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        if length < 0:
            raise ValueError(f"length must be >= 0, got {length}")
        self.length = int(length)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def mask(self, images):
        """The ``(B, H, W, 1)`` keep-mask (1 keep, 0 cut) of one draw, in the images' dtype."""
        shape = ops.shape(images)
        b, h, w = shape[0], shape[1], shape[2]
        cy = per_sample_randint(b, 0, h, self.seed_generator)
        cx = per_sample_randint(b, 0, w, self.seed_generator)
        y0 = ops.expand_dims(cy - self.length // 2, 1)
        x0 = ops.expand_dims(cx - self.length // 2, 1)
        ys = ops.arange(h, dtype="int32")
        xs = ops.arange(w, dtype="int32")
        in_y = ops.logical_and(ys >= y0, ys < y0 + self.length)  # (B, H)
        in_x = ops.logical_and(xs >= x0, xs < x0 + self.length)  # (B, W)
        cut = ops.logical_and(ops.expand_dims(in_y, 2), ops.expand_dims(in_x, 1))  # (B, H, W)
        return ops.expand_dims(ops.cast(ops.logical_not(cut), images.dtype), -1)

    def call(self, images, training=None):
        if not training or self.length == 0:
            return images
        return images * self.mask(images)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "length": self.length, "seed": self.seed}


def augmentation(
    standard: bool = True, cutout: int | None = None, seed: int | None = None, name: str = "augment"
) -> keras.Sequential:
    """The augmentation block to put first in a model: standard crop+flip, then Cutout.

    Cutout comes last, on the (already normalised) cropped image, as in DeVries & Taylor.
    ``seed`` seeds both layers (the second with ``seed + 1``). An empty block is the identity.
    """
    layers = []
    if standard:
        layers.append(StandardAugment(seed=seed, name="standard_augment"))
    if cutout:
        layers.append(Cutout(cutout, seed=None if seed is None else seed + 1, name="cutout"))
    return keras.Sequential(layers, name=name)


def repeat_batch(x, y, m: int):
    """The batch with each sample repeated ``m`` times in a row, labels alike (``M*B`` samples).

    Order ``x0, x0, ..., x1, x1, ...`` (``np.repeat``). Works on NumPy arrays and backend tensors.
    """
    if m < 1:
        raise ValueError(f"m must be >= 1, got {m}")
    if isinstance(x, np.ndarray) and isinstance(y, np.ndarray):
        return np.repeat(x, m, axis=0), np.repeat(y, m, axis=0)
    return ops.repeat(x, m, axis=0), ops.repeat(y, m, axis=0)


class BatchAugment(keras.utils.PyDataset):
    """Hoffer et al.'s batch augmentation: batches whose samples are each repeated ``m`` times.

    ``len(self) == ceil(N / batch_size)`` whatever ``m`` is, so an epoch has the same number of
    steps as without repetition and each step sees ``m * batch_size`` samples. The repetition
    alone makes identical copies: the model must begin with random augmentation layers
    (:func:`augmentation`), which draw independently for every copy inside the compiled step.
    With ``m=1`` this is a plain shuffled batch iterator.

    The sample order of epoch ``e`` is a function of ``(seed, e)`` only, so a resumed run can
    reproduce it with :meth:`set_epoch`. Extra keyword arguments (``workers``,
    ``use_multiprocessing``, ``max_queue_size``) go to :class:`keras.utils.PyDataset`.
    """

    def __init__(
        self,
        x: np.ndarray,
        y: np.ndarray,
        batch_size: int,
        m: int = 1,
        *,
        shuffle: bool = True,
        seed: int = 0,
        drop_remainder: bool = False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if len(x) != len(y):
            raise ValueError(f"{len(x)} images but {len(y)} labels")
        if batch_size < 1 or m < 1:
            raise ValueError(f"batch_size and m must be >= 1, got {batch_size} and {m}")
        self.x, self.y = x, y
        self.batch_size, self.m = int(batch_size), int(m)
        self.shuffle, self.seed, self.drop_remainder = shuffle, seed, drop_remainder
        self.set_epoch(0)

    def set_epoch(self, epoch: int) -> None:
        """Use the sample order of ``epoch`` (0-based); Keras advances it after each epoch."""
        self.epoch = int(epoch)
        n = len(self.x)
        if self.shuffle:
            self.order = np.random.default_rng([self.seed, self.epoch]).permutation(n)
        else:
            self.order = np.arange(n)

    def __len__(self) -> int:
        n = len(self.x)
        return n // self.batch_size if self.drop_remainder else math.ceil(n / self.batch_size)

    def __getitem__(self, index: int):
        idx = self.order[index * self.batch_size : (index + 1) * self.batch_size]
        return repeat_batch(self.x[idx], self.y[idx], self.m)

    def on_epoch_end(self) -> None:
        self.set_epoch(self.epoch + 1)


def cutout_demo(
    images: np.ndarray, out_path, *, length: int = 16, seed: int = 0, standard: bool = False
) -> Path:
    """Save a PNG: the images on the top row, the same images after Cutout below.

    ``images`` are NHWC (normalised or not; each is min-max scaled for display). With
    ``standard=True`` the crop+flip is applied first, as in training. Returns the path.
    """
    from .plots import before_after

    images = np.asarray(images, dtype="float32")
    after = keras.ops.convert_to_numpy(augmentation(standard, length, seed)(images, training=True))
    out_path = Path(out_path)
    before_after(images, after, out_path, rows=("original", ("crop+flip, " if standard else "") + f"Cutout L={length}"))
    return out_path
