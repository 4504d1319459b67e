"""ONNX -> spec: a ``.onnx`` file (what ``torch.onnx.export`` writes) as a :class:`Graph`.

PyTorch users export with ``torch.onnx.export`` and look at the file in Netron, which draws the
graph but counts nothing. cnncalc reads the file with the ``onnx`` package alone (protobuf: no
onnxruntime, torch or TensorFlow is imported) and maps each operator onto a registered layer kind,
so the one engine gives parameters, output shapes, MACs, activations, receptive fields and
symbolic sizes, exactly as for the zoo or a Keras model.

The graph. Every ONNX node that computes on the image becomes one :class:`~cnncalc.spec.Node`,
named after the node (``/layer1/layer1.0/conv1/Conv`` is ``layer1.0.conv1.Conv``); the tensors it
reads name their producers. Tensors that only carry shapes, axes or scales (initializers,
``Constant``, ``Shape`` -> ``Gather`` -> ``Concat`` chains that the exporters write around a
dynamic ``flatten``) are evaluated here and never become rows. A node reusing another node's
weight initializer shares its parameters (counted once).

Layout. ONNX image tensors are ``N x C x H x W``; the spec is per sample, channels last, so a
tensor ``N x C x H x W`` is shown as ``H x W x C`` and an ``N x F`` one as ``F``; axes are
converted (``Concat(axis=1)`` joins channels).

Counts. Parameters are the elements of the initializers a node consumes as weights (a Conv's
``W`` and ``B``, a Gemm's ``B`` and ``C``, BatchNormalization's scale, bias, mean and variance),
through each kind's formula; shape, axes and scale constants are not parameters. ONNX has no
trainable flag: BatchNormalization's running mean and variance count as non-trainable, as Keras
counts them, everything else as trainable. An eval-mode export folds BatchNorm into the
convolutions (the file holds the folded weights and biases): the count is what the file holds.

Dynamic axes. An input axis named in the file (``dim_param``: ``height``, ``width``) becomes a
positive-integer sympy symbol of that name, so a file exported with dynamic sizes is analysed
symbolically with no flag; an unnamed unknown axis becomes ``H`` or ``W``.

What each operator becomes is :data:`OPS`; docs/import.md lists it. An operator outside it (or a
form of one that no kind expresses) becomes an :class:`~cnncalc.kinds.Opaque` row: output shape
from ``onnx.shape_inference``, parameters the elements of its initializer inputs, named in the
analysis' warnings with "MACs not counted". A file that is not ONNX, is truncated or has no image
input raises :class:`OnnxImportError` with a one-line message.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace

from . import kinds
from .arith import is_number, product
from .kinds import SpecError, rule_for
from .spec import Graph, Node, Spec


class OnnxImportError(SpecError):
    """An ONNX model (or file) cnncalc cannot read: the message names the node or the cause."""


MIN_OPSET = 11
"""The oldest default-domain opset read (torch exports 17 or 18 by default)."""


# ------------------------------------------------------------------------------------------------
# Tensors: a computed (data) tensor or a constant
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Data:
    """A tensor the network computes: the spec node holding it and its per-sample shape.

    ``channels_last``: the ONNX tensor is ``N x H x W x C`` (a TensorFlow converter's input before
    its ``Transpose`` to ``N x C x H x W``); the per-sample shape is ``H x W x C`` either way."""

    node: str
    shape: tuple
    channels_last: bool = False


class _Unknown:
    """A constant whose value cannot be computed here (an operator on initializers cnncalc does not
    evaluate); ``dims`` are its dimensions when known."""

    def __init__(self, dims=None):
        self.dims = dims


def _onnx_dims(shape, batch, channels_last=False) -> tuple:
    """The ONNX dimensions (batch first) of a per-sample shape: ``H x W x C`` -> ``N x C x H x W``."""
    if len(shape) == 3 and not channels_last:
        h, w, c = shape
        return (batch, c, h, w)
    return (batch, *shape)


def _sample_shape(dims) -> tuple:
    """The per-sample shape of ONNX dimensions: ``N x C x H x W`` -> ``H x W x C``."""
    dims = tuple(dims)
    if len(dims) == 4:
        return (dims[2], dims[3], dims[1])
    return dims[1:]


def _sample_axis(axis, rank):
    """An ONNX axis of a rank-``rank`` tensor as a negative axis of the per-sample shape."""
    axis = int(axis)
    axis = axis + rank if axis < 0 else axis
    if axis <= 0 or axis >= rank:
        raise ValueError(f"axis {axis} is the batch axis or outside rank {rank}")
    if rank == 4:
        return {1: -1, 2: -3, 3: -2}[axis]
    return axis - rank


# ------------------------------------------------------------------------------------------------
# One ONNX node as the builders see it
# ------------------------------------------------------------------------------------------------


class _Op:
    """An ONNX node with its inputs resolved: ``data`` (computed tensors, in order) and constants."""

    def __init__(self, reader, node, name):
        from onnx import helper

        self.reader = reader
        self.type = node.op_type
        self.name = name
        self.inputs = list(node.input)
        self.attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        self.data_index = [i for i, t in enumerate(self.inputs) if t in reader.data]
        self.weights: list[str] = []  # initializer names consumed as weights (for sharing)

    def attr(self, key, default=None):
        value = self.attrs.get(key, default)
        return value.decode() if isinstance(value, bytes) else value

    @property
    def data(self) -> list[_Data]:
        return [self.reader.data[self.inputs[i]] for i in self.data_index]

    @property
    def rank(self) -> int:
        """The ONNX rank (batch included) of the first computed input."""
        return len(self.data[0].shape) + 1

    def has(self, i) -> bool:
        return i < len(self.inputs) and self.inputs[i] != ""

    def const(self, i):
        """The value of constant input ``i`` (a numpy array), or :class:`_Unknown`."""
        return self.reader.value(self.inputs[i])

    def known_const(self, i, what):
        value = self.const(i)
        if isinstance(value, _Unknown):
            raise _Fallback(f"its {what} (input {i + 1}) is computed at run time")
        return value

    def const_dims(self, i) -> tuple:
        return self.reader.dims(self.inputs[i])

    def weight(self, i) -> tuple:
        """The dimensions of weight input ``i`` (recorded for weight sharing)."""
        if self.inputs[i] in self.reader.data:
            raise _Fallback(f"its weight (input {i + 1}) is computed by the network")
        self.weights.append(self.inputs[i])
        dims = self.const_dims(i)
        if dims is None:
            raise _Fallback(f"the shape of its weight '{self.inputs[i]}' is unknown")
        return dims


class _Fallback(Exception):
    """Raised by a builder when this form of the operator has no kind: the node becomes Opaque."""


ALIAS = object()
"""A builder's answer for a node whose output is its input (Identity, Cast): no row."""


