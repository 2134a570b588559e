"""The q-CNN on physical data (the paper's future work): phase classification of the 2D Ising
model, and the entanglement of the trained label states against generic states.

``analyze_ising(store)`` writes ``analyses/ising.json``, item by item (a partial file is read
as "not yet measured" where an item is missing):
- the sampler against the exact energy: the mean energy per site of the stored configurations
  at every temperature, with its standard error, beside Kaufman's finite-torus value;
- the physicist's classifier for scale: a threshold on |m| (``magnetisation_item``);
- per stored Ising run (``experiments.ising_configs``): test accuracy and the mean Born
  probability of "ordered" (eq. 34) at every temperature, and where that probability crosses 1/2
  (the network's transition temperature); the entropy across one subtree of every level (1, 2,
  4, ..., 128 pixels: the length scales of the tree) for each label, trained and at
  initialisation (the same seed, beta = 1 and beta = 0), with each level's min-cut bound; the top
  cut seen through the configurations of every temperature (``cuts.data_entropy``);
- generic states of the same Hilbert space: Page's value for a random state across each subtree
  cut (a volume law: about 2^k ln(2n + 1) nats for 2^k pixels);
- a physical state of the model: the Boltzmann state sum_s sqrt(p_T(s)) |s> across the cut
  between two halves of a cylinder (``ising.boltzmann_state_entropy``), exact by transfer matrices.
"""
import math
import time

import numpy as np
import torch

from .config import Config, build_model, run_id
from .cuts import data_entropy, min_cut_bound, subtree_entropies, subtree_region
from .experiments import ising_configs
from .ising import (T_C, TEMPERATURES, boltzmann_state_entropy, exact_energy, load_ising,
                   observables, page_entropy_log, spin_pixels)
from .model import born_probabilities
from .runs import environment

CYLINDER = (8, 8)      # the Boltzmann state's cylinder: width (periodic), half height (open)


def by_temperature(values, temperatures):
    """{T: values at T} for a per-configuration array."""
    return [values[temperatures == t] for t in TEMPERATURES]


def crossing(temperatures, probability):
    """Where a probability that falls with T first crosses 1/2, linearly interpolated between
    the grid's temperatures; None if it does not cross."""
    for (t0, p0), (t1, p1) in zip(zip(temperatures, probability), zip(temperatures[1:], probability[1:])):
        if p0 >= 0.5 > p1:
            return t0 + (p0 - 0.5) / (p0 - p1) * (t1 - t0)
    return None


def sampler_item(store):
    """The stored configurations' mean energy per site at every temperature, its standard
    error (autocorrelation-corrected within each chain's samples is not possible here: the
    samples are spaced 2 tau_int apart, so the plain error, stated as such) and the exact value."""
    spins, _, temperatures = (torch.cat(parts) for parts in zip(*(load_ising(s, store.data)
                                                                   for s in ("train", "test"))))
    _, energy = observables(spins.numpy())
    groups = by_temperature(energy, temperatures.numpy())
    return {"temperatures": list(TEMPERATURES), "energy": [float(g.mean()) for g in groups],
            "error": [float(g.std(ddof=1) / math.sqrt(len(g))) for g in groups],
            "exact": [float(e) for e in exact_energy(np.array(TEMPERATURES))]}


def magnetisation_item(store):
    """The physicist's classifier, for scale: "ordered" when |m| exceeds a threshold chosen on
    the training configurations (the best on a grid of 201), its test accuracy overall and at
    each temperature. What a classifier can reach near T_c on a 16 x 16 lattice."""
    spins, labels, _ = load_ising("train", store.data)
    m, _ = observables(spins.numpy())
    grid = np.linspace(0, 1, 201)
    threshold = float(grid[np.argmax([((m > g) == labels.numpy()).mean() for g in grid])])
    spins, labels, temperatures = load_ising("test", store.data)
    correct = ((observables(spins.numpy())[0] > threshold) == labels.numpy()).astype(float)
    return {"threshold": threshold, "accuracy": float(correct.mean()),
            "per_temperature": [float(c.mean()) for c in by_temperature(correct, temperatures.numpy())]}


def levels(model):
    """Per level k (subtrees of 2^k pixels): the entropy of each label, and the min-cut bound."""
    return {"entropy": subtree_entropies(model).tolist(),
            "bound": [min_cut_bound(model, subtree_region(model, k)) for k in range(model.n_layers)]}


