"""The run store: a config names a run, ``data/runs/<run-id>/`` holds it.

    config.json      the config (its canonical JSON hashes to the run id)
    metrics.json     every curve (no timings: identical runs give byte-identical files)
    provenance.json  command, commit, package versions, device, wall time, sittings
    model.safetensors                  the trained weights (full state_dict, float32)
    snapshots/epoch-<k>.safetensors    weights after epoch k, for the runs that keep them
    checkpoint.pt    the last epoch's full training state (not committed)
    .lock            held by the process training the run (not committed)

Asking for a config whose run is stored reuses it; an unfinished run resumes. The store's
root is ``data/runs`` unless the environment variable QCNN_RUNS names another folder.
"""
import contextlib
import fcntl
import hashlib
import json
import os
import platform
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

from .data import DATA_ROOT, write_atomic
from .train import Config, train

RUNS_ROOT = Path(os.environ.get("QCNN_RUNS", DATA_ROOT / "runs"))   # QCNN_RUNS: for tests
REPO_ROOT = Path(__file__).resolve().parent.parent


def run_id(config):
    """First 12 hex digits of the SHA-256 of the config's canonical JSON."""
    text = json.dumps(config.to_dict(), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def run_directory(config, root=RUNS_ROOT):
    return Path(root) / run_id(config)


def write_json(path, obj):
    write_atomic(path, (json.dumps(obj, indent=1) + "\n").encode())


def read_json(path):
    return json.loads(Path(path).read_text())


def git_commit():
    """HEAD's hash, with '+dirty' when tracked files other than the outputs (figures/, data/)
    differ from it; 'unknown' outside git."""
    def git(*args):
        return subprocess.run(["git", "-C", str(REPO_ROOT), *args], capture_output=True,
                              text=True).stdout.strip()
    commit = git("rev-parse", "HEAD")
    if not commit:
        return "unknown"
    changed = git("status", "--porcelain", "--untracked-files=no", "--", ".",
                  ":(exclude)figures", ":(exclude)data")
    return commit + ("+dirty" if changed else "")


def command_line():
    """How this process was started, as a user would type it."""
    program = Path(sys.argv[0]).name
    program = "python -m qcnn" if program == "__main__.py" else program
    return " ".join([program] + sys.argv[1:])


def provenance(info, started, commit, directory, command):
    from . import __version__
    return {
        "command": command,
        "commit": commit,
        "versions": {"qcnn": __version__, "python": platform.python_version(),
                     "torch": torch.__version__, "numpy": np.__version__},
        "device": "; ".join(info["devices"]),
        "wall_time_s": round(info["wall_s"], 1),
        "sittings": info["sittings"],
        "sittings_log": info.get("sittings_log", []),
        "compiled": info["compiled"],
        "weights": sorted(str(p.relative_to(directory)) for p in directory.rglob("*.safetensors")),
        "finished_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "last_sitting_s": round(time.time() - started, 1),
    }


def is_complete(directory):
    """A run is stored when its metrics and final weights are."""
    return all((Path(directory) / f).exists() for f in ("metrics.json", "model.safetensors"))


class RunLocked(RuntimeError):
    """Another live process is training this run."""


@contextlib.contextmanager
def run_lock(directory, wait=True, poll=2.0, log=print):
    """The exclusive right to train the run in ``directory``: an OS lock (``fcntl.lockf``) on
    ``directory/.lock``, whose text names the holder (host, pid). The kernel (or, on NFS, the
    lock's lease) releases the lock of a process that dies, so a lock left by a dead process is
    stale and simply taken over; its text says whose it was. While a live process holds it:
    wait, polling (``wait=True``), or raise RunLocked."""
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / ".lock", "a+") as handle:
        told = False
        while True:
            try:
                fcntl.lockf(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError:
                handle.seek(0)
                holder = handle.read().strip() or "another process"
                if not wait:
                    raise RunLocked(f"run {directory.name} is being trained by {holder}") from None
                if not told:
                    log(f"run {directory.name} is being trained by {holder}; waiting for it")
                    told = True
                time.sleep(poll)
        handle.seek(0)
        previous = handle.read().strip()
        if previous:
            log(f"run {directory.name}: taking over the lock left by {previous} (no longer running)")
        handle.truncate(0)
        handle.write(f"pid {os.getpid()} on {socket.gethostname()}\n")
        handle.flush()
        try:
            yield
        finally:
            handle.truncate(0)
            handle.flush()
            fcntl.lockf(handle, fcntl.LOCK_UN)


def get_run(config, directory=None, device="auto", progress=True, compile="auto", snapshots=(),
            command=None, wait=True):
    """The stored run of ``config`` (reused if complete, resumed if started, else trained,
    keeping weight snapshots after the epochs in ``snapshots``), under the run's lock (another
    process training it: wait for it, or RunLocked if ``wait=False``). ``command``: what the
    provenance says made the run (default: this process's command line). Returns (directory,
    metrics)."""
    config.validated()
    directory = Path(directory) if directory else run_directory(config)
    config_file = directory / "config.json"
    if config_file.exists() and read_json(config_file) != config.to_dict():
        raise ValueError(f"{directory} holds another run (config.json differs); "
                         "choose another --run-dir")
    if not is_complete(directory):
        with run_lock(directory, wait=wait, log=lambda text: print(text, file=sys.stderr)):
            if not is_complete(directory):                   # unless finished meanwhile
                write_json(config_file, config.to_dict())
                started, commit = time.time(), git_commit()
                sitting = {"commit": commit, "command": command or command_line()}
                metrics, info = train(config, directory, device=device, progress=progress,
                                      compile=compile, sitting=sitting, snapshots=snapshots)
                write_json(directory / "metrics.json", metrics)
                write_json(directory / "provenance.json",
                           provenance(info, started, commit, directory, sitting["command"]))
    return directory, read_json(directory / "metrics.json")


def load_run(run, root=RUNS_ROOT):
    """(config, metrics, provenance) of a stored run, given its id or its directory."""
    directory = Path(run) if Path(run).is_dir() else Path(root) / run
    if not is_complete(directory):
        raise FileNotFoundError(f"no finished run in {directory}")
    return (Config(**read_json(directory / "config.json")),
            read_json(directory / "metrics.json"), read_json(directory / "provenance.json"))


def trained_model(config, directory=None, epoch=None):
    """The trained model of a stored run, in eval mode, from its committed weights
    (``model.safetensors``, or ``snapshots/epoch-<k>.safetensors`` for ``epoch=k``). Nothing
    is retrained: missing weights are an error that says how to make them."""
    from safetensors.torch import load_file

    from .train import build_model, snapshot_path
    directory = Path(directory) if directory else run_directory(config)
    path = directory / "model.safetensors" if epoch is None else snapshot_path(directory, epoch)
    if not path.exists():
        what = "weights" if epoch is None else f"the weight snapshot of epoch {epoch}"
        raise FileNotFoundError(
            f"run {run_id(config)} has no {what} ({path}); make the run with `qcnn train "
            f"{train_flags(config)}`" + ("" if epoch is None else f" --snapshots {epoch}") +
            " (or `qcnn reproduce`), or fetch the repository's data/runs")
    model = build_model(config)
    model.load_state_dict(load_file(path))
    return model.eval()


def train_flags(config):
    """The `qcnn train` flags that make ``config``'s run (fields that differ from the defaults)."""
    default = Config().to_dict()
    return " ".join(f"--{k.replace('_', '-')} {v}" for k, v in config.to_dict().items()
                    if v != default[k]) or "(no flags: the defaults)"
