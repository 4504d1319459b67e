"""Cross-check the analysis against Keras: same spec, two counts, compared layer by layer.

:func:`check` analyses a spec, builds it with :func:`cnncalc.keras_bridge.to_keras` and compares,
for every row of the analysis and for the totals, the trainable parameters, the non-trainable
parameters and the output shape (Keras' batch axis dropped). Keras helper layers (``conv2.pad``,
``conv1.subsample``) are folded into the spec layer they serve: a Keras layer whose name, read back
with :func:`~cnncalc.keras_bridge.spec_name`, is not a spec layer belongs to the layer named by
dropping its last component. A layer found on one side only is a row of its own, and a mismatch.

Data only: :func:`check` returns a :class:`CheckResult`; :func:`run_check` is ``cnncalc MODEL
--check-keras``: it prints it through :func:`cnncalc.report.render_check` (the table in any
format, ``OK`` / ``MISMATCH`` per row, the rows that differ listed again) and returns the exit
code: 0 when everything agrees, 1 otherwise. The rendering lives in report, which never imports
keras, so that every format is defined in one module (docs/design.md).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import keras

from .analysis import analyze
from .keras_bridge import spec_name, to_keras
from .kinds import SpecError
from .kinds.opaque import OUTPUT_MARK
from .naming import SEPARATOR
from .report import render_check, shape_text

EXIT_OK, EXIT_MISMATCH = 0, 1


@dataclass(frozen=True)
class Side:
    """What one side (ours or Keras) says about a layer."""

    output: tuple
    trainable: int
    non_trainable: int

    @property
    def params(self) -> int:
        return self.trainable + self.non_trainable

    def to_dict(self) -> dict:
        return {
            "output": list(self.output),
            "trainable": self.trainable,
            "non_trainable": self.non_trainable,
            "params": self.params,
        }


@dataclass(frozen=True)
class CheckRow:
    """One spec layer (or one unmatched Keras layer): both sides and the Keras layers behind it.

    ``split`` is ``False`` where our side cannot tell trainable from non-trainable parameters (an
    unknown layer read from a ``.keras`` file, whose weights carry no trainable flag): the row then
    compares the total parameters and the output shape.
    """

    name: str
    kind: str
    ours: Side | None
    keras: Side | None
    keras_layers: tuple = ()
    split: bool = True

    @property
    def ok(self) -> bool:
        return self.ours is not None and self.keras is not None and not self.differs

    @property
    def differs(self) -> tuple:
        """Which quantities differ: ``("output",)``, ``("trainable", "non_trainable")``, ``("params",)``, ``("missing",)``."""
        if self.ours is None or self.keras is None:
            return ("missing",)
        compared = ("output", "trainable", "non_trainable") if self.split else ("output", "params")
        return tuple(k for k in compared if getattr(self.ours, k) != getattr(self.keras, k))

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "kind": self.kind,
            "ok": self.ok,
            "ours": self.ours.to_dict() if self.ours else None,
            "keras": self.keras.to_dict() if self.keras else None,
            "keras_layers": list(self.keras_layers),
            **({} if self.split else {"compared": "params (the file does not say which are trainable)"}),
        }


@dataclass(frozen=True)
class CheckResult:
    """Every row, the totals row and the Keras build it came from."""

    model: str
    rows: tuple
    totals: CheckRow
    backend: str
    keras_version: str

    @property
    def ok(self) -> bool:
        return self.totals.ok and all(row.ok for row in self.rows)

    @property
    def mismatches(self) -> tuple:
        """The rows that differ, the totals row last if it differs."""
        return tuple(row for row in (*self.rows, self.totals) if not row.ok)

    def to_dict(self) -> dict:
        return {
            "model": self.model,
            "ok": self.ok,
            "keras": {"version": self.keras_version, "backend": self.backend},
            "layers": [row.to_dict() for row in self.rows],
            "totals": self.totals.to_dict(),
            "mismatches": [row.name for row in self.mismatches],
        }


def _size(weights) -> int:
    total = 0
    for w in weights:
        n = 1
        for d in w.shape:
            n *= int(d)
        total += n
    return total


def _shape(tensor) -> tuple:
    return tuple(int(d) for d in tensor.shape[1:])


def _owner(name: str, spec_names: set) -> str | None:
    """The spec layer a Keras layer belongs to: its own name, or a helper's parent."""
    qualified = spec_name(name)
    while qualified:
        if qualified in spec_names:
            return qualified
        if SEPARATOR not in qualified:
            return None
        qualified = qualified.rsplit(SEPARATOR, 1)[0]
    return None


