"""Attention: Keras' ``MultiHeadAttention``, ``Attention`` (dot-product) and ``AdditiveAttention``.

Each reads up to three tensors, in Keras' order: ``query``, ``value`` and ``key`` (the key is the
value when not given; one input alone is self-attention). A tensor is a per-sample shape of any
rank whose last axis holds the features (``tokens x channels``, or ``H x W x C`` for attention over
an image's positions); no axis is taken for the batch. Written for the shapes below:
``T_q = prod(query[:-1])`` query positions, ``T_k = prod(key[:-1])`` key positions, ``D_q``,
``D_k``, ``D_v`` the three feature sizes.

- **MultiHeadAttention** (``h`` heads of ``d_k = key_dim`` and ``d_v = value_dim``; ``O`` output
  features: ``prod(output_shape)``, by default ``D_q``): four projections, each a Keras
  ``EinsumDense`` with a bias per output feature (``use_bias``): query ``D_q x h d_k``, key
  ``D_k x h d_k``, value ``D_v x h d_v``, output ``h d_v x O`` (and the gate ``D_q x h d_v`` of
  ``use_gate``). Parameters are exactly Keras' ``count_params()``. Attention runs over the query's
  ``attention_axes`` (by default every axis but the last): each query position is scored against
  ``S = prod(key[attention_axes])`` key positions (the other axes are batch-like and must agree).
  MACs: the projections ``T_q D_q h d_k + T_k D_k h d_k + T_k D_v h d_v + T_q h d_v O`` (+ the gate
  ``T_q D_q h d_v``) plus the two activation x activation products ``QK^T = h T_q S d_k`` and
  ``AV = h T_q S d_v``. Output ``query[:-1] + output_shape``.
- **Attention** (Luong; ``score_mode`` ``dot`` or ``concat``): no projections; ``use_scale`` adds a
  scalar weight, ``concat`` another. Over the last two axes (``T_q x D`` against ``T_v x D``; leading
  axes batch-like): ``dot`` scores are ``QK^T = T_q T_v D_q`` MACs, ``concat`` scores are
  ``sum(tanh(q + k))`` (additions, no MACs); then ``AV = T_q T_v D_v``. Output ``query[:-1] + (D_v,)``.
- **AdditiveAttention** (Bahdanau): ``use_scale`` adds a weight vector of ``D_q``; the scores
  ``sum(scale * tanh(q + k))`` are ``T_q T_v D_q`` MACs with the scale (a dense layer of one output
  at every query-key pair) and none without it; then ``AV = T_q T_v D_v``.

With ``return_attention_scores=True`` a layer has a second output, its scores (``output_index=1``:
a row ``name:1`` of the same kind that reads the same inputs and counts nothing but its elements:
``non-attention axes x h x query attention axes x key attention axes`` for MultiHeadAttention,
``query[:-1] x T_v`` for the others).

Softmax, the ``1/sqrt(d_k)`` scaling, the gate's product and dropout are not MACs
(docs/counting.md). Each convention preset counts these kinds as the tool it copies would
(docs/conventions.md, "Attention"): torchvision's ``_ops`` and fvcore count every matrix product
(projections, ``QK^T``, ``AV``); ptflops has a hook for ``nn.MultiheadAttention`` only; torchinfo
counts parameters; the TensorFlow profiler counts the ``MatMul``/``BatchMatMul`` nodes, not the
``Einsum`` nodes Keras writes for multi-head ``QK^T`` and ``AV``. Attention mixes every position of
its inputs, so receptive fields stop at it, with a note (``Rule.field_note``).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..arith import equal, product
from .base import Layer, Size, SpecError
from .geometry import need_positive
from .handles import parameters
from .opaque import OUTPUT_MARK
from .registry import Absent, Counts, Kind, Rule, ignored, register

FIELD_NOTE = "attention mixes every position of its inputs, so the receptive field is the whole input"

SCORE_MODES = ("dot", "concat")


@dataclass(frozen=True)
class MultiHeadAttention(Layer):
    """Keras' ``MultiHeadAttention``: projections, ``heads`` dot-product attentions, output projection.

    ``value_dim`` ``None`` is ``key_dim``; ``output_shape`` ``()`` keeps the query's features;
    ``attention_axes`` are negative axes of the query's per-sample shape (``None``: all but the
    last); ``bias`` is Keras' ``use_bias``, ``gate`` its ``use_gate``. ``branches`` as for a merge
    (in a tree: the branches give query, value, key; in a graph the node names its inputs).
    ``return_scores``: the layer also returns its attention scores (Keras'
    ``return_attention_scores=True``); the row with ``output_index=1`` is that second output,
    reading the same inputs, adding its elements and nothing else (the first row counts the layer).
    """

    heads: Size = 1
    key_dim: Size = 64
    value_dim: Size | None = None
    output_shape: tuple = ()
    attention_axes: tuple | None = None
    bias: bool = True
    gate: bool = False
    dropout: float = 0.0
    return_scores: bool = False
    output_index: int = 0
    branches: tuple = ()

    def __post_init__(self):
        shape = self.output_shape
        object.__setattr__(self, "output_shape", tuple(shape) if isinstance(shape, (tuple, list)) else ((shape,) if shape else ()))
        axes = self.attention_axes
        if axes is not None:
            object.__setattr__(self, "attention_axes", tuple(axes) if isinstance(axes, (tuple, list)) else (axes,))
        object.__setattr__(self, "branches", tuple(self.branches))


@dataclass(frozen=True)
class Attention(Layer):
    """Keras' ``Attention`` (Luong): ``softmax(score(query, key)) value``; ``score_mode`` dot or concat."""

    use_scale: bool = False
    score_mode: str = "dot"
    dropout: float = 0.0
    return_scores: bool = False
    output_index: int = 0
    branches: tuple = ()

    def __post_init__(self):
        object.__setattr__(self, "branches", tuple(self.branches))


