"""Precomputed analyses of the trained networks, and every derived finding the chapters print.

``qcnn analyze`` writes ``data/analyses/cuts.json``; the chapter on every cut and its figures
read it. For each of the four d = 18 networks of Fig. 2 (eval mode, float64):
- the entropy across one subtree of every level, per label, with the level's min-cut bound, at
  the end of training and at every weight snapshot (``levels``);
- Rényi-2 of a set of regions (``REGIONS``: k x k blocks in a corner and in the centre, rows,
  columns, half-planes), with each region's area, boundary length and min-cut bound; where the
  region is one subtree of the network's tree, the von Neumann entropy too and Rényi-2 from its
  spectrum (and, for the ``CHECKED`` regions, by replicas as well: a check at d = 18);
- the top cut seen through the data (``data_entropy`` on the test set and on 10000 training
  images) and where the label states' norm lies (``norm_on_data``);
- test accuracy of the tree truncated to chi channels per level (``truncated_tildes``).

The findings (``findings``, ``cut_numbers``, ``regions_table``, ...) and the store's inventory
for the reproduction notes (``store_inventory``, ``recipe_rows``, ``cost_outliers``,
``initialisation_entropy``, ``published_eps_effect``, ``published_resize_effect``) are computed
here, so that a chapter only calls and shows them.

Rényi-2 of a region that is not a subtree costs minutes at d = 18 (stored four-index tensors of
up to 145^4 entries, the top level's 163^4 streamed), so every item is written as soon as it is
computed: an interrupted analysis resumes where it stopped. The file records its provenance
(command, commit, versions, device, threads, seconds per item).
"""
import os
import time
from pathlib import Path

import numpy as np
import torch

from .config import Config, build_model, run_id
from .cuts import (chain_mask, data_entropy, min_cut_bound, norm_on_data, renyi2_entropy,
                   subtree_entropies, subtree_region, subtree_spectra, truncated_tildes)
from .data import IMAGE_SIZE, load, load_raw, resize, resize_published
from .entropy import entanglement_entropy, entropy_of_weights, half_state_summary
from .experiments import (LAST, all_configs, fig2_configs, landscape_configs, n_sweep_configs,
                          recipe_configs, snapshots_for, stored_count)
from .model import calibrate_batchnorm, channel_widths
from .network import contract_tree, embed
from .runs import RUNS_ROOT, environment, read_json, stored, stored_only, trained_model, write_json
from .stats import last_epochs_accuracy, running_train_cost

ANALYSES_ROOT = Path(os.environ.get("QCNN_ANALYSES", RUNS_ROOT.parent / "analyses"))
CHI_STEPS = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512)
# subtree regions whose Rényi-2 is also computed by replicas: a check at the paper's scale
CHECKED = ("1x1 corner",)


def block(rows, cols, size=16):
    region = torch.zeros(size, size, dtype=torch.bool)
    region[rows, cols] = True
    return region


REGIONS = {
    "1x1 corner": block(slice(0, 1), slice(0, 1)),
    "1x1 centre": block(slice(7, 8), slice(7, 8)),
    "2x2 corner": block(slice(0, 2), slice(0, 2)),
    "2x2 centre": block(slice(7, 9), slice(7, 9)),
    "4x4 corner": block(slice(0, 4), slice(0, 4)),
    "4x4 centre": block(slice(6, 10), slice(6, 10)),
    "8x8 corner": block(slice(0, 8), slice(0, 8)),
    "8x8 centre": block(slice(4, 12), slice(4, 12)),
    "top row": block(slice(0, 1), slice(None)),
    "middle row": block(slice(7, 8), slice(None)),
    "left column": block(slice(None), slice(0, 1)),
    "middle column": block(slice(None), slice(7, 8)),
    "upper half": block(slice(0, 8), slice(None)),
    "left half": block(slice(None), slice(0, 8)),
}


def boundary_length(region):
    """Pixel edges (4-neighbour) between the region and the rest of the image."""
    r = region.to(torch.int8)
    return int((r[1:] != r[:-1]).sum() + (r[:, 1:] != r[:, :-1]).sum())


