"""Spec -> Keras: build a functional ``keras.Model`` from the same spec the analysis counts.

:func:`to_keras` runs the same walk as :func:`cnncalc.analyze` (:func:`cnncalc.traverse.flow`)
over the same named spec and emits one Keras layer per spec layer (plus small helper layers where
Keras has no direct equivalent), each built by its kind's registered Keras builder
(``Kind.keras`` in :mod:`cnncalc.kinds`), so that the counts the calculator prints and the model
the training package trains come from one source.

Layer names. Keras 3 forbids ``/`` in layer names, and the spec's qualified names use it
(``inception_3a/5x5``). The one mapping, used everywhere (the model, the check, the docs):

- ``keras_name("inception_3a/5x5") == "inception_3a.5x5"``: the separator ``/`` becomes ``.``;
- ``spec_name("inception_3a.5x5") == "inception_3a/5x5"``: and back.

The mapping is reversible because spec names never contain ``.`` (:func:`to_keras` refuses one
that does). The Keras layer named ``keras_name(q)`` is the one that does the work of spec layer
``q`` (it holds the weights of a convolution). A helper layer is named ``keras_name(q) + "." +
role`` (``conv2.pad``, ``conv1.subsample``): reading such a name back gives ``q/role``, which is
never a spec layer, so dropping the last component names the spec layer it serves. That is how
:mod:`cnncalc.keras_check` folds helpers into their layer.

Layer kinds and their Keras form (each written in its kind's module; backend independent: only ``keras.layers`` and ``keras.ops``,
so the same code runs with ``KERAS_BACKEND=tensorflow`` and ``KERAS_BACKEND=jax``):

============================  ==================================================================
spec                          Keras
============================  ==================================================================
Input                         ``keras.Input``
Conv2D                        ``Conv2D(groups=, dilation_rate=)``; explicit padding p: a
                              ``ZeroPadding2D`` helper (``.pad``) then a ``valid`` convolution;
                              stride > 1 with dilation > 1 (which Keras refuses): explicit padding,
                              a stride-1 dilated convolution and a ``Subsample2D`` helper
                              (``.subsample``), the same output as TensorFlow's strided conv
MaxPool2D / AvgPool2D         ``MaxPooling2D`` / ``AveragePooling2D``; explicit padding and
                              ``ceil_mode`` (extra right/bottom pixels) via a ``.pad`` helper:
                              ``ConstantPadding2D(-inf)`` for max pooling (PyTorch semantics: a
                              pad pixel never wins), ``ZeroPadding2D`` for average pooling (PyTorch's
                              ``count_include_pad=True``; in ceil mode PyTorch leaves the extra
                              right/bottom pixels out of the divisor, this bridge counts them)
GlobalAvgPool2D, Flatten      ``GlobalAveragePooling2D``, ``Flatten``
Dense                         ``Dense(use_bias=)``
BatchNorm                     ``BatchNormalization(epsilon=, momentum=)`` (the spec's values)
LRN                           :class:`LocalResponseNormalization` (custom, parameter free)
Dropout, Activation           ``Dropout(rate)``, ``Activation(function)``
PadShortcut                   :class:`ZeroPaddedShortcut` (custom, parameter free)
Concat, Add                   ``Concatenate(axis=-1)``, ``Add`` (``Identity`` for one branch)
============================  ==================================================================

The custom layers live in :mod:`cnncalc.keras_layers`, registered as Keras serializable objects
(package ``cnncalc``), so a saved ``.keras`` file loads again with ``keras.models.load_model``
once this module is imported.
"""

from __future__ import annotations

import re

import keras

from . import keras_layers
from .analysis import resolve
from .arith import is_number
from .keras_layers import (  # noqa: F401  (public here: load_model(custom_objects=CUSTOM_OBJECTS))
    CUSTOM_OBJECTS,
    ConstantPadding2D,
    LocalResponseNormalization,
    Subsample2D,
    ZeroPaddedShortcut,
)
from .kinds import KINDS, Absent, SpecError
from .naming import KERAS_SEPARATOR, keras_name, spec_name  # noqa: F401  (public here too)
from .spec import Graph
from .traverse import SEPARATOR, flow


class Builder:
    """What a kind's Keras builder is handed: the keras module, the custom layers, unique names."""

    keras = keras
    custom = keras_layers

    def __init__(self):
        self.names: set[str] = set()

    def name(self, qualified: str, role: str | None = None) -> str:
        """The Keras name of spec layer ``qualified``, or of its helper ``role`` (``pad``, ``subsample``)."""
        if KERAS_SEPARATOR in qualified:
            raise SpecError(
                f"layer '{qualified}': names may not contain '{KERAS_SEPARATOR}' for Keras "
                f"('{SEPARATOR}' maps to '{KERAS_SEPARATOR}' in Keras layer names)"
            )
        name = keras_name(qualified) + (KERAS_SEPARATOR + role if role else "")
        if name in self.names:
            raise SpecError(f"layer '{qualified}': Keras layer name '{name}' is taken twice")
        self.names.add(name)
        return name

    def _build(self, node, qualified):
        kind = KINDS.get(type(node))
        if kind is None or isinstance(kind.keras, Absent) or not callable(kind.keras):
            raise SpecError(f"no Keras form for layer kind {node.kind} (layer '{qualified}')")
        return kind.keras

    def leaf(self, layer, x, qualified):
        return self._build(layer, qualified)(self, layer, x, qualified)

    def merge(self, node, x, outputs, qualified):
        return self._build(node, qualified)(self, node, outputs, qualified)


def to_keras(spec, name: str | None = None, *, input=None) -> keras.Model:
    """The Keras functional model of ``spec`` (a :class:`~cnncalc.spec.Spec` or ``Sequential``).

    Layer ``q`` of the analysis is the Keras layer ``keras_name(q)`` (``/`` -> ``.``); helper
    layers carry a ``.pad`` / ``.subsample`` suffix. ``name`` names the model (default: the spec's
    model name); ``input`` overrides the input size as in :func:`cnncalc.analyze`. Sizes must be
    numbers: a symbolic spec raises :class:`~cnncalc.spec.SpecError`.
    """
    spec = resolve(spec, input)
    first = spec.input
    if isinstance(spec.root, Graph) and any(n.shares for n in spec.root.nodes):
        shared = next(n.name for n in spec.root.nodes if n.shares)
        raise SpecError(f"model '{spec.model}': layer '{shared}' reuses another layer's weights; shared layers have no Keras rebuild here (analyse the original Keras model)")
    if not all(is_number(v) for v in first.shape):
        raise SpecError(
            f"model '{spec.model}': Keras needs a numeric input size, got "
            f"{'x'.join(map(str, first.shape))} (pass numeric sizes: input=(H, W, C), (T, C), ...)"
        )
    builder = Builder()
    inputs = []

    def leaf(layer, x, qualified):
        y = builder.leaf(layer, x, qualified)
        if x is None:  # the Input
            inputs.append(y)
        return y

    outputs = flow(spec.root, leaf, builder.merge)
    return keras.Model(inputs[0], outputs, name=name or _model_name(spec.model))


def _model_name(model: str) -> str:
    """A Keras-safe model name: notation text such as ``INPUT-8x8x1 -> FCS`` becomes ``INPUT-8x8x1_FCS``."""
    model = re.sub(r"\s*(->|→)\s*", "_", model.strip())
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", model).strip("_") or "model"
