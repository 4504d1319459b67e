"""Scale: analysis time versus depth, numeric and symbolic; the cost must grow linearly.

Cases: CIFAR ResNets (6n+2, :func:`benchmarks.specs.resnet_cifar`) from ResNet-20 to ResNet-1202
and plain conv -> BN -> ReLU chains up to 10,000 layers, each analysed on a numeric input
(32x32x3) and on a symbolic one ("H x W x 3"). The figure is microseconds per analysis row
(leaves, Add merges and the input); linear cost means a flat figure, so each series also reports
the per-row cost at its largest depth over its smallest (goal: at most 2).

``analyze`` is timed end to end (naming, shapes, counts, totals) on a spec built beforehand.
Symbolic runs clear sympy's cache before each repeat, so a repeat cannot reuse the expressions
of the previous one (a user analysing a model once gets no such help).

Timings on a shared machine are noisy, so each case also reports the number of Python function
calls one analysis makes, per row (counted once under cProfile): linear work means a flat count,
whatever the machine's load or cache sizes.
"""

from __future__ import annotations

import cProfile
import pstats

from cnncalc import analyze, parse_size

from .harness import Row, measure
from .specs import conv_chain, count_layers, resnet_cifar

RESNET_DEPTHS = (20, 56, 110, 302, 1202)
CHAIN_LENGTHS = (100, 1_000, 10_000)
QUICK_RESNET_DEPTHS = (20, 110, 1202)
QUICK_CHAIN_LENGTHS = (100, 10_000)
SMOKE_RESNET_DEPTHS = (20, 56)
SMOKE_CHAIN_LENGTHS = (10, 100)
LINEAR_GOAL = 2.0


def _clear_sympy_cache():
    from sympy.core.cache import clear_cache

    clear_cache()


def _calls(spec, symbolic) -> int:
    """Python function calls of one analysis (cProfile): a noise-free measure of the work done."""
    if symbolic:
        _clear_sympy_cache()
    profile = cProfile.Profile()
    profile.enable()
    analyze(spec)
    profile.disable()
    return pstats.Stats(profile).total_calls


def _repeats(rows: int, symbolic: bool, quick: bool) -> int:
    if quick == "smoke":
        return 1
    if quick:
        return 3
    if symbolic:
        return 5 if rows > 2_000 else 9
    return 9 if rows > 2_000 else 21


def _series(label, build, sizes, symbolic, quick) -> list[Row]:
    mode = "symbolic H x W x 3" if symbolic else "numeric 32x32x3"
    results = []
    for size in sizes:
        spec = build(size)
        if symbolic:
            spec = spec.with_input(parse_size("H x W x 3"))
        rows = count_layers(spec)
        assert len(analyze(spec).layers) == rows  # counts what the analysis really produces
        timing = measure(
            lambda: analyze(spec),
            repeats=_repeats(rows, symbolic, quick),
            warmup=1,
            setup=_clear_sympy_cache if symbolic else None,
        )
        calls = _calls(spec, symbolic)
        results.append((size, rows, timing, calls))
    out = []
    name = f"scale/{label}"
    for size, rows, timing, calls in results:
        out.append(
            Row(name, f"{label}-{size}, {rows:,} rows, {mode}", timing.median / rows * 1e6, "µs/row",
                note=f"{timing.median * 1e3:.1f} ms per analysis, {timing.repeats} repeats, "
                f"{calls / rows:.0f} calls/row")
        )
    (s0, r0, t0, c0), (s1, r1, t1, c1) = results[0], results[-1]
    growth = (t1.median / r1) / (t0.median / r0)
    # The marginal cost of the last step is free of the fixed cost per call that flatters large
    # depths in the ratio above; superlinear growth shows in it first.
    (_, rp, tp, _) = results[-2]
    marginal = (t1.median - tp.median) / (r1 - rp) * 1e6
    out.append(
        Row(name, f"linearity, {mode}: per-row cost at {label}-{s1} / at {label}-{s0}", growth, "x",
            ratio=growth, ratio_of=f"{r1:,} rows vs {r0:,}", goal=f"<= {LINEAR_GOAL:g} (flat)",
            met=growth <= LINEAR_GOAL,
            note=f"marginal cost from {rp:,} to {r1:,} rows: {marginal:.1f} µs/row; "
            f"calls/row ratio {(c1 / r1) / (c0 / r0):.2f}")
    )
    return out


def run(quick: bool = False, smoke: bool = False) -> list[Row]:
    """``smoke``: two small sizes per series, one repeat, no symbolic ResNet (a check that it runs;
    a symbolic ResNet analysis costs over a second whatever its depth: see benchmarks/README.md)."""
    depths = SMOKE_RESNET_DEPTHS if smoke else QUICK_RESNET_DEPTHS if quick else RESNET_DEPTHS
    lengths = SMOKE_CHAIN_LENGTHS if smoke else QUICK_CHAIN_LENGTHS if quick else CHAIN_LENGTHS
    level = "smoke" if smoke else quick
    rows = []
    for symbolic in (False, True):
        if not (smoke and symbolic):
            rows += _series("resnet", resnet_cifar, depths, symbolic, level)
        rows += _series("chain", conv_chain, lengths, symbolic, level)
    return rows