@dataclass(frozen=True)
class AdditiveAttention(Layer):
    """Keras' ``AdditiveAttention`` (Bahdanau): scores ``sum(scale * tanh(query + key))``."""

    use_scale: bool = True
    dropout: float = 0.0
    return_scores: bool = False
    output_index: int = 0
    branches: tuple = ()

    def __post_init__(self):
        object.__setattr__(self, "branches", tuple(self.branches))


def _fmt(shape) -> str:
    return "x".join(map(str, shape))


def _query_value_key(layer, shapes):
    """``(query, value, key)`` from one to three input shapes (Keras' order; key defaults to value)."""
    if not 1 <= len(shapes) <= 3:
        raise SpecError(f"layer '{layer.name}' ({layer.kind}) reads query, value and key: 1 to 3 inputs, got {len(shapes)}")
    query = tuple(shapes[0])
    value = tuple(shapes[1]) if len(shapes) > 1 else query
    key = tuple(shapes[2]) if len(shapes) > 2 else value
    if len(query) < 2:
        raise SpecError(f"layer '{layer.name}' ({layer.kind}) attends over positions: it needs positions x features (such as tokens x channels), got {_fmt(query)}")
    if not len(query) == len(value) == len(key):
        raise SpecError(f"layer '{layer.name}' ({layer.kind}): query {_fmt(query)}, value {_fmt(value)} and key {_fmt(key)} must have one rank")
    if any(equal(a, b) is False for a, b in zip(value[:-1], key[:-1])):
        raise SpecError(f"layer '{layer.name}' ({layer.kind}): value {_fmt(value)} and key {_fmt(key)} must agree on every axis but the last")
    return query, value, key


@dataclass(frozen=True)
class MHATerms:
    """The parts of one MultiHeadAttention call that the counts and the presets add up."""

    weights: object
    biases: object
    in_projections: object  # MACs of the query, key, value (and gate) projections
    out_projection: object  # MACs of the output projection
    qk: object  # MACs of QK^T
    av: object  # MACs of AV
    scores: object  # elements of the attention scores (heads x T_q x S): softmax's input
    rows: object  # rows softmax normalises (heads x T_q)
    attention_axes: int  # how many axes attention runs over
    projected_query: object  # elements of the projected query (T_q x heads x key_dim)
    in_bias_adds: object  # elements of the projected query, key, value (and gate) when biased
    out_elements: object  # elements of the output (T_q x O)
    gate_elements: object  # elements of the gate (T_q x heads x value_dim), 0 without a gate


