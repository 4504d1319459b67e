"""Weight shapes of a ``.keras`` archive's ``model.weights.h5`` (h5py): the parameters of a
layer class cnncalc has no formula for.

Only metadata is read (group names, dataset shapes), never a weight, and the file is read where
it lies in the archive (Keras stores it uncompressed), never copied into memory. An HDF5 file can
point elsewhere; none of it is followed, each refused by name in a one-line error:

- an external link (another file) or a soft link (a path inside the file, which may loop);
- a virtual dataset or a dataset with external storage (data in other files);
- a group reached twice (a hard-link cycle), groups nested deeper than
  :data:`~cnncalc.importers.limits.MAX_H5_DEPTH`, more objects than
  :data:`~cnncalc.importers.limits.MAX_H5_OBJECTS`;
- a file larger than :data:`~cnncalc.importers.limits.MAX_WEIGHTS_BYTES`, or, when the archive
  compresses it, than :data:`~cnncalc.importers.limits.MAX_COMPRESSED_WEIGHTS_BYTES` once inflated
  (inflated into a temporary file: seeking in a deflate stream would inflate it again and again).
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import zipfile

from ...traverse import SEPARATOR
from ..errors import KerasImportError
from ..limits import MAX_COMPRESSED_WEIGHTS_BYTES, MAX_H5_DEPTH, MAX_H5_OBJECTS, MAX_WEIGHTS_BYTES, limit_text

WEIGHTS = "model.weights.h5"


def weight_shapes(archive, path) -> dict:
    """``{qualified layer name: [variable shapes]}`` from the archive's ``model.weights.h5``."""
    try:
        import h5py
    except ModuleNotFoundError:
        raise KerasImportError(
            f"'{path}' holds a layer class cnncalc cannot count from the config alone; reading its weight shapes needs h5py "
            "(pip install 'cnncalc[keras-files]') or load it through Keras (--via-keras)"
        ) from None
    where = f"'{path}': {WEIGHTS}"
    info = archive.getinfo(WEIGHTS)
    stored = info.compress_type == zipfile.ZIP_STORED
    cap, cap_name = (MAX_WEIGHTS_BYTES, "MAX_WEIGHTS_BYTES") if stored else (MAX_COMPRESSED_WEIGHTS_BYTES, "MAX_COMPRESSED_WEIGHTS_BYTES")
    if info.file_size > cap:
        raise KerasImportError(f"{where} is {info.file_size:,} bytes, more than {limit_text(cap_name)}")
    with _opened(archive, info, stored, cap, cap_name, where) as fh:
        try:
            h5 = h5py.File(fh, "r")
        except OSError as exc:
            raise KerasImportError(f"{where} is not an HDF5 file (or is truncated): {str(exc).splitlines()[0] if str(exc) else exc}") from None
        with h5:
            return _Walk(h5py, where).shapes(h5)


@contextlib.contextmanager
def _opened(archive, info, stored, cap, cap_name, where):
    """The member as a seekable file: in place when stored, inflated (bounded) into a temporary
    file when compressed."""
    if stored:
        with archive.open(info) as fh:
            yield fh
        return
    with archive.open(info) as source, tempfile.TemporaryFile() as copy:
        shutil.copyfileobj(_Bounded(source, cap, cap_name, where), copy, 1 << 20)
        copy.seek(0)
        yield copy


class _Bounded:
    """A stream that stops with an error past ``cap`` bytes, whatever the zip header declared."""

    def __init__(self, stream, cap, cap_name, where):
        self.stream, self.left, self.cap_name, self.where = stream, cap, cap_name, where

    def read(self, n=-1):
        data = self.stream.read(min(n, self.left + 1) if n >= 0 else self.left + 1)
        self.left -= len(data)
        if self.left < 0:
            raise KerasImportError(f"{self.where} inflates to more than {limit_text(self.cap_name)}")
        return data


class _Walk:
    """The walk over ``layers/<name>/vars`` and nested ``layers/<name>/layers``, following hard
    links only, each group once (see the module docstring)."""

    def __init__(self, h5py, where):
        self.h5py, self.where = h5py, where
        self.seen: set = set()
        self.visited = 0

    def shapes(self, h5) -> dict:
        shapes: dict[str, list] = {}
        root = self.child(h5, "layers", "/")
        if root is None:
            return shapes
        stack = [(root, "", "/layers", 1)]
        while stack:
            group, scope, at, depth = stack.pop()
            if depth > MAX_H5_DEPTH:
                raise KerasImportError(f"{self.where}: groups nest deeper than {limit_text('MAX_H5_DEPTH')} (at '{at}')")
            for key in group:
                item = self.child(group, key, at)
                if not isinstance(item, self.h5py.Group):
                    continue
                qualified = scope + key
                variables = self.child(item, "vars", f"{at}/{key}")
                if isinstance(variables, self.h5py.Group):
                    names = sorted(variables, key=lambda k: (0, int(k), "") if k.isdigit() else (1, 0, k))
                    found = [self.child(variables, v, f"{at}/{key}/vars") for v in names]
                    shapes[qualified] = [tuple(int(d) for d in v.shape) for v in found if isinstance(v, self.h5py.Dataset) and v.shape is not None]
                nested = self.child(item, "layers", f"{at}/{key}")
                if isinstance(nested, self.h5py.Group):
                    stack.append((nested, qualified + SEPARATOR, f"{at}/{key}/layers", depth + 1))
        return shapes

    def child(self, group, key, at):
        """``group[key]`` when it is a hard link to a group or dataset not seen before; refusals
        (see the module docstring) are one-line errors naming the path."""
        link = group.get(key, getlink=True)
        if link is None:
            return None
        path = f"{at.rstrip('/')}/{key}"
        if isinstance(link, self.h5py.ExternalLink):
            raise KerasImportError(f"{self.where}: '{path}' is an external link to '{link.filename}': cnncalc never opens a file a model names")
        if isinstance(link, self.h5py.SoftLink):
            raise KerasImportError(f"{self.where}: '{path}' is a soft link to '{link.path}': cnncalc does not follow links inside a weights file")
        self.visited += 1
        if self.visited > MAX_H5_OBJECTS:
            raise KerasImportError(f"{self.where} holds more than {limit_text('MAX_H5_OBJECTS')} groups and datasets")
        item = group[key]
        if isinstance(item, self.h5py.Dataset):
            if item.is_virtual:
                raise KerasImportError(f"{self.where}: '{path}' is a virtual dataset (its data is in other files): refused")
            if item.external:
                raise KerasImportError(f"{self.where}: '{path}' stores its data in external files: refused")
        elif isinstance(item, self.h5py.Group):
            if item.id in self.seen:
                raise KerasImportError(f"{self.where}: '{path}' is a group reached twice (a hard-link cycle or a shared group): refused")
            self.seen.add(item.id)
        return item
