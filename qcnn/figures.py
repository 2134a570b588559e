"""Drawing only: one function per figure, each registered in ``FIGURES``.

Every figure function takes the store (``qcnn.store.Store``), reads stored runs
(``qcnn.experiments`` says which), precomputed analyses or committed weights, draws, and
``save``s ``figures/<name>.png``, ``.pdf`` and ``<name>.json``: the runs it used (id, config,
the commit that trained it, a hash of its metrics), its other inputs and the code that drew it
(``code_record``: a hash of the function, the helpers and the library modules it uses, and
their names), so the same code and runs give the same files on every
rebuild, and editing code a figure does not use leaves its files alone. The book and ``qcnn
figures`` call the same functions; in a chapter, ``glue_figure(fig)`` glues a figure and its
provenance note for a captioned MyST figure.

Figures of the paper: ``fig1`` .. ``fig3b``. The book's own: ``accuracy_vs_d`` (the d-claim),
``entropy_over_seeds``, ``correlation_tests``, the chapter on every cut (``cuts_*``), and the
chapters' illustrations (``basis``, ``born_rule``, ``half_turn``, ``entropy_by_label``).

Profiles: ``paper`` (the default) or ``quick`` (the quick recipe's runs; their figures go to
``figures/quick/``, never beside the paper's). The environment variable QCNN_PROFILE picks one.
"""
import ast
import hashlib
import inspect
import json
import os
from pathlib import Path

import matplotlib

matplotlib.use(os.environ.get("MPLBACKEND", "Agg"))
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from . import stats  # noqa: E402
from .basis import dirichlet_kernel, extended_features  # noqa: E402
from .config import Config, run_id  # noqa: E402
from .data import DATASETS, load  # noqa: E402
from .experiments import (D_CLAIM, LAST, PAPER_ACCURACY, claims_configs,  # noqa: E402
                          current_profile, fig2_configs, first_epoch_of, landscape_configs,
                          landscape_runs, paper_runs, published_configs, recipe_of)
from .ising import T_C, TEMPERATURES, exact_energy  # noqa: E402
from .model import born_probabilities, parameter_count_eq47, predict  # noqa: E402
from .report import correlation_summary, population  # noqa: E402
from .findings import fig2_entries  # noqa: E402

PACKAGE = Path(__file__).resolve().parent

# The style, shared with the explorer.
NAMES = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST"}
COLORS = {"mnist": "tab:blue", "fashion-mnist": "tab:orange"}
MARKERS = {"mnist": "o", "fashion-mnist": "^"}
LINESTYLES = {"updown": "-", "leftright": "--"}

# name -> (kind, function): "paper" figures take (profile, out_dir), "book" figures (out_dir)
# and are drawn for the paper profile only.
FIGURES = {}


def figure(kind):
    """Register a figure function under its name."""
    def register(function):
        FIGURES[function.__name__] = (kind, function)
        return function
    return register


# ----------------------------------------------------------------------------- provenance

def figures_dir(store, profile, out_dir=None):
    """The store's figures/ for the paper profile, figures/quick/ (not committed) for the quick
    profile, or ``out_dir``."""
    return Path(out_dir) if out_dir else store.figures / ("" if profile == "paper" else profile)


def relative(path, root):
    """A path relative to ``root`` where it lies inside it."""
    path, root = Path(path).resolve(), Path(root).resolve()
    return str(path.relative_to(root) if path.is_relative_to(root) else path)


def imported_modules(name, found=None):
    """The qcnn modules that module ``name`` imports, directly or through others (itself
    included), read from the sources."""
    found = set() if found is None else found
    if name in found:
        return found
    found.add(name)
    tree = ast.parse((PACKAGE / f"{name}.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            for module in ([node.module] if node.module else [a.name for a in node.names]):
                if (PACKAGE / f"{module}.py").exists():
                    imported_modules(module, found)
    return found


def code_record(function):
    """What a drawing depends on: the source of ``function`` and of every function and value of
    its module that it uses (transitively), and the qcnn modules those use, with their imports.
    {"sha256" of all that, "modules"}: editing code a figure does not use leaves its record, and
    its files, unchanged. No commit is recorded: a committed figure cannot name the commit that
    holds it, and re-drawing it after that commit must leave it byte-identical (`.ci/run` checks);
    ``git log -S <sha256>`` on the figure's json, or the modules' history, finds the code."""
    module_globals, own, modules = function.__globals__, {}, set()
    todo = [function]
    while todo:
        current = todo.pop()
        codes, names = [current.__code__], set()
        while codes:
            code = codes.pop()
            names.update(code.co_names)
            codes += [c for c in code.co_consts if inspect.iscode(c)]
        for name in sorted(names - set(own)):
            value = module_globals.get(name)
            home = getattr(value, "__module__", None) or getattr(value, "__name__", "")
            if inspect.isfunction(value) and value.__module__ == function.__module__:
                own[name] = inspect.getsource(value)
                todo.append(value)
            elif home.startswith("qcnn.") and home != function.__module__:
                modules.add(home.split(".")[1])
            elif isinstance(value, (str, int, float, tuple, list, dict)):
                try:
                    own[name] = json.dumps(value, sort_keys=True)     # constants, not registries
                except TypeError:
                    pass
    modules = sorted(set().union(*(imported_modules(m) for m in modules)) if modules else set())
    digest = hashlib.sha256(json.dumps(own, sort_keys=True).encode())
    for name in modules:
        digest.update((PACKAGE / f"{name}.py").read_bytes())
    return {"sha256": digest.hexdigest()[:16], "modules": modules}


def run_record(store, config):
    run = store.run(config)
    text = json.dumps(run.metrics.to_json(), sort_keys=True).encode()
    return {"run_id": run_id(config), "config": config.to_dict(), "trained_at": run.provenance.commit,
            "device": run.provenance.device, "metrics_sha256": hashlib.sha256(text).hexdigest()[:16]}


def save(store, fig, name, configs, out_dir, inputs=()):
    """Write <name>.png, .pdf and .json (provenance: runs, other inputs, code) to ``out_dir``;
    the record is also ``fig.provenance``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_dir / f"{name}.png", dpi=150, bbox_inches="tight")
    fig.savefig(out_dir / f"{name}.pdf", bbox_inches="tight", metadata={"CreationDate": None})
    record = {"figure": name, "directory": relative(out_dir, store.root),
              "code": code_record(FIGURES[name][1]),
              "runs": [run_record(store, c) for c in configs], "inputs": list(inputs)}
    (out_dir / f"{name}.json").write_text(json.dumps(record, indent=1) + "\n")
    fig.provenance = record
    return fig


def provenance_note(fig):
    """One line for a caption: how many runs made the figure, and where its record is."""
    record = fig.provenance
    runs = len(record["runs"])
    used = f"{runs} stored run{'s' * (runs != 1)}" if runs else "the code alone"
    extra = f" and {', '.join(record['inputs'])}" if record["inputs"] else ""
    return (f"Drawn from {used}{extra} by code {record['code']['sha256']}; runs, commits and "
            f"hashes in {record['directory']}/{record['figure']}.json.")


def glue_figure(fig, name=None):
    """In a chapter: glue ``fig`` (as ``name``, default its figure name) and its provenance note
    (as ``<name>-note``) for a ``{glue:figure}`` with a caption, then close it."""
    from IPython.display import Markdown
    from myst_nb import glue
    name = name or fig.provenance["figure"]
    glue(name, fig, display=False)
    if hasattr(fig, "provenance"):
        glue(f"{name}-note", Markdown(provenance_note(fig)), display=False)
    plt.close(fig)


def analysis_input(store):
    """The stored cuts analysis and the line that names it (with its hash) in a figure's record."""
    path = store.analyses / "cuts.json"
    analysis = store.analysis("cuts")
    return analysis, f"{relative(path, store.root)} (sha256 {hashlib.sha256(path.read_bytes()).hexdigest()[:16]})"


def d_colors(ds):
    """One colour per d (viridis), for the many-run figures."""
    cmap = plt.get_cmap("viridis")
    return {d: cmap(i / max(1, len(ds) - 1)) for i, d in enumerate(sorted(ds))}


# ------------------------------------------------------------------------ one run at a glance

def entropy_by_class(metrics, ax, title=""):
    """Each label's entropy during training (thin lines) and their average (thick)."""
    log = metrics.entropy_log
    entropy = np.array(log.entropy)
    for y in range(entropy.shape[1]):
        ax.plot(log.epoch, entropy[:, y], lw=0.7, alpha=0.6, label=f"y = {y}")
    ax.plot(log.epoch, entropy.mean(1), color="black", lw=2, label="average")
    ax.set(xlabel="epoch", ylabel="entropy (nats)", title=title)
    ax.legend(fontsize=6, ncol=2)
    ax.grid(alpha=0.3)


def run_curves(metrics, title=""):
    """A run at a glance: accuracy, cost and per-label entropy against epochs (not saved: the
    training chapter and the explorer's quick run show it for any run)."""
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.4))
    for key, style in (("train", "-"), ("test", "--")):
        axes[0].plot(metrics.epoch, getattr(metrics, f"{key}_accuracy"), style, label=f"{key} (eval mode)")
        axes[1].plot(metrics.epoch, getattr(metrics, f"{key}_cost"), style, label=f"{key} (eval mode)")
    axes[0].set(xlabel="epoch", ylabel="accuracy", title="accuracy")
    axes[1].set(xlabel="epoch", ylabel="cost (eq. 48)", yscale="log", title="cost")
    for ax in axes[:2]:
        ax.legend()
        ax.grid(alpha=0.3)
    entropy_by_class(metrics, axes[2], "entanglement entropy (top cut)")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def legend(ax, **options):
    """The axes' legend, if anything in it has a label."""
    if ax.get_legend_handles_labels()[0]:
        ax.legend(**options)


