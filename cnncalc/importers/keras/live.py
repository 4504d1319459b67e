"""Live Keras models: ``from_keras(model)``, the ``keras.applications`` catalogue (``keras:NAME``)
and a saved file loaded through Keras. The only importer module that imports Keras (lazily)."""

from __future__ import annotations

import os

from ...spec import Spec
from ...traverse import SEPARATOR
from ..errors import KerasImportError
from .graph import from_config

PREFIX = "keras:"
DEFAULT_SIZE = (224, 224)
"""The size a catalogue model built for any size (``None`` x ``None``) is analysed at."""


def from_keras(model_or_config, *, name: str | None = None) -> Spec:
    """The spec of a live ``keras.Model`` (functional, sequential, nested) or of a config dict.

    One node per Keras layer call, named as in Keras (nested models' layers ``outer/inner``);
    ``cnncalc.analyze(from_keras(model)).totals.params == model.count_params()``. A layer class
    cnncalc has no rule for is counted from the live layer (output shape, weights) and flagged
    "MACs not counted" in the analysis' warnings.
    """
    if isinstance(model_or_config, dict):
        return from_config(model_or_config, name=name)
    model = model_or_config
    if not hasattr(model, "get_config") or not hasattr(model, "layers"):
        raise KerasImportError(f"expected a keras.Model or its config dict, got {type(model).__name__}")
    if not getattr(model, "built", True):
        raise KerasImportError(f"model '{model.name}' is not built: call it on an input or build it first")
    config = model.get_config()
    if "layers" not in config:
        raise KerasImportError(f"model '{model.name}' ({type(model).__name__}) has no layer graph in its config: subclassed models are not supported; build it with the functional API")
    return from_config({"class_name": "Sequential" if "input_layers" not in config else "Functional", "config": config}, name=name or model.name, live=live_layers(model, ""))


def live_layers(model, scope):
    """``{qualified name: layer}`` of a live model, nested models entered. Keras 3 lists the
    operators applied to symbolic tensors (``x + 3.0``) with the layers in ``model.operations``."""
    table = {}
    for layer in getattr(model, "operations", None) or getattr(model, "layers", []):
        qualified = scope + layer.name
        table[qualified] = layer
        if hasattr(layer, "layers") and hasattr(layer, "get_config"):
            table.update(live_layers(layer, qualified + SEPARATOR))
    return table


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