def check(spec, input=None, model=None) -> CheckResult:
    """Compare the analysis of ``spec`` with its Keras model (built here unless ``model`` is given).

    Per row: trainable and non-trainable parameters and the output shape of the spec layer (the
    output of the last Keras layer folded into it). Totals: the sums over all weights of the
    model (``count_params()`` = trainable + non-trainable) and the model's output shape.
    """
    analysis = analyze(spec, input)
    if analysis.symbolic:
        raise SpecError(f"model '{analysis.model}': the Keras check needs numeric sizes, not {shape_text(analysis.input)}")
    model = model if model is not None else to_keras(analysis.spec)
    spec_names = {row.name for row in analysis.layers}

    groups: dict[str, list] = {}
    orphans = []
    for layer in model.layers:  # topological order: helpers before/after their layer, in order
        owner = _owner(layer.name, spec_names)
        if owner is None:
            orphans.append(layer)
        else:
            groups.setdefault(owner, []).append(layer)

    rows = []
    for stats in analysis.layers:
        ours = Side(tuple(int(v) for v in stats.output), int(stats.trainable), int(stats.non_trainable))
        layers = groups.get(stats.name, [])
        theirs = None
        base, mark, index = stats.name.rpartition(OUTPUT_MARK)
        if not layers and mark and index.isdigit() and groups.get(base):  # output k of a layer (attention's scores)
            layers = groups[base][-1:]
            theirs = Side(_shape(_output_of(layers[0], 0, int(index))), 0, 0)
        elif layers:
            theirs = Side(
                _shape(layers[-1].output if not isinstance(layers[-1].output, (list, tuple)) else layers[-1].output[0]),
                sum(_size(layer.trainable_weights) for layer in layers),
                sum(_size(layer.non_trainable_weights) for layer in layers),
            )
        rows.append(CheckRow(stats.name, stats.kind, ours, theirs, tuple(layer.name for layer in layers)))
    for layer in orphans:
        theirs = Side(_shape(layer.output), _size(layer.trainable_weights), _size(layer.non_trainable_weights))
        rows.append(CheckRow(spec_name(layer.name), f"keras {type(layer).__name__}", None, theirs, (layer.name,)))

    t = analysis.totals
    totals = CheckRow(
        "total",
        "",
        Side(tuple(int(v) for v in analysis.output), int(t.trainable), int(t.non_trainable)),
        Side(_shape(model.outputs[0]), _size(model.trainable_weights), _size(model.non_trainable_weights)),
        (),
    )
    return CheckResult(analysis.model, tuple(rows), totals, keras.backend.backend(), keras.__version__)


def _call_parts(name: str):
    """``(base name, call index, output index, repeated)`` of an imported row's name.

    ``blk#2/conv`` is layer ``conv`` of nested model ``blk`` in the model's second call of
    ``blk``: the Keras layer ``blk/conv`` (a nested model's layers hold one call of their own,
    whatever calls the model), a repeated call (no parameters of its own). ``split:1`` is the
    second output of ``split``.
    """
    from .importers.keras import CALL_MARK

    output = 0
    head, mark, tail = name.rpartition(OUTPUT_MARK)
    if mark and tail.isdigit():
        name, output = head, int(tail)
    bases, repeated, call = [], False, 0
    for part in name.split(SEPARATOR):
        base, mark, number = part.partition(CALL_MARK)
        bases.append(base)
        repeated = repeated or bool(mark)
        call = int(number) - 1 if mark and number.isdigit() else 0
    return SEPARATOR.join(bases), call, output, repeated


