import numpy as np

from train.models import build_discriminator, build_generator


def count(weights):
    return sum(int(np.prod(w.shape)) for w in weights)


def test_generator_matches_the_seed_design():
    generator = build_generator(100)
    assert generator.count_params() == 2_330_944
    assert count(generator.trainable_weights) == 2_305_472
    assert generator.input_shape == (None, 100)
    assert generator.output_shape == (None, 28, 28, 1)
    images = generator(np.random.default_rng(0).standard_normal((3, 100)), training=False)
    assert np.all(np.abs(images) <= 1.0)


def test_discriminator_matches_the_seed_design():
    discriminator = build_discriminator()
    assert discriminator.count_params() == 212_865
    assert discriminator.input_shape == (None, 28, 28, 1)
    assert discriminator.output_shape == (None, 1)
