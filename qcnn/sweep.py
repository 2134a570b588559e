"""papermill sweeps: ``book/training.ipynb`` executed once per point of a parameter grid.

A grid file is YAML mapping config fields (``qcnn.config.Config``) to a value or a list of
values; the sweep is their Cartesian product. Every point is validated before any run starts,
and a grid of more than MAX_POINTS points is refused before it is expanded; a grid file with an
alias or a key given twice is refused before it is even built (``GridLoader``). Each executed
notebook is kept beside its run's results, ``data/runs/<run-id>/training.ipynb``. Here the
points run one after another; ``qcnn sweep --workers N`` sends them to a Dask cluster
(``qcnn.cluster.run_all`` with the notebook).
"""
import dataclasses
import itertools
import math
from pathlib import Path

import yaml

from .config import Config, run_id
from .data import read_bounded
from .errors import InvalidInput
from .runs import execute_notebook
from .train import check_fits, pick_device

MAX_POINTS = 10000
MAX_GRID_BYTES = 1 << 20


def grid_configs(grid):
    """The validated Configs of a grid {field: value or [values]}; ValueError names the field."""
    if not isinstance(grid, dict) or not grid:
        raise InvalidInput("the grid must be a YAML mapping of config fields to lists of values")
    fields = [f.name for f in dataclasses.fields(Config)]
    unknown = sorted(set(grid) - set(fields))
    if unknown:
        raise InvalidInput(f"unknown grid parameter(s) {unknown}; allowed: {fields}")
    axes = {k: v if isinstance(v, list) else [v] for k, v in grid.items()}
    empty = [k for k, v in axes.items() if not v]
    if empty:
        raise InvalidInput(f"grid parameter(s) {empty} have an empty list of values: the grid "
                         "would have no points")
    points = math.prod(len(v) for v in axes.values())
    if points > MAX_POINTS:
        raise InvalidInput(f"the grid has {points:,} points; at most {MAX_POINTS:,} are allowed "
                         "(split it into several grid files)")
    configs = []
    for values in itertools.product(*axes.values()):
        point = dict(zip(axes, values))
        try:
            configs.append(Config(**point))
        except (TypeError, ValueError) as error:
            raise InvalidInput(f"grid point {point}: {error}") from None
    return configs


class GridLoader(yaml.SafeLoader):
    """YAML's safe loader less what a grid never needs: an alias (``*name``: a few lines of
    aliases expand to billions of values, the 'billion laughs') and a key given twice (the file
    would show one value and the loader take another). Both are refused, naming the line,
    while the file is composed: before anything is expanded."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            raise yaml.composer.ComposerError(None, None, "an alias (*name) is not allowed in a "
                                              "grid: write the values out",
                                              self.peek_event().start_mark)
        return super().compose_node(parent, index)

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key, _ in node.value:
            if isinstance(key, yaml.ScalarNode) and (key.tag, key.value) in seen:
                raise yaml.constructor.ConstructorError(None, None, f"the key {key.value!r} is "
                                                        "given twice", key.start_mark)
            seen.add((key.tag, key.value))
        return super().construct_mapping(node, deep)


def read_grid(grid_file):
    """The validated Configs of a grid file (at most MAX_GRID_BYTES of UTF-8 YAML, read with
    ``GridLoader``); anything else is an InvalidInput naming the file (and the line)."""
    path = Path(grid_file)
    try:
        grid = yaml.load(read_bounded(path, MAX_GRID_BYTES, follow=True).decode(), GridLoader)
    except UnicodeDecodeError as error:
        raise InvalidInput(f"{path}: not UTF-8 text (byte {error.start}: {error.reason})") from None
    except RecursionError:
        raise InvalidInput(f"{path}: not a valid YAML grid (nested too deeply)") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{path}, line {mark.line + 1}" if mark else str(path)
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise InvalidInput(f"{where}: not a valid YAML grid ({problem})") from None
    try:
        return grid_configs(grid)
    except ValueError as error:
        raise InvalidInput(f"{path}: {error}") from None


def training_notebook(store):
    """The bytes of the parametrised training notebook (``book/training.ipynb``)."""
    return (store.root / "book" / "training.ipynb").read_bytes()


def sweep(grid_file, store, device="auto", command="", retrain=False, log=print):
    """Execute the training notebook for every grid point whose run is not stored, one after
    another, after checking that the device exists and that every point fits in its memory.
    Returns the ids of the runs made."""
    configs = read_grid(grid_file)
    for config in configs:
        try:
            check_fits(config, pick_device(device))
        except ValueError as error:
            raise InvalidInput(f"{grid_file}: grid point {run_id(config)} ({config}): {error}") from None
    log(f"{len(configs)} grid points, all valid")
    notebook = training_notebook(store)
    made = []
    for i, config in enumerate(configs, 1):
        directory = store.run_dir(config)
        if store.complete(config):
            continue
        log(f"[{i}/{len(configs)}] run {run_id(config)} -> {directory / 'training.ipynb'}")
        execute_notebook(notebook, config, store, directory, device, command, retrain)
        made.append(run_id(config))
    return made
