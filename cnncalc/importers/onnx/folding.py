"""Constants of an ONNX graph, evaluated lazily: only when a builder needs a number.

``Shape -> Gather -> Concat`` chains (a dynamic ``flatten``), ``Constant`` and initializer
arithmetic compute reshape targets, axes and scales; cnncalc evaluates them with numpy
(symbolically when a size is a symbol, as numpy object arrays) and they never become rows.

Nothing is evaluated when it is recorded. :class:`Constants` keeps, per tensor name, how to make
the value (an initializer, a ``Constant`` node, a node on constants, a ``Shape``) and makes it on
the first :meth:`~Constants.value` or :meth:`~Constants.dims` that asks, walking what it depends on
with an explicit stack (a chain of 100,000 nodes needs no recursion). So an unused
``ConstantOfShape([4e8])`` costs nothing, and a used one that would exceed
:data:`~cnncalc.importers.limits.MAX_CONSTANT_ELEMENTS` is a one-line error naming the node and
the cap, decided before anything is allocated. A node depends only on the tensors defined before
it in the file, so the walk has no cycle whatever the file says.
"""

from __future__ import annotations

import math

from ...arith import is_number, product
from ..errors import OnnxImportError
from ..limits import MAX_CONSTANT_ELEMENTS, limit_text
from .external import tensor_values
from .tensors import Unknown

_NOT_YET = object()


class _Slot:
    """One constant tensor: how to make it (``plan``) and, once made, its value and dimensions."""

    __slots__ = ("plan", "value", "dims")

    def __init__(self, plan, value=_NOT_YET):
        self.plan = plan
        self.value = value
        self.dims = _NOT_YET if value is _NOT_YET else _dims_of(value)

    def has(self, want) -> bool:
        return (self.value if want == "value" else self.dims) is not _NOT_YET


class _Fold:
    """A node on constants: its name (for errors), inputs (slots, ``None`` for a missing one) and
    output slots; evaluated once for all its outputs."""

    __slots__ = ("node", "name", "inputs", "outputs")

    def __init__(self, node, name, inputs):
        self.node, self.name, self.inputs, self.outputs = node, name, inputs, []


