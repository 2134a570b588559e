"""Making runs: ``make_run(config, store)`` reuses the stored run of a config, resumes an
unfinished one, or trains it (which may take an hour), under the run's lock, and writes its
metrics and provenance. ``qcnn sweep`` makes runs through the training notebook instead
(``execute_notebook``). The layout of a run's folder is ``qcnn.store``'s.

A run is finished only when every file is there and valid (``Store.problem``); anything less
is unfinished. A run in progress (a config and a checkpoint) resumes. A stored but broken run
(its metrics are there but it is not complete, or its config.json cannot be read) is refused
without ``retrain``, so that a stored result is never silently replaced; ``retrain`` makes it
again from the start, keeping nothing broken (``broken_result``).
"""
import contextlib
import errno
import fcntl
import os
import platform
import re
import shutil
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

from .config import Config, run_id, train_flags
from .data import write_atomic
from .errors import Busy, InvalidInput, NotStored, check_choice
from .store import check_folder, weight_files
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
    return "".join(c if " " <= c <= "~" else "?" for c in text.strip())[:200]


def lock_text(handle):
    """The text of an open lock file, as one safe line (it may have been planted)."""
    handle.seek(0)
    return printable(handle.read(LOCK_BYTES).decode("ascii", "replace"))


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def live_holder(text):
    """Whether a lock's text names a running process of this host other than this one. Such a
    process trains the run whatever the OS lock says (the lock file was replaced under it, or
    the file system does not share its locks), so its lock is never taken over."""
    match = re.fullmatch(r"pid ([1-9][0-9]{0,8}) on (\S+)", text)
    return (match is not None and match[2] == socket.gethostname()
            and int(match[1]) != os.getpid() and pid_alive(int(match[1])))


def try_lock(handle, path):
    """Take the OS lock (``flock``) of an open lock file unless another process holds it or its
    text names a live holder (``live_holder``); None when taken, else who holds it."""
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return lock_text(handle) or "another process"
    text = lock_text(handle)
    if not live_holder(text):
        return None
    fcntl.flock(handle, fcntl.LOCK_UN)
    return f"{text}, still running (if it is not training this run, remove {path})"


@contextlib.contextmanager
def run_lock(directory, wait=True, poll=2.0, log=print):
    """The exclusive right to train the run in ``directory``: an OS lock (``flock``, one per
    open file, so a second attempt in the same process is refused too) on ``directory/.lock``,
    a regular file of its own opened without following a symbolic link (nothing outside the
    store is read or emptied through it), whose text names the holder (pid on host). The kernel
    releases the lock of a process that dies, so a lock left by a dead process is stale and
    taken over (its text says whose it was); one whose text names a live process of this host
    never is. While a live process holds it: wait, polling (``wait=True``), or raise Busy."""
    path = directory / ".lock"
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK, 0o666)
    except PermissionError:
        raise InvalidInput(f"{path}: no permission to write in run {directory.name} (another "
                           "user's unfinished run?): train it in a store of your own (QCNN_RUNS), "
                           "or share the store through a common group with umask 002") from None
    except OSError as error:
        why = ("it is a symbolic link, never followed: remove it" if error.errno == errno.ELOOP
               else error.strerror)
        raise InvalidInput(f"{path} cannot be opened as a lock: {why}") from None
    with os.fdopen(fd, "r+b") as handle:
        info = os.fstat(handle.fileno())
        if (not os.path.samestat(info, os.lstat(path)) or not stat.S_ISREG(info.st_mode)
                or info.st_nlink != 1):
            raise InvalidInput(f"{path} is not a regular file of its own (a link, a device or a "
                               "FIFO): remove it")
        told = False
        while (held := try_lock(handle, path)) is not None:
            if not wait:
                raise Busy(f"run {directory.name} is being trained by {held}")
            if not told:
                log(f"run {directory.name} is being trained by {held}; waiting for it")
                told = True
            time.sleep(poll)
        previous = lock_text(handle)
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

def remove_temporary(directory):
    """Remove the temporary files (``*.tmp``) that a write killed midway (SIGKILL, power loss)
    left in a run's folder and its snapshots/: called under the run's lock, when no write to
    the run can be under way."""
    for leftover in [*directory.glob("*.tmp"), *directory.glob("snapshots/*.tmp")]:
        leftover.unlink()


