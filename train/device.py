"""Where training runs, per Keras backend: every GPU the backend sees (data-parallel when there are
several), else the CPU; and the mixed precision that pays there. A new backend is one function
and one entry in PLACEMENTS."""

import contextlib
import dataclasses
import os
from pathlib import Path
from typing import Callable, ContextManager

import keras


@dataclasses.dataclass
class Placement:
    scope: Callable[[], ContextManager]  # the networks and optimizers are made inside it
    description: str  # which device(s) train, for the run's first line
    mixed_policy: str | None  # the mixed precision that pays on this device; None: float32 only
    replicas: int = 1  # devices that share each batch


def tensorflow_placement():
    """MirroredStrategy over several GPUs, one GPU, else the CPU. GPUs: mixed_float16 (TensorFlow
    scales the loss)."""
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if len(gpus) > 1:
        strategy = tf.distribute.MirroredStrategy()
        return Placement(strategy.scope, f"{len(gpus)} GPUs (MirroredStrategy)", "mixed_float16", len(gpus))
    if gpus:
        name = tf.config.experimental.get_device_details(gpus[0]).get("device_name", gpus[0].name)
        return Placement(tf.distribute.OneDeviceStrategy("/gpu:0").scope, f"GPU: {name}", "mixed_float16")
    return _cpu_placement()


def jax_placement():
    """keras.distribution.DataParallel over several devices (accelerators; CPU devices only where
    XLA_FLAGS=--xla_force_host_platform_device_count makes several), else the one device.
    Accelerators: mixed_bfloat16 where they multiply bfloat16 (no loss scaling needed), else float32."""
    import jax

    devices = [device for device in jax.devices() if device.platform != "cpu"] or jax.devices()
    if devices[0].platform == "cpu":
        cpu = _cpu_placement()
        policy, name = cpu.mixed_policy, cpu.description
    else:
        policy = "mixed_bfloat16" if all(map(_has_bfloat16, devices)) else None
        name = f"{devices[0].platform.upper()}: {devices[0].device_kind}"
    if len(devices) == 1:
        return Placement(contextlib.nullcontext, name, policy)
    # set globally: fit() itself shards each batch over the devices, not only model building
    keras.distribution.set_distribution(keras.distribution.DataParallel(devices=devices))
    return Placement(contextlib.nullcontext, f"{len(devices)} devices, {name} (DataParallel)", policy, len(devices))


PLACEMENTS = {"tensorflow": tensorflow_placement, "jax": jax_placement}


def pick_placement() -> Placement:
    return PLACEMENTS[keras.backend.backend()]()


def use_mixed_precision(requested, placement: Placement):
    """Set the placement's mixed policy when asked for; return its name, or None for float32."""
    if not requested:
        return None
    if placement.mixed_policy is None:
        print("--mixed-precision: this device has no fast float16 or bfloat16 path here; training in float32")
        return None
    keras.mixed_precision.set_global_policy(placement.mixed_policy)
    return placement.mixed_policy


def _cpu_placement():
    """A CPU with bfloat16 dot products (AVX512_BF16 or AMX) gets mixed_bfloat16, measured ~1.3x
    faster than float32 on TensorFlow; other CPUs stay float32."""
    policy = "mixed_bfloat16" if cpu_has_bfloat16() else None
    return Placement(contextlib.nullcontext, f"CPU ({os.cpu_count()} cores)", policy)


def _has_bfloat16(device):
    """TPUs, and NVIDIA GPUs from Ampere on (compute capability 8.0)."""
    if device.platform == "tpu":
        return True
    try:
        return float(getattr(device, "compute_capability", "0")) >= 8.0
    except ValueError:
        return False


def cpu_has_bfloat16():
    """True where the CPU multiplies bfloat16 natively (Linux's /proc/cpuinfo says so)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags
