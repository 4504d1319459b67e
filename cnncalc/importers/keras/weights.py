"""Weight shapes of a ``.keras`` archive's ``model.weights.h5`` (h5py): the parameters of a
layer class cnncalc has no formula for, found where Keras 3 stores them.

``model.weights.h5`` does not file a layer's variables under the name the user gave the layer.
Keras 3 (``keras/src/saving/saving_lib.py``, read in 3.15.1) walks the model and names every
object by its *class* and its place:

- ``_save_state`` (l. 768) starts at the model with the path ``""`` and stores its own variables
  under ``<path>/vars`` (``save_own_variables``: ``vars/0``, ``vars/1``, ... in the order
  ``_trainable_variables + _non_trainable_variables``, ``layers/layer.py`` l. 1435; the file does
  not record which are trainable). Keras 3.15 also writes the layer's name as an attribute of the
  ``vars`` group (``metadata = {"name": saveable.name}``, l. 798): metadata, not the key.
- ``_walk_saveable`` (l. 738) visits a ``Functional`` or ``Sequential`` model's ``layers`` first
  (l. 755), then every other attribute in sorted order, private ones (``_x``) last (``_name_key``),
  skipping those a bare ``Layer`` has (``get_attr_skipset``, l. 1913). A ``KerasSaveable``
  attribute ``attr`` is saved at ``<path>/<attr>``; a list, tuple or dict attribute is a container.
- ``_save_container_state`` (l. 957) names each member of a container
  ``naming.to_snake_case(type(obj).__name__)`` (l. 983: "Do NOT address the saveable via
  ``saveable.name``"), made unique per container by ``_get_unique_name`` (l. 937): ``gate``,
  ``gate_1``, ``gate_2``, ... in the container's order. So a model's layers are
  ``layers/<snake class>[_k]`` in the order of ``model.layers``: a ``Functional``'s operations that
  are layers (its config's ``layers`` without the ``keras.ops`` operations such as ``x + 3.0``;
  ``InputLayer`` included, as ``input_layer``), a ``Sequential``'s layers without its
  ``InputLayer``.
- An object already saved is skipped (``visited_saveables``, l. 793), though its name in the
  container is still taken: a layer shared by two places is stored at the first.
- A nested model is a layer like any other: its layers are ``<its path>/layers/...``; a layer
  holding other layers (``self.conv = Conv2D(...)``, ``self.norms = [...]``) stores them under its
  own path (``layers/block/conv/vars``, ``layers/block/norms/batch_normalization_1/vars``).

Hence a custom layer named ``mygate`` of class ``Gate`` is ``layers/gate`` (``gate_1`` for the
second ``Gate``), and a ``Gate`` named ``dense`` is ``layers/gate_k``, never ``layers/dense``: that
group belongs to the model's first ``Dense``, whatever its name. :meth:`_Walk.layer_shapes`
walks the config in the same order and gives each layer the shapes of every variable under its
group (its own and its sub-layers'), so an unknown layer's parameters are exactly what Keras'
``count_params()`` counts for it. TensorFlow 2.13-2.15's Keras wrote ``_layer_checkpoint_dependencies``
where Keras 3 writes ``layers`` (the loader's "2.13 compatibility" fix, l. 1411): both are read.

Only metadata is read (group names, dataset shapes), never a weight, and the file is read where
it lies in the archive (Keras stores it uncompressed), never copied into memory. An HDF5 file can
point elsewhere; none of it is followed, each refused by name in a one-line error:

- an external link (another file) or a soft link (a path inside the file, which may loop);
- a virtual dataset or a dataset with external storage (data in other files);
- a group reached twice (a hard-link cycle), groups nested deeper than
  :data:`~cnncalc.importers.limits.MAX_H5_DEPTH`, more objects than
  :data:`~cnncalc.importers.limits.MAX_H5_OBJECTS`;
- a file larger than :data:`~cnncalc.importers.limits.MAX_WEIGHTS_BYTES`, or, when the archive
  compresses it, than :data:`~cnncalc.importers.limits.MAX_COMPRESSED_WEIGHTS_BYTES` once inflated
  (inflated into a temporary file: seeking in a deflate stream would inflate it again and again).
"""

from __future__ import annotations

import contextlib
import re
import shutil
import tempfile
import zipfile

from ...traverse import SEPARATOR
from ..errors import KerasImportError
from ..limits import MAX_COMPRESSED_WEIGHTS_BYTES, MAX_H5_DEPTH, MAX_H5_OBJECTS, MAX_WEIGHTS_BYTES, limit_text
from .graph import CONTAINERS, unwrap

