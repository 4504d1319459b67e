"""Layer kinds: one module per family, each kind declared once by one :class:`~.registry.Kind`.

A family module is loaded when one of its names is first asked for (``cnncalc.kinds.Conv2D``,
``from cnncalc.spec import BatchNorm``), so ``cnncalc vgg19 --table`` loads the five families
VGG uses and not the thirty-odd kinds of imported graphs. Whatever looks a kind up by its *word*
or walks every kind (the arrow notation, the completeness test) calls :func:`load_all` first; a
lookup by class (:func:`kind_of`) needs nothing, since a layer's class is loaded with its module,
which registers it.

**To add a kind**: write its dataclass, formulas, notation, Keras builder and convention counts in
one module here, add the module and the names it exports to :data:`FAMILIES` (the one place a
family is made known), and add its tests; ``tests/test_kinds.py`` names any piece left out and
any module missing from :data:`FAMILIES`. See docs/design.md, "A layer kind is declared once".
"""

from __future__ import annotations


from .. import lazy_names, load_module
from .base import Layer, Padding, Size, SpecError, pair  # noqa: F401  (re-exported: __all__)
from .registry import IGNORED, KINDS, Absent, Counts, Kind, Notation, Rule, kind_of, register, rule_for  # noqa: F401

FAMILIES: dict[str, tuple[str, ...]] = {
    "input": ("Input",),
    "conv": ("Conv2D",),
    "depthwise": ("DepthwiseConv2D", "SeparableConv2D", "DepthwiseConv1D", "SeparableConv1D"),
    "transpose": ("Conv2DTranspose", "Conv1DTranspose", "Conv3DTranspose"),
    "pool": ("MaxPool2D", "AvgPool2D", "GlobalAvgPool2D", "GlobalMaxPool2D"),
    "nd": (
        "Conv1D", "Conv3D",
        "MaxPool1D", "AvgPool1D", "GlobalAvgPool1D", "GlobalMaxPool1D",
        "MaxPool3D", "AvgPool3D", "GlobalAvgPool3D", "GlobalMaxPool3D",
    ),
    "dense": ("Dense", "Flatten"),
    "reshape": ("Reshape",),
    "norm": ("BatchNorm", "LayerNorm", "GroupNorm", "Normalization", "LRN"),
    "pointwise": ("Activation", "Dropout", "ACTIVATION_FUNCTIONS"),
    "scale": ("Rescaling", "LayerScale"),
    "padding": ("ZeroPadding2D", "Cropping2D", "ZeroPadding1D", "Cropping1D", "ZeroPadding3D", "Cropping3D"),
    "shortcut": ("PadShortcut",),
    "merge": ("Concat", "Add", "Multiply", "ScaledAdd"),
    "resize": ("Resize",),
    "elementwise": ("Elementwise", "Binary"),
    "opaque": ("Opaque", "NOT_COUNTED"),
    "matmul": ("MatMul", "Einsum", "EinsumDense"),
    "learned": ("Learned", "ClassToken", "PReLU"),
    "shaping": ("Permute", "Slice", "Take", "Tile"),
    "reduce": ("Reduce",),
    "attention": ("MultiHeadAttention", "Attention", "AdditiveAttention", "ScaledDotProductAttention", "SDPA_ROLES"),
}
"""Every kind module (a family) and the public names it defines: the one registration of a
family. Importing a module registers its kinds (:func:`~.registry.register`)."""

_HOME = {name: module for module, names in FAMILIES.items() for name in names}


def load_all() -> dict:
    """Import every family, so :data:`KINDS` holds every kind; returns :data:`KINDS`."""
    for module in FAMILIES:
        load_module(f"{__name__}.{module}")
    return KINDS


__getattr__, __dir__ = lazy_names(__name__, _HOME, globals())

__all__ = sorted(
    ["IGNORED", "KINDS", "Absent", "Counts", "Kind", "Layer", "Notation", "Padding", "Rule", "Size", "SpecError", "kind_of", "load_all", "pair", "register", "rule_for", *_HOME]
)
