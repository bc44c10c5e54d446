"""One training run: data, models, callbacks, fit(), and the run's saved outputs."""

import contextlib
import sys
from pathlib import Path

import keras

from digitgen.atomic import atomic_path
from digitgen.quiet import native_chatter_silenced
from train.backend_steps import BACKEND_STEPS
from train.batches import ShuffledBatches
from train.callbacks import (HistoryLog, InterruptSafeBackup, QualityLog, SampleGrid, Throughput, TimeBudget,
                             grid_inputs)
from train.classifier import load_classifier
from train.config import TrainConfig
from train.console import fit_verbosity
from train.data import load_mnist, make_dataset
from train.device import PLACEMENTS, pick_placement, use_mixed_precision
from train.evaluation import Evaluator
from train.gan import GAN
from train.losses import LOSSES
from train.models import MODELS
from train.quality_plots import plot_quality
from train.report import hours_by_epoch, make_gif, number_epochs_from_one, plot_losses, read_history

CONFIG_FILE = "config.json"
HISTORY_FILE = "history.csv"
CHECKPOINT_DIR = "checkpoint"
SAMPLES_DIR = "samples"
QUALITY_FILE = "quality.csv"


class RunError(Exception):
    """A run that cannot start as asked (an occupied folder, nothing to resume, too little data)."""


def prepare_run(config: TrainConfig, out_dir: Path, resume: bool) -> TrainConfig:
    """Check the run folder; on resume, return the saved settings with the new epoch count."""
    checkpoint = out_dir / CHECKPOINT_DIR
    if resume:
        if not (out_dir / CONFIG_FILE).is_file() or not checkpoint.is_dir():
            raise RunError(f"{out_dir}: no run to resume (no {CONFIG_FILE} and {CHECKPOINT_DIR}/)")
        saved = TrainConfig.load(out_dir / CONFIG_FILE)
        if (out_dir / HISTORY_FILE).is_file() and number_epochs_from_one(out_dir / HISTORY_FILE, out_dir / QUALITY_FILE):
            print(f"{out_dir}: history.csv and quality.csv renumbered from epoch 1, as the sample grids are")
        saved.epochs, saved.data = config.epochs, config.data or saved.data
        if config.eval_every:  # given again: a new cadence; else the run keeps its own
            saved.eval_every, saved.eval_samples = config.eval_every, config.eval_samples
        return saved
    if (out_dir / CONFIG_FILE).exists() or checkpoint.exists():
        raise RunError(f"{out_dir} already holds a run: add --resume to continue it, or pick another --out")
    return config


def train(config: TrainConfig, out_dir: Path, resume: bool = False, verbose=None):
    """Train (or continue) the GAN into out_dir; returns the Keras History. verbose: fit()'s;
    by default a progress bar on a terminal, one line an epoch elsewhere (no escape codes in a log)."""
    if verbose is None:
        verbose = fit_verbosity()
    config = prepare_run(config, out_dir, resume)
    check_names(config)
    loss, config = LOSSES[config.loss], config.with_loss_defaults()
    images_per_step = config.batch_size * loss.critic_steps
    images, labels = load_mnist(config.data, "train", config.limit)
    if len(images) < images_per_step:
        raise RunError(f"a step takes {images_per_step} images (batch {config.batch_size} x {loss.critic_steps} "
                       f"critic steps), more than the {len(images)} training images")

    # Before anything is written: a missing classifier must not leave a half-made run folder.
    judge = quality_judge(config, images) if config.eval_every else None

    set_random_seed(config.seed)
    with native_chatter_silenced():  # TensorFlow's first device query prints CUDA probing lines
        placement = pick_placement()
    if config.batch_size % placement.replicas:
        raise RunError(f"--batch-size {config.batch_size} does not split over {placement.replicas} devices")
    policy = use_mixed_precision(config.mixed_precision, placement)
    print(f"training {config.model} ({config.loss}) on {placement.description}, Keras {keras.backend.backend()} "
          f"backend{f', {policy}' if policy else ''}: "
          f"{len(images)} images, batch {config.batch_size}, epochs {config.epochs}"
          f"{f', generator average decay {config.ema}' if config.ema else ''}"
          f"{f', a budget of {config.budget_hours:g} h' if config.budget_hours else ''}")
    with placement.scope():
        gan = build_gan(config, loss, loss_scaling=policy == "mixed_float16")

    out_dir.mkdir(parents=True, exist_ok=True)
    config.save(out_dir / CONFIG_FILE)
    dataset, steps = make_dataset(images, labels, images_per_step, config.seed, config.images_per_epoch)
    history = gan.fit(
        dataset,
        epochs=config.epochs,
        steps_per_epoch=steps,
        callbacks=run_callbacks(gan, config, out_dir, images_per_step, judge, dataset),
        shuffle=False,  # the pipeline shuffles
        verbose=verbose,
    )
    save_outputs(gan, out_dir, config.model)
    return history


