"""The graph walk: a Keras model config (functional, sequential, nested) -> the nodes of a
:class:`~cnncalc.spec.Graph` (see the package docstring for the naming and counting rules)."""

from __future__ import annotations

from dataclasses import replace

from ... import kinds
from ...spec import Graph, Node, Spec
from ...traverse import SEPARATOR
from ..errors import KerasImportError
from .layers import CLASSES, INPUT_CLASSES

CALL_MARK = "#"
"""Joins a shared layer's name and its call number: the second call of ``dense`` is ``dense#2``."""

CONTAINERS = ("Functional", "Model", "Sequential")


class _Tensor:
    """A tensor reference in an ``inbound_nodes`` entry: producer, call, index and recorded shape."""

    __slots__ = ("layer", "call", "index", "shape")

    def __init__(self, layer, call, index, shape=None):
        self.layer, self.call, self.index, self.shape = layer, int(call), int(index), shape


def _tensors(value, found):
    """Every tensor reference in a Keras 3 call's ``args`` (nested lists), in order."""
    if isinstance(value, dict):
        if value.get("class_name") == "__keras_tensor__":
            cfg = value.get("config", {})
            layer, call, index = cfg["keras_history"]
            shape = cfg.get("shape")
            found.append(_Tensor(layer, call, index, tuple(shape[1:]) if shape else None))
    elif isinstance(value, (list, tuple)):
        for v in value:
            _tensors(v, found)
    return found


def _calls(layer_cfg):
    """The calls of one layer: for each, the list of :class:`_Tensor` it reads."""
    calls = []
    for node in layer_cfg.get("inbound_nodes", []) or []:
        if isinstance(node, dict):  # Keras 3
            calls.append(_tensors(node.get("args", []), []))
        else:  # Keras 2: [[name, call, tensor, kwargs], ...]
            calls.append([_Tensor(ref[0], ref[1], ref[2]) for ref in node])
    return calls


def _refs(value):
    """``input_layers`` / ``output_layers``: one ``[name, call, tensor]`` or a list of them."""
    if value and isinstance(value[0], str):
        return [value]
    return list(value or [])