def not_stored(ax, what):
    """An empty panel that says what is not stored yet (and how to make it)."""
    ax.text(0.5, 0.5, f"{what}: not stored yet\n(`qcnn reproduce` makes it)", ha="center",
            va="center", transform=ax.transAxes)


# --------------------------------------------------------------------------- paper figures

@figure("paper")
def fig1(store, profile=None, out_dir=None, n_pixels=8):
    """Fig. 1: the q-CNN's layers (left) beside its tree tensor network (right), N = 8; both
    read from the pixels at the bottom to the label at the top."""
    levels = n_pixels.bit_length() - 1
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 5),
                                      gridspec_kw={"width_ratios": [1, 1.6]})
    steps = [r"pixels $x_1 \dots x_N \in [0,1]$", r"Rep: $f_1 \dots f_{2n}(x_p)$  (eqs. 1, 19)"]
    for level in range(levels):
        steps += [rf"BN + 1x1 conv $a^{{({level})}}$  (eqs. 2-6)", "product pooling  (eq. 8)"]
    steps += [r"BN + dense $a^{(L)}$  (eqs. 9-10)", r"$\alpha_y$;  label $= \arg\max_y |\alpha_y|$  (eq. 35)"]
    heights = np.linspace(0, 1, len(steps))
    for y, text in zip(heights, steps):
        pooling = "pooling" in text
        left.text(0.5, y, text, ha="center", va="center", fontsize=8,
                  bbox=dict(boxstyle="round", fc="tab:purple" if pooling else "white",
                            alpha=0.25 if pooling else 1, ec="grey"))
    for low, high in zip(heights[:-1], heights[1:]):
        left.annotate("", xy=(0.5, high - 0.025), xytext=(0.5, low + 0.025),
                      arrowprops=dict(arrowstyle="->", color="grey"))
    left.set(xlim=(0, 1), ylim=(-0.06, 1.06), title=f"network (N = {n_pixels}, L = {levels})")
    left.axis("off")

    xs = np.arange(n_pixels, dtype=float)
    right.scatter(xs, np.zeros_like(xs), s=120, color="white", edgecolor="black", zorder=3)
    for p in range(n_pixels):
        right.text(p, -0.35, rf"$\tilde\zeta(x_{p + 1})$", ha="center", va="top", fontsize=8)
    for level in range(levels):
        y = 1.5 * level
        right.scatter(xs, np.full_like(xs, y + 0.7), s=160, marker="s", color="tab:green",
                      zorder=3)
        right.vlines(xs, y, y + 0.7, color="black", lw=1)
        right.text(n_pixels - 0.2, y + 0.7, rf"$\tilde a^{{({level})}}$", va="center", fontsize=10)
        parents = (xs[0::2] + xs[1::2]) / 2
        right.scatter(parents, np.full_like(parents, y + 1.5), s=140, marker="v",
                      color="tab:purple", zorder=3)
        for child, parent in zip(xs, np.repeat(parents, 2)):
            right.plot([child, parent], [y + 0.7, y + 1.5], color="black", lw=1)
        xs = parents
    top = 1.5 * levels
    right.scatter(xs, [top + 0.7], s=160, marker="s", color="tab:red", zorder=3)
    right.plot([xs[0], xs[0]], [top, top + 1.2], color="black", lw=1)
    right.text(xs[0] + 0.2, top + 1.15, r"$y$ (label)", fontsize=9)
    right.text(xs[0] + 0.3, top + 0.7, r"$\tilde a^{(L)}$", va="center", fontsize=10)
    right.axvline((n_pixels - 1) / 2, ymax=0.8, color="grey", ls=":", lw=1)
    right.text((n_pixels - 1) / 2 + 0.1, -1.0, r"top cut: $U \,|\, \bar U$", fontsize=9, color="grey")
    right.set(title=r"tensor network: squares $\tilde a$ (eq. 15), triangles $\delta$ (eq. 8)",
              xlim=(-0.8, n_pixels + 0.6), ylim=(-1.3, top + 1.5))
    right.axis("off")
    fig.tight_layout()
    return save(store, fig, "fig1", [], figures_dir(store, profile or current_profile(), out_dir))


RECIPE_TITLES = {"published": "the paper's recipe (beta = 0, Xavier, float64)",
                 "book": "this book's recipe (beta = 1)"}


