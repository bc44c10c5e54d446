"""Training images/s on each Keras backend installed (TensorFlow, JAX): digitgen's GAN.fit() beside
the plain loops it must not fall behind, the documents' GradientTape loop (TensorFlow) and a plain
jitted stateless step (JAX, as in the issue that asked for the backend).

A backend is fixed per process, so each backend's contenders run in a child process of their own,
interleaved round by round there so a noisy machine slows them alike; the children take turns
(--turns) and a figure is the median of all its rounds. Ratios are to the documents' loop.

    python -m benchmarks.train_throughput [--data path/to/mnist.npz] [--rounds 5] [--turns 2]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from importlib.util import find_spec

BACKENDS = ("tensorflow", "jax")
BASELINE = "documents' loop (tensorflow, float32)"


def tensorflow_plain_loop(images, batch_size, lr):
    """The documents' loop (TensorFlow's DCGAN tutorial): one tf.function step, two tapes."""
    import keras
    import tensorflow as tf

    from digitgen.images import to_unit_range
    from train.models import build_discriminator, build_generator

    generator, discriminator = build_generator(), build_discriminator()
    g_opt, d_opt = keras.optimizers.Adam(lr), keras.optimizers.Adam(lr)
    bce = keras.losses.BinaryCrossentropy(from_logits=True)
    scaled = to_unit_range(images.reshape(-1, 28, 28, 1).astype("float32"))
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


def jax_plain_loop(images, batch_size, lr):
    """A plain jitted JAX step: jax.value_and_grad over stateless_call for each network (the
    generator's loss through a second generator pass), optimizer.stateless_apply; no fit()."""
    import jax
    import keras
    import numpy as np

    from digitgen.images import to_unit_range
    from train.losses import bce_discriminator, bce_generator
    from train.models import build_discriminator, build_generator

    generator, discriminator = build_generator(), build_discriminator()
    g_opt, d_opt = keras.optimizers.Adam(lr), keras.optimizers.Adam(lr)
    g_opt.build(generator.trainable_variables)
    d_opt.build(discriminator.trainable_variables)
    real_images = to_unit_range(images[..., None].astype(np.float32))

    def d_loss_of(d_weights, d_state, g_weights, g_state, real, noise):
        fake, g_state = generator.stateless_call(g_weights, g_state, noise, training=True)
        real_out, d_state = discriminator.stateless_call(d_weights, d_state, real, training=True)
        fake_out, d_state = discriminator.stateless_call(d_weights, d_state, fake, training=True)
        return bce_discriminator(real_out, fake_out), (d_state, g_state)

    def g_loss_of(g_weights, g_state, d_weights, d_state, noise):
        fake, g_state = generator.stateless_call(g_weights, g_state, noise, training=True)
        fake_out, d_state = discriminator.stateless_call(d_weights, d_state, fake, training=True)
        return bce_generator(fake_out), (g_state, d_state)

    @jax.jit
    def step(state, real, key):
        g_weights, g_state, d_weights, d_state, g_vars, d_vars = state
        noise = jax.random.normal(key, (real.shape[0], 100))
        (_, (d_state, g_state)), d_grads = jax.value_and_grad(d_loss_of, has_aux=True)(
            d_weights, d_state, g_weights, g_state, real, noise)
        (_, (g_state, d_state)), g_grads = jax.value_and_grad(g_loss_of, has_aux=True)(
            g_weights, g_state, d_weights, d_state, noise)
        d_weights, d_vars = d_opt.stateless_apply(d_vars, d_grads, d_weights)
        g_weights, g_vars = g_opt.stateless_apply(g_vars, g_grads, g_weights)
        return g_weights, g_state, d_weights, d_state, g_vars, d_vars

    values = lambda variables: [v.value for v in variables]  # noqa: E731
    state = [values(generator.trainable_variables), values(generator.non_trainable_variables),
             values(discriminator.trainable_variables), values(discriminator.non_trainable_variables),
             values(g_opt.variables), values(d_opt.variables)]
    key = jax.random.key(0)

    def run_epoch():
        nonlocal state, key
        order = np.random.default_rng().permutation(len(real_images))
        for start in range(0, len(order) - batch_size + 1, batch_size):
            key, subkey = jax.random.split(key)
            state = step(state, real_images[order[start:start + batch_size]], subkey)
        jax.block_until_ready(state)

    return run_epoch


PLAIN_LOOPS = {"tensorflow": (BASELINE, tensorflow_plain_loop),
               "jax": ("plain jitted step (jax, float32)", jax_plain_loop)}


def digitgen_fit(images, labels, batch_size, lr, mixed_precision=False, model="dcgan", ema=0.0):
    """digitgen's training: the GAN model's fit() on its pipeline, under the mixed policy that
    `python -m train --mixed-precision` picks here (None where it would train in float32)."""
    import keras

    from train.data import make_dataset
    from train.device import pick_placement
    from train.gan import GAN
    from train.losses import LOSSES
    from train.models import MODELS

    policy = pick_placement().mixed_policy if mixed_precision else "float32"
    if policy is None:
        return None, None
    keras.mixed_precision.set_global_policy(policy)
    build_g, build_d = MODELS[model]
    gan = GAN(build_g(), build_d(), ema_decay=ema)
    keras.mixed_precision.set_global_policy("float32")  # layers keep the policy they were built with
    gan.compile(d_optimizer=keras.optimizers.Adam(lr), g_optimizer=keras.optimizers.Adam(lr), loss=LOSSES["bce"])
    dataset, _ = make_dataset(images, labels, batch_size, seed=0)
    return policy, lambda: gan.fit(dataset, epochs=1, shuffle=False, verbose=0)


def measure(args):
    """In a child process on one backend: {contender: [images/s per round]}."""
    from train.extras import import_backend_quietly

    import_backend_quietly()
    import keras

    from train.data import load_mnist

    backend = keras.backend.backend()
    images, labels = load_mnist(args.data, limit=args.images)
    name, plain_loop = PLAIN_LOOPS[backend]
    contenders = {name: plain_loop(images, args.batch_size, args.lr)}
    for mixed in (False, True):
        policy, run_epoch = digitgen_fit(images, labels, args.batch_size, args.lr, mixed)
        if run_epoch:
            contenders[f"digitgen dcgan fit() ({backend}, {policy})"] = run_epoch
    # the shipped recipe: conditional networks and the generator's weight average, updated every step
    policy, run_epoch = digitgen_fit(images, labels, args.batch_size, args.lr, True, "cdcgan", 0.999)
    if run_epoch is None:
        policy, run_epoch = digitgen_fit(images, labels, args.batch_size, args.lr, False, "cdcgan", 0.999)
    contenders[f"digitgen cdcgan+ema fit() ({backend}, {policy})"] = run_epoch
    for run_epoch in contenders.values():  # warm-up: tracing, compiling and first allocations
        run_epoch()
    rates = {name: [] for name in contenders}
    for _ in range(args.rounds):
        for name, run_epoch in contenders.items():
            start = time.perf_counter()
            run_epoch()
            rates[name].append(len(images) // args.batch_size * args.batch_size / (time.perf_counter() - start))
    return rates


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None, help="local mnist.npz (default: keras.datasets download)")
    parser.add_argument("--images", type=int, default=256 * 12, help="images per timed epoch")
    parser.add_argument("--batch-size", type=int, default=256, help="the documents' 256")
    parser.add_argument("--lr", type=float, default=1e-4, help="the documents' 1e-4")
    parser.add_argument("--rounds", type=int, default=5, help="timed epochs per contender in each turn")
    parser.add_argument("--turns", type=int, default=2, help="child processes per backend, alternating")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args)))
        return

    backends = [backend for backend in BACKENDS if find_spec(backend)]
    rates = {}
    for _ in range(args.turns):
        for backend in backends:
            child = subprocess.run([sys.executable, "-m", "benchmarks.train_throughput", "--child", *sys.argv[1:]],
                                   env={**os.environ, "KERAS_BACKEND": backend}, capture_output=True, text=True)
            if child.returncode:
                sys.exit(f"the {backend} run failed:\n{child.stderr[-2000:]}")
            for name, values in json.loads(child.stdout.splitlines()[-1]).items():
                rates.setdefault(name, []).extend(values)

    print(f"{args.images // args.batch_size * args.batch_size} images an epoch, batch {args.batch_size}, "
          f"{args.rounds} rounds x {args.turns} turns per backend ({', '.join(backends)}), CPU count {os.cpu_count()}")
    baseline = statistics.median(rates[BASELINE]) if BASELINE in rates else None
    for name, values in rates.items():
        median = statistics.median(values)
        ratio = f"{median / baseline:4.2f}x" if baseline else "  -  "
        print(f"  {name:48s} median {median:8.1f} images/s  {ratio}  (runs: {', '.join(f'{v:.0f}' for v in values)})")
    print("  target: digitgen's fit() >= 1.30x the documents' loop on TensorFlow")


if __name__ == "__main__":
    main()
