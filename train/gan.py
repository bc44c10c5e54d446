"""The GAN as one keras.Model, so fit() brings callbacks, progress and distribution for free."""

import keras
import tensorflow as tf

from train.models import is_conditional


class DCGAN(keras.Model):
    """Trains a generator against a discriminator with the non-saturating BCE losses.

    One step draws noise, runs the generator once, and updates both networks from that one
    forward pass (as the documents' loop does), instead of the two generator passes of
    keras-io's example: the same learning signal for about a third less compute.

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

    def compile(self, d_optimizer, g_optimizer, loss_fn, **kwargs):
        # optimizer=None: the two optimizers below are the model's only ones, so checkpoints
        # carry no unused default optimizer.
        super().compile(optimizer=None, **kwargs)
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer
        self.loss_fn = loss_fn
        # Build the optimizers' slots now, so a resumed run can load their saved state.
        d_optimizer.build(self.discriminator.trainable_variables)
        g_optimizer.build(self.generator.trainable_variables)

    @property
    def metrics(self):
        return [self.d_loss_tracker, self.g_loss_tracker]

    def train_step(self, data):
        real_images, labels = data
        batch_size = tf.shape(real_images)[0]
        noise = keras.random.normal((batch_size, self.latent_dim), seed=self.noise_seed)
        g_inputs = [noise, labels] if self.conditional else noise
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            fake_images = self.generator(g_inputs, training=True)
            real_logits = self.discriminator(self._d_inputs(real_images, labels), training=True)
            fake_logits = self.discriminator(self._d_inputs(fake_images, labels), training=True)
            d_loss = self.loss_fn(tf.ones_like(real_logits), real_logits) + self.loss_fn(
                tf.zeros_like(fake_logits), fake_logits
            )
            g_loss = self.loss_fn(tf.ones_like(fake_logits), fake_logits)
            # Gradients are summed over replicas, so each replica contributes its share.
            scaled_d_loss = self.d_optimizer.scale_loss(d_loss / replicas)
            scaled_g_loss = self.g_optimizer.scale_loss(g_loss / replicas)
        d_vars = self.discriminator.trainable_variables
        g_vars = self.generator.trainable_variables
        self.d_optimizer.apply_gradients(zip(d_tape.gradient(scaled_d_loss, d_vars), d_vars))
        self.g_optimizer.apply_gradients(zip(g_tape.gradient(scaled_g_loss, g_vars), g_vars))
        if self.ema_generator is not None:
            self._update_average()
        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        return {m.name: m.result() for m in self.metrics}

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

