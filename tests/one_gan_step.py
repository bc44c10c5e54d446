"""One GAN training step from fixed weights and inputs, on whatever backend KERAS_BACKEND names;
the weights after it go to an .npz. tests/test_train_jax.py runs it on TensorFlow and on JAX and
compares: the two backends' steps must agree.

    KERAS_BACKEND=jax python tests/one_gan_step.py LOSS OUT.npz

Everything random is fixed: numpy weights, fixed noise, no dropout, a constant penalty mix. Plain
SGD, so a weight's change is its gradient (Adam's first step would show only its sign).
"""

import sys

import keras
import numpy as np

from train.gan import GAN
from train.losses import LOSSES

LATENT, BATCH = 8, 6


class FixedNoiseGAN(GAN):
    def _g_inputs(self, labels):
        noise = np.random.default_rng(5).standard_normal((BATCH, LATENT)).astype("float32")
        return keras.ops.convert_to_tensor(noise)


def networks():
    generator = keras.Sequential([
        keras.Input((LATENT,)), keras.layers.Dense(16), keras.layers.BatchNormalization(),
        keras.layers.LeakyReLU(), keras.layers.Dense(784), keras.layers.Reshape((28, 28, 1)),
        keras.layers.Activation("tanh"),
    ])
    critic = keras.Sequential([
        keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(8), keras.layers.LeakyReLU(),
        keras.layers.Dense(1),
    ])
    rng = np.random.default_rng(0)
    for network in (generator, critic):
        network.set_weights([rng.normal(0, 0.1, w.shape).astype("float32") for w in network.get_weights()])
    return generator, critic


def main(loss_name, out):
    keras.random.uniform = lambda shape, **_: keras.ops.full(shape, 0.3)  # the penalty's mix
    loss = LOSSES[loss_name]
    gan = FixedNoiseGAN(*networks(), latent_dim=LATENT, ema_decay=0.5)
    gan.compile(keras.optimizers.SGD(0.01), keras.optimizers.SGD(0.01), loss)
    before = {f"before_{name}_{i}": w for name, network in (("g", gan.generator), ("d", gan.discriminator))
              for i, w in enumerate(network.get_weights())}
    images = np.random.default_rng(1).uniform(-1, 1, (BATCH * loss.critic_steps, 28, 28, 1)).astype("float32")
    logs = gan.fit(images, np.zeros(len(images), "int32"), batch_size=len(images), epochs=1, shuffle=False,
                   verbose=0).history
    weights = {f"{name}_{i}": keras.ops.convert_to_numpy(w.value)
               for name, network in (("g", gan.generator), ("d", gan.discriminator), ("ema", gan.ema_generator))
               for i, w in enumerate(network.weights)}
    np.savez(out, loss_d=logs["d_loss"][0], loss_g=logs["g_loss"][0], **weights, **before)


if __name__ == "__main__":
    main(*sys.argv[1:])
