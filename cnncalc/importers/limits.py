"""Caps on what a model file may make cnncalc read, allocate or walk: all of them, in one place.

A model file is data (docs/import.md, "Reading untrusted files"): whatever it declares, reading it
costs bounded memory and time, and a file past a cap ends in a one-line error that names the cap
and its value (``limit_text``), never in an allocation the file chose. Each cap is far above what a
real model needs; the comment says what real models use.
"""

from __future__ import annotations

MAX_CONFIG_BYTES = 16 * 2**20
"""A ``.keras`` archive's ``config.json``: 16 MiB. Read with a bounded read, whatever the zip
header says (a 1.5 MB zip bomb inflates to 1.5 GiB). NASNetLarge, the largest config of the
keras.applications catalogue, is about 1 MiB."""

MAX_CONFIG_DEPTH = 100
"""Nesting of a Keras config's JSON (lists and objects): 100 levels. A model nested in a model adds
four; the deepest config of the keras.applications catalogue nests 12."""

MAX_CONFIG_INTEGER = 2**63 - 1
"""A count or size in a Keras config (filters, kernel, input dimensions): what int64 holds, as in
ONNX. ``10**400`` filters would overflow the floats of the summary."""

MAX_WEIGHTS_BYTES = 8 * 2**30
"""A ``.keras`` archive's ``model.weights.h5`` as the archive stores it (Keras writes it
uncompressed): 8 GiB. cnncalc reads only its metadata (group names, dataset shapes) in place,
never its data and never a copy of it."""

MAX_COMPRESSED_WEIGHTS_BYTES = 256 * 2**20
"""A compressed ``model.weights.h5`` (an archive re-zipped with deflate): 256 MiB once inflated.
Inflated (bounded) into a temporary file, since seeking in a deflate stream re-inflates it."""

MAX_H5_DEPTH = 64
"""Groups nested in ``model.weights.h5``: 64. Keras nests two per nested model."""

MAX_H5_OBJECTS = 200_000
"""Groups and datasets visited in ``model.weights.h5``: 200,000 (NASNetLarge has about 3,000)."""

MAX_CONSTANT_ELEMENTS = 10_000_000
"""Elements of any ONNX constant cnncalc evaluates (an initializer or a ``Constant`` whose values a
builder needs, a folded ``ConstantOfShape``, ``Range``, ``Gather``, ...): 10 million. Constants are
evaluated only when a shape needs their values, so an unused large one costs nothing; real shape
constants have a handful of elements (a ViT-H position embedding, 329k)."""


def limit_text(name: str) -> str:
    """``"MAX_CONSTANT_ELEMENTS = 10,000,000"``: how an error names a cap."""
    value = globals()[name]
    return f"cnncalc's cap {name} = {value:,}" + (f" bytes ({_binary(value)})" if name.endswith("_BYTES") else "")


def _binary(n: int) -> str:
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:g} {unit}"
    return f"{n} B"
