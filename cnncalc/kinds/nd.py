"""The 1-D and 3-D forms of the convolution and the pools: ``Conv1D`` over a signal ``T x C``
(audio, ECG, a text's tokens), ``Conv3D`` over a volume ``D x H x W x C`` (video, CT), and the max,
average and global pools of both.

Each is the 2-D kind's fields and rule (:mod:`.conv`, :mod:`.pool`: one formula per spatial axis,
:mod:`.geometry`) with another spatial rank. They live here, not beside the 2-D classes, so that
the image path (``cnncalc vgg19``) does not build the classes it never uses: a family of ten
dataclasses costs a few milliseconds of start-up, and the CLI's start-up is measured against the
interpreter's (benchmarks/cli_startup.py). Importers read them by name (``kinds.Conv1D``), which
loads this module. No arrow word: the notation's CONV and POOL are 2-D.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import ClassVar

from .base import Layer
from .conv import CONV_OPS, CONV_RULE, ConvFields, keras_conv
from .pool import POOL_OPS, POOL_RULE, GlobalAvgPool2D, GlobalFields, GlobalMaxPool2D, PoolFields, keras_pool
from .registry import KINDS, Absent, Kind, register


@dataclass(frozen=True)
class Conv1D(Layer, ConvFields):
    """1-D convolution over a signal ``T x C`` (steps x channels): Keras' ``Conv1D``, PyTorch's
    ``nn.Conv1d``; ``padding="causal"`` pads ``d(k-1)`` steps before (WaveNet, TCNs)."""

    SPATIAL: ClassVar[int] = 1


@dataclass(frozen=True)
class Conv3D(Layer, ConvFields):
    """3-D convolution over a volume ``D x H x W x C`` (video frames, CT slices): Keras' ``Conv3D``,
    PyTorch's ``nn.Conv3d``."""

    SPATIAL: ClassVar[int] = 3


@dataclass(frozen=True)
class MaxPool1D(Layer, PoolFields):
    """Max pooling over a signal ``T x C`` (Keras' ``MaxPooling1D``, PyTorch's ``nn.MaxPool1d``)."""

    SPATIAL: ClassVar[int] = 1
    MAXIMUM: ClassVar[bool] = True


@dataclass(frozen=True)
class AvgPool1D(Layer, PoolFields):
    """Average pooling over a signal ``T x C``."""

    SPATIAL: ClassVar[int] = 1
    MAXIMUM: ClassVar[bool] = False


@dataclass(frozen=True)
class MaxPool3D(Layer, PoolFields):
    """Max pooling over a volume ``D x H x W x C`` (Keras' ``MaxPooling3D``, ``nn.MaxPool3d``)."""

    SPATIAL: ClassVar[int] = 3
    MAXIMUM: ClassVar[bool] = True


@dataclass(frozen=True)
class AvgPool3D(Layer, PoolFields):
    """Average pooling over a volume ``D x H x W x C``."""

    SPATIAL: ClassVar[int] = 3
    MAXIMUM: ClassVar[bool] = False


@dataclass(frozen=True)
class GlobalAvgPool1D(Layer, GlobalFields):
    """Mean over the steps: ``T x C -> C`` (``keepdims``: ``1 x C``)."""

    SPATIAL: ClassVar[int] = 1
    MAXIMUM: ClassVar[bool] = False


@dataclass(frozen=True)
class GlobalMaxPool1D(Layer, GlobalFields):
    """Maximum over the steps: ``T x C -> C`` (``keepdims``: ``1 x C``)."""

    SPATIAL: ClassVar[int] = 1
    MAXIMUM: ClassVar[bool] = True


@dataclass(frozen=True)
class GlobalAvgPool3D(Layer, GlobalFields):
    """Mean over depth, height and width: ``D x H x W x C -> C`` (``keepdims``: ``1 x 1 x 1 x C``)."""

    SPATIAL: ClassVar[int] = 3
    MAXIMUM: ClassVar[bool] = False


@dataclass(frozen=True)
class GlobalMaxPool3D(Layer, GlobalFields):
    """Maximum over depth, height and width: ``D x H x W x C -> C`` (``keepdims``: ``1 x 1 x 1 x C``)."""

    SPATIAL: ClassVar[int] = 3
    MAXIMUM: ClassVar[bool] = True


_IMPORTED = Absent("no arrow word: the notation's CONV and POOL are 2-D; build it in Python (cnncalc.spec) or import a Keras or ONNX model")

for _cls, _strings in ((Conv1D, ("same", "valid", "causal")), (Conv3D, ("same", "valid"))):
    register(Kind(_cls, rule=CONV_RULE, prefix="conv", notation=_IMPORTED, keras=keras_conv, strings={"padding": _strings}, ops=CONV_OPS))
for _cls, _prefix in ((MaxPool1D, "pool"), (MaxPool3D, "pool"), (AvgPool1D, "avgpool"), (AvgPool3D, "avgpool")):
    register(Kind(_cls, rule=POOL_RULE, prefix=_prefix, notation=_IMPORTED, keras=keras_pool, strings={"padding": ("same", "valid")}, ops=POOL_OPS))
for _cls, _like in ((GlobalAvgPool1D, GlobalAvgPool2D), (GlobalAvgPool3D, GlobalAvgPool2D), (GlobalMaxPool1D, GlobalMaxPool2D), (GlobalMaxPool3D, GlobalMaxPool2D)):
    register(replace(KINDS[_like], spec=_cls, notation=_IMPORTED))
