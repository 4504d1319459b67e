"""Fuzzing training.data's readers with corrupt files (hypothesis).

Whatever the bytes (an idx file cut at a random offset, a wrong magic number, random garbage,
gzip of garbage or a broken gzip stream, a CIFAR pickle with missing or wrong keys, wrong
shapes or dtypes), the readers and loaders raise :class:`training.data.DataError` (a
``ValueError``) with a one-line message that names the file, and nothing else. Where a random
draw happens to be a well-formed file, the reader must return what the format says instead.

The writers of the valid files are those of tests/training/test_data.py. Example counts are
modest: the module runs in a few seconds.
"""

from __future__ import annotations

import gzip
import pickle
import struct
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tests.training.test_data import (
    CIFAR_META,
    cifar_batch,
    cifar_files,
    fake_fashion,
    idx_bytes,
    py2_pickle,
    write_cifar_dir,
    write_fashion,
)
from training import data
from training.data import DataError

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
LOADERS = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])

IMAGES = idx_bytes(np.arange(3 * 28 * 28, dtype=np.uint8).reshape(3, 28, 28))  # magic 2051
LABELS = idx_bytes(np.array([1, 2, 3], dtype=np.uint8))  # magic 2049


def assert_one_line_naming(exc: DataError, where) -> None:
    message = str(exc)
    assert isinstance(exc, ValueError)
    assert str(where) in message, message
    assert message.strip() and len(message.splitlines()) == 1, repr(message)