# ------------------------------------------------------------------------------------------------
# Attribute helpers
# ------------------------------------------------------------------------------------------------


def _spatial(values, what, default):
    values = list(values) if values is not None else list(default)
    if len(values) != 2:
        raise _Fallback(f"{what} {values} is not 2-D")
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
        raise _Fallback(f"pads {pads} are not 2-D")
    top, left, bottom, right = pads
    if top == bottom and left == right:
        if top == left == 0:
            return zero, None
        return _one_or_pair((top, left)), None
    return zero, ((top, bottom), (left, right))


def _chain(pre, layer):
    return (kinds.ZeroPadding2D(pre), layer) if pre is not None else layer


def _scalar(value):
    import numpy as np

    array = np.asarray(value)
    if array.size != 1:
        return None
    return float(array.reshape(-1)[0])


# ------------------------------------------------------------------------------------------------
# ONNX operator -> layer kind. Each entry: (op) -> Layer, a chain of layers, or ALIAS.
# ------------------------------------------------------------------------------------------------


def _conv(op):
    if op.rank != 4:
        raise _Fallback(f"a {op.rank - 2}-D convolution")
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
        raise _Fallback(f"a {op.rank - 2}-D transposed convolution")
    if int(op.attr("group", 1)) != 1 or op.attr("output_shape") is not None:
        raise _Fallback("groups or output_shape")
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
        raise _Fallback("a Gemm whose weight is computed or whose input is transposed")
    dims = op.weight(1)
    units = dims[0] if int(op.attr("transB", 0)) else dims[1]
    bias = op.has(2)
    if bias:
        op.weight(2)
    return kinds.Dense(int(units), bias=bias)


def _matmul(op):
    if op.data_index != [0] or op.rank not in (2, 3):
        raise _Fallback("a MatMul of two computed tensors (or on an image tensor)")
    dims = op.weight(1)
    if len(dims) != 2:
        raise _Fallback(f"a MatMul by a {len(dims)}-D weight")
    return kinds.Dense(int(dims[1]), bias=False, last_axis=op.rank == 3)


