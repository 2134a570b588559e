"""Runs on a Dask cluster: the same files as one-by-one training, stored runs skipped, a worker
killed mid-run survived (resumed from the checkpoint), runs sent back where the store is not
shared, and the run lock."""
import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest
import torch

from conftest import STORE, needs_mnist
from qcnn.cluster import make_client, run_all, run_task
from qcnn.config import Config, run_id
from qcnn.errors import Busy
from qcnn.runs import make_run, run_lock
from qcnn.store import Store

pytestmark = [pytest.mark.slow, needs_mnist]
TINY = dict(n=2, limit_train=200, limit_test=100, batch_size=10, entropy_per_epoch=2)
GRID = [Config(d=d, epochs=2, **TINY) for d in (3, 4, 5)]


def one_thread_run(config, directory):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        make_run(config, STORE, directory, device="cpu", progress=False)
    finally:
        torch.set_num_threads(threads)
    return (directory / "metrics.json").read_bytes()


@pytest.fixture(scope="module")
def client():
    with make_client(workers=2) as c:
        yield c


def store_at(folder):
    """The checkout's store with its runs in ``folder``."""
    return Store(STORE.root, runs=folder)


def test_cluster_equals_one_by_one_and_skips_stored(client, tmp_path):
    store = store_at(tmp_path / "store")
    made = run_all(GRID, client, store, device="cpu", progress=False, log=lambda *_: None)
    assert sorted(made) == sorted(run_id(c) for c in GRID)
    for config in GRID:
        stored = store.run_dir(config)
        assert (stored / "model.safetensors").exists()
        assert (stored / "metrics.json").read_bytes() == one_thread_run(config, tmp_path / run_id(config))
        assert json.loads((stored / "provenance.json").read_text())["sittings_log"][0]["threads"] == 1
    before = {p: p.stat().st_mtime_ns for p in (tmp_path / "store").rglob("*.json")}
    assert run_all(GRID, client, store, device="cpu", progress=False, log=lambda *_: None) == []
    assert before == {p: p.stat().st_mtime_ns for p in (tmp_path / "store").rglob("*.json")}


def test_worker_killed_mid_run_resumes(client, tmp_path):
    """SIGKILL the worker training a run after its first checkpoint: Dask reschedules the task,
    the new attempt takes over the dead worker's lock and resumes; the metrics equal an
    uninterrupted run's."""
    config = Config(d=4, epochs=5, **dict(TINY, limit_train=600))
    store = store_at(tmp_path / "store")
    directory = store.run_dir(config)
    killed = []

    def killer():
        deadline = time.time() + 120
        while time.time() < deadline and not killed:
            lock, checkpoint = directory / ".lock", directory / "checkpoint.safetensors"
            if checkpoint.exists() and lock.exists() and lock.read_text().startswith("pid "):
                pid = int(lock.read_text().split()[1])
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
            time.sleep(0.05)
    thread = threading.Thread(target=killer)
    thread.start()
    run_all([config], client, store, device="cpu", progress=False, log=lambda *_: None)
    thread.join()
    assert killed, "the worker was not killed mid-run"
    provenance = json.loads((directory / "provenance.json").read_text())
    assert provenance["sittings"] == 2 and provenance["sittings_log"][1]["from_epoch"] > 0
    assert (directory / "metrics.json").read_bytes() == one_thread_run(config, tmp_path / "straight")


def test_unshared_store_sends_files_back(tmp_path, monkeypatch):
    """A worker that cannot see the client's store (wrong token) trains in its scratch store
    and returns every file of the run."""
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path / "scratch"))
    (tmp_path / "scratch").mkdir()
    config = GRID[0]
    rid, files = run_task(config.to_dict(), (0, 1), "cpu", 1, str(STORE.root),
                          str(tmp_path / "client"), "token", "test")
    assert rid == run_id(config)
    assert sorted(files) == ["config.json", "metrics.json", "model.safetensors", "provenance.json",
                             "snapshots/epoch-0.safetensors", "snapshots/epoch-1.safetensors"]
    assert files["metrics.json"] == (tmp_path / "scratch" / "qcnn-runs" / rid / "metrics.json").read_bytes()


