"""Fashion-MNIST and CIFAR-10: find the files, parse them strictly, split, normalise, summarise.

Where the data comes from, first match wins:

=================  ==========================================================================
Fashion-MNIST      1. ``data_dir`` (the four idx files, ``.gz`` or uncompressed)
                   2. the Debian package ``dataset-fashion-mnist``:
                      ``/usr/share/datasets/fashion-mnist/``
                   3. the Keras cache: ``$KERAS_HOME/datasets/fashion-mnist/`` (``~/.keras``)
                   4. a Keras download (``keras.datasets.fashion_mnist``, imported only then)
CIFAR-10           1. ``data_dir``: the official python archive ``cifar-10-python.tar.gz`` (read
                      in place with :mod:`tarfile`) or its extracted ``cifar-10-batches-py/``
                   2. the Keras cache (``cifar-10-batches-py-target/cifar-10-batches-py/`` of
                      Keras 3, ``cifar-10-batches-py/`` of Keras 2)
                   3. a Keras download (``keras.datasets.cifar10``, imported only then)
=================  ==========================================================================

The formats are the originals: idx (LeCun et al., http://yann.lecun.com/exdb/mnist/; magic
``0x00000803`` = 2051 for the ``N x 28 x 28`` unsigned-byte images and ``0x00000801`` = 2049 for
the labels, big-endian dimensions, then exactly ``prod(dims)`` bytes) and the CIFAR python
pickles (Krizhevsky 2009, https://www.cs.toronto.edu/~kriz/cifar.html; ``b"data"`` a
``N x 3072`` uint8 array of 1024 red, 1024 green, 1024 blue row-major pixels, ``b"labels"`` a
list of ``N`` ints; ``batches.meta`` holds ``b"label_names"``). Every deviation (a file missing,
truncated, a wrong magic number, a bad gzip stream, a pickle without the expected keys) raises
:class:`DataError`, whose one-line message names the file and what was expected.

This module never imports Keras or TensorFlow unless it has to download, nor matplotlib (the image
grid of ``cnntrain data --samples`` is :func:`training.plots.image_grid`).
"""

from __future__ import annotations

import gzip
import io
import math
import os
import pickle
import tarfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = [
    "CIFAR10_CLASSES",
    "DATASETS",
    "FASHION_MNIST_CLASSES",
    "FASHION_MNIST_FILES",
    "FASHION_MNIST_SYSTEM_DIR",
    "DataError",
    "Dataset",
    "RawData",
    "format_summary",
    "keras_cache_dir",
    "load",
    "load_cifar10_raw",
    "load_fashion_mnist_raw",
    "normalize",
    "pad_images",
    "read_cifar_batch",
    "read_cifar_meta",
    "read_idx",
    "split_validation",
    "subsample",
    "summarize",
]

FASHION_MNIST_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
CIFAR10_CLASSES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)

#: role -> file name of the original distribution (also the Debian and Keras-cache names).
FASHION_MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}
FASHION_MNIST_SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")

CIFAR10_ARCHIVE = "cifar-10-python.tar.gz"
CIFAR10_DIRNAME = "cifar-10-batches-py"
CIFAR10_TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
CIFAR10_TEST_BATCH = "test_batch"
CIFAR10_META = "batches.meta"

DATASETS = ("fashion_mnist", "cifar10")
NORMALIZATIONS = ("standardize", "scale", "none")
# The validation fraction every experiment holds out of its training images (``Context.dataset``),
# and what ``cnntrain data`` reports: the exercise asks for the validation set's size.
VAL_FRACTION = 0.1


class DataError(ValueError):
    """A data file is missing, truncated or not in the expected format.

    The message is one line: the file, then what was found and what was expected.
    """


def _one_line(exc: BaseException) -> str:
    """An exception's message with its line breaks folded (pickle's own messages have some)."""
    return " ".join(str(exc).split())


# --------------------------------------------------------------------------- idx (MNIST)

