"""Making runs: ``make_run(config, store)`` reuses the stored run of a config, resumes an
unfinished one, or trains it (which may take an hour), under the run's lock, and writes its
metrics and provenance. ``qcnn sweep`` makes runs through the training notebook instead
(``execute_notebook``). The layout of a run's folder is ``qcnn.store``'s.

A run is finished only when every file is there and valid (``Store.problem``); anything less
is unfinished, and ``retrain`` makes it again from the start (keeping nothing broken). A run
whose metrics are stored but whose weights are missing or broken is refused without
``retrain``, so that a stored result is never silently replaced.
"""
import contextlib
import fcntl
import os
import platform
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

from .config import run_id, train_flags
from .errors import Busy, InvalidInput, NotStored, check_choice
from .store import weight_files
from .train import CHECKPOINT, check_fits, device_name, pick_device, train

PACKAGE = Path(__file__).resolve().parent
KERNEL = "qcnn"      # installed into .venv by `make setup`
LOCK_BYTES = 4096    # a lock's text is one line naming its holder


def git_commit():
    """The commit of the code that runs: HEAD of the checkout this package lies in, with
    '+dirty' when tracked files other than the outputs (figures/, data/) differ from it;
    'unknown' outside git (an installed package: its version is in the provenance too)."""
    def git(*args):
        return subprocess.run(["git", "-C", str(PACKAGE.parent), *args], capture_output=True,
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


# --------------------------------------------------------------------------------- locks

def printable(text):
    """A lock's text as one safe line: printable ASCII only (no terminal escapes)."""
    return "".join(c if " " <= c <= "~" else "?" for c in text).strip()[:200]


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def run_lock(directory, wait=True, poll=2.0, log=print):
    """The exclusive right to train the run in ``directory``: an OS lock (``flock``, one per
    open file, so a second attempt in the same process is refused too) on ``directory/.lock``,
    opened without following a symbolic link, whose text names the holder (pid on host). The
    kernel releases the lock of a process that dies, so a lock left by a dead process is stale
    and taken over (its text says whose it was). While a live process holds it: wait, polling
    (``wait=True``), or raise Busy."""
    path = directory / ".lock"
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o666)
    except PermissionError:
        raise InvalidInput(f"{path}: no permission to write in run {directory.name} (another "
                           "user's unfinished run?): train it in a store of your own (QCNN_RUNS), "
                           "or share the store through a common group with umask 002") from None
    except OSError as error:
        raise InvalidInput(f"{path} cannot be opened as a lock: {error.strerror} (a symbolic "
                           "link is never followed: remove it)") from None
    with os.fdopen(fd, "r+b") as handle:
        if not os.path.samestat(os.fstat(handle.fileno()), os.lstat(path)) or \
                not (os.fstat(handle.fileno()).st_mode & 0o170000 == 0o100000):
            raise InvalidInput(f"{path} is not a regular file: remove it")

        def holder():
            handle.seek(0)
            return printable(handle.read(LOCK_BYTES).decode("ascii", "replace"))
        told = False
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                text = holder() or "another process"
                if not wait:
                    raise Busy(f"run {directory.name} is being trained by {text}") from None
                if not told:
                    log(f"run {directory.name} is being trained by {text}; waiting for it")
                    told = True
                time.sleep(poll)
        previous = holder()
        if previous:
            log(f"run {directory.name}: taking over the lock left by {previous} (no longer running)")
        handle.seek(0)
        handle.truncate(0)
        handle.write(f"pid {os.getpid()} on {socket.gethostname()}\n".encode())
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate(0)
            handle.flush()
            fcntl.flock(handle, fcntl.LOCK_UN)


# ------------------------------------------------------------------------ making a run

def clear_unfinished(directory):
    """Remove what an unfinished or broken run left (metrics, provenance, weights, snapshots,
    checkpoint, temporary files): it is made again from the start. The config stays."""
    for name in ("metrics.json", "provenance.json", "model.safetensors", CHECKPOINT):
        (directory / name).unlink(missing_ok=True)
    for leftover in directory.glob("*.tmp"):
        leftover.unlink()
    if (directory / "snapshots").is_dir() and not (directory / "snapshots").is_symlink():
        shutil.rmtree(directory / "snapshots")


