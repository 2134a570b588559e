"""The findings of the chapter on every cut, from the stored ``cuts.json`` (``qcnn.analysis``).

``findings`` gives each analysed network's headline numbers, ``cut_numbers`` the spreads the
chapter quotes, and the ``*_table`` functions its tables. ``analyze`` writes the file item by
item, so a file may be partial: a network whose items are not all there is left out of
``findings``, and every number that needs a missing network reads "not yet measured" rather
than failing.
"""
import numpy as np

from .analysis import REGIONS
from .config import IMAGE_SIZE, run_id
from .experiments import fig2_configs
from .model import channel_widths

NOT_YET = "not yet measured"


def complete(entry):
    """Whether an analysed network has every item: truncation, data, levels, every region."""
    return ("truncation" in entry and "data" in entry and "levels" in entry
            and set(REGIONS) <= set(entry["regions"]))


def findings(analysis):
    """The chapter's headline numbers, per analysed network {run_id: {...}}, class means:
    - ``size_slope``: slope of ln S2 against ln(size) over the corner blocks 1x1..8x8, size the
      pixel count k^2 (a volume law gives 1; an area law, S proportional to the boundary k,
      gives 1/2), and ``bound_slope``, the same
      for the min-cut bound (what the architecture allows);
    - ``centre_over_corner``: S2 of the centre block over S2 of the corner block of the same
      size, for k = 2, 4, 8 (the centre block's boundary is twice as long);
    - ``across_over_along``: S2 of the half-plane across the training partition (left half for
      an up/down network) over S2 of the trained cut's half (upper half for up/down);
    - ``data_over_l2``: the top cut's entropy through the test set over its entropy in L2;
    - ``chi_within_1pt``: the least chi whose truncated test accuracy is within one point of
      the untruncated network's ``accuracy``.
    Networks whose analysis is not complete are left out."""
    result = {}
    for rid, entry in analysis.get("models", {}).items():
        if not complete(entry):
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
        result[rid] = {"size_slope": slope([np.mean(c["renyi2"]) for c in corners]),
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
    """[(Config, entry)] of the Fig. 2 networks whose analysis is complete, in a fixed order."""
    models = analysis.get("models", {})
    return [(c, models[run_id(c)]) for c in fig2_configs("paper").values()
            if run_id(c) in models and complete(models[run_id(c)])]


def cut_numbers(analysis):
    """The numbers the chapter on every cut quotes, as text: spreads over the analysed networks
    of ``findings`` (size slope and the bound's, centre/corner for the entropy and the bound,
    across/along, data/L2, the least chi within one point), the widths D_k = d_k + 1 of the
    levels' bonds that chi cuts, the Fashion/MNIST ratio of every region's S2 per flattening,
    the best accuracy of a tree truncated to chi <= 24 and where the Born density lies
    (``born_density_at_data``). A number whose networks are not analysed yet is NOT_YET."""
    configs = fig2_configs("paper")
    example = configs[("mnist", "updown")]
    numbers = dict.fromkeys(["slope", "bound_slope", "centre_corner", "centre_corner_bound",
                             "across_along", "data_l2", "chi", "fashion_mnist_updown",
                             "fashion_mnist_leftright", "low_chi_accuracy", "bound_share",
                             "bound_along", "bound_across", "born_networks", "born_labels"], NOT_YET)
    levels = channel_widths(example.d, example.n, IMAGE_SIZE.bit_length() * 2 - 2, 10)
    numbers["level_widths"] = ", ".join(str(w + 1) for w in levels[:-2])
    by_run = findings(analysis)
    entries = [e for _, e in fig2_entries(analysis)]
    if not entries:
        return numbers
    found = list(by_run.values())
    bound_ratios = [e["regions"][f"{k}x{k} centre"]["min_cut_bound"] /
                    e["regions"][f"{k}x{k} corner"]["min_cut_bound"]
                    for e in entries for k in (2, 4, 8)]
    numbers.update({"slope": spread([f["size_slope"] for f in found]),
                    "bound_slope": f"{found[0]['bound_slope']:.2f}",
                    "centre_corner": spread([r for f in found for r in f["centre_over_corner"]], 1),
                    "centre_corner_bound": spread(bound_ratios, 1),
                    "across_along": spread([f["across_over_along"] for f in found], 1),
                    "data_l2": spread([f["data_over_l2"] for f in found]),
                    "chi": spread([f["chi_within_1pt"] for f in found], 0)})
    for partition in ("updown", "leftright"):
        pair = [by_run.get(run_id(configs[(name, partition)])) for name in ("fashion-mnist", "mnist")]
        if all(pair):
            fashion, mnist = (analysis["models"][run_id(configs[(name, partition)])]["regions"]
                              for name in ("fashion-mnist", "mnist"))
            numbers[f"fashion_mnist_{partition}"] = spread(
                [np.mean(fashion[r]["renyi2"]) / np.mean(mnist[r]["renyi2"]) for r in REGIONS])
    low_chi = [a for e in entries for chi, a in zip(e["truncation"]["chi"],
                                                    e["truncation"]["test_accuracy"]) if chi <= 24]
    numbers["low_chi_accuracy"] = f"{max(low_chi):.0%}"
    corners = [e["regions"][f"{k}x{k} corner"] for e in entries for k in (1, 2, 4, 8)]
    numbers["bound_share"] = spread([100 * np.mean(c["renyi2"]) / c["min_cut_bound"] for c in corners], 1)
    if run_id(example) in by_run:
        updown = analysis["models"][run_id(example)]["regions"]
        numbers["bound_along"] = f"{updown['upper half']['min_cut_bound']:.2f}"
        numbers["bound_across"] = f"{updown['left half']['min_cut_bound']:.2f}"
    born = born_density_at_data(analysis)
    numbers["born_networks"] = f"{born['networks'][0]:+.1f} to {born['networks'][1]:+.1f}"
    numbers["born_labels"] = f"{born['labels'][0]:+.1f} to {born['labels'][1]:+.1f}"
    return numbers


def born_density_at_data(analysis):
    """Where the label states' norm lies, from ``norm_on_data``: log10 of the Born density at
    the test images over its average on the cube, {"networks": (least, largest) class mean over
    the networks, "labels": (least, largest) over every label of every network, "uniform":
    largest |class mean| at uniform random images (the check: about 0)}, or None before a
    network is analysed."""
    data = [e["data"] for _, e in fig2_entries(analysis)]
    if not data:
        return None
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
                     f"{f['size_slope']:.2f} ({f['bound_slope']:.2f})",
                     ", ".join(f"{r:.2f}" for r in f["centre_over_corner"]),
                     f"{f['across_over_along']:.2f}", f"{f['data_over_l2']:.2f}",
                     f"{f['chi_within_1pt']}", f"{f['accuracy']:.2%}"])
    return (["network", "S2 vs size: slope (bound's)", "centre / corner, k = 2, 4, 8",
             "across / along the trained cut", "through data / in L2",
             "least chi within 1 point", "untruncated test accuracy"], rows)


