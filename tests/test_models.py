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


def test_a_mixed_precision_generator_loads_as_float32(tmp_path):
    import keras

    from train.models import load_generator

    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        mixed = build_generator(100)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    mixed.save(tmp_path / "generator.keras")
    loaded = load_generator(tmp_path / "generator.keras")
    assert {layer.dtype_policy.name for layer in loaded.layers} == {"float32"}
    latents = np.random.default_rng(0).standard_normal((8, 100), dtype=np.float32)
    assert np.abs(loaded.predict(latents, verbose=0) - mixed.predict(latents, verbose=0)).max() < 0.05
