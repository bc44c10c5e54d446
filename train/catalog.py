"""The names a user can choose, with what --help says of them and the losses' optimizer defaults,
in one Keras-free table: `python -m train --help` reads it without loading TensorFlow, TrainConfig
and train() read the same entries. The networks (train.models.MODELS) and the loss functions
(train.losses.LOSSES) are keyed by these names; a test holds the three tables to one set of names."""

import dataclasses
from pathlib import Path

CLASSIFIER_FILE = Path("artifacts/classifier.keras")  # the cached judge; like every default path: from the repo root

MODELS = {
    "cdcgan": "the digit is an input of both networks (choose the digit at run time), joined to the "
              "discriminator's input as 10 channels",
    "cdcgan-proj": "the same generator, the digit projected onto the discriminator's features (Miyato & "
                   "Koyama 2018)",
    "dcgan": "the seed DCGAN, unconditional",
    "vanilla": "the documents' fully connected GAN",
}


@dataclasses.dataclass(frozen=True)
class LossDefaults:
    summary: str
    lr: float  # Adam's, for both networks (--lr overrides it)
    beta1: float  # (--beta1 overrides it)
    beta2: float


LOSSES = {
    # the DCGAN paper's settings (Radford et al. 2016)
    "bce": LossDefaults("cross-entropy on logits (the DCGAN paper)", lr=2e-4, beta1=0.5, beta2=0.999),
    # Gulrajani et al. 2017, Algorithm 1: Adam(1e-4, 0, 0.9)
    "wgan-gp": LossDefaults("Wasserstein loss with gradient penalty 10 and 5 critic steps per generator "
                            "step (Gulrajani et al. 2017)", lr=1e-4, beta1=0.0, beta2=0.9),
}


def choices_help(table):
    """'name: summary; name: summary' for a --help text."""
    return "; ".join(f"{name}: {entry if isinstance(entry, str) else entry.summary}" for name, entry in table.items())
