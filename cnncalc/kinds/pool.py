"""Pooling: max and average pooling over windows, and global average and max pooling.

Global pooling reduces ``H x W x C`` to ``C`` (``keepdims``: ``1 x 1 x C``, as Keras'
``keepdims=True`` in squeeze-and-excitation blocks). Its output sees the whole input, so the
receptive field stops there (reported as none). Each pool has a 1-D form over a signal ``T x C``
and a 3-D form over a volume ``D x H x W x C`` (``MaxPool1D``, ``GlobalAvgPool3D``, ...), declared
in :mod:`.nd` with this module's fields and rules, per spatial axis (:mod:`.geometry`).
``MAXIMUM`` tells a max pool from an average one whatever its rank.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

from .base import Layer, Padding, Size, spread
from .geometry import ceil_extra, explicit_pair, need_spatial, spatial_output, spatial_rank, window
from .handles import input_elements, window_times_output
from .notation_args import fmt_options, kernel_size
from .registry import Kind, Notation, Rule, ignored, register

NOT_MACS = ("macs", "flops", "torchvision", "fvcore", "torchinfo")
"""The conventions that count only conv and dense multiply-accumulates (or parameters)."""


@dataclass(frozen=True)
class PoolFields:
    """The fields of a max or average pool of any spatial rank. ``stride`` defaults to ``kernel``;
    ``ceil_mode`` as PyTorch (Caffe's rounding)."""

    kernel: Size | tuple = 2
    stride: Size | tuple | None = None
    padding: Padding = 0
    ceil_mode: bool = False


@dataclass(frozen=True)
class GlobalFields:
    """The fields of a global pool: ``S_1 x ... x S_n x C -> C`` (``keepdims``: ``1 x ... x 1 x C``)."""

    keepdims: bool = False


@dataclass(frozen=True)
class MaxPool2D(Layer, PoolFields):
    """Max pooling over an image ``H x W x C``."""

    SPATIAL: ClassVar[int] = 2
    MAXIMUM: ClassVar[bool] = True


@dataclass(frozen=True)
class AvgPool2D(Layer, PoolFields):
    """Average pooling; same geometry as :class:`MaxPool2D`."""

    SPATIAL: ClassVar[int] = 2
    MAXIMUM: ClassVar[bool] = False


@dataclass(frozen=True)
class GlobalAvgPool2D(Layer, GlobalFields):
    """Mean over height and width: ``H x W x C -> C`` (``keepdims``: ``1 x 1 x C``)."""

    SPATIAL: ClassVar[int] = 2
    MAXIMUM: ClassVar[bool] = False


@dataclass(frozen=True)
class GlobalMaxPool2D(Layer, GlobalFields):
    """Maximum over height and width: ``H x W x C -> C`` (``keepdims``: ``1 x 1 x C``)."""

    SPATIAL: ClassVar[int] = 2
    MAXIMUM: ClassVar[bool] = True


def pool_stride(layer):
    return layer.kernel if layer.stride is None else layer.stride


def pool_shape(layer, in_shape, warn):
    spatial = spatial_output(layer, in_shape, layer.kernel, pool_stride(layer), layer.padding, 1, warn, layer.ceil_mode)
    return (*spatial, in_shape[-1])


def global_pool_shape(layer, in_shape, warn):
    channels = need_spatial(layer, in_shape)[-1]
    return (*(1,) * spatial_rank(layer), channels) if layer.keepdims else (channels,)


# --------------------------------------------------------------------------------------------
# Arrow notation: POOL<k> / MAXPOOL<k> / AVGPOOL<k>(s=, p=, ceil=); GAP
# --------------------------------------------------------------------------------------------


def _parse_pool(word, kernel, arg, options, classes):
    cls = AvgPool2D if word == "avgpool" else MaxPool2D
    return [cls(kernel_size(kernel, 2), **options)]


def _write_pool(layer) -> str:
    word = "POOL" if isinstance(layer, MaxPool2D) else "AVGPOOL"
    opts = []
    if layer.stride is not None and layer.stride != layer.kernel:
        opts.append(("s", layer.stride))
    if layer.padding != 0:
        opts.append(("p", layer.padding))
    if layer.ceil_mode:
        opts.append(("ceil", "true"))
    return f"{word}{layer.kernel}{fmt_options(opts)}"


# --------------------------------------------------------------------------------------------
# Keras: MaxPooling2D / AveragePooling2D; explicit padding and ceil_mode (extra right/bottom
# pixels) via a '.pad' helper: ConstantPadding2D(-inf) for max pooling (PyTorch semantics: a pad
# pixel never wins), ZeroPadding2D for average pooling (PyTorch's count_include_pad=True; in ceil
# mode PyTorch leaves the extra right/bottom pixels out of the divisor, this bridge counts them).
# --------------------------------------------------------------------------------------------


def keras_pool(b, layer, x, qualified):
    keras = b.keras
    n = spatial_rank(layer)
    kernel, stride = spread(layer.kernel, n), spread(pool_stride(layer), n)
    cls = getattr(keras.layers, f"{'MaxPooling' if layer.MAXIMUM else 'AveragePooling'}{n}D")
    explicit = explicit_pair(layer.padding, n)
    if explicit is None:  # 'same' or 'valid': Keras does it (ceil_mode changes nothing for 'same')
        mode = layer.padding.lower()
        if mode == "valid" and layer.ceil_mode:
            explicit = (0,) * n
        else:
            return cls(kernel, stride, padding=mode, name=b.name(qualified))(x)
    sizes = x.shape[1:-1]
    pads = tuple(
        (p, p + (ceil_extra(size, k, s, p) if layer.ceil_mode else 0)) for size, k, s, p in zip(sizes, kernel, stride, explicit)
    )
    if any(any(side) for side in pads):
        if layer.MAXIMUM:
            x = b.custom.ConstantPadding2D(pads, value=-math.inf, name=b.name(qualified, "pad"))(x)
        else:
            x = getattr(keras.layers, f"ZeroPadding{n}D")(pads[0] if n == 1 else pads, name=b.name(qualified, "pad"))(x)
    return cls(kernel, stride, padding="valid", name=b.name(qualified))(x)


def _keras_global(b, layer, x, qualified):
    word = "GlobalAveragePooling" if not layer.MAXIMUM else "GlobalMaxPooling"
    return getattr(b.keras.layers, f"{word}{spatial_rank(layer)}D")(keepdims=layer.keepdims, name=b.name(qualified))(x)


def _write_global(layer) -> str:
    if layer.keepdims:
        raise ValueError(f"layer '{layer.name}': a global pool that keeps its 1x1 axes has no arrow form")
    return "GAP" if isinstance(layer, GlobalAvgPool2D) else "GMP"


# The output of a global pool sees the whole input: no field is carried past it (also when it
# keeps 1x1 spatial axes), and a 1x1 gate made from it is left out where it meets the spatial path.
_GLOBAL_RULE = Rule(shape=global_pool_shape, tracks_field=False)

POOL_RULE = Rule(shape=pool_shape, window=window(lambda layer: layer.kernel, pool_stride, lambda layer: layer.padding))
POOL_OPS = {
    **ignored(*NOT_MACS),
    "ptflops": input_elements,  # ptflops pool_flops_counter_hook: input elements
    "tf-profiler": window_times_output,  # TF flops_registry._pool_flops
}

for _cls, _prefix, _words in ((MaxPool2D, "pool", ("pool", "maxpool")), (AvgPool2D, "avgpool", ("avgpool",))):
    register(
        Kind(
            _cls,
            rule=POOL_RULE,
            prefix=_prefix,
            notation=Notation(
                _words,
                _parse_pool,
                _write_pool,
                kernel=True,
                options=frozenset({"stride", "padding", "ceil_mode"}),
                spatial="needs",
            ),
            keras=keras_pool,
            strings={"padding": ("same", "valid")},
            ops=POOL_OPS,
        )
    )

register(
    Kind(
        GlobalAvgPool2D,
        rule=_GLOBAL_RULE,
        prefix="gap",
        notation=Notation(("gap",), lambda *a: [GlobalAvgPool2D()], _write_global, spatial="ends"),
        keras=_keras_global,
        strings={},
        ops={
            **ignored("macs", "flops", "torchvision", "torchinfo"),
            "fvcore": input_elements,  # fvcore adaptive_avg_pool2d: elementwise_flop_counter(1, 0)
            "ptflops": input_elements,
            "tf-profiler": input_elements,  # Mean: input elements
        },
    )
)

register(
    Kind(
        GlobalMaxPool2D,
        rule=_GLOBAL_RULE,
        prefix="gmp",
        notation=Notation(("gmp",), lambda *a: [GlobalMaxPool2D()], _write_global, spatial="ends"),
        keras=_keras_global,
        strings={},
        ops={
            **ignored("macs", "flops", "torchvision", "fvcore", "torchinfo"),  # fvcore: max pools not counted
            "ptflops": input_elements,  # pool_flops_counter_hook (AdaptiveMaxPool2d): input elements
            "tf-profiler": input_elements,  # Max: input elements (reduction)
        },
    )
)
