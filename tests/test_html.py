"""The ``--html`` page without a browser: self-contained, drawn from the JSON it embeds, and the
structure it draws (edges, in-place rows, foldable blocks); ``--plot``. The browser checks are in
tests/test_html_browser.py."""

from __future__ import annotations

import io
import json
import re

import pytest

from cnncalc import analyze, zoo
from cnncalc.cli import main
from cnncalc.html import fill, network_page
from cnncalc.html.structure import edges, groups, hosts, structure
from cnncalc.plot import MAX_BARS, bars
from cnncalc.spec import Activation, Add, Concat, Conv2D, Dense, GlobalAvgPool2D, Graph, Input, Node, Spec


def embedded(page: str) -> dict:
    match = re.search(r'<script type="application/json" id="cnncalc-data">(.*?)</script>', page, re.S)
    return json.loads(match.group(1))


def test_the_page_embeds_the_json_and_requests_nothing():
    a = analyze(zoo.get("vgg19"))
    page = network_page(a)
    data = embedded(page)
    # the table is the --format json data itself, not a recount
    assert data["network"]["analysis"] == json.loads(json.dumps(a.to_dict()))
    assert data["network"]["explain"]["conv1_1"]["weights"] == {"expression": "3x3x3x64", "value": 1728}
    assert "default-src 'none'" in page  # the Content-Security-Policy forbids every request
    # no external resource of any kind: every src/href is inline data or an anchor
    refs = re.findall(r'(?:src|href)\s*=\s*["\']([^"\']*)', page)
    assert refs and all(r.startswith(("data:", "#")) for r in refs), refs
    assert not re.search(r"https?://(?!www\.w3\.org/2000/svg)", page)
    assert "@@" not in page.replace(json.dumps(data), "")


def test_embedded_text_cannot_close_the_script():
    page = fill("x", {"kind": "network", "network": {"analysis": {"model": "</script><script>alert(1)</script>"}}})
    assert page.count("</script>") == 2  # the data block's and the code's own
    assert embedded(page)["network"]["analysis"]["model"] == "</script><script>alert(1)</script>"
    with pytest.raises(ValueError, match="page kind"):
        fill("x", {"kind": "nope"})


def test_edges_follow_the_data_flow():
    a = analyze(zoo.get("inception-reduced"))
    links = edges(a)
    names = [r.name for r in a.layers]
    concat = names.index("inception")
    # the concat reads the four branches' last rows, in branch order
    assert [names[u] for u, v in links if v == concat] == ["inception/relu_1x1", "inception/relu_3x3", "inception/relu_5x5", "inception/relu_pool_proj"]
    # every branch starts from the input
    assert sorted(names[v] for u, v in links if u == 0) == ["inception/1x1", "inception/3x3_reduce", "inception/5x5_reduce", "inception/pool"]


def test_in_place_rows_are_drawn_inside_their_producer():
    a = analyze(zoo.get("vgg19"))
    host = hosts(a, edges(a))
    names = [r.name for r in a.layers]
    drawn = [n for n, h in zip(names, host) if h is None]
    # Keras' VGG19 layer list: input, 16 convolutions, 5 pools, flatten, 3 dense
    assert len(drawn) == 26 and "flatten" in drawn  # flatten changes the shape: a node of its own
    assert names[host[names.index("relu1_1")]] == "conv1_1"
    assert names[host[names.index("softmax")]] == "fc8"


def test_a_row_read_twice_is_not_hidden():
    # the ReLU after a residual Add feeds the next block and its shortcut: it stays in the Add's
    # node, but a ReLU whose producer has two readers is drawn on its own
    nodes = (
        Node(Input(8, 8, 4, name="input")),
        Node(Conv2D(4, 3, padding="same", name="c1"), ("input",)),
        Node(Activation("relu", name="r1"), ("c1",)),
        Node(Activation("relu", name="r2"), ("c1",)),
        Node(Add(name="sum"), ("r1", "r2")),
    )
    a = analyze(Spec(Graph(nodes)))
    assert hosts(a, edges(a)) == [None, None, None, None, None]


def test_tree_blocks_nest_by_qualified_name():
    a = analyze(zoo.get("resnet20"))
    found = groups(a, edges(a))
    assert len(found) == 9 and {g.parent for g in found} == {None}
    first = found[0]
    assert first.key == "stage1_block1"
    assert [a.layers[i].name for i in first.rows] == ["stage1_block1/conv1", "stage1_block1/bn1", "stage1_block1/relu1", "stage1_block1/conv2", "stage1_block1/bn2", "stage1_block1"]
    totals = structure(a)["groups"][0]["totals"]
    assert totals["macs"] == 2 * 32 * 32 * 16 * 3 * 3 * 16 and totals["params"] == 2 * (3 * 3 * 16 * 16) + 2 * (4 * 16)  # two BatchNorms of 4C


