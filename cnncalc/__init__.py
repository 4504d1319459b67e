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
    "from_keras": "importers.keras",
    "from_onnx": "importers.onnx",
    "NotationError": "notation",
    "parse": "notation",
    "to_notation": "notation",
    "parse_size": "sizes",
    "SpecError": "spec",
    "to_keras": "keras_bridge",
    "zoo": "zoo",
}
"""Each public name and the module that defines it (``zoo`` is the subpackage itself)."""

__all__ = sorted(_HOMES)


def load_module(name: str):
    """Import the module ``name`` (dotted, absolute) and return it: the loader of every lazily
    imported cnncalc module (these names, the kind families, the zoo modules). It goes through the
    import statement's machinery, not ``importlib.import_module``, so that ``python -X importtime``
    lists these modules too (the start-up benchmark and the heavy-import check read that list)."""
    return __import__(name, fromlist=("__name__",))


def lazy_names(package: str, homes: dict, namespace: dict):
    """The ``__getattr__`` and ``__dir__`` (PEP 562) of a package whose public names load with
    their module on first use: ``homes`` maps each name to its module in ``package`` (a name that
    is its own module's name is the module itself); a loaded name is kept in ``namespace``."""

    def __getattr__(name):
        module = homes.get(name)
        if module is None:
            raise AttributeError(f"module '{package}' has no attribute '{name}'")
        loaded = load_module(f"{package}.{module}")
        value = loaded if module == name else getattr(loaded, name)
        namespace[name] = value
        return value

    def __dir__():
        return sorted(set(namespace) | set(homes))

    return __getattr__, __dir__


__getattr__, __dir__ = lazy_names(__name__, _HOMES, globals())
