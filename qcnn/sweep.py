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


def sweep(grid_file, device="auto", log=print):
    """Execute the training notebook for every grid point; returns the run directories."""
    import papermill

    configs = grid_configs(yaml.safe_load(Path(grid_file).read_text()))
    log(f"{len(configs)} grid points, all valid")
    directories = []
    for i, config in enumerate(configs, 1):
        directory = run_directory(config)
        directory.mkdir(parents=True, exist_ok=True)
        log(f"[{i}/{len(configs)}] run {run_id(config)} -> {directory / 'training.ipynb'}")
        papermill.execute_notebook(
            str(TRAINING_NOTEBOOK), str(directory / "training.ipynb"),
            parameters={**config.to_dict(), "device": device}, kernel_name=KERNEL,
            cwd=str(TRAINING_NOTEBOOK.parent), progress_bar=False)
        directories.append(directory)
    return directories
