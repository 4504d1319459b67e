"""The one analysis pass: walk a spec once and derive every per-layer and total count.

The engine knows no layer kind: it runs the steps of :func:`cnncalc.traverse.lower` (a tree
or a general graph, in topological order), and each step's numbers come from its kind's
:class:`cnncalc.kinds.Rule` (a merge's rule joins its inputs' shapes; receptive fields are merged
where branches meet). A repeated call of a shared layer counts MACs and activations again, its
parameters once. Sizes stay ``int`` unless the input (or a layer) is symbolic, in which case the
same formulas produce sympy expressions.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from .arith import EXACT_DIVISION, MAX_ROUNDING_NESTING, as_size, is_number, known, product, rounding_depth, to_json, total
from .kinds import Input, SpecError, rule_for
from .naming import with_names
from .receptive import FIELD_RANKS, broadcasts, input_field
from .receptive import merge as merge_fields
from .receptive import step as field_step
from .sizes import input_size
from .spec import Sequential, Spec
from .symbolic import bind
from .traverse import lower

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
    receptive: object = field(repr=False, compare=False, default=None)  # receptive.ReceptiveField
    fan_in: int = field(repr=False, compare=False, default=1)  # tensors read (a merge: its inputs)
    inputs: tuple = field(repr=False, compare=False, default=())  # the shape of every tensor read, in order
    shares: str | None = field(repr=False, compare=False, default=None)  # a shared layer's first call
    frozen: bool = field(repr=False, compare=False, default=False)  # a frozen layer (Keras trainable=False)

    @property
    def params(self):
        """Trainable plus non-trainable: exactly Keras' ``count_params()``."""
        return self.weights + self.biases + self.non_trainable

    # Receptive field of one output unit (None once the output is no longer spatial). One value
    # when height and width agree, an (h, w) pair otherwise. See cnncalc.receptive.
    @property
    def rf(self):
        return None if self.receptive is None else self.receptive.rf

    @property
    def jump(self):
        return None if self.receptive is None else self.receptive.jump

    @property
    def start(self):
        return None if self.receptive is None else self.receptive.start

    @property
    def effective_padding(self):
        return None if self.receptive is None else self.receptive.padding

    @property
    def trainable(self):
        """What PyTorch tools (torchinfo, torchvision) call the parameter count."""
        return self.weights + self.biases

    @property
    def ops_counted(self) -> bool:
        """False for a layer whose operations are unknown (an imported custom layer, ``Opaque``)."""
        return self.layer is None or rule_for(self.layer).counts_ops

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "kind": self.kind,
            "output": [to_json(v) for v in self.output],
            **{key: to_json(getattr(self, key)) for key in COUNT_FIELDS},
            **{key: _field_json(getattr(self, key)) for key in ("rf", "jump", "start")},
            # only on a row whose operations cnncalc cannot count (an imported custom layer): its
            # macs are 0 in the sums, not a measured zero (every other row's schema is unchanged)
            **({} if self.ops_counted else {"macs_counted": False}),
        }


def _field_json(value):
    if value is None:
        return None
    if isinstance(value, tuple):
        return [_field_json(v) for v in value]
    if isinstance(value, float):
        return value
    return to_json(value)


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

    @property
    def uncounted(self) -> tuple:
        """The rows whose MACs are not counted (their kinds have no formula): the totals exclude them."""
        return tuple(r for r in self.layers if not r.ops_counted)

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


def call_counts(counts, shares, trainable: bool):
    """A layer's counts as one call of it adds them: a shared layer's parameters belong to its
    first call (``shares`` names it), a frozen layer's are all non-trainable (Keras)."""
    if shares is not None:
        return replace(counts, weights=0, biases=0, non_trainable=0)
    if not trainable:
        return replace(counts, weights=0, biases=0, non_trainable=counts.weights + counts.biases + counts.non_trainable)
    return counts


def resolve(spec, input=None) -> Spec:
    """A named :class:`Spec` whose first layer is the :class:`Input` to analyse."""
    if isinstance(spec, Sequential):
        spec = Spec(spec)
    if not isinstance(spec, Spec):
        raise SpecError(f"expected a Spec or a Sequential, got {type(spec).__name__}")
    if input is not None:
        spec = spec.with_input(input_size(input))
    if spec.input is None:
        raise SpecError(
            f"model '{spec.model}' has no input size: start it with INPUT-HxWxC or pass --input"
        )
    return with_names(spec)


def analyze(spec, input=None, *, symbols=None, assume_divisible: bool = False) -> Analysis:
    """Analyse ``spec`` (a :class:`Spec` or :class:`Sequential`), optionally on another input.

    ``input`` is ``(H, W, C)`` (ints or sympy expressions) or a string such as ``"224x224x3"`` or
    ``"H x W x 3"``. ``symbols`` binds hyper-parameters written as names (``Conv2D(64, kernel="F",
    stride="S")``) to sympy symbols: a mapping ``{"F": F}`` or an iterable of names (each becomes a
    positive-integer symbol); see :mod:`cnncalc.symbolic`. ``assume_divisible`` writes symbolic
    output sizes as ``(n + 2p - k)/s + 1`` and ``n/s`` instead of ``floor``/``ceiling`` (numeric
    sizes are unaffected). Raises :class:`SpecError` with a one-line message for an impossible layer.
    """
    if symbols is not None:
        spec = bind(spec, symbols)
    token = EXACT_DIVISION.set(bool(assume_divisible))
    try:
        return _analyze(resolve(spec, input))
    finally:
        EXACT_DIVISION.reset(token)


