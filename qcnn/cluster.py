"""Many runs at once: one Dask task per missing run, on a local cluster or a running one.

    qcnn reproduce --workers 2                    a LocalCluster of 2 worker processes
    qcnn reproduce --scheduler tcp://host:8786    a cluster started with `dask scheduler` and
                                                  `dask worker tcp://host:8786 --nworkers N`
    qcnn reproduce --gpu-runs 4                   4 worker processes sharing this machine's GPU

Runs already stored are skipped. A worker that sees the client's run store (the same
machine, or a shared filesystem: checked with a token file the client writes there) trains
into it under the run's lock (``qcnn.runs.run_lock``), so a task that is retried after its
worker died resumes from the run's last checkpoint. A worker that does not see it trains into
its own scratch store and sends the run's files (config, metrics, provenance, weights) back;
the client writes them. A progress bar counts finished runs and estimates the time left from
the runs' arithmetic cost.
"""
import secrets
import tempfile
import time
from pathlib import Path

import torch
from tqdm.auto import tqdm

from .config import Config, build_model, run_id
from .data import write_atomic
from .model import forward_flops
from .errors import InvalidInput, check_choice, check_int
from .runs import execute_notebook, make_run
from .store import RECORD_FILES, Store, weight_files
from .train import DEVICES

TOKEN = ".qcnn-store-token"
MAX_WORKERS = 1024


def run_cost(config):
    """A run's arithmetic in FLOPs (forward + backward on the training set, forward on both
    sets each epoch): the progress bar's unit of work."""
    images = config.images
    per_image = forward_flops(build_model(config))
    return config.epochs * per_image * (4 * images[0] + images[1])


def run_task(config_dict, snapshots, device, threads, root, runs, token, command, notebook=None,
             retrain=False):
    """On a worker: make (or reuse) one run; with ``notebook`` (the bytes of a parametrised
    notebook, ``qcnn sweep``) by executing it with papermill, its output kept as the run's
    training.ipynb. ``root`` and ``runs``: the client's checkout and run store. Returns (run id,
    files): files is None when the run landed in the client's store, else {relative path:
    bytes} for the client to write."""
    torch.set_num_threads(threads)
    config = Config.from_dict(config_dict)
    shared = Path(runs, TOKEN).exists() and Path(runs, TOKEN).read_text() == token
    store = (Store(root, runs=runs) if shared else
             Store(runs=Path(tempfile.gettempdir()) / "qcnn-runs"))
    directory = store.run_dir(config)
    if notebook is None:
        make_run(config, store, device=device, progress=False, snapshots=snapshots,
                 command=command, retrain=retrain)
    else:
        execute_notebook(notebook, config, store, directory, device, command, retrain)
    if shared:
        return run_id(config), None
    names = [*RECORD_FILES, *weight_files(directory),
             *(["training.ipynb"] if notebook is not None else [])]
    return run_id(config), {name: (directory / name).read_bytes() for name in names}


def make_client(workers=None, scheduler=None, gpu_runs=None):
    """A dask.distributed Client: a LocalCluster of ``workers`` (or ``gpu_runs``) processes
    with one task thread each, or the running cluster at ``scheduler``."""
    from dask.distributed import Client, LocalCluster
    chosen = [name for name, value in (("--workers", workers), ("--scheduler", scheduler),
                                       ("--gpu-runs", gpu_runs)) if value is not None]
    if len(chosen) != 1:
        raise InvalidInput(f"give exactly one of --workers, --scheduler, --gpu-runs (got {chosen})")
    if scheduler:
        try:
            return Client(scheduler, timeout="30s")
        except OSError as error:
            raise InvalidInput(f"--scheduler {scheduler}: no Dask scheduler answered within 30 s "
                               f"({str(error)[:120]})") from None
    count = check_int(chosen[0], workers or gpu_runs, 1, MAX_WORKERS)
    return Client(LocalCluster(n_workers=count, threads_per_worker=1, processes=True,
                               dashboard_address=None))


def run_all(configs, client, store, snapshots_for=lambda config: (), device="auto", threads=1,
            command="", notebook=None, retrain=False, retries=2, progress=True, log=print):
    """Make every config's run that is not complete in ``store`` on ``client``'s workers
    (``threads`` torch threads each; ``notebook``: through that notebook, see ``run_task``;
    ``retrain``: as ``runs.make_run``). Returns the ids of the runs made."""
    check_choice("device", device, DEVICES)
    root = store.runs
    root.mkdir(parents=True, exist_ok=True)
    missing = [c for c in dict.fromkeys(configs) if not store.complete(c)]
    log(f"{len(configs) - len(missing)} of {len(configs)} runs stored; {len(missing)} to make "
        f"on {len(client.scheduler_info()['workers'])} worker(s)")
    if not missing:
        return []
    token = secrets.token_hex(8)
    write_atomic(root / TOKEN, token.encode())
    from dask.distributed import as_completed
    futures = {client.submit(run_task, c.to_dict(), tuple(snapshots_for(c)), device, threads,
                             str(store.root.resolve()), str(root.resolve()), token, command,
                             notebook, retrain,
                             key=f"run-{run_id(c)}", retries=retries, pure=False): c
               for c in missing}
    costs = {c: run_cost(c) for c in missing}
    made = []
    bar = tqdm(total=sum(costs.values()), disable=not progress, unit="FLOP", unit_scale=True,
               bar_format="{l_bar}{bar}| {postfix} [{elapsed}<{remaining}]")
    bar.set_postfix_str(f"0/{len(missing)} runs")
    started = time.time()
    for future in as_completed(futures):
        config = futures[future]
        rid, files = future.result()
        for name, data in (files or {}).items():
            write_atomic(store.inside(root, rid, *Path(name).parts), data)
        made.append(rid)
        bar.update(costs[config])
        bar.set_postfix_str(f"{len(made)}/{len(missing)} runs")
        log(f"run {rid} stored ({config.dataset} {config.partition} d={config.d} n={config.n} "
            f"seed={config.seed}, {config.epochs} epochs) after {time.time() - started:.0f} s")
    bar.close()
    return made
