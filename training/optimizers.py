"""The five adaptive optimizers of the exercises, as Keras 3 optimizers.

``make(name, learning_rate=None, textbook=False, **hp)`` builds one of

============================  =====================================  ===============================
name                          default (``textbook=False``)           ``textbook=True``
============================  =====================================  ===============================
``adagrad``                   ``keras.optimizers.Adagrad``           :class:`TextbookAdagrad`
``rmsprop``                   ``keras.optimizers.RMSprop``           ``RMSprop(epsilon=1e-6)``
``rmsprop_nesterov``          :class:`RMSpropNesterov`               ``RMSpropNesterov(epsilon=1e-6)``
``adadelta``                  ``keras.optimizers.Adadelta``          ``Adadelta(learning_rate=1.0, epsilon=1e-6)``
``adam``                      ``keras.optimizers.Adam``              :class:`TextbookAdam`
============================  =====================================  ===============================

"Textbook" means Goodfellow, Bengio & Courville, *Deep Learning* (MIT Press 2016), Algorithms 8.4
(AdaGrad), 8.5 (RMSProp), 8.6 (RMSProp with Nesterov momentum) and 8.7 (Adam), and Zeiler 2012,
*ADADELTA*, Algorithm 1. ``docs/optimizers.md`` writes out every update rule and tabulates where
Keras departs from them (epsilon inside the root, Adagrad's initial accumulator 0.1, Adadelta's
learning rate 0.001 instead of none, Adam's epsilon-hat). Every class here is written only in
``keras.ops`` and registered serializable, so a model compiled with it saves and loads as ``.keras``.
"""

from __future__ import annotations

import keras
from keras import ops

__all__ = [
    "OPTIMIZERS",
    "RMSpropNesterov",
    "TextbookAdagrad",
    "TextbookAdam",
    "make",
]


def _check_unit_interval(name: str, value: float) -> None:
    if not 0.0 <= value < 1.0:
        raise ValueError(f"{name} must lie in [0, 1), got {value!r}")


def _check_positive(name: str, value: float) -> None:
    if not value > 0.0:
        raise ValueError(f"{name} must be > 0, got {value!r}")


def _slots(optimizer: keras.optimizers.Optimizer, var_list, name: str, initializer="zeros"):
    """One optimizer variable per model variable (``add_variable_from_reference`` exists in every Keras 3)."""
    return [
        optimizer.add_variable_from_reference(reference_variable=v, name=name, initializer=initializer)
        for v in var_list
    ]


@keras.saving.register_keras_serializable(package="cnncalc")
class RMSpropNesterov(keras.optimizers.Optimizer):
    """RMSProp with Nesterov momentum (Goodfellow, Bengio & Courville, *Deep Learning*, Algorithm 8.6).

    Algorithm 8.6 evaluates the gradient at the look-ahead point ``theta + mu*v``. Like Keras'
    ``SGD(nesterov=True)`` we store ``phi = theta + mu*v`` instead, so the gradient is taken at
    the stored parameters, and the update becomes::

        r     <- rho * r + (1 - rho) * g**2
        delta  = -lr * g / sqrt(r + epsilon)
        v     <- mu * v + delta
        phi   <- phi + mu * v + delta

    with ``r = v = 0`` at the start. This is exactly Algorithm 8.6 in the new variable
    (``phi' = theta' + mu*v' = phi + mu*v' + (v' - mu*v)``); the book's step divides by
    ``sqrt(r)`` and we add ``epsilon`` inside the root, as its RMSProp (Algorithm 8.5) does.
    Keras has no such optimizer: its ``RMSprop(momentum=...)`` is heavy-ball momentum, and
    ``Nadam`` is Adam with Nesterov momentum, a different algorithm.

    Args:
        learning_rate: float or ``LearningRateSchedule`` (the book's epsilon). Defaults to 0.001.
        rho: decay rate of the squared-gradient average, in [0, 1). Defaults to 0.9.
        momentum: momentum coefficient ``mu`` (the book's alpha), in [0, 1). Defaults to 0.9.
        epsilon: added to ``r`` inside the square root. Defaults to 1e-7 (Keras' RMSprop value).
        **kwargs: the common Keras optimizer arguments (``clipnorm``,
            ``gradient_accumulation_steps``, ``name``, ...).
    """

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.9, epsilon=1e-7, name="rmsprop_nesterov", **kwargs):
        _check_unit_interval("rho", rho)
        _check_unit_interval("momentum", momentum)
        _check_positive("epsilon", epsilon)
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.rho = rho
        self.momentum = momentum
        self.epsilon = epsilon

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._accumulators = _slots(self, var_list, "accumulator")  # r
        self._velocities = _slots(self, var_list, "velocity")  # v

    def update_step(self, gradient, variable, learning_rate):
        lr = ops.cast(learning_rate, variable.dtype)
        g = ops.cast(gradient, variable.dtype)
        index = self._get_variable_index(variable)
        r = self._accumulators[index]
        v = self._velocities[index]
        self.assign(r, ops.add(ops.multiply(self.rho, r), ops.multiply(1.0 - self.rho, ops.square(g))))
        delta = ops.negative(ops.divide(ops.multiply(lr, g), ops.sqrt(ops.add(r, self.epsilon))))
        self.assign(v, ops.add(ops.multiply(self.momentum, v), delta))
        self.assign_add(variable, ops.add(ops.multiply(self.momentum, v), delta))

    def get_config(self):
        config = super().get_config()
        config.update({"rho": self.rho, "momentum": self.momentum, "epsilon": self.epsilon})
        return config