def test_run_lock_waits_for_the_living_and_takes_over_from_the_dead(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from pathlib import Path; from qcnn.runs import run_lock\n"
        "with run_lock(Path(sys.argv[1])):\n    print('locked', flush=True); time.sleep(60)"),
        str(tmp_path)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    with pytest.raises(Busy, match=f"pid {holder.pid} on"):
        with run_lock(tmp_path, wait=False):
            pass
    holder.kill()
    holder.wait()
    messages = []
    with run_lock(tmp_path, wait=False, log=messages.append):
        assert f"pid {os.getpid()}" in (tmp_path / ".lock").read_text()
    assert messages and f"left by pid {holder.pid}" in messages[0]


def test_bad_cluster_options():
    with pytest.raises(ValueError, match="give exactly one of --workers, --scheduler, --gpu-runs"):
        make_client(workers=2, scheduler="tcp://localhost:1")
    with pytest.raises(ValueError, match="--gpu-runs must be an integer in \\[1, 1024\\], got 0"):
        make_client(gpu_runs=0)


def qcnn(store, *arguments):
    env = dict(os.environ, QCNN_RUNS=str(store), QCNN_ANALYSES=str(store.parent / "analyses"))
    return subprocess.run([sys.executable, "-m", "qcnn", *arguments], capture_output=True,
                          text=True, env=env, timeout=900)


def test_reproduce_on_local_and_running_clusters(tmp_path):
    """`qcnn reproduce --workers 2` makes the quick landscape's runs (d = 2, 4: seconds each)
    and `qcnn figures` draws every quick figure from that partial store; `qcnn reproduce
    --scheduler ADDRESS` on a cluster started with `dask scheduler` and `dask worker` makes the
    quick Ising run byte for byte as a local worker does (one thread per run both times; the
    landscape's runs are compared with one-by-one runs in the tests above)."""
    from qcnn.experiments import all_configs
    options = ["reproduce", "--profile", "quick", "--device", "cpu", "--quiet"]
    local = tmp_path / "local" / "runs"
    out = qcnn(local, *options, "--family", "landscape", "--workers", "2")
    assert out.returncode == 0, out.stderr[-3000:]
    out = qcnn(local, "figures", "--profile", "quick", "--out", str(tmp_path / "figures"))
    assert out.returncode == 0, out.stderr[-3000:]
    assert "fig3b.png: 8 run(s)" in out.stdout and "fig2a.png: 0 run(s)" in out.stdout
    ising = [*options, "--family", "ising"]
    out = qcnn(tmp_path / "local-ising" / "runs", *ising, "--workers", "1")
    assert out.returncode == 0, out.stderr[-3000:]
    scheduler_file = tmp_path / "scheduler.json"
    bin_dir = os.path.dirname(sys.executable)
    scheduler = subprocess.Popen([f"{bin_dir}/dask", "scheduler", "--scheduler-file", str(scheduler_file),
                                  "--port", "0", "--dashboard-address", ":0"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    worker = None
    try:
        deadline = time.time() + 60
        while not scheduler_file.exists() and time.time() < deadline:
            time.sleep(0.2)
        address = json.loads(scheduler_file.read_text())["address"]
        worker = subprocess.Popen([f"{bin_dir}/dask", "worker", address, "--nworkers", "2",
                                   "--nthreads", "1", "--no-dashboard"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        out = qcnn(tmp_path / "remote" / "runs", *ising, "--scheduler", address)
        assert out.returncode == 0, out.stderr[-3000:]
    finally:
        for process in (worker, scheduler):
            if process is not None:
                process.terminate()
                process.wait()
    [config] = all_configs("quick", ["ising"])
    a, b = (store_at(tmp_path / where / "runs").run_dir(config) / "metrics.json"
            for where in ("local-ising", "remote"))
    assert a.read_bytes() == b.read_bytes()
