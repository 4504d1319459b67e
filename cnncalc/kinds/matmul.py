"""Matrix products: of two computed tensors (``MatMul``, ``Einsum``: attention's ``Q K^T`` and
``A V``) and of a tensor with a learned weight along any axes (``EinsumDense``).

- ``MatMul``: ``a @ b`` with NumPy's rules (``np.matmul``): the last two axes are matrices
  ``m x k`` and ``k x n``, the leading axes are batch axes that broadcast; a rank-1 operand is a
  vector. MACs: ``k`` per output element, ``prod(batch) m n k``. No parameters.
- ``Einsum``: two computed operands and an ``np.einsum`` equation (``bhid,bhjd->bhij``); the
  equation is written as the file or the Keras layer writes it, batch axis included (each
  operand's first index is its batch axis, and the output's must be the same letter, first).
  MACs: the product of the sizes of every distinct index (one multiply-accumulate per term of the
  sum), fvcore's ``einsum_flop_jit`` for two operands.
- ``EinsumDense``: one computed operand and a learned weight (Keras' ``EinsumDense``, an ONNX
  ``Einsum`` by an initializer): parameters the weight's elements plus the bias over
  ``bias_axes``; MACs as for ``Einsum``.

These are the products torchvision's ``_ops`` counts besides convolutions and linear layers: with
them conv + linear + matmul equals ``_ops`` for the whole torchvision catalogue (ViT-B/16 17.564
GFLOPS; without the attention products 16.849). docs/conventions.md writes the MACs out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..arith import equal, product
from .base import Layer, SpecError
from .handles import macs, parameters, twice_macs
from .merge import broadcast_shape
from .registry import Absent, Counts, Kind, Rule, ignored, register


@dataclass(frozen=True)
class MatMul(Layer):
    """``a @ b`` of two computed tensors (``np.matmul``'s rules: batched, broadcasting)."""

    branches: tuple = ()

    def __post_init__(self):
        object.__setattr__(self, "branches", tuple(self.branches))


@dataclass(frozen=True)
class Einsum(Layer):
    """``np.einsum(equation, a, b)`` of two computed tensors; the equation includes the batch index."""

    equation: str = "bij,bjk->bik"
    branches: tuple = ()

    def __post_init__(self):
        object.__setattr__(self, "branches", tuple(self.branches))


@dataclass(frozen=True)
class EinsumDense(Layer):
    """``np.einsum(equation, x, w) + bias`` with a learned ``w`` of ``weight`` dimensions (Keras'
    ``EinsumDense``); ``bias_axes``: the output letters the bias spans ('' for none)."""

    equation: str = "ab,bc->ac"
    weight: tuple = ()
    bias_axes: str = ""

    def __post_init__(self):
        object.__setattr__(self, "weight", tuple(self.weight))


def _fmt(shape) -> str:
    return "x".join(map(str, shape)) or "a scalar"


# ------------------------------------------------------------------------------------------------
# MatMul
# ------------------------------------------------------------------------------------------------


def matmul_shape(layer: MatMul, outputs, warn):
    if len(outputs) != 2:
        raise SpecError(f"layer '{layer.name}' (MatMul) multiplies 2 tensors, got {len(outputs)}")
    a, b = (tuple(o) for o in outputs)
    if not a or not b:
        raise SpecError(f"layer '{layer.name}' (MatMul): a scalar operand ({_fmt(a)} @ {_fmt(b)})")
    a2 = (1, *a) if len(a) == 1 else a
    b2 = (*b, 1) if len(b) == 1 else b
    if equal(a2[-1], b2[-2]) is False:
        raise SpecError(
            f"layer '{layer.name}' (MatMul): {_fmt(a)} @ {_fmt(b)}: the inner sizes {a2[-1]} and {b2[-2]} differ"
        )
    batch = broadcast_shape(layer, [a2[:-2], b2[:-2]], warn) if (len(a2) > 2 or len(b2) > 2) else ()
    out = (*batch, a2[-2], b2[-1])
    if len(a) == 1:
        out = out[:-2] + out[-1:]
    if len(b) == 1:
        out = out[:-1]
    return out


def matmul_counts(layer: MatMul, in_shape, out_shape):
    """``k`` multiply-accumulates per output element (``in_shape`` is the first operand's)."""
    k = in_shape[-1]
    return Counts(macs=product(out_shape) * k)


# ------------------------------------------------------------------------------------------------
# Einsum equations
# ------------------------------------------------------------------------------------------------


def parse_equation(layer, equation: str, ranks) -> tuple[list[str], str]:
    """The operands' index strings and the output's, ``...`` expanded to letters that the equation
    does not use, checked against the operands' ranks (batch axis included)."""
    text = equation.replace(" ", "")
    if "->" not in text:
        raise SpecError(f"layer '{layer.name}' ({layer.kind}): equation '{equation}' has no '->' (an implicit output is not read)")
    left, out = text.split("->")
    terms = left.split(",")
    if len(terms) != len(ranks):
        raise SpecError(f"layer '{layer.name}' ({layer.kind}): equation '{equation}' has {len(terms)} operands, the layer {len(ranks)}")
    used = set(re.sub(r"[^A-Za-z]", "", text))
    spare = [c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" if c not in used]
    wide = max((rank - (len(t) - 3) for t, rank in zip(terms, ranks) if "..." in t), default=0)
    dots = "".join(spare[:wide])
    expanded = []
    for t, rank in zip(terms, ranks):
        if "..." in t:
            n = rank - (len(t) - 3)
            t = t.replace("...", dots[wide - n:] if n > 0 else "")
        if not re.fullmatch(r"[A-Za-z]*", t) or len(t) != rank:
            raise SpecError(f"layer '{layer.name}' ({layer.kind}): equation term '{t}' does not fit a rank-{rank} operand")
        expanded.append(t)
    out = out.replace("...", dots)
    if not re.fullmatch(r"[A-Za-z]*", out) or len(set(out)) != len(out) or set(out) - set("".join(expanded)):
        raise SpecError(f"layer '{layer.name}' ({layer.kind}): output '{out}' of equation '{equation}' is not made of its operands' indices")
    return expanded, out


def _sizes(layer, terms, shapes) -> dict:
    """Each index letter's size; a size 1 broadcasts (NumPy's einsum)."""
    sizes: dict = {}
    for term, shape in zip(terms, shapes):
        for letter, size in zip(term, shape):
            old = sizes.get(letter)
            if old is None or (isinstance(old, int) and old == 1):
                sizes[letter] = size
            elif not (isinstance(size, int) and size == 1) and equal(old, size) is False:
                raise SpecError(f"layer '{layer.name}' ({layer.kind}): index '{letter}' is {old} in one operand and {size} in another")
    return sizes


def _einsum(layer, equation, shapes, batched):
    """``(output per-sample shape, MACs)``; ``batched[i]``: operand ``i`` has the batch axis first."""
    full = [((1, *s) if b else tuple(s)) for s, b in zip(shapes, batched)]
    terms, out = parse_equation(layer, equation, [len(s) for s in full])
    batch = {t[0] for t, b in zip(terms, batched) if b}
    if len(batch) != 1 or not out or out[0] not in batch:
        raise SpecError(
            f"layer '{layer.name}' ({layer.kind}): equation '{equation}' moves the batch axis (each input's and the output's first index must be one letter)"
        )
    sizes = _sizes(layer, terms, full)
    shape = tuple(sizes[c] for c in out[1:])
    return shape, product(sizes.values())


def einsum_shape(layer: Einsum, outputs, warn):
    if len(outputs) != 2:
        raise SpecError(f"layer '{layer.name}' (Einsum) multiplies 2 tensors, got {len(outputs)}")
    terms, out = parse_equation(layer, layer.equation, [len(o) + 1 for o in outputs])
    alone = set(terms[1]) - set(terms[0]) - set(out)
    if alone:
        # the engine gives a merge's counts the first operand and the output: every index of the
        # sum must be in one of them (an index summed over the second operand alone is a
        # reduction before the product, which no exporter writes)
        raise SpecError(
            f"layer '{layer.name}' (Einsum): index {''.join(sorted(alone))} of '{layer.equation}' is summed over the second operand alone: reduce it first"
        )
    return _einsum(layer, layer.equation, outputs, (True, True))[0]


def einsum_counts(layer: Einsum, in_shape, out_shape):
    """One MAC per term of the sum: the product of every index's size (the first operand's and
    the output's indices cover them all: :func:`einsum_shape`)."""
    left = layer.equation.replace(" ", "").split("->")[0].split(",")
    dots = len(in_shape) + 1 - (len(left[0]) - 3) if "..." in left[0] else 0
    rank2 = len(left[1]) - 3 + dots if "..." in left[1] else len(left[1])
    terms, out = parse_equation(layer, layer.equation, [len(in_shape) + 1, rank2])
    sizes = dict(zip(terms[0], (1, *in_shape)))
    sizes.update(zip(out, (1, *out_shape)))
    return Counts(macs=product(sizes.values()))


def einsum_dense_shape(layer: EinsumDense, in_shape, warn):
    shape, _ = _einsum(layer, layer.equation, [in_shape, layer.weight], (True, False))
    return shape


def einsum_dense_counts(layer: EinsumDense, in_shape, out_shape):
    _, macs_ = _einsum(layer, layer.equation, [in_shape, layer.weight], (True, False))
    _, out = parse_equation(layer, layer.equation, [len(in_shape) + 1, len(layer.weight)])
    bias = product(out_shape[out.index(c) - 1] for c in layer.bias_axes if c in out[1:]) if layer.bias_axes else 0
    return Counts(weights=product(layer.weight), biases=bias, macs=macs_)


# ------------------------------------------------------------------------------------------------
# Keras
# ------------------------------------------------------------------------------------------------


def _keras_matmul(b, layer: MatMul, outputs, qualified):
    return b.custom.MatMul(name=b.name(qualified))(outputs)


def _keras_einsum(b, layer: Einsum, outputs, qualified):
    return b.custom.Einsum(layer.equation, name=b.name(qualified))(outputs)


def _keras_einsum_dense(b, layer: EinsumDense, x, qualified):
    shape = _einsum(layer, layer.equation, [tuple(int(v) for v in x.shape[1:]), layer.weight], (True, False))[0]
    return b.keras.layers.EinsumDense(layer.equation, output_shape=list(shape), bias_axes=layer.bias_axes or None, name=b.name(qualified))(x)


_NO_ARROW = Absent("no arrow word: a product of tensors is built in Python (cnncalc.spec) or imported")

# fvcore matmul_flop_jit / bmm_flop_jit / einsum_flop_jit and torchvision's _ops: MACs; the TF
# profiler's _calc_batch_mat_mul_flops: 2 k x output elements (2 x MACs). ptflops counts
# torch.matmul only with count_functional=True (the preset is count_functional=False) and
# torchinfo counts parameters, which a product of two tensors has none of.
_PRODUCT_OPS = {
    "macs": macs,
    "flops": twice_macs,
    "torchvision": macs,
    "fvcore": macs,
    **ignored("ptflops", "torchinfo"),
    "tf-profiler": twice_macs,
}

for _cls, _shape, _counts, _prefix, _keras in (
    (MatMul, matmul_shape, matmul_counts, "matmul", _keras_matmul),
    (Einsum, einsum_shape, einsum_counts, "einsum", _keras_einsum),
):
    register(
        Kind(
            _cls,
            rule=Rule(shape=_shape, counts=_counts, tracks_field=False),
            prefix=_prefix,
            notation=_NO_ARROW,
            keras=_keras,
            strings={},
            ops=_PRODUCT_OPS,
            merge=True,
        )
    )

register(
    Kind(
        EinsumDense,
        rule=Rule(shape=einsum_dense_shape, counts=einsum_dense_counts, tracks_field=False),
        prefix="einsum_dense",
        notation=_NO_ARROW,
        keras=_keras_einsum_dense,
        strings={},
        # a dense layer on chosen axes: counted as Keras' Dense is (ptflops' linear hook: MACs +
        # bias adds; torchinfo: its parameters)
        ops={
            **_PRODUCT_OPS,
            "ptflops": lambda row: row.macs + (product(row.output) if row.biases else 0),
            "torchinfo": parameters,
        },
    )
)
