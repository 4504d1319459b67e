"""The one walk over a spec tree: qualified names and the order every front end sees.

torch-scan's ``crawler.py`` walks a model once and hands qualified names to every metric; here
:func:`flow` runs a named tree's data flow once (a leaf transforms its input, a merge joins its
branches' outputs) and is what the analysis and the Keras builder both run, and :func:`rewrite`
maps the tree node by node (the naming and the symbolic binding), so the rule that makes a
qualified name (``inception_3a/5x5``: the names of the enclosing merges and named Sequentials,
joined by :data:`SEPARATOR`) lives here alone.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Callable

from .kinds import KINDS, Input, SpecError
from .spec import Sequential

SEPARATOR = "/"
"""Joins the names of enclosing merges and named Sequentials: ``inception_3a/5x5``."""


def _is_merge(node) -> bool:
    kind = KINDS.get(type(node))
    return kind is not None and kind.merge


def _inner(scope: str, name) -> str:
    return f"{scope}{name}{SEPARATOR}" if name else scope


def flow(root: Sequential, leaf: Callable, merge: Callable, value=None):
    """Run the data flow of a named tree once, in execution order; returns the last output.

    ``leaf(layer, x, qualified) -> y`` for every leaf (first the root's :class:`Input`, with
    ``x = value``); ``merge(node, x, outputs, qualified) -> y`` for a Concat/Add after its
    branches ran on ``x``. An :class:`Input` anywhere but first is an error.
    """
    first, *rest = root.layers
    x = leaf(first, value, first.name)
    for child in rest:
        x = _flow(child, x, "", leaf, merge)
    return x


def _flow(node, x, scope, leaf, merge):
    if isinstance(node, Sequential):
        inner = _inner(scope, node.name)
        for child in node.layers:
            x = _flow(child, x, inner, leaf, merge)
        return x
    qualified = scope + node.name
    if _is_merge(node):
        inner = qualified + SEPARATOR
        outputs = [_flow(branch, x, inner, leaf, merge) for branch in node.branches]
        return merge(node, x, outputs, qualified)
    if isinstance(node, Input):
        raise SpecError(f"layer '{qualified}': an Input can only start the network")
    return leaf(node, x, qualified)


def rewrite(root: Sequential, visit: Callable) -> Sequential:
    """The tree with ``visit(node, scope) -> node`` applied to every leaf and merge node.

    Pre-order: a merge is visited (and may be renamed) before its branches, whose scope then
    holds its new name. Sequentials are rebuilt around their rewritten children.
    """

    def walk_node(node, scope):
        if isinstance(node, Sequential):
            inner = _inner(scope, node.name)
            return replace(node, layers=tuple(walk_node(child, inner) for child in node.layers))
        node = visit(node, scope)
        if _is_merge(node):
            inner = _inner(scope, node.name)
            node = replace(node, branches=tuple(walk_node(b, inner) for b in node.branches))
        return node

    # The root's own name is not part of any qualified name.
    return replace(root, layers=tuple(walk_node(child, "") for child in root.layers))


def walk(node, path=()):
    """Yield ``(path, layer)`` for every leaf and container, depth first, in execution order.

    ``path`` holds the names of the enclosing containers (unnamed ones left out).
    """
    if isinstance(node, Sequential):
        for child in node.layers:
            yield from walk(child, path + ((node.name,) if node.name else ()))
        return
    if _is_merge(node):
        for branch in node.branches:
            yield from walk(branch, path + ((node.name,) if node.name else ()))
    yield path, node