def _batchnorm(op):
    for i in range(1, 5):
        op.weight(i)
    return kinds.BatchNorm(epsilon=float(op.attr("epsilon", 1e-5)), momentum=float(op.attr("momentum", 0.9)))


def _pool(cls):
    def build(op):
        if op.rank != 4:
            raise _Fallback(f"a {op.rank - 2}-D pool")
        if _spatial(op.attr("dilations"), "dilations", (1, 1)) != (1, 1):
            raise _Fallback("a dilated pool")
        kernel = _one_or_pair(_spatial(op.attr("kernel_shape"), "kernel_shape", ()))
        stride = _one_or_pair(_spatial(op.attr("strides"), "strides", (1, 1)))
        padding, pre = _padding(op, zero=0)
        return _chain(pre, cls(kernel=kernel, stride=stride, padding=padding, ceil_mode=bool(op.attr("ceil_mode", 0))))

    return build


def _global(cls):
    def build(op):
        if op.rank != 4:
            raise _Fallback(f"a {op.rank - 2}-D global pool")
        return cls(keepdims=True)

    return build


def _reduce(cls):
    """``x.mean((2, 3))``: ReduceMean over the spatial axes is a global pool."""

    def build(op):
        axes = op.attr("axes")
        if axes is None and op.has(1):
            axes = op.known_const(1, "axes").tolist()
        if op.rank != 4 or axes is None or sorted(int(a) % 4 for a in axes) != [2, 3]:
            raise _Fallback(f"a reduction over axes {axes} (only the spatial axes are a global pool)")
        return cls(keepdims=bool(op.attr("keepdims", 1)))

    return build


def _flatten(op):
    axis = int(op.attr("axis", 1)) % op.rank
    if axis != 1:
        raise _Fallback(f"a flatten at axis {axis} (it merges the batch axis or keeps image axes)")
    return kinds.Flatten() if op.rank > 2 else ALIAS


def _reshape_to(op, dims):
    """The layer that gives the first computed input the ONNX dimensions ``dims`` (batch first)."""
    batch = op.reader.batch
    source = _onnx_dims(op.data[0].shape, batch)
    if not dims or not (dims[0] == -1 or dims[0] is batch or _same(dims[0], batch)):
        raise _Fallback(f"a reshape to {tuple(dims)} that moves the batch axis")
    target = list(dims[1:])
    if target == list(source[1:]):
        return ALIAS
    if len(target) == 1 and len(source) > 2:
        if target[0] == -1 or _same(target[0], product(source[1:])):
            return kinds.Flatten()
    if len(target) == 3:
        c, h, w = target
        target = [h, w, c]
    return kinds.Reshape(tuple(int(v) if is_number(v) else v for v in target))


def _same(a, b):
    try:
        return bool(a == b)
    except TypeError:
        return False


def _reshape(op):
    shape = [v for v in op.known_const(1, "target shape").tolist()]
    source = _onnx_dims(op.data[0].shape, op.reader.batch)
    if not int(op.attr("allowzero", 0)):
        shape = [source[i] if _same(v, 0) and i < len(source) else v for i, v in enumerate(shape)]
    return _reshape_to(op, shape)


def _squeeze(op):
    axes = op.attr("axes")
    if axes is None and op.has(1):
        axes = op.known_const(1, "axes").tolist()
    dims = list(_onnx_dims(op.data[0].shape, op.reader.batch))
    rank = len(dims)
    drop = {int(a) % rank for a in axes} if axes is not None else {i for i, v in enumerate(dims) if _same(v, 1)}
    return _reshape_to(op, [v for i, v in enumerate(dims) if i not in drop])


def _unsqueeze(op):
    axes = op.attr("axes")
    if axes is None and op.has(1):
        axes = op.known_const(1, "axes").tolist()
    dims = list(_onnx_dims(op.data[0].shape, op.reader.batch))
    rank = len(dims) + len(axes)
    for a in sorted(int(a) % rank for a in axes):
        dims.insert(a, 1)
    return _reshape_to(op, dims)


def _concat(op):
    if len(op.data_index) != len([t for t in op.inputs if t]):
        raise _Fallback("a concatenation with constant inputs")
    return kinds.Concat(axis=_sample_axis(op.attr("axis", 1), op.rank))


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
        raise _Fallback("an operator on constants only")
    k = 1 - op.data_index[0]
    value = op.known_const(k, "constant operand")
    scalar = _scalar(value)
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
    if op.type == "Mul" and _per_channel(value.shape, op.rank, channels):
        op.weight(k)
        return kinds.LayerScale(int(channels))
    raise _Fallback("an element-wise operation with a constant tensor")


