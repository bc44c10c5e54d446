"""Runtime figures in one run: cold start against the documents' TensorFlow way, throughput of both
backends, and this CPU's numpy sgemm rate to express float throughput as a share of the machine.

    python -m benchmarks.runtime [--repeats 5]    (the TensorFlow comparison needs the train extra)
"""

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from digitgen import DigitGenerator

FLOP_PER_IMAGE = 103.5e6  # the generator's multiply-adds x 2 (GUIDE §4)
MEASURE = """
import resource, subprocess, sys, time
start = time.perf_counter()
code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
print(time.perf_counter() - start, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, code)
"""
TENSORFLOW_WAY = """
import sys, tensorflow as tf, matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
generator = tf.keras.models.load_model(sys.argv[1])
noise = tf.random.normal([16, 100], seed=42)
conditional = len(generator.inputs) == 2  # the shipped cdcgan takes the digit too
inputs = [noise, tf.random.uniform([16], 0, 10, tf.int32, seed=42)] if conditional else noise
images = generator(inputs, training=False)
figure = plt.figure(figsize=(4, 4))
for i in range(16):
    plt.subplot(4, 4, i + 1)
    plt.imshow(images[i, :, :, 0] * 127.5 + 127.5, cmap="gray")
    plt.axis("off")
plt.savefig(sys.argv[2])
"""


def whole_process(command):
    """(wall seconds, peak resident MiB) of one command, measured from a small parent process."""
    out = subprocess.run([sys.executable, "-c", MEASURE, *command], capture_output=True, text=True)
    seconds, mib, code = out.stdout.split()
    if code != "0":
        raise RuntimeError(f"{command} failed")
    return float(seconds), float(mib)


def cold_start(repeats, folder):
    keras_file = Path("artifacts/generator.keras")  # the Keras twin of the bundled model
    contenders = {
        "digitgen --seed 42 --n 16": [sys.executable, "-m", "digitgen", "--seed", "42", "--n", "16",
                                      "--out", str(folder / "digits.png")],
        "TensorFlow way (documents)": [sys.executable, "-c", TENSORFLOW_WAY, str(keras_file),
                                       str(folder / "tf.png")],
    }
    results = {name: [] for name in contenders}
    for _ in range(repeats):  # interleaved: both see the same machine load
        for name, command in contenders.items():
            results[name].append(whole_process(command))
    print("cold start, whole process (median of", repeats, "interleaved runs)")
    medians = {}
    for name, runs in results.items():
        medians[name] = (statistics.median(r[0] for r in runs), max(r[1] for r in runs))
        print(f"  {name:28s} {medians[name][0]:6.3f} s   peak {medians[name][1]:6.1f} MiB")
    ours, theirs = medians["digitgen --seed 42 --n 16"], medians["TensorFlow way (documents)"]
    print(f"  digitgen: 1/{theirs[0] / ours[0]:.1f} of the TensorFlow way's time (target <= 1/15, "
          f"<= 0.25 s), peak {ours[1]:.0f} MiB (target <= 80 MiB)")


def sgemm_rate(size=1024, seconds=1.0):
    a = np.random.default_rng(0).standard_normal((size, size), dtype=np.float32)
    a @ a
    calls, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        a @ a
        calls += 1
    return 2 * size**3 * calls / (time.perf_counter() - start)


def throughput(backend, threads, batch, seconds=1.0):
    generator = DigitGenerator(backend=backend, threads=threads)
    generator.generate(batch, 0)
    calls, start = 0, time.perf_counter()
    while calls < 3 or time.perf_counter() - start < seconds:
        generator.generate(batch, calls)
        calls += 1
    return calls * batch / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--skip-tensorflow", action="store_true", help="no cold-start comparison")
    args = parser.parse_args()

    if not args.skip_tensorflow:
        with tempfile.TemporaryDirectory() as folder:
            cold_start(args.repeats, Path(folder))

    sgemm_before = sgemm_rate()
    print("\nthroughput through DigitGenerator.generate (noise, inference, uint8), images/s")
    rates = {}
    for backend in ("onnx", "tflite"):
        for threads in (1, 2):
            row = [throughput(backend, threads, batch) for batch in (1, 16, 256)]
            rates[backend, threads] = row
            print(f"  {backend:6s} threads {threads}: " + "  ".join(
                f"batch {b:3d} {r:8.0f}" for b, r in zip((1, 16, 256), row)))
    sgemm = (sgemm_before + sgemm_rate()) / 2
    float_share = rates["onnx", 2][2] * FLOP_PER_IMAGE / sgemm
    print(f"\nnumpy sgemm (1024x1024, float32): {sgemm / 1e9:.0f} GFLOP/s = "
          f"{sgemm / FLOP_PER_IMAGE:.0f} generator images/s at {FLOP_PER_IMAGE / 1e6} MFLOP each")
    print(f"  onnx float, batch 256, 2 threads: {float_share:.2f} of sgemm (target >= 0.80)")
    print(f"  tflite int8, batch 256, 2 threads: {rates['tflite', 2][2]:.0f} images/s (target >= 2,500)")


if __name__ == "__main__":
    main()
