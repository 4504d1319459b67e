"""Weight shapes of a ``.keras`` archive's ``model.weights.h5`` (h5py): the parameters of a
layer class cnncalc has no formula for."""

from __future__ import annotations

from ...traverse import SEPARATOR
from ..errors import KerasImportError

WEIGHTS = "model.weights.h5"


def weight_shapes(archive, path) -> dict:
    """``{qualified layer name: [variable shapes]}`` from the archive's ``model.weights.h5``."""
    try:
        import h5py
    except ModuleNotFoundError:
        raise KerasImportError(
            f"'{path}' holds a layer class cnncalc cannot count from the config alone; reading its weight shapes needs h5py "
            "(pip install 'cnncalc[keras-files]') or load it through Keras (--via-keras)"
        ) from None
    import io

    shapes: dict[str, list] = {}
    with archive.open(WEIGHTS) as fh:
        data = io.BytesIO(fh.read())
    with h5py.File(data, "r") as h5:
        root = h5.get("layers")
        if root is None:
            return shapes

        def visit(group, scope):
            for key in group:
                item = group[key]
                qualified = scope + key
                if "vars" in item:
                    vars_ = item["vars"]
                    shapes[qualified] = [tuple(vars_[v].shape) for v in sorted(vars_, key=lambda k: int(k) if k.isdigit() else k)]
                if "layers" in item:
                    visit(item["layers"], qualified + SEPARATOR)

        visit(root, "")
    return shapes