class Reader:
    """Builds the nodes of one model, expanding nested models in place."""

    def __init__(self, live=None, weight_shapes=None):
        self.nodes: list[Node] = []
        self.live = live or {}  # qualified name -> live keras layer (for unknown classes)
        self.weight_shapes = weight_shapes  # qualified name -> [(shape, trainable?)] from a .keras file
        self.produced_shapes: dict[str, tuple] = {}  # node name -> shape recorded by a consumer
        self.pending_opaque: list[int] = []
        self.names: set[str] = set()

    # -- a container's config: functional or sequential ----------------------------------------
    def model(self, cfg, scope, feeds, trainable=True, call=0):
        """Add the nodes of the model ``cfg``; ``feeds`` are the node names its inputs read (None at
        the top). Returns the names of the nodes holding its outputs."""
        trainable = trainable and cfg.get("trainable", True) is not False
        if "input_layers" in cfg or "output_layers" in cfg:
            return self._functional(cfg, scope, feeds, trainable, call)
        return self._sequential(cfg, scope, feeds, trainable, call)

    def _sequential(self, cfg, scope, feeds, trainable, call):
        layers = list(cfg.get("layers", []))
        current = feeds[0] if feeds else None
        for i, layer in enumerate(layers):
            cls = layer.get("class_name")
            lcfg = layer.get("config", {})
            name = lcfg.get("name") or layer.get("name") or f"layer_{i}"
            if cls in INPUT_CLASSES:
                if current is None:
                    current = self._input(lcfg, scope + name)
                continue
            if current is None:
                shape = lcfg.get("batch_shape") or lcfg.get("batch_input_shape") or cfg.get("build_input_shape")
                if not shape:
                    raise KerasImportError(f"Sequential model '{cfg.get('name', '?')}' records no input shape: build it (model.build) or start it with keras.Input")
                current = self._input({"batch_shape": shape, "name": "input"}, scope + "input")
            current = self.call(layer, scope, [current], 0, trainable, call, sequential=True)
        return [current]

    def _functional(self, cfg, scope, feeds, trainable, call):
        produced: dict[tuple, str] = {}  # (layer name, call index) -> node name
        inputs = _refs(cfg.get("input_layers"))
        input_names = {ref[0] for ref in inputs}
        for k, ref in enumerate(inputs):
            if feeds is None:
                continue
            if k >= len(feeds):
                raise KerasImportError(f"model '{cfg.get('name')}' has {len(inputs)} inputs but is called with {len(feeds)}")
            produced[(ref[0], 0)] = feeds[k]
        # Every call of every layer, in config order. A call whose inputs are not made yet waits
        # (a shared layer's second call may read a layer listed after it, or its own first call),
        # as Keras' own functional_from_config does with its unprocessed nodes.
        pending = []
        for layer in cfg.get("layers", []):
            cls = layer.get("class_name")
            lcfg = layer.get("config", {})
            name = layer.get("name") or lcfg.get("name")
            if cls in INPUT_CLASSES or name in input_names and cls in INPUT_CLASSES:
                if feeds is None:
                    produced[(name, 0)] = self._input(lcfg, scope + name)
                continue
            pending += [(layer, name, c, tensors) for c, tensors in enumerate(_calls(layer))]
        while pending:
            waiting = []
            for layer, name, c, tensors in pending:
                reads = self._reads(cfg, scope, name, tensors, produced)
                if reads is None:
                    waiting.append((layer, name, c, tensors))
                    continue
                produced[(name, c)] = self.call(layer, scope, reads, c, trainable, call)
            if len(waiting) == len(pending):
                layer, name, c, tensors = waiting[0]
                missing = next(t for t in tensors if (t.layer, t.call) not in produced)
                raise KerasImportError(
                    f"layer '{scope}{name}' reads '{missing.layer}' (call {missing.call + 1}), which the config does not define"
                )
            pending = waiting
        result = []
        for ref in _refs(cfg.get("output_layers")):
            src = produced.get((ref[0], int(ref[1])))
            if src is None:
                raise KerasImportError(f"model '{cfg.get('name')}': output '{ref[0]}' is not a layer of the config")
            if isinstance(src, list):
                src = src[int(ref[2])]
            result.append(src)
        return result

    def _reads(self, cfg, scope, name, tensors, produced):
        """The node names one call reads, or ``None`` while one of them is not made yet."""
        reads = []
        for t in tensors:
            src = produced.get((t.layer, t.call))
            if src is None:
                return None
            if t.index != 0 and not isinstance(src, list):
                raise KerasImportError(f"layer '{scope}{name}' reads output {t.index} of '{t.layer}': multi-output layers are not supported")
            if isinstance(src, list):
                src = src[t.index]
            if t.shape is not None:
                self.produced_shapes.setdefault(src, t.shape)
            reads.append(src)
        return reads

    def _input(self, cfg, qualified):
        shape = cfg.get("batch_shape") or cfg.get("batch_input_shape") or cfg.get("shape")
        if shape is None:
            raise KerasImportError(f"input '{qualified}' records no shape")
        dims = list(shape[1:]) if "shape" not in cfg or "batch_shape" in cfg or "batch_input_shape" in cfg else list(shape)
        if len(dims) != 3:
            raise KerasImportError(
                f"input '{qualified}' has shape {tuple(dims)}: cnncalc analyses image inputs H x W x C (channels last)"
            )
        h, w, c = dims
        if c is None:
            raise KerasImportError(f"input '{qualified}' has an unknown channel count")
        if h is None or w is None:
            from ...symbolic import symbol

            h = symbol("H") if h is None else int(h)
            w = symbol("W") if w is None else int(w)
        self._add(Node(kinds.Input(h, w, int(c), name=qualified)))
        return qualified

    # -- one call of a layer -------------------------------------------------------------------
    def call(self, layer_cfg, scope, reads, c, trainable, outer_call, sequential=False):
        """Add the node of call ``c`` of a Keras layer (a nested model: its nodes); returns the
        name of the node holding its output (a list for a model with several outputs)."""
        cls = layer_cfg.get("class_name")
        cfg = layer_cfg.get("config", {})
        name = (layer_cfg.get("name") if not sequential else None) or cfg.get("name")
        if SEPARATOR in name:
            raise KerasImportError(f"layer name '{name}' contains '{SEPARATOR}', which cnncalc uses for nesting")
        qualified = scope + name
        trainable = trainable and cfg.get("trainable", True) is not False
        suffix = "" if c == 0 and outer_call == 0 else f"{CALL_MARK}{c + 1 + outer_call}"
        if cls in CONTAINERS:
            inner = self.model(cfg, qualified + suffix + SEPARATOR, reads, trainable, call=c + outer_call)
            return inner[0] if len(inner) == 1 else inner
        node_name = qualified + suffix
        spec_layer = self._spec_layer(cls, cfg, qualified, reads)
        shares = qualified if node_name != qualified else None
        self._add(Node(replace(spec_layer, name=node_name), tuple(reads), shares=shares, trainable=trainable))
        return node_name

    def _spec_layer(self, cls, cfg, qualified, reads):
        ranks = [len(self.produced_shapes[r]) for r in reads if r in self.produced_shapes]
        build = CLASSES.get(cls)
        if build is not None:
            try:
                return build(cfg, ranks)
            except KerasImportError:
                raise
            except (KeyError, TypeError, ValueError) as exc:
                raise KerasImportError(f"layer '{qualified}' ({cls}): cannot read its config ({type(exc).__name__}: {exc})") from None
        return self._opaque(cls, qualified)

    def _opaque(self, cls, qualified):
        live = self.live.get(qualified)
        if live is not None:
            shape = tuple(live.output.shape[1:])
            if any(v is None for v in shape):
                raise KerasImportError(f"layer '{qualified}' (Keras class {cls}): output shape {shape} is not fully known")
            weights = sum(size_of(w.shape) for w in getattr(live, "trainable_weights", []))  # keras.ops operators hold none
            frozen = sum(size_of(w.shape) for w in getattr(live, "non_trainable_weights", []))
            recorded = tuple(getattr(live, "input", None).shape[1:]) if hasattr(live, "input") and not isinstance(live.input, (list, tuple)) else ()
            return kinds.Opaque(
                class_name=cls, output=tuple(int(v) for v in shape), weights=weights, non_trainable=frozen,
                input=tuple(int(v) for v in recorded) if recorded and all(v is not None for v in recorded) else (),
            )
        if self.weight_shapes is None:
            raise KerasImportError(
                f"layer '{qualified}': Keras class {cls} is not one cnncalc can count from a config; "
                "analyse the live model (cnncalc.from_keras(model)) or load it through Keras (--via-keras, pip install 'cnncalc[keras]')"
            )
        # From a file: shape from the consumers' records (filled in later), weights from the archive.
        self.pending_opaque.append(len(self.nodes))
        shapes = self.weight_shapes.get(qualified, [])
        weights = sum(size_of(s) for s in shapes)
        return kinds.Opaque(class_name=cls, output=(), weights=weights, non_trainable=0)

    def _add(self, node):
        if node.name in self.names:
            raise KerasImportError(f"two layers are named '{node.name}'")
        self.names.add(node.name)
        self.nodes.append(node)

    def finish(self):
        """Fill in the output shapes of opaque layers read from a file (what their consumers recorded)."""
        for i in self.pending_opaque:
            node = self.nodes[i]
            shape = self.produced_shapes.get(node.name)
            if shape is None or any(v is None for v in shape):
                raise KerasImportError(
                    f"layer '{node.name}' (Keras class {node.layer.class_name}): its output shape is not recorded in the file; "
                    "load it through Keras (--via-keras, pip install 'cnncalc[keras]')"
                )
            recorded = self.produced_shapes.get(node.inputs[0]) if len(node.inputs) == 1 else None
            known_input = tuple(int(v) for v in recorded) if recorded and all(v is not None for v in recorded) else ()
            self.nodes[i] = replace(node, layer=replace(node.layer, output=tuple(int(v) for v in shape), input=known_input))