def _per_channel(dims, rank, channels):
    """A constant of ``C`` values broadcast over the channel axis (``C x 1 x 1`` on an image)."""
    dims = tuple(int(d) for d in dims)
    if rank == 4:
        return dims in ((channels, 1, 1), (1, channels, 1, 1))
    return dims in ((channels,), (1, channels))


def _broadcast(op, function):
    cls = getattr(kinds, "Binary", None)
    if cls is None:
        raise _Fallback(f"no kind for '{function}' of two tensors")
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
        lo = _scalar(op.known_const(1, "minimum"))
    if op.has(2):
        hi = _scalar(op.known_const(2, "maximum"))
    bounds = (None if lo is None else float(lo), None if hi is None else float(hi))
    name = {(0.0, 6.0): "relu6", (0.0, None): "relu", (-1.0, 1.0): "hard_tanh"}.get(bounds)
    if name is None:
        return _elementwise(op)
    return kinds.Activation(name)


def _elementwise(op):
    cls = getattr(kinds, "Elementwise", None)
    if cls is None:
        raise _Fallback("no kind for this element-wise operator")
    return cls(op.type.lower())


def _dropout(op):
    ratio = op.attr("ratio", 0.5)
    if op.has(1):
        value = op.const(1)
        ratio = _scalar(value) if not isinstance(value, _Unknown) else 0.5
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
        raise _Fallback(f"pads {pads} on a rank-{op.rank} tensor")
    pads = [int(p) for p in pads]
    if any(pads[i] for i in (0, 1, 4, 5)):
        raise _Fallback("padding of the batch or channel axis")
    top, left, bottom, right = pads[2], pads[3], pads[6], pads[7]
    if min(pads) < 0:
        if max(pads) > 0:
            raise _Fallback("padding and cropping at once")
        return kinds.Cropping2D(((-top, -bottom), (-left, -right)))
    del mode  # reflect/edge padding: the same shapes and counts as zero padding
    return kinds.ZeroPadding2D(((top, bottom), (left, right)))


def _resize(op):
    """Resize (opset 11+: X, roi, scales, sizes; opset 10: X, scales) and Upsample (X, scales)."""
    cls = getattr(kinds, "Resize", None)
    if cls is None or op.rank != 4:
        raise _Fallback("resizing a non-image tensor")
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
        raise _Fallback("resizing selected axes")
    if sizes is not None and len(sizes) == 4:
        return cls(size=(int(sizes[2]), int(sizes[3])), mode=mode)
    if scales is None or len(scales) != 4 or float(scales[0]) != 1 or float(scales[1]) != 1:
        raise _Fallback(f"scales {scales}")
    return cls(scale=tuple(int(s) if float(s).is_integer() else float(s) for s in scales[2:]), mode=mode)


def _alias(op):
    return ALIAS


def _perm(node):
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
    raise _Fallback(f"a transpose {perm} of the image axes")


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
"""ONNX operator (default domain) -> builder of the spec layer(s) from the node (:class:`_Op`)."""

LAYOUT_FREE = frozenset(
    {*_ACTIVATIONS, "Clip", "Dropout", "Identity", "Cast", "Add", "Sub", "Mul", "Div", "Pow", "Max", "Min",
     "Exp", "Log", "Sqrt", "Abs", "Neg", "Reciprocal", "Erf", "Floor", "Ceil", "Round", "Sin", "Cos", "Sign"} - {"Softmax", "LogSoftmax"}
)
"""Element-wise operators: the same on an ``N x H x W x C`` tensor as on ``N x C x H x W``."""


# ------------------------------------------------------------------------------------------------
# Constants: the shape arithmetic the exporters write, evaluated with numpy
# ------------------------------------------------------------------------------------------------


def _evaluate(op_type, values, attrs):
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


def _array(value):
    """A numpy array of ``value`` (numpy turns 0-d results into scalars; sympy ones into objects)."""
    import numpy as np

    return value if isinstance(value, np.ndarray) else np.asarray(value, dtype=None if is_number(value) or isinstance(value, float) else object)


# ------------------------------------------------------------------------------------------------
# Reading the graph
# ------------------------------------------------------------------------------------------------


_NAME_PART = re.compile(r"[^0-9A-Za-z_.:#-]+")


