"""Size arithmetic that works on Python ints and on sympy expressions alike.

The numeric path stays in plain ``int`` arithmetic and never imports sympy; sympy is imported
only when a value is already symbolic (it then is loaded anyway). Every formula in
:mod:`cnncalc.kinds` goes through these helpers, so the same expression serves both paths.
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

    return sympy.floor(_unnest(sympy.sympify(a), b, sympy.floor) / b)


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

    return sympy.ceiling(_unnest(sympy.sympify(a), b, sympy.ceiling) / b)


# Floors and ceilings that do not unnest (a floor inside a ceiling: a pool after a 'same' conv)
# nest one level per layer; sympy walks them recursively and exhausts Python's recursion limit
# near 100 levels (and slows long before). The analysis refuses a size nested deeper than this
# (docs/symbolic.md).
MAX_ROUNDING_NESTING = 32


def rounding_depth(expr) -> int:
    """How deeply ``floor``/``ceiling`` nest in ``expr`` (walked without recursion)."""
    import sympy

    deepest, stack = 0, [(expr, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, (sympy.floor, sympy.ceiling)):
            depth += 1
            deepest = max(deepest, depth)
        stack.extend((arg, depth) for arg in node.args)
    return deepest


def _unnest(a, b, rounding):
    """``a`` with its outer rounding dropped when that leaves the rounded quotient unchanged.

    For a positive integer ``b``, an integer ``c`` and any real ``x``:
    ``floor((floor(x) + c) / b) = floor((x + c) / b)``, and the same with ``ceiling`` (the
    nested-division identity, Graham, Knuth & Patashnik, *Concrete Mathematics*, eq. 3.11). So a
    chain of stride-2 pools gives ``floor(H/8)``, not ``floor(floor(floor(H/2)/2)/2)``: the
    expression stays flat however deep the network (150 pools nested 150 floors deep and
    exhausted Python's recursion limit in sympy).
    """
    if not (is_number(b) and b > 0):
        return a
    rounded = [t for t in a.as_ordered_terms() if isinstance(t, rounding)] if a.is_Add else ([a] if isinstance(a, rounding) else [])
    if len(rounded) != 1:
        return a
    rest = a - rounded[0]
    if not (rest.is_integer and rest.is_number) and rest != 0:
        return a
    return rounded[0].args[0] + rest


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

    diff = sympy.sympify(a) - sympy.sympify(b)
    # Cheap decisions first: equal terms cancel on subtraction, and a difference that is already
    # a number decides. ``simplify`` (floors, Piecewise padding) costs ~1 s cold on a symbolic
    # ResNet's Add merges, so it runs only when these cannot tell.
    if diff == 0:
        return True
    if diff.is_number:
        return bool(diff.is_zero) if diff.is_zero is not None else None
    if _varies(diff):
        return None  # neither identically zero nor a constant: simplify could not decide either
    diff = sympy.simplify(diff)
    if diff == 0:
        return True
    if diff.is_number:
        return False
    return None


# Sizes at which ``equal`` samples a difference: 16 consecutive sizes cover every residue that
# four stride-2 stages can tell apart (ceil(ceil(H/2)/2) parity and so on), plus ImageNet's.
_SAMPLE_SIZES = (224, 227, *range(17, 33))


def _varies(diff) -> bool:
    """True when ``diff`` takes two different values at sample sizes (each symbol its own value).

    A difference that varies is neither identically zero nor a constant, which is all
    :func:`equal` asks of ``simplify``; sampling decides that in microseconds where ``simplify``
    of 'same'-padding Piecewise terms (ResNet shortcuts with stride 2) takes a second.
    """
    symbols = sorted(diff.free_symbols, key=str)
    seen = set()
    for size in _SAMPLE_SIZES:
        try:
            value = diff.subs({sym: size + 13 * i for i, sym in enumerate(symbols)})
        except Exception:  # an expression sympy cannot evaluate there: let simplify decide
            return False
        if not value.is_number:
            return False
        seen.add(value)
        if len(seen) > 1:
            return True
    return False


def to_json(value):
    """An int stays an int; a symbolic value becomes its string (``64*H*W``)."""
    if is_number(value):
        return int(value)
    return str(value)