# idx type byte -> numpy dtype (big-endian), as in the MNIST page's format description.
_IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def _read_bytes(path: Path) -> bytes:
    """The file's bytes, gunzipped when the name ends in ``.gz``."""
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    try:
        if path.name.endswith(".gz"):
            with gzip.open(path, "rb") as f:
                return f.read()
        return path.read_bytes()
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(f"{path}: not a valid gzip file ({_one_line(exc)})") from None


def read_idx(path, *, magic: int | None = None) -> np.ndarray:
    """Parse an idx file (``.gz`` or plain) into a numpy array of its header's shape.

    The header is ``0x00 0x00 TYPE NDIM`` then ``NDIM`` big-endian uint32 sizes; the data must
    be exactly ``prod(sizes)`` items. ``magic`` (e.g. 2051 for images, 2049 for labels) pins the
    type and number of dimensions. Returns a native-endian array (uint8 for the MNIST files).
    """
    path = Path(path)
    raw = _read_bytes(path)
    if len(raw) < 4:
        raise DataError(
            f"{path}: {len(raw)} bytes, too short for an idx header; expected at least 4"
        )
    found = int.from_bytes(raw[:4], "big")
    if magic is not None and found != magic:
        raise DataError(f"{path}: wrong magic number {found}; expected {magic}")
    type_code, ndim = raw[2], raw[3]
    if raw[0] != 0 or raw[1] != 0 or type_code not in _IDX_DTYPES or ndim == 0:
        raise DataError(f"{path}: magic number {found} is not an idx header; expected 0x0000TTDD")
    header_len = 4 + 4 * ndim
    if len(raw) < header_len:
        raise DataError(
            f"{path}: truncated idx header; expected {header_len} bytes, found {len(raw)}"
        )
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    dtype = _IDX_DTYPES[type_code]
    expected = math.prod(shape) * dtype.itemsize  # Python ints: 255 dimensions of 2**32 do not wrap
    found_len = len(raw) - header_len
    if found_len != expected:
        what = "truncated" if found_len < expected else "trailing bytes"
        raise DataError(
            f"{path}: {what}: {found_len} data bytes; expected {expected} for shape {shape}"
        )
    return (
        np.frombuffer(raw, dtype=dtype, offset=header_len)
        .reshape(shape)
        .astype(dtype.newbyteorder("="))
    )


def _idx_path(directory: Path, name: str) -> Path:
    """The ``.gz`` file, or its uncompressed twin when only that one exists."""
    gz = directory / name
    plain = directory / name[: -len(".gz")]
    return plain if not gz.exists() and plain.exists() else gz


def _has_fashion_mnist(directory: Path) -> bool:
    return all(_idx_path(directory, n).is_file() for n in FASHION_MNIST_FILES.values())


def _check_labels(path, labels: np.ndarray, n_classes: int) -> None:
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise DataError(
            f"{path}: label values {int(labels.min())}..{int(labels.max())}; "
            f"expected 0..{n_classes - 1}"
        )


def _read_fashion_mnist_dir(directory: Path):
    arrays = {}
    for role, name in FASHION_MNIST_FILES.items():
        path = _idx_path(directory, name)
        if role.endswith("images"):
            x = read_idx(path, magic=2051)
            if x.shape[1:] != (28, 28):
                raise DataError(f"{path}: images of {x.shape[1]}x{x.shape[2]}; expected 28x28")
            arrays[role] = x[..., None]
        else:
            y = read_idx(path, magic=2049)
            _check_labels(path, y, len(FASHION_MNIST_CLASSES))
            arrays[role] = y.astype(np.int64)
    for split in ("train", "test"):
        x, y = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if len(x) != len(y):
            path = _idx_path(directory, FASHION_MNIST_FILES[f"{split}_labels"])
            raise DataError(f"{path}: {len(y)} labels; expected {len(x)}, one per image")
    return (
        arrays["train_images"],
        arrays["train_labels"],
        arrays["test_images"],
        arrays["test_labels"],
    )


