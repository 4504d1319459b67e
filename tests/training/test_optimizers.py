"""The five optimizers against numpy implementations of the equations in docs/optimizers.md.

Each check runs 20 steps on random gradients in float64 and compares every step with the
reference to 1e-6 (Keras' conventions by default, the textbook's with ``textbook=True``).
"""

import numpy as np
import pytest

pytestmark = pytest.mark.keras
keras = pytest.importorskip("keras")

from training import optimizers  # noqa: E402

STEPS = 20
TOL = 1e-6
LR = 0.01


# -- numpy references: one function per rule, state in a dict, returns the new theta ---------------


def ref_adagrad(theta, g, st, t, lr, eps=1e-7, r0=0.1, textbook=False):
    st.setdefault("r", np.full_like(theta, 0.0 if textbook else r0))
    st["r"] = st["r"] + g**2
    if textbook:  # Goodfellow et al. Algorithm 8.4
        return theta - lr * g / (eps + np.sqrt(st["r"]))
    return theta - lr * g / np.sqrt(st["r"] + eps)  # Keras


def ref_rmsprop(theta, g, st, t, lr, rho=0.9, eps=1e-7):
    st.setdefault("r", np.zeros_like(theta))
    st["r"] = rho * st["r"] + (1 - rho) * g**2  # Algorithm 8.5
    return theta - lr * g / np.sqrt(st["r"] + eps)


def ref_rmsprop_nesterov(theta, g, st, t, lr, rho=0.9, mu=0.9, eps=1e-7):
    st.setdefault("r", np.zeros_like(theta))
    st.setdefault("v", np.zeros_like(theta))
    st["r"] = rho * st["r"] + (1 - rho) * g**2
    delta = -lr * g / np.sqrt(st["r"] + eps)
    st["v"] = mu * st["v"] + delta
    return theta + mu * st["v"] + delta


def ref_adadelta(theta, g, st, t, lr, rho=0.95, eps=1e-7):
    st.setdefault("eg2", np.zeros_like(theta))
    st.setdefault("edx2", np.zeros_like(theta))
    st["eg2"] = rho * st["eg2"] + (1 - rho) * g**2  # Zeiler 2012, Algorithm 1
    dx = -np.sqrt(st["edx2"] + eps) / np.sqrt(st["eg2"] + eps) * g
    st["edx2"] = rho * st["edx2"] + (1 - rho) * dx**2
    return theta + lr * dx  # lr = 1 in the paper


def ref_adam(theta, g, st, t, lr, b1=0.9, b2=0.999, eps=1e-7, textbook=False):
    st.setdefault("s", np.zeros_like(theta))
    st.setdefault("r", np.zeros_like(theta))
    st["s"] = b1 * st["s"] + (1 - b1) * g
    st["r"] = b2 * st["r"] + (1 - b2) * g**2
    s_hat = st["s"] / (1 - b1**t)
    r_hat = st["r"] / (1 - b2**t)
    if textbook:  # Kingma & Ba Algorithm 1
        return theta - lr * s_hat / (np.sqrt(r_hat) + eps)
    # Keras: epsilon-hat added to sqrt(r), bias corrections folded into the step
    return theta - lr * np.sqrt(1 - b2**t) / (1 - b1**t) * st["s"] / (np.sqrt(st["r"]) + eps)


def run_both(opt, ref, seed=0, shape=(3, 4)):
    """Apply the same 20 random gradients to a float64 variable and to the reference."""
    rng = np.random.default_rng(seed)
    theta0 = rng.normal(size=shape)
    var = keras.Variable(theta0, dtype="float64")
    theta, st = theta0.copy(), {}
    worst = 0.0
    for t in range(1, STEPS + 1):
        g = rng.normal(size=shape) * (10.0 ** rng.uniform(-2, 1))
        opt.apply_gradients([(keras.ops.convert_to_tensor(g, dtype="float64"), var)])
        theta = ref(theta, g, st, t)
        got = keras.ops.convert_to_numpy(var)
        worst = max(worst, float(np.max(np.abs(got - theta))))
        np.testing.assert_allclose(got, theta, rtol=0, atol=TOL, err_msg=f"step {t}")
    assert not np.allclose(theta, theta0)  # the parameters did move
    return worst