WEIGHTS = "model.weights.h5"

LAYER_GROUPS = ("layers", "_layer_checkpoint_dependencies")
"""The h5 group of a model's layers: Keras 3's name, then the TF 2.13-2.15 Keras one."""

OPERATION_MODULES = ("keras.src.ops.", "keras.ops.")
"""A config entry from these modules is a ``keras.ops`` operation (``x + 3.0``), not a layer:
Keras lists it in ``model.operations`` but not in ``model.layers``, so it takes no h5 name."""


def snake_case(name: str) -> str:
    """Keras' ``naming.to_snake_case``: ``GlobalAveragePooling2D`` -> ``global_average_pooling2d``."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def is_operation(layer_cfg: dict) -> bool:
    """A ``keras.ops`` operation of a functional graph (no weights, no h5 group)."""
    module = layer_cfg.get("module") or ""
    return isinstance(module, str) and module.startswith(OPERATION_MODULES)


def is_model(layer_cfg: dict) -> bool:
    """A nested model the graph walk enters: one of Keras' model classes with a layer graph."""
    cfg = layer_cfg.get("config")
    return layer_cfg.get("class_name") in CONTAINERS and isinstance(cfg, dict) and isinstance(cfg.get("layers"), list)


def saved_order(model_cfg: dict) -> list[tuple[str, dict]]:
    """``[(h5 name, layer config)]`` of a model config, in the order and with the names
    ``keras.saving`` gives ``model.layers`` (see the module docstring)."""
    sequential = "input_layers" not in model_cfg and "output_layers" not in model_cfg
    used: dict[str, int] = {}
    order = []
    for layer in model_cfg.get("layers") or []:
        if not isinstance(layer, dict) or is_operation(layer):
            continue
        cls = str(layer.get("class_name", ""))
        if sequential and cls == "InputLayer":
            continue  # Sequential.layers leaves out its InputLayer
        name = snake_case(cls)
        if name in used:  # saving_lib._get_unique_name
            used[name] += 1
            name = f"{name}_{used[name]}"
        else:
            used[name] = 0
        order.append((name, layer))
    return order


def layer_name(layer_cfg: dict, model_cfg: dict) -> str:
    """The layer's name as the graph walk gives it (a Sequential's entries by their config's name)."""
    cfg = layer_cfg.get("config") if isinstance(layer_cfg.get("config"), dict) else {}
    sequential = "input_layers" not in model_cfg and "output_layers" not in model_cfg
    names = (cfg.get("name"), layer_cfg.get("name")) if sequential else (layer_cfg.get("name"), cfg.get("name"))
    return str(next((n for n in names if n), ""))


def weight_shapes(archive, path, config) -> dict:
    """``{qualified layer name: [variable shapes]}`` from the archive's ``model.weights.h5``: for
    each layer of the model ``config`` (nested models entered, their layers ``outer/inner``), the
    shapes of every variable under the group ``keras.saving`` gave it (:func:`saved_order`)."""
    try:
        import h5py
    except ModuleNotFoundError:
        raise KerasImportError(
            f"'{path}' holds a layer class cnncalc cannot count from the config alone; reading its weight shapes needs h5py "
            "(pip install 'cnncalc[keras-files]') or load it through Keras (--via-keras)"
        ) from None
    where = f"'{path}': {WEIGHTS}"
    info = archive.getinfo(WEIGHTS)
    stored = info.compress_type == zipfile.ZIP_STORED
    cap, cap_name = (MAX_WEIGHTS_BYTES, "MAX_WEIGHTS_BYTES") if stored else (MAX_COMPRESSED_WEIGHTS_BYTES, "MAX_COMPRESSED_WEIGHTS_BYTES")
    if info.file_size > cap:
        raise KerasImportError(f"{where} is {info.file_size:,} bytes, more than {limit_text(cap_name)}")
    with _opened(archive, info, stored, cap, cap_name, where) as fh:
        try:
            h5 = h5py.File(fh, "r")
        except OSError as exc:
            raise KerasImportError(f"{where} is not an HDF5 file (or is truncated): {str(exc).splitlines()[0] if str(exc) else exc}") from None
        with h5:
            return _Walk(h5py, where).layer_shapes(h5, unwrap(config)[1])


@contextlib.contextmanager
def _opened(archive, info, stored, cap, cap_name, where):
    """The member as a seekable file: in place when stored, inflated (bounded) into a temporary
    file when compressed."""
    if stored:
        with archive.open(info) as fh:
            yield fh
        return
    with archive.open(info) as source, tempfile.TemporaryFile() as copy:
        shutil.copyfileobj(_Bounded(source, cap, cap_name, where), copy, 1 << 20)
        copy.seek(0)
        yield copy


