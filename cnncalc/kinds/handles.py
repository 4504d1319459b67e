"""Per-row counting handles shared by the kinds' convention entries (:attr:`Kind.ops`).

Each handle takes one analysis row (:class:`cnncalc.analysis.LayerStats`) and returns a count;
the source of every rule (the other tool's own file) is named in :mod:`cnncalc.conventions`'
docstring and in docs/conventions.md.
"""

from __future__ import annotations

from ..arith import product
from .base import spread


def macs(row):
    """The row's multiply-accumulates (conv and dense)."""
    return row.macs


def twice_macs(row):
    """FLOPs = 2 x MACs: one multiply and one add per MAC."""
    return 2 * row.macs


def bias_adds(row):
    """One add per output element of a biased layer (ptflops, the TF profiler's BiasAdd)."""
    return product(row.output) if row.biases != 0 else 0


def input_elements(row):
    """One operation per input element (ptflops' pools, fvcore's and TF's global mean)."""
    return product(row.input)


def twice_input_elements(row):
    """Two per input element: BatchNorm in eval mode with an affine transform (fvcore, ptflops)."""
    return 2 * product(row.input)


def output_elements(row):
    """One per output element (ptflops' ReLU hook)."""
    return product(row.output)


def window_times_output(row):
    """TensorFlow's ``flops_registry._pool_flops``: kernel area (volume, length) x output elements."""
    return product(spread(row.layer.kernel, len(row.output) - 1)) * product(row.output)


def parameters(row):
    """torchinfo's ``calculate_macs`` for a layer whose output has no spatial positions."""
    return row.weights + row.biases


def mac_layer_ops(torchinfo) -> dict:
    """Every preset's handle for a multiply-accumulate layer (conv, dense); only torchinfo differs.

    fvcore ``conv_flop_count`` / ``linear_flop_jit`` and torchvision's ``_ops``: MACs; ptflops
    ``conv_flops_counter_hook`` / ``linear_flops_counter_hook``: MACs + bias adds; TF profiler
    ``_calc_conv_flops`` / ``_calc_mat_mul_flops`` (2 x MACs) + ``_calc_bias_add_flops``;
    torchinfo ``calculate_macs``: parameters x output positions (conv) or parameters (dense).
    """
    return {
        "macs": macs,
        "flops": twice_macs,
        "torchvision": macs,
        "fvcore": macs,
        "ptflops": lambda row: row.macs + bias_adds(row),
        "torchinfo": torchinfo,
        "tf-profiler": lambda row: 2 * row.macs + bias_adds(row),
    }
