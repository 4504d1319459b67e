"""The graph walk: an ``onnx.ModelProto`` -> the nodes of a :class:`~cnncalc.spec.Graph`.

:class:`Reader` visits the ONNX nodes in file order once: constants are recorded (and made by
:mod:`.folding` only when a builder asks for their values or dimensions), ``Shape`` of a computed
tensor is taken from the shapes found so far, and every
node that computes on the image becomes a spec node through the operator table (:mod:`.ops`), or
an Opaque row with its shape from ``onnx.shape_inference``.
"""

from __future__ import annotations

import re
from dataclasses import replace

from ... import kinds
from ...arith import is_number, product
from ...kinds import SpecError, rule_for
from ...sizes import MAX_RANK
from ...spec import Node
from ..errors import OnnxImportError
from .external import uses_external_data
from .folding import Constants
from .node import ALIAS, Fallback, Op, Outputs
from .ops import ACTIVATIONS, CONTRIB, IMAGE_OPS, IMAGE_RANKS, KEEPS_LAYOUT, OPS, perm_of
from .tensors import Data, onnx_dims, shape_of

FLOAT_TYPES = frozenset({1, 10, 11, 16})
"""TensorProto FLOAT, FLOAT16, DOUBLE, BFLOAT16: the tensors that may be parameters."""

_NOT_FLOAT = frozenset({"Shape", "Size", "Equal", "Less", "Greater", "Not", "And", "Or", "NonZero", "Range", "ArgMax", "ArgMin"})
"""Operators on constants whose output is never a float (for :meth:`Reader._track`)."""


_ELEMENTWISE = frozenset({"Add", "Sub", "Mul", "Div", "Identity", "Cast", "Relu", "Clip", "Sigmoid", "Tanh"})
"""Element-wise operators a TensorFlow converter may put between a channels-last input and its
transpose to ``N x C x H x W`` (for :meth:`Reader._channels_last`)."""

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


