"""Keras' inverted dropout equals plain dropout with the weights times q (keep probability) at test.

See docs/dropout.md. Network: input dropout 0.2 -> Dense(16, relu) -> dropout 0.5 -> Dense(3),
softmax cross-entropy, full-batch SGD. Srivastava et al. 2014 (JMLR 15, sec. 1 and 10) train
with plain dropout and multiply a unit's outgoing weights by its keep probability q at test
time; Keras divides the kept activations by q during training and does nothing at test time.
"""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.keras
keras = pytest.importorskip("keras")

P_IN, P_HID = 0.2, 0.5
Q_IN, Q_HID = 1 - P_IN, 1 - P_HID
N, D, HID, K = 32, 6, 16, 3
LR, STEPS = 0.1, 20
SEED_IN, SEED_HID = 11, 12


def problem():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(N, D)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int64) + (x[:, 2] > 1)
    x_test = rng.normal(size=(10, D)).astype(np.float32)
    return x, y, x_test


def keras_model():
    inp = keras.Input((D,))
    h = keras.layers.Dropout(P_IN, seed=SEED_IN, name="drop_in")(inp)
    h = keras.layers.Dense(HID, activation="relu", name="dense1")(h)
    h = keras.layers.Dropout(P_HID, seed=SEED_HID, name="drop_hid")(h)
    out = keras.layers.Dense(K, name="dense2")(h)
    return keras.Model(inp, out)


def keras_masks(steps):
    """The 0/1 masks Keras' two Dropout layers draw, step by step: the same seeded draws."""
    gen_in, gen_hid = keras.random.SeedGenerator(SEED_IN), keras.random.SeedGenerator(SEED_HID)
    masks = []
    for _ in range(steps):
        m_in = keras.random.dropout(keras.ops.ones((N, D)), P_IN, seed=gen_in)
        m_hid = keras.random.dropout(keras.ops.ones((N, HID)), P_HID, seed=gen_hid)
        masks.append(
            (keras.ops.convert_to_numpy(m_in) != 0, keras.ops.convert_to_numpy(m_hid) != 0)
        )
    return masks


def forward(params, x, masks=None, scale=(1.0, 1.0)):
    """Logits; with masks, unit i survives where mask is 1 and is multiplied by ``scale``."""
    w1, b1, w2, b2 = params
    x = x.astype(np.float64)
    xi = x * masks[0] * scale[0] if masks else x
    a = xi @ w1 + b1
    h = np.maximum(a, 0)
    hi = h * masks[1] * scale[1] if masks else h
    return hi @ w2 + b2, (xi, a, hi)


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def sgd_step(params, x, y, masks, scale, lr):
    """One full-batch SGD step on mean softmax cross-entropy; ``lr`` per parameter."""
    w1, b1, w2, b2 = params
    z, (xi, a, hi) = forward(params, x, masks, scale)
    dz = softmax(z)
    dz[np.arange(len(y)), y] -= 1
    dz /= len(y)
    dw2, db2 = hi.T @ dz, dz.sum(0)
    dh = (dz @ w2.T) * masks[1] * scale[1]
    da = dh * (a > 0)
    dw1, db1 = xi.T @ da, da.sum(0)
    grads = (dw1, db1, dw2, db2)
    return tuple(p - r * g for p, r, g in zip(params, lr, grads, strict=True))


def test_keras_dropout_is_inverted():
    x = np.random.default_rng(1).uniform(1, 2, size=(2000, 50)).astype(np.float32)
    layer = keras.layers.Dropout(P_HID, seed=0)
    out = keras.ops.convert_to_numpy(layer(x, training=True))
    kept = out != 0
    np.testing.assert_allclose(out[kept], x[kept] / Q_HID, rtol=1e-6)  # survivors scaled by 1/q
    assert abs(kept.mean() - Q_HID) < 0.01
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer(x, training=False)), x)


def test_expected_activation_matches_the_test_time_rule():
    """E[plain dropout] = q * x (hence scale weights by q at test); E[inverted] = x (no change)."""
    x = np.random.default_rng(2).uniform(1, 2, size=(20000, 8)).astype(np.float32)
    gen = keras.random.SeedGenerator(3)
    mask = keras.ops.convert_to_numpy(keras.random.dropout(np.ones_like(x), P_IN, seed=gen)) != 0
    plain, inverted = (x * mask).mean(0), (x * mask / Q_IN).mean(0)
    np.testing.assert_allclose(plain, Q_IN * x.mean(0), rtol=0.02)
    np.testing.assert_allclose(inverted, x.mean(0), rtol=0.02)