# --------------------------------------------------------------------------- CIFAR pickles

# The CIFAR pickles (Python 2, protocol 2) hold numpy arrays, lists, byte strings and ints;
# nothing else may be built, so a tampered file cannot run code.
_PICKLE_GLOBALS = frozenset(
    {
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
        ("_codecs", "encode"),  # how Python 3 writes bytes at protocol 2
    }
)


class _SafeUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) in _PICKLE_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}")


def _unpickle(data: bytes, where: str) -> dict:
    try:
        obj = _SafeUnpickler(io.BytesIO(data), encoding="bytes").load()
    except Exception as exc:  # noqa: BLE001 - any unpickling failure is a corrupt file
        raise DataError(
            f"{where}: not a CIFAR python pickle ({type(exc).__name__}: {_one_line(exc)})"
        ) from None
    if not isinstance(obj, dict):
        raise DataError(f"{where}: pickle holds a {type(obj).__name__}; expected a dict")
    # Python 3 pickles of the same data may use str keys; accept both spellings.
    return {(k.decode("latin-1") if isinstance(k, bytes) else k): v for k, v in obj.items()}


def read_cifar_batch(data: bytes, where: str = "<bytes>"):
    """Parse one CIFAR-10 batch pickle: ``(images NHWC uint8, labels int64)``.

    ``data`` is the file's bytes; ``where`` names it in errors. Keys ``b"data"`` (``N x 3072``
    uint8, channel planes R, G, B of 32x32 row-major) and ``b"labels"`` (``N`` ints in 0..9).
    """
    d = _unpickle(data, where)
    missing = [k for k in ("data", "labels") if k not in d]
    if missing:
        raise DataError(
            f"{where}: pickle keys {sorted(d, key=str)}; expected b'data' and b'labels' (missing {missing})"
        )
    try:
        x = np.asarray(d["data"])
        y = np.asarray(d["labels"])
    except (ValueError, TypeError) as exc:  # ragged nested lists
        raise DataError(f"{where}: data or labels are not arrays ({type(exc).__name__})") from None
    if x.ndim != 2 or x.shape[1] != 3072 or x.dtype != np.uint8:
        raise DataError(
            f"{where}: data of shape {x.shape} and dtype {x.dtype}; expected N x 3072 uint8"
        )
    if y.shape != (x.shape[0],) or not np.issubdtype(y.dtype, np.integer):
        raise DataError(f"{where}: {y.shape} labels of dtype {y.dtype}; expected {x.shape[0]} ints")
    _check_labels(where, y, len(CIFAR10_CLASSES))
    return x.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).copy(), y.astype(np.int64)


def read_cifar_meta(data: bytes, where: str = "<bytes>") -> tuple[str, ...]:
    """Class names from ``batches.meta`` (key ``b"label_names"``, a list of bytes)."""
    d = _unpickle(data, where)
    if "label_names" not in d:
        raise DataError(f"{where}: pickle keys {sorted(d, key=str)}; expected b'label_names'")
    names = d["label_names"]
    if not isinstance(names, (list, tuple)) or not all(isinstance(n, (bytes, str)) for n in names):
        raise DataError(f"{where}: label_names is a {type(names).__name__} of {sorted({type(n).__name__ for n in names} if isinstance(names, (list, tuple)) else [])}; expected a list of byte strings")
    try:
        names = tuple(n.decode("utf-8") if isinstance(n, bytes) else n for n in names)
    except UnicodeDecodeError as exc:
        raise DataError(f"{where}: a label name is not UTF-8 ({_one_line(exc)})") from None
    if len(names) != len(CIFAR10_CLASSES):
        raise DataError(f"{where}: {len(names)} label names; expected {len(CIFAR10_CLASSES)}")
    return names


