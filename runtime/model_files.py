"""Finding a model and trusting it: the bundled one, a given folder or file, checked before use."""

import hashlib
import json
import re
import threading
from pathlib import Path

from digitgen.backends import ModelError
from digitgen.contract import NOISE, parse_contract
from digitgen.validation import check_integer

MANIFEST_FILE = "manifest.json"
SUFFIXES = {".onnx": "onnx", ".tflite": "tflite", ".json": "numpy"}
SHA256 = re.compile(r"[0-9a-f]{64}")


def bundled_model_dir():
    """The model shipped with the package; in a source checkout, the repository's artifacts/."""
    packaged = Path(__file__).resolve().parent / "model"  # installed as files, never zipped
    if (packaged / MANIFEST_FILE).is_file():
        return packaged
    checkout = Path(__file__).resolve().parent.parent / "artifacts"
    if (checkout / MANIFEST_FILE).is_file():
        return checkout
    raise ModelError("no bundled model found: reinstall digitgen, or pass --model FILE")


def backend_for_file(path):
    """The backend a model file's suffix implies, or None."""
    return SUFFIXES.get(Path(path).suffix.lower())


def resolve(model, backend):
    """Return (model file, manifest or None, input contract or None, Verification) for `backend`.
    The files' sizes are checked already, their sha256s are being checked (wait() for it). Without
    a contract in a manifest, the engine reads the model's own."""
    path, manifest = _locate(model, backend)
    entry = _entry_for(manifest, path) if manifest else None
    return path, manifest, _contract(entry, path) if entry else None, Verification(path, entry)


class Verification:
    """The check of a model's files (its weights file too, when it has one) against its manifest.

    Missing or resized files are refused at once; the sha256s are computed on a thread of their
    own, beside the start of the model's session (onnxruntime loads and hashlib hashes with the
    GIL released: on 2 cores, 10 ms less start-up), and wait() raises ModelError for a modified
    file. Nothing is drawn, and nothing cached, before wait() has returned.
    """

    def __init__(self, path, entry):
        files = []
        if entry is not None:
            if "data" in entry:
                files.append((path.parent / entry["data"]["name"], entry["data"]))
            files.append((path, entry))
        for file, file_entry in files:
            _check_size(file, file_entry)
        self.fingerprint = " ".join(e["sha256"] for _, e in files) or None  # the model, to caches
        self._error = None
        self._thread = threading.Thread(target=self._check_digests, args=(files,), daemon=True) if files else None
        if self._thread is not None:
            self._thread.start()

    def _check_digests(self, files):
        try:
            for file, entry in files:
                _check_sha256(file, entry)
        except ModelError as error:
            self._error = error

    def wait(self):
        if self._thread is not None:
            self._thread.join()
        if self._error is not None:
            raise self._error


def _entry_for(manifest, path):
    return next((e for e in manifest["models"].values() if e["name"] == path.name), None)


def _contract(entry, path):
    """The manifest's contract; a manifest written before contracts (format 1) has one noise input."""
    if "inputs" in entry:
        try:
            return parse_contract(entry["inputs"], path)
        except ValueError as error:
            raise ModelError(str(error)) from None
    if "input" in entry:
        return _contract({"inputs": {NOISE: entry["input"]}}, path)
    return None


KERAS_SUFFIXES = (".keras", ".h5", ".hdf5")


def _locate(model, backend):
    folder = bundled_model_dir() if model is None else Path(model)
    if folder.suffix.lower() in KERAS_SUFFIXES or (folder / "saved_model.pb").is_file():
        raise ModelError(f"{folder}: a Keras model, which the runtime does not run: export it first "
                         f"(python -m export --generator {folder} --out DIR), then --model DIR")
    if folder.is_dir():
        manifest = read_manifest(folder / MANIFEST_FILE)
        entry = manifest["models"].get(backend)
        if entry is None:
            raise ModelError(f"{folder}: its manifest lists no {backend} model")
        return folder / entry["name"], manifest
    path = folder
    if not path.is_file():
        raise ModelError(f"{path}: no such model file")
    beside = path.parent / MANIFEST_FILE
    if beside.is_file():
        manifest = read_manifest(beside)
        entry = _entry_for(manifest, path)
        if entry is not None:
            return path, manifest
    return path, None  # no manifest: the caller checks the model's input and output shapes


