"""Where everything lives, and reading it back: ``Store(root)``.

A store is a checkout's folders: ``data/`` (the data sets), ``data/runs/`` (one
folder per run), ``data/analyses/`` (the precomputed analyses) and ``figures/``. The command
line and the chapters make one (``Store.from_environment()``: the checkout of the working
directory, with QCNN_RUNS and QCNN_ANALYSES moving the runs and the analyses elsewhere) and pass
it down; no module keeps a path of its own. A run's folder, ``runs/<run-id>/``:

    config.json      the config (its canonical JSON hashes to the run id)
    metrics.json     every curve (``records.Metrics``; no timings: identical runs give
                     byte-identical files)
    provenance.json  command, commit, package versions, device, wall time, sittings
    model.safetensors                  the trained weights (full state_dict)
    snapshots/epoch-<k>.safetensors    weights after epoch k, for the runs that keep them
    checkpoint.safetensors   the last epoch's full training state (not committed)
    .lock            held by the process training the run (not committed)
    training.ipynb   for runs made by ``qcnn sweep``: the executed training notebook

A run is *complete* when every one of its files is there and valid (``Store.problem``): the
config hashes to the folder's name, the metrics and provenance are well formed for the config,
and every weights file the provenance lists (the final weights and each snapshot) loads into the
run's model, in its dtype, every value finite. Everything else
is unfinished, whatever is missing. Reading never follows a symbolic link below the store's
folders, never reads a file beyond a size limit, and runs no code: every file is JSON or
safetensors. Readers are memoised on each file's (modification time, size), so a store that
changes is read again and one that does not is read once.
"""
import json
import os
import stat
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load as safetensors_load

from .config import Config, build_model, run_id, train_flags
from .data import find_root, read_bounded, strict_json, write_atomic
from .errors import InvalidInput, NotStored
from .records import Metrics, Provenance, Run

MAX_JSON_BYTES = 64 << 20          # a 90-epoch metrics.json is about 0.2 MB
RECORD_FILES = ("config.json", "metrics.json", "provenance.json")     # a run's records
RUN_FILES = (*RECORD_FILES, "model.safetensors")


def snapshot_path(directory, epoch):
    return Path(directory) / "snapshots" / f"epoch-{epoch}.safetensors"


def weight_files(directory):
    """The run's weight files, relative to its directory: model.safetensors and the snapshots."""
    directory = Path(directory)
    files = [directory / "model.safetensors", *sorted((directory / "snapshots").glob("*.safetensors"))]
    return [str(p.relative_to(directory)) for p in files if p.is_file()]


def parse_json(data, path):
    """Strict JSON (``data.strict_json``) from bytes; InvalidInput naming the file."""
    try:
        return strict_json(data.decode())
    except (ValueError, UnicodeDecodeError) as error:
        raise InvalidInput(f"{path} is not valid JSON ({str(error)[:200]}): restore it from the "
                           "repository (git checkout) or make the run again with --retrain") from None


def expected_weight_bytes(config):
    """The size of a run's weights file, within its header: an upper bound for reading it."""
    return sum(t.numel() * t.element_size() for t in build_model(config).state_dict().values())


def load_weights(path, config, limit=None):
    """The state_dict in a weights file of ``config``'s run, checked: every tensor of the run's
    model with its shape, floating tensors in the run's dtype, every value finite; InvalidInput
    naming the file otherwise."""
    model = build_model(config)
    limit = limit or 2 * expected_weight_bytes(config) + (1 << 20)
    advice = "restore it from the repository (git checkout) or make the run again with --retrain"
    try:
        state = safetensors_load(read_bounded(path, limit))
    except SafetensorError as error:
        raise InvalidInput(f"{path} is not a safetensors file ({str(error)[:200]}): {advice}") from None
    expected = model.state_dict()
    if set(state) != set(expected):
        raise InvalidInput(f"{path} does not hold this run's weights (tensors "
                           f"{sorted(set(state) ^ set(expected))[:4]} differ): {advice}")
    for name, tensor in state.items():
        want = expected[name]
        if tensor.shape != want.shape or tensor.dtype != want.dtype:
            raise InvalidInput(f"{path}: {name} is {tensor.dtype} {tuple(tensor.shape)}, the run's "
                               f"model has {want.dtype} {tuple(want.shape)}: {advice}")
        if tensor.is_floating_point() and not torch.isfinite(tensor).all():
            raise InvalidInput(f"{path}: {name} holds a value that is not finite: {advice}")
    return state