def _cifar_from_members(read) -> tuple:
    """Assemble CIFAR-10 from a ``read(name) -> (bytes, where)`` callable."""
    parts = [read_cifar_batch(*read(n)) for n in CIFAR10_TRAIN_BATCHES]
    x_test, y_test = read_cifar_batch(*read(CIFAR10_TEST_BATCH))
    names = read_cifar_meta(*read(CIFAR10_META))
    x_train = np.concatenate([p[0] for p in parts])
    y_train = np.concatenate([p[1] for p in parts])
    return x_train, y_train, x_test, y_test, names


def _read_cifar_dir(directory: Path) -> tuple:
    def read(name):
        path = directory / name
        if not path.is_file():
            raise DataError(f"{path}: file not found; expected a CIFAR-10 python batch")
        return path.read_bytes(), str(path)

    return _cifar_from_members(read)


def _read_cifar_tar(archive: Path) -> tuple:
    try:
        with tarfile.open(archive, "r:*") as tar:
            members = {Path(m.name).name: m for m in tar.getmembers() if m.isfile()}

            def read(name):
                where = f"{archive}:{CIFAR10_DIRNAME}/{name}"
                if name not in members:
                    raise DataError(f"{where}: member not found; expected a CIFAR-10 python batch")
                return tar.extractfile(members[name]).read(), where

            return _cifar_from_members(read)
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        raise DataError(f"{archive}: not a readable tar.gz archive ({_one_line(exc)})") from None


# --------------------------------------------------------------------------- locating files


def keras_cache_dir() -> Path:
    """Where Keras caches datasets: ``$KERAS_HOME/datasets`` (default ``~/.keras/datasets``)."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return Path(home) / "datasets"


@dataclass(frozen=True, eq=False)
class RawData:
    """Arrays as stored: NHWC uint8 images, int64 labels, plus class names and origin."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple[str, ...]
    source: str


def load_fashion_mnist_raw(data_dir=None, *, download: bool = True) -> RawData:
    """Fashion-MNIST (60000 train, 10000 test, 28x28x1) from the first place that has it.

    An explicit ``data_dir`` must hold the four files (else :class:`DataError`); the Debian
    directory is used whenever it exists (a broken install is reported, not skipped); an
    incomplete Keras cache is skipped in favour of a download.
    """
    if data_dir is not None:
        directory = Path(data_dir)
        if directory.name != "fashion-mnist" and (directory / "fashion-mnist").is_dir():
            directory = directory / "fashion-mnist"
        arrays = _read_fashion_mnist_dir(directory)
        source = str(directory)
    elif FASHION_MNIST_SYSTEM_DIR.is_dir():
        arrays = _read_fashion_mnist_dir(FASHION_MNIST_SYSTEM_DIR)
        source = str(FASHION_MNIST_SYSTEM_DIR)
    elif _has_fashion_mnist(keras_cache_dir() / "fashion-mnist"):
        arrays = _read_fashion_mnist_dir(keras_cache_dir() / "fashion-mnist")
        source = str(keras_cache_dir() / "fashion-mnist")
    elif download:
        from keras.datasets import fashion_mnist

        (x_tr, y_tr), (x_te, y_te) = _download(
            fashion_mnist.load_data,
            f"Fashion-MNIST is not in {FASHION_MNIST_SYSTEM_DIR} nor {keras_cache_dir() / 'fashion-mnist'}",
            "apt-get install dataset-fashion-mnist, or pass --data-dir DIR holding the four idx files",
        )
        arrays = (x_tr[..., None], y_tr.astype(np.int64), x_te[..., None], y_te.astype(np.int64))
        source = str(keras_cache_dir() / "fashion-mnist")
    else:
        raise DataError(
            f"{FASHION_MNIST_SYSTEM_DIR}: not found, nor {keras_cache_dir() / 'fashion-mnist'}; "
            "expected the four Fashion-MNIST idx files (apt-get install dataset-fashion-mnist, "
            "or pass data_dir)"
        )
    return RawData("fashion_mnist", *arrays, FASHION_MNIST_CLASSES, source)


