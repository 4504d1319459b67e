"""VGG11/13/16/19: Simonyan & Zisserman, "Very Deep Convolutional Networks for Large-Scale Image
Recognition", ICLR 2015, Table 1 (configurations A, B, D, E). 3x3 convolutions with stride 1 and
'same' padding, 2x2 max pools with stride 2, then FC-4096, FC-4096, FC-classes with softmax.
"""

from __future__ import annotations

from ..spec import Activation, Conv2D, Dense, Flatten, MaxPool2D, Spec, sequential
from . import register
from ._common import first_sentence, input_layer

# Convolutions per block for configurations A (11), B (13), D (16), E (19).
BLOCKS = {11: (1, 1, 2, 2, 2), 13: (2, 2, 2, 2, 2), 16: (2, 2, 3, 3, 3), 19: (2, 2, 4, 4, 4)}
WIDTHS = (64, 128, 256, 512, 512)


def vgg(depth: int, input=(224, 224, 3), classes: int = 1000) -> Spec:
    """VGG-``depth`` (11, 13, 16, 19) as in Table 1 of the paper; layers named ``conv<block>_<i>``."""
    layers = [input_layer(input)]
    for block, (count, width) in enumerate(zip(BLOCKS[depth], WIDTHS), start=1):
        for i in range(1, count + 1):
            layers += [
                Conv2D(width, 3, padding="same", name=f"conv{block}_{i}"),
                Activation("relu", name=f"relu{block}_{i}"),
            ]
        layers.append(MaxPool2D(2, 2, name=f"pool{block}"))
    layers += [
        Flatten(name="flatten"),
        Dense(4096, name="fc6"),
        Activation("relu", name="relu6"),
        Dense(4096, name="fc7"),
        Activation("relu", name="relu7"),
        Dense(classes, name="fc8"),
        Activation("softmax", name="softmax"),
    ]
    return Spec(sequential(*layers), model=f"vgg{depth}", description=first_sentence(__doc__))


for _depth in BLOCKS:

    def _build(input=(224, 224, 3), classes=1000, _depth=_depth):
        return vgg(_depth, input=input, classes=classes)

    _build.__doc__ = f"VGG{_depth} (configuration {'ABDE'[list(BLOCKS).index(_depth)]}), Simonyan & Zisserman 2015, Table 1."
    register(f"vgg{_depth}", f"VGG{_depth}, Simonyan & Zisserman 2015 Table 1 (224x224x3, {sum(BLOCKS[_depth])} convs + 3 FC)")(_build)