def _attention_axes(layer: MultiHeadAttention, rank: int) -> tuple:
    """The attended axes as non-negative indices of a rank-``rank`` per-sample shape."""
    if layer.attention_axes is None:
        return tuple(range(rank - 1))
    axes = []
    for a in layer.attention_axes:
        a = int(a)
        if not -rank <= a < rank:
            raise SpecError(f"layer '{layer.name}' (MultiHeadAttention): attention axis {a} is outside its rank-{rank} query")
        a = a % rank
        if a == rank - 1:
            raise SpecError(f"layer '{layer.name}' (MultiHeadAttention): the last axis holds the features, it cannot be an attention axis")
        axes.append(a)
    if not axes:
        raise SpecError(f"layer '{layer.name}' (MultiHeadAttention) has no attention axis")
    return tuple(sorted(set(axes)))


def mha_terms(layer: MultiHeadAttention, shapes) -> MHATerms:
    query, value, key = _query_value_key(layer, shapes)
    rank = len(query)
    axes = _attention_axes(layer, rank)
    for i in range(rank - 1):
        if i not in axes and equal(query[i], key[i]) is False:
            raise SpecError(
                f"layer '{layer.name}' (MultiHeadAttention): query {_fmt(query)} and key {_fmt(key)} differ on axis {i - rank}, "
                "which is not an attention axis"
            )
    heads, key_dim = layer.heads, layer.key_dim
    value_dim = layer.key_dim if layer.value_dim is None else layer.value_dim
    for what, v in (("heads", heads), ("key_dim", key_dim), ("value_dim", value_dim), *(("output_shape", o) for o in layer.output_shape)):
        need_positive(layer, what, v)
    out = product(layer.output_shape) if layer.output_shape else query[-1]
    hk, hv = heads * key_dim, heads * value_dim
    t_q, t_k = product(query[:-1]), product(key[:-1])
    attended = product(key[a] for a in axes)
    gate_w = query[-1] * hv if layer.gate else 0
    gate_elements = t_q * hv if layer.gate else 0
    weights = query[-1] * hk + key[-1] * hk + value[-1] * hv + hv * out + gate_w
    biases = (2 * hk + hv + out + (hv if layer.gate else 0)) if layer.bias else 0
    return MHATerms(
        weights=weights,
        biases=biases,
        in_projections=t_q * query[-1] * hk + t_k * key[-1] * hk + t_k * value[-1] * hv + t_q * gate_w,
        out_projection=t_q * hv * out,
        qk=t_q * attended * hk,
        av=t_q * attended * hv,
        scores=heads * t_q * attended,
        rows=heads * t_q,
        attention_axes=len(axes),
        projected_query=t_q * hk,
        in_bias_adds=(t_q * hk + t_k * hk + t_k * hv + gate_elements) if layer.bias else 0,
        out_elements=t_q * out,
        gate_elements=gate_elements,
    )


def mha_shape(layer: MultiHeadAttention, shapes, warn):
    mha_terms(layer, shapes)  # validates the inputs and the hyper-parameters
    query, _, key = _query_value_key(layer, shapes)
    if _scores_row(layer):  # (non-attention axes, heads, query attention axes, key attention axes)
        axes = _attention_axes(layer, len(query))
        others = [query[i] for i in range(len(query) - 1) if i not in axes]
        return (*others, layer.heads, *(query[i] for i in axes), *(key[i] for i in axes))
    return (*query[:-1], *(layer.output_shape or (query[-1],)))


def mha_counts(layer: MultiHeadAttention, shapes, out_shape) -> Counts:
    t = mha_terms(layer, shapes)
    if _scores_row(layer):
        return Counts()
    return Counts(weights=t.weights, biases=t.biases, macs=t.in_projections + t.out_projection + t.qk + t.av)


def _scores_row(layer) -> bool:
    """The second output of a layer that returns its attention scores."""
    if layer.output_index and not layer.return_scores:
        raise SpecError(f"layer '{layer.name}' ({layer.kind}): output {layer.output_index} exists only with return_scores (Keras' return_attention_scores)")
    if layer.output_index not in (0, 1):
        raise SpecError(f"layer '{layer.name}' ({layer.kind}) has 2 outputs (the result and the scores), not {layer.output_index + 1}")
    return layer.output_index == 1


@dataclass(frozen=True)
class ScoreTerms:
    """The parts of one Attention / AdditiveAttention call."""

    weights: object
    score_macs: object  # MACs of the scores (dot: QK^T; additive with a scale: the weighted sum)
    av: object  # MACs of AV
    scores: object  # elements of the scores (T_q x T_v)
    pairs: object  # elements of the broadcast query + key sums (T_q x T_v x D), concat / additive


