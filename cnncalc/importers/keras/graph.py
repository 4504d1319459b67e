"""The graph walk: a Keras model config (functional, sequential, nested) -> the nodes of a
:class:`~cnncalc.spec.Graph` (see the package docstring for the naming and counting rules)."""

from __future__ import annotations

import heapq
from dataclasses import replace

from ... import kinds
from ...kinds.input import AXIS_NAMES
from ...kinds.opaque import OUTPUT_MARK
from ...sizes import MAX_RANK
from ...spec import Graph, Node, Spec
from ...traverse import SEPARATOR
from ..errors import KerasImportError
from ..limits import MAX_CONFIG_DEPTH, MAX_CONFIG_INTEGER, limit_text
from .layers import CLASSES, INPUT_CLASSES
from .values import ConfigError, shown

CALL_MARK = "#"
"""Joins a shared layer's name and its call number: the second call of ``dense`` is ``dense#2``."""

CONTAINERS = ("Functional", "Model", "Sequential")

_UNKNOWN_AXES = {2: ("T",), 3: ("H", "W")}
"""The symbols of an input's unknown (``None``) axes, by rank: a sequence's length, an image's
height and width; other ranks ``D1``, ``D2``, ... (the last axis is always known)."""


class UnknownClass(KerasImportError):
    """A layer class with no formula, met without a live model or weight shapes to count it from
    (a ``.keras`` file then reads its ``model.weights.h5`` and tries again)."""


class _Tensor:
    """A tensor reference in an ``inbound_nodes`` entry: producer, call, index and recorded shape."""

    __slots__ = ("layer", "call", "index", "shape")

    def __init__(self, layer, call, index, shape=None):
        self.layer, self.call, self.index, self.shape = layer, call, index, shape


def _reference(value, where, what="keras_history") -> tuple[str, int, int]:
    """``[layer name, call, tensor index]`` (Keras 2 adds a kwargs dict), checked."""
    if isinstance(value, (list, tuple)) and len(value) >= 3:
        layer, call, index = value[0], value[1], value[2]
        if isinstance(layer, str) and all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= MAX_CONFIG_INTEGER for v in (call, index)):
            return layer, call, index
    raise KerasImportError(f"{where}: {what} must be [layer name, call, tensor index], got {shown(value)}")


def _recorded_shape(shape, where):
    """The per-sample shape a tensor reference records (``[null, 32, 32, 3]`` -> ``(32, 32, 3)``)."""
    if shape is None:
        return None
    if not isinstance(shape, (list, tuple)) or not shape or not all(v is None or isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= MAX_CONFIG_INTEGER for v in shape):
        raise KerasImportError(f"{where}: a tensor's recorded shape must be a list of sizes, got {shown(shape)}")
    return tuple(shape[1:])


def _tensors(value, found, where):
    """Every tensor reference in a Keras 3 call's ``args`` (nested lists), in order. The nesting is
    bounded by :data:`~cnncalc.importers.limits.MAX_CONFIG_DEPTH` (checked before the walk)."""
    if isinstance(value, dict):
        if value.get("class_name") == "__keras_tensor__":
            cfg = value.get("config")
            if not isinstance(cfg, dict):
                raise KerasImportError(f"{where}: a tensor reference has no config, got {shown(cfg)}")
            layer, call, index = _reference(cfg.get("keras_history"), where)
            found.append(_Tensor(layer, call, index, _recorded_shape(cfg.get("shape"), where)))
    elif isinstance(value, (list, tuple)):
        for v in value:
            _tensors(v, found, where)
    return found


KEYWORD_INPUTS = {"MultiHeadAttention": ("query", "value", "key")}
"""Classes whose tensors may be passed by keyword, in the order of their call signature (Keras'
``MultiHeadAttention.call(query, value, key=None, ...)``); another class's keyword tensors follow
its positional ones in the order the config lists them."""


def _keyword_tensors(cls, kwargs, where):
    """The tensors a Keras 3 call passes by keyword, masks left out (a mask is not data: it does
    not change what the layer computes, only which scores are kept)."""
    if not isinstance(kwargs, dict):
        raise KerasImportError(f"{where}: a call's kwargs must be a dict, got {shown(kwargs)}")
    order = KEYWORD_INPUTS.get(cls)
    keys = [k for k in order if k in kwargs] if order else [k for k in kwargs if "mask" not in str(k)]
    found = []
    for key in keys:
        _tensors(kwargs[key], found, where)
    return found


