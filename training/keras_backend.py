"""The Keras backend a process trains with, and keeping TensorFlow out of a process that does not use it.

Keras 3 runs the same models on TensorFlow, JAX or PyTorch (``KERAS_BACKEND``). Under a backend
other than TensorFlow, Keras still *probes* for TensorFlow where it is installed: its
``keras.utils.set_random_seed`` seeds TensorFlow's generator "for tf.data pipelines" whenever it
can import it, and its serializer checks TensorFlow's types when it saves a model. Each probe
imports TensorFlow (seconds and hundreds of megabytes, and TensorFlow's native runtime starting
beside JAX's) in a process that never uses it. :func:`keep_tensorflow_out` makes such a process
behave as if TensorFlow were not installed, which is a configuration Keras supports: its probes
then answer "not available". ``cnntrain`` calls it before it trains; a process that has already
imported TensorFlow is left as it is.
"""

from __future__ import annotations

import sys


class _NoTensorFlow:
    """An import finder that answers every ``import tensorflow...`` as a missing module."""

    def find_spec(self, name, path=None, target=None):
        if name == "tensorflow" or name.startswith("tensorflow."):
            raise ModuleNotFoundError(f"No module named '{name}' (cnntrain keeps TensorFlow out of a process that trains with another Keras backend)", name=name)
        return None


def backend() -> str:
    """The Keras backend of this process (imports Keras, which imports no TensorFlow under JAX)."""
    import keras

    return keras.backend.backend()


def keep_tensorflow_out() -> bool:
    """Under a Keras backend other than TensorFlow, refuse imports of TensorFlow from now on; True if it did."""
    if backend() == "tensorflow" or "tensorflow" in sys.modules:
        return False
    if not any(isinstance(finder, _NoTensorFlow) for finder in sys.meta_path):
        sys.meta_path.insert(0, _NoTensorFlow())
    return True