class Constants:
    """The constant tensors of one graph, made on demand (see the module docstring).

    ``base_dir`` is the model's directory (external data is read below it; ``None`` for a model
    given as bytes); ``inferred`` returns ``onnx.shape_inference``'s dimensions, computed on first
    use (the dimensions of a value cnncalc cannot compute)."""

    def __init__(self, initializers: dict, base_dir, inferred):
        self.initializers = initializers
        self.base_dir = base_dir
        self.inferred = inferred
        self.slots: dict[str, _Slot] = {}

    # -- recording (nothing is evaluated) --------------------------------------------------------
    def __contains__(self, name) -> bool:
        return name in self.slots or name in self.initializers

    def known(self, name, value):
        """A value known now (the ``Shape`` of a computed tensor)."""
        self.slots[name] = _Slot(("known",), value)

    def constant(self, node, name):
        """A ``Constant`` node: its value attribute, read when asked for."""
        if node.output:
            self.slots[node.output[0]] = _Slot(("constant", node, name))

    def fold(self, node, name):
        """A node whose inputs are all constants: evaluated when one of its outputs is asked for."""
        # An empty name is an absent optional input; a name nothing defined is an unknown value.
        fold = _Fold(node, name, [(self._slot(t) or _Slot(("known",), Unknown())) if t else None for t in node.input])
        for k, out in enumerate(node.output):
            slot = _Slot(("fold", fold, k)) if out else None
            fold.outputs.append(slot)
            if out:
                self.slots[out] = slot

    def shape(self, node, name):
        """``Shape`` of a constant: its dimensions, never its values."""
        source = self._slot(node.input[0]) if node.input else None
        self.slots[node.output[0]] = _Slot(("shape", node, source))

    def _slot(self, name):
        slot = self.slots.get(name)
        if slot is None and name in self.initializers:
            tensor = self.initializers[name]
            slot = self.slots[name] = _Slot(("initializer", tensor))
            slot.dims = tuple(int(d) for d in tensor.dims)  # known without reading the data
        return slot

    # -- asking ------------------------------------------------------------------------------------
    def value(self, name):
        """The numpy array of constant ``name``, or :class:`Unknown`."""
        slot = self._slot(name)
        return Unknown() if slot is None else self._make(slot, "value")

    def dims(self, name):
        """The dimensions of constant ``name`` (an initializer's without reading its data), or ``None``."""
        slot = self._slot(name)
        dims = None if slot is None else self._make(slot, "dims")
        if dims is not None:
            return dims
        inferred = self.inferred().get(name)
        return tuple(inferred) if inferred and all(isinstance(d, int) for d in inferred) else None

    def _make(self, slot, want):
        stack = [(slot, want)]
        while stack:
            s, w = stack[-1]
            if s.has(w):
                stack.pop()
                continue
            missing = [(d, dw) for d, dw in self._needs(s, w) if not d.has(dw)]
            if missing:
                stack.extend(missing)
                continue
            self._compute(s, w)
            stack.pop()
        return slot.value if want == "value" else slot.dims

    def _needs(self, slot, want):
        """What making ``want`` ("value" or "dims") of ``slot`` asks of other slots first."""
        kind = slot.plan[0]
        if kind == "fold":
            fold = slot.plan[1]
            if want == "dims" and fold.node.op_type in ("Identity", "Cast") and fold.inputs and fold.inputs[0] is not None:
                return [(fold.inputs[0], "dims")]
            if want == "dims" and fold.node.op_type == "ConstantOfShape" and fold.inputs and fold.inputs[0] is not None:
                return [(fold.inputs[0], "value")]
            if want == "dims":
                return [(slot, "value")]
            return [(i, "value") for i in fold.inputs if i is not None]
        if kind == "shape":
            source = slot.plan[2]
            return [(source, "dims")] if source is not None else []
        if want == "dims":
            return [(slot, "value")]
        return []

    def _compute(self, slot, want):
        kind = slot.plan[0]
        if kind == "shape":
            dims = _shape_value(slot.plan[1], slot.plan[2])
            slot.value, slot.dims = dims, (_dims_of(dims) if not isinstance(dims, Unknown) else None)
            return
        if kind == "fold" and want == "dims":
            fold = slot.plan[1]
            if fold.node.op_type in ("Identity", "Cast"):
                slot.dims = fold.inputs[0].dims
                return
            if fold.node.op_type == "ConstantOfShape":
                shape = fold.inputs[0].value
                slot.dims = None if isinstance(shape, Unknown) else _int_dims(shape)
                return
        if want == "dims":  # the value is made: its dimensions, or the inferred ones
            slot.dims = _dims_of(slot.value)
            return
        if kind == "initializer":
            tensor = slot.plan[1]
            slot.value = tensor_values(tensor, self.base_dir, f"initializer '{tensor.name}'")
        elif kind == "constant":
            slot.value = self._constant(slot.plan[1], slot.plan[2])
        elif kind == "fold":
            self._fold(slot.plan[1])
        if slot.dims is _NOT_YET:
            slot.dims = _dims_of(slot.value)

    def _constant(self, node, name):
        import numpy as np
        from onnx import helper

        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        if "value" in attrs:
            return tensor_values(attrs["value"], self.base_dir, f"node '{name}' (Constant)")
        if "value_float" in attrs or "value_int" in attrs:
            return np.array(attrs.get("value_float", attrs.get("value_int")))
        if "value_floats" in attrs or "value_ints" in attrs:
            return np.array(attrs.get("value_floats", attrs.get("value_ints")))
        return Unknown()

    def _fold(self, fold):
        from onnx import helper

        values = [None if i is None else i.value for i in fold.inputs]
        standin = _stand_ins(fold.node.op_type, values)
        if standin is not None:
            self._fold_dims(fold, standin)
            return
        out = None
        if values and all(not isinstance(v, Unknown) for v in values if v is not None):
            attrs = {a.name: helper.get_attribute_value(a) for a in fold.node.attribute}
            try:
                import numpy as np

                with np.errstate(all="ignore"):  # a constant divided by zero is the file's business
                    out = evaluate(fold.node.op_type, values, attrs, name=fold.name, read_tensor=lambda t, what: tensor_values(t, self.base_dir, what))
                out = None if out is None else [v if isinstance(v, Unknown) else as_array(v) for v in out]
            except OnnxImportError:
                raise  # a cap, a refused file: the user hears of it
            except Exception:  # an evaluation this reader cannot do: the value stays unknown
                out = None
        # An input unknown for a reason (its data file is not there) makes the outputs unknown for it.
        reason = next((v.reason for v in values if isinstance(v, Unknown) and v.reason), None)
        for k, slot in enumerate(fold.outputs):
            if slot is None:
                continue
            if out is not None and k < len(out):
                slot.value = out[k]
            else:
                inferred = self.inferred().get(fold.node.output[k])
                slot.value = Unknown(inferred if inferred and all(isinstance(d, int) for d in inferred) else None, reason)
            slot.dims = _dims_of(slot.value)


    def _fold_dims(self, fold, values):
        """The outputs' dimensions of a node whose data inputs' values are unknown (external data
        left out) but whose dimensions are known: evaluated on stand-ins (zero-stride arrays of
        those dimensions: no memory), the values thrown away, only the dimensions kept. So a
        ViT's ``Expand(class_token)`` or Swin's gathered bias table has its dimensions."""
        from onnx import helper

        out = None
        import numpy as np

        try:
            attrs = {a.name: helper.get_attribute_value(a) for a in fold.node.attribute}
            if fold.node.op_type == "Expand" and values[1].dtype == object:
                out = [_Shaped(_expanded(values[0].shape, values[1]))]  # to a symbolic batch
            else:
                with np.errstate(all="ignore"):  # zeros stand in: a division by them is no news
                    out = evaluate(fold.node.op_type, values, attrs, name=fold.name)
        except Exception:  # a cap or an evaluation this reader cannot do: dimensions unknown
            out = None
        reason = next((v.reason for v in (i.value for i in fold.inputs if i is not None) if isinstance(v, Unknown) and v.reason), None)
        for k, slot in enumerate(fold.outputs):
            if slot is None:
                continue
            made = out[k] if out is not None and k < len(out) and not isinstance(out[k], Unknown) else None
            dims = None if made is None else (made.shape if isinstance(made, _Shaped) else tuple(int(d) for d in as_array(made).shape))
            slot.value = Unknown(dims, reason)
            slot.dims = slot.value.dims