def score_terms(layer, shapes) -> ScoreTerms:
    query, value, key = _query_value_key(layer, shapes)
    if equal(query[-1], key[-1]) is False:
        raise SpecError(f"layer '{layer.name}' ({layer.kind}): query {_fmt(query)} and key {_fmt(key)} need the same number of features")
    if any(equal(a, b) is False for a, b in zip(query[:-2], key[:-2])):
        raise SpecError(f"layer '{layer.name}' ({layer.kind}): query {_fmt(query)} and key {_fmt(key)} differ on a leading (batch-like) axis")
    additive = isinstance(layer, AdditiveAttention)
    if not additive and layer.score_mode not in SCORE_MODES:
        raise SpecError(f"layer '{layer.name}' (Attention): score_mode '{layer.score_mode}' is not one of {', '.join(SCORE_MODES)}")
    scores = product(query[:-1]) * key[-2]
    pairs = scores * query[-1]
    if additive:
        weights = query[-1] if layer.use_scale else 0
        score_macs = pairs if layer.use_scale else 0
    else:
        weights = (1 if layer.use_scale else 0) + (1 if layer.score_mode == "concat" else 0)
        score_macs = pairs if layer.score_mode == "dot" else 0
    return ScoreTerms(weights=weights, score_macs=score_macs, av=scores * value[-1], scores=scores, pairs=pairs)


def score_shape(layer, shapes, warn):
    score_terms(layer, shapes)
    query, value, key = _query_value_key(layer, shapes)
    return (*query[:-1], key[-2]) if _scores_row(layer) else (*query[:-1], value[-1])


def score_counts(layer, shapes, out_shape) -> Counts:
    t = score_terms(layer, shapes)
    return Counts() if _scores_row(layer) else Counts(weights=t.weights, macs=t.score_macs + t.av)


# ------------------------------------------------------------------------------------------------
# Convention presets (docs/conventions.md, "Attention")
# ------------------------------------------------------------------------------------------------


def _mha(row) -> MHATerms:
    return mha_terms(row.layer, row.inputs)


def _mha_ptflops(row):
    """ptflops ``multihead_attention_counter_hook`` (``nn.MultiheadAttention``): the query scaling
    (projected query elements), the projections, the in-projection bias adds when biased, per head
    ``QK^T`` + softmax (one per score) + ``AV``, the output projection and its bias adds (always)."""
    t = _mha(row)
    return t.projected_query + t.in_projections + t.in_bias_adds + t.qk + t.scores + t.av + t.out_projection + t.out_elements


def _mha_tf_profiler(row):
    """The TF profiler on the graph Keras writes (TF 2.21, Keras 3.15; docs/conventions.md).

    Keras' TF backend turns an ``EinsumDense`` into ``BatchMatMulV2`` (2 x MACs) for the equations
    it knows (``numpy.einsum``'s custom-op list): the projections of ``tokens x channels`` inputs,
    and the output projection when its output is one axis; any other einsum stays an ``Einsum``
    node, which has no flops registration. On the fused path (``tokens x channels``, no dropout, no
    scores returned: ``ops.dot_product_attention``) ``QK^T`` and ``AV`` are ``Einsum`` nodes and the ``1/sqrt(d_k)``
    scaling is one per score; otherwise they are ``BatchMatMulV2`` for tokens (``Einsum`` for other
    ranks) and the scaling is one per projected query element. Bias adds (``AddV2``, ``BiasAdd``)
    and the gate's product are one per element; softmax over one axis is 5 per score, over several
    axes a log-sum-exp (3 per score plus 1 per normalised row)."""
    t = _mha(row)
    layer = row.layer
    tokens = len(row.inputs[0]) == 2
    fused = tokens and not layer.dropout and not layer.return_scores
    ops = t.in_bias_adds + (t.out_elements if layer.bias else 0) + t.gate_elements
    if tokens:
        ops += 2 * t.in_projections + (2 * t.out_projection if len(layer.output_shape) <= 1 else 0)
        ops += 0 if fused else 2 * (t.qk + t.av)
    ops += t.scores if fused else t.projected_query
    return ops + (5 * t.scores if t.attention_axes == 1 else 3 * t.scores + t.rows)


def _scores(row) -> ScoreTerms:
    return score_terms(row.layer, row.inputs)