def run_item(store, config):
    """What ``analyze_ising`` stores for one Ising run."""
    model = store.model(config).double()
    spins, labels, temperatures = load_ising("test", store.data)
    images = spin_pixels(spins).double()
    with torch.no_grad():
        alpha = model(images)
    ordered = born_probabilities(alpha)[:, 1].numpy()
    correct = (alpha.abs().argmax(1) == labels).double().numpy()
    t = temperatures.numpy()
    probability = [float(p.mean()) for p in by_temperature(ordered, t)]
    item = {"accuracy": [float(c.mean()) for c in by_temperature(correct, t)],
            "p_ordered": probability, "crossing": crossing(list(TEMPERATURES), probability),
            "trained": levels(model),
            "data_entropy": [data_entropy(model, images[t == temperature]).tolist()
                             for temperature in TEMPERATURES]}
    for init in ("shift1", "default"):
        torch.manual_seed(config.seed)
        item[f"initial {init}"] = levels(build_model(Config(**{**config.to_dict(), "init": init})).double())
    return item


def generic_item(n, n_pixels=256, levels_count=8):
    """Page's value (nats) for a random pure state of the q-CNN's Hilbert space across one
    subtree of 2^k pixels, k = 0..levels_count-1: dimensions (2n+1)^(2^k) and the rest."""
    log_site = math.log(2 * n + 1)
    return [page_entropy_log(2**k * log_site, (n_pixels - 2**k) * log_site) for k in range(levels_count)]


def analyze_ising(store, force=False, log=print):
    """Compute every missing item of ``analyses/ising.json`` (all with ``force``) for the
    stored Ising runs, writing the file after each. Returns the analysis."""
    path = store.analyses / "ising.json"
    result = {} if force or not path.exists() else store.read_json(path)
    result.setdefault("runs", {})
    result["provenance"] = environment()
    todo = []
    if "sampler" not in result:
        todo.append(("sampler", lambda: sampler_item(store)))
    if "magnetisation" not in result:
        todo.append(("magnetisation", lambda: magnetisation_item(store)))
    if "boltzmann" not in result:
        width, half = CYLINDER
        todo.append(("boltzmann", lambda: dict(
            zip(("von_neumann", "renyi2"), map(np.ndarray.tolist, np.asarray(
                boltzmann_state_entropy(np.array(TEMPERATURES), width, half)))),
            width=width, half_height=half, temperatures=list(TEMPERATURES))))
    for config in store.stored(ising_configs()):
        if run_id(config) not in result["runs"]:
            todo.append((run_id(config), lambda c=config: {"config": c.to_dict(), **run_item(store, c)}))
        key = f"page n={config.n}"
        if key not in result and all(key != name for name, _ in todo):
            todo.append((key, lambda n=config.n: generic_item(n)))
    for name, compute in todo:
        started = time.perf_counter()
        value = compute()
        if name in ("sampler", "magnetisation", "boltzmann") or name.startswith("page"):
            result[name] = value
        else:
            result["runs"][name] = value
        store.write_json(path, result)
        log(f"ising analysis: {name} in {time.perf_counter() - started:.1f} s")
    return result


def transition_summary(analysis):
    """{d: (crossings of its runs, mean, s.d.)} of the stored runs' crossing temperatures, and
    T_c: the classifier's transition against the infinite lattice's."""
    by_d = {}
    for entry in analysis.get("runs", {}).values():
        if entry["crossing"] is not None:
            by_d.setdefault(entry["config"]["d"], []).append(entry["crossing"])
    return {d: (values, float(np.mean(values)), float(np.std(values, ddof=1)) if len(values) > 1
                else math.nan) for d, values in sorted(by_d.items())}, T_C


def size_slope(entropy_by_level, first=0):
    """Slope of ln S against ln(size) over the levels from ``first`` (size 2^k pixels): 1 for a
    volume law, 1/2 for an area law in two dimensions, near 0 for a logarithmic law; nan with
    fewer than two positive entropies to fit."""
    sizes = 2.0 ** np.arange(len(entropy_by_level))
    values = np.asarray(entropy_by_level, dtype=float)
    keep = (np.arange(len(values)) >= first) & (values > 0)
    if keep.sum() < 2:
        return float("nan")
    return float(np.polyfit(np.log(sizes[keep]), np.log(values[keep]), 1)[0])
