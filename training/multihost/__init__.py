"""``--distribute multi-host``: one model trained by several processes (machines) with JAX's distributed runtime.

- ``runtime``: start the runtime (:func:`~.runtime.start`: launch parameters or cluster
  detection, the handshake, ``jax.distributed.initialize``, ``keras.distribution.DataParallel``)
  and the :class:`~.runtime.Cluster` it made: which share of each global batch this process feeds;
- ``rendezvous``: the handshake before JAX starts, so that a bad start is one line on every
  process, never a native crash or a hang;
- ``watchdog``: a lost process is named, the run marked interrupted, every survivor stopped;
- ``peers``: one writer: process 0 owns the run directory, the others work in private copies.

Importing this package imports neither JAX nor Keras. See docs/distributed.md.
"""

from .peers import private_directory
from .runtime import Cluster, ClusterError, Launch, barrier, check_batch_sizes, current, finish, leave, prepare, start
from .watchdog import EXIT_PEER_LOST, PeerLost, peer_loss, working_in

__all__ = [
    "EXIT_PEER_LOST",
    "Cluster",
    "ClusterError",
    "Launch",
    "PeerLost",
    "barrier",
    "check_batch_sizes",
    "current",
    "finish",
    "leave",
    "peer_loss",
    "prepare",
    "private_directory",
    "start",
    "working_in",
]
