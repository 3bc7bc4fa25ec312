"""Annealed Gaussian gradient noise (Neelakantan et al. 2015).

Keras 3 has no public hook between "gradients computed" and "update applied", on any
backend. The one place every backend's training step goes through is the optimizer:
TensorFlow's step calls `optimizer.apply_gradients`, JAX's calls `optimizer.stateless_apply`,
and both end in `optimizer.apply(grads)`. So the noise lives in an optimizer wrapper,
`GradientNoiseOptimizer`, built like Keras' own `LossScaleOptimizer`: it adds the noise and
hands the noisy gradients to the optimizer it wraps, whose state it shares.

`GradientNoise` is the callback form, for recipes and plain `fit`: when training starts it
wraps the model's optimizer (already built, so no state is lost), and when training ends it
puts the original back, so the model saves with its usual optimizer.

Cost: one normal draw per trainable parameter per step (about the cost of one extra
element-wise pass over the weights) and one retrace of the training step at the start of
`fit`. The random state is a seed generator variable of the wrapper, so runs with the same
seed draw the same noise, on JAX as on TensorFlow.
"""

from __future__ import annotations

import keras

from kerazoo import keras_internals, schedules


@keras.saving.register_keras_serializable(package="kerazoo")
class GradientNoiseOptimizer(keras.optimizers.Optimizer):
    """Adds N(0, eta / (1 + t)^gamma) noise to every gradient, t = the wrapped optimizer's
    step count from 0, then applies `inner_optimizer`. Learning rate, iterations and
    variables are the inner optimizer's; callbacks that set the learning rate work as usual.
    """

    def __init__(self, inner_optimizer, eta: float = 0.3, gamma: float = 0.55,
                 seed: int | None = None, name: str | None = None):
        super().__init__(learning_rate=0.0, name=name)
        self.inner_optimizer = keras.optimizers.get(inner_optimizer)
        schedules.gradient_noise_variance(0, eta, gamma)  # checks both are positive
        self.eta, self.gamma = float(eta), float(gamma)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def build(self, var_list):
        if not self.inner_optimizer.built:
            self.inner_optimizer.build(var_list)
        # The seed's state must travel with the optimizer state through JAX's pure step.
        keras_internals.track_optimizer_variable(self, self.seed_generator.state)
        super().build(var_list)

    @property
    def variables(self):
        return [*super().variables, *self.inner_optimizer.variables]

    def apply(self, grads, trainable_variables=None):
        if not self.built:
            with keras.name_scope(self.name, caller=self):
                self.build(trainable_variables)
            self.built = True
        step = keras.ops.cast(self.inner_optimizer.iterations, "float32")
        stddev = keras.ops.sqrt(self.eta / keras.ops.power(1.0 + step, self.gamma))
        noisy = [
            None if gradient is None else gradient + keras.random.normal(
                keras.ops.shape(gradient), stddev=keras.ops.cast(stddev, gradient.dtype),
                dtype=gradient.dtype, seed=self.seed_generator)
            for gradient in grads
        ]
        self.inner_optimizer.apply(noisy, trainable_variables)

    @property
    def learning_rate(self):
        return self.inner_optimizer.learning_rate

    @learning_rate.setter
    def learning_rate(self, learning_rate):
        self.inner_optimizer.learning_rate = learning_rate

    @property
    def iterations(self):
        return self.inner_optimizer.iterations

    def scale_loss(self, loss):
        return self.inner_optimizer.scale_loss(loss)

    def finalize_variable_values(self, var_list):
        self.inner_optimizer.finalize_variable_values(var_list)

    def get_config(self):
        return {"inner_optimizer": keras.saving.serialize_keras_object(self.inner_optimizer),
                "eta": self.eta, "gamma": self.gamma, "seed": self.seed, "name": self.name}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        inner = keras.saving.deserialize_keras_object(config.pop("inner_optimizer"),
                                                      custom_objects=custom_objects)
        return cls(inner, **config)


class GradientNoise(keras.callbacks.Callback):
    """Train with annealed gradient noise, variance eta / (1 + t)^gamma at step t.

    The paper found eta in {0.01, 0.3, 1.0} with gamma = 0.55 helped deep networks train.
    Mind the scale against your gradients: Adam divides each coordinate by its gradients'
    running RMS, so noise much larger than the gradients turns its steps into coin flips
    (a 3-epoch smoke run of mlp_digits with Adam and eta=0.01 ends near chance).
    Reports `gradient_noise_variance` (at the epoch's last step) in `logs`. See the module
    docstring for how it hooks into training and what it costs.
    """

    def __init__(self, eta: float = 0.3, gamma: float = 0.55, seed: int | None = None):
        super().__init__()
        schedules.gradient_noise_variance(0, eta, gamma)  # checks both are positive
        self.eta, self.gamma = float(eta), float(gamma)
        self.seed = seed
        self._wrapped = None

    def on_train_begin(self, logs=None):
        optimizer = self.model.optimizer
        if isinstance(optimizer, GradientNoiseOptimizer):  # compiled with it: nothing to do
            self._noisy, self._wrapped = optimizer, None
            return
        self._noisy = GradientNoiseOptimizer(optimizer, self.eta, self.gamma, self.seed)
        self._noisy.build(self.model.trainable_variables)
        self._wrapped = optimizer
        self.model.optimizer = self._noisy
        self.model.make_train_function(force=True)

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            return
        last_step = int(keras.ops.convert_to_numpy(self._noisy.iterations)) - 1
        logs["gradient_noise_variance"] = schedules.gradient_noise_variance(
            max(last_step, 0), self._noisy.eta, self._noisy.gamma)

    def on_train_end(self, logs=None):
        if self._wrapped is not None:
            self.model.optimizer = self._wrapped
            self.model.train_function = None  # the next fit traces without the wrapper
            self._wrapped = None
