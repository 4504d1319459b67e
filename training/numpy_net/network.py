"""A two-layer fully connected network written by hand in NumPy: the reference trainer.

Source: Stanford CS231n, assignment 1, ``two_layer_net.ipynb`` /
``cs231n/classifiers/neural_net.py`` (the ``TwoLayerNet`` exercise). The class keeps the
assignment's interface and its random-number usage, so the assignment's seeded checks
reproduce exactly (see ``tests/training/test_numpy_net.py``).

Architecture (N samples, D inputs, H hidden units, C classes)::

    input -> affine (W1, b1) -> ReLU -> affine (W2, b2) -> softmax

    h = max(0, X W1 + b1)                      (N, H)
    z = h W2 + b2                              (N, C)   class scores
    p_ij = exp(z_ij - m_i) / sum_k exp(z_ik - m_i),  m_i = max_k z_ik   (shifted: stable)
    L = mean_i(-log p_{i, y_i}) + reg * (||W1||_F^2 + ||W2||_F^2)

Gradients (back-propagation, all vectorised)::

    dz  = (p - onehot(y)) / N
    dW2 = h^T dz + 2 reg W2             db2 = sum_i dz_i
    dh  = dz W2^T * [h > 0]
    dW1 = X^T dh + 2 reg W1             db1 = sum_i dh_i

Only NumPy is imported; nothing here touches TensorFlow or matplotlib.
"""

from __future__ import annotations

import math
from numbers import Integral, Real
from typing import Any

import numpy as np

__all__ = ["TwoLayerNet", "softmax_cross_entropy"]

PARAM_NAMES = ("W1", "b1", "W2", "b2")


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral) or value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _positive_real(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, Real) or not (
        math.isfinite(value) and value > 0
    ):
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return float(value)


def _non_negative_real(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, Real) or not (
        math.isfinite(value) and value >= 0
    ):
        raise ValueError(f"{name} must be a non-negative finite number, got {value!r}")
    return float(value)


def _check_x(name: str, X: Any, input_size: int) -> np.ndarray:
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[1] != input_size or X.shape[0] == 0:
        raise ValueError(
            f"{name} must have shape (N, {input_size}) with N >= 1, got {X.shape}"
        )
    if not (np.issubdtype(X.dtype, np.number) and not np.iscomplexobj(X)):
        raise ValueError(f"{name} must hold real numbers, got dtype {X.dtype}")
    return X


def _check_y(name: str, y: Any, n: int, num_classes: int) -> np.ndarray:
    y = np.asarray(y)
    if y.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},) to match the inputs, got {y.shape}")
    if not np.issubdtype(y.dtype, np.integer):
        if not (np.issubdtype(y.dtype, np.floating) and np.all(y == np.round(y))):
            raise ValueError(f"{name} must hold integer class labels, got dtype {y.dtype}")
        y = y.astype(np.int64)
    if y.min() < 0 or y.max() >= num_classes:
        raise ValueError(
            f"{name} labels must lie in [0, {num_classes - 1}], "
            f"got range [{y.min()}, {y.max()}]"
        )
    return y