def subtree_level(model, region):
    """k if the region is one subtree of 2^k consecutive leaves in the chain, else None."""
    chain = chain_mask(model, region).nonzero().flatten()
    size = len(chain)
    aligned = size & (size - 1) == 0 and chain[0] % size == 0 and chain[-1] - chain[0] == size - 1
    return size.bit_length() - 1 if aligned else None


def region_item(model, region, check=False):
    """Area, boundary, min-cut bound and Rényi-2 of a region; for a subtree also the von
    Neumann entropy, and Rényi-2 from its spectrum, by replicas too only with ``check``."""
    level = subtree_level(model, region)
    item = {"area": int(region.sum()), "boundary": boundary_length(region),
            "min_cut_bound": min_cut_bound(model, region), "subtree_level": level}
    if level is not None:
        weights = subtree_spectra(model)[level]
        item["von_neumann"] = entropy_of_weights(weights).tolist()
        item["renyi2_from_spectrum"] = (-torch.log((weights**2).sum(-1))).tolist()
        item["renyi2"] = item["renyi2_from_spectrum"]
    if level is None or check:
        item["renyi2"] = renyi2_entropy(model, region).tolist()
    return item


def chi_grid(model):
    """The chi's of the truncation: CHI_STEPS below the widest bond D_L = d_L + 1, then D_L
    itself (no bond is cut there: the untruncated network)."""
    widest = model.widths[-2] + 1
    return [c for c in CHI_STEPS if c < widest] + [widest]


def truncation_item(model, images, labels):
    leaves = embed(model, images)
    chis = chi_grid(model)
    accuracy = [(contract_tree(truncated_tildes(model, chi), leaves).abs().argmax(1) == labels)
                .double().mean().item() for chi in chis]
    return {"chi": chis, "test_accuracy": accuracy}


def levels_item(config):
    """Per-label entropy across one subtree of every level, (L, |C|), of the trained network
    and of every weight snapshot, with each level's min-cut bound."""
    model = trained_model(config).double()
    epochs = list(snapshots_for(config))
    return {"entropy": subtree_entropies(model).tolist(),
            "bound": [min_cut_bound(model, subtree_region(model, k)) for k in range(model.n_layers)],
            "snapshot_epochs": epochs,
            "snapshot_entropy": [subtree_entropies(trained_model(config, epoch=e).double()).tolist()
                                 for e in epochs]}


def data_item(model, config):
    test_x, _ = load(config.dataset, "test")
    train_x, _ = load(config.dataset, "train")
    return {"entropy": entanglement_entropy(model).tolist(),
            "data_entropy_test": data_entropy(model, test_x).tolist(),
            "data_entropy_train": data_entropy(model, train_x[:10000]).tolist(),
            "norm_on_data_log10_test": norm_on_data(model, test_x).tolist(),
            "norm_on_uniform_log10": norm_on_data(
                model, torch.rand(10000, 16, 16, dtype=torch.float64,
                                  generator=torch.Generator().manual_seed(0))).tolist()}


def analyze(path=ANALYSES_ROOT / "cuts.json", regions=REGIONS, force=False, log=print):
    """Compute every missing item of the analysis (all of them with ``force``), writing the
    file after each. Returns the analysis."""
    path = Path(path)
    result = {} if force or not path.exists() else read_json(path)
    result.setdefault("models", {})
    if "provenance" in result and "sittings" not in result:          # a file from before sittings
        result["sittings"] = [dict(result["provenance"], items=["every item before 2026-12"])]
    sitting = dict(environment(), items=[])   # "provenance": the latest sitting that computed
    for (dataset, partition), config in fig2_configs("paper").items():
        rid = run_id(config)
        entry = result["models"].setdefault(rid, {"config": config.to_dict(), "regions": {},
                                                  "seconds": {}})
        model = trained_model(config).double()
        todo = [(f"region {name}", lambda r=region, n=name: region_item(model, r, n in CHECKED))
                for name, region in regions.items() if name not in entry["regions"]]
        if "data" not in entry:
            todo.append(("data", lambda: data_item(model, config)))
        if "truncation" not in entry:
            test_x, test_y = load(dataset, "test")
            todo.append(("truncation", lambda x=test_x, y=test_y: truncation_item(model, x, y)))
        if "levels" not in entry:
            todo.append(("levels", lambda c=config: levels_item(c)))
        for name, compute in todo:
            started = time.perf_counter()
            value = compute()
            if name.startswith("region "):
                entry["regions"][name[len("region "):]] = value
            else:
                entry[name] = value
            entry["seconds"][name] = round(time.perf_counter() - started, 1)
            if not sitting["items"]:
                result["provenance"] = sitting
                result.setdefault("sittings", []).append(sitting)
            sitting["items"].append(f"{rid} {name}")
            write_json(path, result)
            log(f"{dataset} {partition} ({rid}): {name} in {entry['seconds'][name]} s")
    return result


