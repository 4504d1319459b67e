"""Layer names: every layer of a spec gets a unique, readable, qualified name.

Names come from the spec where given (the zoo names layers as the papers do: ``conv3_2``,
``inception_3a/5x5``); unnamed layers are numbered per prefix, each kind's prefix declared in
its registration (``conv1``, ``pool2``, ``fc1``; an activation is named after its function). The
analysis and the Keras bridge both use the named spec, so a row of the table and a layer of the
Keras model always carry the same name.
"""

from __future__ import annotations

from dataclasses import replace

from .kinds import Input, SpecError, kind_of
from .spec import Spec
from .traverse import SEPARATOR, rewrite  # noqa: F401  (SEPARATOR: the name separator)


KERAS_SEPARATOR = "."
"""What the spec's separator ``/`` becomes in Keras layer names (Keras 3 forbids ``/``)."""


def keras_name(qualified: str) -> str:
    """Keras layer name of a spec layer: ``"inception_3a/5x5" -> "inception_3a.5x5"``."""
    return qualified.replace(SEPARATOR, KERAS_SEPARATOR)


def spec_name(name: str) -> str:
    """Inverse of :func:`keras_name`: ``"inception_3a.5x5" -> "inception_3a/5x5"``."""
    return name.replace(KERAS_SEPARATOR, SEPARATOR)


def prefix(layer) -> str:
    """The name an unnamed layer of this kind gets before its number."""
    return kind_of(layer).prefix_of(layer)


def with_names(spec: Spec) -> Spec:
    """Return the spec with every unnamed layer numbered per kind (branch Sequentials stay unnamed).

    Raises :class:`SpecError` when two layers end up with the same qualified name.
    """
    counters: dict[str, int] = {}
    taken: set[str] = set()

    def number(node, scope: str):
        if not node.name:
            if isinstance(node, Input):
                node = replace(node, name="input")
            else:
                stem = prefix(node)
                counters[stem] = counters.get(stem, 0) + 1
                node = replace(node, name=f"{stem}{counters[stem]}")
        qualified = scope + node.name
        if qualified in taken:
            raise SpecError(f"two layers are named '{qualified}'")
        taken.add(qualified)
        return node

    return replace(spec, root=rewrite(spec.root, number))