class _Shaped:
    """Dimensions without values (some symbolic): what a stand-in evaluation may give."""

    def __init__(self, shape):
        self.shape = tuple(shape)


def _expanded(dims, shape):
    """``Expand``'s output dimensions (NumPy broadcasting) for a target that may hold symbols."""
    shape = list(shape.reshape(-1))
    rank = max(len(dims), len(shape))
    a = [1] * (rank - len(dims)) + list(dims)
    b = [1] * (rank - len(shape)) + shape
    out = []
    for x, y in zip(a, b):
        if is_number(y) and int(y) == 1:
            out.append(x)
        elif is_number(x) and int(x) == 1:
            out.append(y if not is_number(y) else int(y))
        elif is_number(x) and is_number(y) and int(x) == int(y):
            out.append(int(x))
        else:
            raise ValueError(f"{tuple(dims)} does not expand to {tuple(shape)}")
    return out


_STAND_IN = {
    **{op: (0,) for op in ("Identity", "Cast", "Gather", "Reshape", "Expand", "Tile", "Slice", "Unsqueeze", "Squeeze", "Transpose", "Flatten",
                           "Relu", "Sigmoid", "Tanh", "Exp", "Log", "Sqrt", "Neg", "Abs", "Reciprocal")},
    **{op: (0, 1) for op in ("MatMul", "Add", "Sub", "Mul", "Div")},
    "Gemm": (0, 1, 2),
    "Where": (1, 2),
}
"""The inputs of an operator that hold data (not shapes or indices): where a stand-in may replace an
unknown value to give the output's dimensions."""


