"""The layer spec: the single source of truth for every count and every Keras model.

A spec records only hyper-parameters (filters, kernel, stride, padding, dilation, groups, bias).
Everything else (shapes, parameters, activations, MACs, receptive fields) is *derived* by one
pass of :mod:`cnncalc.analysis`, and :mod:`cnncalc.keras_bridge` builds the Keras model from the
same objects, so the numbers printed and the model trained cannot disagree.

Every class is a frozen dataclass, hashable and comparable. Sizes are ``int`` on the numeric path
and may be sympy expressions on the symbolic path; nothing here imports sympy.

The layer kinds (``Conv2D``, ``Dense``, ...) are each declared once in :mod:`cnncalc.kinds` and
re-exported here (each family loads on first use). The graph is a small DAG made of three containers:

- :class:`Sequential`: layers applied one after another (an empty one is the identity).
- :class:`~cnncalc.kinds.Concat`: branches applied to the same input, outputs joined along
  channels (inception).
- :class:`~cnncalc.kinds.Add`: branches applied to the same input, outputs summed element-wise
  (residual).

and one general form, :class:`Graph`: named :class:`Node` s, each naming the nodes it reads
(Keras functional models: NASNet cells read the two previous cells, a shared layer is called
twice). :func:`cnncalc.traverse.lower` lowers the trees to the same node list, so the engine
analyses one form, in topological order.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from . import kinds
from .kinds import Layer, Padding, Size, SpecError, pair  # noqa: F401  (the spec vocabulary)
from .kinds.input import Input


def __getattr__(name):
    """Every kind's dataclass (``Conv2D``, ``BatchNorm``, ...), re-exported from :mod:`cnncalc.kinds`
    and loaded with its family on first use."""
    if name in kinds.__all__:
        return getattr(kinds, name)
    raise AttributeError(f"module '{__name__}' has no attribute '{name}'")


@dataclass(frozen=True)
class Sequential(Layer):
    """Layers applied in order. An empty Sequential is the identity (a residual shortcut)."""

    layers: tuple = ()

    def __post_init__(self):
        object.__setattr__(self, "layers", tuple(self.layers))


@dataclass(frozen=True)
class Node:
    """One call of a layer in a :class:`Graph`: the layer (named) and the nodes it reads.

    ``inputs`` are node names: none for the :class:`Input`, one for a layer that transforms a
    tensor, several for a merge kind (Concat, Add, Multiply, ...), in order. ``shares`` names the
    node whose weights this call reuses (a Keras layer applied twice): its parameters are counted
    once, at the first call; MACs and activations are counted per call. ``trainable=False`` (a
    frozen Keras layer) counts its weights and biases as non-trainable parameters.
    """

    layer: Layer
    inputs: tuple = ()
    shares: str | None = None
    trainable: bool = True

    def __post_init__(self):
        object.__setattr__(self, "inputs", tuple(self.inputs))

    @property
    def name(self) -> str:
        return self.layer.name


@dataclass(frozen=True)
class Graph(Layer):
    """A general network: :class:`Node` s that name their inputs (a DAG), one :class:`Input` first.

    ``outputs`` names the output node(s); by default the last node. Nodes may be listed in any
    order that has no cycle; the analysis runs them in topological order (the listed order
    where it is one).
    """

    nodes: tuple = ()
    outputs: tuple = ()

    def __post_init__(self):
        object.__setattr__(self, "nodes", tuple(self.nodes))
        object.__setattr__(self, "outputs", tuple(self.outputs))


@dataclass(frozen=True)
class Spec:
    """A whole network: a root :class:`Sequential` plus a model name and a description.

    The first layer of ``root`` is normally an :class:`Input`; a spec without one needs an input
    size at analysis time (``analyze(spec, input=(32, 32, 3))``).
    """

    root: Sequential | Graph
    model: str = "custom"
    description: str = ""
    meta: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def input(self) -> Input | None:
        if isinstance(self.root, Graph):
            inputs = [n.layer for n in self.root.nodes if isinstance(n.layer, Input)]
            return inputs[0] if len(inputs) == 1 else None
        first = self.root.layers[0] if self.root.layers else None
        return first if isinstance(first, Input) else None

    def with_input(self, shape) -> "Spec":
        """The same network on another input size: a tuple of the per-sample sizes, of the rank
        the network's own input has (``(H, W, C)`` for an image network)."""
        shape = tuple(shape)
        own = self.input
        if own is not None and len(own.shape) != len(shape):
            given = "x".join(map(str, shape))
            raise SpecError(
                f"model '{self.model}' reads a rank-{len(own.shape)} input ({'x'.join(map(str, own.shape))}); "
                f"the size {given} has {len(shape)} axes"
            )
        if isinstance(self.root, Graph):
            nodes = tuple(
                replace(n, layer=Input(*shape, name=n.layer.name)) if isinstance(n.layer, Input) else n
                for n in self.root.nodes
            )
            if sum(isinstance(n.layer, Input) for n in nodes) != 1:
                raise SpecError(f"model '{self.model}' has {sum(isinstance(n.layer, Input) for n in nodes)} inputs: only one-input graphs can be resized")
            return Spec(replace(self.root, nodes=nodes), model=self.model, description=self.description, meta=self.meta)
        layers = self.root.layers[1:] if own is not None else self.root.layers
        root = Sequential((Input(*shape, name=own.name if own is not None else "input"), *layers), name=self.root.name)
        return Spec(root, model=self.model, description=self.description, meta=self.meta)


def sequential(*layers, name=None) -> Sequential:
    """Build a :class:`Sequential`, flattening nested plain lists: ``sequential(a, [b, c], d)``."""
    flat = []
    for item in layers:
        if isinstance(item, (list, tuple)):
            flat.extend(item)
        else:
            flat.append(item)
    return Sequential(tuple(flat), name=name)