def regions_table(analysis):
    """(header, rows): Rényi-2 (class mean) of every region for each analysed network, with the
    size (pixels), the boundary and the min-cut bound of each flattening (NOT_YET for a
    flattening without an analysed network; no rows before any)."""
    entries = fig2_entries(analysis)
    bounds = {c.partition: e for c, e in entries}
    header = (["region", "size (pixels)", "boundary"]
              + [f"{c.dataset[:5]} {c.partition}" for c, _ in entries]
              + ["bound, up/down", "bound, left/right"])
    rows = []
    for name in REGIONS if entries else ():
        items = [e["regions"][name] for _, e in entries]
        rows.append([name, items[0]["area"], items[0]["boundary"]]
                    + [f"{np.mean(i['renyi2']):.4f}" for i in items]
                    + [f"{bounds[p]['regions'][name]['min_cut_bound']:.2f}" if p in bounds else NOT_YET
                       for p in ("updown", "leftright")])
    return header, rows


def replica_agreement(analysis):
    """The largest difference between Rényi-2 by replicas and from the subtree spectrum over
    every subtree region where both were computed."""
    return max((float(np.abs(np.array(item["renyi2"]) - np.array(item["renyi2_from_spectrum"])).max())
                for entry in analysis.get("models", {}).values() for item in entry["regions"].values()
                if "renyi2_from_spectrum" in item), default=float("nan"))


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
    """(median, largest) seconds of a Rényi-2 by replicas of a region that is not a subtree
    (nan before any), and the devices of the analysis's sittings."""
    seconds = [s for e in analysis.get("models", {}).values() for k, s in e["seconds"].items()
               if k.startswith("region ") and e["regions"][k[len("region "):]]["subtree_level"] is None]
    devices = sorted({s["device"] for s in analysis.get("sittings", [])})
    if not seconds:
        return float("nan"), float("nan"), "; ".join(devices)
    return float(np.median(seconds)), float(max(seconds)), "; ".join(devices)
