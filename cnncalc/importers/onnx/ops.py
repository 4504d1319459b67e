"""The operator table: ONNX operator -> builder of the spec layer(s) (:data:`OPS`).

Each builder takes an :class:`~.node.Op` and returns a layer, a chain of layers (a padding before
the node's own layer, a cropping after it), :data:`~.node.ALIAS` (no row: the output is the input),
a :class:`~.tensors.Data` (folded into the node that produced the input), or raises
:class:`~.node.Fallback` when no kind expresses this form of the operator (an Opaque row).
docs/import.md lists the table.
"""

from __future__ import annotations

from dataclasses import replace

from ... import kinds
from ...arith import is_number, product
from .node import ALIAS, Fallback
from .tensors import Unknown, onnx_dims, sample_axis


def _spatial(values, what, default):
    values = list(values) if values is not None else list(default)
    if len(values) != 2:
        raise Fallback(f"{what} {values} is not 2-D")
    return tuple(int(v) for v in values)


def _one_or_pair(pair_):
    return pair_[0] if pair_[0] == pair_[1] else tuple(pair_)


def _padding(op, *, zero="valid"):
    """``(padding, pre)`` for a Conv/pool: ``padding`` as the kind takes it and ``pre`` a
    ``((top, bottom), (left, right))`` padding to apply first when ONNX pads unevenly."""
    auto = op.attr("auto_pad", "NOTSET")
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        return "same", None
    if auto == "VALID":
        return "valid", None
    pads = op.attr("pads")
    if pads is None:
        return zero, None
    pads = [int(p) for p in pads]
    if len(pads) != 4:
        raise Fallback(f"pads {pads} are not 2-D")
    top, left, bottom, right = pads
    if top == bottom and left == right:
        if top == left == 0:
            return zero, None
        return _one_or_pair((top, left)), None
    return zero, ((top, bottom), (left, right))


def _chain(pre, layer):
    return (kinds.ZeroPadding2D(pre), layer) if pre is not None else layer


def scalar_of(value):
    import numpy as np

    array = np.asarray(value)
    if array.size != 1:
        return None
    return float(array.reshape(-1)[0])