def _node_name(node, index) -> str:
    """``/layer1/layer1.0/conv1/Conv`` -> ``layer1.0.conv1.Conv``: the module path (as
    ``model.named_modules()`` writes it) and the op. The TorchScript exporter scopes a node by the
    modules it runs in, each scope named after its attribute path (``layer1``, ``layer1.0``) or its
    attribute alone (``conv1``); a scope that extends the one before replaces it."""
    parts = [p for p in (node.name or "").split("/") if p]
    if not parts:
        return f"{node.op_type}_{index}"
    path: list[str] = []
    for part in parts[:-1]:
        if path and part.startswith(path[-1] + "."):
            path[-1] = part
        else:
            path.append(part)
    return _NAME_PART.sub("_", ".".join((*path, parts[-1])))


class _Reader:
    def __init__(self, model):
        from onnx import numpy_helper

        self.numpy_helper = numpy_helper
        self.model = model
        self.graph = model.graph
        self.initializers = {t.name: t for t in self.graph.initializer}
        self.values: dict = {}  # constant tensor name -> numpy array or _Unknown
        self.data: dict[str, _Data] = {}
        self.nodes: list[Node] = []
        self.index: dict[str, int] = {}  # spec node name -> position in self.nodes
        self.owner: dict[tuple, str] = {}  # weight initializers -> the node that first used them
        self.batch = 1
        self._inferred = None
        self.readers: dict[str, int] = {}
        for node in self.graph.node:
            for t in node.input:
                self.readers[t] = self.readers.get(t, 0) + 1
        for out in self.graph.output:
            self.readers[out.name] = self.readers.get(out.name, 0) + 1

    @property
    def inferred(self) -> dict:
        """ONNX dimensions of every tensor ``onnx.shape_inference`` can tell (for Opaque rows),
        computed on first use only: inference serialises the whole model, weights included."""
        if self._inferred is None:
            self._inferred = self._infer()
        return self._inferred

    def _infer(self) -> dict:
        import onnx
        from onnx import helper

        # Inference needs the weights' shapes, not their values: large initializers become typed
        # graph inputs, so the copy inference serialises holds no weight data.
        graph = self.graph
        small = [t for t in graph.initializer if product(t.dims) <= 64]
        large = [helper.make_tensor_value_info(t.name, t.data_type, list(t.dims)) for t in graph.initializer if product(t.dims) > 64]
        light = helper.make_graph(list(graph.node), graph.name, [*graph.input, *large], list(graph.output), initializer=small, value_info=list(graph.value_info))
        model = helper.make_model(light, opset_imports=list(self.model.opset_import), ir_version=self.model.ir_version)
        try:
            inferred = onnx.shape_inference.infer_shapes(model)
        except Exception:  # inference is a help for unknown operators, never a requirement
            inferred = model
        dims = {}
        for info in (*inferred.graph.value_info, *inferred.graph.output):
            if info.type.HasField("tensor_type") and info.type.tensor_type.HasField("shape"):
                dims[info.name] = tuple(
                    d.dim_value if d.HasField("dim_value") else (d.dim_param or None) for d in info.type.tensor_type.shape.dim
                )
        return dims

    # -- constants ---------------------------------------------------------------------------------
    def value(self, name):
        if name in self.values:
            return self.values[name]
        tensor = self.initializers.get(name)
        if tensor is None:
            return _Unknown()
        if tensor.data_location == 1:  # external data not loaded: only its shape is known
            value = _Unknown(tuple(tensor.dims))
        else:
            value = self.numpy_helper.to_array(tensor)
        self.values[name] = value
        return value

    def dims(self, name):
        tensor = self.initializers.get(name)
        if tensor is not None:
            return tuple(int(d) for d in tensor.dims)
        value = self.values.get(name)
        if isinstance(value, _Unknown):
            return value.dims
        if value is not None:
            return tuple(value.shape)
        inferred = self.inferred.get(name)
        return tuple(inferred) if inferred and all(isinstance(d, int) for d in inferred) else None

    def _constant_node(self, node):
        from onnx import helper

        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        import numpy as np

        if "value" in attrs:
            value = self.numpy_helper.to_array(attrs["value"])
        elif "value_float" in attrs or "value_int" in attrs:
            value = np.array(attrs.get("value_float", attrs.get("value_int")))
        elif "value_floats" in attrs or "value_ints" in attrs:
            value = np.array(attrs.get("value_floats", attrs.get("value_ints")))
        else:
            value = _Unknown()
        self.values[node.output[0]] = value

    # -- the image input -----------------------------------------------------------------------
    def input(self):
        names = [i for i in self.graph.input if i.name not in self.initializers]
        if len(names) != 1:
            listed = ", ".join(i.name for i in names) or "none"
            raise OnnxImportError(f"the graph has {len(names)} inputs ({listed}): cnncalc analyses one-input networks")
        info = names[0]
        dims = []
        for k, d in enumerate(info.type.tensor_type.shape.dim):
            if d.HasField("dim_value") and d.dim_value > 0:
                dims.append(int(d.dim_value))
            else:
                dims.append(_symbol(d.dim_param, ("N", "C", "H", "W")[k] if k < 4 else f"D{k}"))
        if len(dims) != 4:
            raise OnnxImportError(
                f"input '{info.name}' has shape {tuple(dims)}: cnncalc analyses image inputs N x C x H x W"
            )
        channels_last = self._channels_last(info.name)
        n, c, h, w = (dims[0], dims[3], dims[1], dims[2]) if channels_last else dims
        if not is_number(c):
            raise OnnxImportError(f"input '{info.name}' has an unknown channel count ({c})")
        self.batch = n
        name = _NAME_PART.sub("_", info.name)
        self._add(Node(kinds.Input(h, w, c, name=name)), (h, w, c))
        self.data[info.name] = _Data(name, (h, w, c), channels_last)

    def _channels_last(self, tensor) -> bool:
        """Whether the input is ``N x H x W x C``: TensorFlow converters (tf2onnx) keep the model's
        channels-last input and read it through ``Transpose(perm=[0, 3, 1, 2])``; cnncalc takes the
        input so when every reader of it is that transpose."""
        readers = [n for n in self.graph.node if tensor in n.input]
        return bool(readers) and all(n.op_type == "Transpose" and list(_perm(n)) == [0, 3, 1, 2] for n in readers)

    # -- the nodes -----------------------------------------------------------------------------
    def read(self):
        self.input()
        for i, node in enumerate(self.graph.node):
            if node.domain not in ("", "ai.onnx"):
                self._opaque(node, _node_name(node, i), f"operator {node.domain}.{node.op_type}")
                continue
            if node.op_type == "Constant":
                self._constant_node(node)
                continue
            if node.op_type == "Shape":
                self._shape(node)
                continue
            if not any(t in self.data for t in node.input):
                self._fold(node)
                continue
            self._layer(node, _node_name(node, i))
        outputs = [o.name for o in self.graph.output if o.name in self.data]
        if not outputs:
            raise OnnxImportError("the graph computes none of its outputs from its input")
        return tuple(dict.fromkeys(self.data[o].node for o in outputs))

    def _shape(self, node):
        import numpy as np

        source = node.input[0]
        if source in self.data:
            data = self.data[source]
            dims = list(_onnx_dims(data.shape, self.batch, data.channels_last))
        else:
            d = self.dims(source)
            if d is None:
                self.values[node.output[0]] = _Unknown()
                return
            dims = list(d)
        from onnx import helper

        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        dims = dims[attrs.get("start", 0): attrs.get("end", len(dims))]
        symbolic = not all(is_number(v) for v in dims)
        self.values[node.output[0]] = np.array(dims, dtype=object if symbolic else np.int64)

    def _fold(self, node):
        """A node on constants only: evaluated when cnncalc knows how, otherwise left unknown."""
        from onnx import helper

        values = [self.value(t) if t else None for t in node.input]
        out = None
        if all(not isinstance(v, _Unknown) for v in values if v is not None) and values:
            attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
            try:
                out = _evaluate(node.op_type, values, attrs)
                out = None if out is None else [_array(v) for v in out]
            except Exception:  # an evaluation this reader cannot do: the value stays unknown
                out = None
        for k, name in enumerate(node.output):
            if out is not None and k < len(out):
                self.values[name] = out[k]
            else:
                inferred = self.inferred.get(name)
                self.values[name] = _Unknown(inferred if inferred and all(isinstance(d, int) for d in inferred) else None)

    def _layer(self, node, name):
        op = _Op(self, node, self._unique(name))
        build = OPS.get(node.op_type)
        channels_last = any(d.channels_last for d in op.data)
        if channels_last and node.op_type not in LAYOUT_FREE and node.op_type != "Transpose":
            return self._opaque(node, op.name, f"{node.op_type} on an N x H x W x C tensor", op)
        if build is None:
            return self._opaque(node, op.name, f"operator {node.op_type}", op)
        try:
            result = build(op)
        except _Fallback as why:
            return self._opaque(node, op.name, f"{node.op_type} ({why})", op)
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise OnnxImportError(f"node '{op.name}' ({node.op_type}): cannot read its attributes ({type(exc).__name__}: {exc})") from None
        if result is ALIAS:
            self.data[node.output[0]] = op.data[0]
            return
        if isinstance(result, _Data):  # folded into the node that produced the input
            self.data[node.output[0]] = result
            return
        layers = result if isinstance(result, tuple) else (result,)
        reads = [d.node for d in op.data]
        shapes = [d.shape for d in op.data]
        shares = self._shared(op)
        for layer in layers:
            # The node's own layer keeps its name; the padding before it (uneven ONNX pads) and the
            # cropping after a transposed convolution are named after it.
            role = _ROLES.get(type(layer))
            node_name = self._unique(f"{op.name}.{role}") if role and len(layers) > 1 else op.name
            named = replace(layer, name=node_name)
            shape = self._out_shape(named, shapes, op)
            self._add(Node(named, tuple(reads), shares=None if role else shares), shape)
            reads, shapes = [node_name], [shape]
        if op.weights and shares is None:
            self.owner.setdefault(tuple(op.weights), op.name)
        self.data[node.output[0]] = _Data(reads[0], shapes[0], channels_last and node.op_type in LAYOUT_FREE)

    def _shared(self, op):
        """The node whose weights this one reuses: the same initializers, in the same order (a
        module called twice). Exporters may merge initializers of equal value (BatchNorm's ones and
        zeros), so only a convolution's or a dense layer's full weight list counts as sharing."""
        if op.type not in ("Conv", "ConvTranspose", "Gemm", "MatMul") or not op.weights:
            return None
        return self.owner.get(tuple(op.weights))

    def _out_shape(self, layer, shapes, op):
        rule = rule_for(layer)
        merge = kinds.KINDS[type(layer)].merge
        try:
            shape = rule.shape(layer, shapes if merge else shapes[0], lambda message: None)
        except SpecError as exc:
            raise OnnxImportError(f"node '{op.name}' ({op.type}): {exc}") from None
        return tuple(int(v) if is_number(v) else v for v in shape)

    def _opaque(self, node, name, what, op=None):
        """An operator (or a form of one) with no kind: an Opaque row per output, shapes from
        ``onnx.shape_inference`` and parameters the elements of its constant inputs."""
        name = op.name if op is not None else self._unique(name)
        reads = [self.data[t].node for t in node.input if t in self.data]
        if not reads:  # a custom operator on constants only: a constant of unknown value
            self._fold(node)
            return
        channels_last = any(self.data[t].channels_last for t in node.input if t in self.data)
        weights = 0
        for t in node.input:
            if t and t not in self.data:
                dims = self.dims(t)
                if dims is not None and t in self.initializers:
                    weights += product(dims)
        for k, out in enumerate(node.output):
            if not out:
                continue
            dims = self.inferred.get(out)
            shape = self._inferred_shape(dims, channels_last)
            if shape is None:
                raise OnnxImportError(
                    f"node '{name}' ({what}): cnncalc has no rule for it and onnx.shape_inference cannot tell its output shape {dims or ''}".rstrip()
                )
            node_name = name if k == 0 else self._unique(f"{name}:{k}")
            # The shape holds for the file's input only; an Opaque row reads one tensor (the first
            # computed input: a MatMul of two tensors is counted, not traced, past the second).
            source = next(self.data[t] for t in node.input if t in self.data)
            layer = kinds.Opaque(class_name=node.op_type, output=shape, weights=weights if k == 0 else 0, non_trainable=0, input=source.shape, name=node_name)
            self._add(Node(layer, (reads[0],)), shape)
            self.data[out] = _Data(node_name, shape, channels_last and len(shape) == 3)

    def _inferred_shape(self, dims, channels_last=False):
        if not dims or len(dims) < 2:
            return None
        symbols = {}
        for node in self.nodes[:1]:
            for v in node.layer.shape:
                if not is_number(v):
                    symbols[str(v)] = v
        out = []
        for d in dims[1:]:
            if is_number(d) and d > 0:
                out.append(int(d))
            elif isinstance(d, str) and d in symbols:
                out.append(symbols[d])
            else:
                return None
        return tuple(out) if channels_last else _sample_shape((None, *out))

    def fold_bias(self, op, k):
        """``MatMul`` then ``Add`` of a ``units``-vector: one Dense with a bias (Gemm's form)."""
        source = op.data[0]
        position = self.index.get(source.node)
        node = self.nodes[position] if position is not None else None
        if node is None or not isinstance(node.layer, kinds.Dense) or node.layer.bias or op.type != "Add":
            return None
        dims = op.const_dims(k)
        if dims is None or product(dims) != node.layer.units or self.readers.get(op.inputs[op.data_index[0]], 0) != 1:
            return None
        op.weight(k)
        self.nodes[position] = replace(node, layer=replace(node.layer, bias=True))
        return source

    # -- bookkeeping -----------------------------------------------------------------------------
    def _unique(self, name):
        if name not in self.index:
            self.index.setdefault(name, None)
            return name
        k = 2
        while f"{name}_{k}" in self.index:
            k += 1
        self.index[f"{name}_{k}"] = None
        return f"{name}_{k}"

    def _add(self, node, shape):
        self.index[node.name] = len(self.nodes)
        self.nodes.append(node)