def _cifar_location(base: Path) -> Path | None:
    """The archive or batch directory at or under ``base``, or None."""
    if base.is_file():
        return base
    for candidate in (
        base / CIFAR10_DIRNAME,
        base / "cifar-10-batches-py-target" / CIFAR10_DIRNAME,
        base / CIFAR10_ARCHIVE,
        base / f"{CIFAR10_DIRNAME}.tar.gz",
    ):
        if candidate.exists():
            return candidate
    if (base / CIFAR10_TRAIN_BATCHES[0]).exists():
        return base
    return None


def load_cifar10_raw(data_dir=None, *, download: bool = True) -> RawData:
    """CIFAR-10 (50000 train, 10000 test, 32x32x3) from the official python archive.

    ``data_dir`` may be the ``.tar.gz`` itself, the ``cifar-10-batches-py`` directory, or a
    directory containing either.
    """
    if data_dir is not None:
        location = _cifar_location(Path(data_dir))
        if location is None:
            raise DataError(
                f"{data_dir}: no CIFAR-10 data; expected {CIFAR10_ARCHIVE} or a "
                f"{CIFAR10_DIRNAME}/ directory with data_batch_1..5, test_batch, batches.meta"
            )
    else:
        location = _cifar_location(keras_cache_dir())
    if location is not None:
        reader = _read_cifar_tar if location.is_file() else _read_cifar_dir
        x_train, y_train, x_test, y_test, names = reader(location)
        return RawData("cifar10", x_train, y_train, x_test, y_test, names, str(location))
    if not download:
        raise DataError(
            f"{keras_cache_dir()}: no {CIFAR10_DIRNAME}/ or {CIFAR10_ARCHIVE}; expected the "
            "CIFAR-10 python archive (pass data_dir, or allow the Keras download)"
        )
    from keras.datasets import cifar10

    (x_tr, y_tr), (x_te, y_te) = _download(
        cifar10.load_data,
        f"CIFAR-10 is not in {keras_cache_dir()} ({CIFAR10_DIRNAME}/ or {CIFAR10_ARCHIVE})",
        f"download {CIFAR10_ARCHIVE} from https://www.cs.toronto.edu/~kriz/cifar.html and pass --data-dir DIR holding it",
    )
    return RawData(
        "cifar10",
        np.asarray(x_tr),
        y_tr.reshape(-1).astype(np.int64),
        np.asarray(x_te),
        y_te.reshape(-1).astype(np.int64),
        CIFAR10_CLASSES,
        str(_cifar_location(keras_cache_dir()) or keras_cache_dir()),
    )


def _download(load_data, missing: str, remedy: str):
    """Keras' download of a dataset; offline (or any failure of it) a :class:`DataError` that
    says where the files were looked for and how to provide them."""
    try:
        return load_data()
    except Exception as exc:  # noqa: BLE001 - URL errors, HTTP errors, a bad cached file
        raise DataError(f"{missing}, and the Keras download failed ({type(exc).__name__}: {_one_line(exc)[:120]}); {remedy}") from None


# --------------------------------------------------------------------------- preprocessing


def subsample(x: np.ndarray, y: np.ndarray, n: int | None, *, seed: int = 0):
    """A seeded random subset of ``n`` samples (all of them when ``n`` is None or too big).

    The subset keeps the original order of the chosen samples.
    """
    if n is None or n >= len(x):
        return x, y
    if n < 1:
        raise ValueError(f"subset size must be positive, got {n}")
    idx = np.sort(np.random.default_rng(seed).permutation(len(x))[:n])
    return x[idx], y[idx]