def _blocks_by_name(analysis):
    """{block key: (row names, totals)} as the page's JSON holds them."""
    layers = analysis.layers
    return {g["key"]: ([layers[i].name for i in g["rows"]], g["totals"]) for g in structure(analysis)["groups"]}


def _table_sums(analysis, names):
    """The --format json rows of ``names`` summed: what a block's totals must be."""
    rows = [r for r in analysis.to_dict()["layers"] if r["name"] in set(names)]
    return {k: sum(r[k] for r in rows) for k in ("activations", "weights", "biases", "non_trainable", "macs", "params")}


def test_vgg19_blocks_are_its_five_stages_with_their_own_rows():
    # issue 28: the page showed a "conv3" block holding conv1_1..conv3_4 and both pools (11G MACs)
    a = analyze(zoo.get("vgg19"))
    blocks = _blocks_by_name(a)
    assert list(blocks) == ["conv1", "conv2", "conv3", "conv4", "conv5"]
    for key, (names, totals) in blocks.items():
        stage = key[len("conv"):]
        assert names == [r.name for r in a.layers if re.fullmatch(rf"(conv|relu){stage}_\d", r.name)], key
        assert totals == _table_sums(a, names), key
    # conv3: 56x56x256 outputs of 3x3 kernels over 128 channels, then three over 256
    assert blocks["conv3"][1]["macs"] == 56 * 56 * 256 * 9 * (128 + 3 * 256) == 6_473_908_224


def test_resnet50_blocks_total_their_rows():
    a = analyze(zoo.get("resnet50"))
    blocks = _blocks_by_name(a)
    assert len(blocks) == 16 and list(blocks)[0] == "stage1_block1"
    for key, (names, totals) in blocks.items():
        assert names == [r.name for r in a.layers if r.name.startswith(key + "/") or r.name == key], key
        assert totals == _table_sums(a, names), key


def test_keras_resnet50_blocks_leave_the_stem_out():
    # keras:ResNet50 as Keras names it (its stored config: the import is the one the page draws);
    # conv2_block1 held conv1_pad..pool1_pool before, 349M MACs of which 118M were the stem's
    import importlib.util
    import os

    from cnncalc.importers.keras import from_config

    spec = importlib.util.spec_from_file_location("keras_truth", os.path.join(os.path.dirname(__file__), "keras_truth.py"))
    keras_truth = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(keras_truth)
    a = analyze(from_config(keras_truth.load("ResNet50")["config"]))
    blocks = _blocks_by_name(a)
    assert list(blocks)[:3] == ["conv1", "conv2_block1", "conv2_block2"] and len(blocks) == 17
    for key, (names, totals) in blocks.items():
        assert names == [r.name for r in a.layers if r.name.startswith(key + "_")], key
        assert totals == _table_sums(a, names), key
    assert blocks["conv1"][0] == ["conv1_pad", "conv1_conv", "conv1_bn", "conv1_relu"]
    assert blocks["conv1"][1]["macs"] == 112 * 112 * 64 * 7 * 7 * 3 == 118_013_952


def _flat_graph(names):
    """A chain of 1x1 convolutions named as a Keras functional model names them."""
    nodes = [Node(Input(8, 8, 4, name="input"))]
    for name in names:
        nodes.append(Node(Conv2D(4, 1, name=name), (nodes[-1].name,)))
    return analyze(Spec(Graph(tuple(nodes))))


def test_keras_block_names_group_by_their_leading_key():
    names = [f"conv2_block{b}_{k}" for b in (1, 2, 3) for k in ("1_conv", "1_bn", "2_conv", "2_bn", "out")]
    a = _flat_graph(names)
    assert [(g.key, len(g.rows)) for g in groups(a, edges(a))] == [("conv2_block1", 5), ("conv2_block2", 5), ("conv2_block3", 5)]


def test_nasnet_cell_ids_group_by_their_trailing_key():
    cell = ["normal_conv_1_{}", "normal_bn_1_{}", "separable_conv_1_normal_left1_{}", "normal_add_1_{}"]
    names = [n.format(c) for c in ("0", "1") for n in cell] + [n.format("reduce_4") for n in cell] + ["activation_7"] + [n.format("5") for n in cell]
    # Keras' automatic names inside cells 0 and 5: a class name and a counter, no cell number
    names.insert(2, "zero_padding2d")
    names.insert(-2, "zero_padding2d_1")
    a = _flat_graph(names)
    found = [(g.key, len(g.rows)) for g in groups(a, edges(a))]
    # an auto-named row joins the cell that reads it (activation_7 feeds cell 5)
    assert found == [("…_0", 5), ("…_1", 4), ("…_reduce_4", 4), ("…_5", 6)]
    assert a.layers[groups(a, edges(a))[3].rows[0]].name == "activation_7"


