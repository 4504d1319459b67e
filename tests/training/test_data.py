"""training.data: the original file formats, written small by the tests, and their failure modes.

Formats: idx as on the MNIST page (magic 2051 = 0x00000803 images, 2049 = 0x00000801 labels,
big-endian sizes), CIFAR-10 python pickles as on Krizhevsky's page (b"data" N x 3072 uint8 in
R, G, B planes, b"labels", batches.meta with b"label_names"), also as the .tar.gz.
"""

from __future__ import annotations

import gzip
import io
import json
import pickle
import struct
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest

from training import data, plots
from training.data import DataError

# ----------------------------------------------------------------------------- writers


def idx_bytes(array: np.ndarray, magic: int | None = None) -> bytes:
    """The idx encoding of a uint8 array (magic 0x0000 08 NDIM unless given)."""
    magic = (0x08 << 8 | array.ndim) if magic is None else magic
    header = struct.pack(">I", magic) + b"".join(struct.pack(">I", s) for s in array.shape)
    return header + array.astype(np.uint8).tobytes()


def fake_fashion(n_train=30, n_test=20, seed=0):
    rng = np.random.default_rng(seed)
    x_tr = rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8)
    x_te = rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8)
    y_tr = (np.arange(n_train) % 10).astype(np.uint8)
    y_te = (np.arange(n_test) % 10).astype(np.uint8)
    return x_tr, y_tr, x_te, y_te


def write_fashion(directory: Path, arrays=None, *, gz=True) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    x_tr, y_tr, x_te, y_te = arrays or fake_fashion()
    contents = {
        "train-images-idx3-ubyte.gz": idx_bytes(x_tr),
        "train-labels-idx1-ubyte.gz": idx_bytes(y_tr),
        "t10k-images-idx3-ubyte.gz": idx_bytes(x_te),
        "t10k-labels-idx1-ubyte.gz": idx_bytes(y_te),
    }
    for name, raw in contents.items():
        if gz:
            (directory / name).write_bytes(gzip.compress(raw))
        else:
            (directory / name[:-3]).write_bytes(raw)
    return directory


def cifar_batch(n, seed, *, labels_key=b"labels"):
    rng = np.random.default_rng(seed)
    return {
        b"batch_label": b"training batch",
        labels_key: [int(v) for v in rng.integers(0, 10, n)],
        b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
        b"filenames": [b"img%d.png" % i for i in range(n)],
    }


class Py2Pickler(pickle._Pickler):
    """Pickle bytes as Python 2 ``str`` (SHORT_BINSTRING/BINSTRING), as the official files do."""

    dispatch = pickle._Pickler.dispatch.copy()

    def save_py2_str(self, obj):
        n = len(obj)
        self.write(
            (
                pickle.SHORT_BINSTRING + bytes([n])
                if n < 256
                else pickle.BINSTRING + struct.pack("<i", n)
            )
            + obj
        )
        self.memoize(obj)

    dispatch[bytes] = save_py2_str


def py2_pickle(obj) -> bytes:
    """Protocol 2, Python 2 strings, numpy 1's module name: the layout of the official batches."""
    out = io.BytesIO()
    Py2Pickler(out, protocol=2).dump(obj)
    return out.getvalue().replace(b"numpy._core.multiarray\n", b"numpy.core.multiarray\n")


CIFAR_META = {
    b"num_cases_per_batch": 4,
    b"label_names": [n.encode() for n in data.CIFAR10_CLASSES],
    b"num_vis": 3072,
}


def cifar_files(n=4, **overrides) -> dict[str, bytes]:
    files = {f"data_batch_{i}": cifar_batch(n, i) for i in range(1, 6)}
    files["test_batch"] = cifar_batch(n, 9)
    files["batches.meta"] = CIFAR_META
    files.update(overrides)
    return {k: v if isinstance(v, bytes) else py2_pickle(v) for k, v in files.items()}


def write_cifar_dir(root: Path, files=None) -> Path:
    directory = root / "cifar-10-batches-py"
    directory.mkdir(parents=True)
    for name, raw in (files or cifar_files()).items():
        (directory / name).write_bytes(raw)
    return directory


