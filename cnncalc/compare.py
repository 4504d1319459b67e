"""Side-by-side comparison of analyses (``cnncalc compare A B ...``).

For each model: the output after the last layer (after concatenation for an inception module),
operations per branch of every Concat/Add and in total, parameters, and the saving factor of each
model's total against the first one's (the inception exercise: 1,115,684,864 / 397,410,304 =
2.81x fewer MACs with 1x1 reductions).

Data only: :func:`compare` returns a :class:`Comparison`, and
:func:`cnncalc.report.render_comparison` prints it, so every format lives in one module
(docs/design.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from .analysis import analyze
from .arith import is_number, total
from .conventions import get
from .naming import SEPARATOR


@dataclass(frozen=True)
class Column:
    """One model's side of the comparison."""

    model: str
    output: tuple
    ops: object  # total under the convention (MACs by default)
    params: object
    activations: object
    branches: tuple  # ((branch label, ops), ...)
    analysis: object


@dataclass(frozen=True)
class Comparison:
    unit: str
    columns: tuple
    warnings: tuple = ()

    def saving(self, index: int):
        """``ops(first) / ops(index)``: how many times fewer operations than the first model;
        None when ``index`` counts no operations (0/0 has no value, x/0 no finite one)."""
        first, other = self.columns[0].ops, self.columns[index].ops
        if is_number(other) and other == 0:
            return None
        if is_number(first) and is_number(other):
            return first / other
        import sympy

        return sympy.simplify(sympy.sympify(first) / other)


def _branch_ops(analysis, count):
    """Operations per branch of each Concat/Add: rows under ``<merge>/`` grouped by branch."""
    result = []
    for row in analysis.layers:
        branches = getattr(row.layer, "branches", None)
        if not branches:
            continue
        prefix = row.name + SEPARATOR
        inside = [r for r in analysis.layers if r.name.startswith(prefix)]
        # Branch i holds the leaves of branches[i]; names are assigned in walk order.
        start = 0
        for b, branch in enumerate(branches):
            size = _leaf_count(branch)
            rows = inside[start:start + size]
            start += size
            shown = [r.name[len(prefix):] for r in rows if r.kind not in ("Activation", "Dropout")]
            label = " -> ".join(shown) if shown else "identity"
            result.append((f"{row.name} branch {b + 1}: {label}", total(count(r) for r in rows)))
    return tuple(result)


def _leaf_count(node):
    if hasattr(node, "layers"):
        return sum(_leaf_count(c) for c in node.layers)
    if hasattr(node, "branches"):
        return sum(_leaf_count(b) for b in node.branches) + 1
    return 1


def compare(specs, convention: str | None = None) -> Comparison:
    """Analyse every spec and line them up (``convention`` as ``--convention``; default MACs)."""
    conv = get(convention or "macs")
    columns, warnings = [], []
    for spec in specs:
        a = analyze(spec)
        warnings.extend(f"{a.model}: {w}" for w in a.warnings)
        columns.append(
            Column(a.model, a.output, conv.total(a), a.totals.params, a.totals.activations, _branch_ops(a, conv.count), a)
        )
    return Comparison(conv.unit, tuple(columns), tuple(warnings))
