"""The zoo, pinned: given each network, these are its numbers, with the source of each number beside it.

Conventions are docs/design.md's: ``params`` = trainable + non-trainable (Keras ``count_params()``),
``trainable`` = what PyTorch tools call the parameter count, MACs = conv + dense multiply-adds.
"""

from __future__ import annotations

import pytest

from cnncalc.analysis import analyze
from cnncalc.spec import SpecError
from cnncalc.zoo import get, names

ALL = [
    "alexnet", "alexnet-ungrouped", "vgg11", "vgg13", "vgg16", "vgg19",
    "inception-naive", "inception-reduced", "googlenet", "minigooglenet",
    "resnet20", "resnet32", "resnet44", "resnet56", "resnet110", "resnet18", "resnet34", "resnet50",
    "lenet5", "mlp", "cs231n-a", "cs231n-b", "cs231n-c",
]  # fmt: skip

# Warnings that are true statements about the reference architecture at its reference input,
# kept on purpose (the calculator reports, it does not hide).
EXPECTED_WARNINGS = {
    # pyimagesearch MiniGoogLeNet at CIFAR's 32x32: the first downsample module's valid 3x3/2 conv
    # and pool give floor((32-3)/2)+1 = 15 and never read row/column 31 (31x31 would tile exactly).
    "minigooglenet": ("downsample1/3x3_conv", "downsample1/pool"),
}


def totals(name, **options):
    return analyze(get(name, **options)).totals


# --------------------------------------------------------------------------------------------
# The registry
# --------------------------------------------------------------------------------------------


def test_names_lists_every_entry_in_registration_order():
    assert names() == ALL


@pytest.mark.parametrize("name", ALL)
def test_every_entry_analyses_at_its_default_input_without_unexpected_warnings(name):
    result = analyze(get(name))
    flagged = tuple(w.split("'")[1] for w in result.warnings)
    assert flagged == EXPECTED_WARNINGS.get(name, ())
    assert result.totals.params > 0 and result.totals.macs > 0


@pytest.mark.parametrize("name", ALL)
def test_every_entry_takes_input_and_classes_options(name):
    default = analyze(get(name))
    if name.startswith("inception-"):  # single modules: no classifier, input only
        assert analyze(get(name, input=(16, 16, 256))).output[:2] == (16, 16)
        return
    assert analyze(get(name, classes=7)).output == (7,)
    assert analyze(get(name, input=default.input)).totals == default.totals


def test_every_entry_docstring_names_its_source():
    from cnncalc.zoo import entries

    for entry in entries():
        assert entry.build.__doc__ and len(entry.build.__doc__) > 40, entry.name


# --------------------------------------------------------------------------------------------
# VGG, AlexNet, inception modules (docs/design.md reference table)
# --------------------------------------------------------------------------------------------


def test_vgg19_parameters_with_biases_and_weights_only():
    t = totals("vgg19")
    assert t.params == 143_667_240  # Keras VGG19 count_params(); torchvision vgg19 num_params
    assert t.weights == 143_652_544  # weights only, as the textbook VGG table counts
    assert t.activations == 16_542_184  # docs/design.md: VGG19 activations with the input row


def test_vgg19_first_rows():
    rows = analyze(get("vgg19")).layers
    assert rows[0].activations == 224 * 224 * 3 == 150_528  # Table 1 of the exercise: INPUT
    assert rows[1].name == "conv1_1"
    assert rows[1].activations == 3_211_264  # 224*224*64
    assert rows[1].weights == 1_728  # 3*3*3*64


def test_alexnet_grouped_and_ungrouped():
    assert totals("alexnet").params == 60_965_224  # Keras Conv2D(groups=2), 227x227x3
    assert totals("alexnet-ungrouped").params == 62_378_344  # Keras, no grouping


