"""One function per figure of the paper. Each reads stored runs, draws, and writes
``figures/<name>.png``, ``.pdf`` and ``<name>.json`` (the runs, their config hashes and commits,
and the commit that drew it); the book and ``qcnn figures`` call the same functions.

Which runs a figure uses depends on the profile: ``quick`` (small subsets, few epochs: what CI
and a laptop rebuild in a minute) or ``paper`` (§4.1's d = 18, 90 epochs, full sets). The
environment variable QCNN_PROFILE picks one; unset, ``paper`` is used where all its runs are
stored and ``quick`` otherwise.
"""
import json
import os
from pathlib import Path

import matplotlib

matplotlib.use(os.environ.get("MPLBACKEND", "Agg"))
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .data import DATASETS  # noqa: E402
from .model import PARTITIONS  # noqa: E402
from .runs import REPO_ROOT, git_commit, is_complete, load_run, run_directory, run_id  # noqa: E402
from .train import Config  # noqa: E402

FIGURES_ROOT = REPO_ROOT / "figures"
PROFILES = {
    # the paper's experiment (§4.1)
    "paper": dict(d=18, n=9, epochs=90),
    # the same model on 3000 training / 1000 test images for 6 epochs: seconds a run
    "quick": dict(d=18, n=9, epochs=6, limit_train=3000, limit_test=1000),
}
LANDSCAPE = {   # Fig. 3(b): many experiments
    "paper": dict(ds=(4, 8, 12, 18, 24, 32, 40), seeds=(0, 1, 2), epochs=30),
    "quick": dict(ds=(4, 8, 18), seeds=(0, 1), epochs=6, limit_train=3000, limit_test=1000),
}
NAMES = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST"}
COLORS = {"mnist": "tab:blue", "fashion-mnist": "tab:orange"}


def fig2_configs(profile):
    """The four d = 18 runs: {(dataset, partition): Config}."""
    return {(ds, part): Config(dataset=ds, partition=part, **PROFILES[profile])
            for ds in DATASETS for part in PARTITIONS}


def landscape_configs(profile):
    spec = dict(LANDSCAPE[profile])
    ds, seeds = spec.pop("ds"), spec.pop("seeds")
    return [Config(dataset=name, d=d, n=9, seed=seed, **spec)
            for name in DATASETS for d in ds for seed in seeds]


def recipe_configs():
    """The evidence for the training recipe (reproduction notes): 3 full MNIST epochs with
    the batch-norm shift at 1 (ours), at 0 (PyTorch's default), and the published settings."""
    return {"shift1": Config(epochs=3), "default": Config(epochs=3, init="default"),
            "published": Config(epochs=3, init="default", lr_schedule="published")}


def all_configs(profile):
    configs = list(fig2_configs(profile).values()) + landscape_configs(profile)
    return configs + [c for c in recipe_configs().values() if c not in configs]


def current_profile():
    """QCNN_PROFILE, or 'paper' when all of its runs are stored, else 'quick'."""
    chosen = os.environ.get("QCNN_PROFILE")
    if chosen:
        if chosen not in PROFILES:
            raise ValueError(f"QCNN_PROFILE must be one of {tuple(PROFILES)}, got {chosen!r}")
        return chosen
    stored = all(is_complete(run_directory(c)) for c in fig2_configs("paper").values())
    return "paper" if stored else "quick"


def stored_configs(configs):
    """The configs whose runs are stored (finished)."""
    return [c for c in configs if is_complete(run_directory(c))]


def fig3b_configs(profile):
    """The runs of Fig. 3(b) that are stored: the profile's landscape and its d = 18 runs."""
    wanted = landscape_configs(profile) + list(fig2_configs(profile).values())
    return stored_configs(list(dict.fromkeys(wanted)))


