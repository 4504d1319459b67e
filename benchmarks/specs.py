"""Specs the benchmarks analyse: CIFAR ResNets (6n+2 layers) and long synthetic chains.

Built here from :mod:`cnncalc.spec` so the benchmarks do not depend on which zoo entries exist.
"""

from __future__ import annotations

from cnncalc.spec import (
    Activation,
    Add,
    BatchNorm,
    Conv2D,
    Dense,
    GlobalAvgPool2D,
    Input,
    Sequential,
    Spec,
)


def _conv_bn(filters, kernel, stride):
    return [Conv2D(filters, kernel, stride, "same", bias=False), BatchNorm()]


def resnet_cifar(depth: int, *, input=(32, 32, 3), classes: int = 10) -> Spec:
    """The CIFAR ResNet of He et al. (2016, section 4.2): ``depth = 6n + 2`` weighted layers.

    A 3x3 conv with 16 filters, three stages of ``n`` basic blocks (16, 32, 64 filters, the first
    block of stages 2 and 3 with stride 2), global average pooling and a ``classes``-way FC.
    Shortcuts are identities, or a 1x1 conv + BN projection where the shape changes (option B,
    as the Keras CIFAR example).
    """
    if depth < 8 or (depth - 2) % 6:
        raise ValueError(f"a CIFAR ResNet has 6n+2 layers, got {depth}")
    n = (depth - 2) // 6
    h, w, c = input
    layers = [Input(h, w, c, name="input"), *_conv_bn(16, 3, 1), Activation("relu")]
    channels = 16
    for stage, filters in enumerate((16, 32, 64)):
        for block in range(n):
            stride = 2 if stage > 0 and block == 0 else 1
            residual = Sequential((*_conv_bn(filters, 3, stride), Activation("relu"), *_conv_bn(filters, 3, 1)))
            if stride != 1 or filters != channels:
                shortcut = Sequential(tuple(_conv_bn(filters, 1, stride)))
            else:
                shortcut = Sequential(())
            layers += [Add((residual, shortcut)), Activation("relu")]
            channels = filters
    layers += [GlobalAvgPool2D(), Dense(classes), Activation("softmax")]
    return Spec(Sequential(tuple(layers)), model=f"resnet{depth}-cifar")


def conv_chain(n_layers: int, *, input=(32, 32, 3), filters: int = 16) -> Spec:
    """A plain chain of ``n_layers`` leaf layers after the input: (conv3 -> BN -> ReLU) repeated."""
    unit = (lambda: Conv2D(filters, 3), BatchNorm, lambda: Activation("relu"))
    h, w, c = input
    layers = [Input(h, w, c, name="input")]
    layers += [unit[i % 3]() for i in range(n_layers)]
    return Spec(Sequential(tuple(layers)), model=f"chain{n_layers}")


def count_layers(spec: Spec) -> int:
    """Rows the analysis produces (leaves, Add/Concat merges and the input)."""
    from cnncalc.traverse import walk

    return sum(1 for _path, node in walk(spec.root) if not isinstance(node, Sequential))
