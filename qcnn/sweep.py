"""papermill sweeps: ``book/training.ipynb`` executed once per point of a parameter grid.

A grid file is YAML mapping config fields (``qcnn.train.Config``) to a value or a list of
values; the sweep is their Cartesian product. Every point is validated before any run starts.
Each executed notebook is kept beside its run's results, ``data/runs/<run-id>/training.ipynb``.
"""
import dataclasses
import itertools
from pathlib import Path

import yaml

from .runs import REPO_ROOT, run_directory, run_id
from .train import Config

TRAINING_NOTEBOOK = REPO_ROOT / "book" / "training.ipynb"
KERNEL = "qcnn"      # installed into .venv by `make setup`


def grid_configs(grid):
    """The validated Configs of a grid {field: value or [values]}; ValueError names the field."""
    if not isinstance(grid, dict) or not grid:
        raise ValueError("the grid must be a YAML mapping of config fields to lists of values")
    fields = [f.name for f in dataclasses.fields(Config)]
    unknown = sorted(set(grid) - set(fields))
    if unknown:
        raise ValueError(f"unknown grid parameter(s) {unknown}; allowed: {fields}")
    axes = {k: v if isinstance(v, list) else [v] for k, v in grid.items()}
    configs = []
    for values in itertools.product(*axes.values()):
        point = dict(zip(axes, values))
        try:
            configs.append(Config(**point).validated())
        except (TypeError, ValueError) as error:
            raise ValueError(f"grid point {point}: {error}") from None
    return configs


def read_grid(grid_file):
    """The validated Configs of a grid file; a file that is not valid YAML is a ValueError
    naming the file and the line."""
    path = Path(grid_file)
    try:
        grid = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{path}, line {mark.line + 1}" if mark else str(path)
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise ValueError(f"{where}: not a valid YAML grid ({problem})") from None
    try:
        return grid_configs(grid)
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None


def execute_notebook(notebook, config, directory, device, command, store):
    """Run the training notebook (bytes) for ``config`` with papermill, its output kept as
    ``directory/training.ipynb``; the notebook makes the run in ``store`` (its kernel reads
    QCNN_RUNS)."""
    import os

    import papermill

    directory.mkdir(parents=True, exist_ok=True)
    source = directory / "training.input.ipynb"
    source.write_bytes(notebook)
    os.environ["QCNN_RUNS"] = str(store)
    try:
        papermill.execute_notebook(
            str(source), str(directory / "training.ipynb"),
            parameters={**config.to_dict(), "device": device, "command": command},
            kernel_name=KERNEL, cwd=str(TRAINING_NOTEBOOK.parent), progress_bar=False)
    finally:
        source.unlink()


def sweep(grid_file, client=None, device="auto", threads=1, command="", log=print):
    """Execute the training notebook for every grid point whose run is not stored (one after
    another, or as tasks on a Dask ``client``). Returns the ids of the runs made."""
    from .cluster import run_all
    from .runs import RUNS_ROOT, is_complete

    configs = read_grid(grid_file)
    log(f"{len(configs)} grid points, all valid")
    notebook = TRAINING_NOTEBOOK.read_bytes()
    if client is not None:
        return run_all(configs, client, device=device, threads=threads, command=command,
                       notebook=notebook, log=log)
    made = []
    for i, config in enumerate(configs, 1):
        directory = run_directory(config)
        if is_complete(directory):
            continue
        log(f"[{i}/{len(configs)}] run {run_id(config)} -> {directory / 'training.ipynb'}")
        execute_notebook(notebook, config, directory, device, command, RUNS_ROOT)
        made.append(run_id(config))
    return made
