"""The reproduction report: each quantitative claim of the paper against the stored runs.

One function per claim, each returning a row {claim, paper, measured, verdict, criterion, runs}:
what the paper says, what the runs give, a verdict by the criterion stated in the row, and the
runs behind it. ``claims_table()`` collects them. Verdicts are "reproduced", "partly", "not
reproduced", or "consistent" / "not supported" for the claims that are statements of no
difference or of a relation, and "not yet measured" where the stored runs cannot test the claim
yet (the store may hold only part of the planned runs). The statistics are in ``qcnn.stats``;
the population is every stored run that trains with the book's recipe
(``experiments.paper_runs``: Fig. 2, the landscape of d and seeds, the n-sweep).
"""
import functools
import math

import numpy as np

from . import stats
from .config import run_id
from .data import DATASETS
from .experiments import (D_CLAIM, MIN_ACROSS, PAPER_ACCURACY, PROFILES, across_population,
                          fig2_configs, first_epoch_of, landscape_configs, landscape_runs,
                          landscape_table, paper_runs, recipe_configs, seed_runs,
                          stored_count)
from .model import QCNN
from .runs import stored, stored_only

NAMES_SHORT = {"mnist": "MNIST", "fashion-mnist": "Fashion"}


def row(claim, paper, measured, verdict, criterion, configs):
    return dict(claim=claim, paper=paper, measured=measured, verdict=verdict,
                criterion=criterion, runs=[run_id(c) for c in configs])


def verdict(ok, partly=False):
    return "reproduced" if ok else ("partly" if partly else "not reproduced")


def median_interval(values, seed=0):
    """(median, 95% bootstrap interval of the median) of per-run values."""
    values = [v for v in values if np.isfinite(v)]
    interval = stats.bootstrap_interval(lambda s: float(np.median(s)), values, seed)
    return float(np.median(values)), interval


def ci(pair):
    """'+0.12 [-0.03, +0.25]' from (value, (low, high))."""
    value, (low, high) = pair
    return f"{value:+.2f} [{low:+.2f}, {high:+.2f}]"


def within_run_rhos(configs, first_epoch, how):
    """{"train": [rho per run], "test": [...]} of ``stats.within_run``."""
    rows = [stats.within_run(stored(c)[0], first_epoch, how) for c in configs]
    return {kind: [r[kind] for r in rows] for kind in ("train", "test")}


# ------------------------------------------------------------------------------ the claims

def best_accuracy(profile, name):
    """"The best (average) test accuracies achieved among all experiments": 97% / 89%."""
    fig2 = fig2_configs(profile)
    configs = [c for c in paper_runs(profile) if c.dataset == name]
    best = {c: max(stored(c)[0]["test_accuracy"]) for c in configs}
    final = {c: stored(c)[0]["test_accuracy"][-1] for c in configs}
    top = max(best, key=best.get)
    paper_value = PAPER_ACCURACY[name]
    return row(
        f"best test accuracy, {name}, over all experiments", f"{paper_value:.0%}",
        f"{best[top]:.2%} of {len(configs)} stored runs (d = {top.d}, n = {top.n}, seed {top.seed}, "
        f"epoch {1 + int(np.argmax(stored(top)[0]['test_accuracy']))}); best final "
        f"{max(final.values()):.2%}; d = 18 Fig. 2 runs: "
        f"{max(best[c] for c in configs if c in fig2.values()):.2%}",
        verdict(best[top] >= paper_value - 0.005, best[top] >= paper_value - 0.03),
        f"best over {len(configs)} runs within 0.5 points: reproduced; within 3: partly", configs)