def _calls(layer_cfg, where, cls=None):
    """The calls of one layer: for each, the list of :class:`_Tensor` it reads (positional, then by
    keyword) and the call's options (``return_attention_scores``)."""
    nodes = layer_cfg.get("inbound_nodes")
    if nodes is None:
        return []
    if not isinstance(nodes, list):
        raise KerasImportError(f"{where}: inbound_nodes must be a list of calls, got {shown(nodes)}")
    calls = []
    for node in nodes:
        if isinstance(node, dict):  # Keras 3
            kwargs = node.get("kwargs") or {}
            tensors = _tensors(node.get("args", []), [], where) + _keyword_tensors(cls, kwargs, where)
            calls.append((tensors, {"return_attention_scores": kwargs.get("return_attention_scores") is True}))
        elif isinstance(node, list):  # Keras 2: [[name, call, tensor, kwargs], ...]
            calls.append(([_Tensor(*_reference(ref, where, "an inbound node")) for ref in node], {}))
        else:
            raise KerasImportError(f"{where}: a call in inbound_nodes must be a dict (Keras 3) or a list (Keras 2), got {shown(node)}")
    return calls


def _build_input_shape(layer, where):
    """The per-sample input shape a layer was built for (``build_config``), or ``None``: in a
    Sequential file, the output shape of the layer before it."""
    build = layer.get("build_config")
    shape = build.get("input_shape") if isinstance(build, dict) else None
    if not isinstance(shape, list) or not shape or not all(v is None or isinstance(v, int) for v in shape):
        return None  # not recorded, or a nested shape (a layer of several inputs)
    return _recorded_shape(shape, where)


def _refs(value, where):
    """``input_layers`` / ``output_layers``: one ``[name, call, tensor]`` or a list of them."""
    if value is None:
        return []
    if isinstance(value, list) and value and isinstance(value[0], str):
        value = [value]
    if not isinstance(value, list):
        raise KerasImportError(f"{where} must be a list of [layer name, call, tensor index], got {shown(value)}")
    return [_reference(ref, where, "each entry") for ref in value]


def _layer_entry(layer, i, model):
    """``(class name, config)`` of entry ``i`` of a model's ``layers``, checked."""
    if not isinstance(layer, dict):
        raise KerasImportError(f"model '{model}': layer {i} is not a layer config (a dict), got {shown(layer)}")
    cls = layer.get("class_name")
    if not isinstance(cls, str):
        raise KerasImportError(f"model '{model}': layer {i} has no class_name (got {shown(cls)})")
    cfg = layer.get("config", {})
    if not isinstance(cfg, dict):
        raise KerasImportError(f"model '{model}': layer {i} ({cls}) has a config that is not a dict: {shown(cfg)}")
    return cls, cfg


def _layer_name(name, i, cls, model):
    if not isinstance(name, str) or not name:
        what = "no name" if name is None or name == "" else f"the name {shown(name)}, not a string"
        raise KerasImportError(f"model '{model}': layer {i} ({cls}) has {what}")
    if SEPARATOR in name:
        raise KerasImportError(f"layer name '{name}' contains '{SEPARATOR}', which cnncalc uses for nesting")
    return name


def _layers(cfg):
    layers = cfg.get("layers", [])
    if not isinstance(layers, list):
        raise KerasImportError(f"model '{cfg.get('name', '?')}': 'layers' must be a list, got {shown(layers)}")
    return layers


