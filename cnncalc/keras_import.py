"""Keras -> spec: any Keras model (live, a config dict or a saved ``.keras`` file) as a :class:`Graph`.

Keras 3 has no FLOPs/MACs counter (keras-team/keras#18391); cnncalc reads the model's *config*
(plain JSON: what ``model.get_config()`` returns and what a ``.keras`` archive stores as
``config.json``) and maps each Keras layer onto a registered layer kind, so the one engine gives
Keras' exact parameter counts and output shapes plus MACs, activations and receptive fields. This
module imports neither Keras nor TensorFlow: a live model is only asked for its config and, for a
layer class the mapping does not know, for that layer's output shape and weights.

The graph. Each Keras layer call is one :class:`~cnncalc.spec.Node`, named as in Keras; the tensors
it reads come from ``inbound_nodes`` (``keras_history = [layer, call, tensor]``; Keras 2's list form
is read too). Nested models (a ``Functional`` or ``Sequential`` used as a layer) are expanded, their
layers named ``outer/inner``; their own ``InputLayer`` is an alias of the tensor fed in and gets no
row. A layer called twice is a shared layer: the second call is the node ``name#2``, which counts
MACs and activations again and shares the first call's parameters. A layer (or nested model) with
``trainable: false`` counts its parameters as non-trainable, as ``model.non_trainable_weights`` does.

What each Keras class becomes is the table :data:`CLASSES`; docs/import.md lists it with the
conventions. A class outside it becomes an :class:`~cnncalc.kinds.Opaque` row when its output shape
and parameters can be known (from the live layer, or from the consumers' recorded tensor shapes
and the archive's weight shapes), named in the analysis' warnings with "MACs not counted"; when
they cannot, :class:`KerasImportError` names the class and the install that helps.
"""

from __future__ import annotations

from dataclasses import replace

from . import kinds
from .kinds import SpecError
from .spec import Graph, Node, Spec
from .traverse import SEPARATOR


class KerasImportError(SpecError):
    """A Keras model (or file) cnncalc cannot read: the message names the layer and the cause."""


CALL_MARK = "#"
"""Joins a shared layer's name and its call number: the second call of ``dense`` is ``dense#2``."""

CONTAINERS = ("Functional", "Model", "Sequential")


# ------------------------------------------------------------------------------------------------
# Config values
# ------------------------------------------------------------------------------------------------


def _pair(value, what="value"):
    if isinstance(value, (list, tuple)):
        if len(value) == 1:
            return (int(value[0]), int(value[0]))
        return (int(value[0]), int(value[1]))
    return (int(value), int(value))


def _one_or_pair(value):
    h, w = _pair(value)
    return h if h == w else (h, w)


def _sides(value):
    """Keras' ZeroPadding2D/Cropping2D argument as ``((top, bottom), (left, right))``."""
    if isinstance(value, (list, tuple)):
        if len(value) == 2 and all(isinstance(v, (list, tuple)) for v in value):
            return tuple(_pair(v) for v in value)
        if len(value) == 2:
            h, w = int(value[0]), int(value[1])
            return ((h, h), (w, w))
        if len(value) == 1:
            value = value[0]
    n = int(value)
    return ((n, n), (n, n))


def _padding(cfg):
    padding = str(cfg.get("padding", "valid")).lower()
    if padding not in ("same", "valid"):
        raise KerasImportError(f"layer '{cfg.get('name')}': padding '{padding}' is not supported (same or valid)")
    return padding


def _channels_last(cfg, rank=3):
    fmt = cfg.get("data_format") or "channels_last"
    if fmt != "channels_last":
        raise KerasImportError(f"layer '{cfg.get('name')}': data_format '{fmt}' is not supported: cnncalc reads channels_last models")


def _sample_axis(axis, rank):
    """A Keras axis (batch included) as a negative axis of the per-sample shape."""
    axis = int(axis)
    if axis == 0:
        raise KerasImportError("axis 0 is the batch axis")
    return axis - rank - 1 if axis > 0 else axis


def _last_axis_only(cfg, rank, what):
    axes = cfg.get("axis", -1)
    axes = axes if isinstance(axes, (list, tuple)) else [axes]
    if [_sample_axis(a, rank) for a in axes] != [-1]:
        raise KerasImportError(f"layer '{cfg.get('name')}' ({what}): only the last (channels) axis is supported, got axis={cfg.get('axis')}")


