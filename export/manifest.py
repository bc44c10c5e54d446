"""manifest.json: what was exported, how to feed it, and what made it; the runtime trusts nothing else."""

import datetime
from importlib import metadata
from pathlib import Path

from digitgen.model_files import file_sha256 as sha256  # the runtime checks what this records

MANIFEST_FILE = "manifest.json"
TOOLS = ("tensorflow", "keras", "tf2onnx", "onnx", "onnxruntime", "ai-edge-litert")


def file_entry(path, **details):
    path = Path(path)
    return {"name": path.name, "sha256": sha256(path), "size": path.stat().st_size, **details}


def tool_versions():
    versions = {}
    for tool in TOOLS:
        try:
            versions[tool] = metadata.version(tool)
        except metadata.PackageNotFoundError:
            versions[tool] = None
    return versions


def build_manifest(source, models, latent_dim, conditional, value_range):
    """`models`: {backend: (path, input contract, output shape, extra details)} of the exported files."""
    return {
        "format_version": 3,  # 3: an ONNX model may keep its weights in a "data" file
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "source": file_entry(source),
        "latent_dim": latent_dim,
        "conditional": conditional,
        "noise": "numpy.random.default_rng(seed).standard_normal((n, latent_dim), dtype=float32)",
        "value_range": list(value_range),
        "models": {
            backend: file_entry(
                path,
                inputs=contract,
                output={"name": "images", "dtype": "float32", "shape": output_shape},
                **extra,
            )
            for backend, (path, contract, output_shape, extra) in models.items()
        },
        "tools": tool_versions(),
    }