_ROLES = {kinds.ZeroPadding2D: "pad", kinds.Cropping2D: "crop"}
"""The helper layers a builder may chain around the node's own layer, and their name suffixes."""


def _symbol(name, fallback):
    from .symbolic import symbol

    text = re.sub(r"\W", "_", name or "") or fallback
    if text[0].isdigit():
        text = "_" + text
    return symbol(text)


# ------------------------------------------------------------------------------------------------
# Entry points
# ------------------------------------------------------------------------------------------------


def load_model(path_or_model):
    """An ``onnx.ModelProto`` from a path, bytes or a ModelProto; one-line errors for bad files."""
    try:
        import onnx
    except ModuleNotFoundError:
        raise OnnxImportError("reading ONNX files needs the onnx package: pip install 'cnncalc[onnx]'") from None
    if hasattr(path_or_model, "graph") and hasattr(path_or_model, "opset_import"):
        return path_or_model
    from google.protobuf.message import DecodeError

    where = "the bytes given"
    try:
        if isinstance(path_or_model, (bytes, bytearray)):
            model = onnx.load_from_string(bytes(path_or_model))
        else:
            where = f"'{os.fspath(path_or_model)}'"
            model = onnx.load(os.fspath(path_or_model), load_external_data=False)
    except FileNotFoundError:
        raise OnnxImportError(f"no such file: {where}") from None
    except IsADirectoryError:
        raise OnnxImportError(f"{where} is a directory, not an .onnx file") from None
    except DecodeError as exc:
        raise OnnxImportError(f"{where} is not an ONNX model (or is truncated): {exc}") from None
    except (OSError, ValueError, TypeError) as exc:
        raise OnnxImportError(f"cannot read {where}: {type(exc).__name__}: {exc}") from None
    if not model.ir_version or not model.HasField("graph") or not model.graph.node:
        raise OnnxImportError(f"{where} is not an ONNX model (no graph; empty, truncated or another format)")
    return model


