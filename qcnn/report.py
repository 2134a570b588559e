"""The reproduction report: each quantitative claim of the paper against stored runs.

``claims_table(profile)`` returns one row per claim: what the paper says, what the runs give,
a verdict (reproduced / partly / not) by the criterion stated in the row, and the runs behind
it. ``correlations(configs)`` makes §4.2's "negative correlation between entropy and cost"
quantitative: Spearman's rho per run and pooled, with bootstrap 95% intervals (points
resampled within a run; whole runs resampled for the pooled value, since the points of one
run are not independent, which also makes the per-run intervals optimistic).
"""
import math

import numpy as np

from .figures import (PROFILES, entropy_cost_pairs, epoch_mean_entropy, fig2_configs,
                      fig3b_configs, recipe_configs, stored)
from .model import QCNN
from .runs import run_id

BOOTSTRAP = 2000


def ranks(x):
    """Ranks 0..n-1 of x, ties given their average rank."""
    x = np.asarray(x, dtype=float)
    order = np.argsort(x, kind="mergesort")
    r = np.empty(len(x))
    r[order] = np.arange(len(x))
    _, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
    return (np.bincount(inverse, weights=r) / counts)[inverse]


def spearman(x, y):
    """Spearman's rank correlation of two samples."""
    rx, ry = ranks(x), ranks(y)
    if len(rx) < 3 or rx.std() == 0 or ry.std() == 0:
        return float("nan")
    return float(np.corrcoef(rx, ry)[0, 1])


def bootstrap_interval(statistic, groups, seed=0, draws=BOOTSTRAP):
    """95% percentile interval of statistic(resampled groups), groups resampled with
    replacement (each group a tuple of arrays)."""
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(draws):
        pick = rng.integers(0, len(groups), len(groups))
        value = statistic([groups[i] for i in pick])
        if np.isfinite(value):
            values.append(value)
    return tuple(np.percentile(values, [2.5, 97.5])) if values else (float("nan"),) * 2


def _pooled_rho(groups):
    return spearman(np.concatenate([g[0] for g in groups]), np.concatenate([g[1] for g in groups]))


def correlations(configs, first_epoch):
    """{"per_run": [...], "pooled": {...}}: Spearman rho of the class-mean entropy with the
    running train cost (logged points) and with the test cost (epochs), from ``first_epoch``."""
    pairs = {run_id(c): entropy_cost_pairs(stored(c)[0], first_epoch) for c in configs}
    per_run = []
    for rid, by_kind in pairs.items():
        row = {"run": rid, "points": len(by_kind["train"][0])}
        for kind, (cost, entropy) in by_kind.items():
            singles = [(np.array([a]), np.array([b])) for a, b in zip(cost, entropy)]
            row[f"rho_{kind}"] = spearman(cost, entropy)
            row[f"ci_{kind}"] = bootstrap_interval(_pooled_rho, singles)
        per_run.append(row)
    pooled = {"runs": len(pairs)}
    for kind in ("train", "test"):
        groups = [by_kind[kind] for by_kind in pairs.values()]
        pooled[f"rho_{kind}"] = _pooled_rho(groups)
        pooled[f"ci_{kind}"] = bootstrap_interval(_pooled_rho, groups)
    return {"per_run": per_run, "pooled": pooled}


def _slope(x, y):
    return float(np.polyfit(x, y, 1)[0]) if len(x) > 1 else float("nan")


def _verdict(ok, partly=False):
    return "reproduced" if ok else ("partly" if partly else "not reproduced")