def load_analysis(path=ANALYSES_ROOT / "cuts.json"):
    """The stored analysis, or an error that says how to make it."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: make it with `qcnn analyze` (minutes to an "
                                "hour on a laptop CPU)")
    return read_json(path)


def findings(analysis):
    """The chapter's headline numbers, per analysed network {run_id: {...}}, class means:
    - ``area_slope``: slope of ln S2 against ln(area) over the corner blocks 1x1..8x8 (a
      volume law gives 1, an area law in two dimensions 1/2), and ``bound_slope``, the same
      for the min-cut bound (what the architecture allows);
    - ``centre_over_corner``: S2 of the centre block over S2 of the corner block of the same
      area, for k = 2, 4, 8 (the centre block's boundary is twice as long);
    - ``across_over_along``: S2 of the half-plane across the training partition (left half for
      an up/down network) over S2 of the trained cut's half (upper half for up/down);
    - ``data_over_l2``: the top cut's entropy through the test set over its entropy in L2;
    - ``chi_within_1pt``: the least chi whose truncated test accuracy is within one point of
      the untruncated network's ``accuracy``.
    Networks whose analysis is not complete are left out."""
    result = {}
    for rid, entry in analysis["models"].items():
        if not ("truncation" in entry and "data" in entry and set(REGIONS) <= set(entry["regions"])):
            continue
        s2 = {name: float(np.mean(item["renyi2"])) for name, item in entry["regions"].items()}
        corners = [entry["regions"][f"{k}x{k} corner"] for k in (1, 2, 4, 8)]

        def slope(values):
            return float(np.polyfit(np.log([c["area"] for c in corners]), np.log(values), 1)[0])
        along, across = (("upper half", "left half") if entry["config"]["partition"] == "updown"
                         else ("left half", "upper half"))
        accuracy = entry["truncation"]["test_accuracy"]
        chi = next(c for c, a in zip(entry["truncation"]["chi"], accuracy) if a >= accuracy[-1] - 0.01)
        data = entry["data"]
        result[rid] = {"area_slope": slope([np.mean(c["renyi2"]) for c in corners]),
                       "bound_slope": slope([c["min_cut_bound"] for c in corners]),
                       "centre_over_corner": [s2[f"{k}x{k} centre"] / s2[f"{k}x{k} corner"] for k in (2, 4, 8)],
                       "across_over_along": s2[across] / s2[along],
                       "data_over_l2": float(np.mean(data["data_entropy_test"]) / np.mean(data["entropy"])),
                       "chi_within_1pt": chi, "accuracy": accuracy[-1]}
    return result


def spread(values, digits=2):
    """'low-high' of a finding over the analysed networks, for the prose."""
    return f"{min(values):.{digits}f}-{max(values):.{digits}f}"


def fig2_entries(analysis):
    """[(Config, entry)] of the Fig. 2 networks in the analysis, in a fixed order."""
    return [(c, analysis["models"][run_id(c)]) for c in fig2_configs("paper").values()
            if run_id(c) in analysis["models"]]


def ink_near_background(name, ink=0.05, near=0.1):
    """The Fourier basis lives on a circle: x = 1 is x = 0. The share of a data set's ink
    pixels (test images, value above ``ink``) within ``near`` of 1, which the features put
    within ``near`` of the background: (share of pixels that are ink, share of ink that near)."""
    images, _ = load(name, "test")
    values = images.flatten()
    inked = values[values > ink]
    return len(inked) / len(values), float((inked >= 1 - near).double().mean())


def cut_numbers(analysis):
    """The numbers the chapter on every cut quotes, as text: spreads over the four networks of
    ``findings`` (area slope and the bound's, centre/corner for the entropy and the bound,
    across/along, data/L2, the least chi within one point), the widths D_k = d_k + 1 of the
    levels' bonds that chi cuts, the Fashion/MNIST ratio of every region's S2 per flattening,
    the best accuracy of a tree truncated to chi <= 24 and where the Born density lies
    (``born_density_at_data``)."""
    by_run = findings(analysis)
    found = [by_run[run_id(c)] for c, _ in fig2_entries(analysis)]
    entries = [e for _, e in fig2_entries(analysis)]
    bound_ratios = [e["regions"][f"{k}x{k} centre"]["min_cut_bound"] /
                    e["regions"][f"{k}x{k} corner"]["min_cut_bound"]
                    for e in entries for k in (2, 4, 8)]
    numbers = {"slope": spread([f["area_slope"] for f in found]),
               "bound_slope": f"{found[0]['bound_slope']:.2f}",
               "centre_corner": spread([r for f in found for r in f["centre_over_corner"]], 1),
               "centre_corner_bound": spread(bound_ratios, 1),
               "across_along": spread([f["across_over_along"] for f in found], 1),
               "data_l2": spread([f["data_over_l2"] for f in found]),
               "chi": spread([f["chi_within_1pt"] for f in found], 0)}
    configs = fig2_configs("paper")
    for partition in ("updown", "leftright"):
        fashion, mnist = (analysis["models"][run_id(configs[(name, partition)])]["regions"]
                          for name in ("fashion-mnist", "mnist"))
        numbers[f"fashion_mnist_{partition}"] = spread(
            [np.mean(fashion[r]["renyi2"]) / np.mean(mnist[r]["renyi2"]) for r in REGIONS])
    low_chi = [a for e in entries for chi, a in zip(e["truncation"]["chi"],
                                                    e["truncation"]["test_accuracy"]) if chi <= 24]
    numbers["low_chi_accuracy"] = f"{max(low_chi):.0%}"
    corners = [item for e in entries for k in (1, 2, 4, 8) for item in [e["regions"][f"{k}x{k} corner"]]]
    numbers["bound_share"] = spread([100 * np.mean(c["renyi2"]) / c["min_cut_bound"] for c in corners], 1)
    updown = analysis["models"][run_id(fig2_configs("paper")[("mnist", "updown")])]["regions"]
    numbers["bound_along"] = f"{updown['upper half']['min_cut_bound']:.2f}"
    numbers["bound_across"] = f"{updown['left half']['min_cut_bound']:.2f}"
    born = born_density_at_data(analysis)
    numbers["born_networks"] = f"{born['networks'][0]:+.1f} to {born['networks'][1]:+.1f}"
    numbers["born_labels"] = f"{born['labels'][0]:+.1f} to {born['labels'][1]:+.1f}"
    config = entries[0]["config"]
    levels = channel_widths(config["d"], config["n"], IMAGE_SIZE.bit_length() * 2 - 2, 10)
    numbers["level_widths"] = ", ".join(str(w + 1) for w in levels[:-2])
    return numbers


def born_density_at_data(analysis):
    """Where the label states' norm lies, from ``norm_on_data``: log10 of the Born density at
    the test images over its average on the cube, {"networks": (least, largest) class mean over
    the networks, "labels": (least, largest) over every label of every network, "uniform":
    largest |class mean| at uniform random images (the check: about 0)}."""
    data = [e["data"] for _, e in fig2_entries(analysis)]
    means = [float(np.mean(d["norm_on_data_log10_test"])) for d in data]
    labels = [v for d in data for v in d["norm_on_data_log10_test"]]
    return {"networks": (min(means), max(means)), "labels": (min(labels), max(labels)),
            "uniform": max(abs(float(np.mean(d["norm_on_uniform_log10"]))) for d in data)}


def findings_table(analysis):
    """(header, rows) of ``findings`` per network, for the chapter."""
    by_run = findings(analysis)
    rows = []
    for config, _ in fig2_entries(analysis):
        f = by_run[run_id(config)]
        rows.append([f"{config.dataset} {config.partition}",
                     f"{f['area_slope']:.2f} ({f['bound_slope']:.2f})",
                     ", ".join(f"{r:.2f}" for r in f["centre_over_corner"]),
                     f"{f['across_over_along']:.2f}", f"{f['data_over_l2']:.2f}",
                     f"{f['chi_within_1pt']}", f"{f['accuracy']:.2%}"])
    return (["network", "S2 vs area: slope (bound's)", "centre / corner, k = 2, 4, 8",
             "across / along the trained cut", "through data / in L2",
             "least chi within 1 point", "untruncated test accuracy"], rows)


def regions_table(analysis):
    """(header, rows): Rényi-2 (class mean) of every region for each network, with the area,
    the boundary and the min-cut bound of each flattening."""
    entries = fig2_entries(analysis)
    bounds = {c.partition: e for c, e in entries if c.dataset == "mnist"}
    header = (["region", "area", "boundary"] + [f"{c.dataset[:5]} {c.partition}" for c, _ in entries]
              + ["bound, up/down", "bound, left/right"])
    rows = []
    for name in REGIONS:
        items = [e["regions"][name] for _, e in entries]
        rows.append([name, items[0]["area"], items[0]["boundary"]]
                    + [f"{np.mean(i['renyi2']):.4f}" for i in items]
                    + [f"{bounds[p]['regions'][name]['min_cut_bound']:.2f}"
                       for p in ("updown", "leftright")])
    return header, rows


def replica_agreement(analysis):
    """The largest difference between Rényi-2 by replicas and from the subtree spectrum over
    every subtree region where both were computed."""
    return max(float(np.abs(np.array(item["renyi2"]) - np.array(item["renyi2_from_spectrum"])).max())
               for entry in analysis["models"].values() for item in entry["regions"].values()
               if "renyi2_from_spectrum" in item)


def data_view_table(analysis):
    """(header, rows): per network, the class means of the top cut's entropy in L2, through
    the test set and through 10000 training images, and log10 of the Born density at the test
    images and at uniform random images over its average on the cube."""
    rows = [[f"{c.dataset} {c.partition}", f"{np.mean(e['data']['entropy']):.3f}",
             f"{np.mean(e['data']['data_entropy_test']):.3f}",
             f"{np.mean(e['data']['data_entropy_train']):.3f}",
             f"{np.mean(e['data']['norm_on_data_log10_test']):+.1f}",
             f"{np.mean(e['data']['norm_on_uniform_log10']):+.1f}"] for c, e in fig2_entries(analysis)]
    return (["network", "entropy in L2", "through the test set", "through train images",
             "log10 Born density, test images", "log10 Born density, uniform images"], rows)


def renyi2_seconds(analysis):
    """(median, largest) seconds of a Rényi-2 by replicas of a region that is not a subtree,
    and the devices of the analysis's sittings."""
    seconds = [s for e in analysis["models"].values() for k, s in e["seconds"].items()
               if k.startswith("region ") and e["regions"][k[len("region "):]]["subtree_level"] is None]
    devices = sorted({s["device"] for s in analysis.get("sittings", [analysis["provenance"]])})
    return float(np.median(seconds)), float(max(seconds)), "; ".join(devices)


# ------------------------------------------------------------ the store, for the notes

def store_inventory(profile="paper"):
    """What the store holds of the plan: (rows, hours, plan). rows: one per stored run [id,
    data set, partition, d, n, seed, initialisation (shift, weights, dtype), epochs, final test
    accuracy, minutes, device];
    hours: {device: hours of training}; plan: {part of the plan: 'k of N runs stored'}."""
    rows, hours = [], {}
    for config in stored_only(all_configs(profile)):
        metrics, prov = stored(config)
        hours[prov["device"]] = hours.get(prov["device"], 0) + prov["wall_time_s"] / 3600
        rows.append([run_id(config), config.dataset, config.partition, config.d, config.n,
                     config.seed, f"{config.init}, {config.weight_init}, {config.dtype}", config.epochs,
                     f"{metrics['test_accuracy'][-1]:.4f}", f"{prov['wall_time_s'] / 60:.1f}",
                     prov["device"]])
    plan = {"Figure 2": stored_count(fig2_configs(profile).values()),
            "recipe": stored_count(recipe_configs().values()),
            "landscape": stored_count(landscape_configs(profile)),
            "n-sweep": stored_count(n_sweep_configs(profile))}
    return rows, hours, plan


def cost_outliers(threshold=2.0):
    """Per Fig. 2 run, the eval-mode costs' outliers: [data set, partition, run id, epochs with
    the eval-mode train cost above ``threshold`` (the best constant output costs 0.9), the
    largest (epoch), epochs with the test cost above it, the largest (epoch), the largest
    running train cost, final test accuracy]."""
    rows = []
    for config in fig2_configs("paper").values():
        metrics, _ = stored(config)
        train, test = np.array(metrics["train_cost"]), np.array(metrics["test_cost"])
        rows.append([config.dataset, config.partition, run_id(config), int((train > threshold).sum()),
                     f"{train.max():.3g} ({1 + train.argmax()})", int((test > threshold).sum()),
                     f"{test.max():.3g} ({1 + test.argmax()})",
                     f"{running_train_cost(metrics)[1].max():.3g}",
                     f"{metrics['test_accuracy'][-1]:.4f}"])
    return rows


def initialisation_entropy(images=10000, seed=0):
    """The untrained d = 18 network (seed ``seed``) for beta = 1 and beta = 0: class-mean
    top-cut entropy and ``entropy.half_state_summary`` with the running statistics at their
    defaults and after calibrating them on ``images`` MNIST training images. {init: {...}}."""
    train_x, _ = load("mnist", "train")
    result = {}
    for init in ("shift1", "default"):
        torch.manual_seed(seed)
        model = build_model(Config(init=init))
        before = (entanglement_entropy(model).mean().item(), *half_state_summary(model))
        calibrate_batchnorm(model, model.flatten(train_x[:images]))
        after = (entanglement_entropy(model).mean().item(), *half_state_summary(model))
        result[init] = {"default statistics": before, "calibrated": after}
    return result


def published_eps_effect(eps=1e-10):
    """The published code trains with PyTorch's batch-norm eps (1e-5) but folds the batch norms
    with ``eps`` = 1e-10 when it computes the entropy (torchTN.py 107, 121), so its entropy is
    that of w = gamma / sqrt(var + 1e-10), not of the trained network. For the stored Fig. 2
    networks: (rows [data set, partition, run, class-mean top-cut entropy with the training eps,
    the largest change of a label's entropy with ``eps``, the smallest running variance], a
    sentence), or ([], "not measured ...") without them."""
    rows, changes, levels = [], [], []
    for config in stored_only(list(fig2_configs("paper").values())):
        model = trained_model(config)
        norms = list(model.norms)
        trained = entanglement_entropy(model)
        for norm in norms:
            norm.eps = eps
        change = (entanglement_entropy(model) - trained).abs().max().item()
        changes.append(change)
        levels.append(trained.mean().item())
        rows.append([config.dataset, config.partition, run_id(config), f"{levels[-1]:.4f}",
                     f"{change:.1e}", f"{min(n.running_var.min().item() for n in norms):.2e}"])
    if not rows:
        return rows, "Not measured: no Fig. 2 network is stored"
    return rows, (f"With the published eps = {eps:g} a label's entropy changes by at most "
                  f"{max(changes):.1e} nats over these {len(rows)} networks, "
                  f"{max(changes) / min(levels):.2%} of the smallest class-mean entropy "
                  f"({min(levels):.2f} nats)")


def published_resize_effect():
    """The published code resizes with PIL (``data.resize_published``), this book on tensors
    (``data.resize``): for each stored Fig. 2 network, its test accuracy on the test set resized
    both ways and how many test images change their predicted label. Measures how sensitive the
    trained networks are to the difference, not a network trained on PIL's images. (rows [data
    set, partition, run, accuracy (this book's resize), accuracy (PIL's), images whose label
    changes], a sentence), or ([], "not measured ...") without the runs."""
    rows, pixels, inputs, changes = [], [], {}, []
    for config in stored_only(list(fig2_configs("paper").values())):
        if config.dataset not in inputs:
            raw, labels = load_raw(config.dataset, "test")
            ours, published = resize(raw), resize_published(raw)
            pixels.append((config.dataset, (ours - published).abs()))
            inputs[config.dataset] = ours, published, torch.from_numpy(labels.astype(np.int64))
        ours, published, labels = inputs[config.dataset]
        model = trained_model(config)
        with torch.no_grad():
            predicted = [model(x).abs().argmax(1) for x in (ours, published)]
        accuracy = [(p == labels).double().mean().item() for p in predicted]
        changed = int((predicted[0] != predicted[1]).sum())
        changes.append((abs(accuracy[1] - accuracy[0]), changed, len(labels)))
        rows.append([config.dataset, config.partition, run_id(config), f"{accuracy[0]:.2%}",
                     f"{accuracy[1]:.2%}", changed])
    if not rows:
        return rows, "Not measured: no Fig. 2 network is stored"
    return rows, ("; ".join(f"PIL's {name} test images lie within {d.max().item() * 255:.2f} grey "
                            f"levels of this book's (mean {d.mean().item() * 255:.3f})"
                            for name, d in pixels) +
                  f"; on them the test accuracy of these {len(rows)} networks changes by at most "
                  f"{max(c[0] for c in changes) * 100:.2f} percentage points, and {min(c[1] for c in changes)} to "
                  f"{max(c[1] for c in changes)} of their {changes[0][2]} test images change label")


def recipe_rows(shown=20):
    """The training recipe's evidence (``experiments.recipe_configs``), one row per setting:
    [setting, run id, test accuracy per epoch, eval-mode train cost per epoch (both for the first
    ``shown`` epochs, then the last epoch's), initial entropy (class mean and range)], or 'not
    stored' for a run the store lacks."""
    def per_epoch(values, form):
        text = ", ".join(form.format(v) for v in values[:shown])
        return text + (f" ... epoch {len(values)}: {form.format(values[-1])}"
                       if len(values) > shown else "")
    rows = []
    for name, config in recipe_configs().items():
        if not stored_only([config]):
            rows.append([name, run_id(config), "not stored: `qcnn reproduce` makes it", "", ""])
            continue
        metrics, _ = stored(config)
        initial = np.array(metrics["entropy_log"]["entropy"][0])
        rows.append([name, run_id(config), per_epoch(metrics["test_accuracy"], "{:.4f}"),
                     per_epoch(metrics["train_cost"], "{:.3g}"),
                     f"{initial.mean():.3f} ({initial.min():.3f}-{initial.max():.3f})"])
    return rows


def tree_automorphisms(count=1000):
    """How the trained d = 18 up/down MNIST network's outputs move under moves of the image:
    {move: max |alpha(pi x) - alpha(x)| / max |alpha|} over the first ``count`` test images,
    float64. Swapping the halves and the mirrors are automorphisms of its tree (float64
    rounding); a shift by one row and a transpose are not (changes of order one)."""
    net = trained_model(fig2_configs("paper")[("mnist", "updown")]).double()
    images, _ = load("mnist", "test")
    x = images[:count].double()
    half = x.shape[1] // 2
    moves = {"swap upper and lower halves": torch.cat((x[:, half:], x[:, :half]), dim=1),
             "mirror left-right": x.flip(2), "mirror up-down": x.flip(1),
             "half-turn (180 degrees)": x.flip(1).flip(2),
             "not an automorphism: shift down by one row": x.roll(1, dims=1),
             "not an automorphism: transpose": x.transpose(1, 2)}
    with torch.no_grad():
        alpha = net(x)
        return {name: ((net(moved) - alpha).abs().max() / alpha.abs().max()).item()
                for name, moved in moves.items()}


LEARNS = 0.5         # a run "trains" when its test accuracy rises above this
PLATEAU_RUNS = {"published": "the published recipe (float64, Xavier weights)",
                "published, float32": "the same in float32",
                "published, PyTorch init": "the same with PyTorch's initial weights",
                "PyTorch defaults, published schedule": "PyTorch's defaults (float32, its weights) "
                                                        "with the published schedule",
                "PyTorch defaults": "PyTorch's defaults with the paper's schedule"}


def escape(metrics):
    """(first epoch with test accuracy above LEARNS or None, first epoch with a halved learning
    rate or None), 1-based."""
    above = [e for e, a in zip(metrics["epoch"], metrics["test_accuracy"]) if a > LEARNS]
    halved = [e for e, lr in zip(metrics["epoch"], metrics["lr"]) if lr < metrics["lr"][0]]
    return (above[0] if above else None), (halved[0] if halved else None)


def trainability():
    """What the stored beta = 0 runs of 20 epochs or more show about training with beta = 0:
    ({name: (escape epoch, first halving epoch, final test accuracy, epochs)}, a sentence). The
    sentence names the pattern only where every such run shows it: leaving the 10% plateau
    within two epochs of the first halving of the learning rate."""
    recipe = recipe_configs()
    runs = {name: stored(recipe[name])[0] for name in PLATEAU_RUNS if stored_only([recipe[name]])}
    found = {name: (*escape(m), m["test_accuracy"][-1], len(m["epoch"])) for name, m in runs.items()}
    if not found:
        return found, "not measured: no beta = 0 run of 20 epochs or more is stored"
    parts = [f"{PLATEAU_RUNS[name]}: " + (f"above {LEARNS:.0%} from epoch {up} (first halving: "
                                          f"epoch {half}), {final:.1%} after {epochs} epochs" if up
                                          else f"at or below {LEARNS:.0%} for all {epochs} epochs")
             for name, (up, half, final, epochs) in found.items()]
    together = all(up is not None and half is not None and abs(up - half) <= 2
                   for up, half, _, _ in found.values())
    pattern = (f"in every one of these {len(found)} runs the plateau ends within two epochs of the "
               "first halving of the learning rate, whatever the precision and the initial "
               "weights" if together else "no single pattern across these runs")
    ours = fig2_configs("paper")[("mnist", "updown")]
    if "published" in runs and stored_only([ours]) and len(runs["published"]["epoch"]) == ours.epochs:
        pattern += (f". After the paper's {ours.epochs} epochs the published recipe's test accuracy "
                    f"(mean of the last {LAST} epochs) is "
                    f"{last_epochs_accuracy(runs['published'], LAST):.2%}, this book's recipe's "
                    f"(Fig. 2's run, {run_id(ours)}) "
                    f"{last_epochs_accuracy(stored(ours)[0], LAST):.2%}")
    return found, "; ".join(parts) + f". So {pattern}"


def plateau_costs():
    """The eval-mode train cost of the stored beta = 0 recipe runs on their plateau (the epochs
    before the test accuracy first rises above LEARNS): {"epochs", "lowest", "quartiles" (25%,
    50%, 75%), "highest"}, or None without such a run."""
    runs = [stored(c)[0] for c in recipe_configs().values() if c.init == "default" and stored_only([c])]
    costs = [cost for m in runs for cost in m["train_cost"][:(escape(m)[0] or len(m["epoch"]) + 1) - 1]]
    if not costs:
        return None
    return {"epochs": len(costs), "lowest": min(costs), "highest": max(costs),
            "quartiles": [float(q) for q in np.percentile(costs, [25, 50, 75])]}


def eager_and_compiled():
    """Pairs of stored runs with the same settings but for the number of epochs, one trained
    eagerly (fewer than train.COMPILE_FROM_STEPS steps) and one with torch.compile (as their
    provenance records): [(setting, [(run id, compiled, epoch-1 test accuracy, epoch-1 eval-mode
    train cost) for each])]."""
    pairs = (("beta = 1 (this book's recipe)", recipe_configs()["shift1"],
              fig2_configs("paper")[("mnist", "updown")]),
             ("beta = 0 (PyTorch's defaults)", recipe_configs()["default"],
              recipe_configs()["PyTorch defaults"]))
    found = []
    for setting, *configs in pairs:
        if stored_only(configs) == configs:
            runs = [(run_id(c), *stored(c)) for c in configs]
            found.append((setting, [(rid, provenance["compiled"], metrics["test_accuracy"][0],
                                     metrics["train_cost"][0]) for rid, metrics, provenance in runs]))
    return found


def wall_minutes(d, epochs=90):
    """The wall time of the stored full-data runs at ``d`` with ``epochs`` epochs, from their
    provenance, as text: 'L to H minutes (on DEVICES)', or 'not measured: ...' without one."""
    runs = [c for c in stored_only(all_configs()) if c.d == d and c.epochs == epochs
            and not c.limit_train]
    if not runs:
        return f"not measured: no stored run with d = {d} and {epochs} epochs"
    provenance = [stored(c)[1] for c in runs]
    minutes = [p["wall_time_s"] / 60 for p in provenance]
    return (f"{min(minutes):.0f} to {max(minutes):.0f} minutes (on "
            f"{', '.join(sorted({p['device'] for p in provenance}))})")
