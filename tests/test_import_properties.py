"""Mutated model files (hypothesis; issue 27): whatever a ``.keras`` config or an ONNX graph says,
``cnncalc FILE`` ends in exit 0, or in exit 2 with exactly one ``error:`` line; never exit 3
("internal error"), never a traceback.

The mutations are the probe's: a value anywhere in the config replaced by a hostile one (``null``,
``-1``, ``0``, ``2.7``, ``true``, ``"32"``, ``[]``, ``{}``, ``Infinity``, ``NaN``, ``10**400``,
nesting), a key dropped, a list reversed or doubled; in an ONNX graph an attribute set to a
hostile integer or dropped, an input renamed, an initializer's or the input's dimensions changed,
a node's operator swapped, a node dropped or doubled. Valid starting points are built here (no
Keras, no torch). Example counts keep the module to a few seconds; nothing is timed.
"""

from __future__ import annotations

import copy
import io
import json
import math
import zipfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cnncalc.cli import main

onnx = pytest.importorskip("onnx", reason="needs the onnx package (pip install 'cnncalc[onnx]'; CI installs it)")
import numpy as np  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

SETTINGS = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


def outcome(path):
    out, err = io.StringIO(), io.StringIO()
    code = main([path, "--table"], out=out, err=err)
    text = err.getvalue()
    assert code in (0, 2), text
    if code == 2:
        assert text.startswith("error: ") and text.count("\n") == 1 and "internal error" not in text, text
    return code


# ------------------------------------------------------------------------------------------------
# Keras
# ------------------------------------------------------------------------------------------------


def _tensor(name, shape):
    return {"class_name": "__keras_tensor__", "config": {"shape": [None, *shape], "dtype": "float32", "keras_history": [name, 0, 0]}}


def _layer(cls, name, reads, shape, **config):
    args = [_tensor(r, shape) for r in reads]
    return {"class_name": cls, "name": name, "config": {"name": name, **config}, "inbound_nodes": [{"args": args if len(args) == 1 else [args], "kwargs": {}}]}


def keras_config():
    """image 16x16x3 -> conv -> bn -> relu -> [pool, conv] -> add -> gap -> dense, plus a nested
    Sequential block: the shapes a .keras file records."""
    block = {
        "class_name": "Sequential", "name": "block",
        "config": {"name": "block", "layers": [
            {"class_name": "InputLayer", "config": {"name": "block_in", "batch_shape": [None, 8, 8, 8]}},
            {"class_name": "Conv2D", "config": {"name": "inner", "filters": 8, "kernel_size": [3, 3], "padding": "same", "use_bias": False}},
            {"class_name": "ReLU", "config": {"name": "inner_relu", "max_value": 6.0}},
        ]},
        "inbound_nodes": [{"args": [_tensor("pool", (8, 8, 8))], "kwargs": {}}],
    }
    layers = [
        {"class_name": "InputLayer", "name": "image", "config": {"name": "image", "batch_shape": [None, 16, 16, 3]}, "inbound_nodes": []},
        _layer("Conv2D", "conv", ["image"], (16, 16, 3), filters=8, kernel_size=3, strides=1, padding="same", groups=1, use_bias=True, dilation_rate=[1, 1]),
        _layer("BatchNormalization", "bn", ["conv"], (16, 16, 8), axis=-1, epsilon=1e-3, momentum=0.99, center=True, scale=True),
        _layer("Activation", "relu", ["bn"], (16, 16, 8), activation="relu"),
        _layer("MaxPooling2D", "pool", ["relu"], (16, 16, 8), pool_size=[2, 2], strides=[2, 2], padding="valid"),
        block,
        _layer("Add", "add", ["pool", "block"], (8, 8, 8)),
        _layer("ZeroPadding2D", "pad", ["add"], (8, 8, 8), padding=[[1, 1], [1, 1]]),
        _layer("GlobalAveragePooling2D", "gap", ["pad"], (10, 10, 8), keepdims=False),
        _layer("Dropout", "drop", ["gap"], (8,), rate=0.5),
        _layer("Dense", "head", ["drop"], (8,), units=10, use_bias=True, activation="softmax"),
    ]
    return {"class_name": "Functional", "config": {"name": "m", "layers": layers, "input_layers": [["image", 0, 0]], "output_layers": [["head", 0, 0]]}}