def clear_unfinished(directory):
    """Remove what a broken run left (metrics, provenance, weights, snapshots, checkpoint): it is
    made again from the start. The config is written again."""
    for name in ("metrics.json", "provenance.json", "model.safetensors", CHECKPOINT):
        (directory / name).unlink(missing_ok=True)
    if (directory / "snapshots").is_dir() and not (directory / "snapshots").is_symlink():
        shutil.rmtree(directory / "snapshots")


def broken_result(store, config, directory, retrain):
    """Whether the run in ``directory`` is stored but broken: its config.json cannot be read as
    a config, or its metrics.json is there but the run is not complete (``Store.problem``).
    Such a run is NotStored saying what is wrong and to pass --retrain, unless ``retrain``. A
    run not started, in progress (a config and a checkpoint) or complete is not broken; a
    config.json of another run is InvalidInput (the folder is not this run's)."""
    config_file = directory / "config.json"
    problem = None
    if os.path.lexists(config_file):
        try:
            stored = run_id(Config.from_dict(store.read_json(config_file), config_file))
        except InvalidInput as error:
            problem = str(error)
        else:
            if stored != run_id(config):
                raise InvalidInput(f"{config_file} holds run {stored}, not {run_id(config)}: "
                                   "choose another --run-dir")
    if problem is None and os.path.lexists(directory / "metrics.json"):
        problem = store.problem(config, directory)
    if problem and not retrain:
        raise NotStored(f"run {directory.name} is not complete ({problem}): restore its files "
                        f"(git checkout {directory}), or pass --retrain to train it again from "
                        f"the start (`qcnn train {train_flags(config)} --retrain`)")
    return problem is not None


def make_run(config, store, directory=None, device="auto", progress=True, compile="auto",
             snapshots=(), command=None, wait=True, retrain=False, step="fused"):
    """The complete run of ``config`` in ``store`` (or in ``directory``): reused if complete,
    resumed from its checkpoint if started, else trained (minutes to an hour on a CPU), keeping
    weight snapshots after the epochs in ``snapshots``, under the run's lock (another process
    training it: wait for it, or Busy if ``wait=False``). ``command``: what the provenance says
    made the run (default: this process's command line). A stored but broken run
    (``broken_result``) is refused unless ``retrain``, which trains it again from the start.
    Temporary files a killed write left are removed under the lock. Returns (directory,
    metrics)."""
    check_fits(config, pick_device(device))              # bad arguments: before any file
    check_choice("compile", compile, ("auto", "on", "off"))
    directory = check_folder("the run directory", directory) if directory else store.run_dir(config)
    if store.complete(config, directory):
        return directory, store.metrics(config, directory)
    broken_result(store, config, directory, retrain)      # refused here unless retrain
    if (directory / "checkpoint.pt").exists():
        print(f"{directory / 'checkpoint.pt'}: a checkpoint in the old pickle format is ignored "
              "(never loaded: a pickle can run code)", file=sys.stderr)
    for part in ("snapshots", CHECKPOINT):       # never written or read through a link
        store.inside(directory, part)
    with run_lock(directory, wait=wait, log=lambda text: print(text, file=sys.stderr)):
        if not store.complete(config, directory):              # unless finished meanwhile
            remove_temporary(directory)
            if broken_result(store, config, directory, retrain):  # retrain: nothing broken kept
                clear_unfinished(directory)
            store.write_json(directory / "config.json", config.to_dict())
            started, commit = time.time(), git_commit()
            sitting = {"commit": commit, "command": command or command_line()}
            metrics, info = train(config, directory, device=device, progress=progress,
                                  compile=compile, sitting=sitting, snapshots=snapshots,
                                  data_root=store.data, step=step, fresh_if_broken=retrain)
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
    source, executed = (store.inside(directory, name)            # never written through a link
                        for name in ("training.input.ipynb", "training.ipynb"))
    write_atomic(source, notebook)
    try:
        papermill.execute_notebook(
            str(source), str(executed),
            parameters={**config.to_dict(), "device": device, "command": command,
                        "retrain": retrain, "store_root": str(store.root),
                        "store_runs": str(store.runs)},
            kernel_name=KERNEL, cwd=str(store.root / "book"), progress_bar=False)
    except papermill.PapermillExecutionError as error:
        raise InvalidInput(f"run {run_id(config)}: {error.ename}: {error.evalue} (the executed "
                           f"notebook is {directory / 'training.ipynb'})") from None
    finally:
        source.unlink()