@pytest.mark.slow
def test_training_with_keras_dropout_equals_plain_dropout_with_test_time_weight_scaling():
    x, y, x_test = problem()
    model = keras_model()
    w1, b1, w2, b2 = (v.astype(np.float64) for v in model.get_weights())

    # 1. Keras trains with inverted dropout (its own masks, its own gradients).
    model.compile(
        keras.optimizers.SGD(LR), keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    )
    model.fit(x, y, batch_size=N, epochs=STEPS, shuffle=False, verbose=0)
    keras_weights = [v.astype(np.float64) for v in model.get_weights()]

    # 2. The same network in NumPy, same masks: inverted dropout reproduces Keras' training...
    masks = keras_masks(STEPS)
    inverted = (w1, b1, w2, b2)
    for m in masks:
        inverted = sgd_step(inverted, x, y, m, (1 / Q_IN, 1 / Q_HID), (LR,) * 4)
    for got, want in zip(inverted, keras_weights, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)

    # 3. ...and plain dropout (no 1/q in training) on weights V = W / q, with the learning rate
    #    of V divided by q**2 (dL/dV = q dL/dW), follows the same trajectory: V_t = W_t / q.
    plain = (w1 / Q_IN, b1, w2 / Q_HID, b2)
    plain_lr = (LR / Q_IN**2, LR, LR / Q_HID**2, LR)
    for m in masks:
        plain = sgd_step(plain, x, y, m, (1.0, 1.0), plain_lr)
        z_plain, _ = forward(plain, x, m)
        z_inv, _ = forward(  # same training-time function of the input, step by step
            (plain[0] * Q_IN, plain[1], plain[2] * Q_HID, plain[3]), x, m, (1 / Q_IN, 1 / Q_HID)
        )
        np.testing.assert_allclose(z_plain, z_inv, rtol=1e-9, atol=1e-9)

    # 4. Test time: Srivastava's rule (outgoing weights times q, no dropout) on the plain-dropout
    #    network predicts exactly what Keras' trained model predicts with dropout switched off.
    scaled = (plain[0] * Q_IN, plain[1], plain[2] * Q_HID, plain[3])
    for got, want in zip(scaled, keras_weights, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    z_test, _ = forward(scaled, x_test)
    np.testing.assert_allclose(z_test, model.predict(x_test, verbose=0), rtol=1e-4, atol=1e-5)
    # Without the scaling the plain-dropout network is wrong at test time (activations too big).
    z_unscaled, _ = forward(plain, x_test)
    assert np.abs(z_unscaled - z_test).max() > 0.1


def test_dropout_scaling_on_the_zoo_mlp_reads_q_per_kernel_and_scales_back_to_keras():
    """training.dropout_scaling (what `cnntrain optimizers` reports for part 4): q of the Dropout
    feeding each Dense, textbook kernels W / q, and the no-dropout network with q * (W / q)
    predicting what the Keras dropout model predicts, while W / q unscaled does not."""
    from training.dropout_scaling import compare, keep_probabilities, textbook_weights
    from training.models import build

    dropped = build("mlp", (4, 4, 1), 3, hidden=8, input_dropout=P_IN, dropout=P_HID)
    assert keep_probabilities(dropped) == {"fc1": Q_IN, "fc2": Q_HID, "fc3": Q_HID}
    textbook = textbook_weights(dropped)
    w1 = dropped.get_layer("fc1").get_weights()[0]
    np.testing.assert_allclose(textbook["fc1"][0], w1.astype(np.float64) / Q_IN, rtol=1e-12)
    np.testing.assert_array_equal(textbook["fc1"][1], dropped.get_layer("fc1").get_weights()[1])
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(40, 4, 4, 1)).astype(np.float32), rng.integers(0, 3, 40)
    result = compare(dropped, build("mlp", (4, 4, 1), 3, hidden=8), x, y)
    assert result["weight_scaled_accuracy"] == result["inverted_dropout_accuracy"]
    assert result["max_probability_difference"] < 1e-6 and result["predictions_differing"] == 0
    assert result["unscaled_max_probability_difference"] > 1e-3
    with pytest.raises(ValueError, match="no Dropout"):
        compare(dropped, dropped, x, y)
