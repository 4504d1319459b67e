"""Atomic file writes: a reader (or a crash) never sees a half-written result or checkpoint.

Each writer writes a temporary file in the target's directory, flushes it to disk and renames it
over the target with ``os.replace``, which is atomic on POSIX and Windows. The published file
gets the mode a plain ``open(path, "w")`` would give (``0o666`` less the process umask, so 0644
under the usual umask 022), not the 0600 of ``mkstemp``: results are meant to be read.

It lives in the base package, and imports only the standard library, so that everything that
writes results shares this one writer: cnncalc's reports, the trainer's run directories and
plots (``training``), and the benchmark results file (``benchmarks``).
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from contextlib import contextmanager


@contextmanager
def replacing(path, suffix=""):
    """Yield a temporary path next to ``path``; on success it replaces ``path`` atomically."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=suffix or os.path.splitext(path)[1], dir=directory)
    os.close(fd)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask())
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        if exc.filename is not None:
            raise
        # A write into the temporary file (a full disk) names no file: name the target.
        raise OSError(exc.errno, exc.strerror, path) from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _umask() -> int:
    """The process umask (read by setting it and putting it straight back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_text(path, text: str) -> None:
    with replacing(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)


def write_json(path, data) -> None:
    write_text(path, json.dumps(data, indent=2, sort_keys=False, default=_jsonable) + "\n")


def write_csv(path, header, rows) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    write_text(path, buf.getvalue())


def read_json(path):
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def read_csv(path) -> tuple[list[str], list[list[str]]]:
    with open(path, encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    return (rows[0], rows[1:]) if rows else ([], [])


def _jsonable(value):
    """numpy scalars and arrays, paths and tuples in configs and metrics."""
    if hasattr(value, "item") and getattr(value, "shape", None) == ():
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