class Reader:
    """Builds the nodes of one model, expanding nested models in place."""

    def __init__(self, live=None, weight_shapes=None):
        self.nodes: list[Node] = []
        self.live = live or {}  # qualified name -> live keras layer (for unknown classes)
        self.weight_shapes = weight_shapes  # qualified name -> [(shape, trainable?)] from a .keras file
        self.produced_shapes: dict[str, tuple] = {}  # node name -> shape recorded by a consumer
        self.pending_opaque: list[int] = []
        self.names: set[str] = set()
        self.owners: dict[int, str] = {}  # id of a live layer -> the qualified name that holds its parameters

    # -- a container's config: functional or sequential ----------------------------------------
    def model(self, cfg, scope, feeds, trainable=True, base=None):
        """Add the nodes of the model ``cfg``; ``feeds`` are the node names its inputs read (None at
        the top). Returns the names of the nodes holding its outputs.

        ``scope`` prefixes the names of this call of the model (``blk#2/``); ``base`` those of its
        first call (``blk/``), where the parameters of its layers are counted (and found: the
        live layers, the file's weights), so that a nested model called again shares them."""
        trainable = trainable and cfg.get("trainable", True) is not False
        base = scope if base is None else base
        if "input_layers" in cfg or "output_layers" in cfg:
            return self._functional(cfg, scope, feeds, trainable, base)
        return self._sequential(cfg, scope, feeds, trainable, base)

    def _sequential(self, cfg, scope, feeds, trainable, base):
        current = feeds[0] if feeds else None
        model = scope + str(cfg.get("name", "?"))
        for i, layer in enumerate(_layers(cfg)):
            cls, lcfg = _layer_entry(layer, i, model)
            name = _layer_name(lcfg.get("name") or layer.get("name") or f"layer_{i}", i, cls, model)
            if cls in INPUT_CLASSES:
                if current is None:
                    current = self._input(lcfg, scope + name)
                continue
            if current is None:
                shape = lcfg.get("batch_shape") or lcfg.get("batch_input_shape") or cfg.get("build_input_shape")
                if not shape:
                    raise KerasImportError(f"Sequential model '{cfg.get('name', '?')}' records no input shape: build it (model.build) or start it with keras.Input")
                current = self._input({"batch_shape": shape, "name": "input"}, scope + "input")
            recorded = _build_input_shape(layer, f"layer '{scope}{name}'")
            if recorded is not None and isinstance(current, str):  # what the layer before produced
                self.produced_shapes.setdefault(current, recorded)
            current = self.call(cls, lcfg, name, scope, base, [current], 0, trainable)
        return [current]

    def _functional(self, cfg, scope, feeds, trainable, base):
        model = scope + str(cfg.get("name", "?"))
        produced: dict[tuple, str] = {}  # (layer name, call index) -> node name
        inputs = _refs(cfg.get("input_layers"), f"model '{model}': input_layers")
        for k, ref in enumerate(inputs):
            if feeds is None:
                continue
            if k >= len(feeds):
                raise KerasImportError(f"model '{cfg.get('name')}' has {len(inputs)} inputs but is called with {len(feeds)}")
            produced[(ref[0], 0)] = feeds[k]
        # Every call of every layer, in config order. A call whose inputs are not made yet waits
        # for them (a shared layer's second call may read a layer listed after it, or its own
        # first call), as Keras' own functional_from_config does with its unprocessed nodes. Each
        # call is visited once and woken once per input it waits on: linear in the calls whatever
        # their order (a config listed in reverse is no slower than one in order).
        calls = []  # (class, config, name, call index, tensors, options)
        for i, layer in enumerate(_layers(cfg)):
            cls, lcfg = _layer_entry(layer, i, model)
            name = _layer_name(layer.get("name") or lcfg.get("name"), i, cls, model)
            if cls in INPUT_CLASSES:
                if feeds is None:
                    produced[(name, 0)] = self._input(lcfg, scope + name)
                continue
            calls += [(cls, lcfg, name, c, tensors, options) for c, (tensors, options) in enumerate(_calls(layer, f"layer '{scope}{name}'", cls))]
        outputs = _refs(cfg.get("output_layers"), f"model '{model}': output_layers")
        used: dict[tuple, int] = {}  # (layer, call) -> how many of its outputs are read
        for ref in [(t.layer, t.call, t.index) for item in calls for t in item[4]] + outputs:
            used[ref[:2]] = max(used.get(ref[:2], 1), ref[2] + 1)
        producer = {(item[2], item[3]): j for j, item in enumerate(calls)}
        waiting: dict[tuple, list[int]] = {}  # (layer, call) not made yet -> the calls waiting for it
        missing = [0] * len(calls)
        ready: list[int] = []
        for j, (_, _, _, _, tensors, _) in enumerate(calls):
            keys = {(t.layer, t.call) for t in tensors if (t.layer, t.call) not in produced}  # not "- produced.keys()": that walks every key
            missing[j] = len(keys)
            for key in keys:
                waiting.setdefault(key, []).append(j)
            if keys:
                continue
            heapq.heappush(ready, j)
            while ready:  # this call, then every call it completes, earliest in the config first
                k = heapq.heappop(ready)
                cls, lcfg, name, c, tensors, options = calls[k]
                reads = self._reads(scope, name, tensors, produced)
                produced[(name, c)] = self.call(cls, lcfg, name, scope, base, reads, c, trainable, options, used.get((name, c), 1))
                for w in waiting.pop((name, c), ()):
                    missing[w] -= 1
                    if missing[w] == 0:
                        heapq.heappush(ready, w)
        if any(missing):
            raise KerasImportError(self._never_ready(calls, producer, produced, missing, scope))
        result = []
        for ref in outputs:
            src = produced.get((ref[0], ref[1]))
            if src is None:
                raise KerasImportError(f"model '{cfg.get('name')}': output '{ref[0]}' is not a layer of the config")
            if isinstance(src, list):
                if ref[2] >= len(src):
                    raise KerasImportError(f"model '{cfg.get('name')}': output {ref[2]} of '{ref[0]}' does not exist (it has {len(src)})")
                src = src[ref[2]]
            result.append(src)
        return result

    @staticmethod
    def _never_ready(calls, producer, produced, missing, scope) -> str:
        """Why a call never ran: it reads a layer call the config does not define, or the calls
        wait on each other in a cycle (followed from the first call that waits, named in order)."""
        j = next(k for k, m in enumerate(missing) if m)
        seen: list[int] = []
        while j not in seen:
            seen.append(j)
            _, _, name, c, tensors, _ = calls[j]
            key = next((t.layer, t.call) for t in tensors if (t.layer, t.call) not in produced)
            if key not in producer:
                defined = any(item[2] == key[0] for item in calls)
                what = f"a call {key[1] + 1} of '{key[0]}', which the config does not have" if defined else f"'{key[0]}', which the config does not define"
                return f"layer '{scope}{name}' reads {what}"
            j = producer[key]
        cycle = seen[seen.index(j):] + [j]
        names = " -> ".join(f"'{scope}{calls[k][2]}'" + (f" (call {calls[k][3] + 1})" if calls[k][3] else "") for k in cycle)
        return f"layers read each other in a cycle: {names} (each waits for the next one's output)"

    def _reads(self, scope, name, tensors, produced):
        """The node names one call reads (all made)."""
        reads = []
        for t in tensors:
            src = produced[(t.layer, t.call)]
            if t.index != 0 and not isinstance(src, list):
                raise KerasImportError(f"layer '{scope}{name}' reads output {t.index} of '{t.layer}': multi-output layers are not supported")
            if isinstance(src, list):
                if t.index >= len(src):
                    raise KerasImportError(f"layer '{scope}{name}' reads output {t.index} of '{t.layer}', which has {len(src)}")
                src = src[t.index]
            if t.shape is not None:
                self.produced_shapes.setdefault(src, t.shape)
            reads.append(src)
        return reads

    def _input(self, cfg, qualified):
        """The Input row: the per-sample shape of any rank (``batch_shape`` without its first
        axis, the batch, which Keras records as ``None``). A ``None`` of an image's height or
        width becomes the symbol ``H`` or ``W``, a sequence's length ``T`` (other axes ``D1``,
        ...); the last axis sizes the weights that read it and must be known."""
        given = cfg.get("batch_shape") or cfg.get("batch_input_shape")
        shape = given or cfg.get("shape")
        if shape is None:
            raise KerasImportError(f"input '{qualified}' records no shape")
        if not isinstance(shape, (list, tuple)):
            raise KerasImportError(f"input '{qualified}': its shape must be a list of sizes, got {shown(shape)}")
        dims = list(shape[1:]) if given else list(shape)
        if not 1 <= len(dims) <= MAX_RANK:
            raise KerasImportError(
                f"input '{qualified}' has shape {shown(tuple(dims))}: cnncalc reads inputs of rank 1 to {MAX_RANK} (after the batch axis)"
            )
        names = AXIS_NAMES.get(len(dims)) or tuple(f"axis {k}" for k in range(len(dims)))
        for axis, v in zip(names, dims):
            if v is not None and (isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= MAX_CONFIG_INTEGER):
                raise KerasImportError(f"input '{qualified}': its {axis} must be a positive integer or null, got {shown(v)}")
        if dims[-1] is None:
            what = {"channels": "channel count", "features": "feature count"}.get(names[-1], "size of its last axis")
            raise KerasImportError(f"input '{qualified}' has an unknown {what}" + ("" if len(dims) == 3 else ", which sizes the weights that read it"))
        if any(v is None for v in dims):
            from ...symbolic import symbol

            unknown = _UNKNOWN_AXES.get(len(dims)) or tuple(f"D{k + 1}" for k in range(len(dims)))
            dims = [symbol(unknown[k]) if v is None else v for k, v in enumerate(dims)]
        self._add(Node(kinds.Input(*dims, name=qualified)))
        return qualified

    # -- one call of a layer -------------------------------------------------------------------
    def call(self, cls, cfg, name, scope, base, reads, c, trainable, options=None, outputs=1):
        """Add the node(s) of call ``c`` of the Keras layer ``name`` of class ``cls`` (a nested
        model: its nodes); returns the name of the node holding its output, or the names of its
        outputs (a model or a layer with several: ``name``, ``name:1``, ...).

        The node is ``<scope><name>`` (``#k`` for the layer's k-th call); its parameters belong to
        ``<base><name>``, the layer's first call in the first call of every enclosing model, which
        a repeated call shares."""
        trainable = trainable and cfg.get("trainable", True) is not False
        node_name = scope + name + ("" if c == 0 else f"{CALL_MARK}{c + 1}")
        first = self._owner(base + name)
        if cls in CONTAINERS:
            inner = self.model(cfg, node_name + SEPARATOR, reads, trainable, base=first + SEPARATOR)
            return inner[0] if len(inner) == 1 else inner
        shares = first if node_name != first else None
        names = []
        for k, layer in enumerate(self._spec_layers(cls, cfg, first, reads, options or {}, outputs, trainable)):
            out = node_name if k == 0 else f"{node_name}{OUTPUT_MARK}{k}"
            # an unknown layer's output k reads its first row; attention's scores read its inputs
            ins = (node_name,) if k and isinstance(layer, kinds.Opaque) else tuple(reads)
            self._add(Node(replace(layer, name=out), ins, shares=shares if k == 0 else None, trainable=trainable))
            names.append(out)
        return names[0] if len(names) == 1 else names

    def _owner(self, qualified: str) -> str:
        """The name whose node holds the parameters of the layer at ``qualified``: itself, or, for
        a live layer object met before under another name (one layer called inside a nested model
        and in the model around it: Keras counts its weights once), that first name. A config alone
        cannot tell (two entries of one name in two models may be two layers; Keras itself does not
        load such a file back, the second entry's weights being stored once), so this is the live
        import's."""
        layer = self.live.get(qualified)
        if layer is None:
            return qualified
        return self.owners.setdefault(id(layer), qualified)

    def _spec_layers(self, cls, cfg, qualified, reads, options, outputs, trainable):
        """The spec layer of one call, one per output (a layer returning its attention scores
        has two; an unknown layer one per output read)."""
        ranks = [len(self.produced_shapes[r]) for r in reads if r in self.produced_shapes]
        build = CLASSES.get(cls)
        if build is None:
            return self._opaque(cls, qualified, reads, outputs, trainable)
        try:
            layer = build(cfg, ranks)
        except ConfigError as exc:
            raise KerasImportError(f"layer '{qualified}' ({cls}): {exc}") from None
        except KerasImportError:
            raise
        except (KeyError, TypeError, ValueError) as exc:
            raise KerasImportError(f"layer '{qualified}' ({cls}): cannot read its config ({type(exc).__name__}: {exc})") from None
        if options.get("return_attention_scores") and hasattr(layer, "return_scores"):
            return [replace(layer, return_scores=True), replace(layer, return_scores=True, output_index=1)]
        return [layer]

    def _opaque(self, cls, qualified, reads, outputs, trainable):
        """A layer of a class with no formula: one :class:`~cnncalc.kinds.Opaque` per output, its
        shapes and parameters from the live layer or, from a file, from what its consumers recorded
        and the weights ``keras.saving`` stored for it."""
        live = self.live.get(qualified)
        if live is not None:
            tensors = live.output if isinstance(live.output, (list, tuple)) else [live.output]
            shapes = [tuple(t.shape[1:]) for t in tensors]
            for shape in shapes:
                if any(v is None for v in shape):
                    raise KerasImportError(f"layer '{qualified}' (Keras class {cls}): output shape {shape} is not fully known")
            weights = sum(size_of(w.shape) for w in getattr(live, "trainable_weights", []))  # keras.ops operators hold none
            frozen = sum(size_of(w.shape) for w in getattr(live, "non_trainable_weights", []))
            given = getattr(live, "input", None) if hasattr(live, "input") else None
            ins = [tuple(t.shape[1:]) for t in (given if isinstance(given, (list, tuple)) else [given] if given is not None else [])]
            known = all(v is not None for shape in ins for v in shape) and ins
            return [
                kinds.Opaque(
                    class_name=cls, output=tuple(int(v) for v in shape), weights=weights if k == 0 else 0, non_trainable=frozen if k == 0 else 0,
                    input=tuple(int(v) for v in ins[0]) if known and k == 0 else (),
                    inputs=tuple(tuple(int(v) for v in i) for i in ins) if known and k == 0 and len(ins) > 1 else (),
                    output_index=k,
                )
                for k, shape in enumerate(shapes)
            ]
        if self.weight_shapes is None:
            raise UnknownClass(
                f"layer '{qualified}': Keras class {cls} is not one cnncalc can count from a config; "
                "analyse the live model (cnncalc.from_keras(model)) or load it through Keras (--via-keras, pip install 'cnncalc[keras]')"
            )
        # From a file: shapes from the consumers' records (filled in later), weights from the archive.
        weights = sum(size_of(s) for s in self.weight_shapes.get(qualified, []))
        self.pending_opaque += [len(self.nodes) + k for k in range(outputs)]
        return [
            kinds.Opaque(class_name=cls, output=(), weights=weights if k == 0 else 0, non_trainable=0, output_index=k, split_known=not (weights and trainable))
            for k in range(outputs)
        ]

    def _add(self, node):
        if node.name in self.names:
            raise KerasImportError(f"two layers are named '{node.name}'")
        self.names.add(node.name)
        self.nodes.append(node)

    def finish(self):
        """Fill in the output shapes of opaque layers read from a file (what their consumers
        recorded) and the input shapes they hold for (what their producers' consumers recorded)."""
        for i in self.pending_opaque:
            node = self.nodes[i]
            shape = self.produced_shapes.get(node.name)
            if shape is None or any(v is None for v in shape):
                raise KerasImportError(
                    f"layer '{node.name}' (Keras class {node.layer.class_name}): its output shape is not recorded in the file; "
                    "load it through Keras (--via-keras, pip install 'cnncalc[keras]')"
                )
            recorded = [self.produced_shapes.get(name) for name in node.inputs] if not node.layer.output_index else []
            known = bool(recorded) and all(r is not None and all(v is not None for v in r) for r in recorded)
            inputs = tuple(tuple(int(v) for v in r) for r in recorded) if known else ()
            self.nodes[i] = replace(
                node, layer=replace(node.layer, output=tuple(int(v) for v in shape), input=inputs[0] if inputs else (), inputs=inputs if len(inputs) > 1 else ())
            )


