"""Operation-count conventions: the numbers other tools print, reproduced from the analysis.

"FLOPs" means different things in different tools (MACs, 2 x MACs, with or without bias adds,
pooling and normalisation). Each :class:`Convention` here is a small table of pure per-kind
rules, computed from a :class:`cnncalc.analysis.LayerStats` row, so ``cnncalc MODEL --convention
NAME`` reproduces that tool's count. Sources (the tools' own files) are listed in
docs/conventions.md; every rule below names its file in a comment.

All counts are per image (batch size 1), for inference (BatchNorm in eval mode).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from .arith import product, total


def _conv_dense_macs(s):
    return s.macs


def _bias_adds(s):
    """One add per output element of a biased conv or dense layer."""
    return product(s.output) if s.kind in ("Conv2D", "Dense") and s.biases != 0 else 0


def _input_elements(s):
    return product(s.input)


def _output_elements(s):
    return product(s.output)


def _pool_window_times_output(s):
    # TF flops_registry._pool_flops: kernel_area * out_shape.num_elements()
    from .spec import pair

    kh, kw = pair(s.layer.kernel)
    return kh * kw * product(s.output)


@dataclass(frozen=True)
class Convention:
    """A named counting rule: ``unit`` labels the column; ``rules`` maps a kind to a count."""

    name: str
    unit: str
    summary: str
    rules: dict = field(default_factory=dict)
    default: Callable | None = None  # for kinds not in ``rules`` (None: 0)

    def count(self, stats) -> object:
        rule = self.rules.get(stats.kind, self.default)
        if rule is None:
            return 0
        return rule(stats)

    def total(self, analysis) -> object:
        return total(self.count(s) for s in analysis.layers)


def _activation(functions):
    def rule(s):
        return product(s.output) if getattr(s.layer, "function", None) in functions else 0

    return rule


CONVENTIONS: dict[str, Convention] = {
    c.name: c
    for c in (
        Convention(
            "macs",
            "MACs",
            "multiply-accumulates of conv and dense layers (DESIGN.md); no bias, pool or BN",
            {"Conv2D": _conv_dense_macs, "Dense": _conv_dense_macs},
        ),
        Convention(
            "flops",
            "FLOPs",
            "2 x MACs: one multiply and one add per MAC",
            {"Conv2D": lambda s: 2 * s.macs, "Dense": lambda s: 2 * s.macs},
        ),
        Convention(
            # torchvision's weight metadata "_ops" (GFLOPS) = conv + linear MACs, e.g. VGG19 19.632
            "torchvision",
            "GFLOPS (MACs)",
            "torchvision's '_ops' metadata: conv and linear MACs, no bias, pool or BN",
            {"Conv2D": _conv_dense_macs, "Dense": _conv_dense_macs},
        ),
        Convention(
            # fvcore/nn/jit_handles.py conv_flop_count, linear_flop_jit (MACs, "addition and bias
            # is ignored"), batchnorm_flop_jit eval: numel * (2 if affine); flop_count.py
            # _DEFAULT_SUPPORTED_OPS: adaptive_avg_pool2d elementwise_flop_counter(1, 0);
            # max_pool2d, relu, cat, add are not counted.
            "fvcore",
            "flops (MACs)",
            "fvcore FlopCountAnalysis: conv/linear MACs without bias, BN 2 x elements, global average pool 1 x input elements",
            {
                "Conv2D": _conv_dense_macs,
                "Dense": _conv_dense_macs,
                "BatchNorm": lambda s: 2 * product(s.input),
                "GlobalAvgPool2D": _input_elements,
            },
        ),
        Convention(
            # ptflops/pytorch_ops.py: conv_flops_counter_hook (MACs + out_channels * output
            # positions for the bias), linear_flops_counter_hook (in*out + out), pool_flops_counter_hook
            # (input elements, max/avg/adaptive pools), bn_flops_counter_hook (2 x input elements
            # when affine), relu_flops_counter_hook (output elements of ReLU/ELU modules).
            "ptflops",
            "MACs (ptflops)",
            "ptflops (pytorch backend): MACs plus bias adds; pools and ReLU count their elements; BN 2 x elements",
            {
                "Conv2D": lambda s: s.macs + _bias_adds(s),
                "Dense": lambda s: s.macs + _bias_adds(s),
                "MaxPool2D": _input_elements,
                "AvgPool2D": _input_elements,
                "GlobalAvgPool2D": _input_elements,
                "BatchNorm": lambda s: 2 * product(s.input),
                "Activation": _activation(("relu", "elu")),
            },
        ),
        Convention(
            # torchinfo/layer_info.py calculate_macs: for parameters named weight/bias, Conv:
            # params * output positions; others: output_size[0] (batch, 1) * params. Buffers
            # (BN running stats) are not parameters; parameter-free layers count 0.
            "torchinfo",
            "Mult-Adds",
            "torchinfo: (weights + biases) x output positions for conv; weights + biases for dense and BN",
            {
                "Conv2D": lambda s: (s.weights + s.biases) * product(s.output[:2]),
                "Dense": lambda s: s.weights + s.biases,
                "BatchNorm": lambda s: s.weights + s.biases,
            },
        ),
        Convention(
            # TensorFlow profiler: nn_ops.py _calc_conv_flops (2 x output elements x kh x kw x
            # C_in/groups) and _calc_bias_add_flops (input elements of BiasAdd); math_ops.py
            # _calc_mat_mul_flops (2 x k x output elements); profiler/internal/flops_registry.py
            # _pool_flops (kernel area x output elements), Mean (input elements), Add (output
            # elements per extra input). FusedBatchNorm and Relu have no flops registration.
            "tf-profiler",
            "float_ops",
            "TensorFlow profiler: 2 x MACs + bias adds; pools kernel area x output; global mean input elements; Add output elements",
            {
                "Conv2D": lambda s: 2 * s.macs + _bias_adds(s),
                "Dense": lambda s: 2 * s.macs + _bias_adds(s),
                "MaxPool2D": _pool_window_times_output,
                "AvgPool2D": _pool_window_times_output,
                "GlobalAvgPool2D": _input_elements,
                "Add": lambda s: (len(s.layer.branches) - 1) * product(s.output),
            },
        ),
    )
}


def get(name: str) -> Convention:
    from .spec import SpecError

    try:
        return CONVENTIONS[name]
    except KeyError:
        raise SpecError(f"unknown convention '{name}' (known: {', '.join(CONVENTIONS)})") from None
