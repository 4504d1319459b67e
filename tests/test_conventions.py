"""Operation counts under other tools' conventions (docs/conventions.md cites each rule's file)."""

import io

import pytest

import cnncalc
from cnncalc import zoo
from cnncalc.cli import main
from cnncalc.conventions import CONVENTIONS, get
from cnncalc.spec import SpecError

# INPUT-4x4x2 -> CONV3-3 (same, bias) -> RELU -> POOL2 -> FC-5, worked by hand:
#   conv: 4x4 outputs x 3 filters x 3x3x2 = 864 MACs; 48 output elements (bias adds)
#   relu: 48 elements; pool: 48 input elements, 2x2 window x 12 outputs = 48
#   fc: 12 x 5 = 60 MACs, 5 bias adds
SMALL = "INPUT-4x4x2 -> CONV3-3 -> RELU -> POOL2 -> FC-5"
EXPECTED = {
    "macs": 864 + 60,
    "flops": 2 * (864 + 60),
    "torchvision": 864 + 60,
    "fvcore": 864 + 60,  # jit_handles.conv_flop_count: "addition and bias is ignored"
    "ptflops": (864 + 48) + 48 + 48 + (60 + 5),  # conv+bias, relu, pool input, linear+bias
    "torchinfo": (54 + 3) * 16 + (60 + 5),  # layer_info.calculate_macs: params x output positions
    "tf-profiler": (2 * 864 + 48) + 4 * 12 + (2 * 60 + 5),  # Conv2D+BiasAdd, MaxPool, MatMul+BiasAdd
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_small_network_by_hand(name):
    a = cnncalc.analyze(cnncalc.parse(SMALL))
    assert get(name).total(a) == EXPECTED[name]


def test_every_convention_is_pinned():
    assert set(CONVENTIONS) == set(EXPECTED)


def test_batchnorm_rules():
    a = cnncalc.analyze(cnncalc.parse("INPUT-4x4x2 -> BN"))
    assert get("fvcore").total(a) == 2 * 32  # batchnorm_flop_jit, eval, affine
    assert get("ptflops").total(a) == 2 * 32  # bn_flops_counter_hook, affine
    assert get("torchinfo").total(a) == 2 * 2  # gamma + beta parameters x batch 1
    assert get("macs").total(a) == 0


def test_vgg19_torchvision_ops_metadata():
    # torchvision VGG19_Weights.IMAGENET1K_V1.meta["_ops"] == 19.632 (GFLOPS, i.e. MACs)
    a = cnncalc.analyze(zoo.get("vgg19"))
    assert get("torchvision").total(a) == 19_632_062_464
    assert round(get("torchvision").total(a) / 1e9, 3) == 19.632
    assert get("flops").total(a) == 2 * 19_632_062_464


def test_cli_convention_column_and_summary():
    out, err = io.StringIO(), io.StringIO()
    assert main(["inception-naive", "--table", "--convention", "flops"], out=out, err=err) == 0
    text = out.getvalue()
    assert "FLOPs [flops]" in text
    assert "2,231,369,728" in text  # 2 x 1,115,684,864


def test_unknown_convention_is_a_usage_error():
    out, err = io.StringIO(), io.StringIO()
    assert main(["vgg19", "--convention", "thop"], out=out, err=err) == 2
    assert err.getvalue().startswith("error:")
    with pytest.raises(SpecError):
        get("thop")
