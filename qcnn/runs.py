"""The run store: a config names a run, ``data/runs/<run-id>/`` holds it.

    config.json      the config (its canonical JSON hashes to the run id)
    metrics.json     every curve (no timings: identical runs give byte-identical files)
    provenance.json  command, commit, package versions, device, wall time, sittings
    model.safetensors                  the trained weights (full state_dict)
    snapshots/epoch-<k>.safetensors    weights after epoch k, for the runs that keep them
    checkpoint.safetensors   the last epoch's full training state (not committed)
    .lock            held by the process training the run (not committed)
    training.ipynb   for runs made by ``qcnn sweep``: the executed training notebook

Asking for a config whose run is stored reuses it; an unfinished run resumes. The store's
root is ``data/runs`` unless the environment variable QCNN_RUNS names another folder. Every
file is JSON or safetensors: nothing read from a store can run code.
"""
import contextlib
import fcntl
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

from safetensors import SafetensorError
from safetensors.torch import load_file

from .config import Config, build_model, run_id, train_flags
from .data import DATA_ROOT, strict_json, write_atomic
from .train import CHECKPOINT, check_fits, device_name, pick_device, snapshot_path, train

RUNS_ROOT = Path(os.environ.get("QCNN_RUNS", DATA_ROOT / "runs"))
REPO_ROOT = Path(__file__).resolve().parent.parent
TRAINING_NOTEBOOK = REPO_ROOT / "book" / "training.ipynb"
KERNEL = "qcnn"      # installed into .venv by `make setup`


def run_directory(config, root=None):
    """The run's folder in ``root`` (default: the store, RUNS_ROOT, read at each call)."""
    return Path(root or RUNS_ROOT) / run_id(config)


def write_json(path, obj):
    """Strict JSON (a NaN or infinity is an error, never written), atomically."""
    write_atomic(path, (json.dumps(obj, indent=1, allow_nan=False) + "\n").encode())


def read_json(path):
    """The JSON in ``path``; a file that is not strict JSON is a ValueError naming it."""
    try:
        return strict_json(Path(path).read_text())
    except (ValueError, UnicodeDecodeError) as error:
        raise ValueError(f"{path} is not valid JSON ({error}): restore it from the repository "
                         "(git checkout) or delete the run's folder to make it again") from None


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


def environment(command=None, device="cpu"):
    """Where a computation ran: command, commit, package versions, device (runs and analyses)."""
    from . import __version__
    return {"command": command or command_line(), "commit": git_commit(),
            "versions": {"qcnn": __version__, "python": platform.python_version(),
                         "torch": torch.__version__, "numpy": np.__version__},
            "device": device_name(device)}


def provenance(info, started, commit, directory, command):
    """A run's provenance.json: its environment, every sitting, the weights it keeps."""
    return {
        **environment(command),
        "commit": commit,
        "device": "; ".join(info["devices"]),
        "wall_time_s": round(info["wall_s"], 1),
        "sittings": info["sittings"],
        "sittings_log": info.get("sittings_log", []),
        "compiled": info["compiled"],
        "weights": weight_files(directory),
        "finished_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "last_sitting_s": round(time.time() - started, 1),
    }


def weight_files(directory):
    """The run's weight files, relative to its directory: model.safetensors and the snapshots."""
    directory = Path(directory)
    files = [directory / "model.safetensors", *sorted((directory / "snapshots").glob("*.safetensors"))]
    return [str(p.relative_to(directory)) for p in files if p.exists()]


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
    try:
        handle = open(directory / ".lock", "a+")
    except PermissionError:
        raise RuntimeError(f"{directory / '.lock'}: no permission to write in run {directory.name} "
                           "(another user's unfinished run?): train it in a store of your own "
                           "(QCNN_RUNS), or share the store through a common group with umask "
                           "002") from None
    with handle:
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


def check_run_directory(directory):
    """``directory`` as a Path; a ValueError if it exists and is not a folder."""
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise ValueError(f"the run directory {directory} is a file, not a folder")
    return directory


