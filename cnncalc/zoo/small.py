"""Small networks for the exercises: LeNet-5, a CIFAR-10 MLP and the CS231n ConvNet patterns.

- ``lenet5``: LeCun, Bottou, Bengio & Haffner, "Gradient-Based Learning Applied to Document
  Recognition", Proc. IEEE 1998, section II.B and Figure 2 (modern reading, see its docstring).
- ``mlp``: a two-hidden-layer perceptron on flattened CIFAR-10 images.
- ``cs231n-a/b/c``: the three "good architectures to try" of the CS231n (Stanford, Spring 2017-)
  assignment 2 open-ended CIFAR-10 challenge (``TensorFlow.ipynb`` / ``PyTorch.ipynb``, "Things
  you might try: Network architecture"):

  a. ``[conv-relu-pool]xN -> [affine]xM -> [softmax or SVM]``
  b. ``[conv-relu-conv-relu-pool]xN -> [affine]xM -> [softmax or SVM]``
  c. ``[batchnorm-relu-conv]xN -> [affine]xM -> [softmax or SVM]``

  The assignment fixes only these patterns, not N, M or the widths; the concrete defaults here
  (3x3 'same' convolutions, 32 filters doubling per pooling stage, 2x2 max pools, 512 hidden
  units) are this project's choices, documented per entry and all overridable.
"""

from __future__ import annotations

from ..spec import (
    Activation,
    AvgPool2D,
    BatchNorm,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    MaxPool2D,
    Spec,
    SpecError,
    sequential,
)
from . import register
from ._common import input_layer


@register("lenet5", "LeNet-5, LeCun et al. 1998 (32x32x1, tanh, average pools, full C3), 10 classes")
def lenet5(input=(32, 32, 1), classes: int = 10) -> Spec:
    """LeNet-5 (LeCun et al. 1998, section II.B, Figure 2), in its common modern reading.

    C1 conv 5x5 6 -> S2 avg pool 2 -> C3 conv 5x5 16 -> S4 avg pool 2 -> C5 conv 5x5 120 ->
    F6 dense 84 -> output dense 10 (softmax); tanh after C1, C3, C5 and F6. 61,706 parameters.

    Differences from the paper, all stated there: C3 connects each of its 16 maps to only a
    subset of S2's 6 maps (Table I: 60 of the 96 map pairs, 1,516 parameters); here C3 is fully
    connected (5*5*6*16 + 16 = 2,416 parameters, 900 more). S2 and S4 in the paper multiply the
    pooled sum by a trainable coefficient and add a trainable bias (12 and 32 parameters); here
    they are plain average pools (none). The output layer is a Euclidean RBF layer with fixed
    84x10 codes in the paper; here a dense softmax layer (850 parameters). The paper's network
    has 60,000 trainable parameters (C1 156, S2 12, C3 1,516, S4 32, C5 48,120, F6 10,164).
    """
    layers = [
        input_layer(input),
        Conv2D(6, 5, 1, "valid", name="c1"),
        Activation("tanh", name="tanh1"),
        AvgPool2D(2, 2, name="s2"),
        Conv2D(16, 5, 1, "valid", name="c3"),
        Activation("tanh", name="tanh3"),
        AvgPool2D(2, 2, name="s4"),
        Conv2D(120, 5, 1, "valid", name="c5"),
        Activation("tanh", name="tanh5"),
        Flatten(name="flatten"),
        Dense(84, name="f6"),
        Activation("tanh", name="tanh6"),
        Dense(classes, name="output"),
        Activation("softmax", name="softmax"),
    ]
    return Spec(sequential(*layers), model="lenet5", description="LeNet-5, LeCun et al. 1998")


@register("mlp", "MLP on CIFAR-10: flatten 32x32x3 -> Dense 1000 ReLU -> Dense 1000 ReLU -> Dense 10 softmax")
def mlp(
    input=(32, 32, 3), classes: int = 10, hidden: int = 1000, depth: int = 2, input_dropout: float = 0.0, dropout: float = 0.0
) -> Spec:
    """A multilayer perceptron: flatten, ``depth`` hidden Dense(``hidden``) + ReLU, Dense + softmax.

    At the CIFAR-10 default (32x32x3, two hidden layers of 1000): 3072*1000 + 1000 +
    1000*1000 + 1000 + 1000*10 + 10 = 4,084,010 parameters.

    ``input_dropout`` inserts a Dropout of that rate after the flatten (on the pixels) and
    ``dropout`` one after each hidden ReLU (Srivastava et al. 2014: 0.2 on the input, 0.5 on
    hidden units). Each is added only when its rate is > 0, so the default network is unchanged;
    dropout has no parameters, so the counts are the same either way.
    """
    for label, rate in (("input_dropout", input_dropout), ("dropout", dropout)):
        if not 0.0 <= rate < 1.0:
            raise SpecError(f"{label} must lie in [0, 1), got {rate}")
    layers = [input_layer(input), Flatten(name="flatten")]
    if input_dropout:
        layers.append(Dropout(input_dropout, name="dropout_input"))
    for i in range(1, depth + 1):
        layers += [Dense(hidden, name=f"fc{i}"), Activation("relu", name=f"relu{i}")]
        if dropout:
            layers.append(Dropout(dropout, name=f"dropout{i}"))
    layers += [Dense(classes, name=f"fc{depth + 1}"), Activation("softmax", name="softmax")]
    return Spec(sequential(*layers), model="mlp", description="Multilayer perceptron")


# --------------------------------------------------------------------------------------------
# CS231n assignment 2: "Good architectures to try"
# --------------------------------------------------------------------------------------------