def _conv(op):
    if op.rank != 4:
        raise Fallback(f"a {op.rank - 2}-D convolution")
    c_out, c_in_g, kh, kw = op.weight(1)
    groups = int(op.attr("group", 1))
    c_in = op.data[0].shape[-1]
    stride = _one_or_pair(_spatial(op.attr("strides"), "strides", (1, 1)))
    dilation = _one_or_pair(_spatial(op.attr("dilations"), "dilations", (1, 1)))
    kernel = _one_or_pair((kh, kw))
    padding, pre = _padding(op)
    bias = op.has(2)
    if bias:
        op.weight(2)
    if groups > 1 and groups == c_in and c_in_g == 1:
        layer = kinds.DepthwiseConv2D(kernel=kernel, stride=stride, padding=padding, dilation=dilation, multiplier=c_out // groups, bias=bias)
    else:
        layer = kinds.Conv2D(c_out, kernel=kernel, stride=stride, padding=padding, dilation=dilation, groups=groups, bias=bias)
    return _chain(pre, layer)


def _conv_transpose(op):
    if op.rank != 4:
        raise Fallback(f"a {op.rank - 2}-D transposed convolution")
    if int(op.attr("group", 1)) != 1 or op.attr("output_shape") is not None:
        raise Fallback("groups or output_shape")
    _, c_out, kh, kw = op.weight(1)
    bias = op.has(2)
    if bias:
        op.weight(2)
    stride = _one_or_pair(_spatial(op.attr("strides"), "strides", (1, 1)))
    dilation = _one_or_pair(_spatial(op.attr("dilations"), "dilations", (1, 1)))
    out_pad = _one_or_pair(_spatial(op.attr("output_padding"), "output_padding", (0, 0)))
    kernel = _one_or_pair((kh, kw))
    auto = op.attr("auto_pad", "NOTSET")
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        return kinds.Conv2DTranspose(c_out, kernel=kernel, stride=stride, padding="same", dilation=dilation, bias=bias)
    # ONNX: out = (n - 1) s + d(k - 1) + 1 + output_padding - (pad_begin + pad_end): Keras' 'valid'
    # transposed convolution, then the pads cropped away.
    layer = kinds.Conv2DTranspose(c_out, kernel=kernel, stride=stride, padding="valid", output_padding=out_pad, dilation=dilation, bias=bias)
    pads = [int(p) for p in (op.attr("pads") or (0, 0, 0, 0))] if auto != "VALID" else [0, 0, 0, 0]
    top, left, bottom, right = pads
    if any(pads):
        return (layer, kinds.Cropping2D(((top, bottom), (left, right))))
    return layer


def _gemm(op):
    if op.data_index != [0] or int(op.attr("transA", 0)):
        raise Fallback("a Gemm whose weight is computed or whose input is transposed")
    dims = op.weight(1)
    units = dims[0] if int(op.attr("transB", 0)) else dims[1]
    bias = op.has(2)
    if bias:
        op.weight(2)
    return kinds.Dense(int(units), bias=bias)


def _matmul(op):
    if op.data_index != [0] or op.rank not in (2, 3):
        raise Fallback("a MatMul of two computed tensors (or on an image tensor)")
    dims = op.weight(1)
    if len(dims) != 2:
        raise Fallback(f"a MatMul by a {len(dims)}-D weight")
    return kinds.Dense(int(dims[1]), bias=False, last_axis=op.rank == 3)


def _batchnorm(op):
    for i in range(1, 5):
        op.weight(i)
    return kinds.BatchNorm(epsilon=float(op.attr("epsilon", 1e-5)), momentum=float(op.attr("momentum", 0.9)))


def _pool(cls):
    def build(op):
        if op.rank != 4:
            raise Fallback(f"a {op.rank - 2}-D pool")
        if _spatial(op.attr("dilations"), "dilations", (1, 1)) != (1, 1):
            raise Fallback("a dilated pool")
        kernel = _one_or_pair(_spatial(op.attr("kernel_shape"), "kernel_shape", ()))
        stride = _one_or_pair(_spatial(op.attr("strides"), "strides", (1, 1)))
        padding, pre = _padding(op, zero=0)
        return _chain(pre, cls(kernel=kernel, stride=stride, padding=padding, ceil_mode=bool(op.attr("ceil_mode", 0))))

    return build


def _global(cls):
    def build(op):
        if op.rank != 4:
            raise Fallback(f"a {op.rank - 2}-D global pool")
        return cls(keepdims=True)

    return build


def _reduce(cls):
    """``x.mean((2, 3))``: ReduceMean over the spatial axes is a global pool."""

    def build(op):
        axes = op.attr("axes")
        if axes is None and op.has(1):
            axes = op.known_const(1, "axes").tolist()
        if op.rank != 4 or axes is None or sorted(int(a) % 4 for a in axes) != [2, 3]:
            raise Fallback(f"a reduction over axes {axes} (only the spatial axes are a global pool)")
        return cls(keepdims=bool(op.attr("keepdims", 1)))

    return build


def _flatten(op):
    axis = int(op.attr("axis", 1)) % op.rank
    if axis != 1:
        raise Fallback(f"a flatten at axis {axis} (it merges the batch axis or keeps image axes)")
    return kinds.Flatten() if op.rank > 2 else ALIAS


def _reshape_to(op, dims):
    """The layer that gives the first computed input the ONNX dimensions ``dims`` (batch first)."""
    dims = _sizes(dims, "a reshape to")
    batch = op.reader.batch
    source = onnx_dims(op.data[0].shape, batch)
    if not dims or not (dims[0] == -1 or dims[0] is batch or same_size(dims[0], batch)):
        raise Fallback(f"a reshape to {tuple(dims)} that moves the batch axis")
    target = list(dims[1:])
    if target == list(source[1:]):
        return ALIAS
    if len(target) == 1 and len(source) > 2:
        if target[0] == -1 or same_size(target[0], product(source[1:])):
            return kinds.Flatten()
    if len(target) == 3:
        c, h, w = target
        target = [h, w, c]
    return kinds.Reshape(tuple(int(v) if is_number(v) else v for v in target))


def _sizes(values, what) -> list:
    """``values`` as sizes: integers (a float that is one, as constants may store them) or sympy
    sizes; anything else (a fraction, a missing value) has no kind."""
    sizes = []
    for v in values:
        if is_number(v):
            sizes.append(int(v))
        elif isinstance(v, float) and v.is_integer():
            sizes.append(int(v))
        elif hasattr(v, "free_symbols") and not isinstance(v, bool):
            sizes.append(v)
        else:
            raise Fallback(f"{what} {tuple(values)}: {v!r} is not a size")
    return sizes


def same_size(a, b):
    try:
        return bool(a == b)
    except TypeError:
        return False


def _reshape(op):
    shape = [v for v in op.known_const(1, "target shape").tolist()]
    source = onnx_dims(op.data[0].shape, op.reader.batch)
    if not int(op.attr("allowzero", 0)):
        shape = [source[i] if same_size(v, 0) and i < len(source) else v for i, v in enumerate(shape)]
    return _reshape_to(op, shape)


def _squeeze(op):
    axes = op.attr("axes")
    if axes is None and op.has(1):
        axes = op.known_const(1, "axes").tolist()
    dims = list(onnx_dims(op.data[0].shape, op.reader.batch))
    rank = len(dims)
    drop = {int(a) % rank for a in axes} if axes is not None else {i for i, v in enumerate(dims) if same_size(v, 1)}
    return _reshape_to(op, [v for i, v in enumerate(dims) if i not in drop])


def _unsqueeze(op):
    axes = op.attr("axes")
    if axes is None and op.has(1):
        axes = op.known_const(1, "axes").tolist()
    dims = list(onnx_dims(op.data[0].shape, op.reader.batch))
    rank = len(dims) + len(axes)
    for a in sorted(int(a) % rank for a in axes):
        dims.insert(a, 1)
    return _reshape_to(op, dims)


def _concat(op):
    if len(op.data_index) != len([t for t in op.inputs if t]):
        raise Fallback("a concatenation with constant inputs")
    return kinds.Concat(axis=sample_axis(op.attr("axis", 1), op.rank))


_ARITHMETIC = {"Add": "add", "Sub": "sub", "Mul": "mul", "Div": "div"}


def _binary(op):
    """Add, Sub, Mul, Div: of two computed tensors a merge; with a constant, a rescaling, a bias
    folded into the MatMul before it, or a per-channel scale."""
    function = _ARITHMETIC.get(op.type, op.type.lower())
    if len(op.data_index) == 2:
        if op.type == "Add":
            a, b = (d.shape for d in op.data)
            return kinds.Add() if a == b else _broadcast(op, "add")
        if op.type == "Mul":
            return kinds.Multiply()
        return _broadcast(op, function)
    if len(op.data_index) != 1:
        raise Fallback("an operator on constants only")
    k = 1 - op.data_index[0]
    dims = op.const_dims(k)
    # Only a scalar's value matters; a tensor's dimensions decide the rest (its values are never
    # read: they may be external data, or large).
    scalar = scalar_of(op.known_const(k, "constant operand")) if dims is None or product(dims) == 1 else None
    if scalar is not None:
        if op.type == "Add":
            return kinds.Rescaling(offset=scalar)
        if op.type == "Mul":
            return kinds.Rescaling(scale=scalar)
        if op.type == "Sub":
            return kinds.Rescaling(offset=-scalar) if k == 1 else kinds.Rescaling(scale=-1.0, offset=scalar)
        if op.type == "Div" and k == 1:
            return kinds.Rescaling(scale=1.0 / scalar)
    bias = op.reader.fold_bias(op, k)
    if bias is not None:
        return bias
    channels = op.data[0].shape[-1] if op.data[0].shape else None
    if op.type == "Mul" and dims is not None and _per_channel(dims, op.rank, channels):
        op.weight(k)
        return kinds.LayerScale(int(channels))
    raise Fallback("an element-wise operation with a constant tensor")


def _per_channel(dims, rank, channels):
    """A constant of ``C`` values broadcast over the channel axis (``C x 1 x 1`` on an image)."""
    dims = tuple(int(d) for d in dims)
    if rank == 4:
        return dims in ((channels, 1, 1), (1, channels, 1, 1))
    return dims in ((channels,), (1, channels))


def _broadcast(op, function):
    cls = getattr(kinds, "Binary", None)
    if cls is None:
        raise Fallback(f"no kind for '{function}' of two tensors")
    return cls(function)


_ACTIVATIONS = {
    "Relu": "relu",
    "Sigmoid": "sigmoid",
    "Tanh": "tanh",
    "Softmax": "softmax",
    "LogSoftmax": "log_softmax",
    "Elu": "elu",
    "Selu": "selu",
    "Celu": "celu",
    "LeakyRelu": "leaky_relu",
    "HardSigmoid": "hard_sigmoid",
    "HardSwish": "hard_silu",
    "Gelu": "gelu",
    "Softplus": "softplus",
    "Softsign": "softsign",
    "Mish": "mish",
}


def _activation(op):
    return kinds.Activation(_ACTIVATIONS[op.type])


def _clip(op):
    """Clip(0, 6) is ReLU6 (MobileNet), Clip(0, inf) ReLU, Clip(-1, 1) hard tanh."""
    lo, hi = op.attr("min"), op.attr("max")
    if op.has(1):
        lo = scalar_of(op.known_const(1, "minimum"))
    if op.has(2):
        hi = scalar_of(op.known_const(2, "maximum"))
    bounds = (None if lo is None else float(lo), None if hi is None else float(hi))
    name = {(0.0, 6.0): "relu6", (0.0, None): "relu", (-1.0, 1.0): "hard_tanh"}.get(bounds)
    if name is None:
        return _elementwise(op)
    return kinds.Activation(name)


def _elementwise(op):
    cls = getattr(kinds, "Elementwise", None)
    if cls is None:
        raise Fallback("no kind for this element-wise operator")
    return cls(op.type.lower())


def _dropout(op):
    ratio = op.attr("ratio", 0.5)
    if op.has(1):
        value = op.const(1)
        ratio = scalar_of(value) if not isinstance(value, Unknown) else 0.5
    return kinds.Dropout(float(ratio))


def _lrn(op):
    size = int(op.attr("size"))
    return kinds.LRN(depth_radius=(size - 1) // 2, bias=float(op.attr("bias", 1.0)), alpha=float(op.attr("alpha", 1e-4)), beta=float(op.attr("beta", 0.75)))


def _pad(op):
    mode = op.attr("mode", "constant")
    pads = op.attr("pads")
    if pads is None:
        pads = op.known_const(1, "pads").tolist()
    if op.rank != 4 or len(pads) != 8:
        raise Fallback(f"pads {pads} on a rank-{op.rank} tensor")
    pads = [int(p) for p in pads]
    if any(pads[i] for i in (0, 1, 4, 5)):
        raise Fallback("padding of the batch or channel axis")
    top, left, bottom, right = pads[2], pads[3], pads[6], pads[7]
    if min(pads) < 0:
        if max(pads) > 0:
            raise Fallback("padding and cropping at once")
        return kinds.Cropping2D(((-top, -bottom), (-left, -right)))
    del mode  # reflect/edge padding: the same shapes and counts as zero padding
    return kinds.ZeroPadding2D(((top, bottom), (left, right)))


def _resize(op):
    """Resize (opset 11+: X, roi, scales, sizes; opset 10: X, scales) and Upsample (X, scales)."""
    cls = getattr(kinds, "Resize", None)
    if cls is None or op.rank != 4:
        raise Fallback("resizing a non-image tensor")
    mode = op.attr("mode", "nearest")
    scales = op.attr("scales")
    sizes = None
    if op.type == "Resize" and len(op.inputs) > 3 and op.has(3):
        sizes = op.known_const(3, "sizes").tolist()
    elif op.type == "Resize" and len(op.inputs) > 2 and op.has(2):
        scales = op.known_const(2, "scales").tolist()
    elif len(op.inputs) == 2 and op.has(1):
        scales = op.known_const(1, "scales").tolist()
    if op.attr("axes") is not None:
        raise Fallback("resizing selected axes")
    if sizes is not None and len(sizes) == 4:
        return cls(size=(int(sizes[2]), int(sizes[3])), mode=mode)
    if scales is None or len(scales) != 4 or float(scales[0]) != 1 or float(scales[1]) != 1:
        raise Fallback(f"scales {scales}")
    return cls(scale=tuple(int(s) if float(s).is_integer() else float(s) for s in scales[2:]), mode=mode)


def _alias(op):
    return ALIAS


def perm_of(node):
    from onnx import helper

    for a in node.attribute:
        if a.name == "perm":
            return [int(v) for v in helper.get_attribute_value(a)]
    return []


def _transpose(op):
    """The layout changes TensorFlow converters write around an image: ``N x H x W x C`` to
    ``N x C x H x W`` and back. Any other permutation of an image has no kind."""
    perm = list(op.attr("perm") or [])
    data = op.data[0]
    if op.rank == 4 and perm == [0, 3, 1, 2] and data.channels_last:
        return replace(data, channels_last=False)
    if op.rank == 4 and perm == [0, 2, 3, 1] and not data.channels_last:
        return replace(data, channels_last=True)
    raise Fallback(f"a transpose {perm} of the image axes")


OPS = {
    "Conv": _conv,
    "ConvTranspose": _conv_transpose,
    "Gemm": _gemm,
    "MatMul": _matmul,
    "BatchNormalization": _batchnorm,
    "MaxPool": _pool(kinds.MaxPool2D),
    "AveragePool": _pool(kinds.AvgPool2D),
    "GlobalAveragePool": _global(kinds.GlobalAvgPool2D),
    "GlobalMaxPool": lambda op: _global(kinds.GlobalMaxPool2D)(op),
    "ReduceMean": _reduce(kinds.GlobalAvgPool2D),
    "ReduceMax": lambda op: _reduce(kinds.GlobalMaxPool2D)(op),
    "Flatten": _flatten,
    "Reshape": _reshape,
    "Squeeze": _squeeze,
    "Unsqueeze": _unsqueeze,
    "Concat": _concat,
    "Add": _binary,
    "Sub": _binary,
    "Mul": _binary,
    "Div": _binary,
    "Pow": lambda op: _broadcast(op, "pow") if len(op.data_index) == 2 else _elementwise(op),
    "Max": lambda op: _broadcast(op, "max"),
    "Min": lambda op: _broadcast(op, "min"),
    **{name: _activation for name in _ACTIVATIONS},
    "Clip": _clip,
    **{name: _elementwise for name in ("Exp", "Log", "Sqrt", "Abs", "Neg", "Reciprocal", "Erf", "Floor", "Ceil", "Round", "Sin", "Cos", "Sign")},
    "Dropout": _dropout,
    "Identity": _alias,
    "Transpose": _transpose,
    "Cast": _alias,
    "LRN": _lrn,
    "Pad": _pad,
    "Resize": _resize,
    "Upsample": _resize,
}
"""ONNX operator (default domain) -> builder of the spec layer(s) from the node (:class:`Op`)."""

LAYOUT_FREE = frozenset(
    {*_ACTIVATIONS, "Clip", "Dropout", "Identity", "Cast", "Add", "Sub", "Mul", "Div", "Pow", "Max", "Min",
     "Exp", "Log", "Sqrt", "Abs", "Neg", "Reciprocal", "Erf", "Floor", "Ceil", "Round", "Sin", "Cos", "Sign"} - {"Softmax", "LogSoftmax"}
)
"""Element-wise operators: the same on an ``N x H x W x C`` tensor as on ``N x C x H x W``."""