_RELU_NAMES = {6.0: "relu6"}

_ACTIVATION_ALIASES = {"swish": "silu", "hard_swish": "hard_silu"}


def _activation_name(name):
    if isinstance(name, dict):  # a serialised activation function
        name = name.get("config", name.get("class_name", "?"))
        if isinstance(name, dict):
            name = name.get("name", "?")
    return str(name)


# ------------------------------------------------------------------------------------------------
# Keras class -> layer kind. Each entry: (cfg, in_ranks) -> Layer (named later).
# ------------------------------------------------------------------------------------------------


def _conv(cfg, ranks):
    _channels_last(cfg)
    return kinds.Conv2D(
        int(cfg["filters"]),
        kernel=_one_or_pair(cfg["kernel_size"]),
        stride=_one_or_pair(cfg.get("strides", 1)),
        padding=_padding(cfg),
        dilation=_one_or_pair(cfg.get("dilation_rate", 1)),
        groups=int(cfg.get("groups", 1) or 1),
        bias=bool(cfg.get("use_bias", True)),
    )


def _depthwise(cfg, ranks):
    _channels_last(cfg)
    return kinds.DepthwiseConv2D(
        kernel=_one_or_pair(cfg["kernel_size"]),
        stride=_one_or_pair(cfg.get("strides", 1)),
        padding=_padding(cfg),
        dilation=_one_or_pair(cfg.get("dilation_rate", 1)),
        multiplier=int(cfg.get("depth_multiplier", 1)),
        bias=bool(cfg.get("use_bias", True)),
    )


def _separable(cfg, ranks):
    _channels_last(cfg)
    return kinds.SeparableConv2D(
        int(cfg["filters"]),
        kernel=_one_or_pair(cfg["kernel_size"]),
        stride=_one_or_pair(cfg.get("strides", 1)),
        padding=_padding(cfg),
        dilation=_one_or_pair(cfg.get("dilation_rate", 1)),
        multiplier=int(cfg.get("depth_multiplier", 1)),
        bias=bool(cfg.get("use_bias", True)),
    )


def _transpose(cfg, ranks):
    _channels_last(cfg)
    out_pad = cfg.get("output_padding")
    return kinds.Conv2DTranspose(
        int(cfg["filters"]),
        kernel=_one_or_pair(cfg["kernel_size"]),
        stride=_one_or_pair(cfg.get("strides", 1)),
        padding=_padding(cfg),
        output_padding=None if out_pad is None else _one_or_pair(out_pad),
        dilation=_one_or_pair(cfg.get("dilation_rate", 1)),
        bias=bool(cfg.get("use_bias", True)),
    )


def _dense(cfg, ranks):
    # Keras' Dense acts on the last axis of any rank (ConvNeXt's pointwise layers); on a vector it
    # is the ordinary dense layer. Keras 3 records the input's shape; Keras 2 configs do not.
    on_last_axis = not ranks or ranks[0] > 1
    return kinds.Dense(int(cfg["units"]), bias=bool(cfg.get("use_bias", True)), **({"last_axis": True} if on_last_axis else {}))


def _batchnorm(cfg, ranks):
    _last_axis_only(cfg, ranks[0] if ranks else 3, "BatchNormalization")
    return kinds.BatchNorm(
        epsilon=float(cfg.get("epsilon", 1e-3)),
        momentum=float(cfg.get("momentum", 0.99)),
        center=bool(cfg.get("center", True)),
        scale=bool(cfg.get("scale", True)),
    )


def _layernorm(cfg, ranks):
    rank = ranks[0] if ranks else 3
    axes = cfg.get("axis", -1)
    axes = axes if isinstance(axes, (list, tuple)) else [axes]
    rms = bool(cfg.get("rms_scaling", False))
    return kinds.LayerNorm(
        axis=tuple(sorted(_sample_axis(a, rank) for a in axes)),
        center=bool(cfg.get("center", True)) and not rms,
        scale=bool(cfg.get("scale", True)),
    )


def _normalization(cfg, ranks):
    _last_axis_only(cfg, ranks[0] if ranks else 3, "Normalization")
    return kinds.Normalization(adapted=cfg.get("mean") is None or cfg.get("variance") is None)


