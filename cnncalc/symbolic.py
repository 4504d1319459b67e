"""Symbolic hyper-parameters: kernels, strides, filters and layer counts as sympy symbols.

``cnncalc.analyze(spec, symbols=...)`` calls :func:`bind`: every hyper-parameter written as a
name (``Conv2D("K", kernel="F", stride="S")``) becomes the positive-integer sympy symbol of that
name, and the one analysis pass then yields expressions (``H*W*K*F**2*C`` ...). ``symbols`` is a
mapping ``{"F": F}`` (any sympy expression, or an int to fix a value) or an iterable of names.

A symbolic *number of layers* cannot be a tuple of layers; :func:`stack` answers for N copies of
a shape-preserving block: totals are N times the block's, and the receptive field follows the
closed form of :mod:`cnncalc.proofs` (``1 + N (r_block - 1)`` for a stride-1 block).
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

from .spec import CONTAINERS, Spec, SpecError

_STRING_VALUES = {"same", "valid", "relu", "tanh", "sigmoid", "softmax", "linear", "elu", "gelu", "swish"}


def symbol(name: str):
    """A positive-integer sympy symbol, as ``parse_size`` makes for ``H x W x 3``."""
    import sympy

    return sympy.Symbol(name, integer=True, positive=True)


def _table(symbols) -> dict:
    if isinstance(symbols, str):
        symbols = symbols.replace(",", " ").split()
    if isinstance(symbols, dict):
        return {str(k): (symbol(str(k)) if v is None else v) for k, v in symbols.items()}
    return {str(name): symbol(str(name)) for name in symbols}


def bind(spec, symbols):
    """The spec with every hyper-parameter named in ``symbols`` replaced by its symbol/value."""
    table = _table(symbols)

    def value(v, where):
        if isinstance(v, str) and v.lower() not in _STRING_VALUES:
            if v not in table:
                raise SpecError(f"layer '{where}': '{v}' is not one of the symbols ({', '.join(table) or 'none given'})")
            return table[v]
        if isinstance(v, tuple) and not isinstance(v, str):
            return tuple(value(x, where) for x in v)
        return v

    def visit(node):
        if isinstance(node, CONTAINERS):
            if hasattr(node, "layers") and not hasattr(node, "branches"):
                return replace(node, layers=tuple(visit(c) for c in node.layers))
            return replace(node, branches=tuple(visit(b) for b in node.branches))
        changes = {}
        for f in fields(node):
            if f.name in ("name", "layers", "branches"):
                continue
            old = getattr(node, f.name)
            new = value(old, node.name or node.kind)
            if new is not old:
                changes[f.name] = new
        return replace(node, **changes) if changes else node

    if isinstance(spec, Spec):
        return replace(spec, root=visit(spec.root))
    return visit(spec)


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

    from .analysis import analyze
    from .arith import equal
    from .spec import Sequential

    if isinstance(n, str):
        n = _table(symbols or [n]).get(n, symbol(n))
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
