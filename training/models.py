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


def build_augmented(model: str, input_shape, classes: int, *, cutout: int | None = None, seed: int = 0, **options):
    """Zoo entry ``model`` behind :func:`training.augment.augmentation` (pad-4 crop + flip, then
    Cutout of side ``cutout`` if given), uncompiled.

    The augmentation block is an input stage without weights (identity at test time), so the
    model keeps exactly the counts the calculator gives for ``model``.
    """
    import keras

    from .augment import augmentation

    inputs = keras.Input(tuple(int(v) for v in input_shape), name="images")
    x = augmentation(standard=True, cutout=cutout or None, seed=int(seed))(inputs)
    outputs = build(model, input_shape, classes, **options)(x)
    return keras.Model(inputs, outputs, name=model.replace("-", "_") + "_augmented")


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


def add_l2(model, factor: float, layer_types=None):
    """Put an L2 penalty ``factor * sum(w**2)`` on the kernels of ``model``'s layers of ``layer_types``
    (default: Dense), after the model is built; returns the names of the layers it touched.

    In Keras 3 a weight's regularizer lives on the variable (``Layer.add_weight`` sets
    ``variable.regularizer``) and ``model.losses`` sums them, so the training loss includes the
    penalty. The layer's ``kernel_regularizer`` is set too, so ``get_config`` records it and a
    model loaded from a checkpoint rebuilds its kernels with the same penalty. Biases are left
    alone. Nested models are searched. ``factor`` must be positive. Call it before the model's
    first ``fit``/``evaluate`` (after ``compile`` is fine): Keras traces its step functions once,
    and a step traced earlier keeps the losses it saw.
    """
    import keras

    if not float(factor) > 0:
        raise ValueError(f"L2 factor must be > 0, got {factor!r}")
    layer_types = tuple(layer_types or (keras.layers.Dense,))
    touched = []
    for layer in _walk(model):
        if isinstance(layer, layer_types) and getattr(layer, "kernel", None) is not None:
            layer.kernel_regularizer = keras.regularizers.L2(float(factor))
            layer.kernel.regularizer = keras.regularizers.L2(float(factor))
            touched.append(layer.name)
    return touched


def _walk(model):
    for layer in model.layers:
        yield layer
        if hasattr(layer, "layers"):
            yield from _walk(layer)