def get_run(config, directory=None, device="auto", progress=True, compile="auto", snapshots=(),
            command=None, wait=True, retrain=False):
    """The stored run of ``config`` (reused if complete, resumed if started, else trained,
    keeping weight snapshots after the epochs in ``snapshots``), under the run's lock (another
    process training it: wait for it, or RunLocked if ``wait=False``). ``command``: what the
    provenance says made the run (default: this process's command line). A run whose metrics
    are stored but whose weights are missing is refused unless ``retrain`` (training it again
    rewrites its metrics and provenance). Returns (directory, metrics)."""
    check_fits(config, pick_device(device))              # bad arguments: before any file
    if compile not in ("auto", "on", "off"):
        raise ValueError(f"compile must be one of ('auto', 'on', 'off'), got {compile!r}")
    directory = check_run_directory(directory or run_directory(config))
    config_file = directory / "config.json"
    if config_file.exists() and read_json(config_file) != config.to_dict():
        raise ValueError(f"{directory} holds another run (config.json differs); "
                         "choose another --run-dir")
    if not is_complete(directory):
        if (directory / "metrics.json").exists() and not retrain:
            raise FileNotFoundError(
                f"run {directory.name} has its metrics but not its weights "
                f"({directory / 'model.safetensors'}): restore them (git checkout "
                f"{directory / 'model.safetensors'}), or pass --retrain to train the run again "
                "(its metrics and provenance are then rewritten)")
        if (directory / "checkpoint.pt").exists():
            print(f"{directory / 'checkpoint.pt'}: a checkpoint in the old pickle format is "
                  "ignored (never loaded: a pickle can run code); training starts from the "
                  f"{'checkpoint.safetensors' if (directory / CHECKPOINT).exists() else 'beginning'}",
                  file=sys.stderr)
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


def load_run(run, root=None):
    """(config, metrics, provenance) of a stored run, given its id or its directory. A
    ``config.json`` that does not hash to its folder's run id, or a file that is not strict
    JSON, is a ValueError that names the file."""
    directory = Path(run) if Path(run).is_dir() else Path(root or RUNS_ROOT) / run
    if not is_complete(directory):
        raise FileNotFoundError(f"no finished run in {directory}")
    config = Config.from_dict(read_json(directory / "config.json"), directory / "config.json")
    if len(directory.name) == 12 and directory.name != run_id(config):
        raise ValueError(f"{directory / 'config.json'} hashes to run {run_id(config)}, not to "
                         f"its folder's {directory.name}: the store is inconsistent")
    return config, read_json(directory / "metrics.json"), read_json(directory / "provenance.json")


def stored(config, root=None):
    """(metrics, provenance) of a stored run, or an error that says how to make it."""
    try:
        _, metrics, provenance = load_run(run_id(config), root)
    except FileNotFoundError:
        raise FileNotFoundError(f"run {run_id(config)} is not stored: make it with `qcnn train "
                                f"{train_flags(config)}` or `qcnn reproduce`") from None
    return metrics, provenance


def stored_only(configs, root=None):
    """The configs among ``configs`` whose runs are stored (metrics and weights), in order."""
    return [c for c in configs if is_complete(run_directory(c, root))]


def trained_model(config, directory=None, epoch=None):
    """The trained model of a stored run, in eval mode, from its committed weights
    (``model.safetensors``, or ``snapshots/epoch-<k>.safetensors`` for ``epoch=k``). Nothing
    is retrained: missing weights are an error that says how to make them; a file that is not
    the run's weights, an error that names it."""
    directory = Path(directory) if directory else run_directory(config)
    path = directory / "model.safetensors" if epoch is None else snapshot_path(directory, epoch)
    if not path.exists():
        what = "weights" if epoch is None else f"the weight snapshot of epoch {epoch}"
        raise FileNotFoundError(
            f"run {run_id(config)} has no {what} ({path}); make the run with `qcnn train "
            f"{train_flags(config)}`" + ("" if epoch is None else f" --snapshots {epoch}") +
            " (or `qcnn reproduce`), or fetch the repository's data/runs")
    model = build_model(config)
    try:
        model.load_state_dict(load_file(path))
    except (SafetensorError, OSError, RuntimeError) as error:
        raise ValueError(f"{path} does not hold this run's weights ({str(error)[:200]}): "
                         "restore it from the repository (git checkout) or make the run again "
                         "with --retrain") from None
    return model.eval()


def execute_notebook(notebook, config, directory, device, command, store, retrain=False):
    """Run the training notebook (bytes) for ``config`` with papermill, its output kept as
    ``directory/training.ipynb``; the notebook makes the run in ``store`` (its kernel reads
    QCNN_RUNS). ``qcnn sweep`` runs its grid through this. A cell that fails is a RuntimeError
    naming the run, the executed notebook and the error."""
    import papermill

    directory.mkdir(parents=True, exist_ok=True)
    source = directory / "training.input.ipynb"
    source.write_bytes(notebook)
    os.environ["QCNN_RUNS"] = str(store)
    try:
        papermill.execute_notebook(
            str(source), str(directory / "training.ipynb"),
            parameters={**config.to_dict(), "device": device, "command": command,
                        "retrain": retrain},
            kernel_name=KERNEL, cwd=str(TRAINING_NOTEBOOK.parent), progress_bar=False)
    except papermill.PapermillExecutionError as error:
        raise RuntimeError(f"run {run_id(config)}: {error.ename}: {error.evalue} (the executed "
                           f"notebook is {directory / 'training.ipynb'})") from None
    finally:
        source.unlink()
