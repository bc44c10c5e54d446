"""`python -m train.model_card`: artifacts/MODEL_CARD.md written from what the shipped model's
files measured (evaluation.json, manifest.json, config.json, history.csv), so its figures are
the evaluation's and `digitgen info` shows them. Run it after train.evaluate when the shipped model
changes; tests/test_artifacts.py checks the card against evaluation.json."""

import json
from pathlib import Path

import click

from digitgen.atomic import write_atomically
from digitgen.cli_support import CONTEXT_SETTINGS, CommandError, run_command
from train.report import hours_by_epoch, read_history


@click.command(context_settings=CONTEXT_SETTINGS)
@click.option("--artifacts", type=click.Path(file_okay=False, path_type=Path), default=Path("artifacts"),
              show_default=True, help="The shipped model's folder.")
def model_card_command(artifacts):
    """Write MODEL_CARD.md into the shipped model's folder from its measured files."""
    art = artifacts
    missing = [name for name in ("evaluation.json", "manifest.json", "config.json", "history.csv")
               if not (art / name).is_file()]
    if missing:
        raise CommandError(f"{art}: no {', '.join(missing)} (export and evaluate the model first)")
    history = read_history(art / "history.csv")
    epochs, hours = len(history["epoch"]), f"{max(hours_by_epoch(history).values()):.2f}"
    ev = json.loads((art / "evaluation.json").read_text()); man = json.loads((art / "manifest.json").read_text())
    cfg = json.loads((art / "config.json").read_text())
    model_name = cfg["model"]
    g = ev["generators"][0]; floor = ev["floor"]; cas = ev.get("classification_accuracy_score", {})
    int8 = next((x for x in ev["generators"][1:] if x["file"].endswith(".tflite")), None)
    per = g["label_accuracy_per_digit"]; weakest = min(range(10), key=lambda d: per[d])
    shares = g["digit_shares"]
    card = f"""---
    model: {model_name}
    training: {epochs} epochs of MNIST's 60,000 training digits, Adam lr {cfg['lr']:g} beta1 {cfg['beta1']:g}, batch {cfg['batch_size']}, weight average {cfg['ema']}
    source_sha256: {man['source']['sha256']}
    fid: {g['fid']:.4f}
    fid_floor: {floor['fid']:.4f}
    inception_score: {g['inception_score']:.4f}
    label_accuracy: {g['label_accuracy']:.4f}
    weakest_digit: {weakest} ({per[weakest]:.3f})
    cas_synthetic: {cas.get('synthetic_test_accuracy', float('nan')):.4f}
    cas_real: {cas.get('real_test_accuracy', float('nan')):.4f}
    license: MIT
    ---

    # Model card: digitgen's bundled generator

    ## What it is
    A class-conditional DCGAN generator ({model_name}): 100 numbers of N(0, 1) noise and a digit 0-9 in,
    one 28x28 grayscale handwritten digit out. 2,456,484 parameters (DCGAN generator with the one-hot
    digit joined to the noise). Shipped as `generator.onnx` (float32; `generator_numpy.json` runs the same
    graph on numpy), `generator_int8.tflite` (full int8) and `generator.keras` (the training side's).
    The weights are an exponential moving average (decay {cfg['ema']}) of the generator's during training.

    ## Training data and recipe
    MNIST's 60,000 training digits (LeCun, Cortes and Burges; 250 writers, US Census Bureau employees and
    high-school students), scaled to [-1, 1], no augmentation. Adversarial training with binary
    cross-entropy (non-saturating), Adam lr {cfg['lr']:g}, beta1 {cfg['beta1']:g}, batch {cfg['batch_size']}, seed {cfg['seed']},
    {epochs} epochs ({hours} hours on 2 CPU cores, float32). Discriminator: {'a projection discriminator (the digit embedded and dotted with the image features, Miyato & Koyama 2018)' if 'proj' in model_name else 'the digit as 10 extra input channels'}.
    Settings: `config.json`; per-epoch quality: `quality.csv`.

    ## Intended use
    Synthetic MNIST-style digits for software tests, demos, teaching, and data augmentation
    experiments; labeled synthetic datasets (`digitgen dataset`) where real MNIST cannot be shipped.

    ## Not for
    - Anything that decides about people: it is not a model of anyone's handwriting, and its digits say
      nothing about a writer.
    - Forging or imitating handwriting, or testing systems that read real documents as if these
      were real (their style is MNIST's: centred, size-normalised, one stroke width).
    - Claims about MNIST classifiers' real-world accuracy: a classifier trained only on these digits
      reads real test digits {100 * cas.get('synthetic_test_accuracy', float('nan')):.2f}% correctly against {100 * cas.get('real_test_accuracy', float('nan')):.2f}% when trained on real ones.

    ## Measured quality (`python -m train.evaluate`, 10,000 samples, 1,000 of each digit asked)
    | figure | this model | real floor (10,000 real training digits) |
    |---|---|---|
    | FID in the project classifier's features | {g['fid']:.3f} ({g['fid'] / floor['fid']:.1f}x floor) | {floor['fid']:.3f} |
    | Inception Score | {g['inception_score']:.3f} | {floor['inception_score']:.3f} |
    | asked digit read back | {100 * g['label_accuracy']:.2f}% (weakest: {weakest}, {100 * per[weakest]:.1f}%) | |
    | share of each digit | {100 * min(shares):.1f}-{100 * max(shares):.1f}% | |
    | precision / recall | {g['precision']:.3f} / {g['recall']:.3f} | {floor['precision']:.3f} / {floor['recall']:.3f} |
    | int8 model: FID, label agreement with float | {int8['fid']:.3f}, {100 * int8['gates']['label_agreement']['value']:.2f}% | |
    | classifier trained on 60,000 of its digits, tested on real ones | {100 * cas.get('synthetic_test_accuracy', float('nan')):.2f}% | {100 * cas.get('real_test_accuracy', float('nan')):.2f}% trained on 60,000 real |

    ## Known limitations and biases
    - Per digit, the asked digit is read back {', '.join(f'{d}: {100 * per[d]:.1f}%' for d in range(10))}:
      the weakest digits are sometimes drawn as another, so labels of synthetic data are not all right.
    - It reproduces MNIST's biases: one writing convention (e.g. 1 as a single stroke, 7 mostly without
      a bar, 4 open or closed as MNIST has them), centred 20x20 digits on black, writers from one country
      in the early 1990s. It has not learnt other scripts or numeral systems.
    - Its digits are less varied than real ones (recall {g['recall']:.3f} against the floor's {floor['recall']:.3f}).
    - Quality is measured with the project's own classifier (99.37% test accuracy), not Inception-v3:
      FID values are not comparable with published MNIST FIDs.

    ## How to reproduce
    ```bash
    python -m train --model {model_name} --data mnist.npz --epochs {epochs} --batch-size {cfg['batch_size']}{f" --eval-every {cfg['eval_every']}" if cfg.get('eval_every') else ''} --out runs/shipped
    python -m export --generator runs/shipped/generator.keras --out artifacts
    python -m train.evaluate --generator artifacts/generator.keras --generator artifacts/generator_int8.tflite \\
        --out artifacts --data mnist.npz --cas 60000
    ```
    """
    # the template is indented with this function's body: one level off every line
    write_atomically(art / "MODEL_CARD.md", "\n".join(line.removeprefix("    ") for line in card.splitlines()) + "\n")
    click.echo(f"wrote {art / 'MODEL_CARD.md'}")


def main():
    run_command(model_card_command, prog_name="python -m train.model_card")


if __name__ == "__main__":
    main()
