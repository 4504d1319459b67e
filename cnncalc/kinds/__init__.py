"""Layer kinds: one module per family, each kind declared once by one :class:`~.registry.Kind`.

Importing this package registers every kind (:data:`~.registry.KINDS`). To add a kind, write its
dataclass, formulas, notation, Keras builder and convention counts in one module here, import it
below, and add its tests; ``tests/test_kinds.py`` names any piece left out. See docs/design.md.
"""

from . import conv, dense, depthwise, elementwise, input, merge, norm, opaque, padding, pointwise, pool, reshape, resize, scale, shortcut, transpose  # noqa: F401  (registration)
from .base import Layer, Padding, Size, SpecError, pair
from .conv import Conv2D
from .dense import Dense, Flatten
from .depthwise import DepthwiseConv2D, SeparableConv2D
from .elementwise import Binary, Elementwise
from .input import Input
from .merge import Add, Concat, Multiply, ScaledAdd
from .norm import LRN, BatchNorm, LayerNorm, Normalization
from .opaque import NOT_COUNTED, Opaque
from .padding import Cropping2D, ZeroPadding2D
from .pointwise import ACTIVATION_FUNCTIONS, Activation, Dropout
from .pool import AvgPool2D, GlobalAvgPool2D, GlobalMaxPool2D, MaxPool2D
from .registry import IGNORED, KINDS, Absent, Counts, Kind, Notation, Rule, kind_of, register, rule_for
from .reshape import Reshape
from .resize import Resize
from .scale import LayerScale, Rescaling
from .shortcut import PadShortcut
from .transpose import Conv2DTranspose

__all__ = [
    "ACTIVATION_FUNCTIONS", "IGNORED", "KINDS", "LRN", "NOT_COUNTED", "Absent", "Activation", "Add",
    "AvgPool2D", "BatchNorm", "Binary", "Concat", "Conv2D", "Conv2DTranspose", "Counts", "Cropping2D", "Dense",
    "DepthwiseConv2D", "Dropout", "Elementwise", "Flatten", "GlobalAvgPool2D", "GlobalMaxPool2D", "Input", "Kind",
    "Layer", "LayerNorm", "LayerScale", "MaxPool2D", "Multiply", "Normalization", "Notation", "Opaque",
    "PadShortcut", "Padding", "Rescaling", "Reshape", "Resize", "Rule", "ScaledAdd", "SeparableConv2D", "Size",
    "SpecError", "ZeroPadding2D", "kind_of", "pair", "register", "rule_for",
]