@keras.saving.register_keras_serializable(package="cnncalc")
class TextbookAdagrad(keras.optimizers.Optimizer):
    """AdaGrad as in Goodfellow, Bengio & Courville, *Deep Learning*, Algorithm 8.4 (Duchi et al. 2011)::

        r     <- r + g**2
        theta <- theta - lr * g / (delta + sqrt(r))

    with ``r = 0`` at the start and ``delta`` (here ``epsilon``) *outside* the root. Keras'
    ``Adagrad`` instead starts ``r`` at 0.1 and divides by ``sqrt(r + epsilon)``.

    Args:
        learning_rate: float or ``LearningRateSchedule``. Defaults to 0.001.
        epsilon: the book's delta. Defaults to 1e-7 (the book's suggested value).
    """

    def __init__(self, learning_rate=0.001, epsilon=1e-7, name="textbook_adagrad", **kwargs):
        _check_positive("epsilon", epsilon)
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.epsilon = epsilon

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._accumulators = _slots(self, var_list, "accumulator")

    def update_step(self, gradient, variable, learning_rate):
        lr = ops.cast(learning_rate, variable.dtype)
        g = ops.cast(gradient, variable.dtype)
        r = self._accumulators[self._get_variable_index(variable)]
        self.assign_add(r, ops.square(g))
        self.assign_sub(variable, ops.divide(ops.multiply(lr, g), ops.add(self.epsilon, ops.sqrt(r))))

    def get_config(self):
        config = super().get_config()
        config.update({"epsilon": self.epsilon})
        return config