def test_inception_modules_outputs_and_macs():
    naive = analyze(get("inception-naive"))
    assert naive.output == (32, 32, 672)  # 128 + 192 + 96 + 256 (pool passes 256 through)
    assert naive.totals.macs == 1_115_684_864  # docs/design.md, arithmetic
    reduced = analyze(get("inception-reduced"))
    assert reduced.output == (32, 32, 480)  # 128 + 192 + 96 + 64
    assert reduced.totals.macs == 397_410_304  # docs/design.md, arithmetic
    assert round(naive.totals.macs / reduced.totals.macs, 2) == 2.81  # "2.81x fewer"


# --------------------------------------------------------------------------------------------
# GoogLeNet: Szegedy et al., "Going Deeper with Convolutions", CVPR 2015, Table 1
# --------------------------------------------------------------------------------------------

# Table 1 columns "params" (in K = 1024 weights, biases not counted) and "ops" (in M = 10^6
# multiply-adds), per row: (input channels, #1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj).
TABLE1 = {
    "inception_3a": (192, 64, 96, 128, 16, 32, 32, 159, 128),
    "inception_3b": (256, 128, 128, 192, 32, 96, 64, 380, 304),
    "inception_4a": (480, 192, 96, 208, 16, 48, 64, 364, 73),
    "inception_4b": (512, 160, 112, 224, 24, 64, 64, 437, 88),
    "inception_4c": (512, 128, 128, 256, 24, 64, 64, 463, 100),
    "inception_4d": (512, 112, 144, 288, 32, 64, 64, 580, 119),
    "inception_4e": (528, 256, 160, 320, 32, 128, 128, 840, 170),
    "inception_5a": (832, 256, 160, 320, 32, 128, 128, 1072, 54),
    "inception_5b": (832, 384, 192, 384, 48, 128, 128, 1388, 71),
}
# Rows whose "params" entry disagrees with the row's own filter numbers by more than rounding
# (slips in the published table; the "ops" column of the same rows agrees, except 5a).
PARAMS_SLIPS = {"inception_4a", "inception_4c", "inception_4d", "inception_4e", "inception_5a", "inception_5b"}
OPS_SLIPS = {"inception_5a"}


def _googlenet_modules():
    result = analyze(get("googlenet"))
    sums: dict[str, list] = {}
    for row in result.layers:
        entry = sums.setdefault(row.name.split("/")[0], [0, 0])  # conv1/7x7_s2 -> conv1
        entry[0] += row.weights
        entry[1] += row.macs
    return result, sums


def test_googlenet_sizes_follow_table1():
    result = analyze(get("googlenet"))
    out = {row.name: row.output for row in result.layers}
    assert out["conv1/7x7_s2"] == (112, 112, 64)  # Table 1: 112x112x64
    assert out["pool1/3x3_s2"] == (56, 56, 64)
    assert out["conv2/3x3"] == (56, 56, 192)
    assert out["pool2/3x3_s2"] == (28, 28, 192)
    assert out["inception_3a"] == (28, 28, 256)
    assert out["inception_3b"] == (28, 28, 480)
    assert out["pool3/3x3_s2"] == (14, 14, 480)
    assert [out[f"inception_4{k}"][2] for k in "abcde"] == [512, 512, 512, 528, 832]
    assert out["pool4/3x3_s2"] == (7, 7, 832)
    assert out["inception_5a"] == (7, 7, 832)
    assert out["inception_5b"] == (7, 7, 1024)
    assert out["pool5/7x7_s1"] == (1, 1, 1024)
    assert result.output == (1000,)


@pytest.mark.parametrize("module", sorted(TABLE1))
def test_googlenet_inception_modules_against_table1(module):
    c_in, c1, r3, c3, r5, c5, pp, params_k, ops_m = TABLE1[module]
    side = {"3": 28, "4": 14, "5": 7}[module[-2]]
    _, sums = _googlenet_modules()
    weights, macs = sums[module]
    # Arithmetic from the row's own filter numbers: 1x1 convs on the input, 3x3 and 5x5 on reductions.
    expected = c_in * (c1 + r3 + r5 + pp) + 9 * r3 * c3 + 25 * r5 * c5
    assert weights == expected
    assert macs == side * side * expected
    if module in PARAMS_SLIPS:
        assert abs(weights / 1024 - params_k) > 2  # Table 1 slip: see PARAMS_SLIPS
    else:
        assert abs(weights / 1024 - params_k) <= 1  # Table 1, "params" column (K = 1024)
    if module in OPS_SLIPS:
        assert abs(macs / 1e6 - ops_m) > 2  # Table 1 slip: 7*7*1,042,432 = 51.1M, not 54M
    else:
        assert abs(macs / 1e6 - ops_m) < 1  # Table 1, "ops" column (M = 10^6)


