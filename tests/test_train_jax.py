"""Training through Keras's JAX backend: the same step as on TensorFlow, no TensorFlow imported, the
same run folder and resume, and .keras files that either backend loads and export converts.

Each JAX run is a child process (the backend is fixed when Keras is imported), so this file runs
both in the dev install (TensorFlow and JAX; the test process itself on TensorFlow) and in a
`jax`-extra install without TensorFlow (.ci/run), where the comparisons with TensorFlow skip.
"""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("jax", reason="JAX is not installed (the jax extra)")
import h5py  # noqa: E402  (Keras's dependency)

from tests.helpers import ROOT, checkout_env, fake_digits, importable  # noqa: E402
from train.report import read_history  # noqa: E402

HERE = Path(__file__).resolve().parent
needs_tensorflow = pytest.mark.skipif(not importable("tensorflow"), reason="TensorFlow is not installed")


def run_on(backend, args, cwd=None, **env):
    """python ARGS with KERAS_BACKEND=backend, from a checkout; fails the test on a non-zero exit."""
    env = {**checkout_env(), "KERAS_BACKEND": backend, **env}
    result = subprocess.run([sys.executable, *map(str, args)], capture_output=True, text=True, env=env,
                            cwd=cwd, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def train_on_jax(*args, **env):
    """python -m train ARGS on JAX; the child exits 3 if anything imported TensorFlow or tf2onnx."""
    return run_on("jax", [HERE / "train_without_tensorflow.py", *args], cwd=ROOT, **env)


@needs_tensorflow
@pytest.mark.parametrize("loss", ["bce", "wgan-gp"])
def test_a_jax_step_equals_a_tensorflow_step(tmp_path, loss):
    """From the same weights and inputs, one step (wgan-gp: five critic steps with the gradient
    penalty, then the generator's) leaves the same weights, batch-norm statistics and average."""
    steps = {}
    for backend in ("tensorflow", "jax"):
        run_on(backend, [HERE / "one_gan_step.py", loss, tmp_path / f"{backend}.npz"])
        steps[backend] = np.load(tmp_path / f"{backend}.npz")
    tensorflow, jax = steps["tensorflow"], steps["jax"]
    for key in tensorflow.files:
        np.testing.assert_allclose(jax[key], tensorflow[key], rtol=1e-4, atol=2e-5, err_msg=key)
    # the comparison has teeth: the step moved both networks far more than the tolerance
    for network in ("g", "d"):
        keys = [key for key in jax.files if key.startswith(f"{network}_")]  # g_0, g_1, ...
        assert max(np.abs(jax[key] - jax[f"before_{key}"]).max() for key in keys) > 2e-3


@pytest.fixture(scope="module")
def jax_run(tmp_path_factory):
    """A conditional run on JAX: one epoch, then resumed to two."""
    folder = tmp_path_factory.mktemp("jax")
    x_train, y_train = fake_digits(128, seed=1)
    x_test, y_test = fake_digits(32, seed=2)
    np.savez(folder / "mnist.npz", x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    common = ["--data", folder / "mnist.npz", "--batch-size", "32", "--out", folder / "run"]
    first = train_on_jax(*common, "--epochs", "1")
    train_on_jax(*common, "--epochs", "2", "--resume")
    return folder / "run", first.stdout


def test_jax_trains_the_conditional_model_without_tensorflow_and_resumes(jax_run):
    run, first = jax_run
    assert "Keras jax backend" in first and "CPU" in first
    for name in ("generator.keras", "discriminator.keras", "config.json", "losses.png", "progress.gif",
                 "samples/epoch_0001.png", "samples/epoch_0002.png"):
        assert (run / name).is_file(), name
    history = read_history(run / "history.csv")
    assert history["epoch"] == [1, 2] and all(np.isfinite(history["d_loss"] + history["g_loss"]))
    # the resumed run trained one more epoch of 4 steps from the first one's optimizer state
    with h5py.File(run / "checkpoint" / "latest.weights.h5") as checkpoint:
        for optimizer in ("g_optimizer", "d_optimizer"):
            assert int(checkpoint[f"{optimizer}/vars/0"][()]) == 2 * (128 // 32)
    assert json.loads((run / "config.json").read_text())["model"] == "cdcgan"


def test_data_parallel_over_two_devices_trains_as_one_device_does(jax_run, tmp_path):
    """keras.distribution.DataParallel, on two CPU devices that XLA makes for the test: each batch
    split over both, the same losses as the one-device run."""
    run = jax_run[0]
    result = train_on_jax("--data", run.parent / "mnist.npz", "--batch-size", "32", "--epochs", "1",
                          "--out", tmp_path / "run", XLA_FLAGS="--xla_force_host_platform_device_count=2")
    assert "2 devices" in result.stdout and "DataParallel" in result.stdout
    one, two = read_history(run / "history.csv"), read_history(tmp_path / "run" / "history.csv")
    np.testing.assert_allclose([two["d_loss"][0], two["g_loss"][0]], [one["d_loss"][0], one["g_loss"][0]], rtol=1e-4)


def test_a_generator_trained_on_jax_loads_here_and_computes_the_same(jax_run, tmp_path):
    """Saved under JAX, loaded by this process's backend (TensorFlow in the dev install)."""
    from train.models import load_generator

    run = jax_run[0]
    script = ("import sys, numpy as np; from train.models import load_generator\n"
              "g = load_generator(sys.argv[1]); z = np.random.default_rng(0).standard_normal((10, 100), 'float32')\n"
              "np.save(sys.argv[2], np.asarray(g.predict([z, np.arange(10, dtype='int32')], verbose=0)))\n")
    run_on("jax", ["-c", script, run / "generator.keras", tmp_path / "jax.npy"])
    generator = load_generator(run / "generator.keras")
    noise = np.random.default_rng(0).standard_normal((10, 100), "float32")
    here = generator.predict([noise, np.arange(10, dtype="int32")], verbose=0)
    np.testing.assert_allclose(here, np.load(tmp_path / "jax.npy"), atol=1e-5)
    assert here.std() > 0.01  # a trained generator, not a constant


@needs_tensorflow
@pytest.mark.skipif(not importable("tf2onnx"), reason="the export extra is not installed")
def test_export_converts_a_generator_trained_on_jax_with_onnx_parity(jax_run, tmp_path):
    import export.export as exporting

    report = exporting.export(jax_run[0] / "generator.keras", tmp_path / "out", echo=lambda text: None,
                              classifier_path=ROOT / "artifacts" / "classifier.keras")
    onnx_checks = [check for check in report["checks"] if check["model"] == "onnx" and check["threshold"]]
    assert onnx_checks and all(check["passed"] for check in onnx_checks), onnx_checks


@pytest.mark.parametrize("model, loss", [("vanilla", "bce"), ("dcgan", "wgan-gp")])
def test_every_model_and_loss_trains_on_jax(tmp_path, mnist_npz, model, loss):
    """With the run options that touch the training loop: the average, shorter epochs, quality."""
    result = train_on_jax("--data", mnist_npz, "--model", model, "--loss", loss, "--batch-size", "16",
                          "--limit", "128", "--epochs", "2", "--images-per-epoch", "96", "--ema", "0.9",
                          "--eval-every", "2", "--eval-samples", "32", "--out", tmp_path / "run")
    assert f"training {model} ({loss})" in result.stdout
    history = read_history(tmp_path / "run" / "history.csv")
    assert history["epoch"] == [1, 2] and all(np.isfinite(history["d_loss"] + history["g_loss"]))
    assert read_history(tmp_path / "run" / "quality.csv")["epoch"] == [2]  # eval every 2: after epoch 2
