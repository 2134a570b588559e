"""The d and n explorer: what the channel scale d and the Fourier cutoff n do.

``draw_view(store, d, n)`` draws one view, three rows:
- n, the local Hilbert space C^(2n+1) (eqs. 19-25): the basis functions, the Dirichlet kernel
  <x|x'> = D_n(x - x'), how distinguishable two grey levels are, and the overlap <x|x'> of
  whole MNIST images, same class against different classes, which collapses as n grows;
- d, the architecture: widths d_l = d(l+1), the parameter count (eq. 46; eq. 47 assumes
  2n = d), the entanglement capacity of every level (min-cut bounds) with the per-level
  entropies of the stored runs at (d, n);
- both, the trained results of the paper-scale runs (never the quick or beta = 0 ones): test
  accuracy and entropy against d (the landscape, where the paper ties n to d: n = d/2) and
  against n (the n-sweep at d = 18, this book's extension), the chosen value marked, and the
  entropy curves of the runs at (d, n).

The same function serves both places a reader meets the explorer. ``static_explorer`` draws
the view of every (d, n) of the grid (the landscape's d's against every n of the landscape and
the n-sweep) into ``book/_static/explorer/`` and returns a
block of HTML whose sliders switch between them in the page itself: no kernel, no network.
``Explorer`` puts ipywidgets sliders over ``draw_view`` in a live kernel, where it can also
train a model for the chosen (d, n) with the quick recipe, with a progress bar.
"""
import functools
import hashlib
import io
import json
import math
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch

from .basis import dirichlet_kernel
from .config import Config, run_id
from .cuts import min_cut_bound, subtree_entropies, subtree_region
from .data import DATASETS, load, missing_files
from .errors import NonFinite
from .experiments import LANDSCAPE_DS, N_SWEEP, QUICK, explorer_configs
from .figures import (COLORS, NAMES, code_record, draw_basis, draw_dirichlet, run_curves,
                      run_record)
