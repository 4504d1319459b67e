"""Every layer kind is declared once, completely: docs/design.md, "a layer kind is declared once".

The walk below finds every ``Layer`` subclass the package defines and fails naming the kind and
the piece it lacks; a convention meeting a kind it neither counts nor ignores raises.
"""

from __future__ import annotations

import ast
import importlib
import pathlib
import re
import subprocess
import sys
from dataclasses import dataclass, replace

import pytest

import cnncalc
from cnncalc import analyze, parse
from cnncalc.conventions import CONVENTIONS, get
from cnncalc import kinds
from cnncalc.kinds import IGNORED, KINDS, Absent, Layer, Notation, kind_of
from cnncalc.kinds.registry import MISSING
from cnncalc.notation import words
from cnncalc.spec import Graph, Sequential, SpecError

PACKAGE = pathlib.Path(cnncalc.__file__).parent


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def _package_kinds():
    return [c for c in _subclasses(Layer) if c.__module__.startswith("cnncalc.") and c not in (Sequential, Graph)]


def test_every_layer_subclass_is_registered_with_every_piece():
    kinds.load_all()  # the families load on first use: walk them all
    problems = []
    for cls in _package_kinds():
        kind = KINDS.get(cls)
        if kind is None:
            problems.append(f"{cls.__name__}: not registered (cnncalc.kinds.register)")
            continue
        problems += [f"{cls.__name__}: no {piece}" for piece in kind.missing()]
        missing_ops = [c for c in CONVENTIONS if c not in kind.ops]
        if missing_ops:
            problems.append(f"{cls.__name__}: convention(s) {', '.join(missing_ops)} neither count nor ignore it")
        unknown = [f for f in kind.strings if f not in cls.__dataclass_fields__]
        if unknown:
            problems.append(f"{cls.__name__}: strings name unknown field(s) {unknown}")
        if not (isinstance(kind.notation, (Notation, Absent))):
            problems.append(f"{cls.__name__}: notation is neither a Notation nor Absent")
        if not (callable(kind.keras) or isinstance(kind.keras, Absent)):
            problems.append(f"{cls.__name__}: keras is neither a builder nor Absent")
    assert not problems, "\n".join(problems)
    # Input, Conv2D, DepthwiseConv2D, SeparableConv2D, Conv2DTranspose, 4 pools, Flatten, Reshape,
    # Dense, BN, LayerNorm, Normalization, LRN, Dropout, Activation, Rescaling, LayerScale,
    # ZeroPadding2D, Cropping2D, PadShortcut, Concat, Add, Multiply, ScaledAdd, Opaque; for
    # imported graphs: Resize, Elementwise, Binary; for transformers: MatMul, Einsum, EinsumDense,
    # GroupNorm, Learned, ClassToken, Permute, Slice, Take, Tile, Reduce; attention: MultiHeadAttention,
    # Attention, AdditiveAttention, ScaledDotProductAttention (ONNX's Attention); PReLU; the 1-D
    # and 3-D forms: Conv1D, Conv3D, DepthwiseConv1D, SeparableConv1D, Conv1DTranspose,
    # Conv3DTranspose, 8 pools, ZeroPadding1D/3D, Cropping1D/3D
    assert len(KINDS) == 65


def test_every_kind_module_is_declared_once_in_families():
    # A module that registers a kind is a family, listed with its names in kinds.FAMILIES (the one
    # place): a module left out would never load by name, and its kinds would be missing from the
    # notation and the imports.
    registering = sorted(p.stem for p in (PACKAGE / "kinds").glob("*.py") if re.search(r"^\s*register\(", p.read_text(encoding="utf-8"), re.M))
    assert registering == sorted(kinds.FAMILIES)
    for module, names in kinds.FAMILIES.items():
        loaded = importlib.import_module(f"cnncalc.kinds.{module}")
        for name in names:
            value = getattr(loaded, name)
            assert getattr(value, "__module__", loaded.__name__) == loaded.__name__, f"{name} is not defined in {module}"
            assert getattr(kinds, name) is value and getattr(cnncalc.spec, name) is value
    assert {cls.__module__.rsplit(".", 1)[1] for cls in kinds.load_all()} == set(kinds.FAMILIES)


