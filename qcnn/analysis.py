"""Precomputed analyses of the trained Fig. 2 networks: ``qcnn analyze`` writes
``data/analyses/cuts.json``; the chapter on every cut and its figures read it.

For each of the four d = 18 networks (eval mode, float64):
- Rényi-2 of a set of regions (``REGIONS``: k x k blocks in a corner and in the centre, rows,
  columns, half-planes), with each region's area, boundary length and min-cut bound; where the
  region is one subtree of the network's tree, the von Neumann entropy too and Rényi-2 from its
  spectrum (and, for the ``CHECKED`` regions, by replicas as well: a check at d = 18);
- the top cut seen through the data (``data_entropy`` on the test set and on 10000 training
  images) and where the label states' norm lies (``norm_on_data``);
- test accuracy of the tree truncated to chi channels per level (``truncated_tildes``).

Rényi-2 of a region that is not a subtree costs minutes at d = 18 (four-index tensors of up to
163^4 entries), so every item is written as soon as it is computed: an interrupted analysis
resumes where it stopped. The file records its provenance (command, commit, versions, device,
threads, seconds per item).
"""
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import torch

from .cuts import (chain_mask, data_entropy, min_cut_bound, norm_on_data, renyi2_entropy,
                   subtree_spectra, truncated_tildes)
from .data import load, write_atomic
from .entropy import entanglement_entropy, entropy_of_weights
from .experiments import fig2_configs
from .runs import RUNS_ROOT, command_line, git_commit, run_id, trained_model
from .tensor import contract_tree, embed

ANALYSES_ROOT = Path(os.environ.get("QCNN_ANALYSES", RUNS_ROOT.parent / "analyses"))
CHIS = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 163)
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


def truncation_item(model, images, labels):
    leaves = embed(model, images)
    accuracy = {}
    for chi in CHIS:
        alpha = contract_tree(truncated_tildes(model, chi), leaves)
        accuracy[str(chi)] = (alpha.abs().argmax(1) == labels).double().mean().item()
    return {"chi": list(CHIS), "test_accuracy": [accuracy[str(c)] for c in CHIS]}


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
    result = {} if force or not path.exists() else json.loads(path.read_text())
    result.setdefault("models", {})
    result["provenance"] = {"command": command_line(), "commit": git_commit(),
                            "versions": {"torch": torch.__version__, "numpy": np.__version__,
                                         "python": platform.python_version()},
                            "device": f"cpu ({platform.machine()}, {torch.get_num_threads()} torch threads)"}
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
        for name, compute in todo:
            started = time.perf_counter()
            value = compute()
            if name.startswith("region "):
                entry["regions"][name[len("region "):]] = value
            else:
                entry[name] = value
            entry["seconds"][name] = round(time.perf_counter() - started, 1)
            write_atomic(path, (json.dumps(result, indent=1) + "\n").encode())
            log(f"{dataset} {partition} ({rid}): {name} in {entry['seconds'][name]} s")
    return result


def load_analysis(path=ANALYSES_ROOT / "cuts.json"):
    """The stored analysis, or an error that says how to make it."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: make it with `qcnn analyze` (minutes to an "
                                "hour on a laptop CPU)")
    return json.loads(path.read_text())


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
