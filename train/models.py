"""The seed DCGAN's two networks, exactly as the project's design guide describes them."""

import keras
from keras import layers

IMAGE_SHAPE = (28, 28, 1)


def build_generator(latent_dim: int = 100) -> keras.Model:
    """Noise (latent_dim,) -> image (28, 28, 1) in [-1, 1]; 2,330,944 parameters at latent 100."""
    return keras.Sequential(
        [
            keras.Input(shape=(latent_dim,), name="z"),
            layers.Dense(7 * 7 * 256, use_bias=False),
            layers.BatchNormalization(),
            layers.LeakyReLU(),
            layers.Reshape((7, 7, 256)),
            layers.Conv2DTranspose(128, 5, strides=1, padding="same", use_bias=False),
            layers.BatchNormalization(),
            layers.LeakyReLU(),
            layers.Conv2DTranspose(64, 5, strides=2, padding="same", use_bias=False),
            layers.BatchNormalization(),
            layers.LeakyReLU(),
            layers.Conv2DTranspose(1, 5, strides=2, padding="same", use_bias=False),
            # The last activation stays float32 so mixed precision never clips the output range.
            layers.Activation("tanh", dtype="float32", name="images"),
        ],
        name="generator",
    )


def build_discriminator() -> keras.Model:
    """Image (28, 28, 1) -> one real/fake logit; 212,865 parameters."""
    return keras.Sequential(
        [
            keras.Input(shape=IMAGE_SHAPE, name="image"),
            layers.Conv2D(64, 5, strides=2, padding="same"),
            layers.LeakyReLU(),
            layers.Dropout(0.3),
            layers.Conv2D(128, 5, strides=2, padding="same"),
            layers.LeakyReLU(),
            layers.Dropout(0.3),
            layers.Flatten(),
            layers.Dense(1, dtype="float32", name="logit"),
        ],
        name="discriminator",
    )
