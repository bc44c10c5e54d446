"""onnxruntime's graph optimisation, done once per machine instead of at every start.

At ORT_ENABLE_ALL onnxruntime rewrites the graph for this CPU (convolutions in NCHWc blocks of 8
floats with AVX2, 16 with AVX-512): most of a session's creation, and while it runs the weights
are held twice. So the optimised graph of a model its manifest vouches for is saved on first use,
in the user's cache folder, and later sessions load it as it is (ORT_DISABLE_ALL), its weights
memory-mapped from the file. Such a graph suits only this CPU and this onnxruntime: both are in
its key. Before use, a cached graph must give the image the original session gave for a fixed
input when the graph was saved; one laid out for another CPU, or a damaged file, does not, and is
made again.

DIGITGEN_CACHE_DIR=FOLDER moves the cache; DIGITGEN_CACHE_DIR=off turns it off. Deleting the
folder is always safe.
"""

import hashlib
import os
import sys
from pathlib import Path

import numpy as np

MODEL, WEIGHTS, CHECK = "model.onnx", "model.onnx.data", "check.npy"
TOLERANCE = 1e-5  # the export's ONNX parity bound: the same graph on the same CPU gives the same images


def cache_root():
    """The folder of all cached graphs (not created here), or None when the cache is off."""
    setting = os.environ.get("DIGITGEN_CACHE_DIR")
    if setting is not None:
        return None if setting.strip().lower() in ("", "off") else Path(setting)
    # The platforms' conventions, written out: platformdirs says the same but takes 10-15 ms to import.
    try:
        if sys.platform == "win32":
            base = os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local"
        elif sys.platform == "darwin":
            base = Path.home() / "Library" / "Caches"
        else:
            base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    except RuntimeError:  # no home folder (a bare service account): no cache
        return None
    return Path(base) / "digitgen"


def cpu_signature():
    """What decides the graph's layout: the machine and its instruction-set extensions."""
    try:  # Linux names every extension; elsewhere the processor's name must do
        with open("/proc/cpuinfo") as stream:
            for line in stream:
                if line.startswith(("flags", "Features")):
                    return f"{os.uname().machine} {line.split(':', 1)[1].strip()}"
    except OSError:
        pass
    import platform

    return f"{platform.machine()} {platform.processor()}"


class OptimizedGraph:
    """The cached optimised graph of one model for this CPU and onnxruntime version: a folder that
    holds the graph, its weights and the check image, complete once the check is there."""

    def __init__(self, root, fingerprint, runtime_version):
        key = hashlib.sha256(f"{fingerprint}\n{runtime_version}\n{cpu_signature()}".encode()).hexdigest()
        self.folder = Path(root) / "optimized" / key[:32]
        self.model = self.folder / MODEL

    @classmethod
    def for_model(cls, fingerprint, runtime_version):
        """The cache entry of a model (fingerprint: its manifest's sha256s), or None when the cache
        is off or the model has no manifest."""
        root = cache_root()
        return None if root is None or fingerprint is None else cls(root, fingerprint, runtime_version)

    def ready(self):
        return (self.folder / CHECK).is_file()

    def stage(self):
        """A new folder beside the entry for the graph onnxruntime is about to save, or None when
        the cache cannot be written (a read-only home): the model then simply runs uncached."""
        import tempfile  # first use only: a cached start-up does without its 7 ms

        if self.folder.exists() and not self.ready():  # an entry left incomplete by hand: in the way
            self.drop(self.folder)
        try:
            self.folder.parent.mkdir(parents=True, exist_ok=True)
            return Path(tempfile.mkdtemp(prefix=f".{self.folder.name}.", dir=self.folder.parent))
        except OSError:
            return None

    @staticmethod
    def save_with(options, staging):
        """Have the session these options make save its optimised graph into `staging`."""
        options.optimized_model_filepath = str(staging / MODEL)
        options.add_session_config_entry("session.optimized_model_external_initializers_file_name", WEIGHTS)
        options.add_session_config_entry("session.optimized_model_external_initializers_min_size_in_bytes", "1024")
        options.log_severity_level = 3  # not its warning that the graph suits this CPU only: the key says so

    def publish(self, staging, check_images):
        """Complete the staged graph with its check image and move it into place in one rename;
        another process that got there first wins, and the staged copy is dropped. True when the
        entry is in place."""
        try:
            np.save(staging / CHECK, check_images)
            staging.rename(self.folder)
        except OSError:
            self.drop(staging)
        return self.ready()

    @staticmethod
    def drop(folder):
        import shutil  # rarely needed, and 4 ms to import

        shutil.rmtree(folder, ignore_errors=True)

    def reproduces(self, images):
        """True when the cached graph gives the images recorded when it was saved."""
        try:
            expected = np.load(self.folder / CHECK)
        except (OSError, ValueError):
            return False
        return expected.shape == images.shape and bool(np.allclose(images, expected, rtol=0, atol=TOLERANCE))

    def discard(self):
        self.drop(self.folder)
