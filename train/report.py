"""End-of-run pictures, rebuilt from the files on disk so a resumed run's are complete too."""

import csv
from pathlib import Path

from PIL import Image

from digitgen.atomic import atomic_path


def read_history(history_csv):
    """The CSV history as {column: [values]}, one row an epoch (a repeated epoch keeps its last row)."""
    rows = {}
    with open(history_csv, newline="") as stream:
        for row in csv.DictReader(stream):
            rows[int(row["epoch"])] = row
    columns = {}
    for epoch in sorted(rows):
        for key, value in rows[epoch].items():
            if not key.startswith("val_"):  # CSVLogger adds empty val_ columns ("NA") unasked
                columns.setdefault(key, []).append(_number(value))
    return columns


def number_epochs_from_one(history_csv, quality_csv):
    """A run written before epochs were numbered from 1 (its history.csv has Keras's empty val_
    columns): both files rewritten, epochs + 1, without those columns. True if it was one."""
    with open(history_csv, newline="") as stream:
        rows = list(csv.DictReader(stream))
    if not rows or not any(key.startswith("val_") for key in rows[0]):
        return False
    for path in (quality_csv, history_csv):  # history last: it marks the run as done
        if not Path(path).is_file():
            continue
        with open(path, newline="") as stream:
            table = list(csv.DictReader(stream))
        columns = [key for key in table[0] if not key.startswith("val_")] if table else []
        for row in table:
            row["epoch"] = str(int(row["epoch"]) + 1)
        with atomic_path(path) as tmp:
            _write_rows(tmp, columns, table)
    return True


def _write_rows(path, columns, rows):
    with open(path, "w", newline="") as stream:
        writer = csv.DictWriter(stream, columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


def hours_by_epoch(history):
    """{epoch: hours of training up to its end} from a read_history() of history.csv (the epochs'
    own seconds: evaluations are not counted)."""
    total, hours = 0.0, {}
    for epoch, seconds in zip(history["epoch"], history["epoch_seconds"]):
        total += seconds or 0.0
        hours[epoch] = total / 3600
    return hours


def _number(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def plot_losses(history_csv, out_png, title="GAN losses"):
    """Both networks' losses per epoch, one PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    history = read_history(history_csv)
    epochs = [int(epoch) for epoch in history.get("epoch", [])]
    figure, axes = plt.subplots(figsize=(7, 4), dpi=100)
    axes.plot(epochs, history.get("d_loss", []), marker="o", label="discriminator")
    axes.plot(epochs, history.get("g_loss", []), marker="o", label="generator")
    axes.set_xlabel("epoch")
    axes.set_ylabel("BCE loss")
    axes.set_title(title)
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    with atomic_path(out_png) as tmp:
        figure.savefig(tmp, format="png")
    plt.close(figure)


def make_gif(frame_pngs, out_gif, frame_ms=300):
    """The epoch grids as one animated GIF, the last frame held longer."""
    frames = [Image.open(path).convert("L") for path in frame_pngs]
    if not frames:
        return
    durations = [frame_ms] * (len(frames) - 1) + [frame_ms * 5]
    with atomic_path(out_gif) as tmp:
        frames[0].save(tmp, format="GIF", save_all=True, append_images=frames[1:], duration=durations, loop=0)
