"""The operator table: ONNX operator -> builder of the spec layer(s) (:data:`OPS`).

Each builder takes an :class:`~.node.Op` and returns a layer, a chain of layers (a padding before
the node's own layer, a cropping after it, a layout change before an image operator),
:data:`~.node.ALIAS` (no row: the output is the input), a :class:`~.tensors.Data` (folded into
the node that produced the input), :class:`~.node.Outputs` (one chain per output: ``Split``), or
raises :class:`~.node.Fallback` when no kind expresses this form of the operator (an Opaque row).
A builder that changes the layout of its output (a transpose, a reshape) sets ``op.layout``.
Shapes and axes are converted with the input's layout (:mod:`.tensors`). docs/import.md lists the
table.
"""

from __future__ import annotations

from dataclasses import replace

from ... import kinds
from ...arith import is_number, product
from .node import ALIAS, Fallback, Outputs
from .tensors import Data, Unknown, inner_dims, onnx_axes_of, shape_of, spec_axis


def _spatial(values, what, default, n: int = 2):
    """One value per spatial axis (``n`` of them: 1 for ``N x C x T``, 3 for ``N x C x D x H x W``)."""
    values = list(values) if values is not None else list(default)
    if len(values) != n:
        raise Fallback(f"{what} {values} is not {n}-D")
    return tuple(int(v) for v in values)


def _one_or_pair(values):
    """One value when every spatial axis agrees (as the kinds take it), else the tuple."""
    return values[0] if len(set(values)) == 1 else tuple(values)


def _padding(op, *, zero="valid", n: int = 2):
    """``(padding, pre)`` for a Conv/pool over ``n`` spatial axes: ``padding`` as the kind takes it
    and ``pre`` one ``(before, after)`` per axis (``((top, bottom), (left, right))``) to apply
    first when ONNX pads unevenly."""
    auto = op.attr("auto_pad", "NOTSET")
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        return "same", None
    if auto == "VALID":
        return "valid", None
    pads = op.attr("pads")
    if pads is None:
        return zero, None
    pads = [int(p) for p in pads]
    if len(pads) != 2 * n:
        raise Fallback(f"pads {pads} are not {n}-D")
    before, after = pads[:n], pads[n:]
    if before == after:
        if not any(before):
            return zero, None
        return _one_or_pair(before), None
    return zero, tuple(zip(before, after))


def _chain(pre, layer):
    if pre is None:
        return layer
    return (getattr(kinds, f"ZeroPadding{len(pre)}D")(pre), layer)


def scalar_of(value):
    import numpy as np

    array = np.asarray(value)
    if array.size != 1:
        return None
    return float(array.reshape(-1)[0])



