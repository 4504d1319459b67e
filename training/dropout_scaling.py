"""Keras' inverted dropout against the textbook's test-time weight scaling, on one trained model.

Srivastava et al. 2014 train with plain dropout (``m h``) and multiply a unit's outgoing weights
by its keep probability ``q`` at test time; Keras trains with inverted dropout (``m h / q``) and
leaves test time alone. docs/dropout.md shows the two are one network: Keras' trained kernel
``W`` is the textbook's training-time kernel ``V = W / q``, scaled by ``q`` at test. This module
makes that a measurement rather than a claim (docs/design.md: numbers come from runs): it takes a
trained dropout model, writes the textbook's ``V`` for every kernel a Dropout feeds, builds the
same network *without* Dropout layers with the kernels ``q * V`` (and, for contrast, with ``V``
unscaled), and compares their test predictions with the Keras model's.

Only Sequential-style models are handled (each Dense kernel fed by the nearest Dropout before it
in ``model.layers``), which is what the zoo's ``mlp`` builds.
"""

from __future__ import annotations

import numpy as np


def keep_probabilities(model) -> dict[str, float]:
    """``{dense layer name: q}``: the keep probability ``1 - rate`` of the Dropout that feeds each
    Dense layer's input (1.0 where none does), walking ``model.layers`` in order."""
    import keras

    keep, q = {}, 1.0
    for layer in model.layers:
        if isinstance(layer, keras.layers.Dropout):
            q = 1.0 - float(layer.rate)
        elif isinstance(layer, keras.layers.Dense):
            keep[layer.name] = q
            q = 1.0
    return keep


def textbook_weights(model) -> dict[str, list[np.ndarray]]:
    """The plain-dropout (textbook) training-time weights of a Keras dropout model: every Dense
    kernel divided by the keep probability of its input, biases unchanged."""
    keep = keep_probabilities(model)
    out = {}
    for layer in model.layers:
        if layer.name in keep:
            kernel, *rest = layer.get_weights()
            out[layer.name] = [kernel.astype(np.float64) / keep[layer.name], *rest]
    return out


def _load(plain, weights: dict, scale: dict) -> None:
    for layer in plain.layers:
        if layer.name in weights:
            kernel, *rest = weights[layer.name]
            layer.set_weights([(kernel * scale[layer.name]).astype(np.float32), *rest])


def compare(model, plain, x, y, *, batch_size: int = 1024) -> dict:
    """Test accuracy and cross-entropy of ``model`` (Keras, inverted dropout, dropout off at test)
    and of ``plain`` (the same architecture without Dropout layers, uncompiled is fine) loaded
    with the textbook weights scaled by ``q`` (Srivastava's rule) and, for contrast, left unscaled.

    ``plain`` is overwritten. Every figure is computed here from ``predict`` for all three, so
    they share one definition. The unscaled network often keeps the argmax (ReLU is positively
    homogeneous, only the biases break the scaling) but is overconfident: its cross-entropy and
    probabilities show what the scaling is for.
    """
    import keras

    keep = keep_probabilities(model)
    missing = sorted(set(keep) - {layer.name for layer in plain.layers})
    if missing:
        raise ValueError(f"the plain model lacks the Dense layers {missing}")
    if any(isinstance(layer, keras.layers.Dropout) for layer in plain.layers):
        raise ValueError("the plain model must have no Dropout layers")
    y = np.asarray(y)
    keras_probs = model.predict(x, batch_size=batch_size, verbose=0)
    textbook = textbook_weights(model)
    _load(plain, textbook, keep)
    scaled_probs = plain.predict(x, batch_size=batch_size, verbose=0)
    _load(plain, textbook, {name: 1.0 for name in keep})
    unscaled_probs = plain.predict(x, batch_size=batch_size, verbose=0)

    def accuracy(probs):
        return float(np.mean(np.argmax(probs, axis=1) == y))

    def cross_entropy(probs):
        return float(np.mean(-np.log(np.clip(probs[np.arange(len(y)), y].astype(np.float64), 1e-12, None))))

    return {
        "keep_probability": keep,
        "images": int(len(y)),
        "inverted_dropout_accuracy": accuracy(keras_probs),
        "weight_scaled_accuracy": accuracy(scaled_probs),
        "unscaled_accuracy": accuracy(unscaled_probs),
        "inverted_dropout_cross_entropy": cross_entropy(keras_probs),
        "weight_scaled_cross_entropy": cross_entropy(scaled_probs),
        "unscaled_cross_entropy": cross_entropy(unscaled_probs),
        "max_probability_difference": float(np.max(np.abs(scaled_probs - keras_probs))),
        "unscaled_max_probability_difference": float(np.max(np.abs(unscaled_probs - keras_probs))),
        "predictions_differing": int(np.sum(np.argmax(scaled_probs, axis=1) != np.argmax(keras_probs, axis=1))),
    }
