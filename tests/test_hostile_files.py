"""Model files are data (issue 27): a file never makes cnncalc read another path, stays bounded,
and fails in one line with exit 2 naming the field, layer or node (docs/import.md, "Reading
untrusted files").

Each test reproduces a probe case with small files the test writes: ONNX external data that once
was read relative to the working directory, constants that were evaluated eagerly, zip bombs,
HDF5 links, malformed and deeply nested configs, silent coercions, and the reading orders that
were quadratic. Where a case was about memory, the run is a child process whose peak RSS
(``os.wait4``) is checked; the secret file outside the model's directory never shows in output.
tests/test_cli_hostile.py holds the calculator's own hostile inputs (notation, streams).
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile

import pytest

from cnncalc.cli import main

onnx = pytest.importorskip("onnx", reason="needs the onnx package (pip install 'cnncalc[onnx]'; CI installs it)")
import numpy as np  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from cnncalc.importers.limits import MAX_COMPRESSED_WEIGHTS_BYTES, MAX_CONFIG_BYTES, MAX_CONFIG_DEPTH, MAX_CONSTANT_ELEMENTS, MAX_H5_DEPTH  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SECRET = b"SECRET-ssh-key-0123456789abcdef!"  # 32 bytes: four int64s, if anything read them
GiB = 2**30


def run(argv):
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def refused(argv, *fragments):
    """``cnncalc ARGV`` ends in exit 2 with one ``error:`` line holding every fragment; returns it."""
    code, out, err = run(argv)
    assert code == 2 and out == "" and err.startswith("error: ") and err.count("\n") == 1, (code, out, err)
    for fragment in fragments:
        assert fragment in err, err
    return err


def no_secret(text):
    """Neither the secret's bytes nor their int64 reading appear in ``text``."""
    assert SECRET.decode() not in text
    assert not any(str(v) in text for v in np.frombuffer(SECRET, np.int64)), text


CHILD = """\
import os, resource, sys
resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))
from cnncalc.cli import main
code = main(sys.argv[2:])
with open(sys.argv[1], "w") as fh:
    fh.write(next(line for line in open("/proc/self/status") if line.startswith("VmHWM")).split()[1])
sys.exit(code)
"""


