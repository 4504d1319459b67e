"""training.numpy_net.gradcheck: centred differences and the relative-error measure (CS231n assignment 1)."""

import numpy as np
import pytest

from training.numpy_net.gradcheck import check_gradients, numerical_gradient, relative_error


def test_centred_difference_of_a_cubic_is_exact_up_to_h_squared():
    # d/dx sum(x^3) = 3 x^2; the centred difference gives 3 x^2 + h^2 exactly.
    x = np.array([[-1.5, 0.0], [0.5, 2.0]])
    g = numerical_gradient(lambda v: float(np.sum(v**3)), x, h=1e-3)
    np.testing.assert_allclose(g, 3 * x**2 + 1e-6, rtol=0, atol=1e-9)


def test_x_is_restored_bit_for_bit():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 4))
    before = x.copy()
    numerical_gradient(lambda v: float(np.sum(np.sin(v))), x)
    assert np.array_equal(x, before)


def test_works_on_non_contiguous_views():
    base = np.arange(12.0).reshape(3, 4)
    x = base.T  # a transposed view: perturbed through the view, base is restored
    g = numerical_gradient(lambda v: float(np.sum(v * v)), x)
    np.testing.assert_allclose(g, 2 * x, rtol=1e-9)
    assert np.array_equal(base, np.arange(12.0).reshape(3, 4))


def test_relative_error_is_cs231n_rel_error():
    # max |a-b| / max(1e-8, |a|+|b|): (1, 1.1) -> 0.1/2.1; zeros -> 0
    assert relative_error([1.0, 0.0], [1.1, 0.0]) == pytest.approx(0.1 / 2.1)
    assert relative_error(np.zeros(3), np.zeros(3)) == 0.0
    assert relative_error([1e-9], [0.0]) == pytest.approx(1e-9 / 1e-8)


def test_check_gradients_reports_each_name():
    w = np.array([1.0, -2.0, 3.0])
    b = np.array([0.5])
    params = {"w": w, "b": b}
    grads = {"w": 2 * w, "b": np.ones(1)}
    errors = check_gradients(lambda: float(np.sum(w**2) + b[0]), params, grads)
    assert set(errors) == {"w", "b"}
    assert max(errors.values()) < 1e-9


@pytest.mark.parametrize(
    "call",
    [
        lambda: numerical_gradient(lambda v: 0.0, np.arange(3)),  # integer array
        lambda: numerical_gradient(lambda v: 0.0, np.ones(3), h=0.0),
        lambda: relative_error(np.ones(2), np.ones(3)),
        lambda: check_gradients(lambda: 0.0, {"a": np.ones(1)}, {"b": np.ones(1)}),
    ],
)
def test_bad_inputs_raise_value_error(call):
    with pytest.raises(ValueError):
        call()