def split_validation(x: np.ndarray, y: np.ndarray, fraction: float, *, seed: int = 0):
    """``(x_train, y_train, x_val, y_val)``: a seeded random ``fraction`` held out for validation.

    The number held out is ``round(fraction * N)``; both parts keep the original sample order.
    """
    if not 0.0 <= fraction < 1.0:
        raise ValueError(f"validation fraction must be in [0, 1), got {fraction}")
    n_val = int(round(fraction * len(x)))
    perm = np.random.default_rng(seed).permutation(len(x))
    val, train = np.sort(perm[:n_val]), np.sort(perm[n_val:])
    return x[train], y[train], x[val], y[val]


def normalize(x_train: np.ndarray, *others: np.ndarray, method: str = "standardize"):
    """Normalise images with statistics of ``x_train`` only; returns ``(arrays, mean, std)``.

    ``standardize``: per-pixel (per position and channel) ``(x - mean) / std`` with mean and std
    over the training samples, as the exercises do; a pixel constant over the training set
    (std 0) is only centred. ``scale``: ``x / 255``. ``none``: float32 unchanged. ``arrays`` is
    the tuple ``(x_train, *others)`` in float32; ``mean`` and ``std`` are ``H x W x C`` float32
    arrays (0 and 255, or 0 and 1, for the two simple methods) so new data can be treated alike.
    """
    if method not in NORMALIZATIONS:
        raise ValueError(f"unknown normalisation {method!r}; expected one of {NORMALIZATIONS}")
    shape = x_train.shape[1:]
    if method == "standardize":
        mean, std = _pixel_stats(x_train)
        std[std < 1e-6] = 1.0  # constant pixel (0 up to rounding): centre only
    elif method == "scale":
        mean, std = np.zeros(shape), np.full(shape, 255.0)
    else:
        mean, std = np.zeros(shape), np.ones(shape)
    mean, std = mean.astype(np.float32), std.astype(np.float32)
    arrays = []
    for a in (x_train, *others):
        out = a.astype(np.float32)  # one copy, then in place
        out -= mean
        out /= std
        arrays.append(out)
    return tuple(arrays), mean, std


def _pixel_stats(x: np.ndarray, chunk: int = 4096):
    """Per-pixel mean and (population) std over axis 0, in float64, a chunk at a time.

    Avoids a float64 copy of the whole set (1.1 GB for the CIFAR-10 training split).
    """
    n = len(x)
    if n == 0:
        raise ValueError("cannot compute normalisation statistics of an empty training set")
    total = np.zeros(x.shape[1:], np.float64)
    squares = np.zeros(x.shape[1:], np.float64)
    for start in range(0, n, chunk):
        part = x[start : start + chunk].astype(np.float64)
        total += part.sum(axis=0)
        squares += np.square(part).sum(axis=0)
    mean = total / n
    return mean, np.sqrt(np.maximum(squares / n - mean**2, 0.0))


def pad_images(x: np.ndarray, size: int) -> np.ndarray:
    """Zero-pad NHWC images symmetrically to ``size x size`` (28 -> 32 adds 2 on each side).

    Odd differences put the extra row/column at the bottom/right. Zero is the training mean
    after standardisation, so the border is neutral.
    """
    h, w = x.shape[1:3]
    if size < h or size < w:
        raise ValueError(f"cannot pad {h}x{w} images to {size}x{size}")
    top, left = (size - h) // 2, (size - w) // 2
    return np.pad(x, ((0, 0), (top, size - h - top), (left, size - w - left), (0, 0)))


