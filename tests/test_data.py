import re
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from tests.helpers import checkout_env, fake_digits, write_idx
from train.data import DataError, load_mnist, make_dataset


def test_npz_loads_both_splits_and_limit(mnist_npz):
    images, labels = load_mnist(mnist_npz, limit=100)
    assert images.shape == (100, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (100,)
    test_images, _ = load_mnist(mnist_npz, split="test")
    assert test_images.shape == (64, 28, 28)


@pytest.mark.parametrize("compress", [False, True])
def test_idx_by_images_file_labels_file_or_folder(tmp_path, compress):
    images, labels = fake_digits(50)
    suffix = ".gz" if compress else ""
    images_file = write_idx(tmp_path / f"train-images-idx3-ubyte{suffix}", images, compress)
    labels_file = write_idx(tmp_path / f"train-labels-idx1-ubyte{suffix}", labels, compress)
    for path in (images_file, labels_file, tmp_path):
        loaded_images, loaded_labels = load_mnist(path)
        np.testing.assert_array_equal(loaded_images, images)
        np.testing.assert_array_equal(loaded_labels, labels)


def bad_npz(tmp_path, name, **arrays):
    path = tmp_path / f"{name}.npz"
    np.savez(path, **arrays)
    return path


def truncated_copy(path):
    data = path.read_bytes()
    cut = path.with_name("cut_" + path.name)
    cut.write_bytes(data[: len(data) // 2])
    return cut


def test_bad_files_name_the_file_and_the_fault(tmp_path, mnist_npz):
    images, labels = fake_digits(20)
    cases = {
        "no such file": tmp_path / "missing.npz",
        "not a readable .npz": truncated_copy(mnist_npz),
        "expected (N, 28, 28)": bad_npz(tmp_path, "shape", x_train=np.zeros((5, 32, 32), np.uint8),
                                        y_train=np.zeros(5, np.uint8)),
        "no 'x_train' array": bad_npz(tmp_path, "keys", images=images),
        "expected uint8": bad_npz(tmp_path, "dtype", x_train=images.astype(np.float64), y_train=labels),
    }
    for expected, path in cases.items():
        with pytest.raises(DataError, match=re.escape(expected)) as caught:
            load_mnist(path)
        assert str(path) in str(caught.value)


def test_bad_idx_files(tmp_path):
    images, labels = fake_digits(20)
    write_idx(tmp_path / "train-labels-idx1-ubyte", labels)
    images_file = write_idx(tmp_path / "train-images-idx3-ubyte", images)
    truncated_copy(images_file).replace(images_file)
    with pytest.raises(DataError, match="truncated"):
        load_mnist(images_file)

    write_idx(images_file, labels)  # a labels file under the images name: wrong magic number
    with pytest.raises(DataError, match="not an IDX images file"):
        load_mnist(images_file)

    write_idx(images_file, images[:10])
    with pytest.raises(DataError, match="20 labels for 10 images"):
        load_mnist(tmp_path)

    (tmp_path / "train-labels-idx1-ubyte").unlink()
    with pytest.raises(DataError, match="no train-labels-idx1-ubyte"):
        load_mnist(images_file)

    zipfile.ZipFile(tmp_path / "weird.bin", "w").close()
    with pytest.raises(DataError, match="not a MNIST file"):
        load_mnist(tmp_path / "weird.bin")


@pytest.mark.tensorflow
def test_no_network_is_a_clear_error(monkeypatch):
    import keras

    def offline():
        raise OSError("no route to host")

    monkeypatch.setattr(keras.datasets.mnist, "load_data", offline)
    with pytest.raises(DataError, match="pass --data"):
        load_mnist(None)


@pytest.mark.tensorflow
def test_dataset_scales_to_unit_range_in_full_batches(mnist_npz):
    images, labels = load_mnist(mnist_npz, limit=100)
    dataset, steps = make_dataset(images, labels, batch_size=32, seed=0)
    batches = list(dataset)
    assert steps is None and len(batches) == 3  # 100 // 32: the remainder is dropped
    batch, batch_labels = (tensor.numpy() for tensor in batches[0])
    assert batch.shape == (32, 28, 28, 1) and batch.dtype == np.float32
    assert batch.min() >= -1.0 and batch.max() <= 1.0 and batch.max() == 1.0
    assert batch_labels.shape == (32,) and batch_labels.dtype == np.int32
    # the labels stay with their images through the shuffle: fake_digits draws a bar at row 4 + 2 * label
    assert all(image[5 + 2 * label, 10, 0] == 1.0 for image, label in zip(batch, batch_labels))


@pytest.mark.tensorflow
def test_cli_bad_data_is_one_line_exit_2(tmp_path):
    bad = tmp_path / "mnist.npz"
    bad.write_bytes(b"not a zip at all")
    result = subprocess.run(
        [sys.executable, "-m", "train", "--data", str(bad), "--out", str(tmp_path / "run")],
        capture_output=True, text=True, env=checkout_env(),
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("error: ")
    assert str(bad) in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "run").exists()


@pytest.mark.tensorflow
def test_shuffled_batches_cover_each_pass_once_with_labels_and_follow_the_epoch():
    """The PyDataset that feeds JAX: full batches, every image once per pass, labels aligned, a new
    order each pass, and batches that depend only on (seed, epoch, index)."""
    from train.batches import ShuffledBatches

    images, labels = fake_digits(100, seed=3)
    batches = ShuffledBatches(images, labels, batch_size=32, seed=0)
    assert len(batches) == 3  # 100 // 32: the remainder waits for a later pass
    epoch_0 = [batches[i] for i in range(len(batches))]
    for batch, batch_labels in epoch_0:
        assert batch.shape == (32, 28, 28, 1) and batch.dtype == np.float32 and batch_labels.dtype == np.int32
        assert batch.min() >= -1.0 and batch.max() == 1.0
        assert all(image[5 + 2 * label, 10, 0] == 1.0 for image, label in zip(batch, batch_labels))
    seen = np.concatenate([batch.reshape(32, -1) for batch, _ in epoch_0])
    assert len(np.unique(seen, axis=0)) == 96  # no image twice in a pass
    batches.start_epoch(1)
    assert not np.array_equal(batches[0][0], epoch_0[0][0])  # reshuffled
    again = ShuffledBatches(images, labels, batch_size=32, seed=0)
    again.start_epoch(1)  # a resumed run: the batches an uninterrupted one would see
    np.testing.assert_array_equal(again[2][0], batches[2][0])

    # epochs of any length: a stream of passes
    longer = ShuffledBatches(images, labels, batch_size=32, seed=0, steps=5)
    assert len(longer) == 5
    np.testing.assert_array_equal(longer[1][0], epoch_0[1][0])
    np.testing.assert_array_equal(longer[3][0], batches[0][0])  # the 4th batch starts the second pass