def _pool(cls):
    def build(cfg, ranks):
        _channels_last(cfg)
        kernel = _one_or_pair(cfg.get("pool_size", 2))
        strides = cfg.get("strides")
        return cls(kernel=kernel, stride=kernel if strides is None else _one_or_pair(strides), padding=_padding(cfg))

    return build


def _global(cls):
    def build(cfg, ranks):
        _channels_last(cfg)
        return cls(keepdims=bool(cfg.get("keepdims", False)))

    return build


def _concat(cfg, ranks):
    return kinds.Concat(axis=_sample_axis(cfg.get("axis", -1), ranks[0] if ranks else 3))


def _activation(cfg, ranks):
    name = _activation_name(cfg.get("activation", "linear"))
    return kinds.Activation(_ACTIVATION_ALIASES.get(name, name))


def _relu(cfg, ranks):
    max_value = cfg.get("max_value")
    slope = float(cfg.get("negative_slope", 0.0) or 0.0)
    if slope:
        return kinds.Activation("leaky_relu")
    return kinds.Activation(_RELU_NAMES.get(None if max_value is None else float(max_value), "relu"))


def _dropout(cfg, ranks):
    return kinds.Dropout(float(cfg.get("rate", 0.5)))


def _reshape(cfg, ranks):
    return kinds.Reshape(tuple(int(v) for v in cfg["target_shape"]))


def _cropping(cfg, ranks):
    _channels_last(cfg)
    return kinds.Cropping2D(_sides(cfg.get("cropping", 0)))


def _zero_padding(cfg, ranks):
    _channels_last(cfg)
    return kinds.ZeroPadding2D(_sides(cfg.get("padding", 1)))


def _rescaling(cfg, ranks):
    scale, offset = cfg.get("scale", 1.0), cfg.get("offset", 0.0)
    return kinds.Rescaling(scale=scale if not isinstance(scale, list) else tuple(scale), offset=offset if not isinstance(offset, list) else tuple(offset))


def _flatten(cfg, ranks):
    _channels_last(cfg)
    return kinds.Flatten()


CLASSES = {
    "Conv2D": _conv,
    "Convolution2D": _conv,
    "DepthwiseConv2D": _depthwise,
    "SeparableConv2D": _separable,
    "SeparableConvolution2D": _separable,
    "Conv2DTranspose": _transpose,
    "Convolution2DTranspose": _transpose,
    "Dense": _dense,
    "BatchNormalization": _batchnorm,
    "LayerNormalization": _layernorm,
    "Normalization": _normalization,
    "ZeroPadding2D": _zero_padding,
    "Cropping2D": _cropping,
    "MaxPooling2D": _pool(kinds.MaxPool2D),
    "MaxPool2D": _pool(kinds.MaxPool2D),
    "AveragePooling2D": _pool(kinds.AvgPool2D),
    "AvgPool2D": _pool(kinds.AvgPool2D),
    "GlobalAveragePooling2D": _global(kinds.GlobalAvgPool2D),
    "GlobalAvgPool2D": _global(kinds.GlobalAvgPool2D),
    "GlobalMaxPooling2D": lambda cfg, ranks: _global(kinds.GlobalMaxPool2D)(cfg, ranks),
    "GlobalMaxPool2D": lambda cfg, ranks: _global(kinds.GlobalMaxPool2D)(cfg, ranks),
    "Flatten": _flatten,
    "Reshape": _reshape,
    "Add": lambda cfg, ranks: kinds.Add(),
    "Multiply": lambda cfg, ranks: kinds.Multiply(),
    "Concatenate": _concat,
    "Activation": _activation,
    "ReLU": _relu,
    "LeakyReLU": lambda cfg, ranks: kinds.Activation("leaky_relu"),
    "ELU": lambda cfg, ranks: kinds.Activation("elu"),
    "Softmax": lambda cfg, ranks: kinds.Activation("softmax"),
    "Identity": lambda cfg, ranks: kinds.Activation("linear"),
    "Dropout": _dropout,
    "SpatialDropout2D": _dropout,
    "Rescaling": _rescaling,
    "LayerScale": lambda cfg, ranks: kinds.LayerScale(int(cfg["projection_dim"])),
    "CustomScaleLayer": lambda cfg, ranks: kinds.ScaledAdd(float(cfg.get("scale", 1.0))),
    "ScaledAdd": lambda cfg, ranks: kinds.ScaledAdd(float(cfg.get("scale", 1.0))),
    # cnncalc's own custom layers (cnncalc.keras_layers), so to_keras -> from_keras comes back.
    "LocalResponseNormalization": lambda cfg, ranks: kinds.LRN(
        int(cfg.get("depth_radius", 2)), float(cfg.get("bias", 2.0)), float(cfg.get("alpha", 1e-4)), float(cfg.get("beta", 0.75))
    ),
    "ZeroPaddedShortcut": lambda cfg, ranks: kinds.PadShortcut(int(cfg["filters"]), int(cfg.get("stride", 2))),
    "ConstantPadding2D": lambda cfg, ranks: kinds.ZeroPadding2D(_sides(cfg.get("padding", 0))),
    "Subsample2D": lambda cfg, ranks: kinds.MaxPool2D(kernel=1, stride=_one_or_pair(cfg.get("strides", 2))),
}
"""Keras class name -> builder of the spec layer (``cfg`` is the layer's config, ``ranks`` the
per-sample ranks of its inputs where the config records them)."""

