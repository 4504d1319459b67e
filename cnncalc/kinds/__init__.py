"""Layer kinds: one module per family, each kind declared once by one :class:`~.registry.Kind`.

Importing this package registers every kind (:data:`~.registry.KINDS`). To add a kind, write its
dataclass, formulas, notation, Keras builder and convention counts in one module here, import it
below, and add its tests; ``tests/test_kinds.py`` names any piece left out. See docs/design.md.
"""

from . import conv, dense, input, merge, norm, pointwise, pool, shortcut  # noqa: F401  (registration)
from .base import Layer, Padding, Size, SpecError, pair
from .conv import Conv2D
from .dense import Dense, Flatten
from .input import Input
from .merge import Add, Concat
from .norm import LRN, BatchNorm
from .pointwise import ACTIVATION_FUNCTIONS, Activation, Dropout
from .pool import AvgPool2D, GlobalAvgPool2D, MaxPool2D
from .registry import IGNORED, KINDS, Absent, Counts, Kind, Notation, Rule, kind_of, register, rule_for
from .shortcut import PadShortcut

__all__ = [
    "ACTIVATION_FUNCTIONS", "IGNORED", "KINDS", "LRN", "Absent", "Activation", "Add", "AvgPool2D",
    "BatchNorm", "Concat", "Conv2D", "Counts", "Dense", "Dropout", "Flatten", "GlobalAvgPool2D",
    "Input", "Kind", "Layer", "MaxPool2D", "Notation", "PadShortcut", "Padding", "Rule", "Size",
    "SpecError", "kind_of", "pair", "register", "rule_for",
]
