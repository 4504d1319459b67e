"""The one walk over a spec: qualified names, the lowered node list and the order every front end sees.

torch-scan's ``crawler.py`` walks a model once and hands qualified names to every metric; here
:func:`flow` runs a named tree's data flow once (a leaf transforms its input, a merge joins its
branches' outputs) and is what the analysis and the Keras builder both run, and :func:`rewrite`
maps the tree node by node (the naming and the symbolic binding), so the rule that makes a
qualified name (``inception_3a/5x5``: the names of the enclosing merges and named Sequentials,
joined by :data:`SEPARATOR`) lives here alone.

Both spec forms lower to one list of :class:`Step` s (:func:`lower`): a tree (Sequential, Concat,
Add) in its execution order, a :class:`~cnncalc.spec.Graph` in topological order. :func:`flow`
runs that list, so the zoo, the notation and imported Keras graphs share one engine.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, replace
from typing import Callable

from .kinds import KINDS, Input, SpecError
from .spec import Graph, Sequential

SEPARATOR = "/"
"""Joins the names of enclosing merges and named Sequentials: ``inception_3a/5x5``."""


def _is_merge(node) -> bool:
    kind = KINDS.get(type(node))
    return kind is not None and kind.merge


def _inner(scope: str, name) -> str:
    return f"{scope}{name}{SEPARATOR}" if name else scope


@dataclass(frozen=True)
class Step:
    """One call of a layer in the lowered network.

    ``inputs`` are the indices of the steps it reads (none for the Input, one for a transform,
    the branches' outputs for a merge); ``source`` is the tensor a tree merge's branches started
    from (a graph merge: its first input), ``shares`` the index of the step whose weights a
    repeated call of a shared layer reuses.
    """

    name: str
    layer: object
    inputs: tuple = ()
    source: int | None = None
    shares: int | None = None
    merge: bool = False
    trainable: bool = True


def lower(root) -> tuple[tuple[Step, ...], tuple[int, ...]]:
    """``(steps, outputs)``: the network as a list of steps in an order where every step's inputs
    come first, and the indices of the output steps. Raises :class:`SpecError` for a malformed
    graph (a name read but never produced, a cycle, two nodes of one name)."""
    if isinstance(root, Graph):
        return _lower_graph(root)
    steps: list[Step] = []

    def leaf(layer, x, qualified):
        steps.append(Step(qualified, layer, () if x is None else (x,)))
        return len(steps) - 1

    def merge(node, x, outputs, qualified):
        steps.append(Step(qualified, node, tuple(outputs), source=x, merge=True))
        return len(steps) - 1

    if not root.layers:
        raise SpecError("the network is empty: start it with INPUT-HxWxC")
    first, *rest = root.layers
    x = leaf(first, None, first.name)
    for child in rest:
        x = _flow(child, x, "", leaf, merge)
    return tuple(steps), (x,)


def _lower_graph(graph: Graph):
    index: dict[str, int] = {}
    for i, node in enumerate(graph.nodes):
        if not node.name:
            raise SpecError(f"graph node {i + 1} ({node.layer.kind}) has no name: graph nodes are read by name")
        if node.name in index:
            raise SpecError(f"two graph nodes are named '{node.name}'")
        index[node.name] = i
    for node in graph.nodes:
        for name in (*node.inputs, *((node.shares,) if node.shares else ())):
            if name not in index:
                raise SpecError(f"layer '{node.name}' reads '{name}', which no node of the graph produces")
        _check_arity(node)
    inputs = [n.name for n in graph.nodes if isinstance(n.layer, Input)]
    if len(inputs) != 1:
        raise SpecError(f"the graph has {len(inputs)} Input nodes: cnncalc analyses one-input networks")
    # Kahn's algorithm, taking the earliest listed ready node first: the listed order when it is
    # already topological (Keras configs are), a stable order otherwise.
    readers: dict[int, list[int]] = {i: [] for i in range(len(graph.nodes))}
    waiting = []
    for i, node in enumerate(graph.nodes):
        deps = {index[name] for name in node.inputs}
        waiting.append(len(deps))
        for d in deps:
            readers[d].append(i)
    ready = [i for i, n in enumerate(waiting) if n == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        i = heapq.heappop(ready)
        order.append(i)
        for r in readers[i]:
            waiting[r] -= 1
            if waiting[r] == 0:
                heapq.heappush(ready, r)
    if len(order) != len(graph.nodes):
        stuck = [graph.nodes[i].name for i in range(len(graph.nodes)) if waiting[i] > 0]
        raise SpecError(f"the graph has a cycle through {', '.join(stuck[:5])}")
    position = {i: k for k, i in enumerate(order)}
    steps = []
    for i in order:
        node = graph.nodes[i]
        ins = tuple(position[index[name]] for name in node.inputs)
        shares = position[index[node.shares]] if node.shares else None
        if shares is not None and shares > len(steps):
            raise SpecError(f"layer '{node.name}' shares the weights of '{node.shares}', which runs after it")
        steps.append(Step(node.name, node.layer, ins, source=ins[0] if ins else None, shares=shares, merge=_is_merge(node.layer), trainable=node.trainable))
    outputs = graph.outputs or (graph.nodes[order[-1]].name,)
    for name in outputs:
        if name not in index:
            raise SpecError(f"the graph's output '{name}' is not one of its nodes")
    return tuple(steps), tuple(position[index[name]] for name in outputs)


def _check_arity(node):
    n = len(node.inputs)
    if isinstance(node.layer, Input):
        if n:
            raise SpecError(f"layer '{node.name}': an Input reads nothing, got {n} input(s)")
    elif _is_merge(node.layer):
        if n < 1:
            raise SpecError(f"layer '{node.name}' ({node.layer.kind}) merges its inputs but reads none")
    elif n != 1:
        raise SpecError(f"layer '{node.name}' ({node.layer.kind}) reads one tensor, got {n}")


def flow(root, leaf: Callable, merge: Callable, value=None):
    """Run the data flow of a network once, in execution order; returns the output (a list of
    outputs when a graph has several).

    ``leaf(layer, x, qualified) -> y`` for every transform (first the :class:`Input`, with
    ``x = value``); ``merge(node, x, outputs, qualified) -> y`` for a merge, where ``outputs``
    are its inputs' values and ``x`` the tensor the branches started from (a tree) or its first
    input (a graph). An :class:`Input` anywhere but first is an error.
    """
    steps, outputs = lower(root)
    values = []
    for st in steps:
        if st.merge:
            x = values[st.source] if st.source is not None else None
            values.append(merge(st.layer, x, [values[i] for i in st.inputs], st.name))
        else:
            values.append(leaf(st.layer, values[st.inputs[0]] if st.inputs else value, st.name))
    result = [values[i] for i in outputs]
    return result[0] if len(result) == 1 else result


def _flow(node, x, scope, leaf, merge):
    if isinstance(node, Sequential):
        inner = _inner(scope, node.name)
        for child in node.layers:
            x = _flow(child, x, inner, leaf, merge)
        return x
    if isinstance(node, Graph):
        raise SpecError(f"graph '{node.name}' inside a tree: a Graph can only be a spec's root")
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

    if isinstance(root, Graph):  # names are the nodes' own (importers qualify nested models)
        return replace(root, nodes=tuple(replace(n, layer=visit(n.layer, "")) for n in root.nodes))
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
    if isinstance(node, Graph):
        for n in node.nodes:
            yield path + ((node.name,) if node.name else ()), n.layer
        return
    if _is_merge(node):
        for branch in node.branches:
            yield from walk(branch, path + ((node.name,) if node.name else ()))
    yield path, node
