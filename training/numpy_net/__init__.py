"""The NumPy network: CS231n's two-layer net written by hand, the reference the Keras path is checked against.

Kept apart from the Keras library because it needs nothing but NumPy (``cnntrain numpy-net`` runs
without Keras installed) and because it is a reference, not a building block:

- :mod:`.network`: :class:`TwoLayerNet` (forward, back-propagation, SGD training loop);
- :mod:`.gradcheck`: centred-difference gradients and the relative-error measure;
- :mod:`.search`: grid and random hyper-parameter search over the net;
- :mod:`.run`: one preset run that writes a run directory (the body of the ``numpy-net``
  experiment, ``training/experiments/two_layer_net.py``).

See docs/numpy-net.md.
"""

from .gradcheck import check_gradients, numerical_gradient, relative_error
from .network import TwoLayerNet, softmax_cross_entropy
from .run import PRESETS, prepare_data, run_numpy_net, weight_grid
from .search import LogUniform, SearchResult, search_hyperparameters

__all__ = [
    "PRESETS",
    "LogUniform",
    "SearchResult",
    "TwoLayerNet",
    "check_gradients",
    "numerical_gradient",
    "prepare_data",
    "relative_error",
    "run_numpy_net",
    "search_hyperparameters",
    "softmax_cross_entropy",
    "weight_grid",
]
