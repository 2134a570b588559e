"""papermill sweeps: the grid is validated before any run; each point's notebook is kept."""
import json
import os
import re
import subprocess
import sys

import pytest

from conftest import needs_mnist
from qcnn.sweep import grid_configs


def test_grid_product():
    configs = grid_configs({"dataset": ["mnist", "fashion-mnist"], "d": [4, 8], "epochs": 3})
    assert [(c.dataset, c.d, c.epochs) for c in configs] == [
        ("mnist", 4, 3), ("mnist", 8, 3), ("fashion-mnist", 4, 3), ("fashion-mnist", 8, 3)]


@pytest.mark.parametrize("grid,match", [
    ({"d": [4, 0]}, r"grid point \{'d': 0\}: d must be an integer in \[1, 4096\]"),
    ({"depth": [3]}, r"unknown grid parameter\(s\) \['depth'\]"),
    ({"partition": ["updown", "diagonal"]}, "partition must be one of"),
    ([1, 2], "the grid must be a YAML mapping"),
])
def test_bad_grids_fail_before_any_run(grid, match, tmp_path):
    with pytest.raises(ValueError, match=match):
        grid_configs(grid)


def run_sweep(tmp_path, grid, options=()):
    (tmp_path / "grid.yaml").write_text(json.dumps(grid))     # JSON is YAML
    env = dict(os.environ, QCNN_RUNS=str(tmp_path / "runs"))
    return subprocess.run([sys.executable, "-m", "qcnn", "sweep", str(tmp_path / "grid.yaml"),
                           "--device", "cpu", *options], capture_output=True, text=True, env=env)


def test_bad_grid_file_starts_nothing(tmp_path):
    out = run_sweep(tmp_path, {"d": [4, -1]})
    assert out.returncode != 0 and "grid point {'d': -1}" in out.stderr
    assert not (tmp_path / "runs").exists()


def test_malformed_grid_file_names_file_and_line(tmp_path):
    (tmp_path / "grid.yaml").write_text("d: [3, 5\nn: 2\n")
    out = subprocess.run([sys.executable, "-m", "qcnn", "sweep", str(tmp_path / "grid.yaml")],
                         capture_output=True, text=True)
    assert out.returncode != 0 and "Traceback" not in out.stderr
    assert re.search(r"grid.yaml, line \d+: not a valid YAML grid", out.stderr), out.stderr


@pytest.mark.slow
@needs_mnist
@pytest.mark.parametrize("options", [[], ["--workers", "2"]])
def test_sweep_of_two_points(tmp_path, options):
    """Both ways (one after another, or on a 2-worker Dask cluster) each grid point's executed
    notebook lands beside its run, whose provenance names the sweep."""
    grid = {"d": [3, 5], "n": 2, "epochs": 1, "limit_train": 200, "limit_test": 100,
            "batch_size": 10, "entropy_per_epoch": 1}
    out = run_sweep(tmp_path, grid, options)
    assert out.returncode == 0, out.stderr[-2000:]
    runs = sorted(p for p in (tmp_path / "runs").iterdir() if p.is_dir())
    assert len(runs) == 2
    for run in runs:
        notebook = json.loads((run / "training.ipynb").read_text())
        parameters = [c for c in notebook["cells"] if "injected-parameters" in
                      c.get("metadata", {}).get("tags", [])]
        assert parameters, "papermill injected no parameters"
        config = json.loads((run / "config.json").read_text())
        assert config["d"] in (3, 5) and len(json.loads((run / "metrics.json").read_text())["epoch"]) == 1
        assert (run / "model.safetensors").exists()
        assert "qcnn sweep" in json.loads((run / "provenance.json").read_text())["command"]


@pytest.mark.parametrize("grid,options,match", [
    ({"d": 4096, "n": 1024}, [], r"grid point \w{12} .*training d = 4096, n = 1024 needs about"),
    ({"d": 4}, ["--device", "tpu"], r"device must be one of \('auto', 'cpu', 'cuda'\)"),
])
def test_every_point_is_checked_against_the_device_before_any_run(grid, options, match, tmp_path):
    out = run_sweep(tmp_path, grid, options)
    assert out.returncode != 0 and "Traceback" not in out.stderr and re.search(match, out.stderr), out.stderr
    assert not (tmp_path / "runs").exists()


@pytest.mark.slow
@needs_mnist
def test_a_failing_point_is_one_line_and_retrain_reaches_the_notebook(tmp_path):
    """A stored run whose weights were deleted: the sweep stops with one line naming the run and
    the executed notebook; with --retrain the notebook trains it again."""
    grid = {"d": 3, "n": 1, "epochs": 1, "limit_train": 200, "limit_test": 100, "batch_size": 10,
            "entropy_per_epoch": 1}
    assert run_sweep(tmp_path, grid).returncode == 0
    (run,) = [p for p in (tmp_path / "runs").iterdir() if p.is_dir()]
    (run / "model.safetensors").unlink()
    out = run_sweep(tmp_path, grid)
    assert out.returncode != 0 and "Traceback" not in out.stderr, out.stderr[-2000:]
    assert re.search(rf"run {run.name}: NotStored: .*--retrain.*training.ipynb\)", out.stderr)
    assert run_sweep(tmp_path, grid, ["--retrain"]).returncode == 0
    assert (run / "model.safetensors").exists()