def fig2_population(store, recipe, partition, profile):
    """The stored d = 18, n = 9 runs of ``recipe`` with ``partition``, every seed: the paper's
    recipe's seeds 0-2; this book's Fig. 2 run with its seeds (the landscape's for up/down, the
    partition seeds for left/right)."""
    configs = (published_configs(profile) if recipe == "published" else
               [c for c in claims_configs(profile) if recipe_of(c) == "book"])
    return store.stored(c for c in configs if (c.d, c.n, c.partition) == (18, 9, partition))


def seed_lines(ax, epochs, curves, color, label, style="-", unit="seed"):
    """Each seed's curve thin, their mean thick (with the number of curves, in ``unit``s, in the
    label)."""
    curves = np.asarray(curves)
    for curve in curves:
        ax.plot(epochs, curve, style, color=color, lw=0.6, alpha=0.45)
    ax.plot(epochs, curves.mean(0), style, color=color, lw=1.8,
            label=f"{label} ({len(curves)} {unit}{'s' * (len(curves) > 1)})")


def recipe_panels(store, name, partition, title, draw, profile, out_dir, ylabel, yscale="linear"):
    """Fig. 2's layout: the paper's recipe (left) beside this book's (right), the d = 18 runs
    of ``partition``, both data sets; ``draw(ax, metrics list, color, data set name)`` per data
    set. The panels share their y-axis."""
    profile = profile or current_profile()
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), sharey=True)
    drawn = []
    for ax, recipe in zip(axes, RECIPE_TITLES):
        configs = fig2_population(store, recipe, partition, profile)
        drawn += configs
        for dataset in DATASETS:
            runs = [store.metrics(c) for c in configs if c.dataset == dataset]
            if runs:
                draw(ax, runs, COLORS[dataset], NAMES[dataset])
        if not configs:
            not_stored(ax, f"{RECIPE_TITLES[recipe]}: the d = 18 {partition} runs")
        ax.set(xlabel="epoch", yscale=yscale, title=f"{title}\n{RECIPE_TITLES[recipe]}")
        ax.title.set_fontsize(9)
        legend(ax, fontsize=7)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel(ylabel)
    fig.tight_layout()
    return save(store, fig, name, drawn, figures_dir(store, profile, out_dir))


def shortest(runs, series):
    """Each run's ``series`` cut to the shortest run's epochs: (epochs, array runs x epochs)."""
    n = min(m.epochs for m in runs)
    return np.arange(1, n + 1), np.array([series(m)[:n] for m in runs])


@figure("paper")
def fig2a(store, profile=None, out_dir=None):
    """Fig. 2(a): train (solid) and test (dashed) accuracy per epoch (eval mode, full sets),
    d = 18, left/right, both data sets: every seed thin, their mean thick; the paper's recipe
    beside this book's."""
    def draw(ax, runs, color, label):
        for key, style in (("train_accuracy", "-"), ("test_accuracy", "--")):
            seed_lines(ax, *shortest(runs, lambda m: getattr(m, key)), color,
                       f"{label} {key.split('_')[0]}", style)
    return recipe_panels(store, "fig2a", "leftright", "(a) accuracy during training", draw,
                         profile, out_dir, "accuracy (eval mode)")


TEST_COST_AXIS = 5.0     # the eval-mode test cost's outliers reach 10^16; cost axes stop here


@figure("paper")
def fig2b(store, profile=None, out_dir=None):
    """Fig. 2(b): the cost (eq. 48) during training: the running train cost (solid; train mode,
    the batches' mean loss, averaged per epoch) and the test cost after each epoch (dashed; eval
    mode, the seeds' median, which one seed's spike does not move; where the median itself
    exceeds TEST_COST_AXIS, as on the paper's recipe's plateau, it is drawn at the axis' end and
    the legend counts those epochs), d = 18, left/right."""
    def draw(ax, runs, color, label):
        seed_lines(ax, *shortest(runs, stats.epoch_running_cost), color, f"{label} train (running)")
        epochs, test = shortest(runs, lambda m: np.array(m.test_cost))
        median = np.median(test, 0)
        beyond = int((median > TEST_COST_AXIS).sum())
        cut = f"; {beyond} epoch{'s' * (beyond > 1)} above {TEST_COST_AXIS:g}" if beyond else ""
        ax.plot(epochs, np.minimum(median, TEST_COST_AXIS), "--", color=color, lw=1.2,
                label=f"{label} test (median{cut})")
    return recipe_panels(store, "fig2b", "leftright", "(b) cost during training", draw, profile,
                         out_dir, "cost (eq. 48)", yscale="log")


def entropy_trend(partition):
    """A drawing of the class-mean entropy per epoch: seeds thin, mean thick, ln 2 dotted."""
    def draw(ax, runs, color, label):
        seed_lines(ax, *shortest(runs, stats.epoch_mean_entropy), color, label)
        if not any(line.get_label() == "ln 2" for line in ax.lines):
            ax.axhline(np.log(2), color="grey", ls=":", lw=1, label="ln 2")
    return draw


@figure("paper")
def fig2c(store, profile=None, out_dir=None):
    """Fig. 2(c): left/right entropy across the top cut, class and epoch average, d = 18: every
    seed thin, their mean thick; the paper's recipe beside this book's."""
    return recipe_panels(store, "fig2c", "leftright", "(c) left/right entanglement entropy",
                         entropy_trend("leftright"), profile, out_dir,
                         "entropy (nats), class and epoch average")


@figure("paper")
def fig2d(store, profile=None, out_dir=None):
    """Fig. 2(d): the same for the up/down flattening."""
    return recipe_panels(store, "fig2d", "updown", "(d) up/down entanglement entropy",
                         entropy_trend("updown"), profile, out_dir,
                         "entropy (nats), class and epoch average")


def plain_log_ticks(ax):
    """Label a log cost axis (call after drawing) with plain numbers (0.05, 0.1, 0.2) at 1, 2 and
    5 times each power of ten, or at every multiple where the data span less than a decade:
    matplotlib's default writes 7x10^-2 there and runs the labels into each other."""
    low, high = ax.get_xlim()
    subs = (1.0, 2.0, 5.0) if high / low >= 10 else tuple(range(1, 10))
    ax.xaxis.set_major_locator(matplotlib.ticker.LogLocator(subs=subs))
    ax.xaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())


@figure("paper")
def fig3a(store, profile=None, out_dir=None):
    """Fig. 3(a): epoch-mean entropy (class average) against the epoch's running train cost
    (filled) and test cost (open), from epoch 30 on, the d = 18 left/right runs of every seed:
    the paper's recipe (top row) and this book's (bottom), one column per data set."""
    profile = profile or current_profile()
    first = first_epoch_of(profile)
    fig, axes = plt.subplots(2, 2, figsize=(9.5, 6.4))
    drawn = []
    for row, recipe in zip(axes, RECIPE_TITLES):
        configs = fig2_population(store, recipe, "leftright", profile)
        drawn += configs
        for ax, dataset in zip(row, DATASETS):
            color, name = COLORS[dataset], NAMES[dataset]
            runs = [store.metrics(c) for c in configs if c.dataset == dataset]
            for m in runs:
                keep = np.array(m.epoch) >= first
                entropy = stats.epoch_mean_entropy(m)[keep]
                ax.scatter(stats.epoch_running_cost(m)[keep], entropy, s=7, color=color, alpha=0.45)
                ax.scatter(np.array(m.test_cost)[keep], entropy, s=7, facecolors="none",
                           edgecolors=color, alpha=0.6)
            if not runs:
                not_stored(ax, f"{name}, {RECIPE_TITLES[recipe]}")
            ax.set(xlabel="cost (eq. 48): filled running train, open test", xscale="log",
                   ylabel="entropy (nats), class average",
                   title=f"{name}, {len(runs)} seed(s), epochs {first}+\n{RECIPE_TITLES[recipe]}")
            plain_log_ticks(ax)
            ax.title.set_fontsize(9)
            ax.grid(alpha=0.3)
    fig.tight_layout()
    return save(store, fig, "fig3a", drawn, figures_dir(store, profile, out_dir))