def _stand_ins(op_type, values):
    """``values`` with the unknown data inputs of known dimensions as zero-stride zeros, or ``None``
    when there is none to stand in (or an unknown input that is not data)."""
    import numpy as np

    positions = _STAND_IN.get(op_type, tuple(range(len(values))) if op_type == "Concat" else ())
    unknown = [i for i, v in enumerate(values) if isinstance(v, Unknown)]
    if not unknown or any(i not in positions for i in unknown):
        return None
    out = list(values)
    for i in unknown:
        dims = values[i].dims
        if dims is None or not all(isinstance(d, int) and d >= 0 for d in dims) or product(dims) > MAX_CONSTANT_ELEMENTS:
            return None
        out[i] = np.broadcast_to(np.float32(0), tuple(dims))
    return out


def _dims_of(value):
    if isinstance(value, Unknown):
        return value.dims
    return tuple(value.shape)


def _int_dims(shape):
    try:
        dims = tuple(int(v) for v in shape.reshape(-1))
    except (TypeError, ValueError):
        return None
    return dims if all(d >= 0 for d in dims) else None


def _shape_value(node, source):
    """``Shape`` (``start``, ``end``) of a constant: an int64 vector of its dimensions."""
    import numpy as np
    from onnx import helper

    dims = None if source is None else source.dims
    if dims is None:
        return Unknown()
    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    dims = list(dims)[attrs.get("start", 0): attrs.get("end", len(dims))]
    symbolic = not all(is_number(v) for v in dims)
    return np.array(dims, dtype=object if symbolic else np.int64)


def evaluate(op_type, values, attrs, *, name="", read_tensor=None):
    """The outputs of a node on constants, or ``None`` when cnncalc does not evaluate ``op_type``.
    Values may hold sympy sizes (a symbolic batch or image size), as numpy object arrays.

    ``name`` names the node in errors; ``read_tensor(tensor, what)`` reads a tensor attribute
    (ConstantOfShape's ``value``: external data only below the model's directory). An output
    that would hold more than :data:`MAX_CONSTANT_ELEMENTS` elements is refused before it is made."""
    import numpy as np

    count = _elements(op_type, values, attrs)
    if count is not None and count > MAX_CONSTANT_ELEMENTS:
        shown = f"{count:,}" if isinstance(count, int) else "unbounded"
        raise OnnxImportError(f"node '{name}' ({op_type}) would make a constant of {shown} elements, more than {limit_text('MAX_CONSTANT_ELEMENTS')}")

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
        shape = [int(v) for v in values[0]]
        fill = (read_tensor or _inline)(fill, f"node '{name}' (ConstantOfShape)") if fill is not None else np.zeros(1)
        if isinstance(fill, Unknown):  # its fill value is external data that is not there
            return [Unknown(tuple(shape), fill.reason)]
        return [np.full(shape, fill.reshape(-1)[0])]
    if op_type == "Range":
        return [np.arange(values[0].item(), values[1].item(), values[2].item())]
    if op_type == "MatMul":
        return [np.matmul(values[0], values[1])]
    if op_type == "Gemm":
        a = values[0].T if int(attrs.get("transA", 0)) else values[0]
        b = values[1].T if int(attrs.get("transB", 0)) else values[1]
        out = float(attrs.get("alpha", 1.0)) * (a @ b)
        return [out + float(attrs.get("beta", 1.0)) * values[2] if len(values) > 2 and values[2] is not None else out]
    if op_type == "Expand":
        if values[1].dtype == object:  # to a symbolic batch: dimensions only
            return [Unknown(tuple(_expanded(values[0].shape, values[1])))]
        shape = [int(v) for v in values[1]]
        return [np.broadcast_to(values[0], np.broadcast_shapes(values[0].shape, tuple(shape)))]
    if op_type == "Tile":
        return [np.tile(values[0], [int(v) for v in values[1]])]
    if op_type == "Flatten":
        axis = int(attrs.get("axis", 1)) % max(values[0].ndim, 1)
        return [values[0].reshape(int(np.prod(values[0].shape[:axis])), -1)]
    if op_type == "Where":
        return [np.where(values[0], values[1], values[2])]
    unary = {"Relu": lambda v: np.maximum(v, 0), "Sigmoid": lambda v: 1 / (1 + np.exp(-v)), "Tanh": np.tanh, "Exp": np.exp, "Log": np.log,
             "Sqrt": np.sqrt, "Neg": np.negative, "Abs": np.abs, "Floor": np.floor, "Ceil": np.ceil, "Reciprocal": lambda v: 1 / v, "Not": np.logical_not}
    if op_type in unary:
        return [unary[op_type](values[0])]
    binary = {"Equal": np.equal, "Less": np.less, "Greater": np.greater, "Mod": np.mod, "Max": np.maximum, "Min": np.minimum, "And": np.logical_and, "Or": np.logical_or}
    if op_type in binary and len(values) == 2:
        return [binary[op_type](values[0], values[1])]
    return None