def softmax_cross_entropy(scores: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean softmax cross-entropy of ``scores`` (N, C) for labels ``y`` (N,), and d/dscores.

    ``L = mean_i(log sum_k exp(z_ik - m_i) - (z_{i,y_i} - m_i))`` with ``m_i = max_k z_ik``
    (the shift leaves the value unchanged and keeps every exponent <= 0, so nothing
    overflows); ``dL/dz = (softmax(z) - onehot(y)) / N``. Inputs are not validated here.
    """
    n = scores.shape[0]
    shifted = scores - scores.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    sum_exp = exp.sum(axis=1, keepdims=True)
    rows = np.arange(n)
    log_probs_true = shifted[rows, y] - np.log(sum_exp[:, 0])
    loss = float(-log_probs_true.mean())
    dscores = exp / sum_exp
    dscores[rows, y] -= 1.0
    dscores /= n
    return loss, dscores


class TwoLayerNet:
    """Two-layer fully connected net, ReLU hidden layer, softmax loss, L2 on the weights.

    CS231n assignment 1 (``TwoLayerNet``). Parameters live in ``self.params``:

    - ``W1`` (D, H) = ``std * randn(D, H)``, ``b1`` (H,) = 0,
    - ``W2`` (H, C) = ``std * randn(H, C)``, ``b2`` (C,) = 0,

    drawn in that order. With ``rng=None`` the draws come from NumPy's global generator,
    exactly as the assignment, so ``np.random.seed(0); TwoLayerNet(4, 10, 3, std=1e-1)`` is
    the assignment's toy model. Pass ``rng`` (``np.random.RandomState`` or
    ``np.random.Generator``) to keep the global state untouched; the same generator is then
    used for mini-batch sampling in :meth:`train`.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        output_size: int,
        std: float = 1e-4,
        *,
        rng: np.random.RandomState | np.random.Generator | None = None,
    ) -> None:
        self.input_size = _positive_int("input_size", input_size)
        self.hidden_size = _positive_int("hidden_size", hidden_size)
        self.output_size = _positive_int("output_size", output_size)
        self.std = _positive_real("std", std)
        self.rng = np.random if rng is None else rng
        D, H, C = self.input_size, self.hidden_size, self.output_size
        self.params: dict[str, np.ndarray] = {}
        self.params["W1"] = self.std * self.rng.standard_normal((D, H))
        self.params["b1"] = np.zeros(H)
        self.params["W2"] = self.std * self.rng.standard_normal((H, C))
        self.params["b2"] = np.zeros(C)

    @property
    def num_params(self) -> int:
        """``D*H + H + H*C + C``."""
        return sum(int(p.size) for p in self.params.values())

    def _scores(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        p = self.params
        hidden = np.maximum(0.0, X @ p["W1"] + p["b1"])
        return hidden @ p["W2"] + p["b2"], hidden

    def loss(self, X, y=None, reg: float = 0.0):
        """Scores ``z`` (N, C) when ``y`` is None, else ``(loss, grads)``.

        ``loss = mean_i(-log softmax(z_i)[y_i]) + reg * (||W1||_F^2 + ||W2||_F^2)``;
        ``grads`` maps each of W1, b1, W2, b2 to d loss / d parameter (formulas in the
        module docstring). Raises ValueError on a wrong shape, a label outside
        ``[0, C-1]`` or a negative ``reg``.
        """
        X = _check_x("X", X, self.input_size)
        reg = _non_negative_real("reg", reg)
        scores, hidden = self._scores(X)
        if y is None:
            return scores
        y = _check_y("y", y, X.shape[0], self.output_size)

        p = self.params
        data_loss, dscores = softmax_cross_entropy(scores, y)
        reg_loss = reg * (np.sum(p["W1"] * p["W1"]) + np.sum(p["W2"] * p["W2"]))
        loss = data_loss + float(reg_loss)

        grads = {}
        grads["W2"] = hidden.T @ dscores + 2.0 * reg * p["W2"]
        grads["b2"] = dscores.sum(axis=0)
        dhidden = dscores @ p["W2"].T
        dhidden *= hidden > 0
        grads["W1"] = X.T @ dhidden + 2.0 * reg * p["W1"]
        grads["b1"] = dhidden.sum(axis=0)
        return loss, grads

    def train(
        self,
        X,
        y,
        X_val,
        y_val,
        learning_rate: float = 1e-3,
        learning_rate_decay: float = 0.95,
        reg: float = 5e-6,
        num_iters: int = 100,
        batch_size: int = 200,
        verbose: bool = False,
    ) -> dict[str, list]:
        """Mini-batch SGD, as the assignment's ``TwoLayerNet.train``.

        Each iteration draws ``batch_size`` indices with replacement
        (``rng.choice(N, batch_size, replace=True)``), computes ``loss`` and updates
        ``theta <- theta - learning_rate * grad``. An epoch is
        ``max(N // batch_size, 1)`` iterations; at every iteration ``it`` with
        ``it % iterations_per_epoch == 0`` (after that iteration's update, the assignment's
        placement, ``it = 0`` included) the accuracy on the current batch and on the
        validation set is recorded and the learning rate is multiplied by
        ``learning_rate_decay``.

        Returns ``loss_history`` (one per iteration), ``train_acc_history`` (batch
        accuracy), ``val_acc_history`` (one per epoch) and, beyond the assignment,
        ``epoch_iterations`` (the 0-based iteration of each record) and
        ``learning_rate_history`` (the rate used up to and including that record).
        """
        X = _check_x("X", X, self.input_size)
        y = _check_y("y", y, X.shape[0], self.output_size)
        X_val = _check_x("X_val", X_val, self.input_size)
        y_val = _check_y("y_val", y_val, X_val.shape[0], self.output_size)
        learning_rate = _positive_real("learning_rate", learning_rate)
        learning_rate_decay = _positive_real("learning_rate_decay", learning_rate_decay)
        reg = _non_negative_real("reg", reg)
        num_iters = _positive_int("num_iters", num_iters)
        batch_size = _positive_int("batch_size", batch_size)

        num_train = X.shape[0]
        iterations_per_epoch = max(num_train // batch_size, 1)
        history: dict[str, list] = {
            "loss_history": [],
            "train_acc_history": [],
            "val_acc_history": [],
            "epoch_iterations": [],
            "learning_rate_history": [],
        }
        for it in range(num_iters):
            idx = self.rng.choice(num_train, batch_size, replace=True)
            X_batch, y_batch = X[idx], y[idx]
            loss, grads = self.loss(X_batch, y=y_batch, reg=reg)
            history["loss_history"].append(loss)
            for name in PARAM_NAMES:
                self.params[name] -= learning_rate * grads[name]
            if verbose and it % 100 == 0:
                print(f"iteration {it} / {num_iters}: loss {loss:f}")
            if it % iterations_per_epoch == 0:
                history["train_acc_history"].append(float((self.predict(X_batch) == y_batch).mean()))
                history["val_acc_history"].append(float((self.predict(X_val) == y_val).mean()))
                history["epoch_iterations"].append(it)
                history["learning_rate_history"].append(learning_rate)
                learning_rate *= learning_rate_decay
        return history

    def predict(self, X) -> np.ndarray:
        """Labels ``argmax_c z_ic`` (N,) for inputs X (N, D)."""
        X = _check_x("X", X, self.input_size)
        return np.argmax(self._scores(X)[0], axis=1)

    def accuracy(self, X, y, chunk_size: int = 10_000) -> float:
        """Fraction of ``predict(X) == y``, predicted ``chunk_size`` rows at a time (so a large
        float32 or uint8 set is never promoted to float64 all at once)."""
        X = _check_x("X", X, self.input_size)
        y = _check_y("y", y, X.shape[0], self.output_size)
        chunk_size = _positive_int("chunk_size", chunk_size)
        hits = sum(
            int((self.predict(X[i:i + chunk_size]) == y[i:i + chunk_size]).sum())
            for i in range(0, X.shape[0], chunk_size)
        )
        return hits / X.shape[0]