def parameter_count():
    """Eq. (47): P = 240 d^2 + 180 d (2n = d, 16 x 16 images)."""
    counts = {d: sum(p.numel() for p in QCNN(d, d // 2, 16).parameters()) for d in (2, 18, 40)}
    return row("parameter count P = 240 d^2 + 180 d", "eq. 47",
               ", ".join(f"d={d}: {n}" for d, n in counts.items()),
               verdict(all(n == 240 * d * d + 180 * d for d, n in counts.items())),
               "the model's own count equals eq. 47 (which assumes 2n = d)", [])


def initial_entropy(profile):
    """"The entanglement entropy is practically zero at initialisation"."""
    population = paper_runs(profile)
    initial = [np.mean(stored(c)[0]["entropy_log"]["entropy"][0]) for c in population]
    recipe = ({k: c for k, c in recipe_configs().items() if stored_only([c])}
              if profile == "paper" else {})
    default = (f"; beta = 0: {np.mean(stored(recipe['default'])[0]['entropy_log']['entropy'][0]):.2f}"
               if "default" in recipe else "")
    return row("entropy practically zero at initialisation", "practically zero",
               f"beta = 1: class mean {np.median(initial):.3f} nats (median of {len(initial)} "
               f"runs), at most {max(initial):.3f}{default}",
               verdict(max(initial) < 0.1), "class mean < 0.1 nats in every run with the book's "
               "recipe", population + ([recipe["default"]] if "default" in recipe else []))


def steady_rise(profile):
    """"After ~10 epochs the entropy rises steadily"."""
    population = paper_runs(profile)
    start = min(10, PROFILES[profile]["epochs"] // 2)
    rises = {c: stats.spearman(np.array(stored(c)[0]["epoch"])[start - 1:],
                               stats.epoch_mean_entropy(stored(c)[0])[start - 1:])
             for c in population}
    median = np.median(list(rises.values()))
    return row("steady rise of the entropy after ~10 epochs", "rises steadily",
               f"Spearman(epoch, entropy) from epoch {start}: median {median:+.2f}, > 0.5 in "
               f"{sum(r > 0.5 for r in rises.values())} of {len(rises)} runs, < 0 in "
               f"{sum(r < 0 for r in rises.values())}",
               verdict(min(rises.values()) > 0.5, median > 0.5),
               "rho > 0.5 in every run: reproduced; in the median run: partly", population)


def stabilises_or_grows(profile):
    """"MNIST's entropy stabilises while Fashion-MNIST's keeps growing"."""
    fig2, epochs = fig2_configs(profile), PROFILES[profile]["epochs"]
    runs = seed_runs(profile)
    tail = {}
    for name in DATASETS:
        runs[name] = runs[name] + [fig2[(name, "leftright")]]
        tail[name] = []
        for c in runs[name]:
            m = stored(c)[0]
            e, s = np.array(m["epoch"]), stats.epoch_mean_entropy(m)
            keep = e > epochs * 2 / 3
            tail[name].append(float(np.polyfit(e[keep], s[keep], 1)[0]))
    mnist, fashion = tail["mnist"], tail["fashion-mnist"]
    return row("MNIST entropy stabilises, Fashion-MNIST keeps growing", "qualitative",
               f"last-third slopes (nats/epoch, d = 18, {len(mnist)} runs each): MNIST "
               f"{np.mean(mnist):+.4f} [{min(mnist):+.4f}, {max(mnist):+.4f}], Fashion "
               f"{np.mean(fashion):+.4f} [{min(fashion):+.4f}, {max(fashion):+.4f}]",
               verdict(min(fashion) > 0 and max(mnist) < 0.5 * min(fashion),
                       np.mean(fashion) > np.mean(mnist)),
               "every Fashion slope > 0 and every MNIST slope below half the smallest: "
               "reproduced; Fashion's mean slope above MNIST's: partly",
               [c for cs in runs.values() for c in cs])


def partitions_alike(profile):
    """"The up/down and left/right trends are very similar"."""
    fig2 = fig2_configs(profile)
    alike = [stats.spearman(*(stats.epoch_mean_entropy(stored(fig2[(name, p)])[0])
                              for p in ("updown", "leftright"))) for name in DATASETS]
    return row("up/down and left/right trends alike", "very similar",
               "Spearman(up/down, left/right) per epoch: " + ", ".join(f"{r:+.2f}" for r in alike),
               verdict(min(alike) > 0.7, min(alike) > 0.3),
               "rho > 0.7 for both data sets; > 0.3: partly", list(fig2.values()))


def order_ln2(profile):
    """The entropies are of order ln 2 (Fig. 2(c)-(d))."""
    fig2 = fig2_configs(profile)
    final = [stats.epoch_mean_entropy(stored(c)[0])[-1] for c in fig2.values()]
    low, high = min(final), max(final)
    return row("entropies of order ln 2 = 0.69", "order ln 2",
               f"final class means {low:.2f}-{high:.2f} nats",
               verdict(math.log(2) / 3 <= low and high <= 3 * math.log(2),
                       math.log(2) / 10 <= low and high <= 10 * math.log(2)),
               "all within a factor 3 of ln 2: reproduced; 10: partly", list(fig2.values()))


@functools.lru_cache(maxsize=None)
def d_claim(profile="paper", metric=1):
    """For each data set: Kruskal-Wallis over the landscape's d in D_CLAIM (seeds as samples)
    of the best (metric=1) or final (2) test accuracy, and the largest difference between two
    d's seed means with a 95% bootstrap interval (seeds resampled within each d). Uses the
    stored runs of the d's with two seeds or more; ``measured`` is False (and the statistics
    absent) until there are two such d's and the permutation test could reach p < 0.05 with
    them (``stats.smallest_p``): before that, "no significant difference" would say nothing."""
    table = landscape_table(profile)
    result = {}
    for name in DATASETS:
        ds = [d for d in sorted(table[name])
              if D_CLAIM[0] <= d <= D_CLAIM[1] and len(table[name][d]) >= 2]
        planned = [c for c in landscape_configs(profile)
                   if c.dataset == name and D_CLAIM[0] <= c.d <= D_CLAIM[1]]
        if len(ds) < 2 or stats.smallest_p([len(table[name][d]) for d in ds]) >= 0.05:
            result[name] = {"measured": False, "ds": ds, "stored": stored_count(planned)}
            continue
        groups = [np.array([r[metric] for r in table[name][d]]) for d in ds]
        h, p = stats.kruskal_wallis(groups)
        means = [g.mean() for g in groups]
        items = [(d, v) for d, g in zip(ds, groups) for v in g]

        def spread(sample):
            return float(np.ptp([np.mean([v for d, v in sample if d == dd]) for dd in ds]))
        result[name] = {"measured": True, "stored": stored_count(planned), "ds": ds,
                        "means": means, "H": h, "p": p, "spread": float(np.ptp(means)),
                        "spread_ci": stats.bootstrap_interval(spread, items,
                                                              strata=[d for d, _ in items]),
                        "seeds": min(len(g) for g in groups)}
    return result


def no_difference_in_d(profile, name):
    """Journal footnote 10: no very significant difference in performance for d = 10-40."""
    r = d_claim(profile)[name]
    claim = f"no accuracy difference for d in 10..40, {name}"
    if not r["measured"]:
        return row(claim, "no significant difference",
                   f"{r['stored']} with 10 <= d <= 40: too few seeds per d for a permutation "
                   "test to reach p < 0.05 (it needs e.g. 3 d's x 3 seeds)", "not yet measured",
                   "Kruskal-Wallis over d once the landscape is stored (`qcnn reproduce`)",
                   [c for c in landscape_runs(profile)
                    if c.dataset == name and D_CLAIM[0] <= c.d <= D_CLAIM[1]])
    return row(claim, "no significant difference",
               ", ".join(f"d={d}: {m:.2%}" for d, m in zip(r["ds"], r["means"])) +
               f" (best test accuracy, mean of {r['seeds']} seeds); Kruskal-Wallis H = "
               f"{r['H']:.2f}, p = {r['p']:.3f}; largest gap {r['spread']:.2%} "
               f"[{r['spread_ci'][0]:.2%}, {r['spread_ci'][1]:.2%}]",
               "consistent" if r["p"] >= 0.05 else "not supported",
               f"no difference at the 5% level (permutation p-value; {r['seeds']}+ seeds per d "
               "detect only large effects): consistent",
               [c for c in landscape_runs(profile) if c.dataset == name and c.d in r["ds"]])


@functools.lru_cache(maxsize=None)
def correlation_summary(profile="paper"):
    """The entropy-cost correlation read three ways (train cost; test cost too for the first):
    within runs raw (as §4.2 reads Fig. 3) and detrended, and across runs at matched epochs,
    pooled over d and within d (``None`` until ``across_population`` has enough stored runs)."""
    first = first_epoch_of(profile)
    runs = paper_runs(profile)
    summary = {"first_epoch": first, "runs": len(runs)}
    for how in (None, "differences", "moving5"):
        rhos = within_run_rhos(runs, first, how)
        summary[f"within_{how or 'raw'}"] = {k: median_interval(v) for k, v in rhos.items()}
    for name in DATASETS:
        for within_d, key in ((False, "across_pooled"), (True, "across_within_d")):
            configs = across_population(profile, name, within_d)
            summary[f"{key}_{name}"] = None
            if configs:
                table = stats.run_table([stored(c)[0] for c in configs])
                groups = [c.d for c in configs] if within_d else None
                summary[f"{key}_{name}"] = stats.mean_across_runs(table, first, groups)
    return summary


def correlation_table(profile="paper"):
    """(header, rows) of the correlation summary: each reading, train and test cost."""
    summary = correlation_summary(profile)
    readings = (("within_raw", "within runs, raw (median over runs)"),
                ("within_differences", "within runs, first differences"),
                ("within_moving5", "within runs, 5-epoch moving-average residuals"),
                ("across_pooled_mnist", "across runs at matched epochs, MNIST, pooled over d "
                 "(mean over epochs)"),
                ("across_within_d_mnist", "across runs, MNIST, within d"),
                ("across_pooled_fashion-mnist", "across runs, Fashion-MNIST, pooled over d"),
                ("across_within_d_fashion-mnist", "across runs, Fashion-MNIST, within d"))
    rows = [[label] + [ci(summary[key][kind]) if summary[key] else "not yet measured"
                       for kind in ("train", "test")] for key, label in readings]
    return ["reading", "train cost", "test cost"], rows


def entropy_cost_correlation(profile):
    """"The entropy correlates negatively with the train cost" (Fig. 3)."""
    summary = correlation_summary(profile)
    raw, diff, moving = (summary[f"within_{k}"] for k in ("raw", "differences", "moving5"))
    within_d = {n: summary[f"across_within_d_{n}"] for n in DATASETS}
    raw_negative = raw["train"][1][1] < 0
    detrended_negative = diff["train"][1][1] < 0 and moving["train"][1][1] < 0
    across_negative = all(w and w["train"][1][1] < 0 for w in within_d.values())
    across = ", ".join(f"{NAMES_SHORT[n]} {ci(w['train'])}" if w else
                       f"{NAMES_SHORT[n]} not yet measured (fewer than {MIN_ACROSS} stored runs "
                       "at d's with two seeds)" for n, w in within_d.items())
    return row("entropy correlates negatively with the train cost", "negative (Fig. 3)",
               f"within runs from epoch {summary['first_epoch']}, median rho over "
               f"{summary['runs']} runs: raw {ci(raw['train'])}; first differences "
               f"{ci(diff['train'])}; moving-average residuals {ci(moving['train'])}. Across "
               f"runs at the same epoch, within d: {across}",
               "reproduced" if raw_negative and (detrended_negative or across_negative) else
               ("partly" if raw_negative else "not reproduced"),
               "raw rho's interval below 0 and a relation beyond the shared trend (detrended or "
               "across-run interval below 0): reproduced; the raw correlation alone: partly "
               "(two trends over the epochs)", paper_runs(profile))


def weaker_with_test_cost(profile):
    """"The correlation with the test cost is weaker"."""
    raw = correlation_summary(profile)["within_raw"]
    return row("weaker correlation with the test cost", "weaker for test",
               f"raw within-run median rho: train {ci(raw['train'])}, test {ci(raw['test'])}",
               verdict(abs(raw["test"][0]) < abs(raw["train"][0])),
               "|median rho| smaller for the test cost", paper_runs(profile))


def claims_table(profile="paper"):
    """Rows {claim, paper, measured, verdict, criterion, runs} for the profile's stored runs."""
    return [*(best_accuracy(profile, name) for name in PAPER_ACCURACY), parameter_count(),
            initial_entropy(profile), steady_rise(profile), stabilises_or_grows(profile),
            partitions_alike(profile), order_ln2(profile),
            *(no_difference_in_d(profile, name) for name in DATASETS),
            entropy_cost_correlation(profile), weaker_with_test_cost(profile)]


def markdown_table(header, rows):
    """A Markdown table from a header and rows of cells."""
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(str(c) for c in r) + " |" for r in rows])


def markdown(rows):
    """The claims table as Markdown."""
    return markdown_table(["claim", "paper", "measured", "verdict", "criterion"],
                          [[r["claim"], r["paper"], r["measured"], f"**{r['verdict']}**",
                            r["criterion"]] for r in rows])