def check_depth(config):
    """A config nested deeper than :data:`~cnncalc.importers.limits.MAX_CONFIG_DEPTH` is refused
    before any walk (an iterative count: a config nested 100,000 deep costs no recursion)."""
    level = [config] if isinstance(config, (dict, list, tuple)) else []
    for _ in range(MAX_CONFIG_DEPTH):  # one level of nesting per round
        level = [c for v in level for c in (v.values() if isinstance(v, dict) else v) if isinstance(c, (dict, list, tuple))]
        if not level:
            return
    raise KerasImportError(f"the config nests deeper than {limit_text('MAX_CONFIG_DEPTH')} lists and objects")


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
            raise KerasImportError(f"the config describes a {cls if isinstance(cls, str) else shown(cls)}, not a Keras model (Functional or Sequential)")
        if not isinstance(config["config"], dict):
            raise KerasImportError(f"the model's config is not a dict: {shown(config['config'])}")
        return cls, config["config"]
    if "layers" in config:
        return ("Functional" if "input_layers" in config else "Sequential"), config
    raise KerasImportError("not a Keras model config: it has no 'layers'")


def from_config(config: dict, *, name: str | None = None, live=None, weight_shapes=None) -> Spec:
    """The :class:`Spec` (a :class:`Graph`) of a Keras model config; see the package docstring."""
    check_depth(config)
    _, inner = unwrap(config)
    reader = Reader(live=live, weight_shapes=weight_shapes)
    outputs = reader.model(inner, "", None)
    reader.finish()
    model = name or inner.get("name") or "keras_model"
    model = model if isinstance(model, str) else shown(model)
    return Spec(Graph(tuple(reader.nodes), outputs=tuple(outputs), name=None), model=model, description=f"Keras model {model}", meta={"source": "keras"})

