"""Runtime figures in one run, each target a ratio to a baseline measured in the same run:
cold start against the bare import floor, peak memory, float throughput against this CPU's numpy
sgemm rate, int8 against float; and, beside them, the documents' TensorFlow way.

    python -m benchmarks.runtime [--repeats 7] [--skip-tensorflow]   (TensorFlow: the train extra)

The main job runs as after `pip install`: digitgen's bytecode compiled (pip compiles it at install;
an editable checkout under PYTHONDONTWRITEBYTECODE would compile it at every start, ~18 ms), and
its optimised graph in a cache folder of the benchmark's own, made by a first start; the first
start itself, which optimises and caches the graph, is measured on its own line.
"""

import argparse
import compileall
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import digitgen
from digitgen import DigitGenerator

FLOP_PER_IMAGE = 103.74e6  # the shipped cdcgan's useful multiply-adds x 2 (dcgan: 103.5e6, GUIDE §4)
IMPORT_FLOOR = "import numpy, onnxruntime, PIL.Image, click"
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


def whole_process(command, env=None):
    """(wall seconds, peak resident MiB) of one command, measured from a small parent process."""
    out = subprocess.run([sys.executable, "-c", MEASURE, *command], capture_output=True, text=True,
                         env={**os.environ, **(env or {})})
    seconds, mib, code = out.stdout.split()
    if code != "0":
        raise RuntimeError(f"{command} failed")
    return float(seconds), float(mib)


def cold_start(repeats, folder, tensorflow):
    """Median seconds and peak MiB of the main job, the bare import floor and, optionally, the
    documents' TensorFlow way, interleaved so all see the same machine load."""
    compileall.compile_dir(Path(digitgen.__file__).parent, quiet=1)
    main_job = [sys.executable, "-m", "digitgen", "--seed", "42", "--n", "16", "--out", str(folder / "digits.png")]
    cache = {"DIGITGEN_CACHE_DIR": str(folder / "cache")}
    whole_process(main_job, cache)  # optimises the graph into the cache the later starts use
    contenders = {
        "import floor (numpy, onnxruntime, PIL, click)": ([sys.executable, "-c", IMPORT_FLOOR], None),
        "digitgen --seed 42 --n 16": (main_job, cache),
        "  the same, first start (optimises, caches)": (main_job, "fresh"),
    }
    if tensorflow:
        contenders["TensorFlow way (documents)"] = ([sys.executable, "-c", TENSORFLOW_WAY,
                                                     "artifacts/generator.keras", str(folder / "tf.png")], None)
    results = {name: [] for name in contenders}
    for repeat in range(repeats):
        for name, (command, env) in contenders.items():
            if env == "fresh":
                env = {"DIGITGEN_CACHE_DIR": str(folder / f"fresh-{repeat}")}
            results[name].append(whole_process(command, env))
    print(f"cold start, whole process (medians of {repeats} interleaved runs; the largest peak beside)")
    medians = {}
    for name, runs in results.items():
        medians[name] = (statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs))
        print(f"  {name:46s} {medians[name][0]:6.3f} s   peak {medians[name][1]:6.1f} MiB "
              f"(largest {max(r[1] for r in runs):.1f})")
    return medians


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
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--skip-tensorflow", action="store_true", help="no TensorFlow comparison")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        os.environ["DIGITGEN_CACHE_DIR"] = str(Path(folder) / "cache")  # never the user's cache
        starts = cold_start(args.repeats, Path(folder), not args.skip_tensorflow)

        sgemm_before = sgemm_rate()
        print("\nthroughput through DigitGenerator.generate (noise, inference, uint8), images/s")
        rates = {}
        # numpy: its BLAS's own threads (here one per core; OPENBLAS_NUM_THREADS before the start)
        for backend, threads in (("onnx", 1), ("onnx", 2), ("tflite", 1), ("tflite", 2), ("numpy", None)):
            row = [throughput(backend, threads, batch) for batch in (1, 16, 256)]
            rates[backend, threads] = row
            print(f"  {backend:6s} threads {threads or 'BLAS'}: " + "  ".join(
                f"batch {b:3d} {r:8.0f}" for b, r in zip((1, 16, 256), row)))
    sgemm = (sgemm_before + sgemm_rate()) / 2
    print(f"\nnumpy sgemm (1024x1024, float32, 2 threads): {sgemm / 1e9:.0f} GFLOP/s = "
          f"{sgemm / FLOP_PER_IMAGE:.0f} generator images/s at {FLOP_PER_IMAGE / 1e6} MFLOP each")

    floor, ours = starts["import floor (numpy, onnxruntime, PIL, click)"], starts["digitgen --seed 42 --n 16"]
    float_rate, int8_rate = rates["onnx", 2][2], rates["tflite", 2][2]
    print("\ntargets (ratios within this run)")
    report("cold start / import floor", ours[0] / floor[0], "<=", 1.5)
    report("peak memory of the main job, MiB", ours[1], "<=", 80)
    report("float (onnx, batch 256, 2 threads) / sgemm", float_rate * FLOP_PER_IMAGE / sgemm, ">=", 0.85)
    report("int8 (tflite, batch 256, 2 threads) / float", int8_rate / float_rate, ">=", 3)
    print(f"  numpy backend (batch 256) / float onnx: {rates['numpy', None][2] / float_rate:.2f} "
          "(no target: it is for machines without onnxruntime)")
    if "TensorFlow way (documents)" in starts:
        theirs = starts["TensorFlow way (documents)"]
        print(f"  (the TensorFlow way takes {theirs[0] / ours[0]:.0f}x digitgen's time and "
              f"{theirs[1] / ours[1]:.0f}x its memory)")


def report(name, value, relation, target):
    met = value <= target if relation == "<=" else value >= target
    print(f"  {name:46s} {value:7.2f}  (target {relation} {target}: {'met' if met else 'MISSED'})")


if __name__ == "__main__":
    main()
