"""Size arithmetic that works on Python ints and on sympy expressions alike.

The numeric path stays in plain ``int`` arithmetic and never imports sympy; sympy is imported
only when a value is already symbolic (it then is loaded anyway). Every formula in
:mod:`cnncalc.formulas` goes through these helpers, so the same expression serves both paths.
"""

from __future__ import annotations

import contextvars
import numbers

# Set by ``analyze(..., assume_divisible=True)``: symbolic floor/ceil divisions become exact
# divisions, the exercise's ``(W - F + 2P)/S + 1`` form. Numeric sizes are never affected.
EXACT_DIVISION: contextvars.ContextVar[bool] = contextvars.ContextVar("cnncalc_exact_division", default=False)


def is_number(value) -> bool:
    """True for plain integers (bool excluded); numpy integers count too."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def as_size(value):
    """Normalise a size: numpy ints become ``int``; sympy values pass through unchanged."""
    if is_number(value):
        return int(value)
    return value


def floordiv(a, b):
    """``floor(a / b)``."""
    hook = _hook("_floordiv_hook", a, b)
    if hook is not None:
        return hook
    if is_number(a) and is_number(b):
        return int(a) // int(b)
    import sympy

    if EXACT_DIVISION.get():
        return sympy.sympify(a) / b

    return sympy.floor(sympy.sympify(a) / b)


def ceildiv(a, b):
    """``ceil(a / b)``."""
    hook = _hook("_ceildiv_hook", a, b)
    if hook is not None:
        return hook
    if is_number(a) and is_number(b):
        return -(-int(a) // int(b))
    import sympy

    if EXACT_DIVISION.get():
        return sympy.sympify(a) / b

    return sympy.ceiling(sympy.sympify(a) / b)


def _hook(name, a, b):
    """Values that record their own arithmetic (:mod:`cnncalc.explain`) divide themselves."""
    for value in (a, b):
        method = getattr(type(value), name, None)
        if method is not None:
            return method(a, b)
    return None


def product(values):
    """Product of sizes (1 for an empty sequence)."""
    result = 1
    for v in values:
        result = result * v
    return result


def total(values):
    """Sum of sizes (0 for an empty sequence); keeps ints as ints.

    Symbolic terms are summed by one ``sympy.Add`` call: adding them one at a time builds and
    canonicalises a new expression per term, which made symbolic totals the bulk of the analysis
    of deep networks (benchmarks/scale.py). The result is the same canonical expression.
    """
    result, symbolic = 0, []
    for v in values:
        if type(v) is int or is_number(v):  # the first test spares the numeric path a call
            result = result + v
        else:
            symbolic.append(v)
    if not symbolic:
        return result
    import sympy

    return sympy.Add(*symbolic, result)


def known(value) -> bool:
    """True when the value is a concrete integer (checks and warnings apply only then)."""
    return is_number(value)


def equal(a, b) -> bool | None:
    """``a == b`` for ints; for symbolic values True/False when sympy can decide, else None."""
    if is_number(a) and is_number(b):
        return int(a) == int(b)
    import sympy

    diff = sympy.simplify(sympy.sympify(a) - sympy.sympify(b))
    if diff == 0:
        return True
    if diff.is_number:
        return False
    return None


def to_json(value):
    """An int stays an int; a symbolic value becomes its string (``64*H*W``)."""
    if is_number(value):
        return int(value)
    return str(value)
