"""The run machinery: a run directory on disk, the training loop that fills it, the report that reads it.

Kept apart from the Keras library (``training.optimizers``, ``schedules``, ``batching``, ...) because
it is about *runs*, not models: what is written where (:mod:`.rundir`), how a run trains and
resumes exactly (:mod:`.loop`, fed by :mod:`.feeding`), and the tables and plots over finished runs (:mod:`.report`). The
recipes of ``training.experiments`` train through it; see docs/training.md.

The public names are re-exported here (``from training.runs import RunDir, train``). Importing this
package imports neither Keras nor matplotlib.
"""

from .feeding import epoch_order
from .loop import Convergence, NonFiniteLoss, TrainingPlan, current_learning_rate, restore_seed_states, seed_states, train
from .rundir import HISTORY_FIELDS, TRACE_FIELDS, RunDir, RunError, library_versions

__all__ = [
    "Convergence",
    "HISTORY_FIELDS",
    "TRACE_FIELDS",
    "NonFiniteLoss",
    "RunDir",
    "RunError",
    "TrainingPlan",
    "current_learning_rate",
    "epoch_order",
    "library_versions",
    "restore_seed_states",
    "seed_states",
    "train",
]