def test_families_load_on_first_use():
    # a fresh interpreter: the zoo's VGG loads the five families it uses, not the others
    code = (
        "import sys, cnncalc; cnncalc.analyze(cnncalc.zoo.get('vgg19')); "
        "print(sorted(m.rsplit('.', 1)[1] for m in sys.modules if m.startswith('cnncalc.kinds.')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == str(sorted(["base", "registry", "geometry", "handles", "notation_args", "input", "conv", "pool", "dense", "pointwise"]))
    with pytest.raises(AttributeError, match="has no attribute 'Conv4D'"):
        kinds.Conv4D  # noqa: B018


def test_the_walk_names_a_forgotten_piece():
    @dataclass(frozen=True)
    class Half(Layer):
        pass

    from cnncalc.kinds import Kind, Rule

    kind = Kind(Half, rule=Rule(shape=lambda layer, i, w: i), prefix="half")
    assert kind.missing() == ["notation", "keras", "strings", "ops"]
    assert MISSING not in (kind.rule, kind.prefix)


def test_notation_words_come_from_the_registry():
    assert set(words()) == {
        "input", "conv", "pool", "maxpool", "avgpool", "gap", "fc", "fcs", "relu", "tanh", "sigmoid",
        "softmax", "bn", "lrn", "dropout", "flatten", "gmp",
    }
    # Every kind with a notation writes what it reads.
    spec = parse("INPUT-32x32x3 -> CONV5-8(s=2,p=1,bias=false) -> BN -> RELU -> LRN -> AVGPOOL3(s=2,ceil=true) -> GAP -> DROPOUT(0.25) -> FC-10 -> SOFTMAX")
    assert parse(cnncalc.to_notation(spec)) == spec


def test_a_convention_that_neither_counts_nor_ignores_a_kind_raises():
    conv = kind_of(cnncalc.spec.Conv2D(8))
    a = analyze(parse("INPUT-8x8x3 -> CONV3-4 -> FCS"))
    fvcore = get("fvcore")
    row = a.row("conv1")
    assert fvcore.count(row) == 8 * 8 * 4 * 27  # counted
    assert get("macs").count(a.row("softmax1")) == 0 and kind_of(a.row("softmax1").layer).ops["macs"] is IGNORED
    patched = replace(conv, ops={k: v for k, v in conv.ops.items() if k != "fvcore"})
    KINDS[type(row.layer)] = patched
    try:
        assert fvcore.unsupported(a) == {"Conv2D": 1}
        with pytest.raises(SpecError, match="convention 'fvcore' does not say how to count layer kind Conv2D .layer 'conv1'."):
            fvcore.total(a)
    finally:
        KINDS[type(row.layer)] = conv
    assert fvcore.unsupported(a) == {}
    assert fvcore.ignored(a) == {"Input": 1, "Flatten": 1, "Activation": 1}


# PyTorch's ceil mode: torch.nn.MaxPool2d(3, 2, ceil_mode=True) on 2x2 gives 1x1 (a window may
# overhang the input when it starts inside it); MaxPool2d(6, 3, padding=1, ceil_mode=True) on
# 3x9 gives 1x3. Before, both were refused as "kernel larger than the input".
@pytest.mark.parametrize(
    "text, output",
    [
        ("INPUT-2x2x8 -> POOL3(s=2,ceil=true)", (1, 1, 8)),
        ("INPUT-3x9x3 -> MAXPOOL6(s=3,p=1,ceil=true)", (1, 3, 3)),
        ("INPUT-5x5x1 -> AVGPOOL6(s=2,ceil=true)", (1, 1, 1)),
    ],
)
def test_ceil_mode_pools_may_overhang_the_input(text, output):
    assert analyze(parse(text)).output == output


def test_ceil_mode_still_refuses_a_window_that_starts_past_the_input():
    with pytest.raises(SpecError, match="kernel 5 is larger than its input of 2 pixels"):
        analyze(parse("INPUT-2x2x8 -> POOL5(s=3,ceil=true)"))
    with pytest.raises(SpecError, match="kernel 3 is larger than its input of 2 pixels"):
        analyze(parse("INPUT-2x2x8 -> POOL3(s=2)"))


@pytest.mark.keras
def test_ceil_mode_overhang_matches_keras():
    pytest.importorskip("keras")
    from cnncalc.keras_check import check

    for text in ("INPUT-2x2x8 -> POOL3(s=2,ceil=true)", "INPUT-3x9x3 -> MAXPOOL6(s=3,p=1,ceil=true)"):
        assert check(parse(text)).ok


def _imports(path):
    """(module-level cnncalc imports, function-level imports) of one module, as dotted names."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_pkg = path.name == "__init__.py"
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    package = ".".join(("cnncalc", *(parts[:-1] if is_pkg else parts)))  # a package by its own name
    base = package if is_pkg else package.rsplit(".", 1)[0]

    def resolve(node):
        if isinstance(node, ast.Import):
            return [a.name for a in node.names]
        if node.level == 0:
            return [node.module]
        parts = base.split(".")
        parts = parts[: len(parts) - (node.level - 1)]
        target = ".".join(parts + ([node.module] if node.module else []))
        return [target] if node.module else [f"{target}.{a.name}" for a in node.names]

    top = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    nested = [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom)) and n not in top]
    return package, {m for n in top for m in resolve(n)}, {m for n in nested for m in resolve(n)}


def test_lazy_imports_only_for_sympy_keras_matplotlib():
    # and difflib: the "did you mean" of an error message (kinds.base.closest), never on a good path
    allowed = ("sympy", "keras", "matplotlib", "tensorflow", "difflib")
    offenders = []
    engine = ("arith", "sizes", "kinds", "spec", "traverse", "naming", "symbolic", "receptive", "analysis", "conventions", "notation", "stacking", "keras_bridge", "keras_layers", "zoo")
    for path in sorted(PACKAGE.rglob("*.py")):
        name, _, nested = _imports(path)
        if name == "cnncalc" or name.split(".")[1] not in engine:
            continue  # the front ends (cli, report, compare, explain, keras_check) are checked by their own tests
        offenders += [f"{name}: {m}" for m in nested if m.split(".")[0] not in allowed]
    assert not offenders, "\n".join(offenders)


@pytest.mark.parametrize("lazy", [False, True], ids=["module-level", "function-level too"])
def test_no_import_cycle_in_the_engine(lazy):
    # docs/design.md: a module imports only modules on lower rows, lazily or not (report sits
    # below html and plot; the CLI dispatches to them)
    graph = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        name, top, nested = _imports(path)
        graph[name] = {m for m in (top | nested if lazy else top) if m.startswith("cnncalc")}
    modules = set(graph)

    def target(m):
        while m not in modules and "." in m:
            m = m.rsplit(".", 1)[0]
        return m

    edges = {a: {target(m) for m in deps} - {a} for a, deps in graph.items()}
    state, cycles = {}, []

    def visit(node, stack):
        state[node] = "open"
        for nxt in edges.get(node, ()):
            if nxt in ("cnncalc", "cnncalc.kinds", "cnncalc.zoo") and node.startswith(nxt + "."):
                continue  # a submodule importing its own package's base names
            if state.get(nxt) == "open":
                cycles.append(" -> ".join(stack[stack.index(nxt):] + [nxt]) if nxt in stack else f"{node} -> {nxt}")
            elif nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = "done"

    for module in sorted(edges):
        if module not in state:
            visit(module, [module])
    assert not cycles, "\n".join(cycles)


def test_importers_build_on_the_graph_layer_and_only_front_ends_read_them():
    """docs/design.md: importers -> graph -> engine -> front ends. An importer builds a spec from
    the graph layer's modules (spec, kinds, traverse and below) and loads its optional packages
    (onnx, numpy, h5py, keras) only inside functions, so ``import cnncalc`` loads none of them; only
    the public API (``cnncalc.from_keras``, ``cnncalc.from_onnx``) and the front ends read importers."""
    graph_layer = ("cnncalc.spec", "cnncalc.kinds", "cnncalc.traverse", "cnncalc.symbolic", "cnncalc.sizes", "cnncalc.arith", "cnncalc.confined")
    optional = ("onnx", "google", "numpy", "h5py", "keras")
    readers = ("cnncalc", "cnncalc.cli", "cnncalc.keras_check")
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        name, top, nested = _imports(path)
        ours = {m for m in top | nested if m.startswith("cnncalc")}
        if name.startswith("cnncalc.importers"):
            offenders += [f"{name} imports {m}" for m in ours if not m.startswith(("cnncalc.importers", *graph_layer))]
            offenders += [f"{name} imports {m} at module level" for m in top if m.split(".")[0] in optional]
        elif name not in readers:
            offenders += [f"{name} reads the importers ({m})" for m in ours if m.startswith("cnncalc.importers")]
    assert not offenders, "\n".join(offenders)