def write_cifar_tar(path: Path, files=None) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, raw in (files or cifar_files()).items():
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(raw)
            tar.addfile(info, io.BytesIO(raw))
    return path


@pytest.fixture
def no_system_data(monkeypatch, tmp_path):
    """Hide the Debian directory and the user's Keras cache."""
    monkeypatch.setattr(data, "FASHION_MNIST_SYSTEM_DIR", tmp_path / "no-debian")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras-home"))
    return tmp_path


# ----------------------------------------------------------------------------- idx


def test_idx_round_trip_gz_and_plain(tmp_path):
    x = np.random.default_rng(1).integers(0, 256, (5, 28, 28), dtype=np.uint8)
    (tmp_path / "a.gz").write_bytes(gzip.compress(idx_bytes(x)))
    (tmp_path / "a").write_bytes(idx_bytes(x))
    np.testing.assert_array_equal(data.read_idx(tmp_path / "a.gz", magic=2051), x)
    np.testing.assert_array_equal(data.read_idx(tmp_path / "a", magic=2051), x)


@pytest.mark.parametrize(
    "raw, message",
    [
        (
            idx_bytes(np.zeros((3, 28, 28), np.uint8))[:-10],
            "truncated: 2342 data bytes; expected 2352",
        ),
        (idx_bytes(np.zeros((3, 28, 28), np.uint8)) + b"x", "trailing bytes"),
        (idx_bytes(np.zeros(3, np.uint8)), "wrong magic number 2049; expected 2051"),
        (b"\x00\x00", "too short for an idx header"),
        (b"\x00\x00\x08\x03\x00\x00", "truncated idx header"),
    ],
)
def test_idx_errors_name_the_file_and_expectation(tmp_path, raw, message):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(raw))
    with pytest.raises(DataError, match=message) as err:
        data.read_idx(path, magic=2051)
    assert str(err.value).startswith(str(path))
    assert "\n" not in str(err.value)


