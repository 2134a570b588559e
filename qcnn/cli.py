"""The command line. ``qcnn --help`` lists the commands, ``qcnn COMMAND --help`` their flags.

    qcnn data fetch [mnist|fashion-mnist|ising|all]   fetch or make the data sets, verified
    qcnn train [--dataset ... --d 18 ...]       train a run (or reuse / resume a stored one)
    qcnn bench entropy|train|all                timing figures, the last line as JSON
    qcnn reproduce [--profile paper|quick]      every run, the analyses and the figures
                   [--family NAME ...]          only these run families (qcnn.experiments)
    qcnn analyze                                precompute the chapter on every cut's analyses
    qcnn figures [--profile paper|quick]        regenerate every figure from stored runs
    qcnn views                                  the explorer's static views for the book
    qcnn sweep GRID.yaml                        the training notebook over a parameter grid
    qcnn demo [--train]                         a model, its parameter count and entropies

A bad flag, file or state the user can fix (``qcnn.errors.UserError``) is one line naming it
and what to do, with exit status 2 (argparse) or 1 (everything checked later), and so is a file
system that fails (an OSError naming its file, or a full disk, an exceeded quota or a read-only
file system, ``FILE_SYSTEM_ERRORS``); ``qcnn --traceback ...`` (or QCNN_TRACEBACK=1) shows the
traceback too. Every other exception (a bug, an out-of-memory error in torch) keeps its
traceback. Ctrl-C is one line too; during training it says that the same command resumes. The
store (``qcnn.store.Store``) is made here, once, and passed down.
"""
import argparse
import dataclasses
import errno
import os
import time
import traceback

import torch

from .config import Config
from .errors import InvalidInput, UserError, check_int
from .store import Store, check_folder

FILE_SYSTEM_ERRORS = (errno.ENOSPC, errno.EDQUOT, errno.EROFS)
TRAINING_COMMANDS = ("train", "reproduce", "sweep")


def int_in(low, high=None):
    """An argparse type: an integer in [low, high] (no upper end when None), ``check_int``'s."""
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            value = text
        try:
            return check_int("", value, low, high)
        except InvalidInput as error:
            raise argparse.ArgumentTypeError(str(error).strip()) from None
    return parse


positive_int = int_in(1)


