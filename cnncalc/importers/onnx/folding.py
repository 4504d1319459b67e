"""Constant folding: the shape arithmetic exporters write around a network, evaluated with numpy.

``Shape -> Gather -> Concat`` chains (a dynamic ``flatten``), ``Constant`` and initializer
arithmetic compute reshape targets, axes and scales; cnncalc evaluates them (symbolically when a
size is a symbol, as numpy object arrays) and they never become rows.
"""

from __future__ import annotations

from ...arith import is_number


def evaluate(op_type, values, attrs):
    """The outputs of a node on constants, or ``None`` when cnncalc does not evaluate ``op_type``.
    Values may hold sympy sizes (a symbolic batch or image size), as numpy object arrays."""
    import numpy as np

    def ints(name, default=None):
        v = attrs.get(name, default)
        return None if v is None else [int(x) for x in v]

    if op_type in ("Identity", "Cast"):
        return [values[0]]
    if op_type == "Gather":
        return [np.take(values[0], values[1].astype(np.int64), axis=int(attrs.get("axis", 0)))]
    if op_type == "Unsqueeze":
        axes = ints("axes") if "axes" in attrs else [int(a) for a in values[1].reshape(-1)]
        out = values[0]
        for a in sorted(a % (out.ndim + len(axes)) for a in axes):
            out = np.expand_dims(out, a)
        return [out]
    if op_type == "Squeeze":
        axes = ints("axes") if "axes" in attrs else ([int(a) for a in values[1].reshape(-1)] if len(values) > 1 else None)
        return [np.squeeze(values[0], axis=None if axes is None else tuple(a % values[0].ndim for a in axes))]
    if op_type == "Concat":
        return [np.concatenate([np.atleast_1d(v) for v in values], axis=int(attrs.get("axis", 0)))]
    if op_type in ("Add", "Sub", "Mul", "Div"):
        a, b = values
        if op_type == "Div" and (a.dtype.kind in "iu" or b.dtype.kind in "iuO"):
            return [a // b]
        return [{"Add": a + b, "Sub": a - b, "Mul": a * b, "Div": a / b}[op_type]]
    if op_type == "Slice":
        data = values[0]
        starts, ends = [int(v) for v in values[1]], [int(v) for v in values[2]]
        axes = [int(v) for v in values[3]] if len(values) > 3 and values[3] is not None else list(range(len(starts)))
        steps = [int(v) for v in values[4]] if len(values) > 4 and values[4] is not None else [1] * len(starts)
        index = [slice(None)] * data.ndim
        for s, e, a, st in zip(starts, ends, axes, steps):
            index[a] = slice(s, e, st)
        return [data[tuple(index)]]
    if op_type == "Reshape":
        return [values[0].reshape([int(v) for v in values[1]])]
    if op_type == "Transpose":
        return [np.transpose(values[0], ints("perm"))]
    if op_type == "ConstantOfShape":
        fill = attrs.get("value")
        from onnx import numpy_helper

        fill_value = numpy_helper.to_array(fill).reshape(-1)[0] if fill is not None else 0.0
        return [np.full([int(v) for v in values[0]], fill_value)]
    if op_type == "Range":
        return [np.arange(values[0].item(), values[1].item(), values[2].item())]
    return None


def as_array(value):
    """A numpy array of ``value`` (numpy turns 0-d results into scalars; sympy ones into objects)."""
    import numpy as np

    return value if isinstance(value, np.ndarray) else np.asarray(value, dtype=None if is_number(value) or isinstance(value, float) else object)