def test_bad_gzip_and_missing_file(tmp_path):
    good = gzip.compress(idx_bytes(np.zeros((2, 28, 28), np.uint8)))
    (tmp_path / "cut.gz").write_bytes(good[: len(good) // 2])
    (tmp_path / "notgz.gz").write_bytes(b"this is not gzip data at all")
    with pytest.raises(DataError, match=r"cut\.gz: not a valid gzip file"):
        data.read_idx(tmp_path / "cut.gz")
    with pytest.raises(DataError, match=r"notgz\.gz: not a valid gzip file"):
        data.read_idx(tmp_path / "notgz.gz")
    with pytest.raises(DataError, match=r"absent\.gz: file not found"):
        data.read_idx(tmp_path / "absent.gz")
    assert issubclass(DataError, ValueError)


# ----------------------------------------------------------------------------- Fashion-MNIST


def test_fashion_mnist_from_data_dir(tmp_path, no_system_data):
    arrays = fake_fashion()
    d = write_fashion(tmp_path / "fm", arrays)
    raw = data.load_fashion_mnist_raw(d, download=False)
    np.testing.assert_array_equal(raw.x_train[..., 0], arrays[0])
    np.testing.assert_array_equal(raw.y_test, arrays[3])
    assert raw.x_train.shape == (30, 28, 28, 1) and raw.x_train.dtype == np.uint8
    assert raw.class_names[0] == "T-shirt/top" and raw.class_names[9] == "Ankle boot"
    assert raw.source == str(d)
    # uncompressed twins are accepted too
    plain = write_fashion(tmp_path / "plain", arrays, gz=False)
    np.testing.assert_array_equal(data.load_fashion_mnist_raw(plain).x_test[..., 0], arrays[2])


def test_fashion_mnist_search_order(tmp_path, monkeypatch):
    debian = write_fashion(tmp_path / "debian", fake_fashion(seed=1))
    cache = write_fashion(
        tmp_path / "keras-home" / "datasets" / "fashion-mnist", fake_fashion(seed=2)
    )
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras-home"))
    monkeypatch.setattr(data, "FASHION_MNIST_SYSTEM_DIR", debian)
    assert data.load_fashion_mnist_raw(download=False).source == str(debian)
    monkeypatch.setattr(data, "FASHION_MNIST_SYSTEM_DIR", tmp_path / "absent")
    assert data.load_fashion_mnist_raw(download=False).source == str(cache)
    (cache / "t10k-labels-idx1-ubyte.gz").unlink()  # an incomplete cache is not used
    with pytest.raises(DataError, match="expected the four Fashion-MNIST idx files"):
        data.load_fashion_mnist_raw(download=False)


def test_fashion_mnist_corrupt_variants(tmp_path, no_system_data):
    x_tr, y_tr, x_te, y_te = fake_fashion()
    d = write_fashion(tmp_path / "fm")
    (d / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx_bytes(y_te[:-1])))
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte\.gz: 19 labels; expected 20"):
        data.load_fashion_mnist_raw(d)
    (d / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx_bytes(y_te + 5)))
    with pytest.raises(DataError, match=r"label values 5\.\.14; expected 0\.\.9"):
        data.load_fashion_mnist_raw(d)
    (d / "t10k-labels-idx1-ubyte.gz").write_bytes(
        gzip.compress(idx_bytes(x_te))
    )  # images as labels
    with pytest.raises(DataError, match="wrong magic number 2051; expected 2049"):
        data.load_fashion_mnist_raw(d)
    (d / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte\.gz: file not found"):
        data.load_fashion_mnist_raw(d)
    (d / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(idx_bytes(x_tr[:, :27, :])))
    with pytest.raises(DataError, match="images of 27x28; expected 28x28"):
        data.load_fashion_mnist_raw(d)


# ----------------------------------------------------------------------------- CIFAR-10


def expected_cifar(files):
    """Decode the written pickles independently: R, G, B planes -> NHWC."""
    batches = [pickle.loads(files[f"data_batch_{i}"], encoding="bytes") for i in range(1, 6)]
    x = np.concatenate([b[b"data"] for b in batches]).reshape(-1, 3, 32, 32)
    y = np.concatenate([b[b"labels"] for b in batches])
    return np.moveaxis(x, 1, -1), y


def test_cifar_directory_and_tar_agree(tmp_path, no_system_data):
    files = cifar_files()
    x, y = expected_cifar(files)
    from_dir = data.load_cifar10_raw(write_cifar_dir(tmp_path / "d", files), download=False)
    tar = write_cifar_tar(tmp_path / "cifar-10-python.tar.gz", files)
    from_tar = data.load_cifar10_raw(tar, download=False)
    from_parent = data.load_cifar10_raw(tmp_path / "d", download=False)  # the directory above
    for raw in (from_dir, from_tar, from_parent):
        assert raw.x_train.shape == (20, 32, 32, 3) and raw.x_test.shape == (4, 32, 32, 3)
        np.testing.assert_array_equal(raw.x_train, x)
        np.testing.assert_array_equal(raw.y_train, y)
        assert raw.class_names == data.CIFAR10_CLASSES
    # pixel (row 0, col 1) of image 0: the red plane's byte 1, green's 1025, blue's 2049
    first = pickle.loads(files["data_batch_1"], encoding="bytes")[b"data"][0]
    assert tuple(from_tar.x_train[0, 0, 1]) == (first[1], first[1025], first[2049])
    assert from_tar.source == str(tar)


def test_cifar_keras_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "kh"))
    write_cifar_dir(tmp_path / "kh" / "datasets" / "cifar-10-batches-py-target")
    raw = data.load_cifar10_raw(download=False)
    assert raw.source.endswith("cifar-10-batches-py-target/cifar-10-batches-py")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "empty"))
    with pytest.raises(DataError, match="expected the CIFAR-10 python archive"):
        data.load_cifar10_raw(download=False)


