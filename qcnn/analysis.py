"""The precomputed analyses: ``qcnn analyze`` writes them into the store's ``analyses/``.

``cuts.json``, for each of the four d = 18 networks of Fig. 2 (eval mode, float64):
- the entropy across one subtree of every level, per label, with the level's min-cut bound, at
  the end of training and at every weight snapshot (``levels``);
- Rényi-2 of a set of regions (``REGIONS``: k x k blocks in a corner and in the centre, rows,
  columns, half-planes), with each region's size (pixels), boundary length and min-cut bound;
  where the region is one subtree of the network's tree, the von Neumann entropy too and
  Rényi-2 from its spectrum (and, for the ``CHECKED`` regions, by replicas as well: a check at
  d = 18);
- the top cut seen through the data (``data_entropy`` on the test set and on 10000 training
  images) and where the label states' norm lies (``norm_on_data``);
- test accuracy of the tree truncated to chi channels per level (``truncated_tildes``).

``initialisation.json``: the untrained d = 18 network's top-cut entropy for beta = 1 and
beta = 0, with the batch norms' running statistics at their defaults and calibrated on data.

Rényi-2 of a region that is not a subtree costs minutes at d = 18 (stored four-index tensors of
up to 145^4 entries, the top level's 163^4 streamed), so every item is written as soon as it is
computed: an interrupted analysis resumes where it stopped, and a reader of a partial file
finds what is there (``qcnn.findings`` says "not yet measured" for the rest). Each file records
its provenance (command, commit, versions, device, threads, seconds per item).
"""
import time

import torch

from .config import Config, build_model, run_id
from .cuts import (chain_mask, data_entropy, min_cut_bound, norm_on_data, renyi2_entropy,
                   subtree_entropies, subtree_region, subtree_spectra, truncated_tildes)
from .data import load
from .entropy import entanglement_entropy, entropy_of_weights, half_state_summary
from .experiments import fig2_configs, snapshots_for
from .model import calibrate_batchnorm
from .network import contract_tree, embed
from .runs import environment

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
    """Size (key "area": the pixel count, named so in the stored files), boundary, min-cut bound
    and Rényi-2 of a region; for a subtree also the von
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


def levels_item(store, config):
    """Per-label entropy across one subtree of every level, (L, |C|), of the trained network
    and of every weight snapshot, with each level's min-cut bound."""
    model = store.model(config).double()
    epochs = list(snapshots_for(config))
    return {"entropy": subtree_entropies(model).tolist(),
            "bound": [min_cut_bound(model, subtree_region(model, k)) for k in range(model.n_layers)],
            "snapshot_epochs": epochs,
            "snapshot_entropy": [subtree_entropies(store.model(config, epoch=e).double()).tolist()
                                 for e in epochs]}


def data_item(store, model, config):
    test_x, _ = load(config.dataset, "test", store.data)
    train_x, _ = load(config.dataset, "train", store.data)
    return {"entropy": entanglement_entropy(model).tolist(),
            "data_entropy_test": data_entropy(model, test_x).tolist(),
            "data_entropy_train": data_entropy(model, train_x[:10000]).tolist(),
            "norm_on_data_log10_test": norm_on_data(model, test_x).tolist(),
            "norm_on_uniform_log10": norm_on_data(
                model, torch.rand(10000, 16, 16, dtype=torch.float64,
                                  generator=torch.Generator().manual_seed(0))).tolist()}


def analyze(store, regions=REGIONS, force=False, log=print):
    """Compute every missing item of the analyses (all of them with ``force``), writing each
    file after every item. Returns the cuts analysis."""
    path = store.analyses / "cuts.json"
    result = {} if force or not path.exists() else store.read_json(path)
    result.setdefault("models", {})
    sitting = dict(environment(), items=[])   # "provenance": the latest sitting that computed
    for (dataset, partition), config in fig2_configs("paper").items():
        rid = run_id(config)
        if not store.complete(config):
            log(f"{dataset} {partition} ({rid}): not stored, not analysed")
            continue
        entry = result["models"].setdefault(rid, {"config": config.to_dict(), "regions": {},
                                                  "seconds": {}})
        model = store.model(config).double()
        todo = [(f"region {name}", lambda r=region, n=name: region_item(model, r, n in CHECKED))
                for name, region in regions.items() if name not in entry["regions"]]
        if "data" not in entry:
            todo.append(("data", lambda: data_item(store, model, config)))
        if "truncation" not in entry:
            test_x, test_y = load(dataset, "test", store.data)
            todo.append(("truncation", lambda x=test_x, y=test_y: truncation_item(model, x, y)))
        if "levels" not in entry:
            todo.append(("levels", lambda c=config: levels_item(store, c)))
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
            store.write_json(path, result)
            log(f"{dataset} {partition} ({rid}): {name} in {entry['seconds'][name]} s")
    initialisation = store.analyses / "initialisation.json"
    if force or not initialisation.exists():
        started = time.perf_counter()
        states = initialisation_entropy(store)
        store.write_json(initialisation, {"provenance": environment(), "states": states,
                                          "seconds": round(time.perf_counter() - started, 1)})
        log(f"initialisation entropy in {time.perf_counter() - started:.1f} s")
    return result


def initialisation_entropy(store, images=10000, seed=0):
    """The untrained d = 18 network (seed ``seed``) for beta = 1 and beta = 0: class-mean
    top-cut entropy and ``entropy.half_state_summary`` with the running statistics at their
    defaults and after calibrating them on ``images`` MNIST training images. {init: {...}}."""
    train_x, _ = load("mnist", "train", store.data)
    result = {}
    for init in ("shift1", "default"):
        torch.manual_seed(seed)
        model = build_model(Config(init=init))
        before = (entanglement_entropy(model).mean().item(), *half_state_summary(model))
        calibrate_batchnorm(model, model.flatten(train_x[:images]))
        after = (entanglement_entropy(model).mean().item(), *half_state_summary(model))
        result[init] = {"default statistics": before, "calibrated": after}
    return result
