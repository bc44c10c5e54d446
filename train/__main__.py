"""`python -m train`: the command line over train.train; TensorFlow loads only once it is needed."""

from pathlib import Path

import click

from digitgen.cli_support import CONTEXT_SETTINGS, CommandError, run_command
from train import catalog
from train.config import TrainConfig
from train.interrupts import Interrupted

DEFAULTS = TrainConfig()
POSITIVE = click.IntRange(min=1)


@click.command(
    context_settings=CONTEXT_SETTINGS,
    epilog="Examples:\n\n\b\n  python -m train --data mnist.npz --epochs 60 --mixed-precision\n"
    "  python -m train --model dcgan --ema 0 --data mnist.npz   # the seed DCGAN, unconditional\n"
    "  python -m train --model dcgan --loss wgan-gp --data mnist.npz --budget-hours 1\n"
    "  python -m train --data mnist.npz --limit 512 --epochs 2 --out runs/quick\n"
    "  python -m train --out runs/quick --resume --epochs 10   # continue, or train more",
)
@click.option("--model", type=click.Choice(list(catalog.MODELS)), default=DEFAULTS.model, show_default=True,
              help=catalog.choices_help(catalog.MODELS) + ".")
@click.option("--loss", type=click.Choice(list(catalog.LOSSES)), default=DEFAULTS.loss, show_default=True,
              help=catalog.choices_help(catalog.LOSSES) + ".")
@click.option("--ema", type=click.FloatRange(0, 1, max_open=True), default=DEFAULTS.ema, show_default=True,
              help="Decay of the exponential moving average of the generator's weights, which draws "
                   "the samples and is saved as generator.keras; 0 turns it off.")
@click.option("--data", type=click.Path(dir_okay=True), default=None,
              help="Local MNIST: mnist.npz (Keras layout) or IDX files (a file or their folder). "
                   "Default: download with keras.datasets.mnist.")
@click.option("--epochs", type=POSITIVE, default=DEFAULTS.epochs, show_default=True,
              help="Total epochs; with --resume, a larger number trains that many more.")
@click.option("--batch-size", type=POSITIVE, default=DEFAULTS.batch_size, show_default=True,
              help="Images per discriminator step.")
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Adam learning rate of both networks. Default: the loss's ("
                   + ", ".join(f"{name} {entry.lr:g}" for name, entry in catalog.LOSSES.items()) + ").")
@click.option("--beta1", type=click.FloatRange(0, 1, max_open=True), default=None,
              help="Adam beta_1 of both networks. Default: the loss's ("
                   + ", ".join(f"{name} {entry.beta1:g}" for name, entry in catalog.LOSSES.items())
                   + "; beta_2: " + " and ".join(f"{entry.beta2:g}" for entry in catalog.LOSSES.values()) + ").")
@click.option("--latent-dim", type=POSITIVE, default=DEFAULTS.latent_dim, show_default=True,
              help="Size of the generator's noise input.")
@click.option("--limit", type=POSITIVE, default=None, help="Train on the first N images only.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("runs/gan"),
              show_default=True, help="Run folder: models, config, history, grids, checkpoints.")
@click.option("--resume", is_flag=True,
              help="Continue the run in --out from its last completed epoch, with its saved settings.")
@click.option("--seed", type=click.IntRange(min=0), default=DEFAULTS.seed, show_default=True,
              help="Seed for weights, noise, dropout and shuffling: same seed, same run.")
@click.option("--mixed-precision", is_flag=True,
              help="On a GPU: mixed_float16 (TensorFlow) or mixed_bfloat16 where it has it (JAX); "
                   "mixed_bfloat16 on a CPU with bfloat16 support; else float32.")
@click.option("--eval-every", type=POSITIVE, default=None,
              help="Every K epochs, judge --eval-samples fresh digits with the cached classifier "
                   "(FID, Inception Score, ...) into quality.csv and quality.png.")
@click.option("--eval-samples", type=click.IntRange(min=10), default=DEFAULTS.eval_samples, show_default=True,
              help="Digits generated for each --eval-every evaluation.")
@click.option("--images-per-epoch", type=POSITIVE, default=None,
              help="Make an epoch this many images (the data repeat) instead of one pass: finer "
                   "grids, checkpoints and --eval-every.")
@click.option("--budget-hours", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Stop after the first epoch that ends past this much training time (evaluations "
                   "not counted); --epochs stays the upper bound.")
def train_command(out, resume, **settings):
    """Train a GAN on MNIST and save generator.keras with its samples and history."""
    from train.extras import load_keras

    load_keras()
    from train.classifier import ClassifierError
    from train.data import DataError
    from train.interrupts import terminate_as_interrupt
    from train.train import RunError, train

    try:
        with terminate_as_interrupt():
            train(TrainConfig(**settings), out, resume=resume)
    except (DataError, RunError, ClassifierError) as error:
        raise CommandError(str(error)) from None
    except OSError as error:  # a full disk or an unwritable folder: one line, not a traceback
        raise CommandError(f"{error.filename or 'a file'}: {error.strerror or error}") from None
    except KeyboardInterrupt:
        raise Interrupted(
            f"interrupted; the last completed epoch is saved: python -m train --out {out} --resume"
        ) from None
    click.echo(f"saved {out / 'generator.keras'}")


def main():
    run_command(train_command, prog_name="python -m train")


if __name__ == "__main__":
    main()