class _Bounded:
    """A stream that stops with an error past ``cap`` bytes, whatever the zip header declared."""

    def __init__(self, stream, cap, cap_name, where):
        self.stream, self.left, self.cap_name, self.where = stream, cap, cap_name, where

    def read(self, n=-1):
        data = self.stream.read(min(n, self.left + 1) if n >= 0 else self.left + 1)
        self.left -= len(data)
        if self.left < 0:
            raise KerasImportError(f"{self.where} inflates to more than {limit_text(self.cap_name)}")
        return data


class _Walk:
    """The walk over the groups of the model's layers, in the order and with the names
    ``keras.saving`` gives them, following hard links only, each group once (see the module
    docstring)."""

    def __init__(self, h5py, where):
        self.h5py, self.where = h5py, where
        self.seen: set = set()
        self.visited = 0

    def layer_shapes(self, h5, model_cfg) -> dict:
        """Each layer of ``model_cfg`` -> the shapes under its group (``[]`` where it has none: a
        layer without variables, or one stored at an earlier place)."""
        found: dict[str, list] = {}
        stack = [(model_cfg, h5, "", "", 1)]
        while stack:
            cfg, group, scope, at, depth = stack.pop()
            if depth > MAX_H5_DEPTH:
                raise KerasImportError(f"{self.where}: models nest deeper than {limit_text('MAX_H5_DEPTH')} (at '{at}')")
            layers, at_layers = None, at
            for key in LAYER_GROUPS:
                layers = self.child(group, key, at) if group is not None else None
                if layers is not None:
                    at_layers = f"{at}/{key}"
                    break
            for h5_name, layer in saved_order(cfg):
                qualified = scope + layer_name(layer, cfg)
                sub = self.child(layers, h5_name, at_layers) if isinstance(layers, self.h5py.Group) else None
                sub = sub if isinstance(sub, self.h5py.Group) else None
                inner = layer.get("config")
                if is_model(layer):
                    stack.append((inner, sub, qualified + SEPARATOR, f"{at_layers}/{h5_name}", depth + 1))
                else:
                    found[qualified] = self.variables(sub, f"{at_layers}/{h5_name}", depth) if sub is not None else []
        return found

    def variables(self, group, at, depth) -> list:
        """The shapes of every dataset under ``group``: the layer's ``vars`` and its sub-layers'."""
        shapes, stack = [], [(group, at, depth)]
        while stack:
            current, where, level = stack.pop()
            if level > MAX_H5_DEPTH:
                raise KerasImportError(f"{self.where}: groups nest deeper than {limit_text('MAX_H5_DEPTH')} (at '{where}')")
            for key in current:
                item = self.child(current, key, where)
                if isinstance(item, self.h5py.Dataset):
                    if item.shape is not None:
                        shapes.append(tuple(int(d) for d in item.shape))
                elif isinstance(item, self.h5py.Group):
                    stack.append((item, f"{where}/{key}", level + 1))
        return shapes

    def child(self, group, key, at):
        """``group[key]`` when it is a hard link to a group or dataset not seen before; refusals
        (see the module docstring) are one-line errors naming the path."""
        link = group.get(key, getlink=True)
        if link is None:
            return None
        path = f"{at.rstrip('/')}/{key}"
        if isinstance(link, self.h5py.ExternalLink):
            raise KerasImportError(f"{self.where}: '{path}' is an external link to '{link.filename}': cnncalc never opens a file a model names")
        if isinstance(link, self.h5py.SoftLink):
            raise KerasImportError(f"{self.where}: '{path}' is a soft link to '{link.path}': cnncalc does not follow links inside a weights file")
        self.visited += 1
        if self.visited > MAX_H5_OBJECTS:
            raise KerasImportError(f"{self.where} holds more than {limit_text('MAX_H5_OBJECTS')} groups and datasets")
        item = group[key]
        if isinstance(item, self.h5py.Dataset):
            if item.is_virtual:
                raise KerasImportError(f"{self.where}: '{path}' is a virtual dataset (its data is in other files): refused")
            if item.external:
                raise KerasImportError(f"{self.where}: '{path}' stores its data in external files: refused")
        elif isinstance(item, self.h5py.Group):
            if item.id in self.seen:
                raise KerasImportError(f"{self.where}: '{path}' is a group reached twice (a hard-link cycle or a shared group): refused")
            self.seen.add(item.id)
        return item
