"""Keras models for training, always built from a cnncalc spec: the training package defines no
architecture of its own, so the network trained is the network the calculator counts.
"""

from __future__ import annotations

from cnncalc import analyze, zoo


def spec_for(model: str, input_shape, classes: int, **options):
    """The zoo spec of ``model`` for this input and number of classes."""
    return zoo.get(model, input=tuple(int(v) for v in input_shape), classes=int(classes), **options)


def build(model: str, input_shape, classes: int, *, name: str | None = None, **options):
    """An uncompiled Keras model of zoo entry ``model`` (via :func:`cnncalc.to_keras`)."""
    from cnncalc import to_keras

    return to_keras(spec_for(model, input_shape, classes, **options), name=name or model.replace("-", "_"))


def describe(model: str, input_shape, classes: int, **options) -> dict:
    """The calculator's totals for the model that is trained (stored in each run's config)."""
    totals = analyze(spec_for(model, input_shape, classes, **options)).totals
    return {"params": int(totals.params), "trainable": int(totals.trainable), "macs": int(totals.macs)}


def compile_model(model, optimizer, *, loss="sparse_categorical_crossentropy", metrics=("accuracy",)):
    """Compile for integer labels; the optimizer is a Keras optimizer or a name for
    :func:`training.optimizers.make`."""
    if isinstance(optimizer, str):
        from .optimizers import make

        optimizer = make(optimizer)
    model.compile(optimizer=optimizer, loss=loss, metrics=list(metrics))
    return model
