"""Atomic file writes: a reader (or a crash) never sees a half-written result or checkpoint.

Each writer writes a temporary file in the target's directory, flushes it to disk and renames it
over the target with ``os.replace``, which is atomic on POSIX and Windows. The published file
gets the mode a plain ``open(path, "w")`` would give (``0o666`` less the process umask, so 0644
under the usual umask 022), not the 0600 of ``mkstemp``: results are meant to be read.

The temporary file is opened with ``O_EXCL`` and published through its directory's descriptor
(:mod:`cnncalc.confined`), so no link is ever written through: a link at the target is replaced
by the new file, never followed. Writes into a run directory pass ``inside=RUN``: then every
directory between the run and the file must be a real directory of the run (a ``checkpoint``
linked elsewhere is refused with one line naming it).

It lives in the base package, and imports only the standard library, so that everything that
writes results shares this one writer: cnncalc's reports, the trainer's run directories and
plots (``training``), and the benchmark results file (``benchmarks``).
"""

from __future__ import annotations

import csv
import io
import json
import os
from contextlib import contextmanager

from . import confined


@contextmanager
def _staged(path, suffix: str, inside):
    """``(descriptor, path)`` of a new temporary file beside ``path``; on success it replaces ``path``.

    The temporary file is made with ``O_EXCL`` in the target's directory, held open, and published
    through the directory's descriptor (:mod:`cnncalc.confined`): a link or FIFO swapped in for it
    is never written through, and a link at ``path`` itself is replaced, never followed. With
    ``inside`` (a run directory) every directory between ``inside`` and ``path`` must be a real
    directory of that tree (made where missing): a ``checkpoint`` linked elsewhere is refused.
    """
    path = os.fspath(path)
    if inside is None:
        root, rel = os.path.dirname(os.path.abspath(path)), os.path.basename(path)
    else:
        root = os.fspath(inside)
        rel = os.path.relpath(os.path.abspath(path), os.path.abspath(root))
    head, name = os.path.split(rel)
    try:
        with confined.open_folder(root, head or ".", create=True) as folder:
            fd, tmp = folder.make_temporary(".tmp-", suffix or os.path.splitext(name)[1])
            published = False
            try:
                yield fd, os.path.join(os.path.dirname(path), tmp)
                os.close(fd)
                fd = None
                # Reopened without following links: a library that wrote by path may have
                # replaced the file; whatever is there now must still be a regular file.
                fd = folder.open(tmp, os.O_RDWR)
                mode = 0o666 & ~_umask()
                if os.chmod in os.supports_fd:
                    os.chmod(fd, mode)
                else:  # pragma: no cover - Windows
                    os.chmod(os.path.join(os.path.dirname(path), tmp), mode)
                os.fsync(fd)
                os.close(fd)
                fd = None
                folder.replace(tmp, name)
                published = True
            finally:
                if fd is not None:
                    os.close(fd)
                if not published:
                    folder.remove(tmp)
    except OSError as exc:
        if exc.filename is not None or isinstance(exc, confined.Refused):
            raise
        # A write into the temporary file (a full disk) names no file: name the target.
        raise OSError(exc.errno, exc.strerror, path) from None


@contextmanager
def replacing(path, suffix="", *, inside=None):
    """Yield a temporary path next to ``path``; on success it replaces ``path`` atomically.

    For libraries that write by path (plots, Keras); ``inside``: the directory tree (a run
    directory) that no link between it and ``path`` may lead out of.
    """
    with _staged(path, suffix, inside) as (_, tmp):
        yield tmp


def _umask() -> int:
    """The process umask (read by setting it and putting it straight back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_text(path, text: str, *, inside=None) -> None:
    """``path`` holds ``text`` (UTF-8), written whole or not at all; ``inside``: as :func:`replacing`."""
    data = text.encode("utf-8")
    with _staged(path, "", inside) as (fd, _):
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]


def write_json(path, data, *, inside=None) -> None:
    write_text(path, json.dumps(data, indent=2, sort_keys=False, default=_jsonable) + "\n", inside=inside)


def write_csv(path, header, rows, *, inside=None) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    write_text(path, buf.getvalue(), inside=inside)


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