def _matrix_products(row):
    """fvcore's ``matmul_flop_jit`` / torchvision's ``_ops``: the matrix products (``QK^T`` of the
    dot score, ``AV``); an additive score is element-wise arithmetic and a sum, not a product."""
    t = _scores(row)
    dot = isinstance(row.layer, Attention) and row.layer.score_mode == "dot"
    return (t.score_macs if dot else 0) + t.av


def _score_tf_profiler(row):
    """The TF profiler on Keras' graph: ``BatchMatMulV2`` 2 x MACs (``QK^T`` of the dot score,
    ``AV``); softmax 5 per score; the scalar scale (``Mul``) one per score; the concat / additive
    score: the broadcast ``q + k`` (``AddV2``) and the scale (``Mul``; additive attention multiplies
    by 1.0 without one) one per pair, the ``Sum``
    pairs minus scores, the concat weight (``Mul``) one per score; ``Tanh`` has no registration."""
    t = _scores(row)
    layer = row.layer
    total = 2 * t.av + 5 * t.scores
    if isinstance(layer, Attention) and layer.score_mode == "dot":
        return total + 2 * t.score_macs + (t.scores if layer.use_scale else 0)
    scaled = layer.use_scale or isinstance(layer, AdditiveAttention)  # Keras multiplies by 1.0 without a scale
    total += t.pairs + (t.pairs if scaled else 0) + (t.pairs - t.scores)
    return total + (t.scores if isinstance(layer, Attention) else 0)


def _macs(row):
    return row.macs


def _first_output(handle):
    """A preset's handle on the layer's row; its scores row (``output_index=1``) counts nothing."""
    if handle is None:
        return None
    return lambda row: 0 if row.layer.output_index else handle(row)


def _attention_ops(fvcore, ptflops, torchinfo, tf_profiler) -> dict:
    handles = {
        "macs": _macs,
        "flops": lambda row: 2 * row.macs,
        "torchvision": fvcore,  # torchvision's FLOP counter: conv, linear, mm/bmm, attention products
        "fvcore": fvcore,
        "ptflops": ptflops,
        "torchinfo": torchinfo,
        "tf-profiler": tf_profiler,
    }
    return {name: _first_output(handle) for name, handle in handles.items()}


# ------------------------------------------------------------------------------------------------
# Keras forms
# ------------------------------------------------------------------------------------------------


def _query_value_key_tensors(outputs):
    query = outputs[0]
    value = outputs[1] if len(outputs) > 1 else query
    key = outputs[2] if len(outputs) > 2 else None
    return query, value, key


def _scores_of(b, layer, qualified):
    """The Keras scores tensor of the layer whose second output ``qualified`` is (built first)."""
    base = qualified.rsplit(OUTPUT_MARK, 1)[0]
    scores = getattr(b, "attention_scores", {}).get(base)
    if scores is None:
        raise SpecError(f"layer '{qualified}' ({layer.kind}): the scores of '{base}', which is not built before it")
    return scores


def _returning_scores(b, layer, qualified, result):
    """The layer's output; its scores kept on the builder for its ``name:1`` row."""
    if not layer.return_scores:
        return result
    if not hasattr(b, "attention_scores"):
        b.attention_scores = {}
    b.attention_scores[qualified] = result[1]
    return result[0]


def _keras_mha(b, layer: MultiHeadAttention, outputs, qualified):
    if layer.output_index:
        return _scores_of(b, layer, qualified)
    if not 1 <= len(outputs) <= 3:
        raise SpecError(f"layer '{qualified}' (MultiHeadAttention) reads 1 to 3 tensors, got {len(outputs)}")
    query, value, key = _query_value_key_tensors(outputs)
    rank = len(query.shape) - 1
    options = {"use_gate": True} if layer.gate else {}
    attention = b.keras.layers.MultiHeadAttention(
        num_heads=int(layer.heads),
        key_dim=int(layer.key_dim),
        value_dim=None if layer.value_dim is None else int(layer.value_dim),
        dropout=float(layer.dropout),
        use_bias=bool(layer.bias),
        output_shape=tuple(int(v) for v in layer.output_shape) or None,
        attention_axes=None if layer.attention_axes is None else tuple(int(a) % rank + 1 for a in layer.attention_axes),
        name=b.name(qualified),
        **options,
    )
    return _returning_scores(b, layer, qualified, attention(query, value, key=key, return_attention_scores=layer.return_scores))


