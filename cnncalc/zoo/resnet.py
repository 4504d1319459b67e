"""Residual networks: He, Zhang, Ren & Sun, "Deep Residual Learning for Image Recognition", CVPR 2016.

A residual block is ``Add((Sequential(residual layers), Sequential(shortcut layers)))`` followed
by a ReLU; an empty shortcut Sequential is the identity. Blocks are named ``stage<s>_block<b>``.

- CIFAR ResNets (section 4.2): ``resnet20/32/44/56/110``, depth 6n+2, three stages of n basic
  blocks with 16, 32, 64 filters on 32x32 inputs. ``shortcut="A"`` (the default, the paper's
  CIFAR choice) follows akamaster/pytorch_resnet_cifar10 ``resnet.py``; ``shortcut="B"`` follows
  the Keras example ``cifar10_resnet.py`` (``resnet_v1``).
- ImageNet ResNets (Table 1): ``resnet18/34/50`` as torchvision ``models/resnet.py`` ("v1.5":
  in bottlenecks the stride sits on the 3x3 convolution).
"""

from __future__ import annotations

from ..spec import (
    Activation,
    Add,
    AvgPool2D,
    BatchNorm,
    Conv2D,
    Dense,
    Flatten,
    GlobalAvgPool2D,
    MaxPool2D,
    PadShortcut,
    Sequential,
    Spec,
    SpecError,
    sequential,
)
from . import register
from ._common import input_layer

SHORTCUTS = ("A", "B")


def _torch_bn(name):
    """BatchNorm with PyTorch's defaults (eps 1e-5, momentum 0.1, i.e. Keras momentum 0.9)."""
    return BatchNorm(epsilon=1e-5, momentum=0.9, name=name)


def _block(name, residual, shortcut=()) -> list:
    return [Add((Sequential(tuple(residual)), Sequential(tuple(shortcut))), name=name), Activation("relu", name=f"{name}_relu")]


# --------------------------------------------------------------------------------------------
# CIFAR ResNets (He et al. 2016, section 4.2)
# --------------------------------------------------------------------------------------------


def _cifar_block_a(name, filters, stride, in_filters) -> list:
    """akamaster ``BasicBlock`` with option A: bias-free 3x3 convs, BN, zero-padded identity."""
    residual = [
        Conv2D(filters, 3, stride, 1, bias=False, name="conv1"),
        _torch_bn("bn1"),
        Activation("relu", name="relu1"),
        Conv2D(filters, 3, 1, 1, bias=False, name="conv2"),
        _torch_bn("bn2"),
    ]
    reshape = stride != 1 or in_filters != filters
    return _block(name, residual, [PadShortcut(filters, stride, name="shortcut")] if reshape else [])


def _cifar_block_b(name, filters, stride, in_filters) -> list:
    """Keras ``resnet_v1`` block: biased 'same' convs with BN; 1x1 biased projection, no BN."""
    residual = [
        Conv2D(filters, 3, stride, "same", name="conv1"),
        BatchNorm(name="bn1"),
        Activation("relu", name="relu1"),
        Conv2D(filters, 3, 1, "same", name="conv2"),
        BatchNorm(name="bn2"),
    ]
    reshape = stride != 1 or in_filters != filters
    return _block(name, residual, [Conv2D(filters, 1, stride, "same", name="shortcut_conv")] if reshape else [])


def cifar_resnet(depth: int, input=(32, 32, 3), classes: int = 10, shortcut: str = "A") -> Spec:
    """CIFAR ResNet-``depth`` (depth = 6n + 2), He et al. 2016 section 4.2.

    ``shortcut="A"`` (default): akamaster/pytorch_resnet_cifar10 ``resnet.py``: convs without bias,
    BN, identity shortcuts that subsample with stride 2 and zero-pad the new channels (parameter
    free), global average pool, linear. ResNet-44: 658,586 trainable parameters.

    ``shortcut="B"``: Keras example ``examples/cifar10_resnet.py`` ``resnet_v1``: convs with bias,
    BN, a 1x1 biased projection convolution without BN where the shape changes, 8x8 average pool,
    flatten, dense. ResNet-44: 665,994 parameters, 3,168 of them non-trainable.
    """
    if (depth - 2) % 6 or depth < 8:
        raise SpecError(f"a CIFAR ResNet has depth 6n+2 (20, 32, 44, 56, 110, ...), got {depth}")
    shortcut = str(shortcut).upper()
    if shortcut not in SHORTCUTS:
        raise SpecError(f"shortcut must be 'A' (zero-padded identity) or 'B' (1x1 projection), got '{shortcut}'")
    n = (depth - 2) // 6
    option_a = shortcut == "A"
    if option_a:
        layers = [input_layer(input), Conv2D(16, 3, 1, 1, bias=False, name="conv1"), _torch_bn("bn1")]
    else:
        layers = [input_layer(input), Conv2D(16, 3, 1, "same", name="conv1"), BatchNorm(name="bn1")]
    layers.append(Activation("relu", name="relu1"))
    block = _cifar_block_a if option_a else _cifar_block_b
    in_filters = 16
    for stage, filters in enumerate((16, 32, 64), start=1):
        for b in range(1, n + 1):
            stride = 2 if stage > 1 and b == 1 else 1
            layers += block(f"stage{stage}_block{b}", filters, stride, in_filters)
            in_filters = filters
    if option_a:
        layers += [GlobalAvgPool2D(name="avgpool")]
    else:
        layers += [AvgPool2D(8, name="avgpool"), Flatten(name="flatten")]
    layers += [Dense(classes, name="fc"), Activation("softmax", name="softmax")]
    model = f"resnet{depth}" + ("" if option_a else "-b")
    return Spec(sequential(*layers), model=model, description=f"CIFAR ResNet-{depth}, option {shortcut} shortcuts")