KERAS_CASES = {
    "adagrad": lambda th, g, st, t: ref_adagrad(th, g, st, t, LR),
    "rmsprop": lambda th, g, st, t: ref_rmsprop(th, g, st, t, LR),
    "rmsprop_nesterov": lambda th, g, st, t: ref_rmsprop_nesterov(th, g, st, t, LR),
    "adadelta": lambda th, g, st, t: ref_adadelta(th, g, st, t, LR),
    "adam": lambda th, g, st, t: ref_adam(th, g, st, t, LR),
}

TEXTBOOK_CASES = {
    "adagrad": (LR, lambda th, g, st, t: ref_adagrad(th, g, st, t, LR, eps=1e-7, textbook=True)),
    "rmsprop": (LR, lambda th, g, st, t: ref_rmsprop(th, g, st, t, LR, eps=1e-6)),
    "rmsprop_nesterov": (LR, lambda th, g, st, t: ref_rmsprop_nesterov(th, g, st, t, LR, eps=1e-6)),
    "adadelta": (None, lambda th, g, st, t: ref_adadelta(th, g, st, t, 1.0, eps=1e-6)),
    "adam": (LR, lambda th, g, st, t: ref_adam(th, g, st, t, LR, eps=1e-8, textbook=True)),
}


@pytest.mark.parametrize("name", sorted(KERAS_CASES))
def test_keras_convention_matches_reference_for_20_steps(name):
    run_both(optimizers.make(name, learning_rate=LR), KERAS_CASES[name])


@pytest.mark.parametrize("name", sorted(TEXTBOOK_CASES))
def test_textbook_variant_matches_reference_for_20_steps(name):
    lr, ref = TEXTBOOK_CASES[name]
    run_both(optimizers.make(name, learning_rate=lr, textbook=True), ref)


def test_textbook_and_keras_variants_really_differ():
    # Adagrad's initial accumulator 0.1 makes the first Keras step ~ lr*g/sqrt(0.1 + g^2),
    # the textbook's ~ lr*sign(g): for g = 0.01 that is 0.0316 lr versus 0.99999 lr.
    for textbook, expected in ((False, 1.0 - 0.01 * 0.01 / np.sqrt(0.1 + 1e-4 + 1e-7)), (True, 1.0 - 0.01 * 0.01 / (1e-7 + 0.01))):
        var = keras.Variable(np.ones(1), dtype="float64")
        optimizers.make("adagrad", learning_rate=0.01, textbook=textbook).apply_gradients(
            [(keras.ops.convert_to_tensor(np.full(1, 0.01)), var)]
        )
        np.testing.assert_allclose(keras.ops.convert_to_numpy(var), [expected], atol=1e-12)
    assert optimizers.make("adadelta", textbook=True).get_config()["learning_rate"] == 1.0
    assert optimizers.make("adadelta").get_config()["learning_rate"] == pytest.approx(0.001)


def literal_algorithm_8_6(A, b, theta0, lr, rho, mu, eps, steps):
    """Goodfellow et al. Algorithm 8.6 on f(theta) = theta^T A theta / 2 - b^T theta, verbatim:
    gradient at the interim point theta + mu*v; returns the look-ahead points theta_t + mu*v_t."""
    theta, v, r = theta0.copy(), np.zeros_like(theta0), np.zeros_like(theta0)
    out = []
    for _ in range(steps):
        interim = theta + mu * v
        g = A @ interim - b
        r = rho * r + (1 - rho) * g * g
        v = mu * v - lr * g / np.sqrt(r + eps)
        theta = theta + v
        out.append(theta + mu * v)
    return out