def test_googlenet_stem_and_classifier_against_table1():
    _, sums = _googlenet_modules()
    conv1_w, conv1_m = sums["conv1"]
    assert conv1_w == 7 * 7 * 3 * 64 == 9_408
    assert conv1_m == 112 * 112 * 9_408 == 118_013_952
    # Table 1 prints 2.7K params and 34M ops for conv1: both ~3.5x too small (34M = 112*112*2.7K,
    # so the two columns agree with each other, not with a 7x7x3x64 kernel). A slip in the table.
    assert conv1_w / 1024 > 3 * 2.7
    conv2_w, conv2_m = sums["conv2"]
    assert conv2_w == 64 * 64 + 9 * 64 * 192 == 114_688  # Table 1: 112K (1x1 reduce + 3x3)
    assert abs(conv2_m / 1e6 - 360) < 1  # Table 1: 360M
    fc_w, fc_m = sums["loss3"]
    assert fc_w == 1024 * 1000 and fc_w / 1024 == 1000  # Table 1 "linear": 1000K params
    assert round(fc_m / 1e6) == 1  # Table 1: 1M ops


def test_googlenet_totals():
    t = totals("googlenet")
    # Caffe bvlc_googlenet without the auxiliary heads: 6,990,272 weights + 8,280 biases; the same
    # 6,998,552 is what Keras count_params() gives for Caffe-faithful ports (and test_zoo_keras).
    assert t.weights == 6_990_272
    assert t.biases == 8_280
    assert t.params == 6_998_552
    assert t.non_trainable == 0
    # Section 1 of the paper: "a computational budget of 1.5 billion multiply-adds"; Table 1's ops
    # column sums to 1,502M. Exact conv+linear MACs at 224x224x3 (conv1 slip included, see above):
    assert t.macs == 1_582_671_872


# --------------------------------------------------------------------------------------------
# MiniGoogLeNet (pyimagesearch)
# --------------------------------------------------------------------------------------------


def test_minigooglenet_parameters():
    result = analyze(get("minigooglenet"))
    assert result.totals.params == 1_654_522  # docs/design.md: Keras count_params(), 32x32x1, 10 classes
    assert result.totals.non_trainable == 3_424  # BN moving mean/variance: 2 * 1,712 channels
    # downsample: the conv's K maps beside the pooled maps of the previous inception (K1 + K3)
    assert result.row("downsample1").output == (15, 15, 80 + (32 + 48))
    assert result.row("downsample2").output == (7, 7, 96 + (48 + 96))
    assert result.row("inception8").output == (7, 7, 336)


# --------------------------------------------------------------------------------------------
# ResNets: He et al., CVPR 2016
# --------------------------------------------------------------------------------------------


def test_resnet44_option_a_as_akamaster():
    t = totals("resnet44")  # default shortcut="A"
    assert t.trainable == 658_586  # docs/design.md; akamaster/pytorch_resnet_cifar10 resnet.py (0.66M)
    assert t.non_trainable == 3_168  # BN running mean/var (buffers in PyTorch)
    assert t.params == 661_754


def test_resnet44_option_b_as_keras_example():
    t = totals("resnet44", shortcut="B")
    assert t.params == 665_994  # Keras examples cifar10_resnet.py resnet_v1(depth=44): count_params()
    assert t.non_trainable == 3_168  # Keras: non-trainable params
    # B - A, arithmetic: 43 conv biases (16*15 + 32*14 + 64*14 = 1,584) plus the two 1x1 biased
    # projections (16*32+32 + 32*64+64 = 2,656).
    assert t.params - totals("resnet44").params == 1_584 + 2_656