@pytest.mark.parametrize(
    "override, message",
    [
        (
            {"data_batch_3": cifar_batch(4, 3, labels_key=b"fine_labels")},
            r"data_batch_3: pickle keys .*expected b'data' and b'labels'",
        ),
        (
            {"batches.meta": {b"num_vis": 3072}},
            r"batches\.meta: pickle keys .*expected b'label_names'",
        ),
        ({"test_batch": b"\x80\x02garbage"}, r"test_batch: not a CIFAR python pickle"),
        (
            {"test_batch": pickle.dumps([1, 2, 3], protocol=2)},
            "pickle holds a list; expected a dict",
        ),
        (
            {
                "test_batch": pickle.dumps(
                    {"data": np.zeros((4, 3072), np.uint8), "labels": [11] * 4}
                )
            },
            r"label values 11\.\.11; expected 0\.\.9",
        ),
        (
            {"data_batch_1": {b"data": np.zeros((4, 1024), np.uint8), b"labels": [0] * 4}},
            r"expected N x 3072 uint8",
        ),
        (
            {"data_batch_2": {b"data": np.zeros((4, 3072), np.uint8), b"labels": [0] * 3}},
            r"expected 4 ints",
        ),
    ],
)
def test_cifar_corrupt_pickles(tmp_path, override, message):
    files = cifar_files(**override)
    with pytest.raises(DataError, match=message):
        data.load_cifar10_raw(write_cifar_dir(tmp_path, files), download=False)
    with pytest.raises(DataError, match=message):
        data.load_cifar10_raw(write_cifar_tar(tmp_path / "c.tar.gz", files), download=False)


