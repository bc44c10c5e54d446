"""`python -m train.study`: the command line over train.study_runs."""

from pathlib import Path

import click

from digitgen.cli_support import CONTEXT_SETTINGS, CommandError, run_command
from train.interrupts import Interrupted, terminate_as_interrupt
from train.study_runs import CONFIGURATIONS, run_configuration, summarize, train_arguments, write_results


@click.command(
    context_settings=CONTEXT_SETTINGS,
    epilog="Examples:\n\n\b\n"
    "  python -m train.study --data mnist.npz                 # every configuration, 60,000 images each\n"
    "  python -m train.study --data mnist.npz --images 600000 --out runs/study-10   # ten passes each\n"
    "  python -m train.study --data mnist.npz --only dcgan --only dcgan-wgan-gp",
)
@click.option("--data", type=click.Path(dir_okay=True), default=None,
              help="Local MNIST (mnist.npz or IDX files). Default: download with keras.datasets.mnist.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("runs/study"),
              show_default=True, help="Folder of the runs (one folder each) and of study.json, study.md, study.png.")
@click.option("--only", "names", multiple=True, type=click.Choice(list(CONFIGURATIONS)),
              help="Train only this configuration; repeat for several. Default: all.")
@click.option("--images", type=click.IntRange(min=1), default=60_000, show_default=True,
              help="Training images each configuration sees (the same budget for all).")
@click.option("--images-per-epoch", type=click.IntRange(min=1), default=10_000, show_default=True,
              help="Images between two evaluations: the points of the FID curve.")
@click.option("--eval-samples", type=click.IntRange(min=10), default=5_000, show_default=True,
              help="Digits generated for each evaluation.")
@click.option("--budget-hours", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Also stop each configuration after this much training time.")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Train on the first N images only.")
@click.option("--mixed-precision", is_flag=True, help="Passed to python -m train.")
def study_command(data, out, names, images, images_per_epoch, eval_samples, budget_hours, limit, mixed_precision):
    """Train GAN variants and hyperparameter choices (see train/study.py) for the same number of
    images each, one run folder each, resumable; then write study.json, study.md and study.png."""
    out.mkdir(parents=True, exist_ok=True)
    results = {}
    for name in names or CONFIGURATIONS:
        run_dir = out / name
        if not (run_dir / "generator.keras").is_file():
            click.echo(f"training {name} (log: {out / (name + '.log')})")
            arguments = train_arguments(name, run_dir, data, images, images_per_epoch, eval_samples,
                                        budget_hours, limit, mixed_precision)
            try:
                with terminate_as_interrupt():
                    code = run_configuration(arguments, out / f"{name}.log")
            except KeyboardInterrupt:
                raise Interrupted("interrupted; run the same command again to continue the study") from None
            if code:
                raise CommandError(f"{name}: python -m train failed (exit {code}); see {out / (name + '.log')}")
        results[name] = summarize(name, run_dir)
        click.echo(f"{name}: FID {results[name]['fid']:.2f} after {results[name]['hours']:.3f} h")
    plan = {"images": images, "images_per_epoch": images_per_epoch, "eval_samples": eval_samples,
            "budget_hours": budget_hours, "limit": limit, "data": str(data) if data else None}
    write_results(results, out, plan)
    click.echo(f"wrote {out / 'study.json'}, {out / 'study.md'} and {out / 'study.png'}")


def main():
    run_command(study_command, prog_name="python -m train.study")


if __name__ == "__main__":
    main()