def size_of(shape):
    n = 1
    for v in shape:
        n *= int(v)
    return n


def unwrap(config: dict) -> tuple[str, dict]:
    """``(class_name, inner config)`` of a serialised model or of ``model.get_config()``."""
    if not isinstance(config, dict):
        raise KerasImportError(f"a Keras model config is a dict, got {type(config).__name__}")
    if "config" in config and "class_name" in config:
        cls = config["class_name"]
        if cls not in CONTAINERS:
            raise KerasImportError(f"the config describes a {cls}, not a Keras model (Functional or Sequential)")
        return cls, config["config"]
    if "layers" in config:
        return ("Functional" if "input_layers" in config else "Sequential"), config
    raise KerasImportError("not a Keras model config: it has no 'layers'")


def from_config(config: dict, *, name: str | None = None, live=None, weight_shapes=None) -> Spec:
    """The :class:`Spec` (a :class:`Graph`) of a Keras model config; see the module docstring."""
    _, inner = unwrap(config)
    reader = Reader(live=live, weight_shapes=weight_shapes)
    outputs = reader.model(inner, "", None)
    reader.finish()
    model = name or inner.get("name") or "keras_model"
    return Spec(Graph(tuple(reader.nodes), outputs=tuple(outputs), name=None), model=model, description=f"Keras model {model}", meta={"source": "keras"})

