"""training.numpy_net.network.TwoLayerNet against the CS231n assignment 1 toy checks.

The expected numbers are the ones printed in the assignment's ``two_layer_net.ipynb``
(input_size=4, hidden_size=10, num_classes=3, num_inputs=5; ``np.random.seed(0)`` before
``TwoLayerNet(..., std=1e-1)``, ``np.random.seed(1)`` before ``X = 10 * randn(5, 4)``,
``y = [0, 1, 2, 2, 1]``).
"""

import numpy as np
import pytest

from training.numpy_net.gradcheck import check_gradients, numerical_gradient, relative_error
from training.numpy_net.network import TwoLayerNet, softmax_cross_entropy

INPUT_SIZE, HIDDEN_SIZE, NUM_CLASSES, NUM_INPUTS = 4, 10, 3, 5

# two_layer_net.ipynb, "Forward pass: compute scores" (the notebook gets < 1e-7 summed difference)
CORRECT_SCORES = np.asarray(
    [
        [-0.81233741, -1.27654624, -0.70335995],
        [-0.17129677, -1.18803311, -0.47310444],
        [-0.51590475, -1.01354314, -0.8504215],
        [-0.15419291, -0.48629638, -0.52901952],
        [-0.00618733, -0.12435261, -0.15226949],
    ]
)
# two_layer_net.ipynb, "Forward pass: compute loss" with reg=0.05 (the notebook gets < 1e-12)
CORRECT_LOSS = 1.30378789133


def init_toy_model():
    np.random.seed(0)
    return TwoLayerNet(INPUT_SIZE, HIDDEN_SIZE, NUM_CLASSES, std=1e-1)


def init_toy_data():
    np.random.seed(1)
    X = 10 * np.random.randn(NUM_INPUTS, INPUT_SIZE)
    y = np.array([0, 1, 2, 2, 1])
    return X, y


@pytest.fixture
def toy():
    net = init_toy_model()
    X, y = init_toy_data()
    return net, X, y


def test_init_shapes_zero_biases_and_draw_order():
    net = TwoLayerNet(6, 5, 4, std=0.5, rng=np.random.RandomState(3))
    assert {k: v.shape for k, v in net.params.items()} == {
        "W1": (6, 5), "b1": (5,), "W2": (5, 4), "b2": (4,)
    }
    assert not net.params["b1"].any() and not net.params["b2"].any()
    draws = np.random.RandomState(3).randn(6 * 5 + 5 * 4)  # W1 first, then W2
    np.testing.assert_array_equal(net.params["W1"].ravel(), 0.5 * draws[:30])
    np.testing.assert_array_equal(net.params["W2"].ravel(), 0.5 * draws[30:])
    assert net.num_params == 6 * 5 + 5 + 5 * 4 + 4


def test_toy_scores_match_the_assignment(toy):
    net, X, _ = toy
    scores = net.loss(X)
    assert scores.shape == (5, 3)
    assert np.sum(np.abs(scores - CORRECT_SCORES)) < 1e-7


def test_toy_loss_matches_the_assignment(toy):
    net, X, y = toy
    loss, _ = net.loss(X, y, reg=0.05)
    assert abs(loss - CORRECT_LOSS) < 1e-12


@pytest.mark.parametrize("reg", [0.0, 0.05])
def test_every_gradient_passes_the_centred_difference_check(toy, reg):
    net, X, y = toy
    _, grads = net.loss(X, y, reg=reg)
    errors = check_gradients(lambda: net.loss(X, y, reg=reg)[0], net.params, grads)
    assert set(errors) == {"W1", "b1", "W2", "b2"}
    assert all(e < 1e-8 for e in errors.values()), errors


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_gradient_check_on_random_float64_nets(seed):
    # Non-zero biases, so every parameter's gradient is exercised. The bound is 1e-7 rather than
    # the toy check's 1e-8: the element-wise measure divides the centred difference's round-off
    # (~eps * |L| / h ~ 1e-11) by |g| + |g_num|, and a random net has elements with |g| ~ 1e-3.
    rng = np.random.default_rng(seed)
    net = TwoLayerNet(7, 6, 5, std=0.3, rng=rng)
    net.params["b1"] += rng.standard_normal(6) * 0.1
    net.params["b2"] += rng.standard_normal(5) * 0.1
    X = rng.standard_normal((9, 7))
    y = rng.integers(0, 5, 9)
    _, grads = net.loss(X, y, reg=0.3)
    errors = check_gradients(lambda: net.loss(X, y, reg=0.3)[0], net.params, grads)
    assert max(errors.values()) < 1e-7, errors


def test_toy_training_gets_below_0_02_in_100_iterations():
    # the notebook's cell order: toy data first, then a fresh init_toy_model(), then
    # train(X, y, X, y, learning_rate=1e-1, reg=5e-6, num_iters=100)
    X, y = init_toy_data()
    net = init_toy_model()
    stats = net.train(X, y, X, y, learning_rate=1e-1, reg=5e-6, num_iters=100, verbose=False)
    assert len(stats["loss_history"]) == 100
    assert stats["loss_history"][-1] < 0.02  # the assignment's bar
    # this implementation's value (batch sampling np.random.choice(5, 200), global generator):
    # a regression pin, not a number from the assignment.
    assert stats["loss_history"][-1] == pytest.approx(0.017149607938732093, rel=1e-9)
    # N=5 < batch_size=200, so an epoch is one iteration: 100 records, decay 0.95 per iteration
    assert len(stats["val_acc_history"]) == len(stats["train_acc_history"]) == 100
    assert stats["learning_rate_history"][:2] == pytest.approx([1e-1, 0.095])
    assert stats["val_acc_history"][-1] == 1.0
    np.testing.assert_array_equal(net.predict(X), y)


