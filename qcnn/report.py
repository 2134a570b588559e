"""The reproduction report: each quantitative claim of the paper against the stored runs.

One function per claim, each returning a row {claim, paper, measured, verdict, criterion, runs}:
what the paper says (its own words in quotation marks), what the runs give, a verdict by the
criterion stated in the row, and the runs behind it. ``claims_table()`` collects them; every
verdict but the parameter count's is decided by a ``*_verdict`` function of plain numbers, so
that the tests can reach each verdict with synthetic values. Verdicts: "reproduced", "partly",
"not reproduced"; "consistent", "not supported", "inconclusive" for the equivalence claim
(journal footnote 10); "not yet measured" where the stored runs cannot test a claim yet (the
store may hold only part of the planned runs).
"""
import math

import numpy as np

from . import stats
from .config import run_id
from .data import DATASETS
from .experiments import (D_CLAIM, LAST, MIN_ACROSS_DS, PAPER_ACCURACY, PAPER_PARAMETER_RANGE,
                          PROFILES, across_population, all_configs, by_dataset, fig2_configs,
                          first_epoch_of, initial_state, landscape_configs, landscape_runs,
                          paper_runs, plateau_configs, recipe_configs, seed_runs)
from .model import QCNN
from .errors import NotStored
from .notes import ESCAPE_COST, plateau_rows

NAMES_SHORT = {"mnist": "MNIST", "fashion-mnist": "Fashion"}
MARGIN = 0.01        # the d-claim's equivalence margin: 1 point of test accuracy, chosen first


def row(claim, paper, measured, verdict, criterion, configs):
    return dict(claim=claim, paper=paper, measured=measured, verdict=verdict,
                criterion=criterion, runs=[run_id(c) for c in configs])


def not_yet(claim, paper, needs, criterion, configs=()):
    """The row of a claim the stored runs cannot test yet, saying what it needs."""
    return row(claim, paper, f"not stored yet: {needs}", "not yet measured", criterion, list(configs))


def ci(pair):
    """'+0.12 [-0.03, +0.25]' from (value, (low, high))."""
    value, (low, high) = pair
    return f"{value:+.2f} [{low:+.2f}, {high:+.2f}]"


# ------------------------------------------------------------------------ best accuracy

def accuracy_verdict(last5, paper):
    """At most 0.5 points below the paper (or above it): reproduced; at most 3 below: partly;
    else not reproduced."""
    gap = paper - last5
    return "reproduced" if gap <= 0.005 else ("partly" if gap <= 0.03 else "not reproduced")


def best_accuracy(store, profile, name):
    """"The best (average) test accuracies achieved among all experiments were 97% for MNIST and
    89% for Fashion-MNIST": both readings over every stored run of the data set that trains as
    long as the paper's (90 epochs) on the full data, whatever its recipe."""
    epochs = PROFILES[profile]["epochs"]
    configs = [c for c in store.stored(all_configs(profile)) if c.dataset == name
               and not c.limit_train and c.epochs == epochs]
    paper = PAPER_ACCURACY[name]
    claim, quoted = (f"best test accuracy, {name}", "\"best (average) test accuracies achieved "
                     f"among all experiments\": {paper:.0%}")
    criterion = (f"the best last-{LAST}-epoch mean at most 0.5 points below the paper's (or "
                 "above): reproduced; at most 3 below: partly")
    if not configs:
        return not_yet(claim, quoted, f"no run of {name}", criterion)
    metrics = {c: store.metrics(c) for c in configs}
    best = max(configs, key=lambda c: max(metrics[c].test_accuracy))
    last = max(configs, key=lambda c: stats.last_epochs_accuracy(metrics[c], LAST))
    best_value = max(metrics[best].test_accuracy)
    last_value = stats.last_epochs_accuracy(metrics[last], LAST)
    epoch = 1 + int(np.argmax(metrics[best].test_accuracy))
    return row(claim, quoted, f"over the {len(configs)} stored {epochs}-epoch full-data runs: mean "
               f"of the last {LAST} epochs {last_value:.2%} (run {run_id(last)}: d = {last.d}, "
               f"n = {last.n}, seed {last.seed}); best single epoch {best_value:.2%} (run "
               f"{run_id(best)}: d = {best.d}, n = {best.n}, seed {best.seed}, epoch {epoch}, "
               "chosen on the test set)",
               accuracy_verdict(last_value, paper), criterion, configs)


