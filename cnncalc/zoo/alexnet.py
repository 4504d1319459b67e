"""AlexNet: Krizhevsky, Sutskever & Hinton, "ImageNet Classification with Deep Convolutional Neural
Networks", NIPS 2012, section 3 and Figure 2.

The paper's input is quoted as 224x224x3, but 11x11 stride-4 convolutions only tile 227 pixels
exactly (floor((224 - 11)/4) + 1 = 54.25 -> 54 drops columns); at 227 conv1 gives 55x55x96 as
the paper's figure shows. Padding follows the Caffe reference model (2 for conv2, 1 for conv3-5).
Conv2, conv4 and conv5 see only the kernels on their own GPU: ``groups=2``.
"""

from __future__ import annotations

from ..spec import LRN, Activation, Conv2D, Dense, Dropout, Flatten, MaxPool2D, Spec, sequential
from . import register
from ._common import first_sentence, input_layer


def alexnet(input=(227, 227, 3), classes: int = 1000, grouped: bool = True) -> Spec:
    """AlexNet with the paper's two-GPU grouping (``grouped=True``: 60,965,224 parameters)."""
    g = 2 if grouped else 1
    layers = [
        input_layer(input),
        Conv2D(96, 11, 4, "valid", name="conv1"),
        Activation("relu", name="relu1"),
        LRN(name="norm1"),
        MaxPool2D(3, 2, name="pool1"),
        Conv2D(256, 5, 1, 2, groups=g, name="conv2"),
        Activation("relu", name="relu2"),
        LRN(name="norm2"),
        MaxPool2D(3, 2, name="pool2"),
        Conv2D(384, 3, 1, 1, name="conv3"),
        Activation("relu", name="relu3"),
        Conv2D(384, 3, 1, 1, groups=g, name="conv4"),
        Activation("relu", name="relu4"),
        Conv2D(256, 3, 1, 1, groups=g, name="conv5"),
        Activation("relu", name="relu5"),
        MaxPool2D(3, 2, name="pool5"),
        Flatten(name="flatten"),
        Dense(4096, name="fc6"),
        Activation("relu", name="relu6"),
        Dropout(0.5, name="drop6"),
        Dense(4096, name="fc7"),
        Activation("relu", name="relu7"),
        Dropout(0.5, name="drop7"),
        Dense(classes, name="fc8"),
        Activation("softmax", name="softmax"),
    ]
    model = "alexnet" if grouped else "alexnet-ungrouped"
    return Spec(sequential(*layers), model=model, description=first_sentence(__doc__))


@register("alexnet", "AlexNet, Krizhevsky et al. 2012, two-GPU grouping (groups=2), 227x227x3")
def alexnet_grouped(input=(227, 227, 3), classes=1000) -> Spec:
    """AlexNet as in the paper (Krizhevsky et al. 2012): conv2/4/5 grouped over two GPUs."""
    return alexnet(input, classes, grouped=True)


@register("alexnet-ungrouped", "AlexNet on one device (no grouping), 227x227x3, as torchvision-free Keras ports")
def alexnet_ungrouped(input=(227, 227, 3), classes=1000) -> Spec:
    """AlexNet (Krizhevsky et al. 2012) with every convolution seeing all input channels."""
    return alexnet(input, classes, grouped=False)
