import numpy as np
import pytest

pytestmark = pytest.mark.tensorflow
pytest.importorskip("tensorflow", reason="needs the training side: pip install -e '.[dev]'")

from train.models import (MODELS, build_conditional_discriminator, build_conditional_generator, build_discriminator,  # noqa: E402
                          build_generator, build_vanilla_discriminator, build_vanilla_generator, is_conditional)


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


def test_conditional_networks_are_the_seed_ones_with_a_digit_input():
    generator = build_conditional_generator(100)
    # the seed generator with 10 more Dense inputs (10 x 12,544) and a frozen 10 x 10 one-hot table
    assert generator.count_params() == 2_330_944 + 125_440 + 100
    assert count(generator.trainable_weights) == 2_305_472 + 125_440
    assert generator.input_shape == [(None, 100), (None,)] and generator.output_shape == (None, 28, 28, 1)
    noise = np.repeat(np.random.default_rng(0).standard_normal((1, 100), dtype=np.float32), 10, axis=0)
    images = np.asarray(generator([noise, np.arange(10, dtype=np.int32)], training=False))
    assert np.all(np.abs(images) <= 1.0) and not np.allclose(images[0], images[1])  # the digit matters

    discriminator = build_conditional_discriminator()
    # the seed discriminator's first conv sees 11 channels (image + 10 one-hot planes) instead of 1
    assert discriminator.count_params() == 212_865 + 5 * 5 * 10 * 64 + 100
    assert discriminator.output_shape == (None, 1)
    assert is_conditional(generator) and is_conditional(discriminator)
    assert not is_conditional(build_generator(100))


def test_a_mixed_precision_generator_loads_as_float32(tmp_path):
    import keras

    from train.models import load_generator

    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        mixed = build_conditional_generator(100)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    mixed.save(tmp_path / "generator.keras")
    loaded = load_generator(tmp_path / "generator.keras")
    assert {layer.dtype_policy.name for layer in loaded._flatten_layers()} == {"float32"}
    inputs = [np.random.default_rng(0).standard_normal((8, 100), dtype=np.float32), np.arange(8, dtype=np.int32)]
    assert np.abs(loaded.predict(inputs, verbose=0) - mixed.predict(inputs, verbose=0)).max() < 0.05


def test_vanilla_networks_are_the_documents_fully_connected_gan():
    generator = build_vanilla_generator(100)
    assert generator.count_params() == 1_493_520
    assert [type(layer).__name__ for layer in generator.layers[:3]] == ["Dense", "LeakyReLU", "BatchNormalization"]
    assert generator.layers[2].momentum == 0.8 and generator.layers[1].negative_slope == 0.2
    images = generator(np.random.default_rng(0).standard_normal((3, 100)), training=False)
    assert images.shape == (3, 28, 28, 1) and np.all(np.abs(images) <= 1.0)
    discriminator = build_vanilla_discriminator()
    assert discriminator.count_params() == 533_505
    assert discriminator.input_shape == (None, 28, 28, 1) and discriminator.output_shape == (None, 1)


def test_no_discriminator_has_batch_norm():
    """Batch norm in a critic mixes the samples and breaks WGAN-GP's per-sample gradient penalty."""
    for _, build_discriminator_of in MODELS.values():
        names = {type(layer).__name__ for layer in build_discriminator_of()._flatten_layers()}
        assert "BatchNormalization" not in names


def test_the_catalog_names_every_model_and_loss_the_tables_build():
    from train import catalog
    from train.config import TrainConfig
    from train.losses import LOSSES

    assert set(catalog.MODELS) == set(MODELS) and set(catalog.LOSSES) == set(LOSSES)
    assert TrainConfig().model in MODELS and TrainConfig().loss in LOSSES
    filled = TrainConfig(loss="wgan-gp").with_loss_defaults()
    assert (filled.lr, filled.beta1, filled.beta2) == (1e-4, 0.0, 0.9)
    assert TrainConfig(loss="wgan-gp", lr=3e-4).with_loss_defaults().lr == 3e-4