@figure("paper")
def recipe_entropy(store, profile=None, out_dir=None):
    """The entropy under the two recipes: the class-mean entropy at every logged point of the
    d = 18 up/down runs, every seed, on a log axis: the paper's recipe starts near 4 nats,
    collapses in its first epochs and then rises; this book's starts near zero and rises."""
    profile = profile or current_profile()
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), sharey=True)
    drawn = []
    for ax, dataset in zip(axes, DATASETS):
        for recipe, color in zip(RECIPE_TITLES, ("tab:red", "tab:blue")):
            configs = [c for c in fig2_population(store, recipe, "updown", profile)
                       if c.dataset == dataset]
            drawn += configs
            for i, config in enumerate(configs):
                epochs, entropy = stats.class_mean_entropy(store.metrics(config))
                ax.plot(epochs, np.maximum(entropy, 1e-8), color=color, lw=0.7, alpha=0.7,
                        label=f"{RECIPE_TITLES[recipe]}, {len(configs)} seed(s)" if i == 0 else None)
        ax.axhline(np.log(2), color="grey", ls=":", lw=1, label="ln 2")
        ax.set(xlabel="epoch", yscale="log", title=f"{NAMES[dataset]}, d = 18, up/down")
        legend(ax, fontsize=7)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("entropy (nats), class average")
    fig.tight_layout()
    return save(store, fig, "recipe_entropy", drawn, figures_dir(store, profile, out_dir))


TEST_COST_WINDOW = 5     # Fig. 3(b): the test cost's running median over this many epochs
FLOOR = 1e-10            # entropies below this (zero to rounding) are drawn here on log axes
SEED_SHIFT = 1.04        # accuracy_vs_d: a d's seeds drawn this factor apart on the log axis
OTHER_RUNS = "0.72"      # Fig. 3(b)'s runs outside the paper's family (n < d/2, left/right)


@figure("paper")
def fig3b(store, profile=None, out_dir=None):
    """Fig. 3(b): the same for every stored run with the book's recipe: each run's trajectory of
    (cost, epoch-mean entropy) from epoch 30 on, against the running train cost (left) and the
    test cost (right; its running median over TEST_COST_WINDOW epochs, so that one epoch's
    eval-mode spike does not stretch the trajectory across the axis). The paper's family
    (up/down, n = d/2: the landscape) is coloured by d; the other runs (the n-sweep's n < d/2,
    the left/right runs) are grey. Marker (at the run's last epoch): the data set."""
    profile = profile or current_profile()
    configs = paper_runs(store, profile)
    first = first_epoch_of(profile)
    family = {c: c.partition == "updown" and 2 * c.n == c.d for c in configs}
    colors = d_colors({c.d for c in configs if family[c]})
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    beyond = 0
    for config in configs:
        m = store.metrics(config)
        keep = np.array(m.epoch) >= first
        entropy = stats.epoch_mean_entropy(m)[keep]
        test = stats.running_median(np.array(m.test_cost), TEST_COST_WINDOW)[keep]
        beyond += int((test > TEST_COST_AXIS).sum())
        color = colors[config.d] if family[config] else OTHER_RUNS
        for ax, cost in zip(axes, (stats.epoch_running_cost(m)[keep],
                                   np.minimum(test, TEST_COST_AXIS))):
            ax.plot(cost, entropy, color=color, lw=0.7, alpha=0.6, zorder=2 if family[config] else 1)
            ax.scatter(cost[-1:], entropy[-1:], s=16, color=color,
                       marker=MARKERS[config.dataset], zorder=3)
    for ax, kind in zip(axes, ("running train cost", f"test cost, {TEST_COST_WINDOW}-epoch "
                                                     "running median")):
        ax.set(xlabel=f"{kind} (eq. 48)", ylabel="entropy (nats), class and epoch average",
               xscale="log", title=f"(b) {len(configs)} stored runs, epochs {first}+")
        plain_log_ticks(ax)
        ax.grid(alpha=0.3)
    if beyond:
        axes[1].text(0.98, 0.02, f"{beyond} epoch(s) with a running median above "
                     f"{TEST_COST_AXIS:g}\ndrawn at the axis' end", ha="right", va="bottom",
                     fontsize=7, transform=axes[1].transAxes)
    handles = [plt.Line2D([], [], color=color, label=f"d = {d}, n = {d // 2}")
               for d, color in colors.items()]
    if not all(family.values()):
        handles.append(plt.Line2D([], [], color=OTHER_RUNS, label="n < d/2 or left/right"))
    handles += [plt.Line2D([], [], ls="", marker=MARKERS[n], color="grey", label=f"{NAMES[n]} "
                           "(last epoch)") for n in DATASETS]
    axes[1].legend(handles=handles, fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))
    fig.tight_layout()
    return save(store, fig, "fig3b", configs, figures_dir(store, profile, out_dir))


# ----------------------------------------------------------------- the book's own figures