def opset(model) -> int:
    for entry in model.opset_import:
        if entry.domain in ("", "ai.onnx"):
            return int(entry.version)
    return 0


def from_onnx(path_or_model, *, name: str | None = None) -> Spec:
    """The :class:`Spec` (a :class:`Graph`) of an ONNX model: a path, the file's bytes or an
    ``onnx.ModelProto``. See the module docstring for what is read and how it is counted."""
    model = load_model(path_or_model)
    version = opset(model)
    if version < MIN_OPSET:
        raise OnnxImportError(f"the model uses opset {version}: cnncalc reads opset {MIN_OPSET} and later (re-export with opset_version={MIN_OPSET} or newer)")
    reader = _Reader(model)
    outputs = reader.read()
    if name is None:
        name = model.graph.name or "onnx_model"
        if isinstance(path_or_model, (str, os.PathLike)):
            name = os.path.splitext(os.path.basename(os.fspath(path_or_model)))[0]
    producer = " ".join(p for p in (model.producer_name, model.producer_version) if p)
    return Spec(
        Graph(tuple(reader.nodes), outputs=outputs, name=None),
        model=name,
        description=f"ONNX model {name} (opset {version}" + (f", {producer})" if producer else ")"),
        meta={"source": "onnx", "opset": version, "producer": producer},
    )


def is_onnx_file(path: str) -> bool:
    return path.lower().endswith(".onnx")
