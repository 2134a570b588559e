"""The d and n explorer: what the channel scale d and the Fourier cutoff n change.

n sets the local Hilbert space C^(2n+1) (eqs. 19-21): the basis functions and the Dirichlet
kernel <x|x'> = D_n(x - x') (eq. 25). d sets the widths d_l = d(l+1), the parameter count
(eqs. 46-47) and the largest entropy the top cut can hold, ln(d_L + 1). Stored runs with the
chosen (d, n) add their accuracy and entropy curves.

``draw_explorer(d, n)`` draws all of it (the static book page calls it); ``Explorer`` wraps it
in ipywidgets sliders for a live kernel.
"""
import io
import math

import matplotlib.pyplot as plt
import numpy as np
import torch

from .basis import dirichlet_kernel, extended_features
from .model import channel_widths, parameter_count
from .runs import RUNS_ROOT, is_complete, load_run


def draw_basis(n, ax, basis="fourier"):
    """f_0..f_2n on [0, 1] (eq. 19, or the Legendre basis)."""
    x = torch.linspace(0, 1, 401, dtype=torch.float64)
    f = extended_features(x, n, basis)
    for i in range(2 * n + 1):
        ax.plot(x, f[:, i], lw=1, label=f"f_{i}" if n <= 2 else None)
    ax.set(xlabel="pixel value x", ylabel="f_i(x)", title=f"{basis} basis, n = {n}: 2n+1 = {2 * n + 1}")
    if n <= 2:
        ax.legend(fontsize=7)


def draw_dirichlet(ns, ax):
    """D_n(z) (eq. 25) for each n: a peak of height 2n+1 and width ~1/n, tending to delta."""
    z = np.linspace(-0.5, 0.5, 801)
    for n in ns:
        ax.plot(z, dirichlet_kernel(torch.from_numpy(z), n), lw=1, label=f"n = {n}")
    ax.set(xlabel="x - x'", ylabel="<x|x'> = D_n(x - x')", title="Dirichlet kernel (eq. 25)")
    ax.legend(fontsize=7)


def architecture_summary(d, n, n_pixels=256, n_classes=10):
    """Widths, parameter count (eq. 46) and the entropy bound ln(d_L + 1) of the top cut."""
    widths = channel_widths(d, n, n_pixels.bit_length() - 1, n_classes)
    return {"d": d, "n": n, "widths": widths, "parameters": parameter_count(d, n, n_pixels, n_classes),
            "entropy_bound": math.log(widths[-2] + 1)}


def stored_runs(d, n, root=RUNS_ROOT):
    """(config, metrics) of every finished run in the store with this d and n."""
    runs = []
    for directory in sorted(root.glob("*")) if root.exists() else []:
        if is_complete(directory):
            config, metrics, _ = load_run(directory)
            if (config.d, config.n) == (d, n):
                runs.append((config, metrics))
    return runs


def draw_explorer(d, n, root=RUNS_ROOT):
    """The explorer's figure for (d, n); returns (figure, summary)."""
    summary = architecture_summary(d, n)
    runs = stored_runs(d, n, root)
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.4))
    draw_basis(n, axes[0])
    draw_dirichlet(sorted({1, n, 2 * n}), axes[1])
    ax = axes[2]
    if runs:
        for config, metrics in runs[:8]:
            log = metrics["entropy_log"]
            label = f"{config.dataset} {config.partition} s{config.seed} ({config.epochs} ep)"
            ax.plot(log["epoch"], np.mean(log["entropy"], axis=1), lw=1, label=label)
        ax.axhline(summary["entropy_bound"], color="grey", ls=":", lw=1)
        ax.set(xlabel="epoch", ylabel="entropy (nats), class average",
               title=f"{len(runs)} stored run(s) with d = {d}, n = {n}")
        ax.legend(fontsize=6)
    else:
        ax.text(0.5, 0.5, f"no stored runs with d = {d}, n = {n}\n(qcnn train --d {d} --n {n})",
                ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
    fig.suptitle(f"d = {d}, n = {n}: widths {summary['widths']}, {summary['parameters']:,} "
                 f"parameters, entropy bound ln(d_L+1) = {summary['entropy_bound']:.3f} nats",
                 fontsize=10)
    fig.tight_layout()
    return fig, summary


class Explorer:
    """Sliders for d and n; every change redraws ``draw_explorer`` into an image widget (a PNG:
    no output capture, which is fragile across kernels). ``figure`` and ``summary`` hold what
    was drawn last (the tests read them)."""

    def __init__(self, d=18, n=9, root=RUNS_ROOT):
        import ipywidgets as widgets
        self.root = root
        self.d_slider = widgets.IntSlider(value=d, min=1, max=40, description="d")
        self.n_slider = widgets.IntSlider(value=n, min=1, max=16, description="n")
        self.image = widgets.Image(format="png")
        self.widget = widgets.VBox([widgets.HBox([self.d_slider, self.n_slider]), self.image])
        self.d_slider.observe(self.redraw, names="value")
        self.n_slider.observe(self.redraw, names="value")
        self.figure, self.summary = None, None
        self.redraw()

    def redraw(self, change=None):
        self.figure, self.summary = draw_explorer(self.d_slider.value, self.n_slider.value,
                                                  self.root)
        buffer = io.BytesIO()
        self.figure.savefig(buffer, format="png", dpi=90)
        plt.close(self.figure)             # drawn into the widget, not as a cell output
        self.image.value = buffer.getvalue()

    def _ipython_display_(self):
        from IPython.display import display
        display(self.widget)