def make_run(config, store, directory=None, device="auto", progress=True, compile="auto",
             snapshots=(), command=None, wait=True, retrain=False):
    """The complete run of ``config`` in ``store`` (or in ``directory``): reused if complete,
    resumed from its checkpoint if started, else trained (minutes to an hour on a CPU), keeping
    weight snapshots after the epochs in ``snapshots``, under the run's lock (another process
    training it: wait for it, or Busy if ``wait=False``). ``command``: what the provenance says
    made the run (default: this process's command line). A run whose metrics are stored but
    which is not complete (weights or provenance missing or broken) is refused unless
    ``retrain``, which trains it again from the start. Returns (directory, metrics)."""
    check_fits(config, pick_device(device))              # bad arguments: before any file
    check_choice("compile", compile, ("auto", "on", "off"))
    directory = Path(directory) if directory else store.run_dir(config)
    if directory.exists() and not directory.is_dir():
        raise InvalidInput(f"the run directory {directory} is a file, not a folder")
    if store.complete(config, directory):
        return directory, store.metrics(config, directory)
    config_file = directory / "config.json"
    if config_file.exists() and store.read_json(config_file) != config.to_dict():
        raise InvalidInput(f"{directory} holds another run (config.json differs); "
                           "choose another --run-dir")
    if (directory / "metrics.json").exists() and not retrain:
        raise NotStored(f"run {directory.name} is not complete ({store.problem(config, directory)}): "
                        f"restore its files (git checkout {directory}), or pass --retrain to train "
                        f"it again from the start (`qcnn train {train_flags(config)} --retrain`)")
    if (directory / "checkpoint.pt").exists():
        print(f"{directory / 'checkpoint.pt'}: a checkpoint in the old pickle format is ignored "
              "(never loaded: a pickle can run code)", file=sys.stderr)
    for part in ("snapshots", CHECKPOINT):       # never written or read through a link
        store.inside(directory, part)
    with run_lock(directory, wait=wait, log=lambda text: print(text, file=sys.stderr)):
        if not store.complete(config, directory):              # unless finished meanwhile
            if (directory / "metrics.json").exists():             # retrain: nothing broken kept
                clear_unfinished(directory)
            store.write_json(config_file, config.to_dict())
            started, commit = time.time(), git_commit()
            sitting = {"commit": commit, "command": command or command_line()}
            metrics, info = train(config, directory, device=device, progress=progress,
                                  compile=compile, sitting=sitting, snapshots=snapshots,
                                  data_root=store.data)
            store.write_json(directory / "metrics.json", metrics.to_json())
            store.write_json(directory / "provenance.json",
                             provenance(info, started, commit, directory, sitting["command"]))
    problem = store.problem(config, directory)
    if problem:
        raise InvalidInput(f"run {run_id(config)} was made but does not read back: {problem}")
    return directory, store.metrics(config, directory)


def execute_notebook(notebook, config, store, directory, device, command, retrain=False):
    """Run the training notebook (bytes) for ``config`` with papermill, its output kept as
    ``directory/training.ipynb``; the notebook makes the run in ``store`` (a parameter). ``qcnn
    sweep`` runs its grid through this. A cell that fails is an InvalidInput naming the run,
    the executed notebook and the error."""
    import papermill

    directory.mkdir(parents=True, exist_ok=True)
    source = directory / "training.input.ipynb"
    source.write_bytes(notebook)
    try:
        papermill.execute_notebook(
            str(source), str(directory / "training.ipynb"),
            parameters={**config.to_dict(), "device": device, "command": command,
                        "retrain": retrain, "store_root": str(store.root),
                        "store_runs": str(store.runs)},
            kernel_name=KERNEL, cwd=str(store.root / "book"), progress_bar=False)
    except papermill.PapermillExecutionError as error:
        raise InvalidInput(f"run {run_id(config)}: {error.ename}: {error.evalue} (the executed "
                           f"notebook is {directory / 'training.ipynb'})") from None
    finally:
        source.unlink()
