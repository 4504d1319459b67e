"""Symbolic hyper-parameters: kernels, strides, filters and sizes as sympy symbols.

``cnncalc.analyze(spec, symbols=...)`` calls :func:`bind`: every hyper-parameter written as a
name (``Conv2D("K", kernel="F", stride="S")``) becomes the positive-integer sympy symbol of that
name, and the one analysis pass then yields expressions (``H*W*K*F**2*C`` ...). ``symbols`` is a
mapping ``{"F": F}`` (any sympy expression, or an int to fix a value) or an iterable of names.
A string a kind declares as a value of that field (``padding="same"``, ``function="relu"``: its
``Kind.strings``) stays a string.

N copies of a block with N symbolic are :func:`cnncalc.stacking.stack`.
"""

from __future__ import annotations

from dataclasses import fields, replace

from .kinds import SpecError, kind_of
from .spec import Sequential, Spec
from .traverse import rewrite

_STRUCTURE = ("name", "layers", "branches")


def symbol(name: str):
    """A positive-integer sympy symbol, as ``parse_size`` makes for ``H x W x 3``."""
    import sympy

    return sympy.Symbol(name, integer=True, positive=True)


def symbol_table(symbols) -> dict:
    """``{name: symbol or value}`` from a mapping, an iterable of names or ``"F, S"``."""
    if isinstance(symbols, str):
        symbols = symbols.replace(",", " ").split()
    if isinstance(symbols, dict):
        return {str(k): (symbol(str(k)) if v is None else v) for k, v in symbols.items()}
    return {str(name): symbol(str(name)) for name in symbols}


def bind(spec, symbols):
    """The spec with every hyper-parameter named in ``symbols`` replaced by its symbol/value."""
    table = symbol_table(symbols)

    def value(v, where, allowed):
        if isinstance(v, str) and v.lower() not in allowed:
            if v not in table:
                raise SpecError(f"layer '{where}': '{v}' is not one of the symbols ({', '.join(table) or 'none given'})")
            return table[v]
        if isinstance(v, tuple):
            return tuple(value(x, where, allowed) for x in v)
        return v

    def bind_layer(node, scope=""):
        strings = kind_of(node).strings
        changes = {}
        for f in fields(node):
            if f.name in _STRUCTURE:
                continue
            old = getattr(node, f.name)
            new = value(old, node.name or node.kind, strings.get(f.name, ()))
            if new is not old:
                changes[f.name] = new
        return replace(node, **changes) if changes else node

    if isinstance(spec, Spec):
        return replace(spec, root=rewrite(spec.root, bind_layer))
    if isinstance(spec, Sequential):
        return rewrite(spec, bind_layer)
    return bind_layer(spec)
