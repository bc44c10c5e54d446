"""The GANs' networks, as the project's design guide describes them, and the table that names them.

A new model is a pair of builders, one entry in MODELS, and its name and summary in
train.catalog.MODELS (Keras-free, for --help).
"""

from pathlib import Path

import keras
from keras import layers

from digitgen.messages import first_line

IMAGE_SHAPE = (28, 28, 1)
DIGITS = 10


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


def build_discriminator(channels: int = 1) -> keras.Model:
    """Image (28, 28, channels) -> one real/fake logit; 212,865 parameters for one channel."""
    return keras.Sequential(
        [
            keras.Input(shape=IMAGE_SHAPE[:2] + (channels,), name="image"),
            *discriminator_features(),
            layers.Dense(1, dtype="float32", name="logit"),
        ],
        name="discriminator",
    )


def discriminator_features():
    """The seed discriminator's layers up to its logit: image -> 6,272 features."""
    return [
        layers.Conv2D(64, 5, strides=2, padding="same"),
        layers.LeakyReLU(),
        layers.Dropout(0.3),
        layers.Conv2D(128, 5, strides=2, padding="same"),
        layers.LeakyReLU(),
        layers.Dropout(0.3),
        layers.Flatten(),
    ]


def one_hot(name):
    """digit (N,) int32 -> (N, 10) one-hot: a frozen identity Embedding, so a saved model needs no
    custom code and converts to a plain Gather in ONNX and TFLite."""
    return layers.Embedding(DIGITS, DIGITS, embeddings_initializer="identity", trainable=False, name=name)


def build_conditional_generator(latent_dim: int = 100) -> keras.Model:
    """(noise (latent_dim,), digit) -> image: the seed generator with the one-hot digit joined to
    the noise before its Dense layer; 2,456,484 parameters at latent 100 (125,440 + 100 more)."""
    noise = keras.Input(shape=(latent_dim,), name="z")
    digit = keras.Input(shape=(), dtype="int32", name="digit")
    joined = layers.Concatenate(name="z_and_digit")([noise, one_hot("digit_one_hot")(digit)])
    body = build_generator(latent_dim + DIGITS)
    return keras.Model([noise, digit], body(joined), name="generator")


def build_conditional_discriminator() -> keras.Model:
    """(image, digit) -> logit: the seed discriminator with the one-hot digit as 10 extra input
    channels (keras-io's conditional_gan); 228,965 parameters (100 of them the frozen one-hot table)."""
    image = keras.Input(shape=IMAGE_SHAPE, name="image")
    digit = keras.Input(shape=(), dtype="int32", name="digit")
    planes = layers.Reshape((1, 1, DIGITS))(one_hot("digit_one_hot")(digit))
    planes = layers.UpSampling2D(size=IMAGE_SHAPE[:2], name="digit_planes")(planes)
    joined = layers.Concatenate(name="image_and_digit")([image, planes])
    body = build_discriminator(channels=IMAGE_SHAPE[-1] + DIGITS)
    return keras.Model([image, digit], body(joined), name="discriminator")


def build_projection_discriminator() -> keras.Model:
    """(image, digit) -> logit: a projection discriminator (Miyato & Koyama 2018),
    D(x, y) = linear(phi(x)) + embed(y) . phi(x), phi the seed discriminator's flattened features.

    The digit meets the image's features at the end instead of as 10 extra input channels: in a
    measurement on this architecture it reached the same quality in about a quarter fewer epochs.
    Plain Keras layers only, so a saved one loads with keras.models.load_model; 275,585 parameters.
    """
    image = keras.Input(shape=IMAGE_SHAPE, name="image")
    digit = keras.Input(shape=(), dtype="int32", name="digit")
    features = keras.Sequential(discriminator_features(), name="features")(image)
    unconditional = layers.Dense(1, name="linear")(features)
    embedded = layers.Embedding(DIGITS, features.shape[-1], name="digit_embedding")(digit)
    projection = layers.Dot(axes=1, name="projection")([embedded, features])
    logit = layers.Add(dtype="float32", name="logit")([unconditional, projection])
    return keras.Model([image, digit], logit, name="discriminator")


