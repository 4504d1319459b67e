"""Worked arithmetic per row (``--explain``), built from the analysis' own formulas.

No per-layer string template: each row's numbers are recomputed by the same
:class:`cnncalc.kinds.Rule` functions the analysis uses, fed with :class:`Term` values, ints
that record the arithmetic applied to them (the role sympy's ``evaluate=False`` would play, but
without sympy, so it stays on the fast numeric path). The recorded expression is then printed
with a few generic rules: ``x 1``, ``/ 1`` and ``+ 0`` are dropped, quotients show their value,
left-nested products read ``5x5x48x128`` and a sum of two products with the same first factor is
factored (``2 x (5x5x48x128 + 128)``). Every explained value is checked against the row.

Data only: :func:`explain` returns :class:`Explanation` records (expression text and value per
quantity); :func:`cnncalc.report.render_explanations` prints them with the table's units, so
every way of printing stays in one module (docs/design.md).
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, fields, replace

from .arith import is_number, product
from .kinds import SpecError, rule_for


class Term:
    """An int that remembers how it was computed: ``op`` over ``args`` (leaves have op ``None``)."""

    __slots__ = ("value", "op", "args")

    def __init__(self, value, op=None, args=()):
        self.value = int(value)
        self.op = op
        self.args = args

    # -- arithmetic that records itself ------------------------------------------------------
    @staticmethod
    def of(value):
        return value if isinstance(value, Term) else Term(value)

    def _bin(self, other, op, fn, reverse=False):
        if not isinstance(other, (Term, numbers.Integral)):
            return NotImplemented
        a, b = (Term.of(other), self) if reverse else (self, Term.of(other))
        return Term(fn(a.value, b.value), op, (a, b))

    def __add__(self, o):
        return self._bin(o, "+", lambda a, b: a + b)

    def __radd__(self, o):
        return self._bin(o, "+", lambda a, b: a + b, True)

    def __sub__(self, o):
        return self._bin(o, "-", lambda a, b: a - b)

    def __rsub__(self, o):
        return self._bin(o, "-", lambda a, b: a - b, True)

    def __mul__(self, o):
        return self._bin(o, "*", lambda a, b: a * b)

    def __rmul__(self, o):
        return self._bin(o, "*", lambda a, b: a * b, True)

    def __floordiv__(self, o):
        return self._bin(o, "//", lambda a, b: a // b)

    def __rfloordiv__(self, o):
        return self._bin(o, "//", lambda a, b: a // b, True)

    def __mod__(self, o):  # remainders only feed checks and warnings: plain ints
        return self.value % int(o)

    def __rmod__(self, o):
        return int(o) % self.value

    def __neg__(self):
        return Term(-self.value, "neg", (self,))

    def _ceildiv_hook(a, b):  # noqa: N805 - called as type(x)._ceildiv_hook(a, b) by arith
        a, b = Term.of(a), Term.of(b)
        return Term(-(-a.value // b.value), "ceil", (a, b))

    def _floordiv_hook(a, b):  # noqa: N805
        return Term.of(a) // b

    # -- behave like an int everywhere else --------------------------------------------------
    def __int__(self):
        return self.value

    __index__ = __int__

    def __eq__(self, o):
        return self.value == int(o) if isinstance(o, (Term, numbers.Integral)) else NotImplemented

    def __hash__(self):
        return hash(self.value)

    def __lt__(self, o):
        return self.value < int(o)

    def __le__(self, o):
        return self.value <= int(o)

    def __gt__(self, o):
        return self.value > int(o)

    def __ge__(self, o):
        return self.value >= int(o)

    def __bool__(self):
        return bool(self.value)

    def __str__(self):
        return str(self.value)

    def __format__(self, spec):
        return format(self.value, spec)

    def __repr__(self):
        return f"Term({render(self)} = {self.value})"


numbers.Integral.register(Term)


# ------------------------------------------------------------------------------------------
# Rendering
# ------------------------------------------------------------------------------------------


def _simplify(t):
    """Drop ``x 1``, ``/ 1``, ``+ 0``, ``x 0`` terms; fold sums and differences of constants."""
    if not isinstance(t, Term) or t.op is None:
        return Term.of(t)
    args = tuple(_simplify(a) for a in t.args)
    if t.op == "*":
        a, b = args
        if a.op is None and a.value == 1:
            return b
        if b.op is None and b.value == 1:
            return a
        if (a.op is None and a.value == 0) or (b.op is None and b.value == 0):
            return Term(0)
    if t.op in ("//", "ceil"):
        a, b = args
        if b.op is None and b.value == 1:
            return a
        if a.op is None and b.op is None:  # 96/2 of a grouped conv reads as its value, 48
            return Term(t.value)
        return Term(t.value, t.op, args)
    if t.op in ("+", "-"):
        a, b = args
        if b.op is None and b.value == 0:
            return a
        if t.op == "+" and a.op is None and a.value == 0:
            return b
        if t.op == "+" and a.op == "-" and b.op is None and a.args[1].op is None and a.args[1].value == b.value:
            return a.args[0]  # (k - 1) + 1 -> k: the effective kernel of an undilated window
    return Term(t.value, t.op, args)


def _constant(t):
    return t.op is None or (t.op in ("+", "-") and all(_constant(a) for a in t.args))


def _factors(t):
    """Flatten a product into its factors (left-nested chains and nested products alike)."""
    if t.op == "*":
        return _factors(t.args[0]) + _factors(t.args[1])
    return [t]


def _factor_common(t):
    """``g*A + g*B -> g x (A + B)`` when both terms share the same first factor."""
    if t.op == "+":
        a, b = (_factor_common(x) for x in t.args)
        if a.op == "*" and b.op == "*":
            fa, fb = _factors(a), _factors(b)
            if fa[0].op is None and fb[0].op is None and fa[0].value == fb[0].value and fa[0].value != 1:
                rest_a, rest_b = _product_of(fa[1:]), _product_of(fb[1:])
                inner = Term(rest_a.value + rest_b.value, "+", (rest_a, rest_b))
                return Term(t.value, "*", (fa[0], inner))
        return Term(t.value, "+", (a, b))
    if t.op is None:
        return t
    return Term(t.value, t.op, tuple(_factor_common(x) for x in t.args))


def _product_of(factors):
    result = factors[0]
    for f in factors[1:]:
        result = Term(result.value * f.value, "*", (result, f))
    return result


def render(t) -> str:
    """The recorded arithmetic of ``t`` as a grader writes it."""
    t = _factor_common(_simplify(Term.of(t)))
    return _render(t)


def _render(t, parent=None) -> str:
    if t.op is None:
        return str(t.value)
    if t.op in ("//", "ceil"):
        a, b = t.args
        word = "floor" if t.op == "//" else "ceil"
        return f"{word}(({_render(a)})/{_render(b, '*')})" if a.op is not None else f"{word}({a.value}/{_render(b, '*')})"
    if t.op == "*":
        factors = _factors(t)
        simple = all(f.op is None for f in factors)
        parts = [_render(f, "*") for f in factors]
        return "x".join(parts) if simple else " x ".join(parts)
    if t.op == "neg":
        return f"-{_render(t.args[0], '*')}"
    a, b = t.args
    text = f"{_render(a, '+')} {t.op} {_render(b, '-' if t.op == '-' else '+')}"
    if parent == "*" or (parent == "-" and t.op in "+-"):
        return f"({text})"
    return text


# ------------------------------------------------------------------------------------------
# Per-row explanations
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Explanation:
    """The worked arithmetic of one row: quantity -> (expression text, value)."""

    name: str
    kind: str
    steps: tuple  # ((quantity, text, value), ...)

    def value(self, quantity):
        for q, _, v in self.steps:
            if q == quantity:
                return v
        raise KeyError(quantity)

    def text(self, quantity):
        for q, t, _ in self.steps:
            if q == quantity:
                return t
        raise KeyError(quantity)

    def to_dict(self) -> dict:
        return {q: {"expression": t, "value": v} for q, t, v in self.steps}


def _leaves(values):
    return tuple(Term(v) for v in values)


def _traced_layer(layer):
    """The layer with every integer hyper-parameter (kernel, stride, filters, ...) a leaf Term."""
    changes = {}
    for f in fields(layer):
        value = getattr(layer, f.name)
        if is_number(value):
            changes[f.name] = Term(value)
        elif isinstance(value, tuple) and value and all(is_number(v) for v in value):
            changes[f.name] = tuple(Term(v) for v in value)
    return replace(layer, **changes)


def explain_row(stats) -> Explanation:
    """Recompute one numeric row with traced values; raises if a value disagrees with the row."""
    steps = []
    layer = stats.layer
    in_shape = _leaves(stats.input)
    out_shape = _leaves(stats.output)
    # every kind's counts come from its rule, merges too (a product of two tensors has MACs);
    # only the containers (Sequential, Graph) add nothing of their own
    leaf = not hasattr(layer, "layers") and not hasattr(layer, "nodes")
    if leaf:
        rule = rule_for(layer)
        if rule.counts_every_input:  # attention counts from its query, value and key
            in_shape = [_leaves(shape) for shape in stats.inputs]
        named = _traced_layer(replace(layer, name=stats.name))
        if len(stats.input) == 3 and len(stats.output) == 3 and rule.window is not None:
            traced = rule.shape(named, in_shape, lambda message: None)
            for axis, label in ((0, "height"), (1, "width")):
                t = traced[axis]
                if isinstance(t, Term) and _simplify(t).op is not None:
                    steps.append((f"output {label}", render(t), int(t)))
        counts = rule.counts(named, in_shape, out_shape)
        weights, biases, nt, macs = (Term.of(v) for v in (counts.weights, counts.biases, counts.non_trainable, counts.macs))
        if stats.shares is not None:  # the first call holds the parameters (analysis.call_counts)
            weights = biases = nt = Term(0)
        elif stats.frozen:  # every parameter is non-trainable
            weights, biases, nt = Term(0), Term(0), weights + biases + nt
        params = weights + biases + nt
    else:
        weights = biases = nt = macs = params = Term(0)
    if stats.activations:
        acts = product(out_shape)
        steps.append(("activations", render(acts), int(acts)))
    for quantity, term in (("weights", weights), ("biases", biases), ("non_trainable", nt), ("params", params), ("macs", macs)):
        if int(term):
            steps.append((quantity, render(term), int(term)))
    explanation = Explanation(stats.name, stats.kind, tuple(steps))
    for quantity in ("activations", "weights", "biases", "non_trainable", "params", "macs"):
        expected = getattr(stats, quantity)
        try:
            got = explanation.value(quantity)
        except KeyError:
            got = 0
        if got != expected:  # pragma: no cover - would be a bug in the tracer
            raise AssertionError(f"explain: {stats.name} {quantity} {got} != {expected}")
    for q, _, v in steps:
        if q.startswith("output "):
            axis = 0 if q.endswith("height") else 1
            if v != stats.output[axis]:  # pragma: no cover
                raise AssertionError(f"explain: {stats.name} {q} {v} != {stats.output[axis]}")
    return explanation


def explain(analysis) -> list[Explanation]:
    """Explanations of every row that adds something (numeric analyses only)."""
    if analysis.symbolic:
        raise SpecError("--explain needs numeric sizes: the symbolic expressions are their own explanation")
    return [explain_row(s) for s in analysis.layers if s.activations or s.params or s.macs]