def _output_of(layer, call: int, output: int):
    nodes = getattr(layer, "_inbound_nodes", [])
    if call and call < len(nodes):
        outputs = nodes[call].output_tensors
    else:
        outputs = layer.output if isinstance(layer.output, (list, tuple)) else [layer.output]
    return outputs[output] if output < len(outputs) else outputs[0]


def check_import(model, spec=None) -> CheckResult:
    """Compare an import of the Keras ``model`` with the model itself: the live import
    (:func:`cnncalc.from_keras`, by default) or ``spec``, the reading of the file ``model`` was
    loaded from (``cnncalc FILE.keras --check-keras``: the file read without Keras, against Keras'
    own loading of it).

    Per row, the Keras layer of the same qualified name (nested models' layers found inside them):
    its output shape (a shared layer's ``name#k`` row: the output of its k-th call; ``name:k``:
    its output k), its trainable and non-trainable weights (on its first call only, as the
    analysis counts them; a frozen layer's all non-trainable). Nested models and their own
    InputLayers have no row of their own. An unknown layer read from a file compares its total
    parameters (the file does not say which are trainable).
    """
    from .importers.keras import from_keras, live_layers

    spec = spec if spec is not None else from_keras(model)
    analysis = analyze(spec)
    if analysis.symbolic:
        raise SpecError(
            f"model '{analysis.model}' is built on input {shape_text(analysis.input)}: the Keras check compares numeric shapes; "
            "save or build it at a fixed size"
        )
    table = live_layers(model, "")
    rows = []
    unsplit = False
    for stats in analysis.layers:
        ours = Side(tuple(int(v) for v in stats.output), int(stats.trainable), int(stats.non_trainable))
        base, call, output, repeated = _call_parts(stats.name)
        layer = table.get(base)
        theirs = None
        if layer is not None:
            # an operator applied to symbolic tensors (keras.ops: ``x + 3.0``) holds no weights
            first = not repeated and not output
            trainable = _size(getattr(layer, "trainable_weights", [])) if first else 0
            frozen = _size(getattr(layer, "non_trainable_weights", [])) if first else 0
            theirs = Side(_shape(_output_of(layer, call, output)), trainable, frozen)
        split = getattr(stats.layer, "split_known", True) or not (stats.trainable or stats.non_trainable)
        unsplit = unsplit or not split
        rows.append(CheckRow(stats.name, stats.kind, ours, theirs, (base,) if layer is not None else (), split))
    t = analysis.totals
    totals = CheckRow(
        "total",
        "",
        Side(tuple(int(v) for v in analysis.output), int(t.trainable), int(t.non_trainable)),
        Side(_shape(model.outputs[0]), _size(model.trainable_weights), _size(model.non_trainable_weights)),
        (),
        not unsplit,
    )
    return CheckResult(analysis.model, tuple(rows), totals, keras.backend.backend(), keras.__version__)


def run_check(spec, fmt: str = "text", out=None, model=None) -> int:
    """``cnncalc MODEL --check-keras``: print the check in ``fmt``; 0 when all agree, else 1.

    With ``model`` (a Keras model the spec was imported from: ``keras:NAME`` imported live, or a
    ``.keras`` file read without Keras and ``model`` Keras' own loading of that file) the import is
    checked against it (:func:`check_import`); otherwise the spec is built in Keras.
    """
    result = check(spec) if model is None else check_import(model, spec)
    print(render_check(result, fmt), file=out or sys.stdout)
    return EXIT_OK if result.ok else EXIT_MISMATCH