def test_decay_is_applied_once_per_epoch():
    rng = np.random.RandomState(0)
    X = rng.randn(100, 4)
    y = rng.randint(0, 3, 100)
    net = TwoLayerNet(4, 8, 3, std=1e-2, rng=np.random.RandomState(1))
    stats = net.train(X, y, X[:10], y[:10], learning_rate=0.5, learning_rate_decay=0.5,
                      num_iters=95, batch_size=10)  # 10 iterations per epoch
    assert stats["epoch_iterations"] == list(range(0, 95, 10))
    assert stats["learning_rate_history"] == pytest.approx([0.5 * 0.5**k for k in range(10)])


def test_explicit_rng_leaves_the_global_generator_alone():
    np.random.seed(123)
    expected_next = np.random.RandomState(123).rand()
    X = np.ones((4, 3))
    net = TwoLayerNet(3, 2, 2, rng=np.random.default_rng(0))
    net.train(X, [0, 1, 0, 1], X, [0, 1, 0, 1], num_iters=3, batch_size=2)
    assert np.random.rand() == expected_next


def test_softmax_is_stable_for_huge_logits():
    scores = np.array([[1000.0, 0.0, -1000.0], [0.0, 1e4, 0.0]])
    loss, dscores = softmax_cross_entropy(scores, np.array([0, 1]))
    assert np.isfinite(loss) and loss == pytest.approx(0.0, abs=1e-300)
    assert np.all(np.isfinite(dscores))
    loss, _ = softmax_cross_entropy(scores, np.array([2, 0]))
    assert loss == pytest.approx((2000.0 + 1e4) / 2)


def test_loss_equals_the_textbook_formula_on_random_data():
    rng = np.random.default_rng(5)
    net = TwoLayerNet(5, 4, 3, std=1.0, rng=rng)
    X = rng.standard_normal((6, 5))
    y = rng.integers(0, 3, 6)
    z = np.maximum(0, X @ net.params["W1"] + net.params["b1"]) @ net.params["W2"] + net.params["b2"]
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    reg = 0.2
    expected = -np.log(p[np.arange(6), y]).mean() + reg * (
        (net.params["W1"] ** 2).sum() + (net.params["W2"] ** 2).sum()
    )
    assert net.loss(X, y, reg=reg)[0] == pytest.approx(expected, rel=1e-12)


def test_predict_is_argmax_of_scores(toy):
    net, X, _ = toy
    np.testing.assert_array_equal(net.predict(X), np.argmax(CORRECT_SCORES, axis=1))


def test_accuracy_is_the_same_in_chunks(toy):
    net, X, _ = toy
    labels = np.array([2, 1, 0, 0, 0])  # argmax of CORRECT_SCORES is [2, 0, 0, 0, 0]
    assert net.accuracy(X, labels) == net.accuracy(X, labels, chunk_size=2) == 0.8


@pytest.mark.parametrize(
    "args",
    [(0, 10, 3), (4, -1, 3), (4, 10, 0), (4.0, 10, 3), (True, 10, 3)],
)
def test_non_positive_or_non_integer_sizes_raise(args):
    with pytest.raises(ValueError, match="must be a positive integer"):
        TwoLayerNet(*args)


def test_bad_std_raises():
    with pytest.raises(ValueError, match="std"):
        TwoLayerNet(4, 10, 3, std=0.0)


@pytest.mark.parametrize(
    "X, y, reg, message",
    [
        (np.zeros((5, 3)), None, 0.0, r"X must have shape \(N, 4\)"),
        (np.zeros(4), None, 0.0, r"X must have shape"),
        (np.zeros((0, 4)), None, 0.0, r"N >= 1"),
        (np.zeros((5, 4)), np.zeros(4, int), 0.0, r"y must have shape \(5,\)"),
        (np.zeros((5, 4)), np.array([0, 1, 2, 3, 1]), 0.0, r"labels must lie in \[0, 2\]"),
        (np.zeros((5, 4)), np.array([0, -1, 2, 2, 1]), 0.0, r"labels must lie"),
        (np.zeros((5, 4)), np.array([0, 0.5, 2, 2, 1]), 0.0, r"integer class labels"),
        (np.zeros((5, 4)), np.array([0, 1, 2, 2, 1]), -0.1, r"reg must be"),
        (np.array([["a"] * 4]), None, 0.0, r"real numbers"),
    ],
)
def test_bad_loss_inputs_raise_one_line_value_error(toy, X, y, reg, message):
    net, _, _ = toy
    with pytest.raises(ValueError, match=message) as info:
        net.loss(X, y, reg=reg)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"num_iters": 0}, "num_iters"),
        ({"batch_size": 0}, "batch_size"),
        ({"learning_rate": -1.0}, "learning_rate"),
        ({"learning_rate_decay": 0.0}, "learning_rate_decay"),
        ({"reg": float("nan")}, "reg"),
    ],
)
def test_bad_train_arguments_raise(toy, kwargs, message):
    net, X, y = toy
    with pytest.raises(ValueError, match=message):
        net.train(X, y, X, y, **kwargs)


def test_float_labels_that_are_whole_numbers_are_accepted(toy):
    net, X, y = toy
    assert net.loss(X, y.astype(float), reg=0.05)[0] == pytest.approx(CORRECT_LOSS, abs=1e-12)


def test_numerical_gradient_of_the_scores_matches_a_loss_free_check(toy):
    # d(sum of scores)/d b2 = N for every class: a check that does not go through the softmax
    net, X, _ = toy
    g = numerical_gradient(lambda _b: float(net.loss(X).sum()), net.params["b2"])
    assert relative_error(g, np.full(3, 5.0)) < 1e-9