@figure("paper")
def accuracy_vs_d(store, profile=None, out_dir=None):
    """Test accuracy of every landscape run against d (n = d/2): the mean of its last 5 epochs
    (filled) and its best epoch (open, chosen on the test set), one dot per seed (the seeds of
    one d side by side around it, in seed order), the seed means as lines; the paper's 97% /
    89% dashed, d = 10-40 shaded; the parameter count (eq. 47) on the top axis."""
    profile = profile or current_profile()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, name in zip(axes, DATASETS):
        runs = sorted((c for c in landscape_runs(store, profile) if c.dataset == name), key=lambda c: c.seed)
        total = sum(c.dataset == name for c in landscape_configs(profile))
        ds = sorted({c.d for c in runs})
        ax.set_title(f"{NAMES[name]}: {len(runs)} of {total} runs stored", fontsize=10)
        if not ds:
            ax.text(0.5, 0.5, "no landscape run stored yet\n(`qcnn reproduce` makes them)",
                    ha="center", va="center", transform=ax.transAxes)
            continue
        shown = [PAPER_ACCURACY[name]]
        for key, value, fill in ((f"last {LAST} epochs",
                                  lambda m: stats.last_epochs_accuracy(m, LAST), True),
                                 ("best epoch", lambda m: max(m.test_accuracy), False)):
            per_d = {d: [value(store.metrics(c)) for c in runs if c.d == d] for d in ds}
            shown += [v for values in per_d.values() for v in values]
            for d in ds:
                shifts = SEED_SHIFT ** (np.arange(len(per_d[d])) - (len(per_d[d]) - 1) / 2)
                ax.scatter(d * shifts, per_d[d], s=18, zorder=3, edgecolors=COLORS[name],
                           color=COLORS[name] if fill else "none")
            ax.plot(ds, [np.mean(v) for v in per_d.values()], color=COLORS[name], lw=1,
                    ls="-" if fill else ":", label=f"{key} (seed mean)")
        ax.axhline(PAPER_ACCURACY[name], color="grey", ls="--", lw=1, label="paper")
        pad = 0.06 * (max(shown) - min(shown))
        ax.set_ylim(min(shown) - pad, max(shown) + pad)      # the paper's line inside, not on the frame
        ax.axvspan(*D_CLAIM, color="grey", alpha=0.08)
        ax.set(xlabel="d (channel scale; n = d/2)", ylabel="test accuracy", xscale="log")
        ax.set_xticks(ds, [str(d) for d in ds], fontsize=8)
        ax.minorticks_off()
        top = ax.secondary_xaxis("top")
        top.set_xticks(ds, [f"{parameter_count_eq47(d, 256) / 1000:.0f}k" for d in ds], fontsize=7,
                       rotation=45)
        top.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
        top.set_xlabel("parameters (eq. 47)", fontsize=8)
        ax.legend(fontsize=8, loc="lower right")
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return save(store, fig, "accuracy_vs_d", landscape_runs(store, profile), figures_dir(store, profile, out_dir))


@figure("paper")
def entropy_over_seeds(store, profile=None, out_dir=None):
    """The epoch-mean entropy (class average) of every d = 18 run that judges "MNIST's entropy
    stabilises while Fashion-MNIST's keeps growing" (``report.StabilisesOrGrows``), the paper's
    recipe (left) beside this book's (right): each run thin (both partitions, every seed), their
    mean thick; the last third, where the claim is judged, shaded."""
    profile = profile or current_profile()
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True)
    drawn = []
    for ax, recipe in zip(axes, RECIPE_TITLES):
        for name in DATASETS:
            configs = [c for c in population(store, recipe, name, profile)
                       if c.d == 18 and c.epochs >= 30]
            drawn += configs
            if configs:
                epochs, curves = shortest([store.metrics(c) for c in configs], stats.epoch_mean_entropy)
                seed_lines(ax, epochs, curves, COLORS[name], NAMES[name], unit="run")
                ax.axvspan(2 * epochs[-1] / 3, epochs[-1], color="grey", alpha=0.04)
        if not ax.lines:
            not_stored(ax, f"{RECIPE_TITLES[recipe]}: a d = 18 run")
        ax.set(xlabel="epoch", title=f"d = 18, every partition and seed\n{RECIPE_TITLES[recipe]}")
        ax.title.set_fontsize(9)
        legend(ax, fontsize=7)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("entropy (nats), class and epoch average")
    fig.tight_layout()
    return save(store, fig, "entropy_over_seeds", drawn, figures_dir(store, profile, out_dir))


@figure("paper")
def correlation_tests(store, profile=None, out_dir=None):
    """Entropy against cost, with the shared trend over epochs taken out, for this book's recipe
    and the paper's (``report.correlation_summary``: the numbers of the claims table). Within each
    run from epoch 30: Spearman rho of the epoch-mean entropy against the running train cost, raw
    (as §4.2 reads Fig. 3) and of the first differences (the learning-rate halvings left out),
    one dot per initial state, the median as a bar. Right: rho across this book's runs at
    matched epochs, within d (``stats.across_runs``), once the landscape's seeds allow it."""
    profile = profile or current_profile()
    first = first_epoch_of(profile)
    summaries = {recipe: correlation_summary(store, recipe, profile) for recipe in RECIPE_TITLES}
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    labels = []
    for i, (recipe, key) in enumerate((r, k) for r in RECIPE_TITLES for k in ("raw", "differences")):
        labels.append(f"{'paper' if recipe == 'published' else 'book'}:\n"
                      f"{'raw' if key == 'raw' else 'differences'}")
        for name in DATASETS:
            entry = summaries[recipe][name]
            if entry is None:
                continue
            rhos = entry["per_run"][key]
            x = i + (0.15 if name == "fashion-mnist" else -0.15)
            axes[0].scatter(x + np.linspace(-0.06, 0.06, len(rhos)), rhos, s=10, color=COLORS[name],
                            alpha=0.7, label=f"{NAMES[name]}" if i == 2 else None)
            axes[0].plot([x - 0.1, x + 0.1], [np.median(rhos)] * 2, color="black", lw=2)
    axes[0].axhline(0, color="black", lw=0.8)
    axes[0].set(xticks=range(4), ylim=(-1, 1), ylabel="Spearman rho within a run\n"
                "(entropy vs running train cost)", title=f"within each run, epochs {first}+ (bar: median)")
    axes[0].set_xticklabels(labels, fontsize=8)
    legend(axes[0], fontsize=7)
    for name in DATASETS:
        entry = summaries["book"][name]
        if entry and entry["within_d_series"]:
            epochs, rho, runs = entry["within_d_series"]
            axes[1].plot(epochs, rho, color=COLORS[name], lw=1.2, label=f"{NAMES[name]}, {runs} runs")
    if not axes[1].lines:
        not_stored(axes[1], "five d's with two seeds")
    axes[1].axhline(0, color="black", lw=0.8)
    axes[1].set(xlabel="epoch", ylabel="Spearman rho across runs, within d\n"
                "(entropy vs running train cost)", ylim=(-1, 1),
                title=f"this book's recipe: across runs at the same epoch, epochs {first}+")
    legend(axes[1], fontsize=7)
    for ax in axes:
        ax.grid(alpha=0.3)
    fig.tight_layout()
    drawn = dict.fromkeys(c for recipe in RECIPE_TITLES for c in population(store, recipe, None, profile))
    return save(store, fig, "correlation_tests", list(drawn), figures_dir(store, profile, out_dir))


# ------------------------------------------------------------------- every cut of the tree

def _label(config):
    return f"{NAMES[config.dataset]}, {config.partition}"


def _save_cuts(store, fig, name, out_dir, source):
    return save(store, fig, name, list(fig2_configs("paper").values()),
                figures_dir(store, "paper", out_dir), inputs=[source])