def build_vanilla_generator(latent_dim: int = 100) -> keras.Model:
    """The documents' fully connected generator: Dense 256 -> 512 -> 1024, each followed by
    LeakyReLU(0.2) and BatchNorm(momentum 0.8), then Dense 784 tanh as a 28x28x1 image;
    1,493,520 parameters at latent 100."""
    hidden = []
    for units in (256, 512, 1024):
        hidden += [layers.Dense(units), layers.LeakyReLU(negative_slope=0.2), layers.BatchNormalization(momentum=0.8)]
    return keras.Sequential(
        [
            keras.Input(shape=(latent_dim,), name="z"),
            *hidden,
            layers.Dense(IMAGE_SHAPE[0] * IMAGE_SHAPE[1]),
            layers.Reshape(IMAGE_SHAPE),
            layers.Activation("tanh", dtype="float32", name="images"),
        ],
        name="generator",
    )


def build_vanilla_discriminator() -> keras.Model:
    """The documents' fully connected discriminator: Flatten, Dense 512 and 256 with LeakyReLU(0.2)
    and Dropout(0.3), one logit (no sigmoid: the losses take logits or scores); 533,505 parameters."""
    return keras.Sequential(
        [
            keras.Input(shape=IMAGE_SHAPE, name="image"),
            layers.Flatten(),
            layers.Dense(512),
            layers.LeakyReLU(negative_slope=0.2),
            layers.Dropout(0.3),
            layers.Dense(256),
            layers.LeakyReLU(negative_slope=0.2),
            layers.Dropout(0.3),
            layers.Dense(1, dtype="float32", name="logit"),
        ],
        name="discriminator",
    )


# name -> (generator builder taking the latent size, discriminator builder). No discriminator has
# batch norm: it would break the per-sample gradient penalty of the Wasserstein loss.
MODELS = {
    "cdcgan": (build_conditional_generator, build_conditional_discriminator),
    "cdcgan-proj": (build_conditional_generator, build_projection_discriminator),
    "dcgan": (build_generator, build_discriminator),
    "vanilla": (build_vanilla_generator, build_vanilla_discriminator),
}


def is_conditional(model: keras.Model) -> bool:
    """A conditional network takes the digit as a second input."""
    return len(model.inputs) == 2


def latent_size(generator: keras.Model) -> int:
    """The length of a generator's noise input, conditional or not."""
    return generator.inputs[0].shape[-1]


class ModelFileError(Exception):
    """A model file that is missing, corrupt, or not the network asked for."""


def load_keras_model(path) -> keras.Model:
    """A saved .keras model, or a one-line ModelFileError."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"{path}: no such file")
    try:
        return keras.models.load_model(path, compile=False)
    except Exception as error:  # Keras raises many types for a bad file; all mean "not loadable"
        raise ModelFileError(f"{path}: not a loadable Keras model ({first_line(error)})") from None


def load_generator(path) -> keras.Model:
    """A saved generator, in float32 whatever precision it was trained in.

    A mixed-precision generator computes in bfloat16 or float16, which exporters and onnxruntime's
    CPU kernels handle badly; its weights are float32 anyway, so the float32 twin loses nothing.
    """
    generator = load_keras_model(path)
    noise_shape = tuple(generator.inputs[0].shape)
    digit_ok = not is_conditional(generator) or tuple(generator.inputs[1].shape) == (None,)
    if len(noise_shape) != 2 or not digit_ok or tuple(generator.output_shape[1:]) != IMAGE_SHAPE:
        raise ModelFileError(
            f"{path}: not a digit generator (input {generator.input_shape}, output {generator.output_shape}; "
            "expected (N, latent) noise [and (N,) digit] -> (N, 28, 28, 1))"
        )
    return as_float32(generator)


def as_float32(model: keras.Model) -> keras.Model:
    """The same network and weights with every layer computing in float32."""
    if all(layer.dtype_policy.name == "float32" for layer in model._flatten_layers()):
        return model

    def float32_layer(layer):
        return layer.__class__.from_config({**layer.get_config(), "dtype": "float32"})

    def float32_layer_or_model(layer):  # a conditional generator nests the seed network
        if isinstance(layer, keras.Model):
            return keras.models.clone_model(layer, clone_function=float32_layer)
        return float32_layer(layer)

    twin = keras.models.clone_model(model, clone_function=float32_layer_or_model)
    twin.set_weights(model.get_weights())
    return twin
