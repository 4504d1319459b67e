"""Operation-count conventions: the numbers other tools print, reproduced from the analysis.

"FLOPs" means different things in different tools (MACs, 2 x MACs, with or without bias adds,
pooling and normalisation). A :class:`Convention` here is only a name, a unit and a summary; how
it counts each layer kind is declared in that kind's registration (``Kind.ops`` in
:mod:`cnncalc.kinds`), each handle beside the other tool's source file it follows. Every kind
either has a handle for every preset or says :data:`~cnncalc.kinds.IGNORED`; a kind a preset
neither counts nor ignores raises (fvcore's ``unsupported_ops()``), never a silent 0. Sources:
docs/conventions.md; definitions: docs/design.md.

All counts are per image (batch size 1), for inference (BatchNorm in eval mode).
"""

from __future__ import annotations

from dataclasses import dataclass

from .arith import is_number, total
from .kinds import IGNORED, SpecError, kind_of


@dataclass(frozen=True)
class Convention:
    """A named counting rule: ``unit`` labels the column; the kinds' ``ops`` hold the handles."""

    name: str
    unit: str
    summary: str
    printed: tuple | None = None  # (divisor, decimals, label): how the tool itself prints the total

    def as_printed(self, value) -> str | None:
        """The total as the other tool prints it (torchvision's ``_ops``: GFLOPS to 3 decimals)."""
        if self.printed is None or not is_number(value):
            return None
        divisor, decimals, label = self.printed
        return f"{value / divisor:.{decimals}f} {label}"

    def handle(self, layer):
        """The kind's handle for this convention, :data:`IGNORED`, or ``None`` when undeclared."""
        return kind_of(layer).ops.get(self.name)

    def count(self, stats) -> object:
        handle = self.handle(stats.layer)
        if handle is None:
            raise SpecError(
                f"convention '{self.name}' does not say how to count layer kind {stats.kind} "
                f"(layer '{stats.name}'): declare it counted or ignored in its Kind.ops"
            )
        return 0 if handle is IGNORED else handle(stats)

    def total(self, analysis) -> object:
        return total(self.count(s) for s in analysis.layers)

    def unsupported(self, analysis) -> dict:
        """``{kind: number of rows}`` of the kinds this convention neither counts nor ignores."""
        missing: dict[str, int] = {}
        for s in analysis.layers:
            if self.handle(s.layer) is None:
                missing[s.kind] = missing.get(s.kind, 0) + 1
        return missing

    def ignored(self, analysis) -> dict:
        """``{kind: number of rows}`` of the kinds this convention deliberately counts as 0."""
        found: dict[str, int] = {}
        for s in analysis.layers:
            if self.handle(s.layer) is IGNORED:
                found[s.kind] = found.get(s.kind, 0) + 1
        return found


CONVENTIONS: dict[str, Convention] = {
    c.name: c
    for c in (
        Convention("macs", "MACs", "multiply-accumulates of conv and dense layers (docs/design.md); no bias, pool or BN"),
        Convention("flops", "FLOPs", "2 x MACs: one multiply and one add per MAC"),
        # torchvision's weight metadata "_ops" (GFLOPS) = conv + linear MACs, e.g. VGG19 19.632
        Convention(
            "torchvision",
            "GFLOPS (MACs)",
            "torchvision's '_ops' metadata: conv, linear and matrix-product MACs, no bias, pool or BN",
            printed=(1e9, 3, "GFLOPS as torchvision prints it"),
        ),
        # fvcore/nn/jit_handles.py conv_flop_count, linear_flop_jit (MACs, "addition and bias is
        # ignored"), batchnorm_flop_jit eval: numel * (2 if affine); flop_count.py
        # _DEFAULT_SUPPORTED_OPS: adaptive_avg_pool2d elementwise_flop_counter(1, 0); max_pool2d,
        # relu, cat, add are not counted.
        Convention(
            "fvcore",
            "flops (MACs)",
            "fvcore FlopCountAnalysis: conv/linear MACs without bias, BN 2 x elements, global average pool 1 x input elements",
        ),
        # ptflops/pytorch_ops.py (0.7.5, count_functional=False): conv_flops_counter_hook (MACs +
        # out_channels * output positions for the bias), linear_flops_counter_hook (in*out + out),
        # pool_flops_counter_hook (input elements, max/avg/adaptive pools), bn_flops_counter_hook
        # (2 x input elements when affine), relu_flops_counter_hook (output elements of ReLU/ELU).
        Convention(
            "ptflops",
            "MACs (ptflops)",
            "ptflops (pytorch backend): MACs plus bias adds; pools and ReLU count their elements; BN 2 x elements",
        ),
        # torchinfo/layer_info.py calculate_macs: for parameters named weight/bias, Conv: params *
        # output positions; others: output_size[0] (batch, 1) * params. Buffers (BN running stats)
        # are not parameters; parameter-free layers count 0.
        Convention(
            "torchinfo",
            "Mult-Adds",
            "torchinfo: (weights + biases) x output positions for conv; weights + biases for dense and BN",
        ),
        # TensorFlow profiler: nn_ops.py _calc_conv_flops (2 x output elements x kh x kw x
        # C_in/groups) and _calc_bias_add_flops (input elements of BiasAdd); math_ops.py
        # _calc_mat_mul_flops (2 x k x output elements); profiler/internal/flops_registry.py
        # _pool_flops (kernel area x output elements), Mean (input elements), Add (output elements
        # per extra input). FusedBatchNorm and Relu have no flops registration.
        Convention(
            "tf-profiler",
            "float_ops",
            "TensorFlow profiler: 2 x MACs + bias adds; pools kernel area x output; global mean input elements; Add output elements",
        ),
    )
}

NAMES = tuple(CONVENTIONS)
"""Every preset, in the order ``--convention`` lists them."""


def get(name: str) -> Convention:
    try:
        return CONVENTIONS[name]
    except KeyError:
        raise SpecError(f"unknown convention '{name}' (known: {', '.join(CONVENTIONS)})") from None