@figure("book")
def cuts_levels(store, out_dir=None):
    """Entropy across the cut of one subtree of 2^k leaves, k = 0..7 (class mean; bars: the
    labels' range), of the four trained d = 18 networks, against the min-cut bound of that cut
    (grey). Right: the share of the bound used."""
    analysis, source = analysis_input(store)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for config, entry in fig2_entries(analysis):
        rows, bound = np.array(entry["levels"]["entropy"]), np.array(entry["levels"]["bound"])
        levels = np.arange(len(rows))
        style = dict(color=COLORS[config.dataset], ls=LINESTYLES[config.partition], marker="o",
                     ms=3, label=_label(config))
        axes[0].errorbar(levels, rows.mean(1), yerr=[rows.mean(1) - rows.min(1),
                                                     rows.max(1) - rows.mean(1)], capsize=2, **style)
        axes[1].plot(levels, rows.mean(1) / bound, **style)
    if fig2_entries(analysis):
        axes[0].plot(levels, bound, color="grey", lw=2, alpha=0.5, label="min-cut bound")
    else:
        not_stored(axes[0], "the analysis of the Fig. 2 networks")
    axes[0].set(xlabel="k (subtree of 2^k pixels)", ylabel="entropy (nats)", yscale="log",
                title="entropy of one subtree against the rest")
    axes[1].set(xlabel="k (subtree of 2^k pixels)", ylabel="entropy / bound", yscale="log",
                title="share of the capacity used")
    for ax in axes:
        ax.grid(alpha=0.3)
        legend(ax, fontsize=7)
    fig.tight_layout()
    return _save_cuts(store, fig, "cuts_levels", out_dir, source)


@figure("book")
def cuts_growth(store, out_dir=None):
    """How the entropy of each level's subtrees grows during training: class-mean entropy of
    the subtree cut at level k against the epoch, from the weight snapshots of the four
    d = 18 runs (epochs 0, 1, 2, 5, 10, 20, 30, 45, 60, 90), each network on its own axis (one
    passes through 1e-11 nats at epoch 1)."""
    analysis, source = analysis_input(store)
    fig, axes = plt.subplots(2, 2, figsize=(11, 6.4))
    axes = axes.flatten()
    cmap = plt.get_cmap("plasma")
    for ax, (config, entry) in zip(axes, fig2_entries(analysis)):
        epochs = entry["levels"]["snapshot_epochs"]
        rows = np.array(entry["levels"]["snapshot_entropy"]).mean(2)
        for k in range(rows.shape[1]):
            ax.plot(epochs, rows[:, k], marker="o", ms=3, color=cmap(k / rows.shape[1]),
                    label=f"k = {k}")
        ax.set(xlabel="epoch", xscale="symlog", yscale="log", title=_label(config),
               ylabel="entropy (nats), class mean")
        ax.grid(alpha=0.3)
    axes[1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))
    fig.tight_layout()
    return _save_cuts(store, fig, "cuts_growth", out_dir, source)


NETWORK_COLORS = {("mnist", "updown"): "tab:blue", ("mnist", "leftright"): "tab:cyan",
                  ("fashion-mnist", "updown"): "tab:orange", ("fashion-mnist", "leftright"): "tab:red"}
REGION_MARKERS = {"corner": ("s", "k x k corner block"), "centre": ("D", "k x k centre block"),
                  "row": ("^", "row"), "column": ("v", "column"), "half": ("o", "half-plane")}


def region_type(name):
    """The kind of an analysed region, from its name: corner, centre, row, column, half."""
    return next(kind for kind in REGION_MARKERS if kind in name)


@figure("book")
def cuts_size(store, out_dir=None):
    """Rényi-2 entropy (class mean) of blocks, rows, columns and half-planes of the four
    trained networks (colour) against the region's boundary length (left), its size in pixels
    (middle) and its min-cut bound (right); the marker is the region's kind, and each network's
    corner blocks (k = 1, 2, 4, 8) are joined. Corner and centre blocks have the same size but
    boundaries 2k and 4k; a top and a middle row have boundaries 16 and 32."""
    analysis, source = analysis_input(store)
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    for config, entry in fig2_entries(analysis):
        color = NETWORK_COLORS[(config.dataset, config.partition)]
        items = entry["regions"]
        for i, quantity in enumerate(("boundary", "area", "min_cut_bound")):
            for name, item in items.items():
                axes[i].scatter(item[quantity], np.mean(item["renyi2"]), color=color, s=24,
                                marker=REGION_MARKERS[region_type(name)][0], alpha=0.8)
            corners = [items[f"{k}x{k} corner"] for k in (1, 2, 4, 8)]
            axes[i].plot([c[quantity] for c in corners], [np.mean(c["renyi2"]) for c in corners],
                         color=color, lw=0.8, alpha=0.7)
    for ax, xlabel in zip(axes, ("boundary length (pixel edges)", "size (pixels)",
                                 "min-cut bound (nats)")):
        ax.set(xlabel=xlabel, ylabel="Rényi-2 entropy (nats), class mean", yscale="log")
        ax.grid(alpha=0.3)
    axes[1].set_xscale("log")
    handles = [plt.Line2D([], [], color=color, lw=2, label=f"{NAMES[d]}, {p}")
               for (d, p), color in NETWORK_COLORS.items()]
    handles += [plt.Line2D([], [], ls="", marker=m, color="grey", label=label)
                for m, label in REGION_MARKERS.values()]
    axes[2].legend(handles=handles, fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))
    fig.tight_layout()
    return _save_cuts(store, fig, "cuts_size", out_dir, source)


@figure("book")
def cuts_data(store, out_dir=None):
    """Left: the top-cut entropy of each label seen through the test set (the chimera matrix
    alpha_y(half of one image, half of another)) against the entropy in L^2([0,1]^N). Right:
    where each label state's norm lies: log10 of the Born density at the test images over its
    average on the cube (at random uniform images: about 0)."""
    analysis, source = analysis_input(store)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for i, (config, entry) in enumerate(fig2_entries(analysis)):
        data = entry["data"]
        axes[0].scatter(data["entropy"], data["data_entropy_test"], color=COLORS[config.dataset],
                        marker="o" if config.partition == "updown" else "s", s=22,
                        label=_label(config))
        x = np.arange(10) + 0.2 * (i - 1.5)
        axes[1].bar(x, data["norm_on_data_log10_test"], width=0.2, color=COLORS[config.dataset],
                    alpha=1 if config.partition == "updown" else 0.5, label=_label(config))
    top = max(axes[0].get_xlim()[1], axes[0].get_ylim()[1])
    axes[0].plot([0, top], [0, top], color="grey", ls=":", label="equal")
    axes[0].set(xlabel="entropy in L^2 (nats)", ylabel="entropy through the test set (nats)",
                title="the top cut: the state against the data's view")
    axes[1].axhline(0, color="black", lw=0.8)
    axes[1].set(xlabel="label y", xticks=range(10), ylabel="log10 (mean over test images of\n"
                "|alpha_y|^2 / <Psi_y|Psi_y>)", title="where the norm lies")
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    return _save_cuts(store, fig, "cuts_data", out_dir, source)


