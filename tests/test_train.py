import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

pytestmark = pytest.mark.tensorflow
pytest.importorskip("tensorflow", reason="needs the training side: pip install -e '.[dev]'")

import keras  # noqa: E402

from tests.helpers import checkout_env, sigint_as_in_a_terminal  # noqa: E402
from train.config import TrainConfig  # noqa: E402
from train.interrupts import interrupts_deferred  # noqa: E402
from train.report import read_history  # noqa: E402
from train.train import RunError, train  # noqa: E402


def tiny_config(data, **overrides):
    settings = dict(data=str(data), epochs=2, batch_size=64, limit=256, seed=7, grid_size=16)
    settings.update(overrides)
    return TrainConfig(**settings)


@pytest.mark.parametrize("model, grid_size", [("cdcgan", (302, 32)), ("dcgan", (122, 122))])
def test_tiny_run_writes_every_output(tmp_path, mnist_npz, model, grid_size):
    out = tmp_path / "run"
    train(tiny_config(mnist_npz, model=model), out, verbose=0)

    config = json.loads((out / "config.json").read_text())
    assert config["epochs"] == 2 and config["batch_size"] == 64 and config["seed"] == 7
    assert config["model"] == model and config["ema"] == 0.999
    history = read_history(out / "history.csv")
    assert history["epoch"] == [1, 2]  # numbered as the sample grids are
    assert not any(key.startswith("val_") for key in history)
    assert all(np.isfinite(history["d_loss"])) and all(np.isfinite(history["g_loss"]))
    assert all(rate > 0 for rate in history["images_per_s"])
    for epoch in (1, 2):  # cdcgan: one row of digits 0-9 (16 // 10 rows); dcgan: a 4 x 4 square
        assert Image.open(out / "samples" / f"epoch_{epoch:04d}.png").size == grid_size
    assert Image.open(out / "losses.png").format == "PNG"
    gif = Image.open(out / "progress.gif")
    assert gif.is_animated and gif.n_frames == 2

    generator = keras.models.load_model(out / "generator.keras")  # no custom objects needed
    noise = np.zeros((2, 100), np.float32)
    images = generator.predict([noise, np.array([3, 4], np.int32)] if model == "cdcgan" else noise, verbose=0)
    assert images.shape == (2, 28, 28, 1) and np.abs(images).max() <= 1.0
    assert keras.models.load_model(out / "discriminator.keras").output_shape == (None, 1)


def same_weights(a, b):
    return all(np.array_equal(x, y) for x, y in zip(a.get_weights(), b.get_weights()))


def test_the_saved_generator_is_the_weight_average_and_resume_keeps_it(tmp_path, mnist_npz):
    out = tmp_path / "run"
    gan = train(tiny_config(mnist_npz, epochs=1, ema=0.9), out, verbose=0).model
    saved = keras.models.load_model(out / "generator.keras")
    assert same_weights(saved, gan.ema_generator)
    assert not same_weights(saved, gan.generator)  # the raw weights were not what got saved
    # batch-norm moving statistics are averaged too, not copied from the raw generator
    moving = [i for i, w in enumerate(gan.generator.weights) if "moving" in w.path]
    assert moving and not all(np.array_equal(gan.generator.weights[i].numpy(), saved.weights[i].numpy())
                              for i in moving)

    # Resuming with no epoch left: the average comes back from the checkpoint, not from the raw weights.
    (out / "generator.keras").unlink()
    resumed = train(tiny_config(mnist_npz, epochs=1), out, resume=True, verbose=0).model
    assert same_weights(keras.models.load_model(out / "generator.keras"), saved)
    assert same_weights(resumed.ema_generator, gan.ema_generator)


def test_average_update_follows_the_decay_after_warm_up(mnist_npz):
    from train.gan import GAN
    from train.losses import LOSSES
    from train.models import build_conditional_discriminator, build_conditional_generator

    gan = GAN(build_conditional_generator(), build_conditional_discriminator(), ema_decay=0.9)
    gan.compile(keras.optimizers.Adam(), keras.optimizers.Adam(), LOSSES["bce"])
    gan.g_optimizer.iterations.assign(1000)  # past warm-up: the decay is 0.9
    for average, weight in zip(gan.ema_generator.weights, gan.generator.weights):
        average.assign(np.zeros(average.shape))
        weight.assign(np.ones(weight.shape))
    gan._update_average()
    assert all(np.allclose(w.numpy(), 0.1) for w in gan.ema_generator.weights)
    gan.g_optimizer.iterations.assign(0)  # the first step: (1 + 0) / (10 + 0) = 0.1, mostly the new weights
    gan._update_average()
    assert all(np.allclose(w.numpy(), 0.1 * 0.1 + 0.9) for w in gan.ema_generator.weights)