from .model import QCNN, channel_widths, parameter_count, parameter_count_eq47
from .runs import make_run
EXPLORER_NS = tuple(sorted(set(N_SWEEP) | {d // 2 for d in LANDSCAPE_DS}))


def architecture_summary(d, n, n_pixels=256, n_classes=10):
    """Widths, parameter counts (eq. 46, and eq. 47 where it applies) and the min-cut bound of
    the subtree cut of every level, k = 0..L-1 (the top cut's is ln(d_{L-1} + 1))."""
    widths = channel_widths(d, n, n_pixels.bit_length() - 1, n_classes)
    model = QCNN(d, n, int(math.isqrt(n_pixels)))
    bounds = [min_cut_bound(model, subtree_region(model, k)) for k in range(model.n_layers)]
    return {"d": d, "n": n, "widths": widths, "parameters": parameter_count(d, n, n_pixels, n_classes),
            "parameters_eq47": parameter_count_eq47(d, n_pixels) if 2 * n == d else None,
            "level_bounds": bounds, "entropy_bound": bounds[-1]}


# ------------------------------------------------------------------------- stored results

def stored_results(store):
    """{run id: (config, metrics, per-level class-mean entropies of the final weights)} of the
    paper-scale runs in the store that the explorer shows (``experiments.explorer_configs``),
    memoised on the runs' files."""
    results = {}
    for config in store.stored(explorer_configs()):
        directory = store.run_dir(config)
        levels = store.memo(("levels", run_id(config)), [directory / "model.safetensors"],
                            lambda c=config: subtree_entropies(store.model(c).double()).mean(1).numpy())
        results[run_id(config)] = (config, store.metrics(config), levels)
    return results


@functools.lru_cache(maxsize=None)
def image_pairs(data, pairs=400, seed=0):
    """Random pairs (a, b) of distinct MNIST test images (in the folder ``data``), ``pairs`` of
    the same class and ``pairs`` of different classes: {"same": [(a, b), ...], "different": [...]}."""
    _, labels = load("mnist", "test", data)
    rng = np.random.default_rng(seed)
    result = {"same": [], "different": []}
    while min(len(v) for v in result.values()) < pairs:
        a, b = rng.integers(0, len(labels), 2)
        kind = "same" if labels[a] == labels[b] else "different"
        if a != b and len(result[kind]) < pairs:
            result[kind].append((a, b))
    return result


def image_overlaps(data, n):
    """log10 |<x|x'>| / <x|x> = sum_p log10 |D_n(x_p - x'_p) / (2n + 1)| for the pairs of
    ``image_pairs``: {"same": [...], "different": [...]} (empty without the data; not cached
    then, so data downloaded later is used)."""
    if missing_files("mnist", data, report=lambda *_: None):
        return {"same": [], "different": []}
    return cached_overlaps(data, n)


@functools.lru_cache(maxsize=None)
def cached_overlaps(data, n):
    """``image_overlaps`` with the data present. The data sets are fixed (checked against their
    SHA-256), so this is cached per folder and n."""
    images, _ = load("mnist", "test", data)
    result = {}
    for kind, pairs in image_pairs(data).items():
        a, b = (torch.tensor([p[i] for p in pairs]) for i in (0, 1))
        ratio = dirichlet_kernel((images[a] - images[b]).double().flatten(1), n) / (2 * n + 1)
        result[kind] = torch.log10(ratio.abs().clamp(min=1e-300)).sum(1).tolist()
    return result


# ----------------------------------------------------------------------------- the panels

def draw_distinguishability(n, ax):
    """|<x|x'>|^2 / (<x|x><x'|x'>) of two grey levels against their difference: pixels closer
    than about 1/(2n+1) look alike to the network's Hilbert space."""
    z = np.linspace(0, 0.5, 401)
    overlap = (dirichlet_kernel(torch.from_numpy(z), n) / (2 * n + 1)).numpy() ** 2
    ax.plot(z * 255, overlap, color="black")
    ax.axvline(255 / (2 * n + 1), color="grey", ls=":", lw=1)
    ax.set(xlabel="grey-level difference (0-255)", ylabel="|<x|x'>|^2 (normalised)",
           title=f"two grey levels, n = {n}")


def draw_overlaps(store, n, ax):
    """Histograms of log10 |<x|x'>| / <x|x> for pairs of MNIST test images."""
    overlaps = image_overlaps(store.data, n)
    if not overlaps["same"]:
        ax.text(0.5, 0.5, "MNIST not fetched\n(qcnn data fetch mnist)", ha="center", va="center",
                transform=ax.transAxes)
        return
    bins = np.linspace(min(min(v) for v in overlaps.values()), 0, 30)
    for kind, color in (("same", "tab:green"), ("different", "tab:red")):
        ax.hist(overlaps[kind], bins=bins, alpha=0.5, color=color, label=f"{kind} class")
    ax.set(xlabel="log10 |<x|x'>| / <x|x> (MNIST pairs)", ylabel="pairs",
           title="whole images: overlaps collapse with n")
    ax.legend(fontsize=7)


def draw_summary(summary, ax):
    """The architecture in words and numbers."""
    d, n, widths = summary["d"], summary["n"], summary["widths"]
    eq47 = (f"{summary['parameters_eq47']:,} (eq. 47, 2n = d)" if summary["parameters_eq47"]
            else "eq. 47 does not apply: it assumes 2n = d")
    lines = [f"d = {d}, n = {n}", "widths d_0..d_L+1:", f"  {widths}",
             f"parameters: {summary['parameters']:,} (eq. 46)", f"  {eq47}",
             f"top-cut capacity ln(d_(L-1) + 1) = {summary['entropy_bound']:.3f} nats",
             f"  (the half states span {widths[-3] + 1} dims)"]
    ax.text(0.0, 1.0, "\n".join(lines), va="top", family="monospace", fontsize=8,
            transform=ax.transAxes)
    ax.set_axis_off()


def draw_capacity(summary, results, ax):
    """Min-cut bound of the subtree cut at every level (bars) and the class-mean entropies of
    the stored runs with this (d, n) (lines)."""
    levels = np.arange(len(summary["level_bounds"]))
    ax.bar(levels, summary["level_bounds"], color="lightgrey", label="min-cut bound")
    for config, _, entropies in results:
        ax.plot(levels, entropies, marker="o", ms=3, color=COLORS[config.dataset],
                ls="-" if config.partition == "updown" else "--", alpha=0.8,
                label=f"{NAMES[config.dataset]} s{config.seed} {config.partition}")
    ax.set(xlabel="k (subtree of 2^k pixels)", ylabel="entropy (nats)", yscale="log",
           title="capacity of every level, and used")
    ax.legend(fontsize=6)


def draw_against(results, key, chosen, ax, quantity, label):
    """A trained quantity of the runs against d (the landscape, n = d/2) or n (the n-sweep,
    d = 18): dots per seed and partition, the chosen value marked."""
    family = {"d": lambda c: 2 * c.n == c.d, "n": lambda c: c.d == 18}[key]
    for config, metrics, levels in results:
        if not family(config):
            continue
        value = quantity(metrics, levels)
        ax.scatter(getattr(config, key), value, s=12, color=COLORS[config.dataset], alpha=0.7,
                   marker="o" if config.partition == "updown" else "s")
    ax.axvline(chosen, color="black", lw=1, ls=":")
    ticks = LANDSCAPE_DS if key == "d" else N_SWEEP
    ax.set(xlabel=key, ylabel=label, xscale="log")
    ax.minorticks_off()
    ax.set_xticks(ticks, [str(v) for v in ticks])


def draw_curves(results, ax, d, n):
    """Class-mean entropy during training of the stored runs at (d, n)."""
    for config, metrics, _ in results:
        log = metrics.entropy_log
        ax.plot(log.epoch, np.mean(log.entropy, axis=1), lw=0.8, color=COLORS[config.dataset],
                ls="-" if config.partition == "updown" else "--",
                label=f"{NAMES[config.dataset]} s{config.seed} {config.partition}")
    if results:
        ax.legend(fontsize=6)
    else:
        ax.text(0.5, 0.5, f"no paper-scale run with\nd = {d}, n = {n}", ha="center", va="center",
                transform=ax.transAxes)
    ax.set(xlabel="epoch", ylabel="entropy (nats), class mean", title=f"runs at d = {d}, n = {n}")


def draw_view(store, d, n):
    """The explorer's view of (d, n); returns (figure, summary)."""
    summary = architecture_summary(d, n)
    results = list(stored_results(store).values())
    here = [r for r in results if (r[0].d, r[0].n) == (d, n)]
    summary["stored_runs"] = sorted(run_id(r[0]) for r in here)
    fig, axes = plt.subplots(3, 4, figsize=(17, 11))
    draw_basis(n, axes[0, 0])
    draw_dirichlet(sorted({1, 2, 4, 9, n}), axes[0, 1], highlight=n)
    draw_distinguishability(n, axes[0, 2])
    draw_overlaps(store, n, axes[0, 3])
    draw_summary(summary, axes[1, 0])
    draw_capacity(summary, here, axes[1, 1])
    final_entropy = ("top-cut entropy, final (nats)", lambda m, levels: levels[-1])
    best_accuracy = ("best test accuracy", lambda m, levels: max(m.test_accuracy))
    draw_against(results, "d", d, axes[1, 2], final_entropy[1], final_entropy[0])
    draw_curves(here, axes[1, 3], d, n)
    draw_against(results, "d", d, axes[2, 0], best_accuracy[1], best_accuracy[0])
    draw_against(results, "n", n, axes[2, 1], best_accuracy[1], best_accuracy[0])
    draw_against(results, "n", n, axes[2, 2], final_entropy[1], final_entropy[0])
    level3 = ("entropy of 8-pixel subtrees (nats)", lambda m, levels: levels[3])
    draw_against(results, "d", d, axes[2, 3], level3[1], level3[0])
    for ax, title in zip(axes[2], ("accuracy against d (n = d/2)", "accuracy against n (d = 18)",
                                   "top-cut entropy against n (d = 18)",
                                   "8-pixel subtrees against d (n = d/2)")):
        ax.set_title(title)
    axes[1, 2].set_title("top-cut entropy against d (n = d/2)")
    handles = [plt.Line2D([], [], ls="", marker="o", color=COLORS[name], label=NAMES[name])
               for name in DATASETS]
    fig.legend(handles=handles, loc="upper right", fontsize=8)
    fig.suptitle(f"d = {d}, n = {n}: rows n (the local Hilbert space), d (the architecture), "
                 "trained runs (paper scale)", fontsize=11)
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    return fig, summary


# --------------------------------------------------------------- the page and the kernel

def view_png(store, d, n, dpi=60):
    fig, summary = draw_view(store, d, n)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    plt.close(fig)
    return buffer.getvalue(), summary


def views_key(store, ds, ns):
    """What the static views depend on: the code that draws them (``figures.code_record``), the
    stored paper-scale runs (their metrics) and the grid. Equal keys mean the drawn views can be
    reused."""
    text = json.dumps([code_record(draw_view)["sha256"], list(ds), list(ns),
                       sorted(run_record(store, c)["metrics_sha256"] + run_id(c)
                              for c in store.stored(explorer_configs()))])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def static_explorer(store, ds=LANDSCAPE_DS, ns=EXPLORER_NS, directory=None):
    """Draw the view of every (d, n) into ``directory`` (default: the book's
    _static/explorer/; d<d>-n<n>.png, and views.json with what each view shows and the key of
    what drew them) and return HTML whose two sliders switch between them in the page. Views
    drawn before from the same code and runs are reused."""
    directory = Path(directory) if directory else store.root / "book" / "_static" / "explorer"
    directory.mkdir(parents=True, exist_ok=True)
    key, index = views_key(store, ds, ns), directory / "views.json"
    names = [f"d{d}-n{n}.png" for d in ds for n in ns]
    if index.exists() and all((directory / name).exists() for name in names):
        saved = json.loads(index.read_text())
        if saved.get("key") == key:
            return explorer_html(ds, ns, saved["views"], "_static/explorer")
    record = {}
    for d in ds:
        for n in ns:
            png, summary = view_png(store, d, n)
            (directory / f"d{d}-n{n}.png").write_bytes(png)
            record[f"{d},{n}"] = {k: summary[k] for k in ("parameters", "entropy_bound", "stored_runs")}
    index.write_text(json.dumps({"key": key, "views": record}, indent=1, sort_keys=True) + "\n")
    return explorer_html(ds, ns, record, "_static/explorer")


def explorer_html(ds, ns, record, url):
    """Two range inputs (indices into ds and ns) and an image switched by a few lines of JS."""
    data = json.dumps({"ds": list(ds), "ns": list(ns), "views": record, "url": url}, sort_keys=True)
    d0, n0 = ds.index(18) if 18 in ds else 0, ns.index(9) if 9 in ns else 0
    return f"""<div class="qcnn-explorer" id="qcnn-explorer">
<label>d <input type="range" class="qcnn-d" min="0" max="{len(ds) - 1}" value="{d0}" step="1"></label>
<span class="qcnn-d-value"></span> &nbsp;
<label>n <input type="range" class="qcnn-n" min="0" max="{len(ns) - 1}" value="{n0}" step="1"></label>
<span class="qcnn-n-value"></span>
<p class="qcnn-caption"></p>
<img class="qcnn-view" alt="the explorer's view" style="width:100%">
<script>
(function () {{
  const cfg = {data};
  const root = document.getElementById("qcnn-explorer");
  const dIn = root.querySelector(".qcnn-d"), nIn = root.querySelector(".qcnn-n");
  function show() {{
    const d = cfg.ds[dIn.value], n = cfg.ns[nIn.value], v = cfg.views[d + "," + n];
    root.querySelector(".qcnn-d-value").textContent = "d = " + d;
    root.querySelector(".qcnn-n-value").textContent = "n = " + n;
    root.querySelector(".qcnn-view").src = cfg.url + "/d" + d + "-n" + n + ".png";
    root.querySelector(".qcnn-caption").textContent = v.parameters.toLocaleString("en") +
      " parameters (eq. 46); top-cut capacity " + v.entropy_bound.toFixed(3) + " nats; " +
      v.stored_runs.length + " paper-scale run(s) stored at this (d, n).";
  }}
  dIn.addEventListener("input", show);
  nIn.addEventListener("input", show);
  show();
}})();
</script>
</div>"""


class Explorer:
    """Sliders for d and n over ``draw_view`` in a live kernel (a PNG in an image widget), and a
    button that trains a model for the chosen (d, n) on MNIST with the quick recipe, with a
    progress bar, shown apart from the paper-scale panels. ``figure``/``summary``: what was drawn
    last."""

    def __init__(self, store, d=18, n=9):
        import ipywidgets as widgets
        self.store = store
        self.d_slider = widgets.IntSlider(value=d, min=1, max=max(LANDSCAPE_DS), description="d")
        self.n_slider = widgets.IntSlider(value=n, min=1, max=max(EXPLORER_NS), description="n")
        self.image = widgets.Image(format="png")
        self.button = widgets.Button(description="train a quick model",
                                     tooltip="the quick recipe: the paper's, for 2 of its 90 epochs "
                                     "on MNIST (half a minute at d = 18 on a laptop CPU)")
        self.quick = widgets.Output()
        self.widget = widgets.VBox([widgets.HBox([self.d_slider, self.n_slider, self.button]),
                                    self.image, self.quick])
        self.d_slider.observe(self.redraw, names="value")
        self.n_slider.observe(self.redraw, names="value")
        self.button.on_click(self.train_quick)
        self.figure, self.summary = None, None
        self.redraw()

    def redraw(self, change=None):
        self.figure, self.summary = draw_view(self.store, self.d_slider.value, self.n_slider.value)
        buffer = io.BytesIO()
        self.figure.savefig(buffer, format="png", dpi=70)
        plt.close(self.figure)
        self.image.value = buffer.getvalue()

    def train_quick(self, button=None):
        from IPython.display import display
        config = Config(**dict(QUICK, d=self.d_slider.value, n=self.n_slider.value))
        with self.quick:
            self.quick.clear_output()
            started = time.perf_counter()
            try:
                _, metrics = make_run(config, self.store, progress=True)
            except NonFinite as error:               # a short run can leave the floats
                print(f"the quick run {run_id(config)} did not finish: {error}")
                return
            print(f"quick run {run_id(config)}: test accuracy {metrics.test_accuracy[-1]:.2%} "
                  f"after {config.epochs} of the paper's 90 epochs, in "
                  f"{time.perf_counter() - started:.0f} s (not the paper's scale)")
            fig = run_curves(metrics, f"quick run {run_id(config)}: d = {config.d}, "
                                      f"n = {config.n}, {config.epochs} epochs")
            display(fig)
            plt.close(fig)

    def _ipython_display_(self):
        from IPython.display import display
        display(self.widget)