@figure("book")
def cuts_truncation(store, out_dir=None):
    """Test accuracy of the trained networks with every bond cut to its chi leading Schmidt
    states (the label-averaged reduced density matrix of each level), against chi."""
    analysis, source = analysis_input(store)
    fig, ax = plt.subplots(figsize=(6, 3.8))
    for config, entry in fig2_entries(analysis):
        t = entry["truncation"]
        ax.plot(t["chi"], t["test_accuracy"], color=COLORS[config.dataset],
                ls=LINESTYLES[config.partition], marker="o", ms=3, label=_label(config))
    ax.set(xlabel="chi (channels kept per level)", ylabel="test accuracy", xscale="log",
           title="compressing the tree (Gao et al.)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return _save_cuts(store, fig, "cuts_truncation", out_dir, source)


# ----------------------------------------------------------------- the Ising model's chapter

def ising_input(store):
    """The stored Ising analysis ({} before ``qcnn analyze`` made it) and the line naming it."""
    path = store.analyses / "ising.json"
    if not path.exists():
        return {}, f"{relative(path, store.root)} (not made yet)"
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    return store.analysis("ising"), f"{relative(path, store.root)} (sha256 {digest})"


def ising_runs(store, analysis):
    """[(Config, entry)] of the analysed Ising runs, by d and seed."""
    entries = [(Config.from_dict(e["config"]), e) for e in analysis.get("runs", {}).values()]
    return sorted(entries, key=lambda ce: (ce[0].d, ce[0].seed))


@figure("book")
def ising_energy(store, out_dir=None):
    """The sampler against the exact result: the mean energy per site of the stored
    configurations at every temperature (1400 a temperature, error bars: one standard error)
    on Kaufman's exact curve for the 16 x 16 torus, and the difference in standard errors."""
    analysis, source = ising_input(store)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    sampler = analysis.get("sampler")
    if sampler:
        t = np.array(sampler["temperatures"])
        fine = np.linspace(t.min(), t.max(), 400)
        axes[0].plot(fine, exact_energy(fine), color="black", lw=1, label="exact (Kaufman, 16 x 16 torus)")
        axes[0].errorbar(t, sampler["energy"], yerr=sampler["error"], fmt="o", ms=3,
                         color="tab:purple", label="sampled configurations")
        z = (np.array(sampler["energy"]) - np.array(sampler["exact"])) / np.array(sampler["error"])
        axes[1].bar(t, z, width=0.03, color="tab:purple")
        axes[1].axhspan(-2, 2, color="grey", alpha=0.15, label="within 2 standard errors")
    else:
        not_stored(axes[0], "the Ising analysis")
    for ax in axes:
        ax.axvline(T_C, color="grey", ls=":", lw=1, label="T_c (infinite lattice)")
        ax.set(xlabel="temperature T")
        legend(ax, fontsize=7)
        ax.grid(alpha=0.3)
    axes[0].set(ylabel="energy per site", title="the sampler against the exact energy")
    axes[1].set(ylabel="(sampled - exact) / standard error", title="the difference")
    fig.tight_layout()
    return save(store, fig, "ising_energy", [], figures_dir(store, "paper", out_dir), inputs=[source])


@figure("book")
def ising_phases(store, out_dir=None):
    """The trained classifiers against temperature: test accuracy (left) and the mean Born
    probability of "ordered" over the test configurations (right), each run thin, coloured by
    d; T_c of the infinite lattice dotted, each run's crossing of 1/2 marked."""
    analysis, source = ising_input(store)
    runs = ising_runs(store, analysis)
    colors = d_colors({c.d for c, _ in runs})
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    t = np.array(TEMPERATURES)
    for config, entry in runs:
        label = f"d = {config.d}" if config.seed == 0 else None
        axes[0].plot(t, entry["accuracy"], color=colors[config.d], lw=1, marker="o", ms=2, label=label)
        axes[1].plot(t, entry["p_ordered"], color=colors[config.d], lw=1, label=label)
        if entry["crossing"] is not None:
            axes[1].plot([entry["crossing"]], [0.5], "x", color=colors[config.d])
    if not runs:
        not_stored(axes[0], "an Ising run")
    for ax in axes:
        ax.axvline(T_C, color="grey", ls=":", lw=1, label="T_c")
        ax.set(xlabel="temperature T")
        legend(ax, fontsize=7)
        ax.grid(alpha=0.3)
    axes[0].set(ylabel="test accuracy", title="accuracy at each temperature")
    axes[1].set(ylabel="mean p(ordered | x)", title="the classifier's transition (x: crossing 1/2)")
    fig.tight_layout()
    return save(store, fig, "ising_phases", [c for c, _ in runs],
                figures_dir(store, "paper", out_dir), inputs=[source])


@figure("book")
def ising_scales(store, out_dir=None):
    """Entanglement against the length scale: the class-mean entropy across one subtree of 2^k
    pixels, k = 0..7, of the Ising classifiers (each d, every seed: thin; trained solid, at
    initialisation with beta = 1 dashed), of the MNIST and Fashion-MNIST networks of Fig. 2
    (d = 18), and Page's value for a random state of the same Hilbert space (n = 9: a volume
    law), on log axes (values below FLOOR drawn at FLOOR); the min-cut bound of the d = 18 tree
    grey."""
    analysis, source = ising_input(store)
    cuts = store.analysis("cuts") if (store.analyses / "cuts.json").exists() else {"models": {}}
    runs = ising_runs(store, analysis)
    colors = d_colors({c.d for c, _ in runs})
    fig, ax = plt.subplots(figsize=(7, 4.4))
    sizes = 2 ** np.arange(8)
    for config, entry in runs:
        label = f"Ising, d = {config.d}" if config.seed == 0 else None
        ax.plot(sizes, np.maximum(np.mean(entry["trained"]["entropy"], 1), FLOOR), color=colors[config.d],
                lw=1, marker="o", ms=3, label=label)
        ax.plot(sizes, np.maximum(np.mean(entry["initial shift1"]["entropy"], 1), FLOOR),
                color=colors[config.d], lw=0.8, ls="--",
                label=f"untrained, d = {config.d}" if config.seed == 0 else None)
    for config, entry in fig2_entries(cuts):
        if config.partition == "updown":
            ax.plot(sizes, np.mean(entry["levels"]["entropy"], 1), color=COLORS[config.dataset],
                    lw=1.5, marker="s", ms=3, label=f"{NAMES[config.dataset]}, d = 18")
            ax.plot(sizes, entry["levels"]["bound"], color="grey", lw=2, alpha=0.4,
                    label="min-cut bound, d = 18" if config.dataset == "mnist" else None)
    if "page n=9" in analysis:
        ax.plot(sizes, analysis["page n=9"], color="black", ls=":", label="random state (Page), n = 9")
    if not runs:
        not_stored(ax, "an Ising run")
    ax.set(xlabel="subtree size (pixels)", ylabel="entropy (nats), class mean", xscale="log",
           yscale="log", title="entanglement against the length scale")
    ax.set_xticks(sizes, [str(s) for s in sizes])
    ax.minorticks_off()
    legend(ax, fontsize=6, loc="upper left", bbox_to_anchor=(1.01, 1))
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return save(store, fig, "ising_scales", [c for c, _ in runs] + [c for c, _ in fig2_entries(cuts)],
                figures_dir(store, "paper", out_dir), inputs=[source])


@figure("book")
def ising_temperature(store, out_dir=None):
    """Does the entanglement the network uses change near T_c? Left: the top cut of each
    trained Ising classifier seen through the test configurations of each temperature
    (``cuts.data_entropy``, class mean). Right: the exact entanglement of the Boltzmann state
    sum_s sqrt(p_T(s)) |s> across the middle of a cylinder (von Neumann and Rényi-2)."""
    analysis, source = ising_input(store)
    runs = ising_runs(store, analysis)
    colors = d_colors({c.d for c, _ in runs})
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    t = np.array(TEMPERATURES)
    for config, entry in runs:
        axes[0].plot(t, np.mean(entry["data_entropy"], 1), color=colors[config.d], lw=1,
                     label=f"d = {config.d}" if config.seed == 0 else None)
    if not runs:
        not_stored(axes[0], "an Ising run")
    boltzmann = analysis.get("boltzmann")
    if boltzmann:
        for key, style in (("von_neumann", "-"), ("renyi2", "--")):
            axes[1].plot(boltzmann["temperatures"], boltzmann[key], style, color="tab:purple",
                         label=f"{'von Neumann' if key == 'von_neumann' else 'Rényi-2'}")
        axes[1].set_title(f"the Boltzmann state, cylinder {boltzmann['width']} wide, "
                          f"{2 * boltzmann['half_height']} high", fontsize=9)
    else:
        not_stored(axes[1], "the Boltzmann state")
    for ax in axes:
        ax.axvline(T_C, color="grey", ls=":", lw=1, label="T_c")
        ax.set(xlabel="temperature T", ylabel="entropy (nats)")
        legend(ax, fontsize=7)
        ax.grid(alpha=0.3)
    axes[0].set_title("the classifier's top cut through the configurations at T", fontsize=9)
    fig.tight_layout()
    return save(store, fig, "ising_temperature", [c for c, _ in runs],
                figures_dir(store, "paper", out_dir), inputs=[source])


# ------------------------------------------------------------- the chapters' illustrations

def draw_basis(n, ax, basis="fourier"):
    """f_0..f_2n on [0, 1] as an image: rows are the basis functions (eq. 19)."""
    x = torch.linspace(0, 1, 401, dtype=torch.float64)
    f = extended_features(x, n, basis).T.numpy()
    ax.imshow(f, aspect="auto", cmap="RdBu_r", vmin=-1.5, vmax=1.5, extent=(0, 1, 2 * n + 0.5, -0.5),
              interpolation="nearest")
    ax.set(xlabel="pixel value x", ylabel="i", title=f"basis f_i(x), i = 0..{2 * n} (eq. 19)")


def draw_dirichlet(ns, ax, highlight=None):
    """D_n(z) / (2n + 1) (eq. 25): height 1 at z = 0, width ~ 1/n, tending to a delta."""
    z = np.linspace(-0.5, 0.5, 801)
    for n in ns:
        ax.plot(z, dirichlet_kernel(torch.from_numpy(z), n) / (2 * n + 1),
                lw=2 if n == highlight else 0.8, alpha=1 if n == highlight else 0.5, label=f"n = {n}")
    ax.set(xlabel="x - x'", ylabel="<x|x'> / (2n+1)", title="Dirichlet kernel (eq. 25)")
    ax.legend(fontsize=7)


@figure("book")
def basis(store, out_dir=None):
    """The local basis f_0..f_2n for n = 2 (eq. 19) and the Dirichlet kernel (eq. 25) for
    n = 1, 3, 9."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.2))
    draw_basis(2, axes[0])
    draw_dirichlet([1, 3, 9], axes[1], highlight=9)
    fig.tight_layout()
    return save(store, fig, "basis", [], figures_dir(store, "paper", out_dir))


def draw_images_and_born(images, probabilities, titles, highlight=None, figsize=(16, 3.4)):
    """Images (top row) over bar charts of their Born probabilities p(y|x) (eq. 34);
    ``highlight``: per image, a label to colour red (e.g. the true one)."""
    count = len(images)
    fig, axes = plt.subplots(2, count, figsize=figsize, gridspec_kw={"height_ratios": [1.2, 1]})
    for i in range(count):
        axes[0, i].imshow(images[i], cmap="gray_r")
        axes[0, i].set_title(titles[i], fontsize=8)
        axes[0, i].axis("off")
        colors = ["tab:red" if highlight is not None and y == highlight[i] else "tab:blue"
                  for y in range(probabilities.shape[1])]
        axes[1, i].bar(range(probabilities.shape[1]), probabilities[i], color=colors)
        axes[1, i].set(ylim=(0, 1), xticks=range(probabilities.shape[1]))
        axes[1, i].tick_params(labelsize=5)
    axes[1, 0].set_ylabel("p(y|x), eq. 34")
    fig.tight_layout()
    return fig


@figure("book")
def born_rule(store, out_dir=None, count=12):
    """The first ``count`` MNIST test images and the Born-rule probabilities (eq. 34) of the
    trained d = 18 up/down network, the true label in red; the titles give the true label and
    the prediction argmax |alpha| (eq. 35). Evaluated in float64, so that the drawing does not
    change with float32 rounding (which differs between runs of the same machine)."""
    config = fig2_configs("paper")[("mnist", "updown")]
    images, labels = load("mnist", "test", store.data)
    with torch.no_grad():
        alpha = store.model(config).double()(images[:count].double())
    fig = draw_images_and_born(images[:count], born_probabilities(alpha),
                               [f"label {y}, says {p}" for y, p in
                                zip(labels[:count].tolist(), predict(alpha).tolist())],
                               highlight=labels[:count].tolist())
    return save(store, fig, "born_rule", [config], figures_dir(store, "paper", out_dir))


@figure("book")
def half_turn(store, out_dir=None, count=4):
    """``count`` 6s of the MNIST test set and their half-turns (an automorphism of the up/down
    tree), with the Born probabilities of the trained d = 18 up/down network: the same."""
    config = fig2_configs("paper")[("mnist", "updown")]
    net = store.model(config).double()
    images, labels = load("mnist", "test", store.data)
    sixes = images[:1000][labels[:1000] == 6][:count].double()
    pairs = torch.stack((sixes, sixes.flip(1).flip(2)), 1).flatten(0, 1)
    with torch.no_grad():
        probabilities = born_probabilities(net(pairs))
    fig = draw_images_and_born(pairs, probabilities, ["image", "half-turn"] * count,
                               figsize=(15, 3.6))
    return save(store, fig, "half_turn", [config], figures_dir(store, "paper", out_dir))


@figure("book")
def entropy_by_label(store, out_dir=None):
    """Each label's top-cut entropy (thin) and their average (thick) during training, the four
    d = 18 runs of Fig. 2."""
    configs = fig2_configs("paper")
    fig, axes = plt.subplots(2, 2, figsize=(12, 6.4), sharex=True)
    for ax, ((dataset, partition), config) in zip(axes.flat, configs.items()):
        entropy_by_class(store.metrics(config), ax, f"{dataset}, {partition} cut (run {run_id(config)})")
    fig.tight_layout()
    return save(store, fig, "entropy_by_label", list(configs.values()), figures_dir(store, "paper", out_dir))


def all_figures(store, profile=None, out_dir=None):
    """Every registered figure for the profile's stored runs (the book's own only at paper
    scale); returns {name: figure}, each closed."""
    profile = profile or current_profile()
    figures = {}
    for name, (kind, function) in FIGURES.items():
        if kind == "paper" or profile == "paper":
            figures[name] = (function(store, profile, out_dir) if kind == "paper" else
                             function(store, out_dir))
            plt.close(figures[name])
    return figures
