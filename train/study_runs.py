"""The study: GAN variants and the documents' hyperparameters, each trained on the same number of
images, judged along the way; its results as study.json, study.md and study.png.

Each configuration is one ordinary run folder of `python -m train` (in a child process, so a run
is resumable on its own and one run's memory never carries into the next); the study reads the
runs' history.csv and quality.csv. A finished run (generator.keras written) is not trained again.
"""

import json
import os
import platform
import statistics
import subprocess
import sys
from pathlib import Path

from digitgen.atomic import atomic_path, write_atomically
from train.config import TrainConfig
from train.report import hours_by_epoch, read_history

# The baseline is the seed DCGAN (no average); each other configuration changes one thing.
BASELINE = {"model": "dcgan", "loss": "bce", "ema": 0.0, "batch_size": 128}
CONFIGURATIONS = {
    "dcgan": {},
    "vanilla": {"model": "vanilla"},
    "cdcgan": {"model": "cdcgan", "ema": 0.999},  # the shipped recipe
    "dcgan-wgan-gp": {"loss": "wgan-gp"},
    "dcgan-lr-1e-4": {"lr": 1e-4},
    "dcgan-batch-64": {"batch_size": 64},
    "dcgan-batch-256": {"batch_size": 256},
    "dcgan-beta1-0.9": {"beta1": 0.9},
    "dcgan-average": {"ema": 0.999},
}


def settings_of(name):
    return {**BASELINE, **CONFIGURATIONS[name]}


def train_arguments(name, run_dir, data, images, images_per_epoch, eval_samples, budget_hours, limit,
                    mixed_precision):
    """The `python -m train` command line of one configuration (with --resume when it has begun)."""
    arguments = [sys.executable, "-m", "train", "--out", str(run_dir), "--seed", "0",
                 "--epochs", str(max(1, images // images_per_epoch)), "--images-per-epoch", str(images_per_epoch),
                 "--eval-every", "1", "--eval-samples", str(eval_samples)]
    if (run_dir / "config.json").is_file():
        return arguments + ["--resume"] + (["--data", str(data)] if data else [])
    for key, value in settings_of(name).items():
        arguments += [f"--{key.replace('_', '-')}", str(value)]
    for option, value in (("--data", data), ("--budget-hours", budget_hours), ("--limit", limit)):
        if value:
            arguments += [option, str(value)]
    return arguments + (["--mixed-precision"] if mixed_precision else [])


def run_configuration(arguments, log_path):
    """Train one configuration in a child process, its output appended to log_path; a Ctrl-C or
    SIGTERM here stops the child at its next checkpoint, then reaches the caller."""
    checkout = str(Path(__file__).resolve().parents[1])  # train/ runs from a checkout, wherever the caller is
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [checkout, os.environ.get("PYTHONPATH")]))}
    with open(log_path, "a") as log:
        child = subprocess.Popen(arguments, stdout=log, stderr=subprocess.STDOUT, env=environment)
        try:
            return child.wait()
        except BaseException:
            child.terminate()  # python -m train defers SIGTERM until its checkpoint is whole
            child.wait()
            raise


def summarize(name, run_dir):
    """One configuration's row and its FID-against-hours curve, from the run's files."""
    config = TrainConfig.load(run_dir / "config.json")
    history = read_history(run_dir / "history.csv")
    quality = read_history(run_dir / "quality.csv")
    hours_at = hours_by_epoch(history)
    row = {key: getattr(config, key) for key in ("model", "loss", "lr", "beta1", "batch_size", "ema")}
    row.update({key: quality[key][-1] for key in ("fid", "floor_fid", "inception_score", "floor_inception_score",
                                                     "label_accuracy", "precision", "recall")})
    row.update(d_loss=history["d_loss"][-1], g_loss=history["g_loss"][-1],
               images_per_s=statistics.median(history["images_per_s"]), hours=max(hours_at.values(), default=0.0),
               epochs=len(history["epoch"]),
               curve=[[hours_at.get(epoch), fid] for epoch, fid in zip(quality["epoch"], quality["fid"])])
    return row


def write_results(results, out_dir, plan):
    """study.json, study.md (the table) and study.png (FID against hours of training)."""
    report = {"plan": plan, "machine": machine(), "configurations": results}
    write_atomically(out_dir / "study.json", json.dumps(report, indent=2) + "\n")
    write_atomically(out_dir / "study.md", markdown_table(results))
    plot_fid_against_hours(results, out_dir / "study.png")


def markdown_table(results):
    header = ["configuration", "FID (floor)", "IS (floor)", "label acc.", "precision", "recall",
              "D loss", "G loss", "images/s", "hours"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, row in sorted(results.items(), key=lambda item: item[1]["fid"]):
        accuracy = f"{row['label_accuracy']:.1%}" if row["label_accuracy"] is not None else "—"
        lines.append(
            f"| {name} | {row['fid']:.2f} ({row['floor_fid']:.2f}) | {row['inception_score']:.2f} "
            f"({row['floor_inception_score']:.2f}) | {accuracy} | {row['precision']:.3f} | {row['recall']:.3f} | "
            f"{row['d_loss']:.3f} | {row['g_loss']:.3f} | {row['images_per_s']:.0f} | {row['hours']:.3f} |")
    return "\n".join(lines) + "\n"


def plot_fid_against_hours(results, out_png):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(8, 5), dpi=110)
    for name, row in sorted(results.items()):
        points = [(hours, fid) for hours, fid in row["curve"] if hours is not None and fid is not None]
        axes.plot(*zip(*points), marker="o", markersize=3, label=name)
    floor = min(row["floor_fid"] for row in results.values())
    axes.axhline(floor, color="gray", linestyle="--", linewidth=1, label="real-data floor")
    axes.set(xlabel="hours of training (this machine)", ylabel="FID (classifier features)", yscale="log",
             title="Sample quality against training time")
    axes.legend(fontsize=8)
    figure.tight_layout()
    with atomic_path(out_png) as tmp:
        figure.savefig(tmp, format="png")
    plt.close(figure)


def machine():
    return {"processor": platform.processor() or platform.machine(), "cores": os.cpu_count(),
            "python": platform.python_version()}