def child(args, cwd=ROOT, timeout=60):
    """``cnncalc ARGS`` in a child process: (exit code, stdout, stderr, peak RSS in bytes, seconds).

    The peak is the child's own high-water mark (``VmHWM`` of ``/proc/self/status`` at exit): the
    rusage of a child also counts the parent's pages it was forked from. Its address space is
    capped at 4 GiB, so a regression fails there instead of taking the machine's memory."""
    env = {**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}
    with tempfile.TemporaryDirectory() as scratch:
        peak_file = os.path.join(scratch, "peak")
        start = time.monotonic()
        proc = subprocess.run([sys.executable, "-c", CHILD, peak_file, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
        seconds = time.monotonic() - start
        with open(peak_file) as fh:
            peak = int(fh.read()) * 1024  # kB
    return proc.returncode, proc.stdout, proc.stderr, peak, seconds


# ------------------------------------------------------------------------------------------------
# ONNX: a small convolutional graph whose Reshape target comes from the constant under test
# ------------------------------------------------------------------------------------------------


def onnx_file(folder, nodes, initializers=(), dims=(1, 3, 8, 8), name="m.onnx"):
    """x (1x3x8x8) -> conv (4 filters, 3x3, valid: 6x6x4) -> the given nodes -> y."""
    folder.mkdir(parents=True, exist_ok=True)
    weight = numpy_helper.from_array(np.zeros((4, 3, 3, 3), np.float32), "w")
    conv = helper.make_node("Conv", ["x", "w"], ["c"], name="conv")
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, list(dims))
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    graph = helper.make_graph([conv, *nodes], "g", [x], [y], initializer=[weight, *initializers])
    path = folder / name
    path.write_bytes(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString())
    return str(path)


def stored_outside(name, dims, location, data_type=TensorProto.INT64):
    """A tensor whose data ``save_as_external_data`` would keep in the file ``location``."""
    tensor = TensorProto(name=name, data_type=data_type, dims=list(dims), data_location=TensorProto.EXTERNAL)
    entry = tensor.external_data.add()
    entry.key, entry.value = "location", location
    return tensor


def reshape_target_model(folder, holder, location):
    """A model whose Reshape of the 6x6x4 convolution to ``[1, 144]`` reads its target from
    external data at ``location``: an initializer, a Constant node, or a ConstantOfShape's fill
    value (``[72, 72] + [-71, 72]``)."""
    reshape = helper.make_node("Reshape", ["c", "target"], ["y"], name="flat")
    if holder == "initializer":
        return onnx_file(folder, [reshape], [stored_outside("target", [2], location)])
    if holder == "Constant":
        return onnx_file(folder, [helper.make_node("Constant", [], ["target"], name="target_const", value=stored_outside("v", [2], location)), reshape])
    fill = helper.make_node("ConstantOfShape", ["two"], ["filled"], name="fill", value=stored_outside("v", [1], location))
    add = helper.make_node("Add", ["filled", "offset"], ["target"], name="sum")
    inits = [numpy_helper.from_array(np.array([2], np.int64), "two"), numpy_helper.from_array(np.array([-71, 72], np.int64), "offset")]
    return onnx_file(folder, [fill, add, reshape], inits)


HOLDERS = ("initializer", "Constant", "ConstantOfShape")


@pytest.mark.parametrize("holder", HOLDERS)
def test_external_data_is_read_below_the_model_never_from_the_working_directory(tmp_path, monkeypatch, holder):
    home = tmp_path / "home"
    home.mkdir()
    (home / "target.bin").write_bytes(SECRET)
    path = reshape_target_model(tmp_path / "model", holder, "target.bin")
    monkeypatch.chdir(home)  # the old reader resolved external data here: run from $HOME, it read ~/.ssh
    err = refused([path], "node 'flat' (Reshape (its target shape (input 2) is stored in a file that is not there")
    no_secret(err)
    # The same file beside the model is read: [1, 144] (ConstantOfShape: the fill 72).
    data = np.array([1, 144], np.int64) if holder != "ConstantOfShape" else np.array([72], np.int64)
    (tmp_path / "model" / "target.bin").write_bytes(data.tobytes())
    code, out, err = run([path, "--format", "json"])
    assert code == 0 and json.loads(out)["output"] == [144], err


def _outside(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "target.bin").write_bytes(SECRET)
    return outside


@pytest.mark.parametrize("holder", HOLDERS)
@pytest.mark.parametrize(
    "case, why",
    [
        ("absolute", "is an absolute path"),
        ("dotdot", "leaves the directory through '..'"),
        ("file link", "link.bin' is a symbolic link: links inside"),
        ("folder link", "sub' is a symbolic link: links inside"),
        ("fifo", "pipe' is a FIFO, not a regular file"),
    ],
)
def test_external_data_outside_the_model_directory_is_refused_by_name(tmp_path, holder, case, why):
    outside = _outside(tmp_path)
    model = tmp_path / "model"
    model.mkdir()
    location = {"absolute": str(outside / "target.bin"), "dotdot": "../outside/target.bin", "file link": "link.bin", "folder link": "sub/target.bin", "fifo": "pipe"}[case]
    if case == "file link":
        os.symlink(outside / "target.bin", model / "link.bin")
    elif case == "folder link":
        os.symlink(outside, model / "sub")
    elif case == "fifo":
        os.mkfifo(model / "pipe")  # opened without blocking, refused before a read
    path = reshape_target_model(model, holder, location)
    what = {"initializer": "initializer 'target'", "Constant": "node 'target_const' (Constant)", "ConstantOfShape": "node 'fill' (ConstantOfShape)"}[holder]
    no_secret(refused([path], f"{what}: external data refused: ", why, "cnncalc reads only regular files below the model's directory"))


def test_a_weight_stored_outside_is_never_read_its_dimensions_are_in_the_model(tmp_path):
    """A weight's data is never needed (its dimensions count): even a hostile location is not opened."""
    outside = _outside(tmp_path)
    flat = helper.make_node("Flatten", ["c"], ["y"], name="flat")
    path = onnx_file(tmp_path / "model", [helper.make_node("Conv", ["c", "w2"], ["c2"], name="conv2"), helper.make_node("Flatten", ["c2"], ["y"], name="flat")],
                     [stored_outside("w2", [5, 4, 3, 3], str(outside / "target.bin"), TensorProto.FLOAT)])
    del flat
    code, out, err = run([path, "--format", "json"])
    assert code == 0 and json.loads(out)["totals"]["params"] == 4 * 27 + 5 * 36, err


def test_a_model_given_as_bytes_reads_no_external_data(tmp_path, monkeypatch):
    import cnncalc
    from cnncalc.importers.onnx import OnnxImportError

    (tmp_path / "target.bin").write_bytes(SECRET)
    path = reshape_target_model(tmp_path / "model", "initializer", "target.bin")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(OnnxImportError, match="has no directory to read it from") as caught:
        cnncalc.from_onnx(open(path, "rb").read())
    no_secret(str(caught.value))


def _range(start, limit, name="r"):
    inits = [numpy_helper.from_array(np.array(v, np.int64), n) for n, v in (("start", start), ("limit", limit), ("delta", 1))]
    return helper.make_node("Range", ["start", "limit", "delta"], [name], name="range"), inits


def test_unused_large_constants_are_never_made(tmp_path):
    """A 1.6 KB file with an unused ConstantOfShape([4e8]) and Range(0, 4e8) once cost 3.1 GB."""
    shape = numpy_helper.from_array(np.array([400_000_000], np.int64), "big_shape")
    big = helper.make_node("ConstantOfShape", ["big_shape"], ["big"], name="big")
    rng, inits = _range(0, 400_000_000)
    path = onnx_file(tmp_path, [big, rng, helper.make_node("Flatten", ["c"], ["y"], name="flat")], [shape, *inits])
    assert os.path.getsize(path) < 2000
    code, out, err, peak, _ = child([path, "--format", "json"])
    assert code == 0 and json.loads(out)["output"] == [144], err
    assert peak < 1.5 * GiB, f"peak RSS {peak / 2**20:.0f} MiB"


@pytest.mark.parametrize("source", ["ConstantOfShape", "Range"])
def test_a_used_constant_over_the_cap_is_refused_before_it_is_made(tmp_path, source):
    if source == "ConstantOfShape":
        node = helper.make_node("ConstantOfShape", ["big_shape"], ["target"], name="big", value=numpy_helper.from_array(np.array([1], np.int64), "one"))
        inits = [numpy_helper.from_array(np.array([400_000_000], np.int64), "big_shape")]
    else:
        node, inits = _range(0, 400_000_000, "target")
    path = onnx_file(tmp_path, [node, helper.make_node("Reshape", ["c", "target"], ["y"], name="flat")], inits)
    name = "big" if source == "ConstantOfShape" else "range"
    refused([path], f"node '{name}' ({source}) would make a constant of 400,000,000 elements, more than cnncalc's cap MAX_CONSTANT_ELEMENTS = {MAX_CONSTANT_ELEMENTS:,}")


def test_an_initializer_declared_without_data_is_named_when_folded(tmp_path):
    empty = TensorProto(name="a", data_type=TensorProto.INT64, dims=[2])  # declares 2 elements, holds none
    path = onnx_file(tmp_path, [helper.make_node("Add", ["a", "a"], ["target"], name="sum"), helper.make_node("Reshape", ["c", "target"], ["y"], name="flat")], [empty])
    refused([path], "initializer 'a' declares shape (2,) (2 elements) but")


@pytest.mark.parametrize("dims, message", [((1, 3, -8, 8), "input 'x': dimension 2 is -8"), ((1, 0, 8, 8), "input 'x': dimension 1 is 0")])
def test_a_negative_or_zero_input_dimension_is_an_error_not_a_symbol(tmp_path, dims, message):
    refused([onnx_file(tmp_path, [helper.make_node("Flatten", ["c"], ["y"], name="flat")], dims=dims)], message)


def _same_named(tmp_path, n, unique=False):
    nodes, previous = [], "c"
    for i in range(n):
        nodes.append(helper.make_node("Relu", [previous], [f"t{i}"], name=f"relu{i}" if unique else "same"))
        previous = f"t{i}"
    nodes.append(helper.make_node("Flatten", [previous], ["y"], name="flat"))
    return onnx_file(tmp_path, nodes)


def test_nodes_sharing_one_name_get_the_next_free_suffix(tmp_path):
    code, out, err = run([_same_named(tmp_path, 300), "--format", "json", "--all"])
    assert code == 0, err
    names = [row["name"] for row in json.loads(out)["layers"]]
    assert names[2:5] == ["same", "same_2", "same_3"] and names[-2] == "same_300" and len(set(names)) == len(names)


@pytest.mark.slow
def test_twenty_thousand_same_named_nodes_read_in_bounded_time(tmp_path):
    """Once 40-95 s (a quadratic search for a free suffix); benchmarks/reading_scale.py measures it."""
    code, _, err, peak, seconds = child([_same_named(tmp_path, 20_000)], timeout=60)
    assert code == 0 and seconds < 20 and peak < 1.5 * GiB, (err, seconds)


# ------------------------------------------------------------------------------------------------
# Keras: a small functional config (image -> conv), written as a .keras archive
# ------------------------------------------------------------------------------------------------


def tensor(layer, shape=(None, 8, 8, 3), history=None):
    """A Keras 3 tensor reference, as ``inbound_nodes`` records it."""
    return {"class_name": "__keras_tensor__", "config": {"shape": list(shape), "dtype": "float32", "keras_history": history or [layer, 0, 0]}}


def layer(cls, name, reads=("image",), shape=(None, 8, 8, 3), **config):
    return {"class_name": cls, "name": name, "config": {"name": name, **config}, "inbound_nodes": [{"args": [tensor(r, shape) for r in reads], "kwargs": {}}]}


def keras_config(*layers, outputs=("conv",), batch_shape=(None, 8, 8, 3)):
    """``image (8x8x3) -> conv (Conv2D, 4 filters, 3x3)`` unless ``layers`` are given."""
    layers = layers or (layer("Conv2D", "conv", filters=4, kernel_size=3),)
    image = {"class_name": "InputLayer", "name": "image", "config": {"name": "image", "batch_shape": list(batch_shape)}, "inbound_nodes": []}
    return {"class_name": "Functional", "config": {"name": "m", "layers": [image, *layers], "input_layers": [["image", 0, 0]], "output_layers": [[o, 0, 0] for o in outputs]}}


def keras_file(folder, config=None, *, text=None, weights=None, compress=zipfile.ZIP_STORED, name="m.keras"):
    """A ``.keras`` zip: ``config.json`` (the dict, or raw ``text``) and ``model.weights.h5`` bytes."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", text if text is not None else json.dumps(config), compress_type=zipfile.ZIP_DEFLATED)
        if weights is not None:
            archive.writestr("model.weights.h5", weights, compress_type=compress)
    return str(path)


def conv_with(**config):
    return keras_config(layer("Conv2D", "conv", **{"filters": 4, "kernel_size": 3, **config}))


@pytest.mark.parametrize(
    "config, message",
    [
        ({"filters": float("inf")}, "'filters' must be an integer, got Infinity"),
        ({"filters": 10**400}, "'filters' is an integer of 401 digits, more than cnncalc's cap MAX_CONFIG_INTEGER"),
        ({"kernel_size": float("inf")}, "'kernel_size' must be an integer, got Infinity"),
        ({"kernel_size": [3, float("-inf")]}, "'kernel_size' must be an integer, got -Infinity"),
        ({"kernel_size": []}, "'kernel_size' must be one integer or two, got []"),
        ({"filters": 2.7}, "'filters' must be an integer, got 2.7"),
        ({"filters": True}, "'filters' must be an integer, got true"),
        ({"filters": "8"}, "'filters' must be an integer, got '8'"),
        ({"groups": 0}, "'groups' must be positive, got 0"),
        ({"strides": [1, -2]}, "'strides' must be positive, got -2"),
        ({"use_bias": "false"}, "'use_bias' must be true or false, got 'false'"),
        ({"padding": 3}, "'padding' must be a string, got 3"),
    ],
)
def test_a_config_value_is_checked_never_coerced(tmp_path, config, message):
    refused([keras_file(tmp_path, conv_with(**config))], "layer 'conv' (Conv2D): " + message)


def test_a_number_too_large_for_a_float_is_named(tmp_path):
    text = json.dumps(conv_with(filters="FILTERS")).replace('"FILTERS"', "1e400")  # JSON reads it as inf
    refused([keras_file(tmp_path, text=text)], "layer 'conv' (Conv2D): 'filters' must be an integer, got Infinity")


@pytest.mark.parametrize("dim, shown", [("32", "'32'"), (32.5, "32.5"), (-1, "-1"), (0, "0"), (True, "true")])
def test_an_input_dimension_must_be_a_positive_integer(tmp_path, dim, shown):
    refused([keras_file(tmp_path, keras_config(batch_shape=(None, dim, 8, 3)))], f"input 'image': its height must be a positive integer or null, got {shown}")


def _with_call(args):
    config = keras_config()
    config["config"]["layers"][1]["inbound_nodes"] = args
    return config


@pytest.mark.parametrize(
    "inbound, message",
    [
        ([{"args": [tensor("image", history=["image", 0])]}], "keras_history must be [layer name, call, tensor index], got ['image', 0]"),
        ([{"args": [tensor("image", history="image")]}], "keras_history must be [layer name, call, tensor index], got 'image'"),
        ([{"args": [tensor("image", history=[7, 0, 0])]}], "keras_history must be [layer name, call, tensor index], got [7, 0, 0]"),
        ([{"args": [tensor("image", history=["image", "0", 0])]}], "keras_history must be [layer name, call, tensor index], got ['image', '0', 0]"),
        ([{"args": [tensor("image", history=["image", -1, 0])]}], "keras_history must be [layer name, call, tensor index], got ['image', -1, 0]"),
        ([{"args": [{"class_name": "__keras_tensor__", "config": 5}]}], "a tensor reference has no config, got 5"),
        ([{"args": [tensor("image", shape=(None, 8, "8", 3))]}], "a tensor's recorded shape must be a list of sizes, got [None, 8, '8', 3]"),
        ("image", "inbound_nodes must be a list of calls, got 'image'"),
        ([5], "a call in inbound_nodes must be a dict (Keras 3) or a list (Keras 2), got 5"),
        ([[["image", 0]]], "an inbound node must be [layer name, call, tensor index], got ['image', 0]"),
    ],
)
def test_a_malformed_reference_names_the_layer(tmp_path, inbound, message):
    refused([keras_file(tmp_path, _with_call(inbound))], "layer 'conv': " + message)


@pytest.mark.parametrize(
    "entry, message",
    [
        (5, "model 'm': layer 1 is not a layer config (a dict), got 5"),
        ({"class_name": "Conv2D", "config": {"filters": 4, "kernel_size": 3}, "inbound_nodes": []}, "model 'm': layer 1 (Conv2D) has no name"),
        ({"class_name": "Conv2D", "name": 7, "config": {"name": 7}, "inbound_nodes": []}, "model 'm': layer 1 (Conv2D) has the name 7, not a string"),
        ({"class_name": "Conv2D", "name": "conv", "config": "x", "inbound_nodes": []}, "model 'm': layer 1 (Conv2D) has a config that is not a dict: 'x'"),
        ({"name": "conv", "config": {}, "inbound_nodes": []}, "model 'm': layer 1 has no class_name (got None)"),
    ],
)
def test_a_malformed_layer_entry_is_named(tmp_path, entry, message):
    config = keras_config()
    config["config"]["layers"][1] = entry
    refused([keras_file(tmp_path, config)], message)


def test_layers_reading_each_other_are_a_cycle_not_undefined(tmp_path):
    config = keras_config(layer("Conv2D", "a", reads=("b",), filters=3, kernel_size=1), layer("Conv2D", "b", reads=("a",), filters=3, kernel_size=1), outputs=("a",))
    err = refused([keras_file(tmp_path, config)], "layers read each other in a cycle: 'a' -> 'b' -> 'a'")
    assert "does not define" not in err
    config = keras_config(layer("Conv2D", "a", reads=("ghost",), filters=3, kernel_size=1), outputs=("a",))
    refused([keras_file(tmp_path / "2", config)], "layer 'a' reads 'ghost', which the config does not define")


def test_a_config_listed_in_reverse_reads_as_in_order(tmp_path):
    chain = [layer("Conv2D", f"c{i}", reads=(f"c{i - 1}" if i else "image",), filters=3, kernel_size=1, shape=(None, 8, 8, 3)) for i in range(5)]
    forward = run([keras_file(tmp_path / "f", keras_config(*chain, outputs=("c4",))), "--format", "json"])
    backward = run([keras_file(tmp_path / "b", keras_config(*reversed(chain), outputs=("c4",))), "--format", "json"])
    assert forward[0] == backward[0] == 0 and json.loads(forward[1])["layers"] == json.loads(backward[1])["layers"]


@pytest.mark.slow
def test_twenty_thousand_layers_in_reverse_order_read_in_bounded_time(tmp_path):
    """Once past 120 s (a pass over every waiting layer per layer made); benchmarks/reading_scale.py measures it."""
    chain = [layer("ReLU", f"r{i}", reads=(f"r{i - 1}" if i else "image",)) for i in range(20_000)]
    path = keras_file(tmp_path, keras_config(*reversed(chain), outputs=("r19999",)))
    code, _, err, peak, seconds = child([path], timeout=60)
    assert code == 0 and seconds < 20 and peak < 1.5 * GiB, (err, seconds)


def test_json_nested_past_the_cap_is_one_line(tmp_path):
    refused([keras_file(tmp_path, text="[" * 100_000 + "]" * 100_000)], f"config.json nests deeper than cnncalc's cap MAX_CONFIG_DEPTH = {MAX_CONFIG_DEPTH}")
    config = conv_with()
    deep = {}
    for _ in range(MAX_CONFIG_DEPTH + 5):
        deep = {"d": deep}
    config["config"]["layers"][1]["config"]["extra"] = deep  # valid JSON, deeper than a model needs
    refused([keras_file(tmp_path / "2", config)], "the config nests deeper than cnncalc's cap MAX_CONFIG_DEPTH")
    refused([keras_file(tmp_path / "3", text='{"filters": ' + "9" * 5000 + "}")], "config.json is not valid JSON")


def _patch_sizes(path, member, size):
    """Rewrite ``member``'s uncompressed size in the zip's local and central headers (a lying header)."""
    data = bytearray(open(path, "rb").read())
    name = member.encode()
    local = data.find(b"PK\x03\x04")
    while local >= 0:
        if data[local + 30: local + 30 + len(name)] == name:
            data[local + 22: local + 26] = size.to_bytes(4, "little")
        local = data.find(b"PK\x03\x04", local + 4)
    central = data.find(b"PK\x01\x02")
    while central >= 0:
        if data[central + 46: central + 46 + len(name)] == name:
            data[central + 24: central + 28] = size.to_bytes(4, "little")
        central = data.find(b"PK\x01\x02", central + 4)
    open(path, "wb").write(bytes(data))


@pytest.mark.parametrize("flag, method, message", [(0x1, None, "is encrypted, password required"), (0, 99, "compression method is not supported")])
def test_an_encrypted_or_unknown_compression_member_is_one_line(tmp_path, flag, method, message):
    path = keras_file(tmp_path, conv_with())
    data = bytearray(open(path, "rb").read())
    for signature, flags_at, method_at in ((b"PK\x03\x04", 6, 8), (b"PK\x01\x02", 8, 10)):
        at = data.find(signature)
        data[at + flags_at] |= flag
        if method is not None:
            data[at + method_at: at + method_at + 2] = method.to_bytes(2, "little")
    open(path, "wb").write(bytes(data))
    refused([path], f"cannot read '{path}'", message)


def test_a_config_zip_bomb_is_refused_by_its_size_in_bounded_memory(tmp_path):
    """A 1.5 MB archive whose config.json inflates to 1.5 GiB once reached 3.1 GB and exited 0."""
    size = MAX_CONFIG_BYTES + (8 << 20)
    bomb = keras_file(tmp_path, text=" " * size)
    assert os.path.getsize(bomb) < size // 100
    code, out, err, peak, _ = child([bomb])
    assert code == 2 and err.count("\n") == 1 and f"config.json is {size:,} bytes, more than cnncalc's cap MAX_CONFIG_BYTES" in err, err
    _patch_sizes(bomb, "config.json", 1000)  # the header lies: at most what it says is inflated
    code, out, err, peak2, _ = child([bomb])
    assert code == 2 and err.count("\n") == 1 and "is not a Keras archive" in err, err
    assert max(peak, peak2) < 1.5 * GiB, f"peak RSS {max(peak, peak2) / 2**20:.0f} MiB"


# -- model.weights.h5 (read only for a layer class without a formula) ---------------------------


def gate_config():
    """image -> conv (6x6x4) -> gate (a user's class, MyGate) -> head (1x1 conv reading 6x6x4)."""
    return keras_config(
        layer("Conv2D", "conv", filters=4, kernel_size=3),
        layer("MyGate", "gate", reads=("conv",), shape=(None, 6, 6, 4)),
        layer("Conv2D", "head", reads=("gate",), shape=(None, 6, 6, 4), filters=2, kernel_size=1),
        outputs=("head",),
    )


def h5_bytes(build):
    """An HDF5 file made in memory: ``layers/my_gate/vars/0`` (4 weights: where Keras stores the
    variables of the model's first ``MyGate``, whatever its name), then ``build(file)``."""
    h5py = pytest.importorskip("h5py")
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as h5:
        h5.create_dataset("layers/my_gate/vars/0", data=np.zeros(4, np.float32))
        build(h5py, h5)
    return buffer.getvalue()


def test_weight_shapes_are_read_in_place_or_inflated_when_compressed(tmp_path):
    weights = h5_bytes(lambda h5py, h5: None)
    for compress in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        code, out, err = run([keras_file(tmp_path / str(compress), gate_config(), weights=weights, compress=compress), "--format", "json"])
        assert code == 0, err
        rows = {row["name"]: row for row in json.loads(out)["layers"]}
        assert rows["gate"]["params"] == 4 and json.loads(out)["totals"]["params"] == (4 * 27 + 4) + 4 + (4 * 2 + 2)


def _deep_groups(h5py, h5):
    group = h5["layers/my_gate"]
    for i in range(3000):
        group = group.create_group("layers").create_group(f"g{i}")


def _virtual(h5py, h5):
    layout = h5py.VirtualLayout(shape=(4,), dtype="f4")
    layout[:] = h5py.VirtualSource("/etc/passwd", "data", shape=(4,))
    h5["layers/my_gate/vars"].create_virtual_dataset("1", layout)


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda h5py, h5: h5["layers/my_gate/vars"].__setitem__("1", h5py.ExternalLink("/etc/passwd", "/x")), "'/layers/my_gate/vars/1' is an external link to '/etc/passwd': cnncalc never opens a file a model names"),
        (lambda h5py, h5: h5["layers/my_gate"].__setitem__("layers", h5py.SoftLink("/layers/my_gate/layers")), "'/layers/my_gate/layers' is a soft link to '/layers/my_gate/layers'"),
        (lambda h5py, h5: h5["layers/my_gate"].create_group("layers").__setitem__("loop", h5["layers"]), "is a group reached twice (a hard-link cycle or a shared group)"),
        (_deep_groups, f"groups nest deeper than cnncalc's cap MAX_H5_DEPTH = {MAX_H5_DEPTH}"),
        (_virtual, "'/layers/my_gate/vars/1' is a virtual dataset (its data is in other files): refused"),
    ],
    ids=["external link", "soft-link loop", "hard-link cycle", "3000 deep", "virtual dataset"],
)
def test_an_h5_that_points_elsewhere_or_loops_is_refused_by_name(tmp_path, build, message):
    refused([keras_file(tmp_path, gate_config(), weights=h5_bytes(build))], "model.weights.h5", message)


