"""Data: IDX files, verified fetch with fallbacks and atomic writes, loading and resizing."""

import numpy as np
import pytest
import torch

from qcnn import data


def test_idx_round_trip(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, (7, 28, 28), dtype=np.uint8)
    path = tmp_path / "x-idx3-ubyte"
    data.write_atomic(path, data.idx_bytes(images))
    assert np.array_equal(data.idx_array(path.read_bytes()), images)
    assert list(tmp_path.iterdir()) == [path]          # no temporary file left behind


def test_fetch_tries_sources_in_order_and_replaces_corrupt_files(tmp_path, monkeypatch, fake_dataset):
    calls = []

    def broken(name, workdir):
        calls.append("broken")
        raise ConnectionError("no internet")

    def good(name, workdir):
        calls.append("good")
        return fake_dataset
    monkeypatch.setattr(data, "SOURCES", [("broken", broken), ("good", good)])
    folder = data.raw_folder("mnist", tmp_path)
    folder.mkdir(parents=True)
    (folder / "train-images-idx3-ubyte").write_bytes(b"truncated")
    reports = []
    data.fetch("mnist", tmp_path, report=reports.append)
    assert calls == ["broken", "good"]
    assert any("checksum mismatch" in r for r in reports)
    assert data.missing_files("mnist", tmp_path) == []
    data.fetch("mnist", tmp_path, report=reports.append)   # present and valid: no source asked
    assert calls == ["broken", "good"] and "present and verified" in reports[-1]


def test_fetch_failure_says_what_was_tried(tmp_path, monkeypatch, fake_dataset):
    def wrong(name, workdir):
        return {n: b"wrong bytes" for n in fake_dataset}
    monkeypatch.setattr(data, "SOURCES", [("wrong", wrong)])
    with pytest.raises(FileNotFoundError, match=r"(?s)tried:.*wrong: incomplete or wrong checksums"
                                            r".*by hand"):
        data.fetch("mnist", tmp_path, report=lambda *_: None)
    assert not any(p.is_file() for p in tmp_path.rglob("*"))   # nothing half-written


def test_resize_keeps_constants_and_range():
    images = np.stack([np.full((28, 28), 255, np.uint8), np.zeros((28, 28), np.uint8),
                       np.random.default_rng(2).integers(0, 256, (28, 28), dtype=np.uint8)])
    small = data.resize(images)
    assert small.shape == (3, 16, 16) and small.dtype == torch.float32
    torch.testing.assert_close(small[0], torch.ones(16, 16), rtol=0, atol=1e-6)   # float32 weights
    assert (small[1] == 0).all()
    assert 0 <= small.min() and small.max() <= 1


def test_resize_matches_torchvision():
    v2 = pytest.importorskip("torchvision.transforms.v2", exc_type=ImportError)
    images = np.random.default_rng(3).integers(0, 256, (4, 28, 28), dtype=np.uint8)
    reference = v2.Resize((16, 16), antialias=True)(torch.from_numpy(images).float()[:, None] / 255)
    torch.testing.assert_close(data.resize(images), reference[:, 0].clamp(0, 1), rtol=0, atol=0)


def test_published_resize_is_pils_within_one_grey_level_of_ours():
    """The published code's resize (PIL's bilinear filter on uint8, rounded) keeps a constant
    image exactly and lies within one grey level (1/255) of this book's: the same
    antialiased triangle filter, rounded in fixed point."""
    constant = np.full((1, 28, 28), 200, np.uint8)
    assert (data.resize_published(constant) * 255 == 200).all()
    images = np.random.default_rng(4).integers(0, 256, (200, 28, 28), dtype=np.uint8)
    published = data.resize_published(images)
    assert published.shape == (200, 16, 16) and published.dtype == torch.float32
    assert (published * 255 - (published * 255).round()).abs().max() < 1e-4     # whole grey levels
    # PIL resizes in two passes, each rounded to a grey level (at most 1/2 each): at most one level
    assert (published - data.resize(images)).abs().max() <= 1 / 255 + 1e-6


@pytest.mark.parametrize("name", data.DATASETS)
def test_load_real_data(name):
    """The official sets (fetched by `make test` first): sizes, range, label counts."""
    if data.missing_files(name, report=lambda *_: None):
        pytest.skip(f"{name} not fetched (qcnn data fetch)")
    train_x, train_y = data.load(name, "train")
    test_x, test_y = data.load(name, "test")
    assert train_x.shape == (60000, 16, 16) and test_x.shape == (10000, 16, 16)
    assert 0 <= train_x.min() and train_x.max() <= 1
    counts = test_y.bincount().tolist()
    assert counts == ([980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009] if name == "mnist"
                      else [1000] * 10)
    assert train_y.bincount().sum() == 60000


def test_bad_names():
    with pytest.raises(ValueError, match="dataset must be one of"):
        data.load("cifar", "train")
    with pytest.raises(ValueError, match=r"split must be one of \('train', 'test'\), got 'valid'"):
        data.load("mnist", "valid")
