"""The GAN losses and what each asks of the training step and the optimizers, in one table.

A new loss is two functions, one entry in LOSSES here, and its name, summary and optimizer
defaults in train.catalog.LOSSES (Keras-free, for --help and the config); the training step reads
the entry.
Both take the discriminator's raw outputs: logits for the cross-entropy, unbounded scores for the
Wasserstein critic (no discriminator here ends in a sigmoid).
"""

import dataclasses
from typing import Callable

from keras import ops


def bce_discriminator(real_logits, fake_logits):
    """Cross-entropy of real as 1 and fake as 0 (log(1 + e^-x) = softplus(-x))."""
    return ops.mean(ops.softplus(-real_logits)) + ops.mean(ops.softplus(fake_logits))


def bce_generator(fake_logits):
    """The non-saturating generator loss: cross-entropy of fake as 1."""
    return ops.mean(ops.softplus(-fake_logits))


def wasserstein_critic(real_scores, fake_scores):
    """The critic's estimate of the negative Wasserstein distance (Arjovsky et al. 2017)."""
    return ops.mean(fake_scores) - ops.mean(real_scores)


def wasserstein_generator(fake_scores):
    return -ops.mean(fake_scores)


@dataclasses.dataclass(frozen=True)
class Loss:
    discriminator: Callable  # (real outputs, fake outputs) -> scalar, without any penalty
    generator: Callable  # (fake outputs) -> scalar
    critic_steps: int = 1  # discriminator updates per generator update, each on a batch of its own
    penalty_weight: float = 0.0  # weight of the gradient penalty (Gulrajani et al. 2017); 0: none
    # True: one generator pass updates both networks (the documents' loop); False: the critic steps
    # first, then the generator from fresh noise against the updated critic (WGAN-GP, Algorithm 1).
    joint_update: bool = True


LOSSES = {
    # the DCGAN paper's (Radford et al. 2016)
    "bce": Loss(bce_discriminator, bce_generator),
    # Gulrajani et al. 2017, Algorithm 1: n_critic 5, lambda 10
    "wgan-gp": Loss(wasserstein_critic, wasserstein_generator, critic_steps=5, penalty_weight=10.0,
                    joint_update=False),
}