@pytest.mark.parametrize(
    "depth, trainable",
    # He et al. 2016 Table 6 and akamaster/pytorch_resnet_cifar10 resnet.py docstring:
    # 0.27M, 0.46M, 0.66M, 0.85M, 1.7M parameters (exact values: this calculator, 44 as docs/design.md)
    [(20, 269_722), (32, 464_154), (44, 658_586), (56, 853_018), (110, 1_727_962)],
)
def test_cifar_resnets_option_a(depth, trainable):
    result = analyze(get(f"resnet{depth}"))
    assert result.totals.trainable == trainable
    assert result.output == (10,)
    assert sum(1 for r in result.layers if r.kind == "Conv2D") + 1 == depth  # 6n+1 convs + fc


def test_cifar_resnet_option_a_shortcuts_are_parameter_free():
    result = analyze(get("resnet20"))
    pads = [r for r in result.layers if r.kind == "PadShortcut"]
    assert [r.name for r in pads] == ["stage2_block1/shortcut", "stage3_block1/shortcut"]
    assert [r.output for r in pads] == [(16, 16, 32), (8, 8, 64)]
    assert all(r.params == 0 for r in pads)


def test_cifar_resnet_rejects_bad_options():
    with pytest.raises(SpecError):
        get("resnet20", shortcut="C")


@pytest.mark.parametrize(
    "name, trainable, gmacs",
    # torchvision models/resnet.py weight metadata: "num_params" and "_ops" (GFLOPS column of the
    # docs). The _ops values were computed (pytorch/vision PR #6936) by counting convolution and
    # matmul/addmm multiply-adds only; batch norm, pooling, residual adds and ReLU are not counted,
    # which is exactly our MAC convention, so the two agree to the three printed decimals.
    [("resnet18", 11_689_512, 1.814), ("resnet34", 21_797_672, 3.664), ("resnet50", 25_557_032, 4.089)],
)
def test_imagenet_resnets_against_torchvision(name, trainable, gmacs):
    t = totals(name)
    assert t.trainable == trainable
    assert round(t.macs / 1e9, 3) == gmacs


def test_resnet50_exact():
    t = totals("resnet50")
    assert t.trainable == 25_557_032  # torchvision num_params
    assert t.non_trainable == 53_120  # BN running mean/var: 2 * 26,560 channels
    assert t.macs == 4_089_184_256  # conv + fc; torchvision _ops 4.089 (fvcore also gives 4.09G)


# --------------------------------------------------------------------------------------------
# Small networks
# --------------------------------------------------------------------------------------------


def test_lenet5():
    result = analyze(get("lenet5"))
    params = {r.name: r.params for r in result.layers if r.params}
    # LeCun et al. 1998 section II.B: C1 156, C5 48,120, F6 10,164 trainable parameters.
    assert params["c1"] == 156
    assert params["c5"] == 48_120
    assert params["f6"] == 10_164
    # C3 fully connected here: 5*5*6*16 + 16 = 2,416 (the paper's sparse Table I C3: 1,516).
    assert params["c3"] == 2_416
    assert params["output"] == 850  # dense 84 -> 10 (the paper: RBF units on fixed codes)
    assert result.totals.params == 61_706
    assert result.row("c5").output == (1, 1, 120)


def test_mlp():
    assert totals("mlp").params == 4_084_010  # 3072*1000+1000 + 1000*1000+1000 + 1000*10+10


def test_cs231n_patterns():
    # Arithmetic on the documented defaults (CS231n a2 patterns; N, M, widths are our choice).
    assert totals("cs231n-a").params == 896 + 18_496 + 73_856 + 1_049_088 + 5_130 == 1_147_466
    assert totals("cs231n-b").params == 1_341_226
    c = totals("cs231n-c")
    assert c.params == 1_351_946
    assert c.non_trainable == 2 * (32 + 32 + 32 + 64 + 64 + 128 + 128) == 960
    assert totals("cs231n-a", n=2, m=3).params == 896 + 18_496 + (8 * 8 * 64 * 512 + 512) + 262_656 + 5_130