_CIFAR_SUMMARY = "CIFAR ResNet-{d} (He et al. 2016 sec. 4.2, 6n+2, n={n}), 32x32x3; shortcut='A' (default, zero-pad) or 'B' (1x1 projection)"

for _depth in (20, 32, 44, 56, 110):

    def _build(input=(32, 32, 3), classes=10, shortcut="A", _depth=_depth):
        return cifar_resnet(_depth, input=input, classes=classes, shortcut=shortcut)

    _build.__doc__ = (
        f"CIFAR ResNet-{_depth} (He et al. 2016, section 4.2): option A as akamaster/"
        f"pytorch_resnet_cifar10 (default), option B as the Keras cifar10_resnet.py resnet_v1."
    )
    register(f"resnet{_depth}", _CIFAR_SUMMARY.format(d=_depth, n=(_depth - 2) // 6))(_build)


# --------------------------------------------------------------------------------------------
# ImageNet ResNets, torchvision v1.5 (He et al. 2016, Table 1)
# --------------------------------------------------------------------------------------------


def _downsample(filters, stride) -> list:
    return [Conv2D(filters, 1, stride, 0, bias=False, name="downsample_conv"), _torch_bn("downsample_bn")]


def _basic_block(name, planes, stride, in_filters) -> tuple[list, int]:
    """torchvision ``BasicBlock``: 3x3 (stride) -> BN -> ReLU -> 3x3 -> BN; expansion 1."""
    residual = [
        Conv2D(planes, 3, stride, 1, bias=False, name="conv1"),
        _torch_bn("bn1"),
        Activation("relu", name="relu1"),
        Conv2D(planes, 3, 1, 1, bias=False, name="conv2"),
        _torch_bn("bn2"),
    ]
    reshape = stride != 1 or in_filters != planes
    return _block(name, residual, _downsample(planes, stride) if reshape else []), planes


def _bottleneck(name, planes, stride, in_filters) -> tuple[list, int]:
    """torchvision ``Bottleneck`` (v1.5): 1x1 -> 3x3 (stride) -> 1x1 x4, each with BN; expansion 4."""
    out = planes * 4
    residual = [
        Conv2D(planes, 1, 1, 0, bias=False, name="conv1"),
        _torch_bn("bn1"),
        Activation("relu", name="relu1"),
        Conv2D(planes, 3, stride, 1, bias=False, name="conv2"),
        _torch_bn("bn2"),
        Activation("relu", name="relu2"),
        Conv2D(out, 1, 1, 0, bias=False, name="conv3"),
        _torch_bn("bn3"),
    ]
    reshape = stride != 1 or in_filters != out
    return _block(name, residual, _downsample(out, stride) if reshape else []), out


IMAGENET = {18: (_basic_block, (2, 2, 2, 2)), 34: (_basic_block, (3, 4, 6, 3)), 50: (_bottleneck, (3, 4, 6, 3))}


def imagenet_resnet(depth: int, input=(224, 224, 3), classes: int = 1000) -> Spec:
    """ResNet-``depth`` (18, 34, 50) as torchvision ``models/resnet.py`` (He et al. 2016, Table 1).

    Stem: conv 7x7/2 (pad 3, no bias) -> BN -> ReLU -> max pool 3x3/2 (pad 1); four stages of
    64, 128, 256, 512 planes, the first block of stages 2-4 with stride 2 and a 1x1 projection +
    BN shortcut (also stage 1 of ResNet-50, where 64 -> 256 channels); global average pool, fc.
    Trainable parameters (torchvision ``num_params``): 11,689,512 / 21,797,672 / 25,557,032.
    """
    block, counts = IMAGENET[depth]
    layers = [
        input_layer(input),
        Conv2D(64, 7, 2, 3, bias=False, name="conv1"),
        _torch_bn("bn1"),
        Activation("relu", name="relu1"),
        MaxPool2D(3, 2, 1, name="maxpool"),
    ]
    in_filters = 64
    for stage, (count, planes) in enumerate(zip(counts, (64, 128, 256, 512)), start=1):
        for b in range(1, count + 1):
            stride = 2 if stage > 1 and b == 1 else 1
            block_layers, in_filters = block(f"stage{stage}_block{b}", planes, stride, in_filters)
            layers += block_layers
    layers += [GlobalAvgPool2D(name="avgpool"), Dense(classes, name="fc"), Activation("softmax", name="softmax")]
    return Spec(sequential(*layers), model=f"resnet{depth}", description=f"ResNet-{depth}, torchvision v1.5")


for _depth in IMAGENET:

    def _build(input=(224, 224, 3), classes=1000, _depth=_depth):
        return imagenet_resnet(_depth, input=input, classes=classes)

    _build.__doc__ = f"ResNet-{_depth}, He et al. 2016 Table 1, as torchvision models/resnet.py (v1.5)."
    register(f"resnet{_depth}", f"ResNet-{_depth} (He et al. 2016 Table 1), torchvision v1.5, 224x224x3")(_build)
