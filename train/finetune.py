"""`python -m train.finetune`: the discriminator-as-classifier experiment from the command line."""

from pathlib import Path

import click

from digitgen.cli_support import CONTEXT_SETTINGS, CommandError, run_command
from train.catalog import CLASSIFIER_FILE


@click.command(
    context_settings=CONTEXT_SETTINGS,
    epilog="Example:\n\n\b\n  python -m train.finetune --discriminator artifacts/discriminator.keras "
    "--data mnist.npz --out artifacts/finetune",
)
@click.option("--discriminator", type=click.Path(path_type=Path), required=True,
              help="A trained discriminator.keras (python -m train writes one).")
@click.option("--data", type=click.Path(dir_okay=True), default=None,
              help="Local MNIST (mnist.npz or IDX files). Default: download with keras.datasets.mnist.")
@click.option("--classifier", type=click.Path(dir_okay=False, path_type=Path), default=CLASSIFIER_FILE,
              show_default=True, help="The baseline classifier to compare with.")
@click.option("--epochs", type=click.IntRange(min=1), default=3, show_default=True, help="Epochs for the new head.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("finetune"),
              show_default=True, help="Folder for finetune.json and the two confusion-matrix PNGs.")
def finetune_command(discriminator, data, classifier, epochs, out):
    """Fine-tune the discriminator as a digit classifier (frozen conv layers, new Dense(10) head)
    and compare it with the baseline classifier: test accuracy and confusion matrices."""
    from train.extras import load_keras

    load_keras()
    from train.classifier import ClassifierError, load_classifier
    from train.data import DataError
    from train.discriminator_probe import finetune, write_report
    from train.models import ModelFileError, load_keras_model

    try:
        baseline = load_classifier(classifier)
        model = load_keras_model(discriminator)
        if isinstance(model.input_shape, list):
            raise CommandError(f"{discriminator}: a conditional discriminator takes the digit as an input; "
                               "fine-tune an unconditional one (python -m train --model dcgan)")
        if tuple(model.input_shape[1:]) != (28, 28, 1) or model.output_shape[-1] != 1:
            raise CommandError(f"{discriminator}: not a discriminator (input {model.input_shape}, "
                               f"output {model.output_shape})")
        report, matrices = finetune(model, baseline, data, epochs)
    except (DataError, ClassifierError, ModelFileError) as error:
        raise CommandError(str(error)) from None
    write_report(report, matrices, out)
    for name in ("discriminator", "baseline"):
        click.echo(f"{name:14s} test accuracy {report[name]['test_accuracy']:.4f} "
                   f"({report[name]['errors']} errors of {sum(map(sum, matrices[name]))})")
    click.echo(f"wrote {out / 'finetune.json'}, {out / 'confusion_discriminator.png'}, {out / 'confusion_baseline.png'}")


def main():
    run_command(finetune_command, prog_name="python -m train.finetune")


if __name__ == "__main__":
    main()