def _inline(tensor, what):
    return tensor_values(tensor, None, what)


def _elements(op_type, values, attrs):
    """How many elements ``evaluate`` would make for the operators that can make more than they
    read (``None`` when it does not tell: the evaluation then fails or makes at most its input)."""
    import numpy as np

    try:
        if op_type == "ConstantOfShape":
            return product(int(v) for v in values[0].reshape(-1))
        if op_type == "Range":
            start, limit, delta = (float(v.item()) for v in values[:3])
            if delta == 0 or any(math.isnan(x) for x in (start, limit, delta)):
                return None
            steps = (limit - start) / delta
            return math.inf if math.isinf(steps) else max(0, math.ceil(steps))
        if op_type == "Gather":
            data, indices = values[0], values[1]
            axis = int(attrs.get("axis", 0))
            along = data.shape[axis] if data.ndim else 0
            return 0 if along == 0 else data.size // along * indices.size
        if op_type == "Concat":
            return sum(np.atleast_1d(v).size for v in values)
        if op_type in ("Add", "Sub", "Mul", "Div", "Equal", "Less", "Greater", "Mod", "Max", "Min", "And", "Or"):
            return product(np.broadcast_shapes(values[0].shape, values[1].shape))
        if op_type == "Where":
            return product(np.broadcast_shapes(*(v.shape for v in values[:3])))
        if op_type == "Expand" and values[1].dtype != object:
            return product(np.broadcast_shapes(values[0].shape, tuple(int(v) for v in values[1])))
        if op_type == "Tile":
            return values[0].size * product(int(v) for v in values[1])
        if op_type == "MatMul":
            return product(np.broadcast_shapes(values[0].shape[:-2], values[1].shape[:-2])) * values[0].shape[-2] * values[1].shape[-1]
        if op_type == "Gemm":
            return values[0].shape[0 if not int(attrs.get("transA", 0)) else 1] * values[1].shape[1 if not int(attrs.get("transB", 0)) else 0]
    except (TypeError, ValueError, IndexError, AttributeError, OverflowError):
        return None
    return None


def as_array(value):
    """A numpy array of ``value`` (numpy turns 0-d results into scalars; sympy ones into objects)."""
    import numpy as np

    return value if isinstance(value, np.ndarray) else np.asarray(value, dtype=None if is_number(value) or isinstance(value, float) else object)
