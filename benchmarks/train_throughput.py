"""Training images/s: digitgen's GAN.fit() against the documents' plain GradientTape loop.

Both run in one process on the same data, interleaved round by round, so a noisy shared
machine slows both alike; the figure that counts is the ratio of the medians.

    python -m benchmarks.train_throughput [--data path/to/mnist.npz] [--rounds 5]
"""

import argparse
import statistics
import time

from train import import_backend_quietly

import_backend_quietly()

import keras
import numpy as np
import tensorflow as tf

from train.data import load_mnist, make_dataset
from train.device import use_mixed_precision
from train.gan import GAN
from train.losses import LOSSES
from train.models import MODELS, build_discriminator, build_generator


def plain_loop(images, batch_size, lr):
    """The documents' loop (TensorFlow's DCGAN tutorial): one tf.function step, two tapes."""
    generator, discriminator = build_generator(), build_discriminator()
    g_opt, d_opt = keras.optimizers.Adam(lr), keras.optimizers.Adam(lr)
    bce = keras.losses.BinaryCrossentropy(from_logits=True)
    scaled = (images.reshape(-1, 28, 28, 1).astype("float32") - 127.5) / 127.5
    dataset = tf.data.Dataset.from_tensor_slices(scaled).shuffle(len(images)).batch(batch_size)

    @tf.function
    def train_step(real):
        noise = tf.random.normal([batch_size, 100])
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            fake = generator(noise, training=True)
            real_out = discriminator(real, training=True)
            fake_out = discriminator(fake, training=True)
            g_loss = bce(tf.ones_like(fake_out), fake_out)
            d_loss = bce(tf.ones_like(real_out), real_out) + bce(tf.zeros_like(fake_out), fake_out)
        g_vars, d_vars = generator.trainable_variables, discriminator.trainable_variables
        g_opt.apply_gradients(zip(g_tape.gradient(g_loss, g_vars), g_vars))
        d_opt.apply_gradients(zip(d_tape.gradient(d_loss, d_vars), d_vars))

    def run_epoch():
        for real in dataset:
            train_step(real)

    return run_epoch


def digitgen_fit(images, labels, batch_size, lr, mixed_precision=False, model="dcgan", ema=0.0):
    """digitgen's training: the GAN model's fit() on its tf.data pipeline.

    With mixed_precision, the networks are built under the policy `python -m train
    --mixed-precision` picks for this machine (mixed_bfloat16 on a CPU with bfloat16 support).
    """
    policy = use_mixed_precision(mixed_precision)
    build_g, build_d = MODELS[model]
    gan = GAN(build_g(), build_d(), ema_decay=ema)
    keras.mixed_precision.set_global_policy("float32")  # layers keep the policy they were built with
    gan.compile(
        d_optimizer=keras.optimizers.Adam(lr),
        g_optimizer=keras.optimizers.Adam(lr),
        loss=LOSSES["bce"],
    )
    dataset = make_dataset(images, labels, batch_size, seed=0)
    return policy or "float32", lambda: gan.fit(dataset, epochs=1, shuffle=False, verbose=0)


def images_per_second(run_epoch, n_images):
    start = time.perf_counter()
    run_epoch()
    return n_images / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None, help="local mnist.npz (default: keras.datasets download)")
    parser.add_argument("--images", type=int, default=256 * 12, help="images per timed epoch")
    parser.add_argument("--batch-size", type=int, default=256, help="the documents' 256")
    parser.add_argument("--lr", type=float, default=1e-4, help="the documents' 1e-4")
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()

    images, labels = load_mnist(args.data, limit=args.images)
    contenders = {"documents' loop (float32)": plain_loop(images, args.batch_size, args.lr)}
    for mixed in (False, True):
        policy, run_epoch = digitgen_fit(images, labels, args.batch_size, args.lr, mixed)
        contenders[f"digitgen dcgan fit() ({policy})"] = run_epoch
    # the shipped recipe: conditional networks and the generator's weight average, updated every step
    policy, run_epoch = digitgen_fit(images, labels, args.batch_size, args.lr, True, "cdcgan", 0.999)
    contenders[f"digitgen cdcgan+ema fit() ({policy})"] = run_epoch
    for run_epoch in contenders.values():  # warm-up: tracing and first allocations
        run_epoch()
    rates = {name: [] for name in contenders}
    for _ in range(args.rounds):
        for name, run_epoch in contenders.items():
            rates[name].append(images_per_second(run_epoch, len(images)))

    print(f"{len(images)} images an epoch, batch {args.batch_size}, {args.rounds} rounds interleaved")
    baseline = statistics.median(next(iter(rates.values())))
    for name, values in rates.items():
        median = statistics.median(values)
        print(f"  {name:40s} median {median:7.1f} images/s  {median / baseline:4.2f}x  "
              f"(runs: {', '.join(f'{v:.0f}' for v in values)})")
    print("  target: >= 1.30x the documents' loop")


if __name__ == "__main__":
    main()