def stored(config):
    """(metrics, provenance) of a stored run, or an error that says how to make it."""
    try:
        _, metrics, provenance = load_run(run_id(config))
    except FileNotFoundError:
        raise FileNotFoundError(f"run {run_id(config)} ({config}) is not stored: make it with "
                                "`qcnn reproduce --profile PROFILE` or `qcnn train ...`") from None
    return metrics, provenance


def class_mean_entropy(metrics):
    """(epochs, entropy averaged over the classes) at every logged point."""
    log = metrics["entropy_log"]
    return np.array(log["epoch"]), np.array(log["entropy"]).mean(axis=1)


def running_train_cost(metrics):
    """(epochs, running train cost) at the logged points after step 0: the mean loss (eq. 48)
    of the batches since the previous point, in train mode, as the optimiser saw it. The
    eval-mode cost over the whole training set can be dominated by a few images with huge
    outputs late in training (see the reproduction notes), so the figures use this one."""
    log = metrics["entropy_log"]
    keep = [i for i, c in enumerate(log["running_train_cost"]) if c is not None]
    return np.array(log["epoch"])[keep], np.array(log["running_train_cost"])[keep]


def window_average(x, y, width):
    """Moving average of y over windows of ``width`` (in x units), placed at window centres."""
    per_unit = (len(x) - 1) / (x[-1] - x[0]) if len(x) > 1 else 1
    k = max(1, int(round(width * per_unit)))
    if len(y) < k:
        return x, y
    kernel = np.ones(k) / k
    return np.convolve(x, kernel, "valid"), np.convolve(y, kernel, "valid")


def epoch_mean_entropy(metrics):
    """Entropy averaged over the classes and over each epoch's logged points, per epoch."""
    epochs, entropy = class_mean_entropy(metrics)
    return np.array([entropy[(epochs > e - 1) & (epochs <= e)].mean() for e in metrics["epoch"]])


def figures_dir(profile, out_dir=None):
    """Where a profile's figures go by default: figures/ for the paper, figures/quick/ (not
    committed) for the quick profile, so smoke runs never overwrite the paper's figures."""
    return Path(out_dir) if out_dir else FIGURES_ROOT / ("" if profile == "paper" else profile)


def save(fig, name, configs, out_dir):
    """Write <name>.png, .pdf and .json (provenance) to ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_dir / f"{name}.png", dpi=150, bbox_inches="tight")
    fig.savefig(out_dir / f"{name}.pdf", bbox_inches="tight", metadata={"CreationDate": None})
    runs = []
    for config in configs:
        _, provenance = stored(config)
        runs.append({"run_id": run_id(config), "config": config.to_dict(),
                     "commit": provenance["commit"], "device": provenance["device"]})
    where = out_dir.resolve()
    where = where.relative_to(REPO_ROOT) if where.is_relative_to(REPO_ROOT) else where
    record = {"figure": name, "directory": str(where), "commit": git_commit(), "runs": runs}
    (out_dir / f"{name}.json").write_text(json.dumps(record, indent=1) + "\n")
    fig.provenance = record
    return fig


def caption(fig):
    """One line for the book: which runs and commits made the figure."""
    record = fig.provenance
    runs = ", ".join(r["run_id"] for r in record["runs"]) or "none (drawn from the code)"
    commits = sorted({r["commit"][:12] for r in record["runs"]}) or ["-"]
    return (f"Drawn at commit {record['commit'][:12]} from runs {runs} "
            f"(trained at commit {', '.join(commits)}); see {record['directory']}/{record['figure']}.json.")


def entropy_by_class(metrics, ax, title=""):
    """Each label's entropy during training (thin lines) and their average (thick)."""
    log = metrics["entropy_log"]
    entropy = np.array(log["entropy"])
    for y in range(entropy.shape[1]):
        ax.plot(log["epoch"], entropy[:, y], lw=0.7, alpha=0.6, label=f"y = {y}")
    ax.plot(log["epoch"], entropy.mean(1), color="black", lw=2, label="average")
    ax.set(xlabel="epoch", ylabel="entropy (nats)", title=title)
    ax.legend(fontsize=6, ncol=2)
    ax.grid(alpha=0.3)