IMAGE_OPS = frozenset({"Conv", "ConvTranspose", "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "BatchNormalization", "LRN", "Resize", "Upsample", "InstanceNormalization"})
"""Operators that read an ``N x C x H x W`` image: a rank-4 tensor they read is taken as one (and
a rank-3 or rank-5 input they read as a signal ``N x C x T`` or a volume ``N x C x D x H x W``)."""

IMAGE_RANKS = (2, 3, 4)
"""The per-sample ranks of a channels-first tensor shown channels last: a signal ``T x C``, an
image ``H x W x C``, a volume ``D x H x W x C``."""

KEEPS_LAYOUT = frozenset({"Add", "Sub", "Mul", "Div", "Sum", "Max", "Min", "Clip", "Dropout", "Identity", "Cast", "Split", "Slice", "Concat", "Pad", "Exp", "Sqrt", "Erf", "Pow"})
"""Operators whose output has the layout of their input (for :meth:`_Reader.read_as_image`)."""


def _need_image(op, what):
    if not op.image:
        raise Fallback(f"{what} of an N x H x W x C or non-image tensor" if op.rank == 4 else f"{what} of a rank-{op.rank} tensor in its own layout")


def _spatial_rank(op, what) -> int:
    """The number of spatial axes of the image, signal or volume an operator reads (1, 2 or 3)."""
    _need_image(op, what)
    n = op.rank - 2
    if n not in (1, 2, 3):
        raise Fallback(f"a {n}-D {what}")
    return n


def _image_first(op, build, what):
    """``build(op)`` for an operator that reads ``N x C x H x W`` (``N x C x T``, ``N x C x D x H x W``):
    a tensor that the reader kept in ONNX order (its producer could not tell it feeds an image
    operator) is shown channels last first, by a Permute row."""
    data = op.data[0]
    if data.image or data.rank not in (3, 4, 5) or data.batch_axis != 0:
        return build(op)
    image = replace(data, shape=shape_of(data.shape, True), image=True)
    op.reader.data[op.inputs[op.data_index[0]]] = image
    try:
        result = build(op)
    finally:
        op.reader.data[op.inputs[op.data_index[0]]] = data
    layers = result if isinstance(result, tuple) else (result,)
    n = len(data.shape)
    op.layout = (True, 0)  # the output is channels last, as the operator's on an image
    return (kinds.Permute((*range(1, n), 0)), *layers)


def _conv(op):
    n = _spatial_rank(op, "convolution")
    c_out, c_in_g, *kernel = op.weight(1)
    if len(kernel) != n:
        raise op.mismatch(f"its weight {'x'.join(map(str, (c_out, c_in_g, *kernel)))} has {len(kernel)} spatial axes, its input {n}")
    groups = int(op.attr("group", 1))
    c_in = op.data[0].shape[-1]
    weight = "x".join(map(str, (c_out, c_in_g, *kernel)))
    if is_number(c_in) and c_in_g * groups != c_in:
        raise op.mismatch(f"its weight {weight} in {groups} group(s) reads {c_in_g * groups} channels, its input has {c_in}")
    if c_out % groups:
        raise op.mismatch(f"{c_out} output channels do not split into {groups} groups")
    stride = _one_or_pair(_spatial(op.attr("strides"), "strides", (1,) * n, n))
    dilation = _one_or_pair(_spatial(op.attr("dilations"), "dilations", (1,) * n, n))
    kernel = _one_or_pair(kernel)
    padding, pre = _padding(op, n=n)
    bias = op.has(2)
    if bias:
        dims = op.weight(2)
        if product(dims) != c_out:
            raise op.mismatch(f"its bias has {product(dims)} values for {c_out} output channels")
    if groups > 1 and groups == c_in and c_in_g == 1 and n in (1, 2):
        layer = getattr(kinds, f"DepthwiseConv{n}D")(kernel=kernel, stride=stride, padding=padding, dilation=dilation, multiplier=c_out // groups, bias=bias)
    else:
        layer = getattr(kinds, f"Conv{n}D")(c_out, kernel=kernel, stride=stride, padding=padding, dilation=dilation, groups=groups, bias=bias)
    return _chain(pre, layer)


def _conv_transpose(op):
    n = _spatial_rank(op, "transposed convolution")
    if int(op.attr("group", 1)) != 1 or op.attr("output_shape") is not None:
        raise Fallback("groups or output_shape")
    c_in_w, c_out, *kernel = op.weight(1)
    weight = "x".join(map(str, (c_in_w, c_out, *kernel)))
    if len(kernel) != n:
        raise op.mismatch(f"its weight {weight} has {len(kernel)} spatial axes, its input {n}")
    c_in = op.data[0].shape[-1]
    if is_number(c_in) and c_in_w != c_in:
        raise op.mismatch(f"its weight {weight} reads {c_in_w} channels, its input has {c_in}")
    bias = op.has(2)
    if bias:
        op.weight(2)
    stride = _one_or_pair(_spatial(op.attr("strides"), "strides", (1,) * n, n))
    dilation = _one_or_pair(_spatial(op.attr("dilations"), "dilations", (1,) * n, n))
    out_pad = _one_or_pair(_spatial(op.attr("output_padding"), "output_padding", (0,) * n, n))
    kernel = _one_or_pair(kernel)
    cls = getattr(kinds, f"Conv{n}DTranspose")
    auto = op.attr("auto_pad", "NOTSET")
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        return cls(c_out, kernel=kernel, stride=stride, padding="same", dilation=dilation, bias=bias)
    # ONNX: out = (n - 1) s + d(k - 1) + 1 + output_padding - (pad_begin + pad_end): Keras' 'valid'
    # transposed convolution, then the pads cropped away.
    layer = cls(c_out, kernel=kernel, stride=stride, padding="valid", output_padding=out_pad, dilation=dilation, bias=bias)
    pads = [int(p) for p in (op.attr("pads") or (0,) * (2 * n))] if auto != "VALID" else [0] * (2 * n)
    if len(pads) != 2 * n:
        raise Fallback(f"pads {pads} are not {n}-D")
    if any(pads):
        return (layer, getattr(kinds, f"Cropping{n}D")(tuple(zip(pads[:n], pads[n:]))))
    return layer


def _dense_axis(op, onnx_axis, units, bias):
    """A Dense on one ONNX axis of the first computed input (a vector: the plain dense layer)."""
    data = op.data[0]
    if data.batched and len(data.shape) == 1 and spec_axis(data, onnx_axis) == 0:
        return kinds.Dense(int(units), bias=bias)
    axis = spec_axis(data, onnx_axis) - len(data.shape)
    return kinds.Dense(int(units), bias=bias, last_axis=True, axis=axis)


def _gemm(op):
    if op.data_index != [0] or int(op.attr("transA", 0)):
        raise Fallback("a Gemm whose weight is computed or whose input is transposed")
    dims = op.weight(1)
    units, k = (dims[0], dims[1]) if int(op.attr("transB", 0)) else (dims[1], dims[0])
    size = op.dims()[-1]
    if is_number(size) and size != k:
        raise op.mismatch(f"its weight {dims[0]}x{dims[1]} reads {k} features, its input has {size}")
    bias = op.has(2)
    if bias:
        bdims = op.weight(2)
        if product(bdims) not in (units, 1):
            raise op.mismatch(f"its bias has {product(bdims)} values for {units} outputs")
    return _dense_axis(op, -1, units, bias)


def _matmul(op):
    if len(op.data_index) == 2:
        if any(d.image for d in op.data):
            raise Fallback("a product of image tensors (N x C x H x W)")
        return _two_tensors(op, kinds.MatMul())
    if len(op.data_index) != 1:
        raise Fallback("a MatMul of constants")
    k = 1 - op.data_index[0]
    dims = op.weight(k)
    if len(dims) != 2:
        raise Fallback(f"a MatMul by a {len(dims)}-D weight")
    rows, cols = dims
    x = op.dims()
    if k == 1:  # x @ W: contracts x's last axis
        if is_number(x[-1]) and x[-1] != rows:
            raise op.mismatch(f"its weight {rows}x{cols} reads {rows} features, its input has {x[-1]}")
        return _dense_axis(op, -1, cols, False)
    if len(x) < 2:  # W @ x on a vector: the vector is a column
        raise Fallback("a weight times a vector")
    if is_number(x[-2]) and x[-2] != cols:  # W @ x: contracts x's second-to-last axis
        raise op.mismatch(f"its weight {rows}x{cols} reads {cols} rows, its input has {x[-2]}")
    return _dense_axis(op, -2, rows, False)


def _einsum(op):
    equation = op.attr("equation")
    if len(op.data_index) == 2 and len(op.inputs) == 2:
        if any(d.image or d.batch_axis != 0 for d in op.data):
            raise Fallback("an Einsum of image tensors, or of tensors whose batch is not their first axis")
        return kinds.Einsum(equation=equation.replace(" ", ""))
    if len(op.data_index) == 1 and len(op.inputs) == 2 and op.data_index == [0]:
        if op.image or op.data[0].batch_axis != 0:
            raise Fallback("an Einsum of an image, or of a tensor whose batch is not its first axis")
        dims = op.weight(1)
        return kinds.EinsumDense(equation=equation.replace(" ", ""), weight=tuple(int(d) for d in dims))
    raise Fallback(f"an Einsum of {len(op.inputs)} operands")


def _sdpa_layer(op, slots, **fields):
    """The :class:`~cnncalc.kinds.ScaledDotProductAttention` of an attention node whose input
    ``i`` plays the role ``slots[i]`` (query, key, value, mask, past_key, past_value; ``bias``: a
    projection bias the file must store), and the rows of its outputs. A mask or a past key/value
    the file stores is read for its dimensions only (its float elements are the row's parameters,
    as any stored tensor a row reads); one the network computes is an input of the row."""
    roles, cache = [], []
    for i, role in slots.items():
        if not op.has(i):
            continue
        if op.inputs[i] in op.reader.data:
            if role == "bias":
                raise Fallback("a projection bias computed by the network")
            roles.append(role)
            continue
        if role in ("query", "key", "value"):
            raise Fallback(f"its {role} is a constant the file stores (cnncalc reads attention of computed tensors)")
        op.learned(i)  # a stored float bias, mask or cache: its elements are parameters of the row
        if role.startswith("past_"):
            dims = op.const_dims(i)
            if dims is None or len(dims) != 4:
                raise op.mismatch(f"its {role.replace('_', ' ')} has dimensions {dims}, not batch x heads x positions x features")
            cache.append(dims)
    given = [i for i, r in slots.items() if r.startswith("past_") and op.has(i)]
    if len(given) == 1:
        raise op.mismatch("a past key needs a past value and the reverse")
    if len(cache) == 1:
        raise Fallback("a past key and value of which one is stored and the other computed")
    past = 0
    if cache:
        if not same_size(cache[0][2], cache[1][2]):
            raise op.mismatch(f"its past key has {cache[0][2]} positions, its past value {cache[1][2]}")
        past = cache[0][2]
    for d in op.data:
        if d.image or d.batch_axis != 0:
            raise Fallback("an attention of tensors read as images, or whose batch is not their first axis")
    op.layout = (False, 0)
    layer = kinds.ScaledDotProductAttention(roles=tuple(roles), past=past, params=op.stored(), **fields)
    if len([o for o in op.outputs if o]) == 1 and op.outputs[0]:
        return layer
    return Outputs(tuple(replace(layer, output_index=k, params=0 if k else layer.params) for k in range(len(op.outputs))))


def _attention(op):
    """Attention (opset 23): scaled dot-product attention of computed query, key and value, 4-D
    (``B x heads x positions x features``) or 3-D (``B x positions x heads*features`` with
    ``q_num_heads`` and ``kv_num_heads``); one row per output the node names (the result; the
    present key and value; the ``Q K^T`` scores)."""
    if op.has(6) and op.inputs[6] in op.reader.data:
        raise Fallback("key lengths computed by the network (nonpad_kv_seqlen)")
    slots = dict(enumerate(kinds.SDPA_ROLES))
    return _sdpa_layer(op, slots, heads=int(op.attr("q_num_heads", 0)), kv_heads=int(op.attr("kv_num_heads", 0)))


def _heads(op):
    heads = op.attr("num_heads")
    if not isinstance(heads, int) or heads < 1:
        raise op.mismatch(f"num_heads is {heads!r}, not a positive number of heads")
    return heads


def _ms_multi_head_attention(op):
    """onnxruntime's ``com.microsoft.MultiHeadAttention`` with separate 3-D query, key and value
    (``B x S x N H``, ``B x L x N H``, ``B x L x N H_v``; ``num_heads`` N): the attention of
    :func:`_attention`, the projection bias it adds first (``bias``, stored) counted as
    parameters; a padding mask, an attention bias, a past key and value (``B x N x P x H``); the
    output, the present key and value and the scores as rows. Its packed forms (query, key and
    value in one ``B x S x N x 3 x H`` tensor, key and value in one, key and value given as
    ``B x N x L x H`` caches) and the shared past/present buffer have no kind."""
    if not (op.has(1) and op.has(2)):
        raise Fallback("a packed query, key and value (one B x S x N x 3 x H input)")
    for i, what in ((0, "query"), (1, "key"), (2, "value")):
        if op.inputs[i] in op.reader.data and op.reader.data[op.inputs[i]].rank != 3:
            rank = op.reader.data[op.inputs[i]].rank
            raise Fallback(f"a {rank}-D {what} (packed, or a B x N x L x H cache)")
    if any(op.has(i) for i in (8, 9)):
        raise Fallback("a past/present buffer shared across steps (past_sequence_length, cache_indirection)")
    heads = _heads(op)
    slots = {0: "query", 1: "key", 2: "value", 3: "bias", 4: "mask", 5: "mask", 6: "past_key", 7: "past_value"}
    return _sdpa_layer(op, slots, heads=heads, kv_heads=heads)


def _ms_attention(op):
    """onnxruntime's ``com.microsoft.Attention``: the query, key and value projection (one
    ``D_in x (D + D + D_v)`` weight and its bias) then the attention of ``num_heads`` heads, in
    one node: a ``Dense`` row (the projection, with its parameters) and a
    ``ScaledDotProductAttention`` row reading the packed result. A mask or an attention bias the
    network computes, a past key and value, the present output and a shared buffer have no kind."""
    if op.data_index != [0] or op.rank != 3:
        raise Fallback("an input that is not B x S x features, or a mask, bias or cache computed by the network")
    if any(op.has(i) for i in (4, 6)) or (len(op.outputs) > 1 and op.outputs[1]):
        raise Fallback("a past and present key and value (2 x B x N x P x H)")
    heads = _heads(op)
    dims = op.weight(1)
    if len(dims) != 2:
        raise op.mismatch(f"its weights have {len(dims)} axes, not input features x (query + key + value) features")
    d_in, total_ = dims
    x = op.dims()[-1]
    if is_number(x) and x != d_in:
        raise op.mismatch(f"its weights {d_in}x{total_} read {d_in} features, its input has {x}")
    sizes = op.attr("qkv_hidden_sizes")
    if sizes is not None:
        sizes = tuple(int(v) for v in sizes)
        if len(sizes) != 3 or sum(sizes) != total_ or sizes[0] != sizes[1]:
            raise op.mismatch(f"qkv_hidden_sizes {list(sizes)} do not split its weights' {total_} outputs into query, key (equal) and value")
    elif total_ % 3:
        raise op.mismatch(f"its weights' {total_} outputs do not split into query, key and value")
    else:
        sizes = (total_ // 3,) * 3
    bias = op.has(2)
    if bias and product(op.weight(2)) != total_:
        raise op.mismatch(f"its bias has {product(op.weight(2))} values for {total_} outputs")
    for i in (3, 5):
        if op.has(i):
            op.learned(i)  # a stored float mask or attention bias: parameters of the row
    op.layout = (False, 0)
    return (
        kinds.Dense(int(total_), bias=bias, last_axis=True, axis=-1),
        kinds.ScaledDotProductAttention(heads=heads, kv_heads=heads, roles=("query",), qkv=sizes, params=op.stored()),
    )


CONTRIB = {
    ("com.microsoft", "MultiHeadAttention"): _ms_multi_head_attention,
    ("com.microsoft", "Attention"): _ms_attention,
}
"""Operators of other domains that have a kind: onnxruntime's fused attention (docs/import.md)."""


def _two_tensors(op, layer):
    """A merge of two computed tensors whose shapes line up as ONNX's do (neither an image unless
    both are images of one layout)."""
    a, b = op.data
    if a.image != b.image or a.batch_axis != b.batch_axis:
        raise Fallback("tensors of two layouts")
    return layer


def _batchnorm(op):
    _need_image(op, "batch normalisation") if op.rank == 4 else None
    channels = op.dims()[1] if op.rank >= 2 else None
    for i in range(1, 5):
        dims = op.weight(i)
        if channels is not None and is_number(channels) and product(dims) != channels:
            raise op.mismatch(f"its input {i + 1} has {product(dims)} values for {channels} channels")
    if op.rank not in (3, 4, 5) or not op.image:  # BatchNorm1d/2d/3d: channels first, shown last
        raise Fallback(f"a batch normalisation of a rank-{op.rank} tensor")
    return kinds.BatchNorm(epsilon=float(op.attr("epsilon", 1e-5)), momentum=float(op.attr("momentum", 0.9)))


def _layernorm(op):
    """LayerNormalization (opset 17): over the axes from ``axis`` on; scale and bias of their sizes."""
    axis = int(op.attr("axis", -1))
    rank = op.rank
    first = axis % rank
    axes = tuple(sorted(spec_axis(op.data[0], a) - len(op.data[0].shape) for a in range(first, rank)))
    normalised = product(op.dims()[first:])
    scale = op.weight(1)
    if is_number(normalised) and product(scale) != normalised:
        raise op.mismatch(f"its scale has {product(scale)} values for {normalised} normalised elements")
    center = op.has(2)
    if center:
        op.weight(2)
    return kinds.LayerNorm(axis=axes, center=center, scale=True)


def _groupnorm(op):
    """InstanceNormalization (a scale and a bias per channel) and GroupNormalization (opset 18: per
    group, opset 21: per channel) on the channel axis."""
    data = op.data[0]
    channels = op.dims()[1]
    axis = spec_axis(data, 1) - len(data.shape)
    if op.type == "InstanceNormalization":
        groups = -1
    else:
        groups = int(op.attr("num_groups"))
    scale = op.weight(1)
    op.weight(2)
    layer = kinds.GroupNorm(groups=groups, axis=axis, epsilon=float(op.attr("epsilon", 1e-5)))
    if is_number(channels) and product(scale) != channels:
        if op.type == "GroupNormalization" and product(scale) == groups:
            raise Fallback("a GroupNormalization with per-group scales (opset 18)")
        raise op.mismatch(f"its scale has {product(scale)} values for {channels} channels")
    return layer


def _pool(kind):
    """MaxPool / AveragePool over 1, 2 or 3 spatial axes: ``MaxPool1D``, ``MaxPool2D``, ..."""

    def build(op):
        n = _spatial_rank(op, "pool")
        if any(d != 1 for d in _spatial(op.attr("dilations"), "dilations", (1,) * n, n)):
            raise Fallback("a dilated pool")
        kernel = _one_or_pair(_spatial(op.attr("kernel_shape"), "kernel_shape", (), n))
        stride = _one_or_pair(_spatial(op.attr("strides"), "strides", (1,) * n, n))
        padding, pre = _padding(op, zero=0, n=n)
        cls = getattr(kinds, f"{kind}{n}D")
        return _chain(pre, cls(kernel=kernel, stride=stride, padding=padding, ceil_mode=bool(op.attr("ceil_mode", 0))))

    return build


def _global(kind):
    def build(op):
        n = _spatial_rank(op, "global pool")
        return getattr(kinds, f"{kind}{n}D")(keepdims=True)

    return build


def _reduce(kind):
    """``x.mean((2, 3))``: ReduceMean over the spatial axes is a global pool (on either layout);
    ``x.mean(-1)`` of a signal ``N x C x T`` and ``x.mean((2, 3, 4))`` of a volume too."""

    def build(op):
        axes = op.attr("axes")
        if axes is None and op.has(1):
            axes = op.known_const(1, "axes").tolist()
        rank = op.rank
        if axes is None or rank not in (3, 4, 5) or op.data[0].batch_axis != 0:
            raise Fallback(f"a reduction over axes {axes}")
        data = op.data[0]
        cls = getattr(kinds, f"{kind}{rank - 2}D")
        spec = sorted(spec_axis(data, a) for a in axes)
        if spec == list(range(rank - 2)) and data.image:
            return cls(keepdims=bool(op.attr("keepdims", 1)))
        if sorted(int(a) % rank for a in axes) == list(range(2, rank)) and not data.image and rank == 4:
            # an N x C x H x W tensor the exporter's reshapes left in ONNX order: shown channels
            # last first (a Permute), then the global pool
            op.layout = (True, 0)
            return (kinds.Permute((1, 2, 0)), cls(keepdims=bool(op.attr("keepdims", 1))))
        raise Fallback(f"a reduction over axes {axes} (only the spatial axes are a global pool)")

    return build


_REDUCTIONS = {
    "ReduceMean": "mean", "ReduceSum": "sum", "ReduceMax": "max", "ReduceMin": "min", "ReduceProd": "prod",
    "ReduceL1": "l1", "ReduceL2": "l2", "ReduceSumSquare": "sum_square", "ReduceLogSum": "log_sum", "ReduceLogSumExp": "log_sum_exp",
}


def _reduction(op):
    """A reduction: over the spatial axes of an image (ReduceMean, ReduceMax) a global pool, over
    any other axes a Reduce."""
    if op.type in ("ReduceMean", "ReduceMax"):
        try:
            return _reduce("GlobalAvgPool" if op.type == "ReduceMean" else "GlobalMaxPool")(op)
        except Fallback:
            pass
    axes = op.attr("axes")
    if axes is None and op.has(1):
        axes = op.known_const(1, "axes").tolist()
    data = op.data[0]
    if axes is None or len(axes) == 0:
        if int(op.attr("noop_with_empty_axes", 0)):
            return ALIAS
        axes = list(range(data.rank))
    spec = sorted({spec_axis(data, a) for a in axes})
    keepdims = bool(op.attr("keepdims", 1))
    if not keepdims and data.image:
        raise Fallback("a reduction that drops axes of an image")
    if not keepdims and data.batched:
        dropped = sum(1 for a in axes if int(a) % data.rank < data.batch_axis)
        op.layout = (False, data.batch_axis - dropped)
    return kinds.Reduce(_REDUCTIONS[op.type], tuple(spec), keepdims=keepdims)


def _flatten(op):
    axis = int(op.attr("axis", 1)) % op.rank
    dims = op.dims()
    return _reshape_to(op, [product(dims[:axis]), product(dims[axis:])])


def same_size(a, b):
    try:
        return bool(a == b)
    except TypeError:
        return False


def _resolve(op, dims, source, allowzero=False):
    """ONNX Reshape's rules: ``0`` copies the source's size there (unless ``allowzero``), one
    ``-1`` takes the rest."""
    dims = list(dims)
    if not allowzero:
        dims = [source[i] if same_size(v, 0) and i < len(source) else v for i, v in enumerate(dims)]
    unknown = [i for i, v in enumerate(dims) if same_size(v, -1)]
    if len(unknown) > 1:
        raise Fallback(f"a reshape to {tuple(dims)} with several -1")
    if unknown:
        rest = product(v for i, v in enumerate(dims) if i != unknown[0])
        total_ = product(source)
        dims[unknown[0]] = total_ // rest if is_number(total_) and is_number(rest) else total_ / rest
    return [int(v) if is_number(v) else v for v in dims]


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


def _reshape_to(op, dims, allowzero=False):
    """The layer that gives the first computed input the ONNX dimensions ``dims`` (ONNX Reshape's
    ``0`` and ``-1`` allowed); sets the output's layout (``op.layout``).

    Where the batch axis is afterwards: a symbolic batch (``N``) is the one axis of that size; a
    batch of 1 stays where it was when the axes before it are kept and it is still 1, else a
    leading 1 is taken for it, else the exporter folded it into another axis (Swin's windows: the
    tensor is unbatched). A batch of any other size that cannot be found is named, never guessed."""
    data = op.data[0]
    batch = op.reader.batch
    source = op.dims()
    k = data.batch_axis
    if not is_number(batch):
        # a symbolic batch: the axis of exactly that size is the batch; folded into another axis
        # (nn.MultiheadAttention's L x N*heads x d) it counts per sample as a batch of 1
        raw = _sizes(dims, "a reshape to")
        found = [i for i, d in enumerate(raw) if same_size(d, batch)]
        if len(found) > 1:
            raise Fallback(f"a reshape to {tuple(raw)} with several axes the size of the batch")
        one = [_per_sample(v, batch) for v in raw]
        dims = _resolve(op, one, [_per_sample(v, batch) for v in source], allowzero)
        axis = found[0] if found else None
        inner = list(dims) if axis is None else [d for i, d in enumerate(dims) if i != axis]
        return _reshaped(op, data, inner, axis)
    dims = _resolve(op, _sizes(dims, "a reshape to"), source, allowzero)
    if not same_size(batch, 1):
        found = [i for i, d in enumerate(dims) if same_size(d, batch)]
        if not data.batched or len(found) != 1:
            raise Fallback(f"a reshape to {tuple(dims)} that moves the batch axis")
        axis = found[0]
    elif data.batched and k < len(dims) and same_size(dims[k], 1) and list(dims[:k]) == list(source[:k]):
        axis = k  # the batch of 1 where it was
    elif dims and len(dims) > 1 and same_size(dims[0], 1):
        axis = 0  # a leading 1: the batch (back, when an exporter had folded it)
    elif not data.batched and len(dims) == len(source) + 1 and _inserted_one(dims, source) is not None:
        axis = _inserted_one(dims, source)  # a 1 put back between the axes (L x E -> L x 1 x E)
    else:
        axis = None  # the batch of 1 folded into another axis
    inner = list(dims) if axis is None else [d for i, d in enumerate(dims) if i != axis]
    return _reshaped(op, data, inner, axis)


def _per_sample(size, batch):
    """A size with the (symbolic) batch taken as 1: what one sample has of an axis it folds into."""
    return size.subs(batch, 1) if hasattr(size, "subs") else size


def _reshaped(op, data, inner, axis):
    """The row that gives ``data`` the per-sample ONNX dimensions ``inner``, its batch at ONNX
    ``axis`` (``None``: folded away); sets ``op.layout``."""
    image = axis == 0 and len(inner) == 3 and op.reader.read_as_image(op.outputs[0])
    target = shape_of(inner, image)
    op.layout = (image, axis)
    if tuple(target) == tuple(data.shape) and axis == data.batch_axis:
        return ALIAS
    if axis == 0 == data.batch_axis and len(target) == 1 and len(data.shape) > 1:
        return kinds.Flatten()
    return kinds.Reshape(tuple(int(v) if is_number(v) else v for v in target))


def _inserted_one(dims, source):
    """The position of the one axis of size 1 whose removal from ``dims`` gives ``source``."""
    for i, d in enumerate(dims):
        if same_size(d, 1) and list(dims[:i]) + list(dims[i + 1:]) == list(source):
            return i
    return None


def _reshape(op):
    shape = [v for v in op.known_const(1, "target shape").tolist()]
    return _reshape_to(op, shape, bool(int(op.attr("allowzero", 0))))


def _squeeze(op):
    axes = op.attr("axes")
    if axes is None and op.has(1):
        axes = op.known_const(1, "axes").reshape(-1).tolist()
    dims = list(op.dims())
    rank = len(dims)
    drop = {int(a) % rank for a in axes} if axes is not None else {i for i, v in enumerate(dims) if same_size(v, 1)}
    return _reshape_to(op, [v for i, v in enumerate(dims) if i not in drop])


def _unsqueeze(op):
    axes = op.attr("axes")
    if axes is None and op.has(1):
        # a scalar axis is read as a list of one (the dynamo exporter writes one for GQA's repeat)
        axes = op.known_const(1, "axes").reshape(-1).tolist()
    dims = list(op.dims())
    rank = len(dims) + len(axes)
    for a in sorted(int(a) % rank for a in axes):
        dims.insert(a, 1)
    return _reshape_to(op, dims)


def _concat(op):
    constants = [i for i, t in enumerate(op.inputs) if t and i not in op.data_index]
    if constants:
        if len(op.data_index) != 1 or len(constants) != 1:
            raise Fallback("a concatenation of several constants")
        k = constants[0]
        dims = op.learned(k)
        if dims is None:
            raise Fallback("a concatenation with a constant that is not a learned tensor")
        data = op.data[0]
        axis = int(op.attr("axis"))
        x = op.dims()
        if len(dims) != len(x):
            raise Fallback("a concatenation of tensors of two ranks")
        token = kinds.ClassToken(tokens=int(dims[axis]), axis=spec_axis(data, axis))
        # the token's values per sample (the batch axis of an Expand to the batch left out)
        per_sample = product(d for i, d in enumerate(dims) if not (data.batched and i == data.batch_axis))
        if op.stored() != per_sample:
            raise Fallback(f"a concatenation with a learned tensor of {per_sample} values made of {op.stored()} stored ones")
        return token
    data = op.data
    if len({(d.image, d.batch_axis) for d in data}) != 1:
        raise Fallback("a concatenation of tensors of two layouts")
    rank = len(data[0].shape)
    return kinds.Concat(axis=spec_axis(data[0], op.attr("axis", 1)) - rank)


_ARITHMETIC = {"Add": "add", "Sub": "sub", "Mul": "mul", "Div": "div"}


def _const_shape(op, k):
    """The per-sample shape of constant input ``k`` as it broadcasts against the computed input
    (``C x 1 x 1`` on an image is ``1 x 1 x C``); ``None`` when it does not line up (it varies
    along the batch axis, or has more axes than the tensor)."""
    data = op.data[0]
    dims = tuple(op.const_dims(k) or ())
    rank = data.rank
    if len(dims) > rank:
        return None
    dims = (1,) * (rank - len(dims)) + dims
    if data.batched:
        if not same_size(dims[data.batch_axis], 1):
            return None
        dims = dims[: data.batch_axis] + dims[data.batch_axis + 1:]
    shape = shape_of(dims, data.image)
    while len(shape) > 1 and same_size(shape[0], 1):
        shape = shape[1:]
    return tuple(int(v) for v in shape)


def _binary(op):
    """Add, Sub, Mul, Div: of two computed tensors a merge; with a constant, a rescaling (a scalar),
    a bias folded into the MatMul before it, a per-channel scale, or a learned tensor."""
    function = _ARITHMETIC.get(op.type, op.type.lower())
    if len(op.data_index) == 2:
        _two_tensors(op, None)
        if op.type == "Add":
            a, b = (d.shape for d in op.data)
            return kinds.Add() if a == b else kinds.Binary("add")
        if op.type == "Mul":
            return kinds.Multiply()
        return kinds.Binary(function)
    if len(op.data_index) != 1:
        raise Fallback("an operator on constants only")
    k = 1 - op.data_index[0]
    dims = op.const_dims(k)
    # Only a scalar's value matters; a tensor's dimensions decide the rest (its values are never
    # read: they may be external data, or large).
    value = op.const(k) if dims is None or product(dims) == 1 else None
    scalar = None if value is None or isinstance(value, Unknown) else scalar_of(value)
    if scalar is not None:
        if op.type == "Add":
            return kinds.Rescaling(offset=scalar)
        if op.type == "Mul":
            return kinds.Rescaling(scale=scalar)
        if op.type == "Sub":
            return kinds.Rescaling(offset=-scalar) if k == 1 else kinds.Rescaling(scale=-1.0, offset=scalar)
        if op.type == "Div" and k == 1:
            return kinds.Rescaling(scale=1.0 / scalar)
    if op.type == "Add":
        bias = op.reader.fold_bias(op, k)
        if bias is not None:
            return bias
    shape = _const_shape(op, k)
    if shape is None:
        raise Fallback("an element-wise operation with a constant that does not line up with the tensor")
    if op.learned(k) is not None:
        stored, work = op.stored(), op.work()
        channels = op.data[0].shape[-1] if op.data[0].shape else None
        if op.type == "Mul" and len(shape) == 1 and same_size(shape[0], channels) and stored == shape[0] and not work:
            return kinds.LayerScale(int(channels))  # one learned scale per channel (ConvNeXt)
        return kinds.Learned(function, shape, params=None if stored == product(shape) else stored, macs=work)
    # a constant that is no parameter (an integer tensor, a value the network computes from
    # constants alone): arithmetic that keeps the tensor's shape and adds nothing
    data_shape = tuple(op.data[0].shape)
    if len(shape) <= len(data_shape) and all(same_size(a, 1) or same_size(a, b) for a, b in zip(reversed(shape), reversed(data_shape))):
        return kinds.Rescaling()
    raise Fallback("an element-wise operation with a constant that widens the tensor")


def _sum(op):
    """``Sum`` of several tensors: an ``Add`` of them (one input: the tensor itself)."""
    if len(op.data_index) != len([t for t in op.inputs if t]):
        raise Fallback("a Sum with constant inputs")
    if len(op.data_index) == 1:
        return ALIAS
    shapes = {tuple(d.shape) for d in op.data}
    if len(shapes) != 1:
        raise Fallback("a Sum of tensors of several shapes")
    return kinds.Add()


ACTIVATIONS = {
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
    return kinds.Activation(ACTIVATIONS[op.type])


def _prelu(op):
    """PRelu: learned slopes broadcast over the input (unidirectionally, aligned from the right):
    the axes where the slope has 1 share one (torch's ``nn.PReLU(C)``: ``C x 1 x 1`` on an
    image, one slope per channel)."""
    if op.data_index != [0]:
        raise Fallback("slopes computed by the network")
    slope = op.weight(1)
    dims = op.dims()
    if len(slope) > len(dims):
        raise op.mismatch(f"its slopes {'x'.join(map(str, slope))} have more axes than its input")
    full = (1,) * (len(dims) - len(slope)) + tuple(slope)
    data = op.data[0]
    shared = []
    for axis, (s, d) in enumerate(zip(full, dims)):
        if s != 1 and is_number(d) and s != d:
            raise op.mismatch(f"its slopes {'x'.join(map(str, slope))} do not broadcast over its input {'x'.join(map(str, dims))}")
        if data.batched and axis == data.batch_axis:
            if s != 1:
                raise Fallback("a slope per sample of the batch")
            continue
        if s == 1:
            shared.append(spec_axis(data, axis))
    return kinds.PReLU(shared=tuple(sorted(shared)))


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
    return kinds.Elementwise(op.type.lower())


def _dropout(op):
    ratio = op.attr("ratio", 0.5)
    if op.has(1):
        value = op.const(1)
        ratio = scalar_of(value) if not isinstance(value, Unknown) else 0.5
    return kinds.Dropout(float(ratio))


def _lrn(op):
    _need_image(op, "local response normalisation")
    size = int(op.attr("size"))
    return kinds.LRN(depth_radius=(size - 1) // 2, bias=float(op.attr("bias", 1.0)), alpha=float(op.attr("alpha", 1e-4)), beta=float(op.attr("beta", 0.75)))


def _pad(op):
    pads = op.attr("pads")
    if pads is None:
        pads = op.known_const(1, "pads").tolist()
    pads = [int(p) for p in pads]
    rank = op.rank
    if len(pads) != 2 * rank:
        raise Fallback(f"pads {pads} on a rank-{rank} tensor")
    if op.has(3):
        raise Fallback("padding of selected axes")
    if not any(pads):
        return ALIAS
    data = op.data[0]
    if rank not in (3, 4, 5) or data.batch_axis != 0 or (rank != 4 and not data.image):
        raise Fallback(f"padding of a rank-{rank} tensor")
    before, after = pads[:rank], pads[rank:]
    spatial = [spec_axis(data, a) for a in range(1, rank)]
    per = {spatial[i]: (before[i + 1], after[i + 1]) for i in range(rank - 1)}
    if before[0] or after[0] or any(per[rank - 2]):
        raise Fallback("padding of the batch or channel axis")
    sides = tuple(per[a] for a in range(rank - 2))  # (before, after) per spatial axis
    if min(pads) < 0:
        if max(pads) > 0:
            raise Fallback("padding and cropping at once")
        return getattr(kinds, f"Cropping{rank - 2}D")(tuple((-b, -a) for b, a in sides))
    return getattr(kinds, f"ZeroPadding{rank - 2}D")(sides)  # reflect/edge: the same shapes and counts


def _resize(op):
    """Resize (opset 11+: X, roi, scales, sizes; opset 10: X, scales) and Upsample (X, scales)."""
    _need_image(op, "resize")
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
    rank = op.rank  # N x C x (T | H x W | D x H x W)
    if sizes is not None and len(sizes) == rank:
        return kinds.Resize(size=tuple(int(v) for v in sizes[2:]), mode=mode)
    if scales is None or len(scales) != rank or float(scales[0]) != 1 or float(scales[1]) != 1:
        raise Fallback(f"scales {scales}")
    return kinds.Resize(scale=tuple(int(s) if float(s).is_integer() else float(s) for s in scales[2:]), mode=mode)


def _alias(op):
    return ALIAS


def perm_of(node):
    from onnx import helper

    for a in node.attribute:
        if a.name == "perm":
            return [int(v) for v in helper.get_attribute_value(a)]
    return []


def _transpose(op):
    """A permutation of the axes: no row when the per-sample shape does not change (the layout
    changes TensorFlow converters and ConvNeXt write between ``N x C x H x W`` and
    ``N x H x W x C``; ``nn.MultiheadAttention`` moving the batch axis of ``N x L x E`` to
    ``L x N x E``), else a Permute. The batch axis goes where the permutation takes it."""
    data = op.data[0]
    rank = data.rank
    perm = [int(p) % rank for p in (op.attr("perm") or reversed(range(rank)))]
    if sorted(perm) != list(range(rank)):
        raise Fallback(f"perm {perm} is not a permutation of {rank} axes")
    k = data.batch_axis
    axis = None if k is None else perm.index(k)
    inner_axes = [p for p in perm if p != k]  # the input's ONNX axes, in output order, batch left out
    # as per-sample ONNX axes of the input (the batch removed from the numbering)
    inner_perm = [p - (1 if k is not None and p > k else 0) for p in inner_axes]
    inner_out = tuple(inner_dims(data)[p] for p in inner_perm)
    candidates = [False]
    if axis == 0 and len(inner_out) == 3:
        candidates = [True, False] if op.reader.read_as_image(op.outputs[0]) else [False, True]
    of_inner_in = {inner: spec for spec, inner in enumerate(onnx_axes_of(data))}
    best = None
    for image in candidates:
        out = Data("", shape_of(inner_out, image), image, axis)
        spec_perm = tuple(of_inner_in[inner_perm[q]] for q in onnx_axes_of(out))
        if list(spec_perm) == list(range(len(spec_perm))):
            op.layout = (image, axis)
            return ALIAS
        if best is None:
            best = (image, spec_perm)
    op.layout = (best[0], axis)
    return kinds.Permute(best[1])


def _split(op):
    """Split (``chunk``): one Slice row per output, sizes from the ``split`` input or attribute,
    or equal parts (``num_outputs``, or as many as the outputs)."""
    data = op.data[0]
    axis = int(op.attr("axis", 0))
    size = op.dims()[axis % op.rank]
    if op.has(1):
        sizes = [int(v) for v in op.known_const(1, "split sizes").tolist()]
    elif op.attr("split") is not None:
        sizes = [int(v) for v in op.attr("split")]
    else:
        n = len(op.outputs)
        if not is_number(size):
            raise Fallback("an equal split of a symbolic axis")
        part = -(-int(size) // n)
        sizes = [min(part, int(size) - part * i) for i in range(n)]
    spec = spec_axis(data, axis)
    layers, start = [], 0
    for s in sizes:
        layers.append(kinds.Slice(axis=spec, start=start, stop=start + s))
        start += s
    return Outputs(tuple(layers))


_INT_MAX = 2**62


def _slice(op):
    """Slice with constant starts, ends, axes and steps: one Slice row per sliced axis."""
    starts = [int(v) for v in op.known_const(1, "starts").tolist()]
    ends = [int(v) for v in op.known_const(2, "ends").tolist()]
    axes = [int(v) for v in op.known_const(3, "axes").tolist()] if op.has(3) else list(range(len(starts)))
    steps = [int(v) for v in op.known_const(4, "steps").tolist()] if op.has(4) else [1] * len(starts)
    data = op.data[0]
    dims = op.dims()
    layers = []
    for start, end, axis, step in zip(starts, ends, axes, steps):
        size = dims[axis % op.rank]
        if is_number(size):
            size = int(size)
            if len(range(size)[slice(start, end, step)]) == size and step == 1:
                continue  # the whole axis
            stop = None if (end >= size if step > 0 else end < -size) else end
            start = max(min(start, size), -size) if start >= 0 or start >= -size else -size
        else:
            stop = None if abs(end) >= _INT_MAX else end
        layers.append(kinds.Slice(axis=spec_axis(data, axis), start=start, stop=stop, step=step))
    if not layers:
        return ALIAS
    return tuple(layers) if len(layers) > 1 else layers[0]


def _gather(op):
    """Gather of a computed tensor by a constant scalar index (a ViT's ``x[:, 0]``): a Take; by a
    one-element index list: a Slice."""
    if op.data_index != [0]:
        raise Fallback("a Gather of a constant by computed indices")
    import numpy as np

    index = op.known_const(1, "indices")
    axis = int(op.attr("axis", 0)) % op.rank
    spec = spec_axis(op.data[0], axis)
    if index.ndim == 0:
        data = op.data[0]
        if data.batched and axis < data.batch_axis:  # the batch axis moves down with the dropped one
            op.layout = (False, data.batch_axis - 1)
        return kinds.Take(axis=spec, index=int(index))
    dims = op.dims()
    flat = index.reshape(-1).astype(np.int64)
    size = dims[axis]
    if is_number(size):
        flat = np.where(flat < 0, flat + int(size), flat)
    start = int(flat[0])
    if not np.array_equal(flat, np.arange(start, start + flat.size)):
        raise Fallback(f"a Gather of {index.size} indices that are not one run")
    # a run of indices is a slice (the dynamo exporter's as_strided), reshaped to the indices' shape
    piece = () if (start == 0 and same_size(size, flat.size)) else (kinds.Slice(axis=spec, start=start, stop=start + flat.size),)
    out = [*dims[:axis], *index.shape, *dims[axis + 1:]]
    if index.ndim == 1:
        return piece[0] if piece else ALIAS
    if piece:
        raise Fallback("a Gather of a slice into several axes")
    return _reshape_to(op, out)


def _expand(op):
    """Expand of a computed tensor to a shape: a Tile when it grows, else the tensor itself."""
    shape = [int(v) for v in op.known_const(1, "shape").tolist()]
    dims = op.dims()
    rank = max(len(shape), len(dims))
    shape = [1] * (rank - len(shape)) + shape
    padded = [1] * (rank - len(dims)) + list(dims)
    if rank != len(dims):
        raise Fallback("an Expand that adds axes")
    repeats = [s if (same_size(d, 1) and s != 1) else 1 for d, s in zip(padded, shape)]
    if all(r == 1 for r in repeats):
        return ALIAS
    data = op.data[0]
    if data.batched and repeats[data.batch_axis] != 1:
        raise Fallback("an Expand along the batch axis")
    inner = [r for i, r in enumerate(repeats) if i != data.batch_axis]
    return kinds.Tile(tuple(shape_of(inner, data.image)))


def _tile(op):
    repeats = [int(v) for v in op.known_const(1, "repeats").tolist()]
    data = op.data[0]
    if data.batched and repeats[data.batch_axis] != 1:
        raise Fallback("a Tile along the batch axis")
    inner = [r for i, r in enumerate(repeats) if i != data.batch_axis]
    if all(r == 1 for r in inner):
        return ALIAS
    return kinds.Tile(tuple(shape_of(inner, data.image)))


OPS = {
    "Conv": lambda op: _image_first(op, _conv, "convolution"),
    "ConvTranspose": lambda op: _image_first(op, _conv_transpose, "transposed convolution"),
    "Gemm": _gemm,
    "MatMul": _matmul,
    "Einsum": _einsum,
    "Attention": _attention,
    "BatchNormalization": lambda op: _image_first(op, _batchnorm, "batch normalisation"),
    "LayerNormalization": _layernorm,
    "InstanceNormalization": _groupnorm,
    "GroupNormalization": _groupnorm,
    "MaxPool": lambda op: _image_first(op, _pool("MaxPool"), "pool"),
    "AveragePool": lambda op: _image_first(op, _pool("AvgPool"), "pool"),
    "GlobalAveragePool": lambda op: _image_first(op, _global("GlobalAvgPool"), "global pool"),
    "GlobalMaxPool": lambda op: _image_first(op, _global("GlobalMaxPool"), "global pool"),
    **{name: _reduction for name in _REDUCTIONS},
    "Flatten": _flatten,
    "Reshape": _reshape,
    "Squeeze": _squeeze,
    "Unsqueeze": _unsqueeze,
    "Concat": _concat,
    "Add": _binary,
    "Sub": _binary,
    "Mul": _binary,
    "Div": _binary,
    "Sum": _sum,
    "Pow": lambda op: kinds.Binary("pow") if len(op.data_index) == 2 else _elementwise(op),
    "Max": lambda op: kinds.Binary("max"),
    "Min": lambda op: kinds.Binary("min"),
    **{name: _activation for name in ACTIVATIONS},
    "Clip": _clip,
    "PRelu": _prelu,
    **{name: _elementwise for name in ("Exp", "Log", "Sqrt", "Abs", "Neg", "Reciprocal", "Erf", "Floor", "Ceil", "Round", "Sin", "Cos", "Sign")},
    "Dropout": _dropout,
    "Identity": _alias,
    "Transpose": _transpose,
    "Cast": _alias,
    "LRN": lambda op: _image_first(op, _lrn, "local response normalisation"),
    "Pad": _pad,
    "Resize": lambda op: _image_first(op, _resize, "resize"),
    "Upsample": lambda op: _image_first(op, _resize, "resize"),
    "Split": _split,
    "Slice": _slice,
    "Gather": _gather,
    "Expand": _expand,
    "Tile": _tile,
}
"""ONNX operator (default domain) -> builder of the spec layer(s) from the node (:class:`~.node.Op`)."""
