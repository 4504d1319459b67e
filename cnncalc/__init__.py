"""cnncalc: an analytical CNN calculator.

One layer-spec engine computes output shapes, parameters, activations, MACs and receptive fields,
numerically or symbolically::

    import cnncalc
    spec = cnncalc.parse("INPUT-32x32x3 -> [CONV3-32 -> RELU]*2 -> POOL2 -> FCS")
    cnncalc.analyze(spec).totals.params          # 45,578... exact ints
    cnncalc.analyze(cnncalc.zoo.get("vgg19")).to_dict()   # the documented JSON schema

Importing this package stays light: no sympy, keras or tensorflow (``to_keras`` loads Keras on
first use).
"""

from . import zoo
from .analysis import Analysis, LayerStats, Totals, analyze
from .keras_import import from_keras
from .notation import NotationError, parse, to_notation
from .onnx_import import from_onnx
from .sizes import parse_size
from .spec import SpecError

__version__ = "0.1.0"

__all__ = [
    "Analysis",
    "LayerStats",
    "NotationError",
    "SpecError",
    "Totals",
    "analyze",
    "from_keras",
    "from_onnx",
    "parse",
    "parse_size",
    "to_keras",
    "to_notation",
    "zoo",
]


def __getattr__(name):
    if name == "to_keras":
        from .keras_bridge import to_keras

        return to_keras
    raise AttributeError(f"module 'cnncalc' has no attribute '{name}'")
