"""Reading what a model file points at: only below the model's own directory, never through a
symbolic link, never more bytes than a cap.

Every importer that reads a second file because a model names it (ONNX external data), or a member
of an archive (a ``.keras`` zip), reads it through these functions, so the rules of docs/import.md
("Reading untrusted files") hold in one place:

- :func:`read_below` reads bytes of a file a model names, relative to the model's directory: an
  absolute name, a ``..`` component, a symbolic link anywhere on the way (each component is opened
  with ``O_NOFOLLOW`` relative to the directory before it, as git and SQLite open their own files:
  :mod:`cnncalc.confined`, which cnntrain's run directories use too) or anything but a regular
  file (a FIFO, a device) is refused, by name, before a byte is read;
- :func:`read_capped` reads a stream (a zip member) up to a cap, whatever its header declares.

The model's own path is the user's choice and may be reached through links; what it names is not.
"""

from __future__ import annotations

import os
import re

from ..confined import Refused, open_folder
from .errors import ModelFileError
from .limits import limit_text


class RefusedPath(ModelFileError):
    """A path named by a model that cnncalc will not open (absolute, ``..``, a link, not a file)."""


class MissingFile(ModelFileError):
    """A file named by a model that is not there (the caller decides whether that is an error)."""


def contained_parts(location: str) -> list[str]:
    """The components of ``location`` below a directory; :class:`RefusedPath` when it leaves it."""
    if not isinstance(location, str) or not location.strip():
        raise RefusedPath(f"{location!r} names no file")
    if "\x00" in location:
        raise RefusedPath(f"{location!r} holds a NUL character")
    if location.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", location) or os.path.isabs(location):
        raise RefusedPath(f"'{location}' is an absolute path")
    parts = [p for p in re.split(r"[/\\]", location) if p not in ("", ".")]
    if ".." in parts:
        raise RefusedPath(f"'{location}' leaves the directory through '..'")
    if not parts:
        raise RefusedPath(f"'{location}' names no file")
    return parts


def open_below(directory: str, location: str) -> int:
    """A read-only descriptor of the regular file ``location`` below ``directory`` (see the module
    docstring for what is refused), opened through :mod:`cnncalc.confined` (the directory walked
    one name at a time from the descriptor above it; a link, FIFO or device refused before it is
    opened). The caller closes it."""
    parts = contained_parts(location)
    try:
        with open_folder(directory, "/".join(parts[:-1]) or ".") as folder:
            return folder.open(parts[-1])
    except FileNotFoundError:
        raise MissingFile(f"'{location}' is not in '{directory}'") from None
    except Refused as exc:
        raise RefusedPath(f"'{location}': {exc}") from None
    except OSError as exc:
        raise ModelFileError(f"cannot open '{location}' in '{directory}': {exc.strerror or exc}") from None


def read_below(directory: str, location: str, *, offset: int = 0, length: int | None = None, cap: int, limit: str) -> bytes:
    """``length`` bytes (the rest of the file when ``None``) at ``offset`` of the file ``location``
    below ``directory``; more than ``cap`` bytes is an error naming the cap ``limit`` (a name of
    :mod:`.limits`). A file shorter than the bytes asked for is an error too, never a short read."""
    fd = open_below(directory, location)
    try:
        size = os.fstat(fd).st_size
        if offset < 0 or offset > size:
            raise ModelFileError(f"'{location}' holds {size:,} bytes: offset {offset:,} is outside it")
        if length is None:
            length = size - offset
        if length > cap:
            raise ModelFileError(f"'{location}': {length:,} bytes asked for, more than {limit_text(limit)}")
        if offset + length > size:
            raise ModelFileError(f"'{location}' holds {size:,} bytes: bytes {offset:,} to {offset + length:,} are asked for")
        chunks, done = [], 0
        while done < length:
            chunk = os.pread(fd, min(length - done, 1 << 24), offset + done)
            if not chunk:
                raise ModelFileError(f"'{location}' ended after {offset + done:,} bytes")
            chunks.append(chunk)
            done += len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def read_capped(stream, cap: int, what: str, limit: str) -> bytes:
    """All of ``stream`` (a zip member, a file), or an error naming the cap when it holds more than
    ``cap`` bytes: at most ``cap + 1`` bytes are ever read, whatever a header declares."""
    data = stream.read(cap + 1)
    if len(data) > cap:
        raise ModelFileError(f"{what} is larger than {limit_text(limit)}")
    return data