_INPUT_CLASSES = ("InputLayer",)


# ------------------------------------------------------------------------------------------------
# Reading the graph
# ------------------------------------------------------------------------------------------------


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


class _Reader:
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
            if cls in _INPUT_CLASSES:
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
            if cls in _INPUT_CLASSES or name in input_names and cls in _INPUT_CLASSES:
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
            from .symbolic import symbol

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
            weights = sum(_size(w.shape) for w in getattr(live, "trainable_weights", []))  # keras.ops operators hold none
            frozen = sum(_size(w.shape) for w in getattr(live, "non_trainable_weights", []))
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
        weights = sum(_size(s) for s in shapes)
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


def _size(shape):
    n = 1
    for v in shape:
        n *= int(v)
    return n


# ------------------------------------------------------------------------------------------------
# Entry points
# ------------------------------------------------------------------------------------------------


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
    reader = _Reader(live=live, weight_shapes=weight_shapes)
    outputs = reader.model(inner, "", None)
    reader.finish()
    model = name or inner.get("name") or "keras_model"
    return Spec(Graph(tuple(reader.nodes), outputs=tuple(outputs), name=None), model=model, description=f"Keras model {model}", meta={"source": "keras"})


def from_keras(model_or_config, *, name: str | None = None) -> Spec:
    """The spec of a live ``keras.Model`` (functional, sequential, nested) or of a config dict.

    One node per Keras layer call, named as in Keras (nested models' layers ``outer/inner``);
    ``cnncalc.analyze(from_keras(model)).totals.params == model.count_params()``. A layer class
    cnncalc has no rule for is counted from the live layer (output shape, weights) and flagged
    "MACs not counted" in the analysis' warnings.
    """
    if isinstance(model_or_config, dict):
        return from_config(model_or_config, name=name)
    model = model_or_config
    if not hasattr(model, "get_config") or not hasattr(model, "layers"):
        raise KerasImportError(f"expected a keras.Model or its config dict, got {type(model).__name__}")
    if not getattr(model, "built", True):
        raise KerasImportError(f"model '{model.name}' is not built: call it on an input or build it first")
    config = model.get_config()
    if "layers" not in config:
        raise KerasImportError(f"model '{model.name}' ({type(model).__name__}) has no layer graph in its config: subclassed models are not supported; build it with the functional API")
    return from_config({"class_name": "Sequential" if "input_layers" not in config else "Functional", "config": config}, name=name or model.name, live=_live_layers(model, ""))


def _live_layers(model, scope):
    """``{qualified name: layer}`` of a live model, nested models entered. Keras 3 lists the
    operators applied to symbolic tensors (``x + 3.0``) with the layers in ``model.operations``."""
    table = {}
    for layer in getattr(model, "operations", None) or getattr(model, "layers", []):
        qualified = scope + layer.name
        table[qualified] = layer
        if hasattr(layer, "layers") and hasattr(layer, "get_config"):
            table.update(_live_layers(layer, qualified + SEPARATOR))
    return table