def _check_nesting(shape, name: str) -> None:
    """A :class:`SpecError` naming the layer whose symbolic size nests floors/ceilings past
    :data:`~cnncalc.arith.MAX_ROUNDING_NESTING` (sympy would recurse past Python's limit)."""
    for size in shape:
        if not is_number(size) and rounding_depth(size) > MAX_ROUNDING_NESTING:
            raise SpecError(
                f"layer '{name}': its symbolic size nests {rounding_depth(size)} floor/ceiling divisions, more than "
                f"{MAX_ROUNDING_NESTING}: give numeric sizes, or --assume-divisible for exact divisions"
            )


def _tracks(rule, layer, in_shape, out_shape) -> bool:
    tracks = rule.tracks_field
    return bool(tracks(layer, in_shape, out_shape)) if callable(tracks) else tracks


def _field_stops(rule, layer, fields_in, warnings) -> None:
    """A layer that carries no receptive field: rows after it show none. Where a tracked field
    reaches a kind that says why (``Rule.field_note``: attention), the analysis notes it once."""
    if rule.field_note and not getattr(layer, "output_index", 0) and any(f is not None for f in fields_in):  # once per layer, not per output
        warnings.append(f"layer '{layer.name}' ({layer.kind}): receptive fields stop here: {rule.field_note}")
    return None


def _analyze(spec: Spec) -> Analysis:
    rows: list[LayerStats] = []
    warnings: list[str] = []
    steps, outputs = lower(spec.root)
    results: list[tuple] = []  # (shape, field) per step

    for st in steps:
        layer = st.layer
        rule = rule_for(layer)
        named = replace(layer, name=st.name) if st.name != layer.name else layer
        if st.merge:
            in_shape = results[st.source][0] if st.source is not None else ()
            branch_shapes = [results[i][0] for i in st.inputs]
            out_shape = tuple(as_size(v) for v in rule.shape(named, branch_shapes, warnings.append))
            # a broadcast gate (a 1x1 squeeze-and-excitation scale) carries global context, not a
            # window: the field follows the inputs that have the output's spatial size
            fields_in = [results[i][1] for i in st.inputs if not broadcasts(results[i][0], out_shape)]
            if rule.tracks_field:
                out_field = merge_fields(fields_in, st.name, warnings.append) if len(out_shape) in FIELD_RANKS else None  # tokens, grids, volumes
            else:
                out_field = _field_stops(rule, named, [results[i][1] for i in st.inputs], warnings)
            count_shapes = branch_shapes if rule.counts_every_input else in_shape  # attention: query, value, key
        else:
            in_shape, in_field = results[st.inputs[0]] if st.inputs else ((), None)
            out_shape = tuple(as_size(v) for v in rule.shape(named, in_shape, warnings.append))
            if isinstance(layer, Input):
                out_field = input_field(out_shape)
            elif _tracks(rule, named, in_shape, out_shape):
                out_field = field_step(in_field, rule.window, named, in_shape, out_shape)
            else:
                out_field = _field_stops(rule, named, [in_field], warnings)
            count_shapes = in_shape
            branch_shapes = [in_shape] if st.inputs else []
        _check_nesting(out_shape, st.name)
        counts = call_counts(rule.counts(named, count_shapes, out_shape), st.shares, st.trainable)
        rows.append(
            LayerStats(
                name=st.name,
                kind=layer.kind,
                input=tuple(in_shape),
                output=out_shape,
                activations=product(out_shape) if rule.materializes else 0,
                weights=counts.weights,
                biases=counts.biases,
                non_trainable=counts.non_trainable,
                macs=counts.macs,
                layer=layer,
                receptive=out_field,
                fan_in=len(st.inputs),
                inputs=tuple(tuple(shape) for shape in branch_shapes),
                shares=None if st.shares is None else steps[st.shares].name,
                frozen=not st.trainable,
            )
        )
        results.append((out_shape, out_field))

    if len(outputs) > 1:
        names = ", ".join(steps[i].name for i in outputs)
        warnings.append(f"the model has {len(outputs)} outputs ({names}); 'output' is the first one's shape")
    totals = Totals(
        **{key: total(getattr(r, key) for r in rows) for key in ("activations", "weights", "biases", "non_trainable", "macs")}
    )
    return Analysis(
        model=spec.model,
        input=spec.input.shape,
        output=results[outputs[0]][0],
        layers=tuple(rows),
        totals=totals,
        warnings=tuple(warnings),
        spec=spec,
    )
