"""Inception modules: Szegedy et al., "Going Deeper with Convolutions", CVPR 2015, Figure 2.

:func:`inception` builds one module (naive, Figure 2a, or with 1x1 dimension reductions, Figure
2b) named as in the Caffe reference GoogLeNet (``inception_3a/1x1``, ``inception_3a/3x3_reduce``,
``inception_3a/pool_proj``). The zoo's ``inception-naive`` and ``inception-reduced`` are the
textbook exercise's module at 32x32x256 with 128 / 192 / 96 filters and 128 / 32 / 64 reductions.
"""

from __future__ import annotations

from ..spec import Activation, Concat, Conv2D, MaxPool2D, Sequential, Spec, sequential
from . import register
from ._common import first_sentence, input_layer


def _conv(filters, kernel, name):
    return [Conv2D(filters, kernel, 1, "same", name=name), Activation("relu", name=f"relu_{name}")]


def inception(name, c1x1, c3x3, c5x5, *, c3x3_reduce=None, c5x5_reduce=None, pool_proj=None) -> Concat:
    """One inception module. Leave the reductions and ``pool_proj`` as ``None`` for the naive form."""
    b3 = (_conv(c3x3_reduce, 1, "3x3_reduce") if c3x3_reduce else []) + _conv(c3x3, 3, "3x3")
    b5 = (_conv(c5x5_reduce, 1, "5x5_reduce") if c5x5_reduce else []) + _conv(c5x5, 5, "5x5")
    pool = [MaxPool2D(3, 1, "same", name="pool")] + (_conv(pool_proj, 1, "pool_proj") if pool_proj else [])
    branches = (Sequential(tuple(_conv(c1x1, 1, "1x1"))), Sequential(tuple(b3)), Sequential(tuple(b5)), Sequential(tuple(pool)))
    return Concat(branches, name=name)


@register("inception-naive", "Inception module, naive (Szegedy et al. 2015 Fig. 2a): 32x32x256 -> 1x1:128, 3x3:192, 5x5:96, 3x3 pool")
def inception_naive(input=(32, 32, 256)) -> Spec:
    """The exercise's naive module (Szegedy et al. 2015, Figure 2a): output 32x32x672, 1,115,684,864 MACs."""
    module = inception("inception", 128, 192, 96)
    return Spec(sequential(input_layer(input), module), model="inception-naive", description=first_sentence(__doc__))


@register("inception-reduced", "Inception module with 1x1 reductions (Fig. 2b): 1x1:128; 128->3x3:192; 32->5x5:96; pool->1x1:64")
def inception_reduced(input=(32, 32, 256)) -> Spec:
    """The exercise's module with dimension reductions (Figure 2b): output 32x32x480, 397,410,304 MACs."""
    module = inception("inception", 128, 192, 96, c3x3_reduce=128, c5x5_reduce=32, pool_proj=64)
    return Spec(sequential(input_layer(input), module), model="inception-reduced", description=first_sentence(__doc__))