def test_rmsprop_nesterov_is_algorithm_8_6_on_a_quadratic():
    rng = np.random.default_rng(3)
    m = rng.normal(size=(5, 5))
    A = m @ m.T + 5 * np.eye(5)  # positive definite
    b = rng.normal(size=5)
    theta0 = rng.normal(size=5)
    lr, rho, mu, eps = 0.05, 0.9, 0.9, 1e-7
    expected = literal_algorithm_8_6(A, b, theta0, lr, rho, mu, eps, STEPS)

    opt = optimizers.RMSpropNesterov(learning_rate=lr, rho=rho, momentum=mu, epsilon=eps)
    phi = keras.Variable(theta0, dtype="float64")  # stored parameters = the look-ahead point
    for t in range(STEPS):
        g = A @ keras.ops.convert_to_numpy(phi) - b  # gradient at the stored parameters
        opt.apply_gradients([(keras.ops.convert_to_tensor(g), phi)])
        np.testing.assert_allclose(keras.ops.convert_to_numpy(phi), expected[t], rtol=0, atol=TOL, err_msg=f"step {t + 1}")
    f = lambda th: 0.5 * th @ A @ th - b @ th  # noqa: E731
    assert f(expected[-1]) < f(theta0)  # and it descends


def test_rmsprop_nesterov_is_neither_keras_momentum_nor_nadam():
    rng = np.random.default_rng(1)
    grads = [rng.normal(size=4) for _ in range(5)]
    finals = {}
    for label, opt in {
        "ours": optimizers.RMSpropNesterov(learning_rate=0.01),
        "heavy_ball": keras.optimizers.RMSprop(learning_rate=0.01, momentum=0.9),
        "nadam": keras.optimizers.Nadam(learning_rate=0.01),
    }.items():
        var = keras.Variable(np.zeros(4), dtype="float64")
        for g in grads:
            opt.apply_gradients([(keras.ops.convert_to_tensor(g), var)])
        finals[label] = keras.ops.convert_to_numpy(var)
    assert np.max(np.abs(finals["ours"] - finals["heavy_ball"])) > 1e-3
    assert np.max(np.abs(finals["ours"] - finals["nadam"])) > 1e-3


@pytest.mark.parametrize(
    "name, textbook, cls",
    [
        ("adagrad", False, "Adagrad"),
        ("Adagrad", True, "TextbookAdagrad"),
        ("RMSProp", False, "RMSprop"),
        ("rmsprop-nesterov", False, "RMSpropNesterov"),
        ("rmsprop+nesterov", True, "RMSpropNesterov"),
        ("adadelta", True, "Adadelta"),
        ("adam", False, "Adam"),
        ("adam", True, "TextbookAdam"),
    ],
)
def test_make_resolves_names(name, textbook, cls):
    assert type(optimizers.make(name, textbook=textbook)).__name__ == cls


def test_make_passes_hyper_parameters_and_schedules():
    opt = optimizers.make("rmsprop_nesterov", learning_rate=0.1, rho=0.8, momentum=0.5)
    assert (opt.rho, opt.momentum) == (0.8, 0.5)
    assert float(opt.learning_rate) == pytest.approx(0.1)
    sched = keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5)
    assert optimizers.make("adam", learning_rate=sched)._learning_rate is sched


def test_unknown_optimizer_name_lists_valid_ones():
    with pytest.raises(ValueError, match=r"unknown optimizer 'sgdx'; valid names: adagrad, rmsprop, rmsprop_nesterov, adadelta, adam"):
        optimizers.make("sgdx")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"rho": 1.0}, "rho must lie in"),
        ({"momentum": -0.1}, "momentum must lie in"),
        ({"epsilon": 0.0}, "epsilon must be > 0"),
    ],
)
def test_rmsprop_nesterov_rejects_bad_hyper_parameters(kwargs, message):
    with pytest.raises(ValueError, match=message):
        optimizers.RMSpropNesterov(**kwargs)


@pytest.mark.parametrize("name", ["rmsprop_nesterov", "adagrad", "adam"])
def test_model_compiled_with_our_optimizers_saves_and_loads(tmp_path, name):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(32, 4)).astype("float32"), rng.normal(size=(32, 1)).astype("float32")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="relu"), keras.layers.Dense(1)])
    hp = {"momentum": 0.8} if name == "rmsprop_nesterov" else {}
    model.compile(optimizer=optimizers.make(name, learning_rate=0.01, textbook=True, **hp), loss="mse")
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    path = tmp_path / f"{name}.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert type(loaded.optimizer) is type(model.optimizer)
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    for a, b in zip(model.optimizer.variables, loaded.optimizer.variables):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b))
    # training goes on identically from the saved state
    model.train_on_batch(x[:8], y[:8])
    loaded.train_on_batch(x[:8], y[:8])
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