def test_without_average_the_generator_itself_is_saved(tmp_path, mnist_npz):
    gan = train(tiny_config(mnist_npz, epochs=1, ema=0.0), tmp_path / "run", verbose=0).model
    assert gan.ema_generator is None
    assert same_weights(keras.models.load_model(tmp_path / "run" / "generator.keras"), gan.generator)


def test_a_run_folder_is_never_clobbered_and_resume_needs_a_run(tmp_path, mnist_npz):
    out = tmp_path / "run"
    train(tiny_config(mnist_npz, epochs=1), out, verbose=0)
    with pytest.raises(RunError, match="already holds a run"):
        train(tiny_config(mnist_npz, epochs=1), out, verbose=0)
    with pytest.raises(RunError, match="no run to resume"):
        train(tiny_config(mnist_npz), tmp_path / "empty", resume=True, verbose=0)


def test_same_seed_same_first_epoch_losses(tmp_path, mnist_npz):
    def first_epoch(name, seed):
        train(tiny_config(mnist_npz, epochs=1, seed=seed), tmp_path / name, verbose=0)
        history = read_history(tmp_path / name / "history.csv")
        return history["d_loss"][0], history["g_loss"][0]

    first = first_epoch("a", seed=3)
    np.testing.assert_allclose(first_epoch("b", seed=3), first, rtol=1e-6)
    assert not np.allclose(first_epoch("c", seed=4), first, rtol=1e-6)


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "kill"])
def test_ctrl_c_or_kill_leaves_a_run_that_resumes_with_optimizer_state(tmp_path, mnist_npz, stop):
    out = tmp_path / "run"
    command = [sys.executable, "-m", "train", "--data", str(mnist_npz), "--limit", "256",
               "--batch-size", "64", "--epochs", "500", "--out", str(out)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=checkout_env(), preexec_fn=sigint_as_in_a_terminal)
    metadata = out / "checkpoint" / "training_metadata.json"
    deadline = time.monotonic() + 120
    while not metadata.exists() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.2)
    assert metadata.exists(), process.stderr.read() if process.poll() is not None else "no checkpoint"
    time.sleep(1.0)  # interrupt somewhere in the middle of a later epoch
    process.send_signal(stop)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130 and "--resume" in stderr and "Traceback" not in stderr
    assert "Epoch 1/500" in stdout and "\x1b" not in stdout and "\r" not in stdout  # a log, not a progress bar

    done = json.loads(metadata.read_text())["epoch"]  # epochs the checkpoint holds
    assert done >= 1 and len(read_history(out / "history.csv")["epoch"]) >= done  # no row lost
    history = train(tiny_config(mnist_npz, epochs=done + 1), out, resume=True, verbose=0)
    assert history.epoch == [done]  # only the missing epoch ran
    assert read_history(out / "history.csv")["epoch"] == list(range(1, done + 2))
    steps_per_epoch = 256 // 64
    gan = history.model
    assert int(gan.g_optimizer.iterations.numpy()) == (done + 1) * steps_per_epoch
    assert int(gan.d_optimizer.iterations.numpy()) == (done + 1) * steps_per_epoch


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "kill"])
def test_a_stop_during_a_checkpoint_waits_for_it_to_finish(stop):
    terminal = signal.signal(signal.SIGINT, signal.default_int_handler)  # a background pytest ignores it
    try:
        before = signal.getsignal(stop)
        finished = False
        with pytest.raises(KeyboardInterrupt):
            with interrupts_deferred():
                os.kill(os.getpid(), stop)
                time.sleep(0.05)
                finished = True  # not torn in the middle
        assert finished
        assert signal.getsignal(stop) is before
    finally:
        signal.signal(signal.SIGINT, terminal)


@pytest.mark.parametrize("model, loss", [("vanilla", "bce"), ("dcgan", "wgan-gp"), ("cdcgan", "wgan-gp")])
def test_every_model_trains_with_either_loss(tmp_path, mnist_npz, model, loss):
    out = tmp_path / "run"
    # wgan-gp: a step takes 5 critic batches of 16 (80 images): 3 generator steps an epoch of 256
    train(tiny_config(mnist_npz, model=model, loss=loss, epochs=1, batch_size=16, ema=0), out, verbose=0)
    config = json.loads((out / "config.json").read_text())
    assert config["loss"] == loss
    expected = (1e-4, 0.0) if loss == "wgan-gp" else (2e-4, 0.5)  # the paper's Adam, unless asked
    assert (config["lr"], config["beta1"]) == expected
    history = read_history(out / "history.csv")
    assert all(np.isfinite(history["d_loss"])) and all(np.isfinite(history["g_loss"]))
    assert keras.models.load_model(out / "generator.keras").output_shape == (None, 28, 28, 1)


