"""The ``--html`` pages in a real browser: headless Chromium driven over the DevTools protocol
(:mod:`cnncalc.html.chromium`). Each page must load with no console error and no request but its
own file, draw one node per layer (in-place rows drawn inside their producer: VGG19 is the 26
layers Keras lists), show a layer's numbers on a click, fold and unfold its blocks, and give a
screenshot that is not blank. Skipped with a reason where Chromium is absent; CI installs it.
"""

from __future__ import annotations

import io
import os

import pytest

from cnncalc import analyze
from cnncalc.cli import load_spec, main
from cnncalc.sizes import input_size
from cnncalc.html.chromium import Chromium, find

pytestmark = pytest.mark.skipif(find() is None, reason="Chromium is not installed (apt-get install chromium; CI installs it)")

NODES = "document.querySelector('.network').dataset.nodes"


def _keras_truth():
    """tests/keras_truth.py, the stored keras.applications records (loaded by path: tests/ is no package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("keras_truth", os.path.join(os.path.dirname(__file__), "keras_truth.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def browser():
    with Chromium(width=1400, height=1000) as b:
        yield b


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    """Pages written by the CLI, as a user makes them."""
    out = tmp_path_factory.mktemp("pages")

    def make(*argv, name):
        path = out / f"{name}.html"
        assert main([*argv, "--html", str(path)], out=io.StringIO(), err=io.StringIO()) == 0
        return str(path)

    return make


def _open(browser, path):
    page = browser.open(path)
    page.wait_for("document.body.dataset.complete")
    browser.drain(0.1)
    return page


def _clean(page, path):
    assert page.console_errors() == []
    assert page.requests() == ["file://" + os.path.abspath(path)]


def _not_blank(png: bytes) -> None:
    image = pytest.importorskip("PIL.Image")
    img = image.open(io.BytesIO(png)).convert("RGB")
    assert img.size == (1400, 1000)
    colours = img.getcolors(maxcolors=1 << 20)
    assert len(colours) > 50  # text, boxes and colour scales, not a flat page
    background = max(colours)[0]
    assert background < 0.9 * img.size[0] * img.size[1]


@pytest.mark.parametrize(
    ("argv", "nodes"),
    [
        # Keras' VGG19: input, 16 convolutions, 5 pools, flatten, 3 dense (ReLUs and softmax in them)
        (["vgg19"], 26),
        # 15 rows: the input, 4 branches (6 convolutions, the pool) and the concat; the 6 ReLUs in place
        (["inception-reduced"], 9),
        # 72 rows less 19 ReLUs and the softmax, drawn inside the layer before them
        (["resnet20"], 52),
        # symbolic sizes: expressions drawn as text
        (["CONV3-64 -> CONV3-64 -> POOL2", "--input", "H x W x 3"], 4),
        # inputs of other ranks: tokens x channels (input, BN, flatten, 2 FC) and a vector (input, 2 FC)
        (["INPUT-16x32 -> BN -> FC-64 -> RELU -> FCS"], 5),
        (["INPUT-100 -> FC-50 -> RELU -> FCS"], 3),
    ],
    ids=["vgg19", "inception-reduced", "resnet20", "symbolic", "sequence", "mlp"],
)
def test_page_loads_clean_with_one_node_per_layer(browser, pages, argv, nodes):
    path = pages(*argv, name=argv[0].split()[0].lower())
    page = _open(browser, path)
    _clean(page, path)
    assert int(page.evaluate(NODES)) == nodes
    assert page.evaluate("document.querySelectorAll('.network g.node').length") == nodes
    # the table is the --format json rows, all of them, plus the totals
    rows = len(analyze(load_spec(argv[0], input=input_size(argv[2]) if len(argv) > 2 else None)).layers)
    assert page.evaluate("document.querySelectorAll('#table tbody tr').length") == rows + 1
    _not_blank(page.screenshot())


def test_symbolic_sizes_show_as_expressions(browser, pages):
    path = pages("CONV3-64 -> CONV3-64 -> POOL2", "--input", "H x W x 3", name="symbolic")
    page = _open(browser, path)
    text = page.evaluate("document.querySelector('.network svg').textContent")
    assert "floor(H/2) x floor(W/2) x 64" in text  # the pool's output, as --table prints it
    assert "38592*H*W" in page.evaluate("document.querySelector('#totals').textContent")


def test_click_shows_the_layers_numbers_and_arithmetic(browser, pages):
    path = pages("vgg19", name="vgg19")
    page = _open(browser, path)
    page.click(".network g.node[data-name='conv1_1'] rect.box")  # a real mouse click
    panel = page.evaluate("document.querySelector('#panel').innerText")
    # VGG19's first convolution: 3x3x3x64 weights, 224x224x64 activations, receptive field 3
    assert "conv1_1" in panel and "Conv2D" in panel
    assert "1,728" in panel and "3,211,264" in panel and "1,792" in panel
    assert "224x224x3 (input)" in panel
    assert "3x3x3x64 = 1,728" in panel  # its --explain arithmetic
    assert "relu1_1 (Activation)" in panel  # the in-place row drawn inside it
    assert page.evaluate("document.querySelector(\".network g.node[data-name='conv1_1']\").classList.contains('selected')")
    # a click on a table row finds the node
    page.click("#table tbody tr[data-row='43']")  # fc8
    assert "4,097,000" in page.evaluate("document.querySelector('#panel').innerText")
    assert page.console_errors() == []


def test_blocks_fold_and_unfold(browser, pages):
    path = pages("resnet20", name="resnet20")
    page = _open(browser, path)
    assert int(page.evaluate(NODES)) == 52
    # stage1_block1: conv1, bn1 (+ReLU), conv2, bn2, the Add (+ReLU) -> one node
    page.click(".network g.frame[data-group='stage1_block1'] text.fold")
    assert int(page.evaluate(NODES)) == 52 - 5 + 1
    assert page.evaluate("document.querySelectorAll('.network g.node.group').length") == 1
    page.click(".network g.node.group[data-name='stage1_block1']")
    panel = page.evaluate("document.querySelector('#panel').innerText")
    assert "block of 6 layers" in panel and "4,718,592" in panel  # two 32x32x16x3x3x16 convolutions
    page.click(".network g.node.group[data-name='stage1_block1'] g.toggle")
    assert int(page.evaluate(NODES)) == 52
    # fold all: input, conv1, bn1, the 9 residual blocks, pooling, dense
    page.click(".network button.fold-all")
    assert int(page.evaluate(NODES)) == 14
    page.click(".network button.unfold-all")
    assert int(page.evaluate(NODES)) == 52
    # without drawing the in-place rows inside their node: one node per row
    page.click(".network .toolbar input[type=checkbox]")
    assert int(page.evaluate(NODES)) == 72
    # the charts' log-scale switch redraws the bars
    bar = "document.querySelectorAll('#charts rect.bar')[1].getAttribute('height')"  # conv1's parameters
    before = page.evaluate(bar)
    page.click("#charts input.log-scale")
    assert page.evaluate(bar) != before
    assert page.console_errors() == []


def test_compare_page_draws_both_networks_with_the_saving(browser, pages):
    path = pages("compare", "inception-naive", "inception-reduced", name="compare")
    page = _open(browser, path)
    _clean(page, path)
    assert page.evaluate("[...document.querySelectorAll('.network')].map(e => +e.dataset.nodes)") == [6, 9]
    table = page.evaluate("document.querySelector('table.comparison').innerText")
    assert "1,115,684,864" in table and "397,410,304" in table and "2.81x" in table
    page.click(".network[data-model='inception-reduced'] g.node[data-name='inception/5x5']")
    assert "78,643,200" in page.evaluate("document.querySelector('#panel').innerText")  # 32x32x96 x 5x5x32 after the 1x1 reduction
    # issue 28: one colour scale for both (the naive 5x5's 629M MACs is the reddest of either),
    # each drawn at a readable zoom (stacked: side by side they would be drawn at half size),
    # the counting convention said once
    assert page.evaluate("[...document.querySelectorAll('.network .legend')].map(e => e.textContent)") == ["0629M (log)"] * 2
    zooms = page.evaluate("[...document.querySelectorAll('.network .toolbar span.muted')].map(e => parseInt(e.textContent))")
    assert len(zooms) == 2 and min(zooms) >= 80, zooms
    tops = page.evaluate("[...document.querySelectorAll('.network')].map(e => e.getBoundingClientRect().top)")
    assert tops[1] > tops[0]  # stacked on this 1400-pixel-wide window
    assert page.evaluate("document.body.innerText.split('counting conventions (docs/conventions.md)').length") == 2
    page.evaluate("document.querySelector('.network select').value = 'params'; document.querySelector('.network select').dispatchEvent(new Event('change'))")
    assert page.evaluate("[...document.querySelectorAll('.network select')].map(e => e.value)") == ["params", "params"]  # one metric for both
    legends = page.evaluate("[...document.querySelectorAll('.network .legend')].map(e => e.textContent)")
    assert legends[0] == legends[1] == "0614K (log)"  # the naive 5x5: 5x5x256x96 + 96 = 614,496 parameters
    _not_blank(page.screenshot())


def test_the_header_shows_the_whole_first_sentence(browser, pages):
    page = _open(browser, pages("vgg19", name="vgg19"))
    sub = page.evaluate("document.querySelector('header .sub').textContent")
    assert sub.endswith('"Very Deep Convolutional Networks for Large-Scale Image Recognition", ICLR 2015, Table 1 (configurations A, B, D, E).')


def test_a_network_without_blocks_has_a_clean_overview(browser, pages):
    # issue 27: the overview of a network without blocks wrote "nullnull" under its title
    page = _open(browser, pages("alexnet", name="alexnet"))
    panel = page.evaluate("document.querySelector('#panel').innerText")
    assert panel.startswith("alexnet\n") and "null" not in panel and "costliest layers (MACs)" in panel


def test_bidi_and_control_characters_in_names_show_as_escapes(browser, tmp_path):
    # issue 27: a right-to-left override in a layer name reordered the page's text around it
    from cnncalc.html import network_page
    from cnncalc.spec import Conv2D, Input, Spec, sequential

    evil = "conv\u202eevil\x1b[2K"
    analysis = analyze(Spec(sequential(Input(8, 8, 3, name="input"), Conv2D(4, 3, name=evil)), model="m\u202edom"))
    path = tmp_path / "bidi.html"
    path.write_text(network_page(analysis), encoding="utf-8")
    page = _open(browser, str(path))
    _clean(page, str(path))
    page.click(".network g.node[data-id='r1'] rect.box")
    shown = page.evaluate("document.body.innerText + document.querySelector('.network svg').textContent")
    assert "\u202e" not in shown and "\x1b" not in shown
    assert "conv\\u202eevil\\x1b[2K" in shown and "m\\u202edom" in shown


def test_thousand_layer_page_opens_folded_and_fast(browser, tmp_path, record_property):
    """ResNet-302 (CIFAR, 1,061 rows): under 2 MB, folded at first sight, blocks unfold. The time
    from navigation to the first frame with the graph drawn is reported, not asserted."""
    from benchmarks.specs import resnet_cifar
    from cnncalc.html import network_page

    analysis = analyze(resnet_cifar(302))
    path = tmp_path / "resnet302.html"
    path.write_text(network_page(analysis), encoding="utf-8")
    assert len(analysis.layers) == 1061 and path.stat().st_size < 2_000_000
    page = _open(browser, str(path))
    _clean(page, str(path))
    first = float(page.evaluate("document.body.dataset.rendered"))
    record_property("first_render_ms", first)
    print(f"\nresnet302 (1,061 rows): first render {first:.0f} ms after navigation, complete at {float(page.evaluate('document.body.dataset.complete')):.0f} ms")
    nodes = int(page.evaluate(NODES))
    assert nodes == 1 + 1 + 1 + 150 + 1 + 1  # input, conv1, bn1, the 150 blocks folded, pooling, dense
    page.click(".network g.node.group[data-name='add75'] g.toggle")
    assert int(page.evaluate(NODES)) == nodes - 1 + 5


@pytest.mark.slow
@pytest.mark.keras
def test_imported_nasnet_mobile_folds_into_its_cells(browser, tmp_path, record_property):
    """keras:NASNetMobile: 771 Keras layers, one row each; the page opens with its 16 cells
    folded and the costliest block is two clicks away. The model is the stored catalogue record's
    config (tests/keras_truth.py; test_keras_live checks it is what Keras builds), so no Keras
    model is built here."""
    from cnncalc import from_keras
    from cnncalc.html import network_page

    analysis = analyze(from_keras(_keras_truth().load("NASNetMobile")["config"], name="NASNetMobile"))
    assert len(analysis.layers) == 771  # len(keras.applications.NASNetMobile().layers)
    path = tmp_path / "nasnet.html"
    path.write_text(network_page(analysis), encoding="utf-8")
    page = _open(browser, str(path))
    _clean(page, str(path))
    record_property("nasnet_first_render_ms", float(page.evaluate("document.body.dataset.rendered")))
    assert page.evaluate("document.querySelectorAll('.network g.node.group').length") == 16
    cells = page.evaluate("[...document.querySelectorAll('.network g.node.group')].map(g => g.dataset.name)")
    assert {"…_stem_1", "…_stem_2", "…_reduce_4", "…_reduce_8", *(f"…_{i}" for i in (0, 1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12))} == set(cells)
    # the overview lists the costliest block first: a click selects it, a second unfolds it
    first = page.evaluate("document.querySelector('#panel .list a').textContent")
    page.click("#panel .list a")
    assert page.evaluate("document.querySelector('#panel h3').textContent") == first
    folded = int(page.evaluate(NODES))
    page.click("#panel a.act")  # "unfold this block"
    assert int(page.evaluate(NODES)) > folded + 20
    # every row drawn: unfolded, without in-place rows inside their producers, one node per Keras layer
    page.click(".network button.unfold-all")
    page.click(".network .toolbar input[type=checkbox]")
    assert int(page.evaluate(NODES)) == 771
    assert page.console_errors() == []