def _paths(value, prefix=()):
    """Every path (a tuple of keys and indices) into a JSON value."""
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, (*prefix, i))


def _nested(depth):
    value = 1
    for _ in range(depth):
        value = [value]
    return value


HOSTILE = st.sampled_from([None, -1, 0, 1, 3, 2.7, -0.5, True, False, "32", "", "same", "x" * 300, [], {}, [1], [0, 0], [[1, 1], [1]],
                           10**400, 2**63, float("inf"), float("-inf"), float("nan"), {"class_name": "__keras_tensor__"}, _nested(60), "image", ["image", 0, 0]])


@st.composite
def mutated_config(draw):
    config = keras_config()
    for _ in range(draw(st.integers(1, 3))):
        paths = [p for p in _paths(config) if p]
        path = draw(st.sampled_from(paths))
        parent = config
        for key in path[:-1]:
            parent = parent[key]
        key = path[-1]
        op = draw(st.sampled_from(("replace", "replace", "replace", "delete", "reverse", "double")))
        if op == "replace":
            parent[key] = copy.deepcopy(draw(HOSTILE))
        elif op == "delete":
            del parent[key]
        elif op == "reverse" and isinstance(parent[key], list):
            parent[key].reverse()
        elif op == "double" and isinstance(parent[key], list):
            parent[key] = parent[key] + copy.deepcopy(parent[key])
    return config


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("mutated")


def _keras_file(config, folder):
    path = f"{folder}/m.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", json.dumps(config, allow_nan=True))
    return path


def test_the_valid_keras_config_reads(folder):
    assert outcome(_keras_file(keras_config(), folder)) == 0


@SETTINGS
@given(config=mutated_config())
def test_a_mutated_keras_config_reads_or_fails_in_one_line(folder, config):
    outcome(_keras_file(config, folder))


# ------------------------------------------------------------------------------------------------
# ONNX
# ------------------------------------------------------------------------------------------------


def onnx_model():
    """x 1x3x16x16 -> Conv -> BatchNormalization -> Relu -> MaxPool -> Add(skip conv) ->
    GlobalAveragePool -> Shape/Gather/Concat -> Reshape -> Gemm -> Softmax, with a Constant and
    an unused ConstantOfShape."""
    def init(name, array):
        return numpy_helper.from_array(np.asarray(array), name)

    inits = [
        init("w1", np.zeros((8, 3, 3, 3), np.float32)), init("b1", np.zeros(8, np.float32)),
        init("gamma", np.ones(8, np.float32)), init("beta", np.zeros(8, np.float32)), init("mean", np.zeros(8, np.float32)), init("var", np.ones(8, np.float32)),
        init("w2", np.zeros((8, 8, 1, 1), np.float32)), init("fc_w", np.zeros((10, 8), np.float32)), init("fc_b", np.zeros(10, np.float32)),
        init("zero", np.array([0], np.int64)), init("minus_one", np.array([-1], np.int64)), init("big", np.array([4], np.int64)),
    ]
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], name="/conv/Conv", pads=[1, 1, 1, 1], strides=[1, 1], kernel_shape=[3, 3], group=1, dilations=[1, 1]),
        helper.make_node("BatchNormalization", ["c1", "gamma", "beta", "mean", "var"], ["bn"], name="/bn/BatchNormalization", epsilon=1e-5),
        helper.make_node("Relu", ["bn"], ["r"], name="/relu/Relu"),
        helper.make_node("MaxPool", ["r"], ["p"], name="/pool/MaxPool", kernel_shape=[2, 2], strides=[2, 2], pads=[0, 0, 0, 0]),
        helper.make_node("Conv", ["p", "w2"], ["c2"], name="/skip/Conv", kernel_shape=[1, 1]),
        helper.make_node("Add", ["p", "c2"], ["s"], name="/add/Add"),
        helper.make_node("GlobalAveragePool", ["s"], ["g"], name="/gap/GlobalAveragePool"),
        helper.make_node("Shape", ["g"], ["shape"], name="/Shape"),
        helper.make_node("Gather", ["shape", "zero"], ["n"], name="/Gather", axis=0),
        helper.make_node("Constant", [], ["eight"], name="/Constant", value=init("v", np.array([8], np.int64))),
        helper.make_node("Concat", ["n", "eight"], ["target"], name="/Concat", axis=0),
        helper.make_node("Reshape", ["g", "target"], ["flat"], name="/Reshape"),
        helper.make_node("ConstantOfShape", ["big"], ["unused"], name="/ConstantOfShape"),
        helper.make_node("Gemm", ["flat", "fc_w", "fc_b"], ["logits"], name="/fc/Gemm", transB=1),
        helper.make_node("Softmax", ["logits"], ["y"], name="/Softmax", axis=1),
    ]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 16, 16])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])], initializer=inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


