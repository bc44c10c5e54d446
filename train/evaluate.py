"""`python -m train.evaluate`: the command line over train.evaluation; TensorFlow loads only when needed."""

from pathlib import Path

import click

from digitgen.cli_support import CONTEXT_SETTINGS, CommandError, run_command
from train.catalog import CLASSIFIER_FILE
from train.gates import MIN_JUDGED_SAMPLES

GATES_FAILED = 1


@click.command(
    context_settings=CONTEXT_SETTINGS,
    epilog="Examples:\n\n\b\n"
    "  python -m train.evaluate --generator runs/gan/generator.keras --data mnist.npz\n"
    "  python -m train.evaluate --generator artifacts/generator.keras "
    "--generator artifacts/generator_int8.tflite --out artifacts --data mnist.npz\n"
    "  python -m train.evaluate --train-classifier --data mnist.npz   # (re)build the cached classifier",
)
@click.option("--generator", "generators", multiple=True, type=click.Path(path_type=Path),
              help=".keras, .onnx or .tflite generator; repeat to compare (the first is the reference: "
                   "later ones are also gated on FID within 10% and 99% label agreement).")
@click.option("--data", type=click.Path(dir_okay=True), default=None,
              help="Local MNIST (mnist.npz or IDX files). Default: download with keras.datasets.mnist.")
@click.option("--n", type=click.IntRange(min=10), default=10000, show_default=True,
              help="Generated digits per generator (and real ones for the floor).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder for evaluation.json and evaluation.png.  [default: the first generator's folder]")
@click.option("--classifier", type=click.Path(dir_okay=False, path_type=Path), default=CLASSIFIER_FILE,
              show_default=True, help="The cached digit classifier.")
@click.option("--train-classifier", is_flag=True,
              help="Train the classifier on --data and save it to --classifier first.")
@click.option("--strict", is_flag=True, help="Exit 1 when a quality gate fails.")
@click.option("--cas", type=click.IntRange(min=10), default=None,
              help="Also the Classification Accuracy Score: train the classifier on this many digits of the "
                   "first (conditional) generator and on as many real ones; test both on the real test set.")
def evaluate_command(generators, data, n, out, classifier, train_classifier, strict, cas):
    """Judge generated digits with an MNIST classifier: FID, Inception Score, digit shares,
    confidence, precision and recall, each beside real data's own figures."""
    if not generators and not train_classifier:
        raise click.UsageError("give at least one --generator (or --train-classifier)")
    if strict and n < MIN_JUDGED_SAMPLES:
        raise click.UsageError(f"--strict judges the gates, which need --n {MIN_JUDGED_SAMPLES} or more")
    from train.extras import load_keras

    load_keras()
    from train import classifier as classifiers
    from train.data import DataError
    from train.evaluation import (EvaluationError, classification_accuracy_score, evaluate, load_sampler, summary,
                                  write_json)
    from train.quality_plots import plot_confusion, plot_evaluation

    try:
        if train_classifier:
            model, accuracy = classifiers.train_classifier(data)
            if accuracy < classifiers.TARGET_ACCURACY:
                raise CommandError(f"the classifier reached {accuracy:.4f} test accuracy, "
                                   f"under {classifiers.TARGET_ACCURACY}; not saved")
            classifiers.save_classifier(model, classifier)
            click.echo(f"saved {classifier}: test accuracy {accuracy:.4f}")
        if not generators:
            return
        if cas:  # refused before the evaluation's minutes, not after them
            sampler, latent_dim, conditional = load_sampler(generators[0])
            if not conditional:
                raise CommandError(f"--cas: {generators[0]} is unconditional: its digits have no labels")
        report, samples = evaluate(generators, classifiers.load_classifier(classifier), data, n, echo=click.echo)
        if cas:
            report["classification_accuracy_score"], cas_matrices = classification_accuracy_score(
                sampler, latent_dim, cas, data, echo=click.echo)
    except (DataError, EvaluationError, classifiers.ClassifierError) as error:
        raise CommandError(str(error)) from None
    out = out or generators[0].parent
    out.mkdir(parents=True, exist_ok=True)
    report["classifier"]["file"] = str(classifier)
    write_json(report, out / "evaluation.json")
    plot_evaluation(report, *samples[str(generators[0])], out / "evaluation.png")
    if cas:
        scores = report["classification_accuracy_score"]
        for name in ("synthetic", "real"):
            plot_confusion(cas_matrices[name], f"trained on {cas:,} {name} digits: "
                           f"{scores[f'{name}_test_accuracy']:.2%} on real test digits", out / f"cas_{name}.png")
    click.echo(summary(report))
    click.echo(f"wrote {out / 'evaluation.json'} and {out / 'evaluation.png'}")
    if strict and report["passed"] is False:
        raise SystemExit(GATES_FAILED)


def main():
    run_command(evaluate_command, prog_name="python -m train.evaluate")


if __name__ == "__main__":
    main()