@keras.saving.register_keras_serializable(package="cnncalc")
class TextbookAdam(keras.optimizers.Optimizer):
    """Adam as in Kingma & Ba 2015, Algorithm 1 (= Goodfellow et al., *Deep Learning*, Algorithm 8.7)::

        t     <- t + 1
        s     <- beta_1 * s + (1 - beta_1) * g
        r     <- beta_2 * r + (1 - beta_2) * g**2
        s_hat  = s / (1 - beta_1**t)
        r_hat  = r / (1 - beta_2**t)
        theta <- theta - lr * s_hat / (sqrt(r_hat) + epsilon)

    Keras' ``Adam`` folds the bias corrections into the step size and adds its epsilon to
    ``sqrt(r)`` (the paper's "epsilon-hat", formula before Section 2.1), which equals this rule
    with ``epsilon * sqrt(1 - beta_2**t)``: a larger effective epsilon in the first steps.

    Args:
        learning_rate: float or ``LearningRateSchedule``. Defaults to 0.001 (the paper's alpha).
        beta_1, beta_2: moment decay rates, in [0, 1). Defaults 0.9 and 0.999.
        epsilon: added to ``sqrt(r_hat)``. Defaults to 1e-8 (the paper's value).
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-8, name="textbook_adam", **kwargs):
        _check_unit_interval("beta_1", beta_1)
        _check_unit_interval("beta_2", beta_2)
        _check_positive("epsilon", epsilon)
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._first_moments = _slots(self, var_list, "first_moment")  # s
        self._second_moments = _slots(self, var_list, "second_moment")  # r

    def update_step(self, gradient, variable, learning_rate):
        lr = ops.cast(learning_rate, variable.dtype)
        g = ops.cast(gradient, variable.dtype)
        t = ops.cast(self.iterations + 1, variable.dtype)
        index = self._get_variable_index(variable)
        s = self._first_moments[index]
        r = self._second_moments[index]
        self.assign(s, ops.add(ops.multiply(self.beta_1, s), ops.multiply(1.0 - self.beta_1, g)))
        self.assign(r, ops.add(ops.multiply(self.beta_2, r), ops.multiply(1.0 - self.beta_2, ops.square(g))))
        s_hat = ops.divide(s, ops.subtract(1.0, ops.power(ops.cast(self.beta_1, variable.dtype), t)))
        r_hat = ops.divide(r, ops.subtract(1.0, ops.power(ops.cast(self.beta_2, variable.dtype), t)))
        self.assign_sub(variable, ops.divide(ops.multiply(lr, s_hat), ops.add(ops.sqrt(r_hat), self.epsilon)))

    def get_config(self):
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon})
        return config


# name -> (Keras-convention factory, textbook factory); each takes learning_rate and hyper-parameters.
OPTIMIZERS = {
    "adagrad": (keras.optimizers.Adagrad, TextbookAdagrad),
    "rmsprop": (keras.optimizers.RMSprop, keras.optimizers.RMSprop),
    "rmsprop_nesterov": (RMSpropNesterov, RMSpropNesterov),
    "adadelta": (keras.optimizers.Adadelta, keras.optimizers.Adadelta),
    "adam": (keras.optimizers.Adam, TextbookAdam),
}

# Hyper-parameters that textbook=True sets unless the caller gives them.
_TEXTBOOK_DEFAULTS = {
    "adagrad": {},  # TextbookAdagrad's own defaults: r0 = 0, delta = 1e-7 outside the root
    "rmsprop": {"epsilon": 1e-6},  # Algorithm 8.5: delta = 1e-6 inside the root
    "rmsprop_nesterov": {"epsilon": 1e-6},  # as Algorithm 8.5
    "adadelta": {"learning_rate": 1.0, "epsilon": 1e-6},  # Zeiler 2012: no learning rate, eps = 1e-6
    "adam": {},  # TextbookAdam's own defaults: epsilon = 1e-8 added to sqrt(r_hat)
}


def make(name: str, learning_rate=None, *, textbook: bool = False, **hp) -> keras.optimizers.Optimizer:
    """Build one of the five adaptive optimizers by name.

    Args:
        name: ``adagrad``, ``rmsprop``, ``rmsprop_nesterov``, ``adadelta`` or ``adam``
            (case and ``-``/``_`` are ignored; ``rmsprop+nesterov`` is accepted).
        learning_rate: float or ``keras.optimizers.schedules.LearningRateSchedule`` (for
            example :class:`training.schedules.CyclicalLearningRate`). ``None`` keeps the
            default of the chosen variant (0.001 everywhere, except textbook AdaDelta: 1.0).
        textbook: ``False`` (default) follows Keras' implementations, the ones a Keras user
            gets and published runs used. ``True`` follows the textbook equations
            (Goodfellow et al. Algorithms 8.4-8.7, Zeiler 2012 Algorithm 1): AdaGrad with
            ``r0 = 0`` and epsilon outside the root, RMSProp with ``delta = 1e-6``, AdaDelta
            with no learning rate (1.0) and ``epsilon = 1e-6``, Adam with the paper's epsilon.
        **hp: further hyper-parameters of the optimizer (``rho``, ``momentum``, ``epsilon``,
            ``beta_1``, ``gradient_accumulation_steps``, ...); they override the defaults.

    Raises:
        ValueError: unknown name (the message lists the valid ones).
    """
    key = str(name).strip().lower().replace("-", "_").replace("+", "_").replace(" ", "_")
    if key not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}; valid names: {', '.join(OPTIMIZERS)}")
    keras_cls, textbook_cls = OPTIMIZERS[key]
    kwargs = dict(_TEXTBOOK_DEFAULTS[key]) if textbook else {}
    kwargs.update(hp)
    if learning_rate is not None:
        kwargs["learning_rate"] = learning_rate
    return (textbook_cls if textbook else keras_cls)(**kwargs)
