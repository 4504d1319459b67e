"""Saved Keras models and the keras.applications catalogue as specs.

- :func:`read_keras_file` reads a ``.keras`` archive *without* Keras, TensorFlow or JAX: the
  archive is a zip whose ``config.json`` is the model's serialised config (plain JSON), which
  :func:`cnncalc.keras_import.from_config` maps onto layer kinds. Only a layer class the mapping
  does not know needs more: its parameters come from the weight shapes in ``model.weights.h5``
  (read with h5py, the ``keras-files`` extra) and its output shape from what its consumers
  recorded. ``via_keras=True`` loads the file with ``keras.saving.load_model`` instead.
- :func:`application` builds ``keras.applications.<NAME>(weights=None)`` (the ``keras`` extra)
  and imports it live.

Every failure is a :class:`~cnncalc.keras_import.KerasImportError` with a one-line message that
names the file and the cause (not a zip, truncated, no ``config.json``, not a model).
"""

from __future__ import annotations

import json
import os
import zipfile

from .keras_import import KerasImportError, from_config, from_keras
from .traverse import SEPARATOR

CONFIG = "config.json"
WEIGHTS = "model.weights.h5"
PREFIX = "keras:"
DEFAULT_SIZE = (224, 224)
"""The size a catalogue model built for any size (``None`` x ``None``) is analysed at."""


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
                shapes = _weight_shapes(archive, path)
            return from_config(config, weight_shapes=shapes)
    except FileNotFoundError:
        raise KerasImportError(f"no such file: '{path}'") from None
    except IsADirectoryError:
        raise KerasImportError(f"'{path}' is a directory, not a .keras file") from None
    except zipfile.BadZipFile:
        raise KerasImportError(f"'{path}' is not a Keras archive (not a zip file, or truncated)") from None
    except (zipfile.LargeZipFile, EOFError, OSError) as exc:
        raise KerasImportError(f"cannot read '{path}': {exc}") from None


def _weight_shapes(archive, path) -> dict:
    """``{qualified layer name: [variable shapes]}`` from the archive's ``model.weights.h5``."""
    try:
        import h5py
    except ModuleNotFoundError:
        raise KerasImportError(
            f"'{path}' holds a layer class cnncalc cannot count from the config alone; reading its weight shapes needs h5py "
            "(pip install 'cnncalc[keras-files]') or load it through Keras (--via-keras)"
        ) from None
    import io

    shapes: dict[str, list] = {}
    with archive.open(WEIGHTS) as fh:
        data = io.BytesIO(fh.read())
    with h5py.File(data, "r") as h5:
        root = h5.get("layers")
        if root is None:
            return shapes

        def visit(group, scope):
            for key in group:
                item = group[key]
                qualified = scope + key
                if "vars" in item:
                    vars_ = item["vars"]
                    shapes[qualified] = [tuple(vars_[v].shape) for v in sorted(vars_, key=lambda k: int(k) if k.isdigit() else k)]
                if "layers" in item:
                    visit(item["layers"], qualified + SEPARATOR)

        visit(root, "")
    return shapes


def application(name: str):
    """``keras.applications.<name>(weights=None)`` at its default size, imported live (``--input``
    then re-sizes the imported graph like any spec, symbolic sizes included)."""
    model = application_model(name)
    spec = from_keras(model, name=model.name)
    _keras("").backend.clear_session()
    return spec


def keras_model(source: str):
    """The live Keras model behind ``keras:NAME`` or a ``.keras`` file (for ``--check-keras``)."""
    if source.startswith(PREFIX):
        return application_model(source[len(PREFIX):])
    keras = _keras("--check-keras")
    try:
        return keras.saving.load_model(source, compile=False)
    except Exception as exc:
        raise KerasImportError(f"cannot load '{source}' with Keras: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}") from None


def application_model(name: str):
    """``keras.applications.<name>(weights=None)``; the name is matched case-insensitively."""
    keras = _keras(f"'{PREFIX}{name}'")
    catalogue = {n.lower(): n for n in dir(keras.applications) if n[:1].isupper()}
    key = catalogue.get(name.lower().replace("-", "").replace("_", ""))
    if key is None:
        key = catalogue.get(name.lower())
    if key is None:
        raise KerasImportError(f"keras.applications has no model '{name}' (known: {', '.join(sorted(catalogue.values()))})")
    build = getattr(keras.applications, key)
    try:
        model = build(weights=None)
        if any(v is None for v in model.input_shape[1:3]):
            # MobileNetV3 is built on Input((None, None, 3)) (any size): take its documented
            # default, 224 x 224 (--input "H x W x 3" still gives the formulas)
            keras.backend.clear_session()
            model = build(weights=None, input_shape=(*DEFAULT_SIZE, model.input_shape[-1]))
        return model
    except (ValueError, TypeError) as exc:
        raise KerasImportError(f"keras.applications.{key}: {str(exc).splitlines()[0]}") from None


def _keras(what):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        import keras
    except ModuleNotFoundError as exc:
        raise KerasImportError(f"{what} needs Keras ({exc.name} is not installed): pip install 'cnncalc[keras]'") from None
    return keras
