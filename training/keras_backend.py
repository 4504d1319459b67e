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

import json
import os
import sys


class _NoTensorFlow:
    """An import finder that answers every ``import tensorflow...`` as a missing module."""

    def find_spec(self, name, path=None, target=None):
        if name == "tensorflow" or name.startswith("tensorflow."):
            raise ModuleNotFoundError(f"No module named '{name}' (cnntrain keeps TensorFlow out of a process that trains with another Keras backend)", name=name)
        return None


def backend() -> str:
    """The Keras backend of this process: Keras' own answer once Keras is imported, else the one
    it will choose (:func:`configured_backend`), so that asking imports nothing: a refusal such as
    "multi-host needs the JAX backend" is then one line, not TensorFlow's start-up notices and
    seconds of import first."""
    keras = sys.modules.get("keras")
    if keras is not None:
        return keras.backend.backend()
    return configured_backend()


def configured_backend() -> str:
    """The backend Keras 3 will load, decided as ``keras/src/backend/config.py`` decides it:
    ``KERAS_BACKEND`` when set and non-empty, else the ``backend`` of ``keras.json`` in
    ``KERAS_HOME`` (default ``~/.keras``, or ``/tmp/.keras`` when the home is not writable), else
    ``tensorflow``. Reads one small file; imports nothing."""
    chosen = os.environ.get("KERAS_BACKEND")
    if chosen:
        return chosen
    if "KERAS_HOME" in os.environ:
        home = os.environ["KERAS_HOME"]
    else:
        base = os.path.expanduser("~")
        home = os.path.join(base if os.access(base, os.W_OK) else "/tmp", ".keras")
    try:
        with open(os.path.expanduser(os.path.join(home, "keras.json")), encoding="utf-8") as f:
            config = json.load(f)
    except (OSError, ValueError):
        return "tensorflow"
    value = config.get("backend") if isinstance(config, dict) else None
    return value if isinstance(value, str) and value else "tensorflow"


def keep_tensorflow_out() -> bool:
    """Under a Keras backend other than TensorFlow, refuse imports of TensorFlow from now on; True if it did."""
    if backend() == "tensorflow" or "tensorflow" in sys.modules:
        return False
    if not any(isinstance(finder, _NoTensorFlow) for finder in sys.meta_path):
        sys.meta_path.insert(0, _NoTensorFlow())
    return True
