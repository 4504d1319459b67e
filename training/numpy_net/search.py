"""Hyper-parameter search for :class:`training.numpy_net.TwoLayerNet` (grid or random).

Source: CS231n assignment 1, ``two_layer_net.ipynb``, "Tune your hyperparameters" (hidden layer
size, learning rate, regularisation strength, number of training epochs; keep the net with the
best validation accuracy), and Bergstra & Bengio, "Random Search for Hyper-Parameter
Optimization", JMLR 13 (2012), for the random variant (learning rate and regularisation drawn
log-uniformly).

- ``method="grid"``: every combination of the given value lists, in ``itertools.product`` order
  (hidden size slowest, epochs fastest).
- ``method="random"``: ``num_trials`` draws; a dimension given as a list is sampled uniformly
  from it, one given as :class:`LogUniform` as ``exp(U(log lo, log hi))``.

An epoch is ``max(N // batch_size, 1)`` iterations (as ``TwoLayerNet.train``); ``epochs`` may be
fractional and becomes ``num_iters = max(1, round(epochs * iterations_per_epoch))``. Every trial
starts from the same initial draw (``np.random.RandomState(seed)``), so trials differ only in
their hyper-parameters.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .network import TwoLayerNet, _non_negative_real, _positive_int, _positive_real

__all__ = ["LogUniform", "SearchResult", "search_hyperparameters"]

TABLE_COLUMNS = (
    "trial", "hidden_size", "learning_rate", "reg", "epochs", "num_iters",
    "final_loss", "train_acc", "val_acc", "diverged", "seconds",
)


@dataclass(frozen=True)
class LogUniform:
    """``exp(U(log low, log high))``: a positive range sampled on a log scale (random search)."""

    low: float
    high: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.low) and math.isfinite(self.high) and 0 < self.low <= self.high):
            raise ValueError(f"LogUniform needs 0 < low <= high, got ({self.low!r}, {self.high!r})")

    def sample(self, rng: np.random.Generator) -> float:
        return float(math.exp(rng.uniform(math.log(self.low), math.log(self.high))))


@dataclass
class SearchResult:
    """The best net on validation accuracy, its trial row and history, and every trial."""

    best_net: TwoLayerNet
    best: dict[str, Any]
    best_history: dict[str, list]
    trials: list[dict[str, Any]] = field(default_factory=list)

    def table(self, tablefmt: str = "github") -> str:
        """All trials as a table (``tabulate``), sorted by validation accuracy, best first."""
        from tabulate import tabulate

        rows = sorted(self.trials, key=lambda t: (-t["val_acc"], t["trial"]))
        return tabulate(
            [[t[c] for c in TABLE_COLUMNS] for t in rows],
            headers=TABLE_COLUMNS, tablefmt=tablefmt, floatfmt=".4g",
        )


def _values(name: str, values: Any, check, method: str) -> list | LogUniform:
    if isinstance(values, LogUniform):
        if method == "grid":
            raise ValueError(f"{name}: a LogUniform range needs method='random'; give a list for a grid")
        return values
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or len(values) == 0:
        raise ValueError(f"{name} must be a non-empty list of values or a LogUniform range")
    return [check(name, v) for v in values]


def search_hyperparameters(
    X_train,
    y_train,
    X_val,
    y_val,
    *,
    hidden_sizes: Sequence[int] | LogUniform = (50,),
    learning_rates: Sequence[float] | LogUniform = (1e-3,),
    regs: Sequence[float] | LogUniform = (0.25,),
    epochs: Sequence[float] = (1,),
    method: str = "grid",
    num_trials: int | None = None,
    num_classes: int | None = None,
    batch_size: int = 200,
    learning_rate_decay: float = 0.95,
    std: float = 1e-4,
    seed: int = 0,
    verbose: bool = False,
) -> SearchResult:
    """Train one :class:`TwoLayerNet` per trial; return the best on validation accuracy.

    ``X_*`` are (N, D) arrays, ``y_*`` integer labels; ``num_classes`` defaults to
    ``max(y_train, y_val) + 1``. Ties in validation accuracy go to the earlier trial. A trial
    whose loss ends non-finite is kept in the table with ``diverged=True`` (overflow warnings
    are silenced for it). Raises ValueError for an unknown ``method``, empty value lists,
    non-positive values, or ``num_trials`` missing for random search.
    """
    if method not in ("grid", "random"):
        raise ValueError(f"method must be 'grid' or 'random', got {method!r}")
    X_train, X_val = np.asarray(X_train), np.asarray(X_val)
    y_train, y_val = np.asarray(y_train), np.asarray(y_val)
    if X_train.ndim != 2 or X_val.ndim != 2:
        raise ValueError(f"X_train and X_val must be 2-D (N, D), got {X_train.shape} and {X_val.shape}")
    if num_classes is None:
        if y_train.size == 0 or y_val.size == 0:
            raise ValueError("y_train and y_val must not be empty")
        num_classes = int(max(np.max(y_train), np.max(y_val))) + 1
    space = {
        "hidden_size": _values("hidden_sizes", hidden_sizes, _positive_int, method),
        "learning_rate": _values("learning_rates", learning_rates, _positive_real, method),
        "reg": _values("regs", regs, _non_negative_real, method),
        "epochs": _values("epochs", epochs, _positive_real, method),
    }
    batch_size = _positive_int("batch_size", batch_size)
    if method == "grid":
        configs = [dict(zip(space, combo)) for combo in itertools.product(*space.values())]
    else:
        num_trials = _positive_int("num_trials", num_trials)
        sampler = np.random.default_rng(seed)
        configs = [
            {k: (v.sample(sampler) if isinstance(v, LogUniform) else v[sampler.integers(len(v))])
             for k, v in space.items()}
            for _ in range(num_trials)
        ]
        for c in configs:
            c["hidden_size"] = max(1, int(round(c["hidden_size"])))

    iterations_per_epoch = max(X_train.shape[0] // batch_size, 1)
    trials: list[dict[str, Any]] = []
    best = None
    for i, cfg in enumerate(configs):
        num_iters = max(1, int(round(cfg["epochs"] * iterations_per_epoch)))
        start = time.perf_counter()
        net = TwoLayerNet(X_train.shape[1], cfg["hidden_size"], num_classes, std=std,
                          rng=np.random.RandomState(seed))
        with np.errstate(over="ignore", invalid="ignore"):
            history = net.train(
                X_train, y_train, X_val, y_val,
                learning_rate=cfg["learning_rate"], learning_rate_decay=learning_rate_decay,
                reg=cfg["reg"], num_iters=num_iters, batch_size=batch_size,
            )
            train_acc = net.accuracy(X_train, y_train)
            val_acc = net.accuracy(X_val, y_val)
        final_loss = float(history["loss_history"][-1])
        row = {
            "trial": i,
            **cfg,
            "num_iters": num_iters,
            "final_loss": final_loss,
            "train_acc": train_acc,
            "val_acc": val_acc,
            "diverged": not math.isfinite(final_loss),
            "seconds": round(time.perf_counter() - start, 3),
        }
        trials.append(row)
        if verbose:
            print(" ".join(f"{k}={row[k]}" for k in TABLE_COLUMNS))
        if best is None or val_acc > best[0]["val_acc"]:
            best = (row, net, history)
    return SearchResult(best_net=best[1], best=best[0], best_history=best[2], trials=trials)

