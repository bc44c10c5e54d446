"""Pictures of sample quality: the evaluation figure, quality over training, confusion matrices."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; no display needed
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from digitgen.atomic import atomic_path  # noqa: E402
from digitgen.images import make_grid  # noqa: E402
from train.gates import DIGIT_SHARE_RANGE, FID_FLOOR_FACTOR, MIN_INCEPTION_SCORE  # noqa: E402


def _save(figure, out_png):
    with atomic_path(out_png) as tmp:
        figure.savefig(tmp, format="png", dpi=110)
    plt.close(figure)


def plot_evaluation(report, images, probabilities, out_png, worst=64):
    """Left: each digit's share, real floor beside each generator. Right: the least convincing samples."""
    figure, (bars, grid) = plt.subplots(1, 2, figsize=(12, 5.6), gridspec_kw={"width_ratios": [3, 2]})
    columns = [("real (floor)", report["floor"]["digit_shares"])]
    columns += [(Path(entry["file"]).name, entry["digit_shares"]) for entry in report["generators"]]
    width = 0.8 / len(columns)
    for i, (name, shares) in enumerate(columns):
        bars.bar(np.arange(10) + (i - (len(columns) - 1) / 2) * width, shares, width, label=name)
    low, high = DIGIT_SHARE_RANGE
    bars.axhspan(low, high, color="green", alpha=0.08, label=f"gate {low:.0%}–{high:.0%}")
    bars.set(xticks=range(10), xlabel="digit (classifier's label)", ylabel="share of samples",
             title="Share of each digit")
    bars.legend(fontsize=8)

    confidence = probabilities.max(axis=1)
    least = np.argsort(confidence)[:worst]
    grid.imshow(make_grid(images[least], scale=2), cmap="gray")
    grid.set_axis_off()
    grid.set_title(f"{len(least)} least convincing samples of {Path(report['generators'][0]['file']).name}\n"
                   f"(classifier confidence {confidence[least].min():.2f}–{confidence[least].max():.2f})")
    figure.tight_layout()
    _save(figure, out_png)


def plot_quality(rows, hours, floor, out_png):
    """FID and Inception Score against training hours, the real-data floor drawn in."""
    figure, (fid_axis, is_axis) = plt.subplots(1, 2, figsize=(11, 4))
    fid_axis.plot(hours, rows["fid"], "o-", label="generator")
    is_axis.plot(hours, rows["inception_score"], "o-", label="generator")
    if floor:
        fid_axis.axhline(floor["fid"] * FID_FLOOR_FACTOR, color="red", linestyle="--",
                         label=f"gate: {FID_FLOOR_FACTOR:g} × floor")
        fid_axis.axhline(floor["fid"], color="gray", linestyle=":", label="real-data floor")
        is_axis.axhline(MIN_INCEPTION_SCORE, color="red", linestyle="--", label=f"gate: {MIN_INCEPTION_SCORE:g}")
        is_axis.axhline(floor["inception_score"], color="gray", linestyle=":", label="real data")
    fid_axis.set(xlabel="training hours", ylabel="Fréchet distance (classifier features)", yscale="log",
                 title="FID per epoch evaluated")
    is_axis.set(xlabel="training hours", ylabel="classifier Inception Score", title="Inception Score")
    for axis in (fid_axis, is_axis):
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8)
    figure.tight_layout()
    _save(figure, out_png)


def plot_confusion(matrix, title, out_png):
    """A 10x10 confusion matrix, counts in the cells, rows the true digit."""
    figure, axis = plt.subplots(figsize=(5.5, 5))
    axis.imshow(np.log1p(matrix), cmap="Blues")
    for (row, col), count in np.ndenumerate(matrix):
        axis.text(col, row, str(count), ha="center", va="center", fontsize=7,
                  color="white" if row == col else "black")
    axis.set(xticks=range(10), yticks=range(10), xlabel="predicted", ylabel="true", title=title)
    figure.tight_layout()
    _save(figure, out_png)
