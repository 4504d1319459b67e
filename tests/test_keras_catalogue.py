"""Every keras.applications model, imported from its stored config, against what Keras said of it.

``tests/data/keras_catalogue/NAME.json.gz`` holds, per model built by Keras at its default size
with ``weights=None`` (written by ``python tests/keras_truth.py``): the config a ``.keras`` file
stores, ``count_params()``, the trainable and non-trainable weights, every layer's output shape and
the conv + dense MACs from the textbook formulas applied to the live layers (``keras_truth.py``,
independent of cnncalc's kinds). The import of each config must give all of them exactly, one row
per Keras layer and no other. No Keras is needed here: this is the path of ``cnncalc FILE.keras``.
``tests/test_keras_live.py`` builds a representative subset live, so a Keras release that changes
a model shows up there.
"""

from __future__ import annotations

import importlib.util
import os

import pytest

from cnncalc import analyze
from cnncalc.importers.keras import from_config

_spec = importlib.util.spec_from_file_location("keras_truth", os.path.join(os.path.dirname(__file__), "keras_truth.py"))
keras_truth = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(keras_truth)

PUBLISHED = {
    # multiply-adds at 224 x 224 (docs/import.md): Sandler et al. 2018 Table 4 (300M), Tan & Le
    # 2019 Table 2 (0.39B), Zoph et al. 2018 Table 2 (564M)
    # (ours, the published figure, half its last printed digit): ours rounds to what is printed
    "MobileNetV2": (300_774_272, 300e6, 5e6),  # "300M": two significant digits
    "EfficientNetB0": (385_814_752, 0.39e9, 5e6),  # "0.39B"
    "NASNetMobile": (563_638_816, 564e6, 0.5e6),  # "564M"
}


def test_every_catalogue_model_is_stored():
    missing = [name for name in keras_truth.CATALOGUE if not os.path.exists(keras_truth.path_of(name))]
    assert not missing, f"run python tests/keras_truth.py {' '.join(missing)}"


@pytest.mark.parametrize("name", keras_truth.CATALOGUE)
def test_every_catalogue_model_imports_as_keras_counts_it(name):
    record = keras_truth.load(name)
    a = analyze(from_config(record["config"]))
    assert a.totals.params == record["count_params"]
    assert (a.totals.trainable, a.totals.non_trainable) == (record["trainable"], record["non_trainable"])
    rows = {r.name: r for r in a.layers}
    assert set(rows) == set(record["layers"]), sorted(set(rows) ^ set(record["layers"]))[:5]
    assert len(a.layers) == len(record["layers"])
    bad = [(n, rows[n].output, tuple(shape)) for n, shape in record["layers"].items() if rows[n].output != tuple(shape)]
    assert not bad, bad[:5]
    assert list(a.output) == record["output"]
    assert a.totals.macs == record["macs"]
    assert not a.uncounted and not [w for w in a.warnings if "not counted" in w]
    if name in PUBLISHED:
        ours, published, half_step = PUBLISHED[name]
        assert a.totals.macs == ours and abs(ours - published) <= half_step


def test_nasnet_large_is_a_thousand_rows_with_receptive_fields_through_its_cells():
    a = analyze(from_config(keras_truth.load("NASNetLarge")["config"]))
    assert len(a.layers) > 1000
    last_spatial = [r for r in a.layers if r.rf is not None][-1]
    assert last_spatial.rf > 331  # the last cells see more than the whole 331-pixel input


def test_squeeze_and_excitation_gates_keep_the_spatial_field():
    """EfficientNetB0: a block's Multiply joins the spatial path and a 1x1 gate made from a global
    pool; the field follows the spatial path (docs/import.md)."""
    a = analyze(from_config(keras_truth.load("EfficientNetB0")["config"]))
    excite, dwconv = a.row("block2a_se_excite"), a.row("block2a_dwconv")
    assert excite.rf == dwconv.rf == a.row("block2a_activation").rf and excite.rf is not None
    assert a.row("block2a_se_squeeze").rf is None
