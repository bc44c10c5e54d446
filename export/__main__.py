"""`python -m export`: generator.keras -> generator.onnx, generator_int8.tflite, manifest, parity."""

from pathlib import Path

import click

from digitgen.cli_support import CONTEXT_SETTINGS, CommandError, run_command
from train.catalog import CLASSIFIER_FILE

PARITY_FAILED = 1


@click.command(context_settings=CONTEXT_SETTINGS,
               epilog="Example:\n\n\b\n  python -m export --generator runs/dcgan/generator.keras --out artifacts")
@click.option("--generator", "generator_path", type=click.Path(path_type=Path),
              default=Path("artifacts/generator.keras"), show_default=True,
              help="The trained Keras generator.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("artifacts"),
              show_default=True, help="Folder for the exported files (replaced only when parity passes).")
@click.option("--latents", type=click.IntRange(min=512), default=2048, show_default=True,
              help="Fixed N(0, 1) latents on which parity is checked.")
@click.option("--classifier", type=click.Path(dir_okay=False, path_type=Path), default=CLASSIFIER_FILE,
              show_default=True, help="Digit classifier for the label-agreement gate "
                                      "(python -m train.evaluate --train-classifier makes it).")
@click.option("--label-gate/--no-label-gate", default=True, show_default=True,
              help="Gate on label agreement, or only report it.")
@click.option("--no-classifier", is_flag=True, help="Do not compare labels at all (no classifier at hand).")
def export_command(generator_path, out, latents, classifier, label_gate, no_classifier):
    """Convert the generator to ONNX and int8 TFLite and prove both match Keras."""
    from train.extras import load_keras

    load_keras(for_export=True)
    from digitgen.backends import ModelError
    from export.export import ExportError, export as run_export

    try:
        report = run_export(generator_path, out, n_latents=latents, echo=click.echo,
                            classifier_path=None if no_classifier else classifier, label_gate=label_gate)
    except ExportError as error:
        raise CommandError(str(error)) from None
    except ModelError as error:  # a conversion the runtime cannot load: a fault of the export, one line
        raise CommandError(f"the converted model does not load: {error}") from None
    except OSError as error:  # a full disk or an unwritable folder: one line, not a traceback
        raise CommandError(f"{error.filename or 'a file'}: {error.strerror or error}") from None
    if not report["passed"]:
        failed = ", ".join(f"{c['model']} {c['metric']}" for c in report["checks"] if not c["passed"])
        click.echo(f"error: parity failed ({failed}); {out} left as it was", err=True)
        raise SystemExit(PARITY_FAILED)
    waived = ", ".join(f"{c['model']} {c['metric']}" for c in report["checks"] if not c["met"])
    click.echo(f"exported to {out}: parity passed" + (f" (missed, not gated: {waived})" if waived else ""))


def main():
    run_command(export_command, prog_name="python -m export")


if __name__ == "__main__":
    main()
