"""``numpy-net``: the from-scratch NumPy two-layer network (CS231n assignment 1) on real data.

An experiment like the others, so that its run directory is like theirs: ``config.json`` names the
experiment and the dataset (``cnntrain report`` shows them) and ``cnntrain resume DIR`` finds the
recipe. The body is :func:`training.numpy_net.run.run_numpy_net`; this recipe only loads the data
set through the same loader as the Keras experiments (unnormalised: the net subtracts the mean
training image itself, as the assignment does) and hands over the run directory.

It needs neither Keras nor matplotlib (``requires`` is empty): without matplotlib the two plots
are skipped with a warning. The NumPy net trains in seconds to minutes, so a resume retrains it
from the stored config rather than from a checkpoint.

The presets are :data:`training.numpy_net.run.PRESETS` (``quick``: seconds on 2 cores;
``paper``: the notebook's first CIFAR-10 run); the options below override single fields.
"""

from __future__ import annotations

from ..runs import RunError
from . import Option, check_positive, experiment

# Only what identifies the run; the net's hyper-parameters come from numpy_net.run.PRESETS by name.
PRESETS = {
    "quick": {"dataset": "cifar10", "normalization": "none", "seed": 0},
    "paper": {"dataset": "cifar10", "normalization": "none", "seed": 0},
}

# config key -> keyword of run_numpy_net (``--lr`` is the common option, the net calls it learning_rate)
OVERRIDES = {"hidden_size": "hidden_size", "lr": "learning_rate", "reg": "reg", "num_iters": "num_iters", "batch_size": "batch_size"}


def _validate(config: dict) -> None:
    check_positive(config, "hidden_size", "num_iters")
    if config.get("reg") is not None and not config["reg"] >= 0:
        raise RunError(f"--reg must be non-negative, got {config['reg']}")


def _validate_data(config: dict, dataset) -> None:
    """The net draws each batch with replacement: a batch beyond the training set repeats
    samples to no purpose and costs memory in proportion (--batch-size 10**9 would not fit)."""
    n = len(dataset.x_train)
    if config.get("batch_size") is not None and int(config["batch_size"]) > n:
        raise RunError(f"--batch-size {config['batch_size']} exceeds the {n} training samples")


@experiment(
    "numpy-net",
    "train the from-scratch NumPy two-layer network (CS231n)",
    PRESETS,
    options=(
        Option("--hidden-size", "hidden units H", int),
        Option("--reg", "L2 regularisation strength", float),
        Option("--num-iters", "SGD iterations", int),
    ),
    validate=_validate,
    validate_data=_validate_data,
    common=("dataset", "batch_size", "lr", "seed", "data_dir", "subset"),
    requires={},
)
def run(ctx):
    from ..numpy_net.run import run_numpy_net

    dataset = ctx.dataset()
    data = {k: getattr(dataset, k) for k in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test")}
    overrides = {name: ctx[key] for key, name in OVERRIDES.items() if ctx.get(key) is not None}
    metrics = run_numpy_net(data, preset=ctx["preset"], out_dir=ctx.path, seed=int(ctx["seed"]), record=ctx.run.config(), **overrides)
    ctx.log(", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in metrics.items() if "accuracy" in k))
    return metrics
