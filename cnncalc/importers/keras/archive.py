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

from ..errors import KerasImportError
from .graph import from_config
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
            try:
                raw = archive.read(CONFIG)
            except KeyError:
                raise KerasImportError(f"'{path}' is not a Keras archive: it holds no {CONFIG}") from None
            try:
                config = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise KerasImportError(f"'{path}': {CONFIG} is not valid JSON ({exc})") from None
            try:
                return from_config(config, name=None)
            except KerasImportError as exc:
                if "not one cnncalc can count" not in str(exc) or WEIGHTS not in archive.namelist():
                    raise
                shapes = weight_shapes(archive, path)
            return from_config(config, weight_shapes=shapes)
    except FileNotFoundError:
        raise KerasImportError(f"no such file: '{path}'") from None
    except IsADirectoryError:
        raise KerasImportError(f"'{path}' is a directory, not a .keras file") from None
    except zipfile.BadZipFile:
        raise KerasImportError(f"'{path}' is not a Keras archive (not a zip file, or truncated)") from None
    except (zipfile.LargeZipFile, EOFError, OSError) as exc:
        raise KerasImportError(f"cannot read '{path}': {exc}") from None

