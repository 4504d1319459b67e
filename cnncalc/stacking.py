"""N copies of a shape-preserving block, N symbolic: closed forms above the analysis engine.

A symbolic *number of layers* cannot be a tuple of layers; :func:`stack` answers for N copies of
a block that keeps its input shape: totals are N times the block's, and the receptive field
follows the closed form of :mod:`cnncalc.proofs` (``1 + N (r_block - 1)`` for a stride-1 block).
"""

from __future__ import annotations

from dataclasses import dataclass

from .analysis import analyze
from .arith import equal
from .kinds import SpecError
from .spec import Sequential, Spec
from .symbolic import symbol, symbol_table


@dataclass(frozen=True)
class StackAnalysis:
    """N copies of a shape-preserving block, N symbolic (or an int)."""

    n: object
    block: object  # the Analysis of one block
    params: object
    macs: object
    activations: object  # activations of the N blocks (input row excluded)
    rf: object
    jump: object


def stack(block_layers, n, input, *, symbols=None) -> StackAnalysis:
    """Closed forms for ``block`` repeated ``n`` times (``n`` may be a sympy symbol or a name).

    The block must keep its input shape (stride 1, 'same' padding, same channels): then every copy
    adds the same counts, and the receptive field grows by ``(r_block - 1) * jump`` per copy with
    jump 1 (the corollary proved in :mod:`cnncalc.proofs`).
    """
    import sympy

    if isinstance(n, str):
        n = symbol_table(symbols or [n]).get(n, symbol(n))
    spec = Spec(Sequential(tuple(block_layers)), model="block")
    a = analyze(spec, input=input, symbols=symbols)
    if any(equal(x, y) is False for x, y in zip(a.input, a.output)) or len(a.output) != 3:
        raise SpecError("stack(): the block must keep its input shape to be repeated")
    last = a.layers[-1]
    if last.receptive is None or not all(equal(ax.jump, 1) for ax in last.receptive.axes):
        raise SpecError("stack(): the block must have stride 1 (jump 1) for the closed form")
    block_acts = a.totals.activations - a.layers[0].activations
    return StackAnalysis(
        n=n,
        block=a,
        params=sympy.expand(n * a.totals.params),
        macs=sympy.expand(n * a.totals.macs),
        activations=sympy.expand(n * block_acts),
        rf=sympy.expand(1 + n * (last.rf - 1)),
        jump=1,
    )