HOSTILE_INTS = st.sampled_from([0, -1, -5, 1, 2, 3, 7, 100, 2**31, 2**62, -(2**62)])


@st.composite
def mutated_model(draw):
    model = onnx_model()
    graph = model.graph
    names = [t for n in graph.node for t in (*n.input, *n.output)] + ["", "missing"]
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(("attribute", "drop attribute", "input", "dims", "input dims", "op", "drop node", "double node")))
        node = graph.node[draw(st.integers(0, len(graph.node) - 1))] if graph.node else None
        if op == "attribute" and node is not None and node.attribute:
            attr = node.attribute[draw(st.integers(0, len(node.attribute) - 1))]
            if attr.type == onnx.AttributeProto.INT:
                attr.i = draw(HOSTILE_INTS)
            elif attr.type == onnx.AttributeProto.INTS and attr.ints:
                attr.ints[draw(st.integers(0, len(attr.ints) - 1))] = draw(HOSTILE_INTS)
            elif attr.type == onnx.AttributeProto.FLOAT:
                attr.f = draw(st.sampled_from([0.0, -1.0, math.inf, math.nan, 1e30]))
        elif op == "drop attribute" and node is not None and node.attribute:
            del node.attribute[draw(st.integers(0, len(node.attribute) - 1))]
        elif op == "input" and node is not None and node.input:
            node.input[draw(st.integers(0, len(node.input) - 1))] = draw(st.sampled_from(names))
        elif op == "dims":
            tensor = graph.initializer[draw(st.integers(0, len(graph.initializer) - 1))]
            if tensor.dims:
                tensor.dims[draw(st.integers(0, len(tensor.dims) - 1))] = draw(HOSTILE_INTS)
        elif op == "input dims":
            dim = graph.input[0].type.tensor_type.shape.dim[draw(st.integers(0, 3))]
            if draw(st.booleans()):
                dim.dim_value = draw(HOSTILE_INTS)
            else:
                dim.dim_param = draw(st.sampled_from(["height", "", "N", "1"]))
        elif op == "op" and node is not None:
            node.op_type = draw(st.sampled_from(["Conv", "Relu", "Reshape", "Gather", "Concat", "Range", "ConstantOfShape", "Tile", "Unknown", "MatMul", "Pad", "Resize", "Slice", "Split"]))
        elif op == "drop node" and node is not None:
            graph.node.remove(node)
        elif op == "double node" and node is not None:
            graph.node.append(copy.deepcopy(node))
    return model


def _onnx_file(model, folder):
    path = f"{folder}/m.onnx"
    with open(path, "wb") as fh:
        fh.write(model.SerializeToString())
    return path


def test_the_valid_onnx_graph_reads(folder):
    assert outcome(_onnx_file(onnx_model(), folder)) == 0


@pytest.mark.slow
@SETTINGS
@given(model=mutated_model())
def test_a_mutated_onnx_graph_reads_or_fails_in_one_line(folder, model):
    outcome(_onnx_file(model, folder))