def parameter_count():
    """Eq. (47): P = 240 d^2 + 180 d (2n = d, 16 x 16 images)."""
    counts = {d: sum(p.numel() for p in QCNN(d, d // 2, 16).parameters()) for d in (2, 18, 40)}
    ok = (all(n == 240 * d * d + 180 * d for d, n in counts.items())
          and (counts[2], counts[40]) == PAPER_PARAMETER_RANGE)
    return row("parameter count P = 240 d^2 + 180 d", f"eq. 47; the range {PAPER_PARAMETER_RANGE} "
               "for d = 2-40", ", ".join(f"d={d}: {n}" for d, n in counts.items()),
               "reproduced" if ok else "not reproduced",
               "the model's own count equals eq. 47 (which assumes 2n = d), and its ends the "
               "paper's range", [])


# ---------------------------------------------------------------- entropy at initialisation

def initial_verdict(beta1_max, beta0, threshold=0.1):
    """Below ``threshold`` nats (class mean) for every beta = 1 initial state and for the
    published beta = 0: reproduced; for beta = 1 only: partly; else not reproduced."""
    if beta1_max < threshold:
        return "reproduced" if beta0 < threshold else "partly"
    return "not reproduced"


def initial_entropy(store, profile):
    """"Upon initialization of the network the EE is practically zero"."""
    population = paper_runs(store, profile)
    beta0 = [c for c in recipe_configs().values() if c.init == "default" and store.stored([c])]
    claim, criterion = ("entropy practically zero at initialisation",
                        "class mean < 0.1 nats in every beta = 1 initial state and in every beta = 0 "
                        "one (PyTorch's default, the published code's): reproduced; with beta = 1 "
                        "only: partly (the claim is conditional on beta = 1 and on running "
                        "statistics that have not seen the data)")
    if not population or not beta0:
        return not_yet(claim, "\"practically zero\"", "runs with beta = 1 and with beta = 0",
                       criterion)
    def by_state(configs):
        return {initial_state(c): np.mean(store.metrics(c).entropy_log.entropy[0]) for c in configs}
    values = list(by_state(population).values())
    beta0_values = sorted(by_state(beta0).values())
    try:
        calibrated = store.analysis("initialisation")["states"]["shift1"]["calibrated"][0]
    except NotStored:
        calibrated = math.nan
    return row(claim, "\"practically zero\"",
               f"beta = 1 (this book's recipe): class mean at most {max(values):.3f} nats over "
               f"{len(values)} distinct initial states (median {np.median(values):.3f}); beta = 0 "
               f"(PyTorch's default, the published code's): "
               + ", ".join(f"{v:.2f}" for v in beta0_values)
               + f" ({len(beta0_values)} distinct states); beta = 1 with the batch-norm "
               f"statistics calibrated on data: {calibrated:.2f}",
               initial_verdict(max(values), max(beta0_values)), criterion, population + beta0)


# ------------------------------------------------------------------- the entropy's course

def rise_of(metrics, start=10, width=5):
    """A run's epoch-mean entropy around epoch ``start``: (Spearman rho against the epoch from
    ``start`` on; the largest fall of its ``width``-epoch moving average from ``start`` on, as a
    share of that average's range; Spearman rho over the epochs before ``start``)."""
    entropy = stats.epoch_mean_entropy(metrics)
    epochs = np.array(metrics.epoch)
    return (stats.spearman(epochs[start - 1:], entropy[start - 1:]),
            stats.largest_drop(stats.moving_average(entropy[start - 1:], width)),
            stats.spearman(epochs[:start - 1], entropy[:start - 1]))


def rises_steadily(rho, drop):
    """A steady rise: rho >= 0.8 and a largest fall of at most a quarter of the range."""
    return rho >= 0.8 and drop <= 0.25


def rise_verdict(steady, contrast):
    """A steady rise after the start in every run, each less monotone before: reproduced; a
    steady rise in most runs: partly; else not reproduced; no runs: not yet measured."""
    if not steady:
        return "not yet measured"
    if all(steady) and all(contrast):
        return "reproduced"
    return "partly" if np.mean(steady) > 0.5 else "not reproduced"


def steady_rise(store, profile):
    """"After around 10 epochs, the EE starts to increase steadily" (varying widely before)."""
    population = paper_runs(store, profile)
    start = min(10, PROFILES[profile]["epochs"] // 2)
    criterion = (f"per run from epoch {start}: Spearman(epoch, entropy) >= 0.8 and the 5-epoch "
                 "moving average never falling by more than a quarter of its range; in every run, "
                 "each less monotone before: reproduced; in most runs: partly")
    claim, quoted = ("steady rise of the entropy after ~10 epochs", "\"after around 10 epochs, the "
                     "EE starts to increase steadily\"; before, \"its value can vary widely\"")
    if not population:
        return not_yet(claim, quoted, "runs with the book's recipe", criterion)
    rises = {c: rise_of(store.metrics(c), start) for c in population}
    steady = [rises_steadily(rho, drop) for rho, drop, _ in rises.values()]
    contrast = [abs(before) < after for after, _, before in rises.values()]
    failing = [f"{run_id(c)} (d = {c.d}, {NAMES_SHORT[c.dataset]} {c.partition}: rho "
               f"{rho:+.2f}, fall {drop:.2f})" for c, (rho, drop, _) in rises.items()
               if not rises_steadily(rho, drop)]
    after, _, before = (np.median([r[i] for r in rises.values()]) for i in range(3))
    measured = (f"from epoch {start}: a steady rise in {sum(steady)} of {len(steady)} runs (median "
                f"rho {after:+.2f}); less monotone before epoch {start} than after (rho before "
                f"smaller in size than rho after) in {sum(contrast)} of {len(contrast)} (median rho "
                f"before {before:+.2f}); not steady: " + (", ".join(failing) or "none"))
    return row(claim, quoted, measured, rise_verdict(steady, contrast), criterion, population)


def last_third_slope(metrics):
    """Least-squares slope (nats per epoch) of the epoch-mean entropy over the last third."""
    e, s = np.array(metrics.epoch), stats.epoch_mean_entropy(metrics)
    keep = e > len(e) * 2 / 3
    return float(np.polyfit(e[keep], s[keep], 1)[0])


def slopes_verdict(mnist, fashion):
    """Every Fashion slope > 0 and every MNIST slope smaller in size than half the smallest:
    reproduced; Fashion's mean above MNIST's: partly."""
    if min(fashion) > 0 and max(abs(s) for s in mnist) < 0.5 * min(fashion):
        return "reproduced"
    return "partly" if np.mean(fashion) > np.mean(mnist) else "not reproduced"


def stabilises_or_grows(store, profile):
    """"In the MNIST case the value of the EE seems to stabilise during the final epochs,
    whereas it appears to keep growing in the case of F-MNIST": the d = 18 up/down runs of every
    stored seed (the runs ``figures.entropy_over_seeds`` shows)."""
    runs = seed_runs(store, profile)
    criterion = ("every Fashion slope > 0 and every MNIST slope smaller in size than half the "
                 "smallest: reproduced; Fashion's mean slope above MNIST's: partly")
    if not all(runs.values()):
        return not_yet("MNIST entropy stabilises, Fashion-MNIST keeps growing", "qualitative (Fig. 2)",
                       "a d = 18 up/down run of each data set", criterion)
    slopes = {name: [last_third_slope(store.metrics(c)) for c in configs] for name, configs in runs.items()}
    mnist, fashion = slopes["mnist"], slopes["fashion-mnist"]

    def describe(values):
        return (f"{values[0]:+.4f}" if len(values) == 1 else
                f"{np.mean(values):+.4f} (mean; range {min(values):+.4f} to {max(values):+.4f})")
    return row("MNIST entropy stabilises, Fashion-MNIST keeps growing", "qualitative (Fig. 2)",
               f"slope of the last third (nats/epoch), d = 18 up/down, {len(mnist)} and "
               f"{len(fashion)} seeds: MNIST {describe(mnist)}, Fashion {describe(fashion)}",
               slopes_verdict(mnist, fashion), criterion, [c for cs in runs.values() for c in cs])


def shape_and_level(updown, leftright, start=10, width=5):
    """(largest gap between the two curves' ``width``-epoch moving averages, each divided by its
    mean over the last 10 epochs, from epoch ``start``; level ratio left/right over up/down of
    those means)."""
    a, b = (stats.epoch_mean_entropy(m) for m in (updown, leftright))
    level_a, level_b = a[-10:].mean(), b[-10:].mean()
    gap = np.abs(stats.moving_average(a[start - 1:], width) / level_a
                 - stats.moving_average(b[start - 1:], width) / level_b)
    return float(gap.max()), float(level_b / level_a)


def alike_verdict(gaps, ratios):
    """Normalised shapes within 0.25 of each other and levels within a factor 1.5, for both data
    sets: reproduced; the shapes only: partly; else not reproduced."""
    shapes = max(gaps) <= 0.25
    levels = all(1 / 1.5 <= r <= 1.5 for r in ratios)
    return "reproduced" if shapes and levels else ("partly" if shapes else "not reproduced")


def partitions_alike(store, profile):
    """"The development trend of the up/down EE is very similar to that of the left/right EE"."""
    fig2 = fig2_configs(profile)
    if len(store.stored(fig2.values())) < len(fig2):
        return not_yet("up/down and left/right trends alike", "\"very similar\"",
                       "the four runs of Figure 2", "shapes and levels of the two flattenings")
    found = {name: shape_and_level(*(store.metrics(fig2[(name, p)]) for p in ("updown", "leftright")))
             for name in DATASETS}
    return row("up/down and left/right trends alike", "\"very similar\"",
               "; ".join(f"{NAMES_SHORT[n]}: largest gap of the normalised curves {g:.2f}, "
                         f"level left/right over up/down {r:.2f}" for n, (g, r) in found.items()),
               alike_verdict([g for g, _ in found.values()], [r for _, r in found.values()]),
               "each curve's 5-epoch moving average divided by its mean over the last 10 epochs: "
               "gaps <= 0.25 from epoch 10 and levels within a factor 1.5: reproduced; the "
               "shapes alone: partly",
               list(fig2.values()))


def order_verdict(low, high):
    """All within a factor 3 of ln 2: reproduced; within 10: partly."""
    if math.log(2) / 3 <= low and high <= 3 * math.log(2):
        return "reproduced"
    return "partly" if math.log(2) / 10 <= low and high <= 10 * math.log(2) else "not reproduced"


def order_ln2(store, profile):
    """"The values of the entanglement entropy ... is of the order of log 2"."""
    fig2 = fig2_configs(profile)
    if not store.stored(fig2.values()):
        return not_yet("entropies of order ln 2 = 0.69", "\"of the order of log 2\"",
                       "the runs of Figure 2", "all within a factor 3 of ln 2: reproduced; 10: partly")
    final = [stats.epoch_mean_entropy(store.metrics(c))[-1] for c in store.stored(fig2.values())]
    return row("entropies of order ln 2 = 0.69", "\"of the order of log 2\"",
               f"final class means of the Fig. 2 runs {min(final):.2f}-{max(final):.2f} nats",
               order_verdict(min(final), max(final)),
               "all within a factor 3 of ln 2: reproduced; 10: partly", list(fig2.values()))


# ----------------------------------------------------------------- the beta = 0 plateau

HALVING_WINDOW = 2.0     # an escape within this many epochs after the first halving "follows" it


def plateau_verdict(escapes):
    """What ends the beta = 0 plateau, from {name: (first halving, escape)} (epochs on the epoch
    axis, None: never), the two controls named "constant learning rate" and "first halving
    after 4 epochs". The constant rate never escaping while every run that halves escapes within
    HALVING_WINDOW epochs after its first halving (strictly after: the point logged at the
    halving averages the steps before it): the first halving; the
    constant rate escaping: not the halving (the plateau ends without one); else: nothing in
    the schedule decides it. None while the controls are not stored."""
    constant = escapes.get("constant learning rate")
    if constant is None or "first halving after 4 epochs" not in escapes:
        return None
    if constant[1] is not None:
        return "not the halving"
    follows = [e is not None and 0 < e - h <= HALVING_WINDOW
               for name, (h, e) in escapes.items() if h is not None]
    return "the first halving" if all(follows) else "nothing in the schedule"


def plateau_finding(store):
    """(rows, sentence): for every stored beta = 0 run, where its learning rate is first halved
    and where it leaves the plateau (``notes.escape_epoch``: the running train cost first below
    ESCAPE_COST), and what ends the plateau by ``plateau_verdict``."""
    named = {c: name for name, c in {**recipe_configs(), **plateau_configs()}.items()}
    rows, escapes = [], {}
    for config, halving, escape, final in plateau_rows(store):
        name = named.get(config, f"the paper's recipe, seed {config.seed}")
        escapes[f"{name} ({run_id(config)})" if name.startswith("the paper's") else name] = (halving, escape)
        rows.append([name, run_id(config), f"{config.dataset} {config.partition}",
                     config.lr_schedule, config.epochs,
                     "never" if halving is None else f"{halving:.1f}",
                     "never" if escape is None else f"{escape:.1f}",
                     "" if None in (halving, escape) else f"{escape - halving:+.1f}", f"{final:.4f}"])
    verdict = plateau_verdict(escapes)
    rule = (f"a run leaves the plateau at the first logged point (ten an epoch) where its running "
            f"train cost is below {ESCAPE_COST} (the plateau sits at 0.9, the best constant "
            f"output's cost); the halving ends it if the constant-rate control never leaves it "
            f"while every run that halves leaves it within {HALVING_WINDOW:g} epochs after its "
            "first halving")
    if verdict is None:
        return rows, f"not yet measured: the two schedule controls are not both stored ({rule})"
    constant = escapes["constant learning rate"][1]
    early_halving, early = escapes["first halving after 4 epochs"]
    text = {"the first halving": "the first halving of the learning rate ends the plateau",
            "not the halving": (f"the halving is not what ends the plateau: with a constant "
                                f"learning rate it ends at epoch {constant:.1f}"),
            "nothing in the schedule": "nothing in the schedule decides when the plateau ends"}
    return rows, (f"{text[verdict]} (rule: {rule}); halving first after 4 epochs, the plateau "
                  f"ends at epoch " + ("never" if early is None else f"{early:.1f}"))


# -------------------------------------------------------------------- accuracy against d

def gap_verdict(intervals, wide, complete, margin=MARGIN):
    """The equivalence reading of "we do not notice a very significant difference" (journal,
    footnote 10) from the differences between every two d's: ``intervals`` at 90% (each the two
    one-sided tests at 5%; all of them inside the margin is an intersection-union test, which
    needs no correction for the number of pairs), ``wide`` at 1 - 0.10/K (Bonferroni over the K
    pairs, since one pair beyond the margin would refute the claim). Some wide interval wholly
    beyond the margin: not supported; every 90% interval inside (-margin, margin) and every
    planned d measured (``complete``): consistent; else inconclusive, also while d's are
    missing (their gaps are unknown)."""
    if any(low > margin or high < -margin for low, high in wide):
        return "not supported"
    if complete and all(-margin < low and high < margin for low, high in intervals):
        return "consistent"
    return "inconclusive"


def d_gaps(by_d, planned):
    """The d-claim's numbers from {d: [each seed's last-5-epoch test accuracy]}, over the d's
    with two seeds or more (``ds``): their seed means, the seed spread pooled over them (s, df),
    every two d's difference with its 90% interval (``pairs``) and its Bonferroni interval
    (``wide``; ``stats.pooled_differences``), ``bound``: the smallest X with every 90% interval
    inside [-X, X], the pairs whose wide interval lies beyond the margin, and the verdict;
    ``missing``: the ``planned`` d's without two seeds yet; ``spreads``: each d's own seed s.d.
    (what the pooling assumes equal); ``welch``: the pair whose 90% interval without that
    assumption (``stats.welch_differences``) reaches farthest from zero, shown beside the
    verdict, not deciding it (nan where no d has a seed spread)."""
    ds = sorted(d for d, values in by_d.items() if len(values) >= 2)
    missing = sorted(set(planned) - set(ds))
    if len(ds) < 2:
        return {"measured": False, "ds": ds, "missing": missing, "pairs": [],
                "verdict": "not yet measured"}
    groups = {d: by_d[d] for d in ds}
    pairs, s, df = stats.pooled_differences(groups, 0.90)
    wide, _, _ = stats.pooled_differences(groups, 1 - 0.10 / len(pairs))
    return dict(measured=True, ds=ds, missing=missing, means=[float(np.mean(by_d[d])) for d in ds],
                spreads=[float(np.std(by_d[d], ddof=1)) for d in ds],
                seeds=min(len(by_d[d]) for d in ds), s=s, df=df, pairs=pairs, wide=wide,
                bound=float(np.max([np.abs(p[3]) for p in pairs])),
                largest=max(pairs, key=lambda p: abs(p[2])),
                beyond=[p for p in wide if p[3][0] > MARGIN or p[3][1] < -MARGIN],
                welch=max(stats.welch_differences(groups, 0.90),
                          key=lambda p: np.nan_to_num(np.max(np.abs(p[3])), nan=-np.inf)),
                verdict=gap_verdict([p[3] for p in pairs], [p[3] for p in wide], not missing))


def d_claim(store, profile="paper"):
    """For each data set, ``d_gaps`` of the stored landscape runs with d in D_CLAIM (each run's
    mean test accuracy over its last 5 epochs), and ``stored``: how many of them are stored."""
    result = {}
    for name in DATASETS:
        planned = [c for c in landscape_configs(profile)
                   if c.dataset == name and D_CLAIM[0] <= c.d <= D_CLAIM[1]]
        by_d = {}
        for c in store.stored(planned):
            by_d.setdefault(c.d, []).append(stats.last_epochs_accuracy(store.metrics(c), LAST))
        result[name] = {**d_gaps(by_d, {c.d for c in planned}), "stored": store.count(planned)}
    return result


def d_gaps_text(r):
    """What the d-claim's row says it measured, from ``d_gaps`` (with ``stored``)."""
    if not r["measured"]:
        return f"{r['stored']} with 10 <= d <= 40; two d's with two seeds each are needed"
    a, b, difference, _ = r["largest"]
    text = (", ".join(f"d={d}: {m:.2%}" for d, m in zip(r["ds"], r["means"])) +
            f" (seed means of the last {LAST} epochs' test accuracy, {r['seeds']}+ seeds per d, "
            f"seed s.d. {r['s']:.2%} pooled, {r['df']} df); every two d's differ by less than "
            f"{r['bound']:.2%} at 90% (largest: d={a} - d={b} {difference:+.2%})")
    text += "".join(f"; beyond the margin: d={a} - d={b} [{low:+.2%}, {high:+.2%}] at "
                    f"{1 - 0.10 / len(r['pairs']):.1%}" for a, b, _, (low, high) in r["beyond"])
    a, b, _, (low, high), df = r["welch"]
    text += ("; without pooling (Welch's 90% intervals, each d its own spread), the farthest from "
             f"zero: d={a} - d={b} [{low:+.2%}, {high:+.2%}], {df:.1f} df" if not math.isnan(df) else
             "; without pooling (Welch's intervals): undefined, no d's seeds differ")
    if r["missing"]:
        text += f"; without two seeds yet: d = {', '.join(map(str, r['missing']))}"
    return text + f"; {r['stored']}"


def d_claim_details(name, r):
    """The d-claim of data set ``name`` (``d_claim``'s entry ``r``) in lines: the verdict with
    what it measured, each d's own seed s.d., and every two d's difference with its 90% interval."""
    lines = [f"{name:13s} {r['verdict']}: {d_gaps_text(r)}"]
    if r["measured"]:
        lines.append("    each d's own seed s.d.: " +
                     ", ".join(f"d = {d}: {s:.2%}" for d, s in zip(r["ds"], r["spreads"])))
    lines += [f"    d = {a:2d} - d = {b:2d}: {difference:+.2%}, 90% interval [{low:+.2%}, {high:+.2%}]"
              for a, b, difference, (low, high) in r["pairs"]]
    return "\n".join(lines)


def no_difference_in_d(store, profile, name):
    """Journal footnote 10: "we do not notice a very significant difference in performance in
    the range d = 10-40"."""
    r = d_claim(store, profile)[name]
    criterion = (f"margin {MARGIN:.0%} (chosen before looking); every two d's difference with a "
                 "90% interval (seed spread pooled over the d's): all inside the margin with "
                 "every d in 10-40 measured: consistent; one wholly beyond it at the Bonferroni "
                 "level 1 - 0.10/pairs: not supported; else inconclusive")
    return row(f"no accuracy difference for d in 10-40, {name}",
               "\"we do not notice a very significant difference in performance\" (journal, footnote 10)",
               d_gaps_text(r), r["verdict"], criterion,
               [c for c in landscape_runs(store, profile) if c.dataset == name
                and D_CLAIM[0] <= c.d <= D_CLAIM[1]])


# -------------------------------------------------------------- entropy against the cost

def correlation_summary(store, profile="paper"):
    """The entropy-cost correlation per data set: within runs from epoch 30, raw (as §4.2 reads
    Fig. 3) and detrended (first differences, the learning-rate halvings left out), median over
    runs with its distribution-free interval; and across runs at matched epochs within d (the
    landscape's seeds; ``None`` until ``across_population`` has enough d's with seeds)."""
    first = first_epoch_of(profile)
    summary = {"first_epoch": first}
    for name, configs in by_dataset(paper_runs(store, profile)).items():
        if not configs:
            summary[name] = None
            continue
        every = {c: stats.within_run(store.metrics(c), first) for c in paper_runs(store, profile)
                 if c.dataset == name}                  # the positive ones are named, twins too
        raw = [every[c] for c in configs]
        diff = [stats.within_run(store.metrics(c), first, detrended=True) for c in configs]
        summary[name] = {"runs": len(configs),
                         "raw": {k: stats.median_interval([r[k] for r in raw]) for k in raw[0]},
                         "differences": {k: stats.median_interval([r[k] for r in diff]) for k in diff[0]},
                         "raw_positive": [(run_id(c), r["train"]) for c, r in every.items()
                                          if r["train"] > 0]}
        across = across_population(store, profile, name)
        summary[name]["across"] = None
        if across:
            table = stats.run_table([store.metrics(c) for c in sorted(across, key=run_id)])
            summary[name]["across"] = stats.mean_across_runs(
                table, first, [c.d for c in sorted(across, key=run_id)])
    return summary


def correlation_table(store, profile="paper"):
    """(header, rows) of the correlation summary: each reading and data set, against the
    running train cost, the eval-mode train cost and the test cost."""
    summary = correlation_summary(store, profile)
    rows = []
    for name in DATASETS:
        s = summary[name]
        if s is None:
            continue
        for key, label in (("raw", "within runs, raw"),
                           ("differences", "within runs, first differences (halvings left out)")):
            rows.append([f"{NAMES_SHORT[name]}, {label}, median of {s['runs']} runs"] +
                        [ci(s[key][k]) for k in ("train", "train_eval", "test")])
        rows.append([f"{NAMES_SHORT[name]}, across runs at matched epochs, within d"] +
                    ([ci(s["across"][k]) for k in ("train", "train_eval", "test")] if s["across"] else
                     ["not yet measured"] * 3))
    return ["reading", "running train cost", "train cost (eval mode)", "test cost"], rows


def correlation_verdict(raw, detrended, small=0.1):
    """raw: (median, upper end of its interval) per data set; detrended: (median, (low, high))
    per data set. Raw and detrended intervals below 0 and every detrended median <= -``small``:
    reproduced; raw medians below 0 (the relation in the typical run) otherwise: partly; else
    not reproduced."""
    raw_median, raw_high = zip(*raw)
    if not all(m < 0 for m in raw_median):
        return "not reproduced"
    beyond = all(high < 0 and median <= -small for median, (_, high) in detrended)
    return "reproduced" if beyond and all(h < 0 for h in raw_high) else "partly"


def entropy_cost_correlation(store, profile):
    """"We observe a distinct negative correlation between EE and the value of the cost
    function" (Fig. 3)."""
    summary = correlation_summary(store, profile)
    if any(summary[n] is None for n in DATASETS):
        return not_yet("entropy correlates negatively with the train cost", "\"a distinct negative "
                       "correlation between EE and the value of the cost function\"",
                       "runs of both data sets", "within-run rank correlations")
    parts = []
    for name in DATASETS:
        s = summary[name]
        positive = "".join(f"; raw rho > 0 in run {rid} ({rho:+.2f})" for rid, rho in s["raw_positive"])
        across = (f"; across runs within d {ci(s['across']['train'])}" if s["across"] else
                  f"; across runs: not yet measured (fewer than {MIN_ACROSS_DS} d's with two seeds)")
        parts.append(f"{NAMES_SHORT[name]} ({s['runs']} runs): raw {ci(s['raw']['train'])}, "
                     f"first differences {ci(s['differences']['train'])}{positive}{across}")
    return row("entropy correlates negatively with the train cost", "\"a distinct negative "
               "correlation between EE and the value of the cost function\"",
               f"Spearman rho within runs from epoch {summary['first_epoch']} against the running "
               "train cost, median over runs [distribution-free 95% interval]: " + "; ".join(parts),
               correlation_verdict([(summary[n]["raw"]["train"][0], summary[n]["raw"]["train"][1][1])
                                    for n in DATASETS],
                                   [summary[n]["differences"]["train"] for n in DATASETS]),
               "raw medians' intervals below 0, and the first differences' (the trend over the "
               "epochs removed) below 0 with a median of -0.1 or less: reproduced; raw medians "
               "below 0 otherwise: partly", paper_runs(store, profile))


def weaker_verdict(pairs):
    """pairs: (median rho with the train cost, with the test cost), both eval mode, one per data
    set. |rho| smaller with the test cost for every data set: reproduced; for some: partly."""
    weaker = [abs(test) < abs(train) for train, test in pairs]
    return "reproduced" if all(weaker) else "partly" if any(weaker) else "not reproduced"


def weaker_with_test_cost(store, profile):
    """"This negative correlation is less evident in the test cost": the eval-mode costs of the
    training and the test set (the same mode, once per epoch); outliers count as ranks only."""
    summary = correlation_summary(store, profile)
    if any(summary[n] is None for n in DATASETS):
        return not_yet("weaker correlation with the test cost", "\"less evident in the test cost\"",
                       "runs of both data sets", "within-run rank correlations")
    return row("weaker correlation with the test cost", "\"less evident in the test cost\"",
               "raw within-run median rho, eval-mode costs: " + "; ".join(
                   f"{NAMES_SHORT[n]} train {ci(summary[n]['raw']['train_eval'])}, test "
                   f"{ci(summary[n]['raw']['test'])}" for n in DATASETS),
               weaker_verdict([(summary[n]["raw"]["train_eval"][0], summary[n]["raw"]["test"][0])
                               for n in DATASETS]),
               "the median rho smaller in size with the test cost than with the train cost, both "
               "in eval mode after each epoch (Spearman: an outlier counts as a rank): for both "
               "data sets: reproduced; for one: partly", paper_runs(store, profile))


def claims_table(store, profile="paper"):
    """Rows {claim, paper, measured, verdict, criterion, runs} for the profile's stored runs."""
    return [*(best_accuracy(store, profile, name) for name in PAPER_ACCURACY), parameter_count(),
            initial_entropy(store, profile), steady_rise(store, profile), stabilises_or_grows(store, profile),
            partitions_alike(store, profile), order_ln2(store, profile),
            *(no_difference_in_d(store, profile, name) for name in DATASETS),
            entropy_cost_correlation(store, profile), weaker_with_test_cost(store, profile)]


def markdown_table(header, rows):
    """A Markdown table from a header and rows of cells."""
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(str(c) for c in r) + " |" for r in rows])


def markdown(rows):
    """The claims table as Markdown."""
    return markdown_table(["claim", "paper", "measured", "verdict", "criterion"],
                          [[r["claim"], r["paper"], r["measured"], f"**{r['verdict']}**",
                            r["criterion"]] for r in rows])
