"""Saved ``.keras`` archives read *without* Keras, TensorFlow or JAX.

The archive is a zip whose ``config.json`` is the model's serialised config (plain JSON), which
:func:`~.graph.from_config` maps onto layer kinds. Only a layer class the mapping does not know
needs more: its parameters come from the weight shapes in ``model.weights.h5`` (:mod:`.weights`,
h5py) and its output shape from what its consumers recorded. ``via_keras=True`` loads the file
with ``keras.saving.load_model`` instead (:mod:`.live`).

Every failure is a :class:`~cnncalc.importers.errors.KerasImportError` with a one-line message
that names the file and the cause (not a zip, truncated, no ``config.json``, not a model).
"""

from __future__ import annotations

import json
import zipfile

from ..errors import KerasImportError, ModelFileError
from ..files import read_capped
from ..limits import MAX_CONFIG_BYTES, limit_text
from .graph import UnknownClass, from_config
from .live import from_keras, keras_model
from .weights import WEIGHTS, weight_shapes

CONFIG = "config.json"


def is_keras_file(path: str) -> bool:
    return path.lower().endswith(".keras")


def read_keras_file(path: str, *, via_keras: bool = False):
    """The spec of a saved ``.keras`` model (see the module docstring)."""
    if via_keras:
        return from_keras(keras_model(path))
    try:
        with zipfile.ZipFile(path) as archive:
            config = read_config(archive, path)
            try:
                return from_config(config, name=None)
            except UnknownClass:
                if WEIGHTS not in archive.namelist():
                    raise
                shapes = weight_shapes(archive, path, config)
            return from_config(config, weight_shapes=shapes)
    except FileNotFoundError:
        raise KerasImportError(f"no such file: '{path}'") from None
    except IsADirectoryError:
        raise KerasImportError(f"'{path}' is a directory, not a .keras file") from None
    except zipfile.BadZipFile:
        raise KerasImportError(f"'{path}' is not a Keras archive (not a zip file, or truncated)") from None
    except (zipfile.LargeZipFile, EOFError, OSError, NotImplementedError, RuntimeError) as exc:
        # RuntimeError: an encrypted member; NotImplementedError: a compression zipfile lacks
        raise KerasImportError(f"cannot read '{path}': {exc}") from None


def read_config(archive, path):
    """The archive's ``config.json``, parsed: at most :data:`~cnncalc.importers.limits.MAX_CONFIG_BYTES`
    are inflated whatever the zip header says, and JSON nested past Python's limits is an error."""
    try:
        info = archive.getinfo(CONFIG)
    except KeyError:
        raise KerasImportError(f"'{path}' is not a Keras archive: it holds no {CONFIG}") from None
    where = f"'{path}': {CONFIG}"
    if info.file_size > MAX_CONFIG_BYTES:
        raise KerasImportError(f"{where} is {info.file_size:,} bytes, more than {limit_text('MAX_CONFIG_BYTES')}")
    with archive.open(info) as fh:
        try:
            raw = read_capped(fh, MAX_CONFIG_BYTES, where, "MAX_CONFIG_BYTES")
        except ModelFileError as exc:
            raise KerasImportError(str(exc)) from None
    try:
        return json.loads(raw.decode("utf-8"))
    except RecursionError:
        raise KerasImportError(f"{where} nests deeper than {limit_text('MAX_CONFIG_DEPTH')} lists and objects") from None
    except (UnicodeDecodeError, ValueError) as exc:  # JSONDecodeError, or an integer of over 4,300 digits
        raise KerasImportError(f"{where} is not valid JSON ({str(exc).splitlines()[0]})") from None
