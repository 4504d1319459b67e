"""Keras -> spec: any Keras model (live, a config dict or a saved ``.keras`` file) as a :class:`Graph`.

Keras 3 has no FLOPs/MACs counter (keras-team/keras#18391); cnncalc reads the model's *config*
(plain JSON: what ``model.get_config()`` returns and what a ``.keras`` archive stores as
``config.json``) and maps each Keras layer onto a registered layer kind, so the one engine gives
Keras' exact parameter counts and output shapes plus MACs, activations and receptive fields. This
module imports neither Keras nor TensorFlow: a live model is only asked for its config and, for a
layer class the mapping does not know, for that layer's output shape and weights.

The graph. Each Keras layer call is one :class:`~cnncalc.spec.Node`, named as in Keras; the tensors
it reads come from ``inbound_nodes`` (``keras_history = [layer, call, tensor]``; Keras 2's list form
is read too). Nested models (a ``Functional`` or ``Sequential`` used as a layer) are expanded, their
layers named ``outer/inner``; their own ``InputLayer`` is an alias of the tensor fed in and gets no
row. A layer called twice is a shared layer: the second call is the node ``name#2``, which counts
MACs and activations again and shares the first call's parameters; a nested model called again
gives its layers the nodes ``blk#2/conv``, which share ``blk/conv``'s. A layer (or nested model)
with ``trainable: false`` counts its parameters as non-trainable, as ``model.non_trainable_weights``
does. A call reads its tensors positionally and by keyword (``MultiHeadAttention(query=...,
value=..., key=...)``; masks are not data); a layer with several outputs gives a node per output
(``name``, ``name:1``, ...: an unknown class's outputs, attention's scores).

What each Keras class becomes is the table :data:`CLASSES`; docs/import.md lists it with the
conventions. A class outside it becomes an :class:`~cnncalc.kinds.Opaque` row per output, whatever
its number of inputs, when its output shapes and parameters can be known (from the live layer, or
from the consumers' recorded tensor shapes and the weights the archive stores for it, found where
``keras.saving`` puts them: :mod:`.weights`), named in the analysis' warnings with "MACs not
counted"; when they cannot, :class:`KerasImportError` names the class and the install that helps.

Modules: :mod:`.graph` (config -> graph: the walk over functional, sequential and nested models),
:mod:`.layers` (the class table), :mod:`.values` (config values), :mod:`.archive` (the ``.keras``
zip), :mod:`.weights` (``model.weights.h5``), :mod:`.live` (live models, ``keras:NAME``).
"""

from ..errors import KerasImportError
from .archive import CONFIG, is_keras_file, read_keras_file
from .graph import CALL_MARK, CONTAINERS, from_config, unwrap
from .layers import CLASSES
from .live import PREFIX, application, application_model, from_keras, keras_model, live_layers
from .weights import WEIGHTS

__all__ = [
    "CALL_MARK", "CLASSES", "CONFIG", "CONTAINERS", "PREFIX", "WEIGHTS", "KerasImportError", "application", "application_model",
    "from_config", "from_keras", "is_keras_file", "keras_model", "live_layers", "read_keras_file", "unwrap",
]