def check_folder(name, path):
    """``Path(path)`` if it is a folder or nothing yet; InvalidInput naming ``name`` if it is a
    file (every folder the user names is checked here, before anything is computed)."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise InvalidInput(f"{name} {path} is a file, not a folder")
    return path


class Store:
    """The folders of one checkout (``runs``, ``analyses``, ``figures``, ``data``) and memoised,
    checked readers of what is in them."""

    def __init__(self, root=None, runs=None, analyses=None):
        self.root = Path(root) if root else find_root()
        self.data = self.root / "data"
        self.runs = Path(runs) if runs else self.data / "runs"
        self.analyses = Path(analyses) if analyses else self.data / "analyses"
        self.figures = self.root / "figures"
        self._memo = {}

    @classmethod
    def from_environment(cls, root=None):
        """The store of ``root`` (default: the working directory's checkout), with the runs in
        QCNN_RUNS and the analyses in QCNN_ANALYSES where those are set."""
        moved = {}
        for name, variable in (("runs", "QCNN_RUNS"), ("analyses", "QCNN_ANALYSES")):
            value = os.environ.get(variable)
            if value is not None:
                if not value.strip():
                    raise InvalidInput(f"{variable} is set but empty: unset it, or name a folder")
                moved[name] = check_folder(variable, value)
        return cls(root, **moved)

    def __repr__(self):
        return f"Store(root={str(self.root)!r}, runs={str(self.runs)!r})"

    # ------------------------------------------------------------------------- paths

    def inside(self, base, *parts):
        """``base / parts`` after checking that every existing part below ``base`` is a folder
        or a regular file: never a symbolic link (so nothing is read or written outside the
        store through it), a FIFO or a device (which could block a reader or never end);
        InvalidInput naming it otherwise."""
        path = Path(base)
        for part in parts:
            path = path / part
            try:
                mode = os.lstat(path).st_mode
            except OSError:                             # not there (yet)
                continue
            if stat.S_ISLNK(mode):
                raise InvalidInput(f"{path} is a symbolic link: the store never follows one "
                                   "(replace it with the file or folder itself)")
            if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
                raise InvalidInput(f"{path} is not a regular file or folder (a FIFO, a device "
                                   "or a socket): the store never opens one (remove it)")
        return path

    def run_dir(self, config):
        return self.inside(self.runs, run_id(config))

    def file(self, config, name):
        return self.inside(self.runs, run_id(config), *Path(name).parts)

    def write_json(self, path, obj):
        """Strict JSON (a NaN or infinity is an error, never written), atomically."""
        write_atomic(path, (json.dumps(obj, indent=1, allow_nan=False) + "\n").encode())

    # ----------------------------------------------------------------------- reading

    def memo(self, key, paths, compute):
        """``compute()``, reused while every file in ``paths`` keeps its (mtime, size)."""
        stamp = tuple((os.lstat(p).st_mtime_ns, os.lstat(p).st_size) if os.path.lexists(p) else None
                      for p in paths)
        found = self._memo.get(key)
        if found is None or found[0] != stamp:
            found = (stamp, compute())
            self._memo[key] = found
        return found[1]

    def read_json(self, path):
        return parse_json(read_bounded(path, MAX_JSON_BYTES), path)

    def problem(self, config, directory=None):
        """What keeps the run of ``config`` (in its folder, or in ``directory``) from being
        complete, as a sentence naming the file, or None when every file is there and valid."""
        directory = Path(directory) if directory else self.run_dir(config)
        paths = [directory / n for n in RUN_FILES] + [directory / "snapshots"]   # a folder's mtime
        return self.memo(("problem", run_id(config), str(directory)), paths,          # tracks its files
                         lambda: self._problem(config, directory))

    def _problem(self, config, directory):
        try:
            run = self._read_run(config, directory)
            for name in run.provenance.weights:          # the final weights and every snapshot
                load_weights(self.inside(directory, *Path(name).parts), config)
        except (NotStored, InvalidInput) as error:
            return str(error)
        return None

    def _read_run(self, config, directory):
        stored_config = Config.from_dict(self.read_json(self.inside(directory, "config.json")),
                                         directory / "config.json")
        if run_id(stored_config) != run_id(config):
            raise InvalidInput(f"{directory / 'config.json'} holds run {run_id(stored_config)}, "
                               f"not {run_id(config)}: the store is inconsistent")
        metrics = Metrics.from_json(self.read_json(self.inside(directory, "metrics.json")),
                                    directory / "metrics.json", epochs=config.epochs)
        provenance = Provenance.from_json(self.read_json(self.inside(directory, "provenance.json")),
                                          directory / "provenance.json")
        return Run(config, metrics, provenance)

    def complete(self, config, directory=None):
        return self.problem(config, directory) is None

    def stored(self, configs):
        """The configs among ``configs`` whose runs are complete, in order, without repeats."""
        return [c for c in dict.fromkeys(configs) if self.complete(c)]

    def count(self, configs):
        """'k of N runs stored' for a caption or title."""
        configs = list(dict.fromkeys(configs))
        return f"{len(self.stored(configs))} of {len(configs)} runs stored"

    def run(self, config, directory=None):
        """The complete run of ``config`` (a ``Run``), or NotStored saying how to make it (and
        what is wrong with what is there)."""
        directory = Path(directory) if directory else self.run_dir(config)
        problem = self.problem(config, directory)
        if problem is not None:
            raise NotStored(f"run {run_id(config)} is not stored complete ({problem}): make it with "
                            f"`qcnn train {train_flags(config)}` (add --retrain where files are "
                            "broken) or `qcnn reproduce`")
        return self.memo(("run", str(directory)), [directory / n for n in RECORD_FILES],
                         lambda: self._read_run(config, directory))

    def metrics(self, config, directory=None):
        return self.run(config, directory).metrics

    def model(self, config, epoch=None):
        """The trained model of a complete run, in eval mode, from its weights
        (``model.safetensors``, or ``snapshots/epoch-<k>.safetensors`` for ``epoch=k``). Nothing
        is trained here: missing weights are NotStored saying how to make them."""
        self.run(config)
        path = (self.file(config, "model.safetensors") if epoch is None else
                self.inside(self.runs, run_id(config), "snapshots", f"epoch-{epoch}.safetensors"))
        if epoch is not None and not path.exists():
            kept = [n for n in self.run(config).provenance.weights if n.startswith("snapshots/")]
            raise NotStored(f"run {run_id(config)} keeps no weight snapshot of epoch {epoch} (it keeps "
                            f"{', '.join(kept) or 'none'}): a snapshot is taken during training, so "
                            f"make the run in another store with `qcnn train {train_flags(config)} "
                            f"--snapshots {epoch}`")
        model = build_model(config)
        model.load_state_dict(load_weights(path, config))
        return model.eval()

    def analysis(self, name):
        """The analysis ``analyses/<name>.json`` (parsed JSON), or NotStored saying how to make
        it."""
        path = self.inside(self.analyses, f"{name}.json")
        if not path.exists():
            raise NotStored(f"{path} is missing: make it with `qcnn analyze`")
        return self.memo(("analysis", name), [path], lambda: self.read_json(path))