def test_cifar_refuses_code_in_pickles(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    files = cifar_files(test_batch=pickle.dumps({b"data": Evil()}, protocol=2))
    with pytest.raises(DataError, match=r"refusing to load (__builtin__|builtins)\.print"):
        data.load_cifar10_raw(write_cifar_dir(tmp_path, files))


def test_cifar_broken_archives(tmp_path):
    files = cifar_files()
    del files["data_batch_5"]
    tar = write_cifar_tar(tmp_path / "c.tar.gz", files)
    with pytest.raises(
        DataError, match=r"c\.tar\.gz:cifar-10-batches-py/data_batch_5: member not found"
    ):
        data.load_cifar10_raw(tar)
    good = write_cifar_tar(tmp_path / "g.tar.gz").read_bytes()
    (tmp_path / "cut.tar.gz").write_bytes(good[: len(good) // 2])
    with pytest.raises(DataError, match=r"cut\.tar\.gz: not a readable tar\.gz archive"):
        data.load_cifar10_raw(tmp_path / "cut.tar.gz")
    d = write_cifar_dir(tmp_path / "dir", files)
    with pytest.raises(DataError, match=r"data_batch_5: file not found"):
        data.load_cifar10_raw(d)
    with pytest.raises(DataError, match="no CIFAR-10 data; expected cifar-10-python.tar.gz"):
        data.load_cifar10_raw(tmp_path / "nothing-here")


# ----------------------------------------------------------------------------- preparation


def test_split_is_seeded_disjoint_and_complete():
    x = np.arange(100)[:, None, None, None]
    y = np.arange(100) % 10
    a = data.split_validation(x, y, 0.2, seed=3)
    b = data.split_validation(x, y, 0.2, seed=3)
    c = data.split_validation(x, y, 0.2, seed=4)
    assert all(np.array_equal(p, q) for p, q in zip(a, b, strict=True))
    assert not np.array_equal(a[2], c[2])
    assert len(a[0]) == 80 and len(a[2]) == 20
    assert sorted(np.concatenate([a[0], a[2]]).ravel().tolist()) == list(range(100))
    np.testing.assert_array_equal(a[0].ravel() % 10, a[1])  # labels stay with their images


def test_normalize_uses_training_statistics_only():
    rng = np.random.default_rng(0)
    x_train = rng.integers(0, 256, (50, 4, 4, 3)).astype(np.uint8)
    x_train[:, 0, 0, 0] = 7  # a constant pixel: centred, not divided by zero
    x_test = rng.integers(0, 256, (10, 4, 4, 3)).astype(np.uint8)
    (tr, te), mean, std = data.normalize(x_train, x_test)
    assert tr.dtype == te.dtype == np.float32 and mean.shape == (4, 4, 3)
    np.testing.assert_allclose(tr.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(tr.std(axis=0)[1:], 1, rtol=1e-4)
    assert np.all(tr[:, 0, 0, 0] == 0)
    np.testing.assert_allclose(
        te, (x_test - x_train.mean(0)) / np.where(x_train.std(0) == 0, 1, x_train.std(0)), atol=1e-5
    )
    (sc,), _, _ = data.normalize(x_train, method="scale")
    np.testing.assert_allclose(sc, x_train / 255.0, rtol=1e-6)
    with pytest.raises(ValueError, match="unknown normalisation"):
        data.normalize(x_train, method="zca")


def test_load_end_to_end_with_padding_and_subset(tmp_path, no_system_data):
    d = write_fashion(tmp_path / "fm", fake_fashion(n_train=100, n_test=50))
    ds = data.load(
        "fashion_mnist", d, val_fraction=0.2, pad_to=32, subset=60, test_subset=30, seed=1
    )
    assert ds.x_train.shape == (48, 32, 32, 1) and ds.x_val.shape == (12, 32, 32, 1)
    assert ds.x_test.shape == (30, 32, 32, 1) and ds.input_shape == (32, 32, 1)
    assert ds.x_train.dtype == np.float32 and ds.y_train.dtype == np.int64
    # the 2-pixel border is exactly zero, the interior is the standardised image
    assert (
        not ds.x_train[:, :2].any()
        and not ds.x_train[:, -2:].any()
        and not ds.x_train[:, :, :2].any()
    )
    np.testing.assert_allclose(ds.x_train[:, 2:30, 2:30].mean(axis=0), 0, atol=1e-5)
    again = data.load(
        "fashion-mnist", d, val_fraction=0.2, pad_to=32, subset=60, test_subset=30, seed=1
    )
    np.testing.assert_array_equal(ds.x_val, again.x_val)
    with pytest.raises(ValueError, match="unknown dataset"):
        data.load("mnist", d)


def test_summary(tmp_path, no_system_data):
    ds = data.load("cifar10", write_cifar_dir(tmp_path, cifar_files(n=6)), val_fraction=0.0)
    summary = data.summarize(ds)
    json.dumps(summary)  # JSON-ready
    assert summary["image_shape"] == [32, 32, 3] and summary["num_classes"] == 10
    assert summary["splits"]["train"]["size"] == 30 and summary["splits"]["val"]["size"] == 0
    assert sum(summary["splits"]["train"]["per_class"].values()) == 30
    counts = np.bincount(ds.y_test, minlength=10)
    assert summary["splits"]["test"]["per_class"] == dict(
        zip(data.CIFAR10_CLASSES, counts.tolist(), strict=True)
    )
    text = data.format_summary(summary)
    assert text.splitlines()[0].startswith("cifar10 from ") and "airplane" in text


def test_image_grid(tmp_path, no_system_data):
    pytest.importorskip("matplotlib", reason="needs matplotlib: pip install -e '.[plots]'")
    ds = data.load("cifar10", write_cifar_dir(tmp_path, cifar_files(n=6)), val_fraction=0.0)
    png = Path(plots.image_grid(
        ds.x_train, ds.y_train, ds.class_names, tmp_path / "out" / "grid.png", per_class=2
    ))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_data_module_imports_without_keras():
    code = (
        "import sys, training.data\n"
        "assert 'keras' not in sys.modules and 'tensorflow' not in sys.modules"
    )
    subprocess.run(
        [sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[2]
    )


# ----------------------------------------------------------------------------- the real thing


@pytest.mark.real_fashion_mnist
def test_real_debian_fashion_mnist():
    raw = data.load_fashion_mnist_raw(download=False)
    assert raw.source == str(data.FASHION_MNIST_SYSTEM_DIR)
    assert raw.x_train.shape == (60000, 28, 28, 1) and raw.x_test.shape == (10000, 28, 28, 1)
    assert np.bincount(raw.y_train).tolist() == [6000] * 10
    assert np.bincount(raw.y_test).tolist() == [1000] * 10
    summary = data.summarize(raw)
    assert summary["splits"]["train"]["per_class"]["Ankle boot"] == 6000