@dataclass(frozen=True, eq=False)
class Dataset:
    """A dataset ready for ``model.fit``: NHWC float32 images, int64 labels.

    ``mean`` and ``std`` are the per-pixel statistics used to normalise (before padding), so
    other images can be prepared the same way: ``(x - mean) / std``.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple[str, ...]
    source: str
    normalization: str = "standardize"
    mean: np.ndarray | None = field(default=None, repr=False)
    std: np.ndarray | None = field(default=None, repr=False)

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return tuple(int(s) for s in self.x_train.shape[1:])

    @property
    def num_classes(self) -> int:
        return len(self.class_names)


def load(
    name: str,
    data_dir=None,
    *,
    val_fraction: float = VAL_FRACTION,
    normalization: str = "standardize",
    pad_to: int | None = None,
    subset: int | None = None,
    test_subset: int | None = None,
    seed: int = 0,
    download: bool = True,
) -> Dataset:
    """Load ``fashion_mnist`` or ``cifar10`` and prepare it; all randomness comes from ``seed``.

    Order: take a seeded ``subset`` of the training set (and ``test_subset`` of the test set),
    hold out ``val_fraction`` of what remains for validation, normalise with statistics of the
    training split only, then zero-pad to ``pad_to`` (Fashion-MNIST 28 -> 32 for LeNet-5 and
    MiniGoogLeNet).
    """
    loaders = {"fashion_mnist": load_fashion_mnist_raw, "cifar10": load_cifar10_raw}
    key = name.replace("-", "_").lower()
    if key not in loaders:
        raise ValueError(f"unknown dataset {name!r}; expected one of {DATASETS}")
    raw = loaders[key](data_dir, download=download)
    x, y = subsample(raw.x_train, raw.y_train, subset, seed=seed)
    x_test, y_test = subsample(raw.x_test, raw.y_test, test_subset, seed=seed + 1)
    x_train, y_train, x_val, y_val = split_validation(x, y, val_fraction, seed=seed)
    (x_train, x_val, x_test), mean, std = normalize(x_train, x_val, x_test, method=normalization)
    if pad_to is not None:
        x_train, x_val, x_test = (pad_images(a, pad_to) for a in (x_train, x_val, x_test))
    return Dataset(
        raw.name, x_train, y_train, x_val, y_val, x_test, y_test,
        raw.class_names, raw.source, normalization, mean, std,
    )  # fmt: skip


# --------------------------------------------------------------------------- summary, grid


def summarize(dataset) -> dict:
    """Sizes, image shape and per-class counts of each split, as a JSON-ready dict.

    Accepts a :class:`Dataset` or a :class:`RawData` (which has no validation split).
    """
    splits = {}
    for split in ("train", "val", "test"):
        x = getattr(dataset, f"x_{split}", None)
        if x is None:
            continue
        y = getattr(dataset, f"y_{split}")
        counts = np.bincount(y, minlength=len(dataset.class_names))
        splits[split] = {
            "size": int(len(x)),
            "per_class": {n: int(c) for n, c in zip(dataset.class_names, counts, strict=True)},
        }
    x_train = dataset.x_train
    return {
        "name": dataset.name,
        "source": dataset.source,
        "image_shape": [int(s) for s in x_train.shape[1:]],
        "dtype": str(x_train.dtype),
        "num_classes": len(dataset.class_names),
        "class_names": list(dataset.class_names),
        "normalization": getattr(dataset, "normalization", "none (raw)"),
        "train_pixel_range": [float(x_train.min()), float(x_train.max())] if x_train.size else [],
        "splits": splits,
    }


def format_summary(summary: dict) -> str:
    """A plain-text rendering of :func:`summarize`: one header line, then a class-count table."""
    names = summary["class_names"]
    splits = summary["splits"]
    shape = "x".join(str(s) for s in summary["image_shape"])
    labels = {"train": "training", "val": "validation", "test": "test"}
    sizes = ", ".join(f"{labels.get(k, k)} {v['size']}" for k, v in splits.items())
    lines = [f"{summary['name']} from {summary['source']}: {shape} images, {sizes}"]
    width = max(len(n) for n in names + ["class"])
    lines.append("  ".join(["class".ljust(width)] + [k.rjust(7) for k in splits]))
    for n in names:
        lines.append(
            "  ".join([n.ljust(width)] + [str(v["per_class"][n]).rjust(7) for v in splits.values()])
        )
    return "\n".join(lines)