@pytest.mark.slow
def test_a_weights_zip_bomb_is_refused_in_bounded_memory(tmp_path):
    """A 1.3 MB weights bomb once reached 2.6 GB (it was copied into a BytesIO)."""
    path = tmp_path / "m.keras"
    size = MAX_COMPRESSED_WEIGHTS_BYTES + (16 << 20)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", json.dumps(gate_config()))
        info = zipfile.ZipInfo("model.weights.h5")
        info.compress_type = zipfile.ZIP_DEFLATED
        with archive.open(info, "w") as member:
            chunk = bytes(1 << 20)
            for _ in range(size >> 20):
                member.write(chunk)
    assert os.path.getsize(path) < size // 500
    code, out, err, peak, _ = child([str(path)])
    assert code == 2 and err.count("\n") == 1 and f"model.weights.h5 is {size:,} bytes, more than cnncalc's cap MAX_COMPRESSED_WEIGHTS_BYTES" in err, err
    _patch_sizes(str(path), "model.weights.h5", 1 << 20)  # the header lies: at most what it says is inflated
    code, out, err, peak2, _ = child([str(path)])
    assert code == 2 and err.count("\n") == 1, err
    assert max(peak, peak2) < 1.5 * GiB, f"peak RSS {max(peak, peak2) / 2**20:.0f} MiB"
