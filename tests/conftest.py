"""What the tests share: the checkout's store, the skip for tests that need MNIST, a synthetic
'mnist' in place of the real one, synthetic metrics and a random model with real entanglement."""
import hashlib

import numpy as np
import pytest
import torch

import qcnn
from qcnn import data
from qcnn.data import missing_files
from qcnn.entropy import entanglement_entropy
from qcnn.model import randomize
from qcnn.records import EntropyLog, Metrics
from qcnn.store import Store

STORE = Store()                     # this checkout's runs, analyses and figures
needs_mnist = pytest.mark.skipif(bool(missing_files("mnist", report=lambda *_: None)),
                                 reason="MNIST not fetched (qcnn data fetch mnist)")


def needs_runs(*configs):
    """Skip unless every run of ``configs`` is stored complete in this checkout."""
    return pytest.mark.skipif(len(STORE.stored(configs)) < len(set(configs)),
                              reason="a stored run of this test is missing")


def entangled_model(seed=0, min_entropy=0.2, **kwargs):
    """A float64 random model whose most entangled label state has at least ``min_entropy``
    nats, so that agreement with a reference is a real check (many random trees are nearly
    product states). Deterministic: the first such draw from ``seed``."""
    generator = torch.Generator().manual_seed(seed)
    kwargs.setdefault("n_classes", 3)
    for _ in range(100):
        model = randomize(qcnn.QCNN(**kwargs).double(), generator)
        if entanglement_entropy(model).max() >= min_entropy:
            return model
    raise AssertionError(f"no model with entropy >= {min_entropy} in 100 draws for {kwargs}")


def make_metrics(epochs, **fields):
    """Metrics of ``epochs`` epochs from the given per-epoch lists and entropy log (a dict of its
    lists; steps numbered from 0), every other list filled with 0.5."""
    filled = {k: [0.5] * epochs for k in ("lr", "train_accuracy", "test_accuracy", "train_cost",
                                          "test_cost")}
    log = fields.pop("entropy_log", {})
    log = {"step": list(range(len(log.get("epoch", [])))), **log}
    return Metrics(epoch=list(range(1, epochs + 1)), **{**filled, **fields},
                   entropy_log=EntropyLog(**log))


@pytest.fixture
def fake_dataset(monkeypatch):
    """'mnist' as four small synthetic IDX files ({name: bytes}), whose checksums replace the
    official ones for the test."""
    rng = np.random.default_rng(1)
    files = {name: data.idx_bytes(rng.integers(0, 256, (5, 28, 28) if "images" in name else (5,),
                                               dtype=np.uint8)) for name in data.FILES["mnist"]}
    monkeypatch.setitem(data.FILES, "mnist", {n: hashlib.sha256(b).hexdigest() for n, b in files.items()})
    return files


@pytest.fixture
def fake_mnist(tmp_path, fake_dataset):
    """A data folder holding ``fake_dataset``'s files."""
    for name, content in fake_dataset.items():
        data.write_atomic(data.raw_folder("mnist", tmp_path) / name, content)
    return tmp_path