def check_names(config):
    """RunError for a backend, model or loss this code cannot train (a config.json edited by hand)."""
    backend = keras.backend.backend()
    if backend not in BACKEND_STEPS or backend not in PLACEMENTS:
        raise RunError(f"Keras's {backend} backend cannot train these GANs: set KERAS_BACKEND to tensorflow or jax")
    if config.model not in MODELS:
        raise RunError(f"unknown model {config.model!r}: choose from {', '.join(MODELS)}")
    if config.loss not in LOSSES:
        raise RunError(f"unknown loss {config.loss!r}: choose from {', '.join(LOSSES)}")


def build_gan(config, loss, loss_scaling=False):
    """The model table's networks as one compiled GAN, each network with an Adam of its own."""
    build_generator, build_discriminator = MODELS[config.model]
    gan = GAN(build_generator(config.latent_dim), build_discriminator(), config.latent_dim, seed=config.seed,
              ema_decay=config.ema)
    gan.compile(d_optimizer=_adam(config, loss_scaling), g_optimizer=_adam(config, loss_scaling), loss=loss)
    return gan


def run_callbacks(gan, config, out_dir, images_per_step, judge, dataset):
    """What fit() does at each epoch's end: images/s, the sample grid, the history row, the time
    budget, the quality row, and last the checkpoint."""
    callbacks = [
        Throughput(images_per_step),
        SampleGrid(gan.sampler, *grid_inputs(gan.generator, config.grid_size, config.latent_dim),
                   out_dir=out_dir / SAMPLES_DIR),
        HistoryLog(str(out_dir / HISTORY_FILE), append=True),
    ]
    if isinstance(dataset, ShuffledBatches):  # batches follow fit()'s epoch, a resumed one's too
        callbacks.insert(0, keras.callbacks.LambdaCallback(on_epoch_begin=dataset.start_epoch))
    if config.budget_hours:
        callbacks.append(TimeBudget(config.budget_hours, training_seconds(out_dir)))
    if judge:
        callbacks.append(QualityLog(gan.sampler, *judge, config.eval_every, config.eval_samples, out_dir / QUALITY_FILE))
    # Restores weights, both optimizers' state and the epoch; kept after the run ends, so a finished
    # run can be extended with a larger --epochs. Last in the list, so an epoch counts as done only
    # once its row and grid are on disk: a Ctrl-C in between reruns the epoch (its rows are then
    # repeated, and read_history keeps the last) instead of losing them.
    callbacks.append(InterruptSafeBackup(
        str(out_dir / CHECKPOINT_DIR), delete_checkpoint=False, double_checkpoint=True))
    return callbacks


def set_random_seed(seed):
    """keras.utils.set_random_seed, which also imports TensorFlow to seed it wherever TensorFlow is
    installed (for tf.data). Off the TensorFlow backend nothing uses it, and the JAX path imports
    no TensorFlow: Keras is shown it as absent (None in sys.modules) for that call."""
    hide = keras.backend.backend() != "tensorflow" and "tensorflow" not in sys.modules
    with _absent("tensorflow") if hide else contextlib.nullcontext():
        keras.utils.set_random_seed(seed)


@contextlib.contextmanager
def _absent(module):
    sys.modules[module] = None  # `import module` raises ImportError
    try:
        yield
    finally:
        del sys.modules[module]


def quality_judge(config, train_images):
    """For --eval-every: the cached classifier with the test set judged once, and the real-data floor."""
    evaluator = Evaluator(load_classifier(), *load_mnist(config.data, "test"))
    return evaluator, evaluator.floor(train_images, config.eval_samples)


def training_seconds(out_dir: Path) -> float:
    """Seconds of training the run's completed epochs took (evaluations not counted)."""
    if not (out_dir / HISTORY_FILE).is_file():
        return 0.0
    return 3600 * max(hours_by_epoch(read_history(out_dir / HISTORY_FILE)).values(), default=0.0)


def save_outputs(gan: GAN, out_dir: Path, model_name: str):
    """The networks as plain .keras files (the generator: its weight average, when there is one),
    the loss plot and the progress GIF."""
    for name, model in (("generator", gan.sampler), ("discriminator", gan.discriminator)):
        with atomic_path(out_dir / f"{name}.keras") as tmp:
            model.save(tmp)
    if (out_dir / HISTORY_FILE).is_file():
        plot_losses(out_dir / HISTORY_FILE, out_dir / "losses.png", title=f"{model_name} losses")
    if (out_dir / QUALITY_FILE).is_file():
        plot_quality_over_training(out_dir)
    make_gif(sorted((out_dir / SAMPLES_DIR).glob("epoch_*.png")), out_dir / "progress.gif")


def plot_quality_over_training(out_dir: Path):
    """quality.png: FID and Inception Score against hours of training (from the history's epoch times)."""
    elapsed = hours_by_epoch(read_history(out_dir / HISTORY_FILE))
    quality = read_history(out_dir / QUALITY_FILE)
    hours = [elapsed.get(epoch, float("nan")) for epoch in quality["epoch"]]
    floor = {"fid": quality["floor_fid"][-1], "inception_score": quality["floor_inception_score"][-1]}
    plot_quality(quality, hours, floor, out_dir / "quality.png")


def _adam(config, loss_scaling):
    optimizer = keras.optimizers.Adam(learning_rate=config.lr, beta_1=config.beta1, beta_2=config.beta2)
    return keras.optimizers.LossScaleOptimizer(optimizer) if loss_scaling else optimizer