def test_a_wgan_step_makes_five_critic_updates_per_generator_update(mnist_npz):
    from train.gan import GAN
    from train.losses import LOSSES
    from train.models import build_discriminator, build_generator

    gan = GAN(build_generator(), build_discriminator())
    gan.compile(keras.optimizers.Adam(1e-4), keras.optimizers.Adam(1e-4), LOSSES["wgan-gp"])
    images = np.random.default_rng(0).uniform(-1, 1, (5 * 8, 28, 28, 1)).astype("float32")
    gan.fit(images, np.zeros(5 * 8, "int32"), batch_size=5 * 8, epochs=1, verbose=0)
    assert int(gan.d_optimizer.iterations) == 5 and int(gan.g_optimizer.iterations) == 1


def test_gradient_penalty_of_a_linear_critic_is_known():
    """A linear critic's gradient is its weight vector w everywhere: the penalty is (|w| - 1)^2,
    whatever the images; a 1-Lipschitz one (|w| = 1) pays nothing."""
    from train.gan import gradient_penalty

    rng = np.random.default_rng(0)
    real, fake = (rng.uniform(-1, 1, (6, 28, 28, 1)).astype("float32") for _ in range(2))
    for norm, expected in ((3.0, 4.0), (1.0, 0.0), (0.5, 0.25)):
        critic = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(1)])
        w = rng.standard_normal((784, 1)).astype("float32")
        critic.layers[-1].set_weights([w * norm / np.linalg.norm(w), np.zeros(1, "float32")])
        assert float(gradient_penalty(critic, real, fake)) == pytest.approx(expected, abs=1e-4)


def test_wasserstein_losses():
    from train.losses import LOSSES

    wgan = LOSSES["wgan-gp"]
    real, fake = np.array([[2.0], [4.0]], "float32"), np.array([[-1.0], [0.0]], "float32")
    assert float(wgan.discriminator(real, fake)) == pytest.approx(-0.5 - 3.0)
    assert float(wgan.generator(fake)) == pytest.approx(0.5)
    bce = LOSSES["bce"]
    assert float(bce.discriminator(real, fake)) == pytest.approx(
        float(keras.losses.BinaryCrossentropy(from_logits=True)(np.ones_like(real), real))
        + float(keras.losses.BinaryCrossentropy(from_logits=True)(np.zeros_like(fake), fake)), rel=1e-5)


def test_a_time_budget_stops_short_epochs_and_resume_knows_the_time_spent(tmp_path, mnist_npz):
    out = tmp_path / "run"
    config = tiny_config(mnist_npz, model="dcgan", ema=0, epochs=50, images_per_epoch=64, budget_hours=1e-9)
    train(config, out, verbose=0)
    history = read_history(out / "history.csv")
    assert history["epoch"] == [1]  # one epoch of one 64-image step, then the budget was spent
    assert (out / "generator.keras").is_file()


def test_a_backend_that_cannot_train_is_refused_before_anything_is_written(tmp_path, mnist_npz, monkeypatch):
    monkeypatch.setattr(keras.backend, "backend", lambda: "torch")
    with pytest.raises(RunError, match="set KERAS_BACKEND to tensorflow or jax"):
        train(tiny_config(mnist_npz), tmp_path / "run", verbose=0)
    assert not (tmp_path / "run").exists()


def test_python_m_train_on_a_backend_that_cannot_train_is_one_line_exit_2(tmp_path, mnist_npz):
    env = {**checkout_env(), "KERAS_BACKEND": "torch"}
    result = subprocess.run([sys.executable, "-m", "train", "--data", str(mnist_npz), "--out", str(tmp_path / "run")],
                            capture_output=True, text=True, env=env)
    assert result.returncode == 2 and result.stdout == "" and not (tmp_path / "run").exists()
    assert result.stderr.strip().splitlines() == [
        "error: Keras's torch backend cannot train these GANs: set KERAS_BACKEND to tensorflow or jax"]
    # its help needs no backend at all
    assert subprocess.run([sys.executable, "-m", "train", "--help"], capture_output=True, env=env).returncode == 0


def test_a_run_numbered_from_0_is_renumbered_from_1_once(tmp_path):
    from train.report import number_epochs_from_one

    history, quality = tmp_path / "history.csv", tmp_path / "quality.csv"
    history.write_text("epoch,d_loss,epoch_seconds,g_loss,images_per_s,val_d_loss,val_epoch_seconds\n"
                       "0,1.3,400,0.7,150,NA,NA\n1,1.2,410,0.8,149,NA,NA\n")
    quality.write_text("epoch,fid\n1,3.5\n")
    assert number_epochs_from_one(history, quality)
    assert read_history(history) == {"epoch": [1, 2], "d_loss": [1.3, 1.2], "epoch_seconds": [400, 410],
                                     "g_loss": [0.7, 0.8], "images_per_s": [150, 149]}
    assert read_history(quality)["epoch"] == [2]
    assert not number_epochs_from_one(history, quality)  # already done: left alone
    assert read_history(quality)["epoch"] == [2]