def _keras_score(b, layer, outputs, qualified):
    if layer.output_index:
        return _scores_of(b, layer, qualified)
    if not 1 <= len(outputs) <= 3:
        raise SpecError(f"layer '{qualified}' ({layer.kind}) reads 1 to 3 tensors, got {len(outputs)}")
    query, value, key = _query_value_key_tensors(outputs)
    if isinstance(layer, AdditiveAttention):
        attention = b.keras.layers.AdditiveAttention(use_scale=bool(layer.use_scale), dropout=float(layer.dropout), name=b.name(qualified))
    else:
        attention = b.keras.layers.Attention(
            use_scale=bool(layer.use_scale), score_mode=layer.score_mode, dropout=float(layer.dropout), name=b.name(qualified)
        )
    return _returning_scores(b, layer, qualified, attention([query, value] + ([key] if key is not None else []), return_attention_scores=layer.return_scores))


_NO_ARROW = Absent("attention reads several tensors and has no arrow form: build it in a Graph (cnncalc.spec) or import a Keras model")

register(
    Kind(
        MultiHeadAttention,
        rule=Rule(shape=mha_shape, counts=mha_counts, tracks_field=False, field_note=FIELD_NOTE, counts_every_input=True),
        prefix="mha",
        notation=_NO_ARROW,
        keras=_keras_mha,
        strings={},
        ops=_attention_ops(
            fvcore=_macs,  # linear_flop_jit + matmul/bmm/einsum handles: every product
            ptflops=_mha_ptflops,
            torchinfo=parameters,  # calculate_macs of a non-convolution module: its weights and biases
            tf_profiler=_mha_tf_profiler,
        ),
        merge=True,
    )
)

for _cls, _prefix in ((Attention, "attention"), (AdditiveAttention, "additive_attention")):
    register(
        Kind(
            _cls,
            rule=Rule(shape=score_shape, counts=score_counts, tracks_field=False, field_note=FIELD_NOTE, counts_every_input=True),
            prefix=_prefix,
            notation=_NO_ARROW,
            keras=_keras_score,
            strings={"score_mode": SCORE_MODES} if _cls is Attention else {},
            ops={
                # ptflops hooks modules (nn.MultiheadAttention), and torch has no dot-product or
                # additive attention module: its matmuls are functional calls, which the preset
                # (count_functional=False) leaves uncounted. torchinfo counts parameters named
                # weight or bias: these layers' scales are neither.
                **ignored("ptflops", "torchinfo"),
                **{k: v for k, v in _attention_ops(_matrix_products, None, None, _score_tf_profiler).items() if v is not None},
            },
            merge=True,
        )
    )


# ------------------------------------------------------------------------------------------------
# Scaled dot-product attention of computed query, key and value (ONNX's Attention operator)
# ------------------------------------------------------------------------------------------------

SDPA_ROLES = ("query", "key", "value", "mask", "past_key", "past_value")
"""The inputs a :class:`ScaledDotProductAttention` may read, in ONNX ``Attention``'s order."""

SDPA_OUTPUTS = ("the result", "the present key", "the present value", "the QK^T scores")