def test_a_stray_row_far_from_its_keys_block_is_left_out():
    # Keras' counters run on from the models built before in the process: 'zero_padding2d_5'
    # lands 20 rows before cell 5 and must not stretch it
    cell = ["normal_conv_1_{}", "normal_bn_1_{}", "separable_conv_1_normal_left1_{}", "normal_add_1_{}"]
    names = ["zero_padding2d_5"] + [f"stem_conv{i}_stem_1" for i in range(20)] + [n.format("5") for n in cell]
    a = _flat_graph(names)
    blocks = {g.key: [a.layers[i].name for i in g.rows] for g in groups(a, edges(a))}
    assert blocks["…_5"] == [n.format("5") for n in cell]
    assert blocks["…_stem_1"][0] == "zero_padding2d_5"  # read by the stem: it joins the stem


def test_a_large_network_without_block_names_is_cut_at_its_merges():
    nodes = [Node(Input(8, 8, 4, name="input"))]
    last = "input"
    for b in range(40):
        nodes += [Node(Conv2D(4, 1, name=f"conv2d_{2 * b}"), (last,)), Node(Conv2D(4, 1, name=f"conv2d_{2 * b + 1}"), (f"conv2d_{2 * b}",)), Node(Concat(name=f"concatenate_{b}"), (last, f"conv2d_{2 * b + 1}"))]
        nodes.append(Node(Conv2D(4, 1, name=f"squeeze_{b}"), (f"concatenate_{b}",)))
        last = f"squeeze_{b}"
    nodes.append(Node(GlobalAvgPool2D(name="gap"), (last,)))
    nodes.append(Node(Dense(10, name="predictions"), ("gap",)))
    a = analyze(Spec(Graph(tuple(nodes))))
    found = groups(a, edges(a))
    assert len(a.layers) == 163 and len(found) == 41  # 40 blocks to each concat, the head to the output
    assert found[0].key == "block 1 (to concatenate_0)" and len(found[0].rows) == 3
    assert found[-1].key.endswith("(to predictions)")


@pytest.mark.slow
def test_cli_writes_the_html_and_the_plot(tmp_path):
    pytest.importorskip("matplotlib")
    page, png, svg = tmp_path / "vgg.html", tmp_path / "vgg.png", tmp_path / "vgg.svg"
    err = io.StringIO()
    assert main(["vgg19", "--html", str(page), "--plot", str(png)], out=io.StringIO(), err=err) == 0
    assert f"wrote {page} (" in err.getvalue() and f"wrote {png} (" in err.getvalue()
    assert embedded(page.read_text())["network"]["analysis"]["totals"]["params"] == 143_667_240
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["lenet5", "--plot", str(svg)], out=io.StringIO(), err=io.StringIO()) == 0
    assert "<svg" in svg.read_text()[:400]
    out = io.StringIO()
    assert main(["compare", "inception-naive", "inception-reduced", "--html", str(tmp_path / "c.html")], out=out, err=io.StringIO()) == 0
    data = embedded((tmp_path / "c.html").read_text())
    assert [m["saving"] for m in data["comparison"]["models"]] == [1.0, 2.8074]
    assert [n["analysis"]["model"] for n in data["networks"]] == ["inception-naive", "inception-reduced"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["vgg19", "--plot", "vgg.jpg"], "error: --plot writes .png, .svg, .pdf files, got 'vgg.jpg'\n"),
        (["CONV3-4", "--input", "H x W x 3", "--plot", "s.png"], "error: --plot needs numeric sizes: give a numeric --input (the HTML page shows symbolic ones)\n"),
        (["vgg19", "--html", "taken/x.html"], "error: cannot write 'taken/x.html': 'taken' is not a directory\n"),
        (["vgg19", "--check-keras", "--html", "v.html"], "error: --html and --plot draw the analysis: run them without --check-keras\n"),
    ],
)
def test_bad_output_files_are_one_line_errors(argv, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "taken").write_text("a file where a directory would be")
    err = io.StringIO()
    assert main(argv, out=io.StringIO(), err=err) == 2
    assert err.getvalue().splitlines()[-1] + "\n" == message


def test_plot_groups_rows_by_block_past_its_limit():
    a = analyze(zoo.get("resnet50"))
    unit, items = bars(a)
    assert unit == "block" and len(items) <= MAX_BARS
    labels = [label for label, _ in items]
    assert labels[:5] == ["input", "conv1", "bn1", "maxpool", "stage1_block1"]
    # the block's bar is the sum of its rows
    block = [r for r in a.layers if r.name == "stage1_block1" or r.name.startswith("stage1_block1/")]
    assert items[4][1]["macs"] == sum(r.macs for r in block)
    assert sum(v["macs"] for _, v in items) == a.totals.macs
    small_unit, small = bars(analyze(zoo.get("vgg19")))
    assert small_unit == "layer" and len(small) == 25  # the rows that add something (and the input)