def claims_table(profile):
    """Rows {claim, paper, measured, verdict, criterion, runs} for the profile's stored runs."""
    fig2 = fig2_configs(profile)
    epochs = PROFILES[profile]["epochs"]
    late = 30 if profile == "paper" else epochs // 2
    rows = []

    def row(claim, paper, measured, verdict, criterion, configs):
        rows.append(dict(claim=claim, paper=paper, measured=measured, verdict=verdict,
                         criterion=criterion, runs=[run_id(c) for c in configs]))

    for name, paper_value in (("mnist", 0.97), ("fashion-mnist", 0.89)):
        configs = [c for (ds, _), c in fig2.items() if ds == name]
        best = max(max(stored(c)[0]["test_accuracy"]) for c in configs)
        row(f"best test accuracy, {name}, d = 18", f"{paper_value:.0%}", f"{best:.2%}",
            _verdict(best >= paper_value - 0.005, best >= paper_value - 0.03),
            "within 0.5 points: reproduced; within 3: partly", configs)

    counts = {d: sum(p.numel() for p in QCNN(d, d // 2, 16).parameters()) for d in (2, 18, 40)}
    row("parameter count P = 240 d^2 + 180 d", "eq. 47",
        ", ".join(f"d={d}: {n}" for d, n in counts.items()),
        _verdict(all(n == 240 * d * d + 180 * d for d, n in counts.items())),
        "the model's own count equals eq. 47", [])

    final = {key: epoch_mean_entropy(stored(c)[0])[-1] for key, c in fig2.items()}
    low, high = min(final.values()), max(final.values())
    row("entropies of order ln 2 = 0.69", "order ln 2", f"final class means {low:.2f}-{high:.2f} nats",
        _verdict(math.log(2) / 3 <= low and high <= 3 * math.log(2),
                 math.log(2) / 10 <= low and high <= 10 * math.log(2)),
        "all within a factor 3 of ln 2: reproduced; 10: partly", list(fig2.values()))

    initial = {key: np.mean(stored(c)[0]["entropy_log"]["entropy"][0]) for key, c in fig2.items()}
    default = np.mean(stored(recipe_configs()["default"])[0]["entropy_log"]["entropy"][0])
    row("entropy practically zero at initialisation", "practically zero",
        f"beta = 1: {max(initial.values()):.3f} nats at most; beta = 0: {default:.2f}",
        _verdict(max(initial.values()) < 0.1), "class mean < 0.1 nats with the book's recipe",
        list(fig2.values()) + [recipe_configs()["default"]])

    rises = {}
    for key, c in fig2.items():
        m = stored(c)[0]
        e, s = np.array(m["epoch"]), epoch_mean_entropy(m)
        keep = e >= min(10, epochs // 2)
        rises[key] = spearman(e[keep], s[keep])
    row("steady rise of the entropy after ~10 epochs", "rises steadily",
        "Spearman(epoch, entropy): " + ", ".join(f"{ds[:5]} {p[:2]} {r:+.2f}" for (ds, p), r in rises.items()),
        _verdict(min(rises.values()) > 0.5, min(rises.values()) > 0),
        "rho > 0.5 in every run: reproduced; > 0: partly", list(fig2.values()))

    tail = {}
    for key, c in fig2.items():
        m = stored(c)[0]
        e, s = np.array(m["epoch"]), epoch_mean_entropy(m)
        keep = e > epochs * 2 / 3
        tail[key] = _slope(e[keep], s[keep])
    mnist = max(tail[("mnist", p)] for p in ("updown", "leftright"))
    fashion = min(tail[("fashion-mnist", p)] for p in ("updown", "leftright"))
    row("MNIST entropy stabilises, Fashion-MNIST keeps growing", "qualitative",
        f"last-third slopes: MNIST <= {mnist:+.4f}, Fashion >= {fashion:+.4f} nats/epoch",
        _verdict(fashion > 0 and mnist < 0.5 * fashion, fashion > mnist),
        "Fashion slope > 0 and MNIST slope < half of it", list(fig2.values()))

    alike = []
    for name in ("mnist", "fashion-mnist"):
        a, b = (epoch_mean_entropy(stored(fig2[(name, p)])[0]) for p in ("updown", "leftright"))
        alike.append(spearman(a, b))
    row("up/down and left/right trends alike", "very similar",
        "Spearman(up/down, left/right) per epoch: " + ", ".join(f"{r:+.2f}" for r in alike),
        _verdict(min(alike) > 0.7, min(alike) > 0.3), "rho > 0.7 for both data sets",
        list(fig2.values()))

    landscape = fig3b_configs(profile)
    for name in ("mnist", "fashion-mnist"):
        best = {}
        for c in landscape:
            if c.dataset == name and c.d >= 10:
                best.setdefault(c.d, []).append(max(stored(c)[0]["test_accuracy"]))
        means = {d: float(np.mean(v)) for d, v in sorted(best.items())}
        spread = max(means.values()) - min(means.values()) if len(means) > 1 else float("nan")
        row(f"no accuracy difference for d in 10..40, {name}", "no significant difference",
            ", ".join(f"d={d}: {a:.2%}" for d, a in means.items()) +
            (f" (spread {spread:.2%})" if len(means) > 1 else ""),
            _verdict(spread < 0.01, spread < 0.02) if len(means) > 1 else "not tested (one d stored)",
            "spread of seed-mean best accuracies < 1 point: reproduced; < 2: partly",
            [c for c in landscape if c.dataset == name and c.d >= 10])

    result = correlations(landscape, late)["pooled"]
    row("entropy correlates negatively with train cost, weaker with test cost",
        "negative; weaker for test",
        f"pooled Spearman rho: train {result['rho_train']:+.2f} "
        f"[{result['ci_train'][0]:+.2f}, {result['ci_train'][1]:+.2f}], test {result['rho_test']:+.2f} "
        f"[{result['ci_test'][0]:+.2f}, {result['ci_test'][1]:+.2f}]",
        _verdict(result["ci_train"][1] < 0 and abs(result["rho_test"]) < abs(result["rho_train"]),
                 result["rho_train"] < 0),
        "train CI below 0 and |rho_test| < |rho_train|", landscape)
    return rows


def markdown(rows):
    """The claims table as Markdown."""
    lines = ["| claim | paper | measured | verdict | criterion |", "| --- | --- | --- | --- | --- |"]
    lines += [f"| {r['claim']} | {r['paper']} | {r['measured']} | **{r['verdict']}** | "
              f"{r['criterion']} |" for r in rows]
    return "\n".join(lines)


def correlation_markdown(result):
    """The per-run and pooled correlations of ``correlations`` as a Markdown table."""
    def interval(ci):
        return f"[{ci[0]:+.2f}, {ci[1]:+.2f}]"
    lines = ["| run | points | rho (running train cost) | 95% CI | rho (test cost) | 95% CI |",
             "| --- | --- | --- | --- | --- | --- |"]
    for r in result["per_run"] + [dict(result["pooled"], run="**pooled**", points="all")]:
        lines.append(f"| {r['run']} | {r['points']} | {r['rho_train']:+.2f} | "
                     f"{interval(r['ci_train'])} | {r['rho_test']:+.2f} | {interval(r['ci_test'])} |")
    return "\n".join(lines)