def run_curves(metrics, title=""):
    """A run at a glance: accuracy, cost and per-label entropy against epochs (not saved)."""
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.4))
    for key, style in (("train", "-"), ("test", "--")):
        axes[0].plot(metrics["epoch"], metrics[f"{key}_accuracy"], style, label=key)
        axes[1].plot(metrics["epoch"], metrics[f"{key}_cost"], style, label=key)
    axes[0].set(xlabel="epoch", ylabel="accuracy", title="accuracy")
    axes[1].set(xlabel="epoch", ylabel="cost (eq. 48)", yscale="log", title="cost")
    for ax in axes[:2]:
        ax.legend()
        ax.grid(alpha=0.3)
    entropy_by_class(metrics, axes[2], "entanglement entropy (top cut)")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def _runs_for(panel_partition, profile):
    configs = fig2_configs(profile)
    return [configs[(ds, panel_partition)] for ds in DATASETS]


def _train_test_curves(name, train_series, test_key, ylabel, title, profile, out_dir,
                       yscale="linear"):
    profile = profile or current_profile()
    configs = _runs_for("leftright", profile)
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for config in configs:
        m, _ = stored(config)
        ax.plot(*train_series(m), color=COLORS[config.dataset], label=f"{NAMES[config.dataset]} train")
        ax.plot(m["epoch"], m[test_key], "--", color=COLORS[config.dataset],
                label=f"{NAMES[config.dataset]} test")
    ax.set(xlabel="epoch", ylabel=ylabel, yscale=yscale, title=title)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return save(fig, name, configs, figures_dir(profile, out_dir))


def fig2a(profile=None, out_dir=None):
    """Fig. 2(a): train and test accuracy per epoch (eval mode, full sets), d = 18, both data
    sets (the left/right runs)."""
    return _train_test_curves("fig2a", lambda m: (m["epoch"], m["train_accuracy"]),
                              "test_accuracy", "accuracy", "(a) accuracy during training",
                              profile, out_dir)


def fig2b(profile=None, out_dir=None):
    """Fig. 2(b): the cost (eq. 48) during training: the running train cost (10 points an
    epoch) and the test cost after each epoch, d = 18, both data sets."""
    return _train_test_curves("fig2b", running_train_cost, "test_cost", "cost (eq. 48)",
                              "(b) cost during training", profile, out_dir, yscale="log")


def _entropy_trend(name, partition, title, profile, out_dir):
    profile = profile or current_profile()
    configs = _runs_for(partition, profile)
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for config in configs:
        m, _ = stored(config)
        epochs, entropy = class_mean_entropy(m)
        ax.plot(epochs, entropy, color=COLORS[config.dataset], alpha=0.25, lw=0.8)
        ax.plot(*window_average(epochs, entropy, 2.0), color=COLORS[config.dataset],
                label=f"{NAMES[config.dataset]} (2-epoch window)")
    ax.axhline(np.log(2), color="grey", ls=":", lw=1, label="ln 2")
    ax.set(xlabel="epoch", ylabel="entanglement entropy (nats)\naveraged over the 10 labels",
           title=title)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return save(fig, name, configs, figures_dir(profile, out_dir))


def fig2c(profile=None, out_dir=None):
    """Fig. 2(c): left/right entropy, averaged over classes and a 2-epoch window."""
    return _entropy_trend("fig2c", "leftright", "(c) left/right entanglement entropy",
                          profile, out_dir)


def fig2d(profile=None, out_dir=None):
    """Fig. 2(d): up/down entropy of the runs with the up/down flattening."""
    return _entropy_trend("fig2d", "updown", "(d) up/down entanglement entropy", profile, out_dir)


