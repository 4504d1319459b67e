"""The one analysis pass: walk a spec once and derive every per-layer and total count.

The engine knows containers (Sequential, Concat, Add) but no layer kind: each leaf's numbers come
from its :class:`cnncalc.formulas.Rule`. Sizes stay ``int`` unless the input (or a layer) is
symbolic, in which case the same formulas produce sympy expressions.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from .arith import as_size, equal, known, product, to_json, total
from .formulas import rule_for
from .naming import SEPARATOR, with_names
from .spec import Add, Concat, Input, Sequential, Spec, SpecError

COUNT_FIELDS = ("activations", "weights", "biases", "params", "non_trainable", "macs")


@dataclass(frozen=True)
class LayerStats:
    """One row of the analysis: a layer, its output shape and what it adds."""

    name: str
    kind: str
    input: tuple
    output: tuple
    activations: object
    weights: object
    biases: object
    non_trainable: object
    macs: object
    layer: object = field(repr=False, compare=False, default=None)

    @property
    def params(self):
        """Trainable plus non-trainable: exactly Keras' ``count_params()``."""
        return self.weights + self.biases + self.non_trainable

    @property
    def trainable(self):
        """What PyTorch tools (torchinfo, torchvision) call the parameter count."""
        return self.weights + self.biases

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "kind": self.kind,
            "output": [to_json(v) for v in self.output],
            **{key: to_json(getattr(self, key)) for key in COUNT_FIELDS},
        }


@dataclass(frozen=True)
class Totals:
    """Column sums over all rows."""

    activations: object
    weights: object
    biases: object
    non_trainable: object
    macs: object

    @property
    def params(self):
        return self.weights + self.biases + self.non_trainable

    @property
    def trainable(self):
        return self.weights + self.biases

    @property
    def flops(self):
        """FLOPs = 2 x MACs (one multiply and one add per MAC)."""
        return 2 * self.macs

    def to_dict(self) -> dict:
        return {key: to_json(getattr(self, key)) for key in COUNT_FIELDS}


@dataclass(frozen=True)
class Analysis:
    """The result of :func:`analyze`: rows in execution order, totals and warnings."""

    model: str
    input: tuple
    output: tuple
    layers: tuple
    totals: Totals
    warnings: tuple = ()
    spec: Spec | None = field(default=None, repr=False, compare=False)

    @property
    def symbolic(self) -> bool:
        return not all(known(v) for v in (*self.input, self.totals.params, self.totals.macs))

    def row(self, name: str) -> LayerStats:
        """The row of the layer with this qualified name."""
        for stats in self.layers:
            if stats.name == name:
                return stats
        raise KeyError(f"no layer named '{name}' in {self.model}")

    def to_dict(self) -> dict:
        """The stable JSON schema documented in docs/cli.md."""
        return {
            "model": self.model,
            "input": [to_json(v) for v in self.input],
            "output": [to_json(v) for v in self.output],
            "layers": [stats.to_dict() for stats in self.layers],
            "totals": self.totals.to_dict(),
            "warnings": list(self.warnings),
        }


def _parse_input(value) -> tuple:
    if isinstance(value, str):
        from .notation import parse_size

        value = parse_size(value)
    if len(value) != 3:
        raise SpecError(f"an input size is HxWxC, got {value!r}")
    return tuple(as_size(v) for v in value)


def resolve(spec, input=None) -> Spec:
    """A named :class:`Spec` whose first layer is the :class:`Input` to analyse."""
    if isinstance(spec, Sequential):
        spec = Spec(spec)
    if not isinstance(spec, Spec):
        raise SpecError(f"expected a Spec or a Sequential, got {type(spec).__name__}")
    if input is not None:
        spec = spec.with_input(_parse_input(input))
    if spec.input is None:
        raise SpecError(
            f"model '{spec.model}' has no input size: start it with INPUT-HxWxC or pass --input"
        )
    return with_names(spec)


def analyze(spec, input=None) -> Analysis:
    """Analyse ``spec`` (a :class:`Spec` or :class:`Sequential`), optionally on another input.

    ``input`` is ``(H, W, C)`` (ints or sympy expressions) or a string such as ``"224x224x3"`` or
    ``"H x W x 3"``. Raises :class:`SpecError` with a one-line message for an impossible layer.
    """
    spec = resolve(spec, input)
    rows: list[LayerStats] = []
    warnings: list[str] = []

    def leaf(layer, in_shape, qualified):
        rule = rule_for(layer)
        named = replace(layer, name=qualified) if qualified != layer.name else layer
        out_shape = tuple(as_size(v) for v in rule.shape(named, in_shape, warnings.append))
        counts = rule.counts(named, in_shape, out_shape)
        rows.append(
            LayerStats(
                name=qualified,
                kind=layer.kind,
                input=tuple(in_shape),
                output=out_shape,
                activations=product(out_shape) if rule.materializes else 0,
                weights=counts.weights,
                biases=counts.biases,
                non_trainable=counts.non_trainable,
                macs=counts.macs,
                layer=layer,
            )
        )
        return out_shape

    def merge(node, in_shape, outputs, qualified):
        if not outputs:
            raise SpecError(f"layer '{qualified}' ({node.kind}) has no branches")
        first = outputs[0]
        for other in outputs[1:]:
            same_rank = len(other) == len(first)
            dims = (first[:-1], other[:-1]) if isinstance(node, Concat) else (first, other)
            if not same_rank or any(equal(a, b) is False for a, b in zip(*dims)):
                fmt = lambda s: "x".join(map(str, s))  # noqa: E731
                what = "spatial sizes" if isinstance(node, Concat) else "shapes"
                raise SpecError(
                    f"layer '{qualified}' ({node.kind}): branch {what} differ: "
                    f"{fmt(first)} vs {fmt(other)}"
                )
        if isinstance(node, Concat):
            out_shape = (*first[:-1], total(o[-1] for o in outputs))
        else:
            out_shape = tuple(first)
        rows.append(
            LayerStats(
                name=qualified,
                kind=node.kind,
                input=tuple(in_shape),
                output=out_shape,
                activations=product(out_shape),
                weights=0,
                biases=0,
                non_trainable=0,
                macs=0,
                layer=node,
            )
        )
        return out_shape

    def visit(node, in_shape, scope):
        if isinstance(node, Sequential):
            inner = f"{scope}{node.name}{SEPARATOR}" if node.name else scope
            for child in node.layers:
                in_shape = visit(child, in_shape, inner)
            return in_shape
        qualified = scope + node.name
        if isinstance(node, (Concat, Add)):
            inner = f"{qualified}{SEPARATOR}"
            outputs = [visit(branch, in_shape, inner) for branch in node.branches]
            return merge(node, in_shape, outputs, qualified)
        if isinstance(node, Input) and scope:
            raise SpecError(f"layer '{qualified}': an Input can only start the network")
        return leaf(node, in_shape, qualified)

    first, *rest = spec.root.layers
    shape = leaf(first, (), first.name)
    for child in rest:
        if isinstance(child, Input):
            raise SpecError(f"layer '{child.name}': an Input can only start the network")
        shape = visit(child, shape, "")

    totals = Totals(
        **{key: total(getattr(r, key) for r in rows) for key in ("activations", "weights", "biases", "non_trainable", "macs")}
    )
    return Analysis(
        model=spec.model,
        input=spec.input.shape,
        output=shape,
        layers=tuple(rows),
        totals=totals,
        warnings=tuple(warnings),
        spec=spec,
    )
