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
from ...spec import Node
from ..errors import OnnxImportError
from .external import uses_external_data
from .folding import Constants
from .node import ALIAS, Op, Fallback
from .ops import LAYOUT_FREE, OPS, perm_of
from .tensors import Data, onnx_dims, sample_shape


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

    # -- the image input -----------------------------------------------------------------------
    def input(self):
        names = [i for i in self.graph.input if i.name not in self.initializers]
        if len(names) != 1:
            listed = ", ".join(i.name for i in names) or "none"
            raise OnnxImportError(f"the graph has {len(names)} inputs ({listed}): cnncalc analyses one-input networks")
        info = names[0]
        dims = []
        for k, d in enumerate(info.type.tensor_type.shape.dim):
            if d.HasField("dim_value") and (d.dim_value < 0 or d.dim_value == 0 and k > 0):
                raise OnnxImportError(f"input '{info.name}': dimension {k} is {d.dim_value}; a size is positive (or a name, for a dynamic axis)")
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
        self.data[info.name] = Data(name, (h, w, c), channels_last)

    def _channels_last(self, tensor) -> bool:
        """Whether the input is ``N x H x W x C``: TensorFlow converters (tf2onnx) keep the model's
        channels-last input and read it through ``Transpose(perm=[0, 3, 1, 2])``; cnncalc takes the
        input so when every reader of it is that transpose."""
        readers = [n for n in self.graph.node if tensor in n.input]
        return bool(readers) and all(n.op_type == "Transpose" and list(perm_of(n)) == [0, 3, 1, 2] for n in readers)

    # -- the nodes -----------------------------------------------------------------------------
    def read(self):
        self.input()
        for i, node in enumerate(self.graph.node):
            if node.domain not in ("", "ai.onnx"):
                self._opaque(node, _node_name(node, i), f"operator {node.domain}.{node.op_type}")
                continue
            if node.op_type == "Constant":
                self.constants.constant(node, _node_name(node, i))
                continue
            if node.op_type == "Shape" and node.input and node.output:
                self._shape(node, _node_name(node, i))
                continue
            if not any(t in self.data for t in node.input):
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
        data = self.data[source]
        dims = list(onnx_dims(data.shape, self.batch, data.channels_last))
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        dims = dims[attrs.get("start", 0): attrs.get("end", len(dims))]
        symbolic = not all(is_number(v) for v in dims)
        self.constants.known(node.output[0], np.array(dims, dtype=object if symbolic else np.int64))

    def _layer(self, node, name):
        op = Op(self, node, self._unique(name))
        build = OPS.get(node.op_type)
        channels_last = any(d.channels_last for d in op.data)
        if channels_last and node.op_type not in LAYOUT_FREE and node.op_type != "Transpose":
            return self._opaque(node, op.name, f"{node.op_type} on an N x H x W x C tensor", op)
        if build is None:
            return self._opaque(node, op.name, f"operator {node.op_type}", op)
        try:
            result = build(op)
        except Fallback as why:
            return self._opaque(node, op.name, f"{node.op_type} ({why})", op)
        except OnnxImportError:
            raise  # a cap, a refused file, a tensor without its data: already one line naming the cause
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise OnnxImportError(f"node '{op.name}' ({node.op_type}): cannot read its attributes ({type(exc).__name__}: {exc})") from None
        if result is ALIAS:
            self.data[node.output[0]] = op.data[0]
            return
        if isinstance(result, Data):  # folded into the node that produced the input
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
        self.data[node.output[0]] = Data(reads[0], shapes[0], channels_last and node.op_type in LAYOUT_FREE)

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
            self.constants.fold(node, name)
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
            self.data[out] = Data(node_name, shape, channels_last and len(shape) == 3)

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
        return tuple(out) if channels_last else sample_shape((None, *out))

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


_ROLES = {kinds.ZeroPadding2D: "pad", kinds.Cropping2D: "crop"}
"""The helper layers a builder may chain around the node's own layer, and their name suffixes."""


def _symbol(name, fallback):
    from ...symbolic import symbol

    text = re.sub(r"\W", "_", name or "") or fallback
    if text[0].isdigit():
        text = "_" + text
    return symbol(text)

