"""Where a Keras 3 ``.keras`` archive keeps each layer's weights: the paths ``keras.saving`` writes.

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
second ``Gate``), and a custom layer named ``dense`` is *not* ``layers/dense`` when the model also
holds a real ``Dense``: that group is the Dense's if the Dense comes first. :func:`layer_weights`
walks the config in the same order and gives each layer the shapes of every variable under its
group (its own and its sub-layers'), so an unknown layer's parameters are exactly what Keras'
``count_params()`` counts for it. TensorFlow 2.13-2.15's Keras wrote ``_layer_checkpoint_dependencies``
where Keras 3 writes ``layers`` (the loader's "2.13 compatibility" fix, l. 1411): both are read.
"""

from __future__ import annotations

import re

from .traverse import SEPARATOR

LAYER_GROUPS = ("layers", "_layer_checkpoint_dependencies")
"""The h5 group of a model's layers: Keras 3's name, then the TF 2.13-2.15 Keras one."""

OPERATION_MODULES = ("keras.src.ops.", "keras.ops.")
"""A config entry from these modules is a ``keras.ops`` operation (``x + 3.0``), not a layer:
Keras lists it in ``model.operations`` but not in ``model.layers``, so it takes no h5 name."""

MODEL_CLASSES = ("Functional", "Model", "Sequential")


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
    """A nested model: one of Keras' model classes, or any class whose config holds a layer graph."""
    cfg = layer_cfg.get("config")
    return layer_cfg.get("class_name") in MODEL_CLASSES or (isinstance(cfg, dict) and isinstance(cfg.get("layers"), list))


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


def layer_name(layer_cfg: dict) -> str:
    cfg = layer_cfg.get("config") if isinstance(layer_cfg.get("config"), dict) else {}
    return str(layer_cfg.get("name") or cfg.get("name") or "")


def layer_weights(model_cfg: dict, root, visit_shapes) -> dict[str, list[tuple]]:
    """``{qualified layer name: [variable shapes]}`` for every layer of a model config (nested
    models entered, their layers named ``outer/inner``), from the h5 file's ``root`` group.

    ``visit_shapes(group) -> [shape, ...]`` lists the shapes of every variable under a group (the
    layer's own ``vars`` and its sub-layers'), refusing what a hostile file may hold (links);
    a layer whose group is absent (shared with an earlier place, or holding no variables) gets
    ``[]``.
    """
    found: dict[str, list[tuple]] = {}

    def walk(cfg, group, scope):
        layers = _child(group, LAYER_GROUPS)
        for h5_name, layer in saved_order(cfg):
            qualified = scope + layer_name(layer)
            sub = _child(layers, (h5_name,))
            inner = layer.get("config")
            if is_model(layer) and isinstance(inner, dict) and isinstance(inner.get("layers"), list):
                walk(inner, sub, qualified + SEPARATOR)
            else:
                found[qualified] = visit_shapes(sub) if sub is not None else []

    walk(model_cfg, root, "")
    return found


def _child(group, names):
    if group is None:
        return None
    for name in names:
        try:
            if name in group:
                return group[name]
        except (KeyError, TypeError, ValueError):
            return None
    return None


def variable_shapes(group) -> list[tuple]:
    """The shapes of every dataset under an h5py group (its ``vars`` and its sub-layers'), read
    from the metadata only. A link (soft or external) is refused: a model file never makes us
    open another path or follow a name elsewhere (``ValueError``, worded by the caller)."""
    import h5py

    shapes, stack = [], [group]
    while stack:
        current = stack.pop()
        for key in current.keys():
            link = current.get(key, getlink=True)
            if not isinstance(link, h5py.HardLink):
                raise ValueError(f"'{current.name}/{key}' is a link ({type(link).__name__}); weights files hold data, not links")
            item = current[key]
            if isinstance(item, h5py.Dataset):
                shapes.append(tuple(int(v) for v in item.shape))
            else:
                stack.append(item)
    return shapes
