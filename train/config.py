"""One dataclass holds every training setting; it is saved with the run as config.json."""

import dataclasses
import json
from pathlib import Path

from train.catalog import LOSSES


@dataclasses.dataclass
class TrainConfig:
    model: str = "cdcgan"  # a name in train.catalog.MODELS
    loss: str = "bce"  # a name in train.catalog.LOSSES
    ema: float = 0.999  # decay of the generator's weight average; 0: no average
    data: str | None = None  # None: keras.datasets.mnist.load_data() (a download)
    epochs: int = 50
    batch_size: int = 128  # the DCGAN paper's settings: digits sooner than 1e-4 / 256 here
    lr: float | None = None  # Adam's; None: the loss's own, from train.catalog.LOSSES
    beta1: float | None = None
    latent_dim: int = 100
    limit: int | None = None  # train on the first N images only
    seed: int = 0
    mixed_precision: bool = False
    grid_size: int = 100  # digits in each epoch's sample grid (conditional: 10 a row, 0-9), fixed noise
    eval_every: int | None = None  # record sample quality (quality.csv) every K epochs
    eval_samples: int = 10000
    images_per_epoch: int | None = None  # None: one pass over the data; else epochs of this many images
    budget_hours: float | None = None  # stop after the first epoch that ends past this much training time

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(dataclasses.asdict(self), indent=2) + "\n")

    def with_loss_defaults(self) -> "TrainConfig":
        """The settings with lr and beta1 filled in from the loss's defaults where not given."""
        defaults = LOSSES[self.loss]
        return dataclasses.replace(self, lr=defaults.lr if self.lr is None else self.lr,
                                   beta1=defaults.beta1 if self.beta1 is None else self.beta1)

    @property
    def beta2(self) -> float:
        return LOSSES[self.loss].beta2

    @classmethod
    def load(cls, path: Path) -> "TrainConfig":
        known = {field.name for field in dataclasses.fields(cls)}
        values = json.loads(path.read_text())
        values.setdefault("model", "dcgan")  # runs saved before these settings existed
        values.setdefault("ema", 0.0)
        values.setdefault("lr", 2e-4)
        values.setdefault("beta1", 0.5)
        return cls(**{key: value for key, value in values.items() if key in known})