def _check(n, m):
    if n < 1 or m < 1:
        raise SpecError(f"N (conv stages) and M (affine layers) must be >= 1, got N={n}, M={m}")


def _affine_head(m, hidden, classes, dropout=0.0) -> list:
    """``[affine]xM``: M-1 hidden affine + ReLU layers, then the class scores and a softmax."""
    layers = [Flatten(name="flatten")]
    for i in range(1, m):
        if dropout:
            layers.append(Dropout(dropout, name=f"dropout{i}"))
        layers += [Dense(hidden, name=f"fc{i}"), Activation("relu", name=f"relu_fc{i}")]
    if dropout:
        layers.append(Dropout(dropout, name=f"dropout{m}"))
    layers += [Dense(classes, name=f"fc{m}"), Activation("softmax", name="softmax")]
    return layers


@register("cs231n-a", "CS231n a2 pattern [conv-relu-pool]xN -> [affine]xM (N=3, M=2, 3x3 convs 32/64/128), CIFAR-10")
def cs231n_a(input=(32, 32, 3), classes: int = 10, n: int = 3, m: int = 2, filters: int = 32, hidden: int = 512) -> Spec:
    """CS231n assignment 2 pattern a: ``[conv-relu-pool]xN -> [affine]xM -> softmax``.

    Defaults (this project's choice; the assignment fixes only the pattern): N = 3 stages of a
    3x3 'same' conv with ``filters * 2**i`` filters (32, 64, 128), ReLU and a 2x2 max pool
    (32 -> 16 -> 8 -> 4), then M = 2 affine layers (512 + ReLU, 10) and softmax.
    At 32x32x3: 1,147,466 parameters.
    """
    _check(n, m)
    layers = [input_layer(input)]
    for i in range(1, n + 1):
        layers += [
            Conv2D(filters * 2 ** (i - 1), 3, 1, "same", name=f"conv{i}"),
            Activation("relu", name=f"relu{i}"),
            MaxPool2D(2, 2, name=f"pool{i}"),
        ]
    layers += _affine_head(m, hidden, classes)
    return Spec(sequential(*layers), model="cs231n-a", description="CS231n [conv-relu-pool]xN -> [affine]xM")


@register("cs231n-b", "CS231n a2 pattern [conv-relu-conv-relu-pool]xN -> [affine]xM (N=3, M=2), CIFAR-10")
def cs231n_b(input=(32, 32, 3), classes: int = 10, n: int = 3, m: int = 2, filters: int = 32, hidden: int = 512) -> Spec:
    """CS231n assignment 2 pattern b: ``[conv-relu-conv-relu-pool]xN -> [affine]xM -> softmax``.

    Defaults (this project's choice): N = 3 stages of two 3x3 'same' convs with 32, 64, 128
    filters, each followed by ReLU, then a 2x2 max pool; M = 2 affine layers (512 + ReLU, 10).
    At 32x32x3: 1,341,226 parameters.
    """
    _check(n, m)
    layers = [input_layer(input)]
    for i in range(1, n + 1):
        width = filters * 2 ** (i - 1)
        layers += [
            Conv2D(width, 3, 1, "same", name=f"conv{i}_1"),
            Activation("relu", name=f"relu{i}_1"),
            Conv2D(width, 3, 1, "same", name=f"conv{i}_2"),
            Activation("relu", name=f"relu{i}_2"),
            MaxPool2D(2, 2, name=f"pool{i}"),
        ]
    layers += _affine_head(m, hidden, classes)
    return Spec(sequential(*layers), model="cs231n-b", description="CS231n [conv-relu-conv-relu-pool]xN -> [affine]xM")


@register("cs231n-c", "CS231n a2 pattern [batchnorm-relu-conv]xN -> [affine]xM (N=6, pool every 2, dropout), CIFAR-10")
def cs231n_c(
    input=(32, 32, 3), classes: int = 10, n: int = 6, m: int = 2, filters: int = 32, hidden: int = 512, dropout: float = 0.5
) -> Spec:
    """CS231n assignment 2 pattern c: ``[batchnorm-relu-conv]xN -> [affine]xM -> softmax``.

    Pre-activation units (batchnorm -> ReLU -> 3x3 'same' conv, conv without bias since a BN
    follows it). Defaults (this project's choice, the assignment fixes only the pattern): a 3x3
    stem conv with ``filters`` filters so the first BN sees features rather than pixels, then
    N = 6 units in stages of two with 32, 64, 128 filters, a 2x2 max pool after each stage
    (32 -> 16 -> 8 -> 4), a final BN + ReLU, and M = 2 affine layers (512 + ReLU, 10), each
    preceded by dropout 0.5 (the assignment's "perhaps use Dropout"). N must be even.
    At 32x32x3: 1,351,946 parameters, 960 of them non-trainable.
    """
    _check(n, m)
    if n % 2:
        raise SpecError(f"cs231n-c stacks its units in pairs before each pool: N must be even, got {n}")
    layers = [input_layer(input), Conv2D(filters, 3, 1, "same", name="stem")]
    for unit in range(1, n + 1):
        stage = (unit + 1) // 2
        layers += [
            BatchNorm(name=f"bn{unit}"),
            Activation("relu", name=f"relu{unit}"),
            Conv2D(filters * 2 ** (stage - 1), 3, 1, "same", bias=False, name=f"conv{unit}"),
        ]
        if unit % 2 == 0:
            layers.append(MaxPool2D(2, 2, name=f"pool{stage}"))
    layers += [BatchNorm(name="bn_final"), Activation("relu", name="relu_final")]
    layers += _affine_head(m, hidden, classes, dropout)
    return Spec(sequential(*layers), model="cs231n-c", description="CS231n [batchnorm-relu-conv]xN -> [affine]xM")
