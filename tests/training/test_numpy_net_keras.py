"""TwoLayerNet agrees with the equivalent Keras model (same weights) on scores, loss, gradients.

Keras model: Dense(H, relu, kernel_regularizer=L2(reg)) -> Dense(C, kernel_regularizer=L2(reg)),
loss SparseCategoricalCrossentropy(from_logits=True) plus the penalty. Keras' ``L2(l2)`` adds
``l2 * sum(W**2)``, the assignment's ``reg * ||W||_F^2``, but Keras 3 keeps the coefficient as
a float32 (0.05 becomes 0.0500000007), so ``model.losses`` agrees only to ~1e-8 relative; the
exact comparisons compute the penalty in float64 from the kernels.
"""

import numpy as np
import pytest

from training.numpy_net.network import TwoLayerNet

pytestmark = pytest.mark.keras

CORRECT_LOSS = 1.30378789133  # CS231n two_layer_net.ipynb, toy model, reg=0.05


def keras_twin(net: TwoLayerNet, reg: float):
    keras = pytest.importorskip("keras")
    model = keras.Sequential(
        [
            keras.Input((net.input_size,), dtype="float64"),
            keras.layers.Dense(net.hidden_size, activation="relu", dtype="float64",
                               kernel_regularizer=keras.regularizers.L2(reg)),
            keras.layers.Dense(net.output_size, dtype="float64",
                               kernel_regularizer=keras.regularizers.L2(reg)),
        ]
    )
    model.set_weights([net.params[k] for k in ("W1", "b1", "W2", "b2")])
    return keras, model


def keras_loss(keras, model, X, y, reg):
    """Scores and loss; the penalty ``reg * sum(kernel**2)`` in float64 (see module doc)."""
    scores = model(X, training=False)
    data = keras.losses.SparseCategoricalCrossentropy(from_logits=True, dtype="float64")(y, scores)
    kernels = [layer.kernel for layer in model.layers]
    penalty = reg * sum(keras.ops.sum(keras.ops.square(k)) for k in kernels)
    return scores, data + penalty, data + keras.ops.sum(keras.ops.stack(model.losses))


def toy():
    np.random.seed(0)
    net = TwoLayerNet(4, 10, 3, std=1e-1)
    np.random.seed(1)
    X = 10 * np.random.randn(5, 4)
    return net, X, np.array([0, 1, 2, 2, 1])


def random_case():
    rng = np.random.default_rng(11)
    net = TwoLayerNet(20, 16, 10, std=0.2, rng=rng)
    net.params["b1"] += 0.1 * rng.standard_normal(16)
    net.params["b2"] += 0.1 * rng.standard_normal(10)
    return net, 3 * rng.standard_normal((32, 20)), rng.integers(0, 10, 32)


@pytest.mark.parametrize("case, reg", [(toy, 0.05), (random_case, 0.0), (random_case, 0.3)])
def test_scores_and_loss_agree_with_keras(case, reg):
    net, X, y = case()
    keras, model = keras_twin(net, reg)
    scores, loss, loss_l2 = keras_loss(keras, model, X, y, reg)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(scores), net.loss(X), rtol=1e-12, atol=1e-12)
    ours, _ = net.loss(X, y, reg=reg)
    assert float(keras.ops.convert_to_numpy(loss)) == pytest.approx(ours, rel=1e-12)
    assert float(keras.ops.convert_to_numpy(loss_l2)) == pytest.approx(ours, rel=1e-7)
    if case is toy:
        assert float(keras.ops.convert_to_numpy(loss)) == pytest.approx(CORRECT_LOSS, abs=1e-10)


def test_gradients_agree_with_tensorflow_autodiff():
    net, X, y = random_case()
    keras, model = keras_twin(net, 0.3)
    if keras.backend.backend() != "tensorflow":
        pytest.skip("autodiff comparison written for the TensorFlow backend")
    import tensorflow as tf

    with tf.GradientTape() as tape:
        _, loss, _ = keras_loss(keras, model, X, y, 0.3)
    tf_grads = tape.gradient(loss, model.trainable_variables)
    _, grads = net.loss(X, y, reg=0.3)
    for name, g in zip(("W1", "b1", "W2", "b2"), tf_grads):
        np.testing.assert_allclose(g.numpy(), grads[name], rtol=1e-10, atol=1e-13, err_msg=name)