@dataclass(frozen=True)
class ScaledDotProductAttention(Layer):
    """``softmax(Q K^T scale + mask) V`` of three computed tensors, with no projection (ONNX's
    ``Attention`` operator, opset 23; ``torch.nn.functional.scaled_dot_product_attention``).

    Per-sample shapes (the batch axis dropped), ``h_q`` query heads, ``h_kv`` key/value heads
    (``h_q`` a multiple of ``h_kv``: grouped-query attention repeats each key/value head):

    - ``heads`` ``0`` (ONNX's 4-D form): query ``h_q x T_q x d``, key ``h_kv x S x d``, value
      ``h_kv x S x d_v``; output ``h_q x T_q x d_v``.
    - ``heads`` ``h_q`` and ``kv_heads`` ``h_kv`` (the 3-D form: ``q_num_heads``,
      ``kv_num_heads``): query ``T_q x h_q d``, key ``S x h_kv d``, value ``S x h_kv d_v``;
      output ``T_q x h_q d_v``.

    ``roles`` names each input the layer reads, in order (:data:`SDPA_ROLES`): query, key and
    value always; ``mask`` (any number) and ``past_key``/``past_value`` when the network computes
    them. ``qkv`` ``(D_q, D_k, D_v)``: the query, key and value come packed in one 3-D tensor
    ``T x (D_q + D_k + D_v)`` (onnxruntime's ``com.microsoft.Attention`` after its projection),
    read as the role ``query``. A past
    key/value cache the file stores (a constant) is ``past`` positions long. Keys attended:
    ``L = past + S``. ``params``: the elements of the stored float tensors the node reads (a
    learned bias given as the mask, a stored cache), counted as weights. ``output_index``: 0 the
    result (the row that counts), 1 and 2 the present key and value (``h_kv x L x d``,
    ``h_kv x L x d_v``), 3 the ``Q K^T`` scores (``h_q x T_q x L``): rows that add their
    elements and nothing else.

    MACs: ``Q K^T`` = ``h_q T_q L d`` and ``A V`` = ``h_q T_q L d_v``; the scaling, the soft cap,
    the mask and softmax are not multiply-accumulates (docs/conventions.md, "Attention").
    """

    heads: int = 0
    kv_heads: int = 0
    roles: tuple = ("query", "key", "value")
    past: Size = 0
    params: int = 0
    qkv: tuple = ()
    output_index: int = 0
    branches: tuple = ()

    def __post_init__(self):
        object.__setattr__(self, "roles", tuple(self.roles))
        object.__setattr__(self, "qkv", tuple(self.qkv))
        object.__setattr__(self, "branches", tuple(self.branches))


@dataclass(frozen=True)
class SDPATerms:
    q_heads: object
    kv_heads: object
    t_q: object
    attended: object  # L = past + S
    d: object
    d_v: object
    four_d: bool

    @property
    def qk(self):
        return self.q_heads * self.t_q * self.attended * self.d

    @property
    def av(self):
        return self.q_heads * self.t_q * self.attended * self.d_v


def _sdpa_error(layer, what):
    return SpecError(f"layer '{layer.name}' (ScaledDotProductAttention): {what}")


def _split_heads(layer, hidden, heads, what):
    if not isinstance(heads, int) or isinstance(heads, bool) or heads < 1:
        raise _sdpa_error(layer, f"3-D inputs need a positive number of {what} heads, got {heads!r}")
    if isinstance(hidden, int) and hidden % heads:
        raise _sdpa_error(layer, f"{hidden} features do not split into {heads} {what} heads")
    return hidden // heads if isinstance(hidden, int) else hidden / heads


