"""The GAN as one keras.Model, so fit() brings callbacks, progress and distribution for free.

It reads top to bottom like keras-io's GAN example: the networks and optimizers, then one training
step (both networks' losses from one generator pass), then the generator's weight average. How a
step takes gradients and meets fit() differs per backend: that is train.backend_steps, whose
class for the running backend GAN inherits.
"""

import keras
from keras import ops

from train.backend_steps import BACKEND_STEPS, Optimizers, TensorFlowSteps
from train.models import is_conditional


class GAN(BACKEND_STEPS.get(keras.backend.backend(), TensorFlowSteps), keras.Model):
    """Trains a generator against a discriminator (or critic) with a loss from train.losses.LOSSES.

    Each batch of the data pipeline holds loss.critic_steps discriminator batches. With a joint
    update (the cross-entropy), one step draws noise, runs the generator once, and updates both
    networks from that one forward pass (as the documents' loop does), instead of the two
    generator passes of keras-io's example: the same learning signal for about a third less
    compute. Otherwise (WGAN-GP, Gulrajani et al. 2017, Algorithm 1) the critic takes its steps,
    each on a batch of its own, then the generator one step against the updated critic.

    Conditional networks (digit as a second input) get the real batch's labels: the fakes are
    asked for the digits the real images show, so both sides see the same digit mix.

    With ema_decay > 0, `ema_generator` is an exponential moving average of the generator,
    updated after every step over all its weights, batch-norm moving statistics included (the
    keras-io ddim way; the optimizer's use_ema would average trainable weights only and leave
    the averaged network with the raw network's batch-norm statistics). Samples and the saved
    generator come from `sampler`: the average, or the generator itself without one.
    """

    def __init__(self, generator, discriminator, latent_dim=100, seed=None, ema_decay=0.0, **kwargs):
        super().__init__(**kwargs)
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = latent_dim
        self.conditional = is_conditional(generator)
        self.noise_seed = keras.random.SeedGenerator(seed)
        self.ema_decay = ema_decay
        self.ema_generator = None
        if ema_decay:
            self.ema_generator = keras.models.clone_model(generator)
            self.ema_generator.set_weights(generator.get_weights())
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.built = True  # both networks are built; BackupAndRestore requires it

    @property
    def sampler(self):
        """The network that draws samples: the weight average when there is one."""
        return self.ema_generator or self.generator

    def compile(self, d_optimizer, g_optimizer, loss, **kwargs):
        """loss: an entry of train.losses.LOSSES."""
        # optimizer=None: the two optimizers below are the model's only ones, so checkpoints
        # carry no unused default optimizer.
        super().compile(optimizer=None, **kwargs)
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer
        self.optimizer = Optimizers(d_optimizer, g_optimizer)
        self.loss = loss
        # Build the optimizers' slots now, so a resumed run can load their saved state.
        d_optimizer.build(self.discriminator.trainable_variables)
        g_optimizer.build(self.generator.trainable_variables)

    @property
    def metrics(self):
        return [self.d_loss_tracker, self.g_loss_tracker]

    def _gan_step(self, data):
        """One step of the algorithm, whatever the backend: reads and assigns Keras variables, and
        leaves gradients to the backend's `_descend`."""
        real_images, labels = data
        images_parts = ops.split(real_images, self.loss.critic_steps)
        labels_parts = ops.split(labels, self.loss.critic_steps)
        if self.loss.joint_update:
            for images, digits in zip(images_parts[:-1], labels_parts[:-1]):
                self._critic_step(images, digits)
            d_loss, g_loss = self._joint_step(images_parts[-1], labels_parts[-1])
        else:
            for images, digits in zip(images_parts, labels_parts):
                d_loss = self._critic_step(images, digits)
            g_loss = self._generator_step(labels_parts[-1])
        if self.ema_generator is not None:
            self._update_average()
        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        return {m.name: m.result() for m in self.metrics}

    # Each step below writes its losses as a function of `call(network, inputs)`, which runs a
    # network in training mode; `_descend` evaluates it once and takes each loss's gradient with
    # respect to its own network only.

    def _joint_step(self, real_images, labels):
        """Both networks updated from one generator pass; returns (d_loss, g_loss)."""
        g_inputs = self._g_inputs(labels)

        def losses(call):
            fake_images = call(self.generator, g_inputs)
            real_logits = call(self.discriminator, self._d_inputs(real_images, labels))
            fake_logits = call(self.discriminator, self._d_inputs(fake_images, labels))
            d_loss = self.loss.discriminator(real_logits, fake_logits)
            d_loss += self._penalty(call, real_images, fake_images, labels)
            return d_loss, self.loss.generator(fake_logits)

        return self._descend(losses, (self.d_optimizer, self.discriminator), (self.g_optimizer, self.generator))

    def _critic_step(self, real_images, labels):
        """One discriminator update against fakes from fresh noise; returns its loss."""
        fake_images = self.generator(self._g_inputs(labels), training=True)

        def losses(call):
            real_scores = call(self.discriminator, self._d_inputs(real_images, labels))
            fake_scores = call(self.discriminator, self._d_inputs(fake_images, labels))
            d_loss = self.loss.discriminator(real_scores, fake_scores)
            return (d_loss + self._penalty(call, real_images, fake_images, labels),)

        return self._descend(losses, (self.d_optimizer, self.discriminator))[0]

    def _generator_step(self, labels):
        """One generator update from fresh noise; returns its loss."""
        g_inputs = self._g_inputs(labels)

        def losses(call):
            fake_images = call(self.generator, g_inputs)
            return (self.loss.generator(call(self.discriminator, self._d_inputs(fake_images, labels))),)

        return self._descend(losses, (self.g_optimizer, self.generator))[0]

    def _penalty(self, call, real_images, fake_images, labels):
        if not self.loss.penalty_weight:
            return 0.0

        def scores(points):
            return call(self.discriminator, self._d_inputs(points, labels))

        return self.loss.penalty_weight * gradient_penalty(scores, real_images, fake_images, self.noise_seed)

    def _g_inputs(self, labels):
        noise = keras.random.normal((ops.shape(labels)[0], self.latent_dim), seed=self.noise_seed)
        return [noise, labels] if self.conditional else noise

    def _d_inputs(self, images, labels):
        return [images, labels] if self.conditional else images

    def _update_average(self):
        """ema <- decay * ema + (1 - decay) * weights, for every weight of the generator.

        The decay warms up as min(decay, (1 + t) / (10 + t)) over the optimizer's step count t,
        so the average forgets the random initial weights within the first hundreds of steps.
        """
        step = ops.cast(self.g_optimizer.iterations, "float32")
        decay = ops.minimum(self.ema_decay, (1.0 + step) / (10.0 + step))
        for average, weight in zip(self.ema_generator.weights, self.generator.weights):
            average.assign(decay * average + (1.0 - decay) * ops.cast(weight, average.dtype))


def gradient_penalty(critic, real_images, fake_images, seed=None):
    """mean over the batch of (||grad_x critic(x)||_2 - 1)^2 at random points x between each real
    image and its fake (Gulrajani et al. 2017): the soft 1-Lipschitz constraint of WGAN-GP.
    critic: points -> scores. Per-sample gradients: a critic with batch norm would mix the samples
    and break it."""
    real_images = ops.cast(real_images, "float32")
    fake_images = ops.cast(fake_images, "float32")
    mix = keras.random.uniform((ops.shape(real_images)[0], 1, 1, 1), seed=seed)
    points = mix * real_images + (1.0 - mix) * fake_images
    gradients = ops.cast(BACKEND_STEPS[keras.backend.backend()].input_gradients(critic, points), "float32")
    norms = ops.sqrt(ops.sum(ops.square(gradients), axis=[1, 2, 3]) + 1e-12)
    return ops.mean(ops.square(norms - 1.0))
