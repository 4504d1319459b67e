"""Numerical gradient checking: centred differences and the relative-error measure.

Source: CS231n assignment 1 (``cs231n/gradient_check.py``: ``eval_numerical_gradient`` and the
notebooks' ``rel_error``) and the CS231n notes "Neural Networks 3", section "Gradient checks".

- centred difference: ``df/dx_i ~ (f(x + h e_i) - f(x - h e_i)) / (2 h)``, error O(h^2)
  (the one-sided difference is only O(h));
- relative error: ``max_i |a_i - b_i| / max(1e-8, |a_i| + |b_i|)``. In float64 a correct
  gradient of a smooth function usually gives < 1e-7; a kink (ReLU) crossed by ``x +- h``
  can give a larger value even for a correct gradient.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

__all__ = ["numerical_gradient", "relative_error", "check_gradients"]


def numerical_gradient(f: Callable[[np.ndarray], float], x: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """Centred-difference gradient of the scalar function ``f`` at ``x``.

    ``grad_i = (f(x + h e_i) - f(x - h e_i)) / (2 h)`` for every element ``i`` of ``x``.
    ``x`` is perturbed *in place* (so ``f`` may read it through a closure, as the
    network's parameters are read) and restored exactly after each element.
    ``x`` must be a floating-point array; ``h`` must be positive.
    """
    if not isinstance(x, np.ndarray) or not np.issubdtype(x.dtype, np.floating):
        raise ValueError(f"x must be a floating-point numpy array, got {type(x).__name__}")
    if not (np.isfinite(h) and h > 0):
        raise ValueError(f"h must be a positive finite number, got {h!r}")
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):  # one pair of evaluations per element: inherent to the method
        old = x[i]
        x[i] = old + h
        f_plus = f(x)
        x[i] = old - h
        f_minus = f(x)
        x[i] = old
        grad[i] = (f_plus - f_minus) / (2.0 * h)
    return grad


def relative_error(a, b) -> float:
    """``max_i |a_i - b_i| / max(1e-8, |a_i| + |b_i|)`` (CS231n's ``rel_error``)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} vs {b.shape}")
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))


def check_gradients(
    loss: Callable[[], float],
    params: Mapping[str, np.ndarray],
    grads: Mapping[str, np.ndarray],
    h: float = 1e-5,
) -> dict[str, float]:
    """Relative error between each analytic gradient and its centred-difference estimate.

    ``loss()`` must read the arrays in ``params`` (they are perturbed in place and restored);
    ``grads[name]`` is the analytic gradient of ``loss`` with respect to ``params[name]``.
    Returns ``{name: relative_error}``.
    """
    missing = sorted(set(params) ^ set(grads))
    if missing:
        raise ValueError(f"params and grads must have the same names; unmatched: {missing}")
    return {
        name: relative_error(numerical_gradient(lambda _x: loss(), params[name], h), grads[name])
        for name in params
    }