def scheduler_address(text):
    """An argparse type: a Dask scheduler's address, such as tcp://host:8786 (checked by
    dask's own parser, before anything else runs)."""
    from distributed.comm import get_address_host_port
    try:
        get_address_host_port(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text


def parse_epochs(text, epochs):
    """'0,1,5' -> (0, 1, 5); '' -> (); InvalidInput names --snapshots otherwise, and epochs
    beyond the run's ``epochs``."""
    try:
        chosen = tuple(int(e) for e in text.split(",") if e.strip())
    except ValueError:
        raise InvalidInput(f"--snapshots must be comma-separated epochs like 0,1,5, got {text!r}") from None
    for epoch in chosen:
        check_int("--snapshots' epochs", epoch, 0, epochs)
    return chosen


def cmd_data(args, store):
    from .data import DATASETS, fetch
    from .ising import fetch_ising
    for name in DATASETS if args.dataset == "all" else [args.dataset]:
        if name != "ising":
            fetch(name, store.data)
    if args.dataset in ("ising", "all"):
        print(f"ising: {fetch_ising(root=store.data)}, verified by SHA-256")


def train_config(args):
    """The Config of `qcnn train`'s flags: the defaults, under --published the published
    recipe's settings, under --quick the quick recipe's, and over them every flag given."""
    from .experiments import PUBLISHED, QUICK
    given = {f.name: getattr(args, f.name) for f in dataclasses.fields(Config)
             if getattr(args, f.name) is not None}
    return Config(**{**(PUBLISHED if args.published else {}), **(QUICK if args.quick else {}),
                     **given})


def scale_note(config):
    """What a run is beside the paper's: '' for a paper-scale run, else a note that says so."""
    from .experiments import ISING_EPOCHS, PAPER
    if config.dataset == "ising":
        return ("" if config.epochs >= ISING_EPOCHS else
                f" (a short run: {config.epochs} of the Ising recipe's {ISING_EPOCHS} epochs)")
    if config.epochs >= PAPER["epochs"] and not config.limit_train:
        return ""
    images = config.limit_train or "all"
    return (f" (a short run: {config.epochs} of the paper's {PAPER['epochs']} epochs on {images} "
            "training images; it shows the model learning, not the paper's scale)")


def print_result(store, directory, config):
    """The run's final and best test accuracy, its training time, and what it is."""
    run = store.run(config, directory)
    accuracy = run.metrics.test_accuracy
    best = max(range(len(accuracy)), key=accuracy.__getitem__)
    print(f"{directory}: {run.metrics.epochs} epochs; final test accuracy {accuracy[-1]:.4f}, "
          f"best {accuracy[best]:.4f} (epoch {best + 1}); final test cost "
          f"{run.metrics.test_cost[-1]:.4f}; {run.provenance.wall_time_s:.0f} s of training"
          f"{scale_note(config)}")


def cmd_train(args, store):
    from .config import run_id
    from .experiments import snapshots_for
    from .runs import make_run
    config = train_config(args)
    snapshots = (snapshots_for(config) if args.snapshots is None
                 else parse_epochs(args.snapshots, config.epochs))
    print(f"run {run_id(config)}: {config}")
    directory, _ = make_run(config, store, args.run_dir, device=args.device,
                            progress=not args.quiet, compile=args.compile, snapshots=snapshots,
                            retrain=args.retrain, step=args.step)
    print_result(store, directory, config)


def cmd_bench(args, store):
    from .bench import bench_entropy, bench_training, print_figures
    if args.what in ("entropy", "all"):
        print_figures(bench_entropy())
    if args.what in ("train", "all"):
        print_figures(bench_training(steps=args.steps, device=args.device))


def cluster_client(args):
    """A Dask client when --workers, --scheduler or --gpu-runs is given, else None."""
    if args.workers is None and args.scheduler is None and args.gpu_runs is None:
        return None
    from .cluster import make_client
    return make_client(args.workers, args.scheduler, args.gpu_runs)


def cmd_reproduce(args, store):
    from .analysis import analyze
    from .phases import analyze_ising
    from .config import run_id
    from .experiments import all_configs, snapshots_for
    from .figures import all_figures
    from .runs import command_line, make_run
    configs = all_configs(args.profile, args.family)
    client = cluster_client(args)
    device = "cuda" if args.gpu_runs else args.device
    if client is not None:
        from .cluster import run_all
        with client:
            run_all(configs, client, store, snapshots_for, device=device, threads=args.threads or 1,
                    command=command_line(), retrain=args.retrain, progress=not args.quiet)
    else:
        if args.threads:
            torch.set_num_threads(args.threads)
        for i, config in enumerate(configs, 1):
            print(f"[{i}/{len(configs)}] run {run_id(config)}: {config.dataset} "
                  f"{config.partition} d={config.d} n={config.n} seed={config.seed} "
                  f"epochs={config.epochs}", flush=True)
            make_run(config, store, device=device, progress=not args.quiet,
                     snapshots=snapshots_for(config), retrain=args.retrain)
    if args.family:
        return                          # some families only: the analyses and figures need all
    if args.profile == "paper":
        analyze(store)
        analyze_ising(store)
    for name, fig in all_figures(store, args.profile).items():
        print(f"{fig.provenance['directory']}/{name}.png")


def cmd_analyze(args, store):
    from .analysis import analyze
    from .phases import analyze_ising
    if args.threads:
        torch.set_num_threads(args.threads)
    analyze(store, force=args.force)
    analyze_ising(store, force=args.force)


def cmd_figures(args, store):
    from .experiments import current_profile
    from .figures import all_figures
    profile = args.profile or current_profile()
    out = check_folder("--out", args.out) if args.out else None
    for name, fig in all_figures(store, profile, out).items():
        print(f"{fig.provenance['directory']}/{name}.png: {len(fig.provenance['runs'])} run(s), "
              f"{profile} profile")


def cmd_views(args, store):
    from .explorer import static_explorer
    static_explorer(store)
    print(f"{store.root / 'book' / '_static' / 'explorer'}: the explorer's views, up to date")


def cmd_sweep(args, store):
    from .runs import command_line
    from .sweep import read_grid, sweep, training_notebook
    configs = read_grid(args.grid)                        # the grid first, then any cluster
    device = "cuda" if args.gpu_runs else args.device
    client = cluster_client(args)
    if client is None:
        sweep(args.grid, store, device=device, command=command_line(), retrain=args.retrain)
        return
    from .cluster import run_all
    print(f"{len(configs)} grid points, all valid")
    with client:
        run_all(configs, client, store, device=device, threads=args.threads or 1,
                command=command_line(), notebook=training_notebook(store),
                retrain=args.retrain)


def cmd_demo(args, store):
    from .config import run_id
    from .data import IMAGE_SIZE
    from .entropy import entanglement_entropy
    from .model import QCNN, check_memory, parameter_count, parameter_count_eq47
    from .reference import entanglement_entropy_tn

    if args.train and args.image_size != IMAGE_SIZE:
        raise InvalidInput(f"--train trains on the data's {IMAGE_SIZE}x{IMAGE_SIZE} images: "
                         f"--image-size must be {IMAGE_SIZE} with it, got {args.image_size}")
    torch.manual_seed(args.seed)
    model = QCNN(args.d, args.n, args.image_size)
    check_memory(8 * (model.widths[-3] + 1) ** 3, f"the demo's tensornetwork cross-check at "
                 f"d = {args.d}, n = {args.n} (a float64 copy tensor of the top half tree)")
    count = sum(p.numel() for p in model.parameters())
    print(f"q-CNN d={args.d}, n={args.n}, {model.n_pixels} pixels, L={model.n_layers} layers")
    print(f"channel widths d_0..d_L+1: {model.widths}")
    eq47 = (f"eq. 47 with 2n = d: {parameter_count_eq47(args.d, model.n_pixels)}"
            if 2 * args.n == args.d else "eq. 47 assumes 2n = d")
    print(f"parameters: {count} (eq. 46: {parameter_count(args.d, args.n, model.n_pixels)}; {eq47})")
    start = time.perf_counter()
    entropy = entanglement_entropy(model)
    elapsed = time.perf_counter() - start
    print(f"entanglement entropy at initialisation (seed {args.seed}), nats, per label:")
    print("  " + " ".join(f"{s:.4f}" for s in entropy.tolist()))
    print(f"  in {1e3 * elapsed:.1f} ms; tensornetwork cross-check agrees to "
          f"{(entropy - entanglement_entropy_tn(model)).abs().max().item():.1e}")
    if args.train:
        from .experiments import QUICK
        from .runs import make_run
        config = Config(**dict(QUICK, d=args.d, n=args.n, seed=args.seed))
        print(f"training the quick recipe (run {run_id(config)}) on MNIST:")
        store = Store.from_environment()
        directory, _ = make_run(config, store)
        print_result(store, directory, config)
        entropy = entanglement_entropy(store.model(config))
        print("entanglement entropy after training, nats, per label:")
        print("  " + " ".join(f"{s:.4f}" for s in entropy.tolist()))


def add_cluster_options(p):
    from .cluster import MAX_WORKERS
    p.add_argument("--workers", type=int_in(1, MAX_WORKERS), default=None, metavar="N",
                   help="run on a local Dask cluster of N worker processes")
    p.add_argument("--scheduler", type=scheduler_address, default=None, metavar="ADDRESS",
                   help="run on a running Dask cluster (e.g. tcp://host:8786)")
    p.add_argument("--gpu-runs", type=int_in(1, MAX_WORKERS), default=None, metavar="K",
                   help="K runs at once on this machine's GPU (a local cluster of K workers)")
    p.add_argument("--threads", type=positive_int, default=None, metavar="T",
                   help="torch threads per run (default: 1 on a cluster, all cores otherwise)")


def add_retrain(p):
    p.add_argument("--retrain", action="store_true",
                   help="train again, from the start, a run that is stored but not complete "
                   "(weights, provenance or metrics missing or broken); nothing broken is kept")


def build_parser():
    from .experiments import FAMILIES
    parser = argparse.ArgumentParser(
        prog="qcnn", description="The q-CNN of 'Entangled q-Convolutional Neural Nets' "
        "(Anagiannis & Cheng 2021): data, training runs, entanglement entropy, benchmarks.")
    parser.add_argument("--traceback", action="store_true",
                        help="show the traceback of an error too (also: QCNN_TRACEBACK=1)")
    parser.set_defaults(store=True)          # the commands that need no checkout say so
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = commands.add_parser("data", help="fetch and verify MNIST / Fashion-MNIST into data/, "
                            "check (or make) the Ising configurations")
    p.add_argument("action", choices=["fetch"])
    p.add_argument("dataset", nargs="?", default="all",
                   choices=["mnist", "fashion-mnist", "ising", "all"])
    p.set_defaults(run=cmd_data)

    p = commands.add_parser(
        "train", help="train a run, or reuse/resume the stored run of the same config",
        description="Train the q-CNN (§4.1). A run is named by the hash of its config and lives "
        "in data/runs/<run-id>/; asking again reuses a finished run and resumes an interrupted "
        "one. Defaults are the paper's settings with the recipe that trains (init shift1).")
    for field in dataclasses.fields(Config):
        p.add_argument(f"--{field.name.replace('_', '-')}", type=type(field.default),
                       default=None, help=f"{field.metadata['help']} (default: {field.default})")
    p.add_argument("--published", action="store_true",
                   help="the published code's recipe: --init default --weight-init xavier "
                   "--dtype float64 --lr-schedule published (flags given as well win)")
    p.add_argument("--quick", action="store_true",
                   help="the quick recipe: the paper's for 2 epochs (about 87%% MNIST test accuracy "
                   "in half a minute on a laptop CPU; flags given as well win)")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda (default: auto)")
    p.add_argument("--run-dir", default=None, help="directory of the run (default: the run store)")
    p.add_argument("--compile", default="auto", help="torch.compile: auto (long runs) | on | off")
    p.add_argument("--step", default="fused", choices=["fused", "plain"],
                   help="the training step: fused (hand-written backward, the default) or plain "
                   "(autograd and torch.optim.AdamW; `qcnn bench train` compares them)")
    p.add_argument("--snapshots", default=None, metavar="EPOCHS",
                   help="comma-separated epochs after which to keep the weights, 0 = before "
                   "training (default: 0,1,2,5,10,20,30,45,60,90 for the Fig. 2 runs, none else)")
    p.add_argument("--quiet", action="store_true", help="no progress bars (CI, logs)")
    add_retrain(p)
    p.set_defaults(run=cmd_train)

    p = commands.add_parser("bench", help="timing figures; the last line is JSON")
    p.add_argument("what", nargs="?", default="all", choices=["entropy", "train", "all"])
    p.add_argument("--steps", type=positive_int, default=300,
                   help="training steps to time (default 300)")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda (default: auto)")
    p.set_defaults(run=cmd_bench, store=False)

    p = commands.add_parser("reproduce", help="train or reuse every run of a profile, then draw")
    p.add_argument("--profile", default="paper", choices=["paper", "quick"],
                   help="paper: every run of the book (qcnn.experiments; hours on a CPU, "
                   "minutes on a GPU); quick: the same families with the quick recipe (half a "
                   "minute a run)")
    p.add_argument("--family", action="append", default=None, choices=list(FAMILIES),
                   help="only the runs of this family (repeatable; then no analyses or figures)")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda (default: auto)")
    add_cluster_options(p)
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    add_retrain(p)
    p.set_defaults(run=cmd_reproduce)

    p = commands.add_parser("analyze", help="precompute the stored analyses: every cut (Rényi-2 of "
                            "regions, the data's view, truncation), the untrained networks, the "
                            "Ising classifiers")
    p.add_argument("--force", action="store_true", help="recompute what is stored")
    p.add_argument("--threads", type=positive_int, default=None, help="torch threads (default: all)")
    p.set_defaults(run=cmd_analyze)

    p = commands.add_parser("figures", help="regenerate every figure from stored runs")
    p.add_argument("--profile", default=None, choices=["paper", "quick"],
                   help="which runs (default: QCNN_PROFILE, else paper)")
    p.add_argument("--out", default=None, help="output folder (default: figures/)")
    p.set_defaults(run=cmd_figures)

    p = commands.add_parser("views", help="draw the explorer's static views for the book (reused "
                            "while the code and the stored runs are the same)")
    p.set_defaults(run=cmd_views)

    p = commands.add_parser("sweep", help="run the training notebook (papermill) over a grid")
    p.add_argument("grid", help="YAML file: config fields mapped to lists of values")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda (default: auto)")
    add_retrain(p)
    add_cluster_options(p)
    p.set_defaults(run=cmd_sweep)

    p = commands.add_parser("demo", help="build a q-CNN, print its parameter count and entropies")
    p.add_argument("--d", type=positive_int, default=18, help="channel scale: d_l = d(l+1) (default 18)")
    p.add_argument("--n", type=positive_int, default=9, help="Fourier cutoff: d_0 = 2n (default 9)")
    p.add_argument("--image-size", type=positive_int, default=16, help="image side, a power of two")
    p.add_argument("--seed", type=int, default=0, help="random seed of the initialisation")
    p.add_argument("--train", action="store_true",
                   help="then train it with the quick recipe on MNIST (half a minute at d = 18) "
                   "and print its accuracy and entropies")
    p.set_defaults(run=cmd_demo, store=False)        # --train finds the checkout itself
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    show = args.traceback or os.environ.get("QCNN_TRACEBACK", "") not in ("", "0")
    try:
        args.run(args, Store.from_environment() if args.store else None)
    except UserError as error:
        if show:
            traceback.print_exc()
        raise SystemExit(f"qcnn: error: {error}") from None
    except KeyboardInterrupt:
        if show:
            traceback.print_exc()
        resumes = ("; a run in training resumes from its last finished epoch when the same "
                   "command is given again" if args.command in TRAINING_COMMANDS else "")
        raise SystemExit(f"qcnn: interrupted{resumes}") from None
    except OSError as error:        # the file system: full, read-only, a folder for a file
        if show or (error.filename is None and error.errno not in FILE_SYSTEM_ERRORS):
            raise
        where = "" if error.filename is None else f"{error.filename}: "
        raise SystemExit(f"qcnn: error: {where}{error.strerror}") from None


if __name__ == "__main__":
    main()