class Reader:
    """One visit of an ONNX graph (see the module docstring). ``base_dir``: the model's directory,
    the only place external data is read from (``None`` for a model given as bytes)."""

    def __init__(self, model, base_dir=None):
        self.model = model
        self.graph = model.graph
        self.initializers = {t.name: t for t in self.graph.initializer}
        self.constants = Constants(self.initializers, base_dir, lambda: self.inferred)
        self.data: dict[str, Data] = {}
        self.nodes: list[Node] = []
        self.index: dict[str, int] = {}  # spec node name -> position in self.nodes
        self.owner: dict[tuple, str] = {}  # weight initializers -> the node that first used them
        self.batch = 1
        self._inferred = None
        self._next_suffix: dict[str, int] = {}  # name -> the suffix _unique tries first
        self.readers: dict[str, int] = {}
        self.readers_of: dict[str, list] = {}  # tensor -> the nodes reading it
        self._image_readers: dict[str, bool] = {}
        # Parameters reached through constants (docs/import.md, "Counting"): which constant tensors
        # are floats, the stored float tensors each is made of, the products on constants that
        # computed it, and what the rows counted already.
        self.floats: set = set()
        self.source_of: dict[str, frozenset] = {}
        self.work_of: dict[str, frozenset] = {}
        self.work_nodes: dict[str, object] = {}
        self.counted_sources: set = set()
        self.counted_work: set = set()
        for node in self.graph.node:
            for t in node.input:
                self.readers[t] = self.readers.get(t, 0) + 1
                self.readers_of.setdefault(t, []).append(node)
        for t in self.graph.initializer:
            if t.data_type in FLOAT_TYPES:
                self.floats.add(t.name)
                if product(t.dims) > 1:
                    self.source_of[t.name] = frozenset((t.name,))
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
        small = [t for t in graph.initializer if product(t.dims) <= 64 and not uses_external_data(t)]
        kept = {t.name for t in small}
        large = [helper.make_tensor_value_info(t.name, t.data_type, list(t.dims)) for t in graph.initializer if t.name not in kept]
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

    # -- constants (made by .folding when a builder asks) ------------------------------------
    def value(self, name):
        """The numpy array of constant ``name``, or :class:`~.tensors.Unknown`."""
        return self.constants.value(name)

    def dims(self, name):
        """The dimensions of constant ``name``, or ``None``."""
        return self.constants.dims(name)

    def is_float(self, name) -> bool:
        return name in self.floats

    def sources(self, name) -> frozenset:
        """The stored float tensors (initializers, Constant values) constant ``name`` is made of."""
        return self.source_of.get(name, frozenset())

    def claim_stored(self, sources) -> int:
        """The elements of the stored tensors in ``sources`` that no row counted yet, now counted."""
        new = sorted(set(sources) - self.counted_sources)
        self.counted_sources.update(new)
        return sum(product(self.dims(s) or (0,)) for s in new)

    def claim_work(self, tensors) -> int:
        """The MACs of the products on constants (MatMul, Gemm) that computed ``tensors``, not
        counted yet (swin_v2's position-bias MLP, run on a constant table on every pass)."""
        keys = set().union(*(self.work_of.get(t, frozenset()) for t in tensors)) - self.counted_work
        self.counted_work.update(keys)
        return sum(self._product_macs(self.work_nodes[k]) for k in keys)

    def _product_macs(self, node) -> int:
        a, b = self.dims(node.input[0]), self.dims(node.input[1])
        out = self.dims(node.output[0])
        if not a or not b or not out or not all(isinstance(v, int) for v in (*a, *b, *out)):
            return 0
        if node.op_type == "Gemm":
            trans_a = any(x.name == "transA" and x.i for x in node.attribute)
            return product(out) * (a[0] if trans_a else a[1])
        return product(out) * a[-1]

    def _track(self, node):
        """What a node on constants makes, for the parameters read through it: float or not, the
        stored float tensors it is made of, the products on constants before it."""
        from onnx import helper

        kind = node.op_type
        sources = frozenset().union(*(self.sources(t) for t in node.input if t))
        if kind in _NOT_FLOAT:
            floating = False
        elif kind == "Where":
            floating = any(t in self.floats for t in node.input[1:])
        elif kind == "Concat":
            floating = any(t in self.floats for t in node.input)
        elif kind == "Constant":
            value = next((a for a in node.attribute if a.name in ("value", "value_float", "value_floats")), None)
            floating = value is not None and (value.name != "value" or value.t.data_type in FLOAT_TYPES)
            elements = product(value.t.dims) if floating and value.name == "value" else (len(value.floats) if floating and value.name == "value_floats" else 1)
            sources = frozenset(node.output[:1]) if floating and elements > 1 else frozenset()
        elif kind == "ConstantOfShape":
            fill = next((helper.get_attribute_value(a) for a in node.attribute if a.name == "value"), None)
            floating = fill is None or fill.data_type in FLOAT_TYPES
            # The model zoo's "light" files stand a weight in by its shape and a fill (0.02): such
            # a tensor counts as stored; a zero fill is a canvas (Swin's mask), never a parameter.
            from .external import tensor_values

            filled = fill is not None and floating and not uses_external_data(fill)
            sources = frozenset(node.output[:1]) if filled and tensor_values(fill, None, "a ConstantOfShape fill").reshape(-1)[:1].any() else frozenset()
        else:
            floating = bool(node.input) and node.input[0] in self.floats
        work = frozenset().union(*(self.work_of.get(t, frozenset()) for t in node.input if t))
        if kind in ("MatMul", "Gemm") and len(node.input) >= 2 and node.output:
            key = f"{node.output[0]}"
            self.work_nodes[key] = node
            work = work | {key}
        for name in node.output:
            if not name:
                continue
            if floating:
                self.floats.add(name)
                if sources:
                    self.source_of[name] = sources
            if work:
                self.work_of[name] = work

    def read_as_image(self, tensor, depth=0) -> bool:
        """Whether an operator that reads images (a convolution, a pool, BatchNorm) reads
        ``tensor``, directly or through operators that keep the layout (activations, arithmetic,
        a channel split or concatenation)."""
        if tensor in self._image_readers:
            return self._image_readers[tensor]
        found = False
        for node in self.readers_of.get(tensor, ()):
            if node.op_type in IMAGE_OPS:
                found = True
            elif depth < 64 and (node.op_type in KEEPS_LAYOUT or node.op_type in ACTIVATIONS):
                found = any(self.read_as_image(out, depth + 1) for out in node.output)
            if found:
                break
        self._image_readers[tensor] = found
        return found

    # -- the input ------------------------------------------------------------------------------
    def input(self):
        """The graph's one input: its first axis is the batch, the rest is the per-sample shape of
        the Input row. A rank-4 input is an image (``N x C x H x W``, or ``N x H x W x C`` read
        through tf2onnx's transpose), shown channels last, and so is a rank-3 or rank-5 input that a
        convolution or a pool reads (a signal ``N x C x T``, a volume ``N x C x D x H x W``); any
        other rank keeps the file's order
        (``N x T x C`` is ``T x C``, ``N x F`` a vector of ``F``), as every non-image tensor does
        (docs/import.md, "Layout")."""
        names = [i for i in self.graph.input if i.name not in self.initializers]
        if len(names) != 1:
            listed = ", ".join(i.name for i in names) or "none"
            raise OnnxImportError(f"the graph has {len(names)} inputs ({listed}): cnncalc analyses one-input networks")
        info = names[0]
        given = info.type.tensor_type.shape.dim
        if len(given) > MAX_RANK + 1:
            raise OnnxImportError(f"input '{info.name}' has {len(given)} axes: cnncalc reads inputs of rank 1 to {MAX_RANK} after the batch axis")
        fallback = _AXIS_SYMBOLS.get(len(given), ("N", *(f"D{k}" for k in range(1, len(given)))))
        dims = []
        for k, d in enumerate(given):
            if d.HasField("dim_value") and (d.dim_value < 0 or d.dim_value == 0 and k > 0):
                raise OnnxImportError(f"input '{info.name}': dimension {k} is {d.dim_value}; a size is positive (or a name, for a dynamic axis)")
            if d.HasField("dim_value") and d.dim_value > 0:
                dims.append(int(d.dim_value))
            else:
                dims.append(_symbol(d.dim_param, fallback[k]))
        if len(dims) < 2:
            raise OnnxImportError(
                f"input '{info.name}' has shape {tuple(dims)}: its first axis is the batch, and cnncalc reads a sample of at least one axis after it"
            )
        # rank 4: an image; rank 3 or 5: a signal N x C x T or a volume N x C x D x H x W when a
        # convolution, a pool or a batch normalisation reads it (channels first), else as it is
        image = len(dims) == 4 or (len(dims) in (3, 5) and self.read_as_image(info.name))
        channels_last = len(dims) == 4 and self._channels_last(info.name)
        n, shape = dims[0], ((dims[1], dims[2], dims[3]) if channels_last else shape_of(dims[1:], image))
        if not is_number(shape[-1]):
            what = "channel count" if image else f"size of its last axis ({shape[-1]}), which sizes the weights that read it"
            raise OnnxImportError(f"input '{info.name}' has an unknown {what}" + (f" ({shape[-1]})" if image else ""))
        self.batch = n
        name = _NAME_PART.sub("_", info.name)
        self._add(Node(kinds.Input(*shape, name=name)), shape)
        self.data[info.name] = Data(name, shape, image=image and not channels_last)

    def _channels_last(self, tensor) -> bool:
        """Whether the input is ``N x H x W x C``: TensorFlow converters (tf2onnx) keep the model's
        channels-last input and read it through ``Transpose(perm=[0, 3, 1, 2])``, directly or
        after element-wise arithmetic on the channels-last tensor (a Keras ``Rescaling`` and
        ``Normalization`` layer first: EfficientNet); cnncalc takes the input so when every path
        from it reaches that transpose through element-wise operators only."""
        found, stack, steps = False, [tensor], 0
        while stack:
            steps += 1
            if steps > 64:
                return False
            readers = self.readers_of.get(stack.pop(), ())
            if not readers:
                return False  # a graph output reached in the input's own layout
            for n in readers:
                if n.op_type == "Transpose" and list(perm_of(n)) == [0, 3, 1, 2]:
                    found = True
                elif n.op_type in _ELEMENTWISE and len(n.output) == 1:
                    stack.append(n.output[0])
                else:
                    return False
        return found

    # -- the nodes -----------------------------------------------------------------------------
    def read(self):
        self.input()
        for i, node in enumerate(self.graph.node):
            if node.domain not in ("", "ai.onnx"):
                build = CONTRIB.get((node.domain, node.op_type))
                if build is not None and any(t in self.data for t in node.input):
                    self._layer(node, _node_name(node, i), build)
                else:
                    self._opaque(node, _node_name(node, i), f"operator {node.domain}.{node.op_type}", domain=node.domain)
                continue
            if node.op_type == "Constant":
                self._track(node)
                self.constants.constant(node, _node_name(node, i))
                continue
            if node.op_type == "Shape" and node.input and node.output:
                self._shape(node, _node_name(node, i))
                continue
            if not any(t in self.data for t in node.input):
                self._track(node)
                self.constants.fold(node, _node_name(node, i))
                continue
            self._layer(node, _node_name(node, i))
        outputs = [o.name for o in self.graph.output if o.name in self.data]
        if not outputs:
            raise OnnxImportError("the graph computes none of its outputs from its input")
        return tuple(dict.fromkeys(self.data[o].node for o in outputs))

    def _shape(self, node, name):
        """``Shape`` of a computed tensor: its dimensions now (batch first, as ONNX has them); of a
        constant: recorded, made when asked for."""
        import numpy as np
        from onnx import helper

        source = node.input[0]
        if source not in self.data:
            self.constants.shape(node, name)
            return
        dims = list(onnx_dims(self.data[source], self.batch))
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        dims = dims[attrs.get("start", 0): attrs.get("end", len(dims))]
        symbolic = not all(is_number(v) for v in dims)
        self.constants.known(node.output[0], np.array(dims, dtype=object if symbolic else np.int64))

    def _layer(self, node, name, build=None):
        op = Op(self, node, self._unique(name))
        build = build or OPS.get(node.op_type)
        if build is None:
            return self._opaque(node, op.name, f"operator {node.op_type}", op)
        try:
            result = build(op)
        except Fallback as why:
            return self._opaque(node, op.name, f"{node.op_type} ({why})", op)
        except OnnxImportError:
            raise  # a cap, a refused file, a weight that does not fit: already one line naming the cause
        except (KeyError, TypeError, ValueError, IndexError, ZeroDivisionError) as exc:
            raise OnnxImportError(f"node '{op.name}' ({node.op_type}): cannot read its attributes ({type(exc).__name__}: {exc})") from None
        if result is ALIAS:
            data = op.data[0]
            if op.layout is not None and op.layout != (data.image, data.batch_axis):
                data = replace(data, image=op.layout[0], batch_axis=op.layout[1])
            self.data[node.output[0]] = data
            return
        if isinstance(result, Data):  # folded into the node that produced the input
            self.data[node.output[0]] = result
            return
        if isinstance(result, Outputs):
            for k, (out, layers) in enumerate(zip(node.output, result.layers)):
                if out:
                    self._rows(op, op.name if k == 0 else self._unique(f"{op.name}:{k}"), layers, out)
            return
        self._rows(op, op.name, result, node.output[0])

    def _rows(self, op, name, result, output):
        """The rows of one builder's answer (a layer or a chain), reading the node's computed
        inputs; ``output`` becomes the last row's tensor, in the layout the builder chose."""
        layers = result if isinstance(result, tuple) else (result,)
        first = op.data[0]
        reads = [d.node for d in op.data]
        shapes = [d.shape for d in op.data]
        shares = self._shared(op)
        roles = [_ROLES.get(type(layer)) if len(layers) > 1 else None for layer in layers]
        own = next((i for i, r in enumerate(roles) if r is None), 0)
        for i, layer in enumerate(layers):
            # The node's own layer keeps its name; the padding before it (uneven ONNX pads), the
            # cropping after a transposed convolution, the layout change before an image operator
            # and the other axes of a slice are named after it.
            node_name = name if i == own else self._unique(f"{name}.{roles[i] or i + 1}")
            named = replace(layer, name=node_name)
            shape = self._out_shape(named, shapes, op)
            self._add(Node(named, tuple(reads), shares=shares if i == own else None), shape)
            reads, shapes = [node_name], [shape]
        if op.weights and shares is None:
            self.owner.setdefault(tuple(op.weights), op.name)
        # an image (signal, volume) stays one through rows that keep its rank
        image, axis = op.layout if op.layout is not None else (first.image and len(shapes[0]) == len(first.shape), first.batch_axis)
        if axis is not None and axis > len(shapes[0]):
            axis = len(shapes[0])  # a row that dropped axes after the batch (a reduction)
        self.data[output] = Data(reads[0], shapes[0], bool(image and axis == 0 and len(shapes[0]) in IMAGE_RANKS), axis)

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

    def _opaque(self, node, name, what, op=None, domain=""):
        """An operator (or a form of one) with no kind: an Opaque row per output, shapes from
        ``onnx.shape_inference`` and parameters the elements of its constant inputs. Its warning
        says why, truthfully: an operator of another domain (onnxruntime's ``com.microsoft``
        fused ops), a standard operator cnncalc has no rule for, or a form of a known one that no
        kind expresses (the builder's reason)."""
        name = op.name if op is not None else self._unique(name)
        reads = [self.data[t].node for t in node.input if t in self.data]
        if not reads:  # a custom operator on constants only: a constant of unknown value
            self.constants.fold(node, name)
            return
        # its parameters: the float tensors of more than one element it reads, directly or through
        # constant-only operators (counted once in the file); never integer shapes or indices
        weights = self.claim_stored(frozenset().union(*(self.sources(t) for t in node.input if t and t not in self.data and t in self.floats)))
        if domain:
            reason = f"an operator of the domain '{domain}', outside the ONNX standard: cnncalc has no rule for it"
        elif what.startswith("operator "):
            reason = f"cnncalc has no rule for the ONNX operator {node.op_type}"
        else:
            reason = f"cnncalc has no kind for this form: {what.split('(', 1)[-1].rstrip(')')}"
        for k, out in enumerate(node.output):
            if not out:
                continue
            dims = self.inferred.get(out)
            source = next(self.data[t] for t in node.input if t in self.data)
            # channels first like its input (a signal's or a volume's), or an image
            image = bool(dims) and (len(dims) == 4 or (source.image and len(dims) == len(source.shape) + 1))
            shape = self._inferred_shape(dims, image)
            if shape is None:
                raise OnnxImportError(
                    f"node '{name}' ({what}): cnncalc has no rule for it and onnx.shape_inference cannot tell its output shape {dims or ''}".rstrip()
                )
            node_name = name if k == 0 else self._unique(f"{name}:{k}")
            # The shape holds for the file's input only; an Opaque row reads one tensor (the first
            # computed input: a MatMul of two tensors is counted, not traced, past the second).
            layer = kinds.Opaque(class_name=node.op_type, output=shape, weights=weights if k == 0 else 0, non_trainable=0, input=source.shape, reason=reason, name=node_name)
            self._add(Node(layer, (reads[0],)), shape)
            self.data[out] = Data(node_name, shape, image=image and len(shape) in IMAGE_RANKS)

    def _inferred_shape(self, dims, image=None):
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
        return shape_of(out, len(out) == 3 if image is None else image)

    def fold_bias(self, op, k):
        """``MatMul`` then ``Add`` of a ``units``-vector: one Dense with a bias (Gemm's form)."""
        source = op.data[0]
        position = self.index.get(source.node)
        node = self.nodes[position] if position is not None else None
        if node is None or not isinstance(node.layer, kinds.Dense) or node.layer.bias or op.type != "Add":
            return None
        if node.layer.last_axis and node.layer.axis != -1:
            return None  # a bias vector broadcasts over the last axis, not the contracted one
        dims = op.const_dims(k)
        if dims is None or product(dims) != node.layer.units or self.readers.get(op.inputs[op.data_index[0]], 0) != 1:
            return None
        op.weight(k)
        self.nodes[position] = replace(node, layer=replace(node.layer, bias=True))
        return source

    # -- bookkeeping -----------------------------------------------------------------------------
    def _unique(self, name):
        """``name``, or ``name_k`` with the smallest free ``k >= 2``: each name remembers the next
        ``k`` to try, so 20,000 nodes of one name cost 20,000 steps, not 20,000 squared."""
        if name not in self.index:
            self.index.setdefault(name, None)
            return name
        k = self._next_suffix.get(name, 2)
        while f"{name}_{k}" in self.index:
            k += 1
        self._next_suffix[name] = k + 1
        self.index[f"{name}_{k}"] = None
        return f"{name}_{k}"

    def _add(self, node, shape):
        self.index[node.name] = len(self.nodes)
        self.nodes.append(node)


_ROLES = {
    **{getattr(kinds, f"ZeroPadding{n}D"): "pad" for n in (1, 2, 3)},
    **{getattr(kinds, f"Cropping{n}D"): "crop" for n in (1, 2, 3)},
    kinds.Permute: "layout",
}
"""The helper layers a builder may chain around the node's own layer, and their name suffixes."""


_AXIS_SYMBOLS = {2: ("N", "F"), 3: ("N", "T", "C"), 4: ("N", "C", "H", "W")}
"""The symbol of an input axis the file leaves unnamed, by the input's rank: features, tokens,
image axes (other ranks: ``D1``, ``D2``, ...)."""


def _symbol(name, fallback):
    from ...symbolic import symbol

    text = re.sub(r"\W", "_", name or "") or fallback
    if text[0].isdigit():
        text = "_" + text
    return symbol(text)