def entropy_cost_pairs(metrics, first_epoch):
    """{"train": (cost, entropy), "test": (cost, entropy)} from ``first_epoch`` on: the running
    train cost against the class-mean entropy at the same logged points, and the test cost
    against the entropy averaged over the same epoch."""
    epochs, entropy = class_mean_entropy(metrics)
    cost_epochs, cost = running_train_cost(metrics)
    at = np.isin(epochs, cost_epochs)
    keep = cost_epochs >= first_epoch
    per_epoch = np.array(metrics["epoch"]) >= first_epoch
    return {"train": (cost[keep], entropy[at][keep]),
            "test": (np.array(metrics["test_cost"])[per_epoch],
                     epoch_mean_entropy(metrics)[per_epoch])}


def _entropy_vs_cost(ax, metrics, color, label, first_epoch):
    pairs = entropy_cost_pairs(metrics, first_epoch)
    for kind, marker, alpha in (("train", "o", 0.5), ("test", "^", 0.8)):
        cost, entropy = pairs[kind]
        ax.scatter(cost, entropy, s=10, marker=marker, color=color, alpha=alpha,
                   label=f"{label} {kind}" if label else None)


def fig3a(profile=None, out_dir=None):
    """Fig. 3(a): class-mean entropy against the running train cost (circles, 10 points an
    epoch) and the test cost (triangles, per epoch), from epoch 30 on (the second half of
    training in the quick profile), d = 18 left/right runs."""
    profile = profile or current_profile()
    configs = _runs_for("leftright", profile)
    first = 30 if profile == "paper" else PROFILES[profile]["epochs"] // 2
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.5))
    for ax, config in zip(axes, configs):
        m, _ = stored(config)
        _entropy_vs_cost(ax, m, COLORS[config.dataset], NAMES[config.dataset], first)
        ax.set(xlabel="cost (eq. 48)", ylabel="entropy (nats), class average", xscale="log",
               title=f"(a) {NAMES[config.dataset]}, epochs >= {first}")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return save(fig, "fig3a", configs, figures_dir(profile, out_dir))


def fig3b(profile=None, out_dir=None):
    """Fig. 3(b): entropy against the running train cost and the test cost across many runs
    (several d, seeds), all epochs after the first. Draws the profile's landscape runs that
    are stored (the d = 18 runs at the least)."""
    profile = profile or current_profile()
    configs = fig3b_configs(profile)
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.5))
    ds = sorted({c.d for c in configs})
    cmap = plt.get_cmap("viridis")
    for config in configs:
        m, _ = stored(config)
        ax = axes[DATASETS.index(config.dataset)]
        color = cmap(ds.index(config.d) / max(1, len(ds) - 1))
        _entropy_vs_cost(ax, m, color, None, 1)
    for ax, name in zip(axes, DATASETS):
        runs = sum(c.dataset == name for c in configs)
        ax.set(xlabel="cost (eq. 48): o train, ^ test", ylabel="entropy (nats), class average",
               xscale="log", title=f"(b) {NAMES[name]}, {runs} runs")
        ax.grid(alpha=0.3)
    handles = [plt.Line2D([], [], ls="", marker="o", color=cmap(i / max(1, len(ds) - 1)),
                          label=f"d = {d}") for i, d in enumerate(ds)]
    axes[1].legend(handles=handles, fontsize=7, loc="best")
    fig.tight_layout()
    return save(fig, "fig3b", configs, figures_dir(profile, out_dir))


def fig1(profile=None, out_dir=None, n_pixels=8):
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
    return save(fig, "fig1", [], figures_dir(profile or current_profile(), out_dir))


def all_figures(profile=None, out_dir=None):
    """Every figure of the paper, for the profile's stored runs; returns {name: figure}."""
    profile = profile or current_profile()
    figures = {"fig1": fig1(profile, out_dir)}
    for draw in (fig2a, fig2b, fig2c, fig2d, fig3a, fig3b):
        figures[draw.__name__] = draw(profile, out_dir)
    for fig in figures.values():
        plt.close(fig)
    return figures