MODEL_CARD_FILE = "MODEL_CARD.md"


def read_model_card(folder):
    """The model card's key figures: the `key: value` lines of its front matter (between the
    first two `---` lines, Hugging Face style), as strings; {} without a card or front matter."""
    try:
        lines = (Path(folder) / MODEL_CARD_FILE).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return {}
    if not lines or lines[0].strip() != "---" or "---" not in (line.strip() for line in lines[1:]):
        return {}
    figures = {}
    for line in lines[1:]:
        if line.strip() == "---":
            break
        key, colon, value = line.partition(":")
        if colon and key.strip() and not key.startswith((" ", "#")):
            figures[key.strip()] = value.strip().strip('"')
    return figures


def read_manifest(path):
    """The manifest, every field the runtime uses checked: a bad one is a ModelError, never a
    KeyError or a file outside the model's folder."""
    try:
        manifest = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise ModelError(f"{path}: no such manifest") from None
    except (OSError, ValueError) as error:
        raise ModelError(f"{path}: not a digitgen manifest ({type(error).__name__}: {error})") from None
    problem = manifest_problem(manifest)
    if problem:
        raise ModelError(f"{path}: not a valid digitgen manifest: {problem}")
    return manifest


def manifest_problem(manifest):
    """What is wrong with a parsed manifest, or None."""
    if not isinstance(manifest, dict):
        return "not a JSON object"
    problem = _integer_problem(manifest.get("latent_dim"), "latent_dim", low=1)
    if problem:
        return problem
    models = manifest.get("models")
    if not isinstance(models, dict) or not models:
        return '"models" must be an object naming at least one model'
    for backend, entry in models.items():
        problem = _file_entry_problem(entry, f"models.{backend}")
        if problem:
            return problem
        if "data" in entry:
            problem = _file_entry_problem(entry["data"], f"models.{backend}.data")
            if problem:
                return problem
    return None


def _file_entry_problem(entry, where):
    if not isinstance(entry, dict):
        return f"{where} must be an object"
    name = entry.get("name")
    if not isinstance(name, str) or not name or Path(name).name != name or name in (".", ".."):
        return f"{where}.name must be a file name inside the model's folder"
    problem = _integer_problem(entry.get("size"), f"{where}.size")
    if problem:
        return problem
    if not isinstance(entry.get("sha256"), str) or not SHA256.fullmatch(entry["sha256"]):
        return f"{where}.sha256 must be 64 hexadecimal digits"
    return None


def _integer_problem(value, name, low=0):
    try:
        check_integer(value, name, low)
    except ValueError as error:
        return str(error)
    return None


def _check_size(path, entry):
    if not path.is_file():
        raise ModelError(f"{path}: missing (the manifest lists it)")
    if path.stat().st_size != entry["size"]:
        raise ModelError(
            f"{path}: {path.stat().st_size} bytes, manifest says {entry['size']}: truncated or replaced"
        )


def file_sha256(path):
    """A file's sha256, hex: what manifests record (export writes them, evaluation reports them)."""
    with open(path, "rb") as stream:  # in blocks: the whole file would add its size to peak memory
        return hashlib.file_digest(stream, "sha256").hexdigest()


def _check_sha256(path, entry):
    try:
        digest = file_sha256(path)
    except OSError as error:
        raise ModelError(f"{path}: cannot be read ({error.strerror or error})") from None
    if digest != entry["sha256"]:
        raise ModelError(f"{path}: sha256 does not match its manifest: the file was modified")