def sdpa_terms(layer: ScaledDotProductAttention, shapes) -> SDPATerms:
    roles = layer.roles
    first = ("query",) if layer.qkv else SDPA_ROLES[:3]
    named = [r for r in roles if r != "mask"]  # masks (a padding mask and a bias) may be several
    if len(set(named)) != len(named) or not set(roles) <= set(SDPA_ROLES) or roles[: len(first)] != first or (layer.qkv and {"key", "value"} & set(roles)):
        raise _sdpa_error(layer, f"roles {roles} are not {', '.join(first)} then some of mask, past_key, past_value")
    if len(shapes) != len(roles):
        raise _sdpa_error(layer, f"reads {len(roles)} tensors ({', '.join(roles)}), got {len(shapes)}")
    by = {r: tuple(s) for r, s in zip(roles, shapes)}
    if layer.qkv:
        packed = by["query"]
        if len(layer.qkv) != 3 or any(not isinstance(v, int) or isinstance(v, bool) or v < 1 for v in layer.qkv):
            raise _sdpa_error(layer, f"qkv {layer.qkv} is not three positive feature counts (query, key, value)")
        if len(packed) != 2 or equal(packed[-1], sum(layer.qkv)) is False:
            raise _sdpa_error(layer, f"a packed query, key and value of {'+'.join(map(str, layer.qkv))} features cannot be read from {_fmt(packed)}")
        by.update(query=(packed[0], layer.qkv[0]), key=(packed[0], layer.qkv[1]), value=(packed[0], layer.qkv[2]))
    query, key, value = by["query"], by["key"], by["value"]
    if not len(query) == len(key) == len(value) or len(query) not in (2, 3):
        raise _sdpa_error(
            layer, f"query {_fmt(query)}, key {_fmt(key)} and value {_fmt(value)} must all be 4-D (heads x positions x features) or all 3-D (positions x features)"
        )
    four_d = len(query) == 3
    if four_d:
        (h_q, t_q, d), (h_k, s, d_k), (h_v, s_v, d_v) = query, key, value
        for given, axis, what in ((layer.heads, h_q, "query"), (layer.kv_heads, h_k, "key/value")):
            if given and equal(given, axis) is False:
                raise _sdpa_error(layer, f"{given} {what} heads given, the 4-D {what} has {axis}")
    else:
        (t_q, hidden_q), (s, hidden_k), (s_v, hidden_v) = query, key, value
        h_q, h_k = layer.heads, layer.kv_heads
        d = _split_heads(layer, hidden_q, h_q, "query")
        d_k = _split_heads(layer, hidden_k, h_k, "key/value")
        d_v = _split_heads(layer, hidden_v, h_k, "key/value")
        h_v = h_k
    if equal(h_k, h_v) is False or equal(s, s_v) is False:
        raise _sdpa_error(layer, f"key {_fmt(key)} and value {_fmt(value)} must have the same heads and positions")
    if equal(d, d_k) is False:
        raise _sdpa_error(layer, f"query heads of {d} features and key heads of {d_k} cannot be multiplied (Q K^T)")
    if isinstance(h_q, int) and isinstance(h_k, int) and h_q % h_k:
        raise _sdpa_error(layer, f"{h_q} query heads are not a multiple of {h_k} key/value heads")
    past = layer.past
    if "past_key" in by or "past_value" in by:
        if not ("past_key" in by and "past_value" in by):
            raise _sdpa_error(layer, "a past key needs a past value and the reverse")
        pk, pv = by["past_key"], by["past_value"]
        if len(pk) != 3 or len(pv) != 3 or equal(pk[0], h_k) is False or equal(pv[0], h_k) is False or equal(pk[1], pv[1]) is False \
                or equal(pk[2], d) is False or equal(pv[2], d_v) is False:
            raise _sdpa_error(layer, f"past key {_fmt(pk)} and value {_fmt(pv)} do not fit {h_k} heads of {d} and {d_v} features")
        past = pk[1]
    return SDPATerms(q_heads=h_q, kv_heads=h_k, t_q=t_q, attended=past + s, d=d, d_v=d_v, four_d=four_d)


def sdpa_shape(layer: ScaledDotProductAttention, shapes, warn):
    t = sdpa_terms(layer, shapes)
    index = layer.output_index
    if index == 0:
        return (t.q_heads, t.t_q, t.d_v) if t.four_d else (t.t_q, t.q_heads * t.d_v)
    if index == 1:
        return (t.kv_heads, t.attended, t.d)
    if index == 2:
        return (t.kv_heads, t.attended, t.d_v)
    if index == 3:
        return (t.q_heads, t.t_q, t.attended)
    raise _sdpa_error(layer, f"has {len(SDPA_OUTPUTS)} outputs ({', '.join(SDPA_OUTPUTS)}), not {index + 1}")


def sdpa_counts(layer: ScaledDotProductAttention, shapes, out_shape) -> Counts:
    t = sdpa_terms(layer, shapes)
    if layer.output_index:
        return Counts()
    return Counts(weights=layer.params, macs=t.qk + t.av)


register(
    Kind(
        ScaledDotProductAttention,
        rule=Rule(shape=sdpa_shape, counts=sdpa_counts, tracks_field=False, field_note=FIELD_NOTE, counts_every_input=True),
        prefix="sdpa",
        notation=Absent("attention reads several tensors and has no arrow form: build it in a Graph (cnncalc.spec) or import an ONNX file"),
        keras=Absent("Keras has no layer for attention without projections (keras.ops.dot_product_attention is an op): import the ONNX file"),
        strings={},
        ops={
            "macs": _macs,
            "flops": lambda row: 2 * row.macs,
            # torchvision's _ops and torch's FlopCounterMode (sdpa_flop_count): Q K^T and A V
            "torchvision": _first_output(_macs),
            # fvcore's jit handles have no aten::scaled_dot_product_attention (flop_count.py's
            # _DEFAULT_SUPPORTED_OPS): the op is listed in unsupported_ops() and counts 0;
            # ptflops hooks modules (count_functional=False: F.scaled_dot_product_attention is not
            # patched); torchinfo counts parameters named weight or bias, of which it has none
            **ignored("fvcore", "ptflops", "torchinfo"),
            # the TF profiler's BatchMatMul: 2 k per output element of each product
            "tf-profiler": _first_output(lambda row: 2 * row.macs),
        },
        merge=True,
    )
)
