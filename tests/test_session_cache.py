"""The cache of optimised ONNX graphs: made on first use, used after, checked before use, never in
the way (off, unwritable, damaged, raced), and never a change to the digits."""

import shutil
import subprocess
import sys
import threading

import numpy as np
import pytest

from digitgen import DigitGenerator, ModelError
from digitgen import session_cache
from digitgen.model_files import bundled_model_dir
from digitgen.session_cache import CHECK, MODEL, WEIGHTS, OptimizedGraph
from tests.onnx_models import tiny_generator


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("DIGITGEN_CACHE_DIR", str(folder))
    return folder


@pytest.fixture(scope="module")
def uncached_digits():
    """What the bundled model draws with no cache at all: what every cached start must draw."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DIGITGEN_CACHE_DIR", "off")
        generator = DigitGenerator()
        assert "no cache" in generator.engine.graph
        return generator.generate(24, seed=5), generator.generate(10, seed=6, digit=3)


def entries(cache):
    return sorted(p for p in (cache / "optimized").iterdir()) if (cache / "optimized").exists() else []


def assert_draws(generator, uncached_digits):
    assert np.array_equal(generator.generate(24, seed=5), uncached_digits[0])
    assert np.array_equal(generator.generate(10, seed=6, digit=3), uncached_digits[1])


def test_the_first_start_caches_the_graph_and_later_starts_use_it(cache, uncached_digits):
    first = DigitGenerator()
    assert "now cached" in first.engine.graph
    (entry,) = entries(cache)
    assert sorted(p.name for p in entry.iterdir()) == sorted([MODEL, WEIGHTS, CHECK])
    assert_draws(first, uncached_digits)
    for threads in (1, 2):  # the same graph whatever the thread count
        later = DigitGenerator(threads=threads)
        assert "from the cache" in later.engine.graph
        assert_draws(later, uncached_digits)
    assert entries(cache) == [entry]


def test_damaged_cached_weights_are_detected_and_the_graph_made_again(cache, uncached_digits):
    DigitGenerator()
    (entry,) = entries(cache)
    weights = bytearray((entry / WEIGHTS).read_bytes())
    for start in range(0, len(weights), 4096):  # one float in every page: any weight the image uses
        weights[start + 1] ^= 0x40
    (entry / WEIGHTS).write_bytes(bytes(weights))
    generator = DigitGenerator()
    assert "now cached" in generator.engine.graph  # the check failed, the graph was made again
    assert_draws(generator, uncached_digits)
    assert "from the cache" in DigitGenerator().engine.graph


def test_a_graph_that_does_not_give_its_check_image_is_not_used(cache, uncached_digits):
    """As a graph laid out for another CPU would: its image differs from the one recorded."""
    DigitGenerator()
    (entry,) = entries(cache)
    check = np.load(entry / CHECK)
    np.save(entry / CHECK, check + 1e-3)
    assert "now cached" in DigitGenerator().engine.graph
    assert np.array_equal(np.load(entry / CHECK), check)


def test_an_unreadable_cached_graph_is_made_again(cache, uncached_digits):
    DigitGenerator()
    (entry,) = entries(cache)
    (entry / MODEL).write_bytes(b"not a model")
    generator = DigitGenerator()
    assert "now cached" in generator.engine.graph
    assert_draws(generator, uncached_digits)


def test_the_key_holds_the_model_the_cpu_and_onnxruntime(tmp_path, monkeypatch):
    monkeypatch.setenv("DIGITGEN_CACHE_DIR", str(tmp_path))
    folder = OptimizedGraph.for_model("a", "1.0").folder
    assert OptimizedGraph.for_model("b", "1.0").folder != folder
    assert OptimizedGraph.for_model("a", "1.1").folder != folder
    monkeypatch.setattr(session_cache, "cpu_signature", lambda: "x86_64 avx512f")
    assert OptimizedGraph.for_model("a", "1.0").folder != folder
    assert OptimizedGraph.for_model(None, "1.0") is None  # no manifest, no cache


@pytest.mark.parametrize("setting", ["off", ""])
def test_the_cache_can_be_turned_off(tmp_path, monkeypatch, setting, uncached_digits):
    monkeypatch.setenv("DIGITGEN_CACHE_DIR", setting)
    monkeypatch.chdir(tmp_path)
    generator = DigitGenerator()
    assert "no cache" in generator.engine.graph
    assert_draws(generator, uncached_digits)
    assert list(tmp_path.iterdir()) == []


def test_an_unwritable_cache_folder_costs_only_the_cache(tmp_path, monkeypatch, uncached_digits):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("DIGITGEN_CACHE_DIR", str(blocker / "cache"))
    generator = DigitGenerator()
    assert "could not be written" in generator.engine.graph
    assert_draws(generator, uncached_digits)
    result = subprocess.run([sys.executable, "-m", "digitgen", "--seed", "1", "--out", str(tmp_path / "d.png")],
                            capture_output=True, text=True)
    assert result.returncode == 0 and result.stderr == ""


def test_a_model_without_a_manifest_is_not_cached(cache, tmp_path):
    generator = DigitGenerator(model=tiny_generator(tmp_path / "tiny.onnx", conditional=True))
    assert "no cache" in generator.engine.graph and entries(cache) == []


def test_the_first_start_of_the_command_is_silent(cache, tmp_path):
    """onnxruntime warns when it saves a graph laid out for one CPU: that is what the key is for."""
    for attempt in range(2):
        result = subprocess.run([sys.executable, "-m", "digitgen", "--seed", "1", "--out", str(tmp_path / f"d{attempt}.png")],
                                capture_output=True, text=True)
        assert result.returncode == 0 and result.stderr == "", result.stderr
    assert len(entries(cache)) == 1


def test_generators_started_together_share_one_entry(cache, uncached_digits):
    generators, errors = [], []

    def start():
        try:
            generators.append(DigitGenerator())
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=start) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and len(generators) == 3
    for generator in generators:
        assert_draws(generator, uncached_digits)
    (entry,) = entries(cache)  # no staging folder left behind
    assert "from the cache" in DigitGenerator().engine.graph


def test_the_cache_follows_the_platform_convention(monkeypatch, tmp_path):
    monkeypatch.delenv("DIGITGEN_CACHE_DIR")
    monkeypatch.setattr(session_cache.sys, "platform", "linux")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert session_cache.cache_root() == tmp_path / "digitgen"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert session_cache.cache_root() == tmp_path / ".cache" / "digitgen"

    def no_home():
        raise RuntimeError("Could not determine home directory.")

    monkeypatch.setattr(session_cache.Path, "home", staticmethod(no_home))
    assert session_cache.cache_root() is None


@pytest.fixture
def model_copy(tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    for name in ("generator.onnx", "generator.onnx.data", "manifest.json"):
        shutil.copy(bundled_model_dir() / name, folder / name)
    return folder


def flip_a_weight(folder):
    weights = folder / "generator.onnx.data"
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0x40  # same size: only the sha256 tells
    weights.write_bytes(bytes(data))


def test_a_cached_graph_does_not_excuse_a_modified_model(cache, model_copy):
    DigitGenerator(model=model_copy)
    assert len(entries(cache)) == 1
    flip_a_weight(model_copy)
    with pytest.raises(ModelError, match="generator.onnx.data: sha256 does not match"):
        DigitGenerator(model=model_copy)


def test_nothing_made_from_a_modified_model_is_cached(cache, model_copy):
    flip_a_weight(model_copy)
    with pytest.raises(ModelError, match="sha256 does not match"):
        DigitGenerator(model=model_copy)
    assert list((cache / "optimized").iterdir()) == []  # no entry, no staging folder


def test_an_entry_missing_its_check_image_is_made_again(cache):
    DigitGenerator()
    (entry,) = entries(cache)
    (entry / CHECK).unlink()
    assert "now cached" in DigitGenerator().engine.graph
    assert "from the cache" in DigitGenerator().engine.graph
