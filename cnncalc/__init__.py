"""cnncalc: an analytical CNN calculator.

One layer-spec engine computes output shapes, parameters, activations, MACs and receptive fields,
numerically or symbolically::

    import cnncalc
    spec = cnncalc.parse("INPUT-32x32x3 -> [CONV3-32 -> RELU]*2 -> POOL2 -> FCS")
    cnncalc.analyze(spec).totals.params          # 45,578... exact ints
    cnncalc.analyze(cnncalc.zoo.get("vgg19")).to_dict()   # the documented JSON schema

Importing this package stays light: the names below load their modules on first use (PEP 562),
so ``import cnncalc`` costs next to nothing and no sympy, keras, tensorflow or onnx is imported
until a feature needs it.
"""

__version__ = "0.1.0"

_HOMES = {
    "Analysis": "analysis",
    "LayerStats": "analysis",
    "Totals": "analysis",
    "analyze": "analysis",
    "from_keras": "keras_import",
    "from_onnx": "onnx_import",
    "NotationError": "notation",
    "parse": "notation",
    "to_notation": "notation",
    "parse_size": "sizes",
    "SpecError": "spec",
    "to_keras": "keras_bridge",
}
"""Each public name and the module that defines it (``zoo`` is the subpackage itself)."""

__all__ = sorted([*_HOMES, "zoo"])


def load_module(name: str):
    """Import the module ``name`` (dotted, absolute) and return it: the loader of every lazily
    imported cnncalc module (these names, the kind families, the zoo modules). It goes through the
    import statement's machinery, not ``importlib.import_module``, so that ``python -X importtime``
    lists these modules too (the start-up benchmark and the heavy-import check read that list)."""
    return __import__(name, fromlist=("__name__",))


def __getattr__(name):
    if name == "zoo":
        return load_module(f"{__name__}.zoo")
    module = _HOMES.get(name)
    if module is None:
        raise AttributeError(f"module '{__name__}' has no attribute '{name}'")
    value = getattr(load_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