def read_idx_file(raw: bytes, name: str, magic: int | None):
    """``read_idx`` on ``raw`` written to a fresh file; returns ``(array or DataError, path)``."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(raw)
        try:
            return data.read_idx(path, magic=magic), path
        except DataError as exc:
            assert_one_line_naming(exc, path)
            return exc, path


def well_formed_idx(raw: bytes, magic: int | None) -> bool:
    """Does ``raw`` follow the idx format (the check the reader must agree with)?"""
    if len(raw) < 4 or raw[0] or raw[1] or raw[2] not in (8, 9, 11, 12, 13, 14) or raw[3] == 0:
        return False
    if magic is not None and int.from_bytes(raw[:4], "big") != magic:
        return False
    ndim = raw[3]
    if len(raw) < 4 + 4 * ndim:
        return False
    shape = struct.unpack(f">{ndim}I", raw[4 : 4 + 4 * ndim])
    size = {8: 1, 9: 1, 11: 2, 12: 4, 13: 4, 14: 8}[raw[2]]
    return len(raw) - 4 - 4 * ndim == int(np.prod(shape, dtype=object)) * size


# ----------------------------------------------------------------------------- idx


@FUZZ
@given(st.sampled_from([(IMAGES, 2051), (LABELS, 2049)]), st.data(), st.booleans())
def test_truncated_idx_is_a_data_error(original, draw, gz):
    raw, magic = original
    cut = draw.draw(st.integers(0, len(raw) - 1), label="offset")
    payload = gzip.compress(raw[:cut]) if gz else raw[:cut]
    result, _ = read_idx_file(payload, "f-idx3-ubyte" + (".gz" if gz else ""), magic)
    assert isinstance(result, DataError)
    expected = "too short" if cut < 4 else "truncated"
    assert expected in str(result)


@FUZZ
@given(st.integers(0, 2**32 - 1).filter(lambda m: m != 2051), st.booleans())
def test_wrong_magic_number_is_a_data_error(magic, gz):
    raw = struct.pack(">I", magic) + IMAGES[4:]
    result, _ = read_idx_file(gzip.compress(raw) if gz else raw, "images.gz" if gz else "images", 2051)
    assert isinstance(result, DataError)
    assert f"wrong magic number {magic}; expected 2051" in str(result)


HEADERISH = st.binary(max_size=4).map(lambda b: b"\x00\x00\x08" + b[:1]) | st.just(b"\x00\x00\x08\x03")


@FUZZ
@given(st.one_of(st.binary(max_size=200), st.tuples(HEADERISH, st.binary(max_size=200)).map(b"".join)),
       st.sampled_from([None, 2051, 2049]), st.booleans())
def test_garbage_idx_is_a_data_error_or_well_formed(raw, magic, gz):
    result, _ = read_idx_file(gzip.compress(raw) if gz else raw, "x.gz" if gz else "x", magic)
    if well_formed_idx(raw, magic):
        assert isinstance(result, np.ndarray)
        assert result.shape == struct.unpack(f">{raw[3]}I", raw[4 : 4 + 4 * raw[3]])
    else:
        assert isinstance(result, DataError)


@FUZZ
@given(st.binary(max_size=300), st.data())
def test_broken_gzip_is_a_data_error(garbage, draw):
    """Not gzip at all under a .gz name, or a gzip stream cut short."""
    if draw.draw(st.booleans(), label="cut a real stream"):
        stream = gzip.compress(IMAGES)
        garbage = stream[: draw.draw(st.integers(0, len(stream) - 1), label="cut")]
    else:
        assume(not garbage.startswith(b"\x1f\x8b"))
    result, _ = read_idx_file(garbage, "t10k-images-idx3-ubyte.gz", 2051)
    assert isinstance(result, DataError)


@LOADERS
@given(st.sampled_from(sorted(data.FASHION_MNIST_FILES.values())), st.data())
def test_fashion_mnist_loader_names_the_corrupt_file(name, draw):
    with tempfile.TemporaryDirectory() as tmp:
        directory = write_fashion(Path(tmp) / "fashion-mnist", fake_fashion(3, 2))
        path = directory / name
        raw = gzip.decompress(path.read_bytes())
        how = draw.draw(st.sampled_from(["truncate", "garbage", "magic"]), label="how")
        if how == "truncate":
            raw = raw[: draw.draw(st.integers(0, len(raw) - 1), label="cut")]
        elif how == "garbage":
            raw = draw.draw(st.binary(max_size=100), label="garbage")
        else:
            raw = struct.pack(">I", draw.draw(st.sampled_from([2049, 2051, 2050, 0, 2**32 - 1]))) + raw[4:]
            assume(raw[:4] != gzip.decompress(path.read_bytes())[:4])
        path.write_bytes(gzip.compress(raw))
        with pytest.raises(DataError) as info:
            data.load_fashion_mnist_raw(directory, download=False)
        assert_one_line_naming(info.value, path)


# ----------------------------------------------------------------------------- CIFAR pickles

KEYS = st.sampled_from([b"data", b"labels", "data", "labels", b"label_names", b"batch_label", b"x", 0])
DTYPES = st.sampled_from(["uint8", "int8", "uint16", "int64", "float32", "float64", "bool"])


@st.composite
def arrays(draw):
    shape = draw(st.one_of(st.lists(st.integers(0, 4), max_size=3).map(tuple),
                           st.sampled_from([(2, 3072), (2, 3072, 1), (3072,)])))
    return np.zeros(shape, dtype=draw(DTYPES))


VALUES = st.one_of(
    arrays(),
    st.sampled_from([(2, 3072), (2, 1024), (0, 3072)]).map(lambda s: np.zeros(s, np.uint8)),
    st.lists(st.integers(-3, 12), max_size=4),
    st.lists(st.text(max_size=3), max_size=3),
    st.lists(st.binary(max_size=4), max_size=12),
    st.lists(st.lists(st.integers(0, 3), max_size=3), max_size=3),  # ragged
    st.none(),
    st.integers(),
    st.binary(max_size=8),
    st.text(max_size=8),
    st.dictionaries(st.binary(max_size=2), st.integers(), max_size=2),
)


@st.composite
def batch_dicts(draw):
    """A CIFAR batch with some keys dropped, renamed or given values of the wrong kind."""
    d = dict(cifar_batch(2, 0))
    for _ in range(draw(st.integers(1, 3))):
        key = draw(KEYS)
        if draw(st.booleans()) and key in d:
            del d[key]
        else:
            d[key] = draw(VALUES)
    return d


def pickled(draw, obj) -> bytes:
    how = draw.draw(st.sampled_from(["py2", "py3"]), label="pickler")
    return py2_pickle(obj) if how == "py2" else pickle.dumps(obj, protocol=2)


def _valid_batch(d) -> bool:
    d = {(k.decode("latin-1") if isinstance(k, bytes) else k): v for k, v in d.items()}
    if "data" not in d or "labels" not in d:
        return False
    try:
        x, y = np.asarray(d["data"]), np.asarray(d["labels"])
    except ValueError:
        return False
    return (x.ndim == 2 and x.shape[1] == 3072 and x.dtype == np.uint8 and y.shape == (len(x),)
            and np.issubdtype(y.dtype, np.integer) and (y.size == 0 or (y.min() >= 0 and y.max() <= 9)))


@pytest.mark.slow
@FUZZ
@given(batch_dicts(), st.data())
def test_corrupt_cifar_batch_is_a_data_error_or_valid(d, draw):
    where = "/data/cifar-10-batches-py/data_batch_3"
    try:
        x, y = data.read_cifar_batch(pickled(draw, d), where)
    except DataError as exc:
        assert_one_line_naming(exc, where)
        # Python 3 pickles an empty byte string as a call of bytes(), which the safe unpickler
        # refuses like any other callable: a valid batch may fail that way, and only that way.
        assert not _valid_batch(d) or "refusing to load __builtin__.bytes" in str(exc)
    else:
        assert _valid_batch(d)
        assert x.shape[1:] == (32, 32, 3) and x.dtype == np.uint8 and len(y) == len(x)


@FUZZ
@given(st.one_of(VALUES, st.lists(VALUES, max_size=11)), st.data())
def test_corrupt_cifar_meta_is_a_data_error(names, draw):
    where = "/data/cifar-10-batches-py/batches.meta"
    meta = dict(CIFAR_META, **{"label_names": names}) if draw.draw(st.booleans()) else {b"label_names": names}
    try:
        out = data.read_cifar_meta(pickled(draw, meta), where)
    except DataError as exc:
        assert_one_line_naming(exc, where)
    else:
        assert len(out) == 10 and all(isinstance(n, str) for n in out)


@FUZZ
@given(st.one_of(st.binary(max_size=200), st.none()), st.data())
def test_garbage_or_truncated_pickle_is_a_data_error(garbage, draw):
    where = "/data/cifar-10-batches-py/test_batch"
    if garbage is None:  # a real batch cut short
        raw = py2_pickle(cifar_batch(2, 0))
        garbage = raw[: draw.draw(st.integers(0, len(raw) - 1), label="cut")]
    with pytest.raises(DataError) as info:
        data.read_cifar_batch(garbage, where)
    assert_one_line_naming(info.value, where)


@LOADERS
@given(st.sampled_from(sorted(cifar_files())), st.one_of(batch_dicts(), st.binary(max_size=64)), st.data())
def test_cifar_loader_names_the_corrupt_file(name, content, draw):
    if isinstance(content, dict):
        assume(not _valid_batch(content))
        if name == "batches.meta":  # a batch dict is a bad meta file unless it has label names
            content.pop(b"label_names", None)
    raw = content if isinstance(content, bytes) else pickled(draw, content)
    with tempfile.TemporaryDirectory() as tmp:
        directory = write_cifar_dir(Path(tmp), cifar_files(n=2, **{name: raw}))
        with pytest.raises(DataError) as info:
            data.load_cifar10_raw(directory, download=False)
        assert_one_line_naming(info.value, directory / name)
