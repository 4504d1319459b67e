"""The general graph form: nodes that name their inputs, lowered with the trees to one engine."""

from __future__ import annotations

import pytest

from cnncalc import analyze, zoo
from cnncalc.spec import Add, Concat, Conv2D, Dense, Flatten, GlobalAvgPool2D, Graph, Input, MaxPool2D, Node, Sequential, Spec, SpecError
from cnncalc.traverse import lower


def residual_tree():
    block = Add((Sequential(()), Sequential((Conv2D(16, 3, name="a"), Conv2D(16, 3, name="b")))), name="res")
    return Spec(Sequential((Input(8, 8, 16, name="input"), block, GlobalAvgPool2D(name="gap"), Dense(10, name="fc"))), model="tree")


def residual_graph():
    nodes = (
        Node(Input(8, 8, 16, name="input")),
        Node(Conv2D(16, 3, name="res/a"), ("input",)),
        Node(Conv2D(16, 3, name="res/b"), ("res/a",)),
        Node(Add(name="res"), ("input", "res/b")),
        Node(GlobalAvgPool2D(name="gap"), ("res",)),
        Node(Dense(10, name="fc"), ("gap",)),
    )
    return Spec(Graph(nodes), model="graph")


def test_a_graph_and_the_tree_it_draws_give_the_same_rows():
    tree, graph = analyze(residual_tree()), analyze(residual_graph())
    assert [r.to_dict() for r in tree.layers] == [r.to_dict() for r in graph.layers]
    assert tree.totals == graph.totals
    # conv 3x3x16x16 + 16, twice; dense 16*10 + 10
    assert graph.totals.params == 2 * (3 * 3 * 16 * 16 + 16) + 16 * 10 + 10 == 4810
    assert graph.row("res").fan_in == 2 and graph.row("res").rf == 5


def test_nodes_listed_out_of_order_run_in_topological_order():
    nodes = list(residual_graph().root.nodes)
    shuffled = [nodes[5], nodes[3], nodes[0], nodes[2], nodes[4], nodes[1]]
    a = analyze(Spec(Graph(tuple(shuffled), outputs=("fc",))))
    assert [r.name for r in a.layers] == ["input", "res/a", "res/b", "res", "gap", "fc"]
    assert a.totals == analyze(residual_graph()).totals


def test_a_cell_reads_the_two_previous_cells():
    # NASNet's pattern: cell 2 concatenates the outputs of cell 0 and cell 1.
    nodes = (
        Node(Input(16, 16, 8, name="input")),
        Node(Conv2D(8, 1, name="cell0"), ("input",)),
        Node(Conv2D(8, 3, name="cell1"), ("cell0",)),
        Node(Concat(name="cell2"), ("cell0", "cell1")),
        Node(Conv2D(4, 1, name="head"), ("cell2",)),
    )
    a = analyze(Spec(Graph(nodes)))
    assert a.row("cell2").output == (16, 16, 16)
    assert a.row("head").weights == 16 * 4
    assert a.row("cell2").rf == 3 and a.row("head").rf == 3


def test_a_shared_layer_counts_its_weights_once_and_its_work_per_call():
    conv = Conv2D(8, 3, name="shared")
    nodes = (
        Node(Input(10, 10, 8, name="input")),
        Node(conv, ("input",)),
        Node(Conv2D(8, 3, name="shared#2"), ("shared",), shares="shared"),
        Node(Flatten(name="flat"), ("shared#2",)),
    )
    a = analyze(Spec(Graph(nodes)))
    first, second = a.row("shared"), a.row("shared#2")
    assert first.params == 3 * 3 * 8 * 8 + 8 and second.params == 0
    assert first.macs == second.macs == 10 * 10 * 8 * 3 * 3 * 8
    assert a.totals.macs == 2 * first.macs and a.totals.params == first.params
    assert second.activations == 10 * 10 * 8


def test_a_frozen_node_counts_its_parameters_as_non_trainable():
    nodes = (Node(Input(4, 4, 3, name="input")), Node(Conv2D(2, 3, name="c"), ("input",), trainable=False))
    row = analyze(Spec(Graph(nodes))).row("c")
    assert (row.weights, row.biases, row.non_trainable) == (0, 0, 3 * 3 * 3 * 2 + 2)


def test_a_graph_takes_a_symbolic_input():
    import sympy

    a = analyze(residual_graph(), input="H x W x 16")
    H, W = sympy.symbols("H W", integer=True, positive=True)
    assert sympy.simplify(a.row("res/a").macs - H * W * 16 * 9 * 16) == 0
    assert a.totals.params == 4810


@pytest.mark.parametrize(
    "nodes, message",
    [
        ((Node(Input(4, 4, 3, name="input")), Node(Conv2D(2, name="c"), ("nowhere",))), "reads 'nowhere', which no node"),
        ((Node(Input(4, 4, 3, name="input")), Node(Conv2D(2, name="c"), ("d",)), Node(Conv2D(2, name="d"), ("c",))), "cycle"),
        ((Node(Input(4, 4, 3, name="input")), Node(Conv2D(2, name="c"), ("input",)), Node(Conv2D(2, name="c"), ("input",))), "two graph nodes are named 'c'"),
        ((Node(Input(4, 4, 3, name="input")), Node(Conv2D(2, name="c"), ("input", "input"))), "reads one tensor, got 2"),
        ((Node(Input(4, 4, 3, name="input")), Node(Add(name="a"), ())), "merges its inputs but reads none"),
        ((Node(Input(4, 4, 3, name="i1")), Node(Input(4, 4, 3, name="i2"))), "2 Input nodes"),
        ((Node(Input(4, 4, 3, name="input")), Node(Conv2D(2), ("input",))), "has no name"),
    ],
)
def test_a_malformed_graph_is_a_one_line_error(nodes, message):
    with pytest.raises(SpecError, match=message):
        lower(Graph(nodes))


def test_every_zoo_tree_lowers_to_steps_whose_inputs_come_first():
    for name in zoo.names():
        spec = analyze(zoo.get(name)).spec
        steps, outputs = lower(spec.root)
        assert all(i < k for k, st in enumerate(steps) for i in st.inputs), name
        assert outputs == (len(steps) - 1,) or steps[outputs[0]].name, name


def test_the_max_pool_branch_of_a_graph_merges_receptive_fields_like_the_tree():
    tree = Spec(
        Sequential((Input(32, 32, 8, name="input"), Concat((Sequential((Conv2D(4, 5, name="c5"),)), Sequential((MaxPool2D(3, 1, "same", name="p"),))), name="cat")))
    )
    graph = Spec(
        Graph(
            (
                Node(Input(32, 32, 8, name="input")),
                Node(Conv2D(4, 5, name="cat/c5"), ("input",)),
                Node(MaxPool2D(3, 1, "same", name="cat/p"), ("input",)),
                Node(Concat(name="cat"), ("cat/c5", "cat/p")),
            )
        )
    )
    t, g = analyze(tree), analyze(graph)
    assert t.row("cat").rf == g.row("cat").rf == 5
    assert t.row("cat").output == g.row("cat").output == (32, 32, 12)
