"""The GAN as one keras.Model, so fit() brings callbacks, progress and distribution for free."""

import keras
import tensorflow as tf

from train.models import is_conditional


class GAN(keras.Model):
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
        self.loss = loss
        # Build the optimizers' slots now, so a resumed run can load their saved state.
        d_optimizer.build(self.discriminator.trainable_variables)
        g_optimizer.build(self.generator.trainable_variables)

    @property
    def metrics(self):
        return [self.d_loss_tracker, self.g_loss_tracker]

    def train_step(self, data):
        real_images, labels = data
        images_parts = tf.split(real_images, self.loss.critic_steps)
        labels_parts = tf.split(labels, self.loss.critic_steps)
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

    def _joint_step(self, real_images, labels):
        """Both networks updated from one generator pass; returns (d_loss, g_loss)."""
        g_inputs = self._g_inputs(labels)
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            fake_images = self.generator(g_inputs, training=True)
            real_logits = self.discriminator(self._d_inputs(real_images, labels), training=True)
            fake_logits = self.discriminator(self._d_inputs(fake_images, labels), training=True)
            d_loss = self.loss.discriminator(real_logits, fake_logits)
            d_loss += self._penalty(real_images, fake_images, labels)
            g_loss = self.loss.generator(fake_logits)
            scaled_d_loss = self._scaled(self.d_optimizer, d_loss)
            scaled_g_loss = self._scaled(self.g_optimizer, g_loss)
        self._apply(self.d_optimizer, d_tape, scaled_d_loss, self.discriminator)
        self._apply(self.g_optimizer, g_tape, scaled_g_loss, self.generator)
        return d_loss, g_loss

    def _critic_step(self, real_images, labels):
        """One discriminator update against fakes from fresh noise; returns its loss."""
        fake_images = self.generator(self._g_inputs(labels), training=True)
        with tf.GradientTape() as tape:
            real_scores = self.discriminator(self._d_inputs(real_images, labels), training=True)
            fake_scores = self.discriminator(self._d_inputs(fake_images, labels), training=True)
            d_loss = self.loss.discriminator(real_scores, fake_scores)
            d_loss += self._penalty(real_images, fake_images, labels)
            scaled_loss = self._scaled(self.d_optimizer, d_loss)
        self._apply(self.d_optimizer, tape, scaled_loss, self.discriminator)
        return d_loss

    def _generator_step(self, labels):
        """One generator update from fresh noise; returns its loss."""
        with tf.GradientTape() as tape:
            fake_images = self.generator(self._g_inputs(labels), training=True)
            g_loss = self.loss.generator(self.discriminator(self._d_inputs(fake_images, labels), training=True))
            scaled_loss = self._scaled(self.g_optimizer, g_loss)
        self._apply(self.g_optimizer, tape, scaled_loss, self.generator)
        return g_loss

    def _penalty(self, real_images, fake_images, labels):
        if not self.loss.penalty_weight:
            return 0.0
        return self.loss.penalty_weight * gradient_penalty(
            self.discriminator, real_images, fake_images, labels if self.conditional else None, self.noise_seed)

    @staticmethod
    def _scaled(optimizer, loss):
        """The loss to differentiate, computed inside the tape: each replica's share (gradients are
        summed over replicas), scaled up for float16 loss scaling."""
        return optimizer.scale_loss(loss / tf.distribute.get_strategy().num_replicas_in_sync)

    @staticmethod
    def _apply(optimizer, tape, scaled_loss, network):
        variables = network.trainable_variables
        optimizer.apply_gradients(zip(tape.gradient(scaled_loss, variables), variables))

    def _g_inputs(self, labels):
        noise = keras.random.normal((tf.shape(labels)[0], self.latent_dim), seed=self.noise_seed)
        return [noise, labels] if self.conditional else noise

    def _d_inputs(self, images, labels):
        return [images, labels] if self.conditional else images

    def _update_average(self):
        """ema <- decay * ema + (1 - decay) * weights, for every weight of the generator.

        The decay warms up as min(decay, (1 + t) / (10 + t)) over the optimizer's step count t,
        so the average forgets the random initial weights within the first hundreds of steps.
        """
        step = tf.cast(self.g_optimizer.iterations, tf.float32)
        decay = tf.minimum(self.ema_decay, (1.0 + step) / (10.0 + step))
        for average, weight in zip(self.ema_generator.weights, self.generator.weights):
            average.assign(decay * average + (1.0 - decay) * tf.cast(weight, average.dtype))


def gradient_penalty(critic, real_images, fake_images, labels=None, seed=None):
    """mean over the batch of (||grad_x critic(x)||_2 - 1)^2 at random points x between each real
    image and its fake (Gulrajani et al. 2017): the soft 1-Lipschitz constraint of WGAN-GP.
    Per-sample gradients: a critic with batch norm would mix the samples and break it."""
    real_images = tf.cast(real_images, tf.float32)
    fake_images = tf.cast(fake_images, tf.float32)
    mix = keras.random.uniform((tf.shape(real_images)[0], 1, 1, 1), seed=seed)
    points = mix * real_images + (1.0 - mix) * fake_images
    with tf.GradientTape() as tape:
        tape.watch(points)
        scores = critic(points if labels is None else [points, labels], training=True)
    gradients = tf.cast(tape.gradient(scores, points), tf.float32)
    norms = tf.sqrt(tf.reduce_sum(tf.square(gradients), axis=[1, 2, 3]) + 1e-12)
    return tf.reduce_mean(tf.square(norms - 1.0))
