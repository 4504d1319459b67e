"""Reshape: the same elements under another per-sample shape (a view, as Keras' ``Reshape``).

``target_shape`` may hold one ``-1``, inferred from the element count. A view adds no activations
and no parameters; the receptive field is not carried through it (the pixels are rearranged),
except by the reshape of a vision transformer's patch embedding, ``H x W x C`` into ``HW`` tokens of
``C`` channels: each token is one position of the grid, with that position's field.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..arith import equal, known, product
from .base import Layer, SpecError
from .registry import Absent, Kind, Rule, ignored, register


@dataclass(frozen=True)
class Reshape(Layer):
    """The input's elements as ``target_shape`` (per sample; one entry may be ``-1``)."""

    target_shape: tuple = ()

    def __post_init__(self):
        object.__setattr__(self, "target_shape", tuple(self.target_shape))


def reshape_shape(layer: Reshape, in_shape, warn):
    target = layer.target_shape
    if not target:
        raise SpecError(f"layer '{layer.name}' (Reshape) has no target shape")
    unknown = [i for i, v in enumerate(target) if isinstance(v, int) and v == -1]
    if len(unknown) > 1:
        raise SpecError(f"layer '{layer.name}' (Reshape): at most one -1 in the target shape, got {target}")
    elements = product(in_shape)
    if unknown:
        rest = product(v for i, v in enumerate(target) if i != unknown[0])
        if known(rest) and known(elements) and elements % rest:
            raise SpecError(f"layer '{layer.name}' (Reshape): {elements} elements do not fill a shape {target}")
        out = list(target)
        out[unknown[0]] = elements // rest if known(elements) and known(rest) else elements / rest
        return tuple(out)
    if equal(product(target), elements) is False:
        shape = "x".join(map(str, in_shape))
        raise SpecError(f"layer '{layer.name}' (Reshape): {shape} ({elements} elements) cannot become {target} ({product(target)} elements)")
    return target


def flattens_positions(layer, in_shape, out_shape) -> bool:
    """``H x W x C -> HW x C``: the positions of a grid become tokens, the channels stay."""
    return (
        len(in_shape) == 3 and len(out_shape) == 2
        and equal(out_shape[-1], in_shape[-1]) is True and equal(out_shape[0], in_shape[0] * in_shape[1]) is True
    )


def _keras(b, layer: Reshape, x, qualified):
    return b.keras.layers.Reshape(layer.target_shape, name=b.name(qualified))(x)


register(
    Kind(
        Reshape,
        rule=Rule(shape=reshape_shape, materializes=False, tracks_field=flattens_positions),
        prefix="reshape",
        notation=Absent("no arrow word: build it in Python (cnncalc.spec) or import a Keras model"),
        keras=_keras,
        strings={},
        ops=ignored("macs", "flops", "torchvision", "fvcore", "ptflops", "torchinfo", "tf-profiler"),
    )
)
