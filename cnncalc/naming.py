"""Layer names: every layer of a spec gets a unique, readable, qualified name.

Names come from the spec where given (the zoo names layers as the papers do: ``conv3_2``,
``inception_3a/5x5``); unnamed layers are numbered per kind (``conv1``, ``pool2``, ``fc1``). The
analysis and the Keras bridge both call :func:`with_names`, so a row of the table and a layer of
the Keras model always carry the same name.
"""

from __future__ import annotations

from dataclasses import replace

from .spec import (
    Activation,
    Add,
    AvgPool2D,
    BatchNorm,
    Concat,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    GlobalAvgPool2D,
    Input,
    LRN,
    MaxPool2D,
    PadShortcut,
    Sequential,
    Spec,
    SpecError,
)

PREFIXES = {
    Input: "input",
    Conv2D: "conv",
    MaxPool2D: "pool",
    AvgPool2D: "avgpool",
    GlobalAvgPool2D: "gap",
    Flatten: "flatten",
    Dense: "fc",
    BatchNorm: "bn",
    LRN: "lrn",
    Dropout: "dropout",
    PadShortcut: "shortcut",
    Concat: "concat",
    Add: "add",
}

SEPARATOR = "/"


def _prefix(layer) -> str:
    if isinstance(layer, Activation):
        return layer.function
    return PREFIXES.get(type(layer), type(layer).__name__.lower())


def with_names(spec: Spec) -> Spec:
    """Return the spec with every unnamed layer numbered per kind (branch Sequentials stay unnamed).

    Raises :class:`SpecError` when two layers end up with the same qualified name.
    """
    counters: dict[str, int] = {}
    taken: set[str] = set()

    def number(layer):
        if layer.name:
            return layer
        prefix = _prefix(layer)
        if isinstance(layer, Input):
            return replace(layer, name="input")
        counters[prefix] = counters.get(prefix, 0) + 1
        return replace(layer, name=f"{prefix}{counters[prefix]}")

    def visit(node, scope: str):
        if isinstance(node, Sequential):
            inner = f"{scope}{node.name}{SEPARATOR}" if node.name else scope
            return replace(node, layers=tuple(visit(child, inner) for child in node.layers))
        if isinstance(node, (Concat, Add)):
            node = number(node)
            inner = f"{scope}{node.name}{SEPARATOR}"
            node = replace(node, branches=tuple(visit(b, inner) for b in node.branches))
        else:
            node = number(node)
        qualified = scope + node.name
        if qualified in taken:
            raise SpecError(f"two layers are named '{qualified}'")
        taken.add(qualified)
        return node

    root = spec.root
    named_root = replace(root, layers=tuple(visit(child, "") for child in root.layers))
    return replace(spec, root=named_root)
