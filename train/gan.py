"""The DCGAN as one keras.Model, so fit() brings callbacks, progress and distribution for free."""

import keras
import tensorflow as tf


class DCGAN(keras.Model):
    """Trains a generator against a discriminator with the non-saturating BCE losses.

    One step draws noise, runs the generator once, and updates both networks from that one
    forward pass (as the documents' loop does), instead of the two generator passes of
    keras-io's example: the same learning signal for about a third less compute.
    """

    def __init__(self, generator, discriminator, latent_dim=100, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = latent_dim
        self.noise_seed = keras.random.SeedGenerator(seed)
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.built = True  # both networks are built; BackupAndRestore requires it

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

    def train_step(self, real_images):
        batch_size = tf.shape(real_images)[0]
        noise = keras.random.normal((batch_size, self.latent_dim), seed=self.noise_seed)
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            fake_images = self.generator(noise, training=True)
            real_logits = self.discriminator(real_images, training=True)
            fake_logits = self.discriminator(fake_images, training=True)
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
        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        return {m.name: m.result() for m in self.metrics}
