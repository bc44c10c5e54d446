"""How a GAN step takes gradients and meets fit(), per Keras backend: the mechanics under
train.gan.GAN, which writes its algorithm once in keras.ops and Keras variables and leaves
`_descend` (minimise these losses over these networks) to the class here that its backend names.
No module-level TensorFlow or JAX import: each backend's class imports its own.
"""

import keras
from keras import ops


class TensorFlowSteps:
    """fit()'s TensorFlow contract: train_step(data), run as a tf.function, updates the variables
    in place. Gradients from one persistent tape over the losses' forward pass."""

    def train_step(self, data):
        return self._gan_step(data)

    def _descend(self, losses_of, *updates):
        """Minimise losses_of(call)[i] over updates[i] = (optimizer, network); returns the losses."""
        import tensorflow as tf

        with tf.GradientTape(persistent=True) as tape:
            losses = losses_of(lambda network, inputs: network(inputs, training=True))
            scaled = [self._scaled(optimizer, loss) for (optimizer, _), loss in zip(updates, losses)]
        for (optimizer, network), loss in zip(updates, scaled):
            variables = network.trainable_variables
            optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return losses

    @staticmethod
    def _scaled(optimizer, loss):
        """The loss to differentiate: each replica's share (MirroredStrategy sums the replicas'
        gradients), scaled up for float16 loss scaling."""
        import tensorflow as tf

        return optimizer.scale_loss(loss / tf.distribute.get_strategy().num_replicas_in_sync)

    @staticmethod
    def input_gradients(scores_of, points):
        """d sum(scores_of(points)) / d points."""
        import tensorflow as tf

        with tf.GradientTape() as tape:
            tape.watch(points)
            scores = scores_of(points)
        return tape.gradient(scores, points)


class JaxSteps:
    """fit()'s JAX contract: train_step(state, data) -> (logs, new state), a pure function.

    The state is four lists of values: trainable, non-trainable, optimizer (model.optimizer is
    both optimizers, so it carries both) and metric variables. They become the variables' values
    in one keras.StatelessScope, inside which the algorithm reads and assigns variables exactly as
    on TensorFlow; the scope's values at the end are the new state. Gradients: jax.vjp over the
    networks' stateless_call. Several devices: Keras's distribution API shards the batch; the
    losses are means over the whole batch, so nothing is scaled per device.
    """

    def train_step(self, state, data):
        groups = (self.trainable_variables, self.non_trainable_variables, self.optimizer.variables,
                  self.metrics_variables)
        mapping = [pair for variables, values in zip(groups, state) for pair in zip(variables, values)]
        with keras.StatelessScope(state_mapping=mapping) as scope:
            logs = self._gan_step(data)
        return logs, tuple([scope.get_current_value(variable) for variable in group] for group in groups)

    def _descend(self, losses_of, *updates):
        """Minimise losses_of(call)[i] over updates[i] = (optimizer, network); returns the losses.

        One forward pass (jax.vjp); each loss pulled back to its own network only (XLA drops the
        unused halves). Networks run through stateless_call, their batch-norm statistics and
        dropout seeds returned, not assigned, inside the differentiated function."""
        import jax

        networks = [network for _, network in updates]
        called = {}

        def losses_and_states(*weights):
            states = {}

            def call(network, inputs):
                key = id(network)
                called[key] = network
                trainable = next((w for n, w in zip(networks, weights) if n is network),
                                 _values(network.trainable_variables))
                state = states.get(key, _values(network.non_trainable_variables))
                outputs, states[key] = network.stateless_call(trainable, state, inputs, training=True)
                return outputs

            return tuple(losses_of(call)), states

        weights = [_values(network.trainable_variables) for network in networks]
        losses, pullback, states = jax.vjp(losses_and_states, *weights, has_aux=True)
        for key, values in states.items():
            for variable, value in zip(called[key].non_trainable_variables, values):
                variable.assign(value)
        for index, (optimizer, network) in enumerate(updates):
            cotangents = tuple(ops.ones_like(loss) if i == index else ops.zeros_like(loss)
                               for i, loss in enumerate(losses))
            optimizer.apply(pullback(cotangents)[index], network.trainable_variables)
        return losses

    @staticmethod
    def input_gradients(scores_of, points):
        """d sum(scores_of(points)) / d points."""
        import jax

        scores, pullback = jax.vjp(scores_of, points)
        return pullback(ops.ones_like(scores))[0]


BACKEND_STEPS = {"tensorflow": TensorFlowSteps, "jax": JaxSteps}


def _values(variables):
    return [variable.value for variable in variables]


class Optimizers:
    """model.optimizer for Keras's trainers: both optimizers' variables as one list, which the JAX
    trainer carries through each step's state and writes back at the end of an epoch."""

    built = True

    def __init__(self, *optimizers):
        self.optimizers = optimizers

    @property
    def variables(self):
        return [variable for optimizer in self.optimizers for variable in optimizer.variables]
