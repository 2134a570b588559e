"""The reproduction report: each claim of the paper, judged per data set on the paper's own
recipe and on this book's, by a criterion written once.

A claim is one object (``CLAIMS``): the paper's words, its thresholds, the criterion text built
from those thresholds, and ``decide``, which turns plain numbers into a verdict (the tests reach
every verdict with synthetic numbers). ``judge(store, recipe, name, profile)`` measures the
claim on a population of stored runs and returns a ``Row``. ``claims_table`` collects every
claim for both recipes and both data sets.

Populations (``population``): *the paper's recipe* is the ``published`` family (beta = 0,
Xavier weights, float64, the published schedule: d = 18, both partitions, seeds 0-2; the claims
are about its typical d = 18 run); *this book's recipe* is beta = 1 with n = d/2 and d in the
paper's range 10-40 (Fig. 2, the landscape from d = 12, the left/right seeds). Runs with
d < 10 are reported beside the verdict, never pooled in. Runs that start from the same weights
(the two partitions at one d and seed) count once where runs are counted as independent.

Verdicts: "reproduced", "partly", "not reproduced"; "consistent", "not supported",
"inconclusive" for the equivalence claim (journal footnote 10); "nothing to weaken" where a
data set has no correlation to weaken; "not yet measured" where the stored runs cannot test a
claim yet (the store may hold part of the plan). Also here: what ends the beta = 0 plateau.
"""
import math
from dataclasses import dataclass, replace

import numpy as np

from . import stats
from .config import run_id
from .data import DATASETS
from .errors import NotStored
from .experiments import (D_CLAIM, LAST, MIN_ACROSS_DS, PAPER_ACCURACY, PAPER_PARAMETER_RANGE,
                          PROFILES, RECIPES, all_configs, by_dataset, claims_configs,
                          first_epoch_of, ising_configs, ising_running_configs, landscape_configs,
                          plateau_configs, published_configs,
                          recipe_configs, recipe_of)
from .findings import NOT_YET, fig2_entries
from .ising import T_C, TEMPERATURES, exact_specific_heat
from .model import QCNN
from .notes import ESCAPE_COST, plateau_rows
from .phases import size_slope, transition_summary

NAMES_SHORT = {"mnist": "MNIST", "fashion-mnist": "Fashion"}
MARGIN = 0.01        # the d-claim's equivalence margin: 1 point of test accuracy, chosen first
MIN_ACROSS_RUNS = 4  # runs of one length that an across-run rho at matched epochs ranks, at least


@dataclass(frozen=True)
class Row:
    """One verdict: a claim, on one data set ("both" where the claim compares them or does not
    depend on one), for one recipe ("published", "book", or "" where none applies)."""
    claim: str
    paper: str
    dataset: str
    recipe: str
    measured: str
    verdict: str
    criterion: str
    runs: tuple


def ci(summary):
    """'+0.12 [-0.03, +0.25]' from (value, (low, high)) or (value, (low, high), coverage): the
    coverage is named where it is not 95%; '+0.12 (one run: no interval)' where there is none."""
    value, (low, high), *coverage = summary
    if math.isnan(low) or math.isnan(high):
        return f"{value:+.2f} (one run: no interval)"
    level = f", {coverage[0]:.0%}" if coverage and coverage[0] != 0.95 else ""
    return f"{value:+.2f} [{low:+.2f}, {high:+.2f}{level}]"


def population(store, recipe, name=None, profile="paper"):
    """The stored runs that judge the claims for ``recipe`` on data set ``name`` (None: both),
    as described in the module's docstring."""
    if recipe == "published":
        configs = published_configs(profile)
    else:
        configs = [c for c in claims_configs(profile) if recipe_of(c) == "book"
                   and 2 * c.n == c.d and c.d >= D_CLAIM[0]]
    return store.stored(c for c in configs if name is None or c.dataset == name)


def small_d(store, name, profile="paper"):
    """This book's stored runs with n = d/2 and d < 10 on data set ``name``: reported apart."""
    return store.stored(c for c in claims_configs(profile) if recipe_of(c) == "book"
                        and 2 * c.n == c.d and c.d < D_CLAIM[0] and c.dataset == name)


def seed_groups(configs):
    """The runs that differ only in their seed: [[Config, ...], ...] of two runs or more."""
    groups = {}
    for c in configs:
        groups.setdefault(replace(c, seed=0), []).append(c)
    return [g for g in groups.values() if len(g) >= 2]


class Claim:
    """A claim of the paper: ``title`` and ``paper`` (its words), ``criterion`` (the text of the
    rule, built from the thresholds), ``judge`` (a Row)."""
    title = paper = ""
    per_dataset = True
    recipes = ("published", "book")

    def row(self, name, recipe, measured, verdict, runs=()):
        return Row(self.title, self.paper, name, recipe, measured, verdict, self.criterion,
                   tuple(run_id(c) for c in runs))

    def not_yet(self, name, recipe, needs):
        return self.row(name, recipe, f"{NOT_YET}: {needs}", NOT_YET)


# ------------------------------------------------------------------------ best accuracy

@dataclass(frozen=True)
class BestAccuracy(Claim):
    """"maximum test accuracy 97%" (journal, introduction) and "the best (average) test
    accuracies achieved among all experiments were 97% for MNIST and 89% for Fashion-MNIST"
    (§4.2): both readings, over every stored 90-epoch full-data run of the recipe."""
    reproduced: float = 0.005
    partly: float = 0.03
    title = "best test accuracy"
    paper = ("\"maximum test accuracy 97%\" (introduction); \"the best (average) test accuracies "
             "achieved among all experiments\": 97% MNIST, 89% Fashion-MNIST (§4.2)")

    @property
    def criterion(self):
        return (f"each reading (the best single epoch, chosen on the test set; the best mean of a "
                f"run's last {LAST} epochs) at most {self.reproduced:.1%} below the paper's (or "
                f"above): reproduced; at most {self.partly:.0%} below: partly")

    def decide(self, value, paper):
        gap = paper - value
        return ("reproduced" if gap <= self.reproduced else
                "partly" if gap <= self.partly else "not reproduced")

    def judge(self, store, recipe, name, profile):
        epochs = PROFILES[profile]["epochs"]
        configs = [c for c in store.stored(all_configs(profile)) if c.dataset == name
                   and recipe_of(c) == recipe and not c.limit_train and c.epochs == epochs]
        if not configs:
            return self.not_yet(name, recipe, f"no {epochs}-epoch run of this recipe")
        metrics = {c: store.metrics(c) for c in configs}
        best = max(configs, key=lambda c: max(metrics[c].test_accuracy))
        last = max(configs, key=lambda c: stats.last_epochs_accuracy(metrics[c], LAST))
        best_value = max(metrics[best].test_accuracy)
        last_value = stats.last_epochs_accuracy(metrics[last], LAST)
        paper = PAPER_ACCURACY[name]
        verdict = (f"maximum: {self.decide(best_value, paper)}; "
                   f"average: {self.decide(last_value, paper)}")
        return self.row(name, recipe, (
            f"{len(configs)} runs: best epoch {best_value:.2%} (run {run_id(best)}, d = {best.d}, "
            f"seed {best.seed}, epoch {1 + int(np.argmax(metrics[best].test_accuracy))}); best "
            f"last-{LAST}-epoch mean {last_value:.2%} (run {run_id(last)}, d = {last.d}, seed "
            f"{last.seed}); the paper: {paper:.0%}"), verdict, configs)


@dataclass(frozen=True)
class ParameterCount(Claim):
    """Eq. (47): P = 240 d^2 + 180 d (2n = d, 16 x 16 images), and the stated range."""
    title = "parameter count P = 240 d^2 + 180 d"
    paper = f"eq. 47; the range {PAPER_PARAMETER_RANGE} for d = 2-40"
    per_dataset = False
    recipes = ("",)
    criterion = ("the model's own count equals eq. 47 (which assumes 2n = d), and its ends the "
                 "paper's range")

    def judge(self, store, recipe, name, profile):
        counts = {d: sum(p.numel() for p in QCNN(d, d // 2, 16).parameters()) for d in (2, 18, 40)}
        ok = (all(n == 240 * d * d + 180 * d for d, n in counts.items())
              and (counts[2], counts[40]) == PAPER_PARAMETER_RANGE)
        return self.row(name, recipe, ", ".join(f"d={d}: {n}" for d, n in counts.items()),
                        "reproduced" if ok else "not reproduced")


# ---------------------------------------------------------------- entropy at initialisation

@dataclass(frozen=True)
class InitialEntropy(Claim):
    """"Upon initialization of the network the EE is practically zero", over the distinct
    initial states of the population (the logged entropy at step 0)."""
    threshold: float = 0.1
    title = "entropy practically zero at initialisation"
    paper = "\"upon initialization of the network the EE is practically zero\""

    @property
    def criterion(self):
        return (f"class mean below {self.threshold} nats in every distinct initial state: "
                "reproduced; in most (the median below it): partly; else not reproduced")

    def decide(self, values):
        if max(values) < self.threshold:
            return "reproduced"
        return "partly" if np.median(values) < self.threshold else "not reproduced"

    def judge(self, store, recipe, name, profile):
        configs = by_dataset(population(store, recipe, name, profile))[name]
        if not configs:
            return self.not_yet(name, recipe, "no run of this recipe")
        values = {c: float(np.mean(store.metrics(c).entropy_log.entropy[0])) for c in configs}
        top = max(values, key=values.get)
        text = (f"{len(values)} initial states: median {np.median(list(values.values())):.3g}, "
                f"largest {values[top]:.3g} nats (run {run_id(top)}: d = {top.d}, seed {top.seed}),"
                f" smallest {min(values.values()):.3g}")
        try:
            calibrated = store.analysis("initialisation")["states"]
            key = "shift1" if recipe == "book" else "default"
            text += (f"; the untrained d = 18 network with its batch-norm statistics calibrated on "
                     f"data: {calibrated[key]['calibrated'][0]:.2f} nats (beta = "
                     f"{int(key == 'shift1')}, PyTorch's weights)")
        except NotStored:
            pass
        return self.row(name, recipe, text, self.decide(list(values.values())), configs)


# ------------------------------------------------------------------- the entropy's course

@dataclass(frozen=True)
class SteadyRise(Claim):
    """"After around 10 epochs, the EE starts to increase steadily", after a start where "its
    value can vary widely among different initialization seeds": each run's epoch-mean entropy
    from ``start`` on, and the spread across seeds in the first ``start`` epochs against later."""
    start: int = 10
    rho: float = 0.8
    fall: float = 0.25
    width: int = 5
    title = "steady rise of the entropy after ~10 epochs"
    paper = ("\"after around 10 epochs, the EE starts to increase steadily\"; before, \"its value "
             "can vary widely among different initialization seeds\"")

    @property
    def criterion(self):
        return (f"per run from epoch {self.start}: Spearman(epoch, entropy) >= {self.rho} and the "
                f"{self.width}-epoch moving average never falling by more than {self.fall:.0%} of "
                f"its range; across seeds, the spread (s.d. over mean) of the epoch-mean entropy "
                f"larger in epochs 1-{self.start} than later: a steady rise in every run and the "
                f"larger early spread in every seed group: reproduced; a steady rise in most runs: "
                f"partly; else not reproduced")

    def rise(self, metrics):
        """(Spearman rho against the epoch from ``start`` on, the largest fall of the moving
        average from ``start`` on as a share of its range)."""
        entropy = stats.epoch_mean_entropy(metrics)[self.start - 1:]
        return (stats.spearman(np.arange(len(entropy)), entropy),
                stats.largest_drop(stats.moving_average(entropy, self.width)))

    def steady(self, rho, drop):
        return rho >= self.rho and drop <= self.fall

    def spread_ratio(self, curves):
        """Across the seeds (rows of ``curves``): the mean over epochs 1..start of s.d./mean of
        the epoch-mean entropy, over the same after ``start``."""
        curves = np.asarray(curves)
        spread = curves.std(0, ddof=1) / np.abs(curves.mean(0)).clip(1e-12)
        return float(spread[:self.start].mean() / spread[self.start:].mean().clip(1e-12))

    def decide(self, steady, early_spread_larger):
        if all(steady) and early_spread_larger and all(early_spread_larger):
            return "reproduced"
        return "partly" if np.mean(steady) > 0.5 else "not reproduced"

    def judge(self, store, recipe, name, profile):
        configs = population(store, recipe, name, profile)
        configs = [c for c in configs if c.epochs >= 2 * self.start]
        if not configs:
            return self.not_yet(name, recipe, f"no run of {2 * self.start} epochs or more")
        rises = {c: self.rise(store.metrics(c)) for c in configs}
        steady = [self.steady(*r) for r in rises.values()]
        ratios = [self.spread_ratio([stats.epoch_mean_entropy(store.metrics(c)) for c in group])
                  for group in seed_groups(configs)]
        failing = [f"{run_id(c)} (d = {c.d}, {c.partition}, seed {c.seed}: rho {rho:+.2f}, "
                   f"fall {drop:.2f})" for c, (rho, drop) in rises.items()
                   if not self.steady(rho, drop)]
        median = np.median([r[0] for r in rises.values()])
        text = (f"a steady rise from epoch {self.start} in {sum(steady)} of {len(steady)} runs "
                f"(median rho {median:+.2f}); not steady: " + (", ".join(failing) or "none"))
        text += (f"; seed spread in epochs 1-{self.start} over later: " +
                 (", ".join(f"{r:.1f}" for r in ratios) + f" ({len(ratios)} seed groups)"
                  if ratios else "no seed group yet"))
        small = small_d(store, name, profile) if recipe == "book" else []
        if small:
            steady_small = [self.steady(*self.rise(store.metrics(c))) for c in small]
            text += (f"; apart, d < {D_CLAIM[0]}: a steady rise in {sum(steady_small)} of "
                     f"{len(small)} runs")
        return self.row(name, recipe, text, self.decide(steady, [r > 1 for r in ratios]), configs)


@dataclass(frozen=True)
class StabilisesOrGrows(Claim):
    """"In the MNIST case the value of the EE seems to stabilise during the final epochs,
    whereas it appears to keep growing in the case of F-MNIST": the slope of the last third of
    every d = 18 run of the recipe."""
    title = "MNIST entropy stabilises, Fashion-MNIST keeps growing"
    paper = ("\"in the MNIST case the value of the EE seems to stabilise ... keep growing in the "
             "case of F-MNIST\"")
    per_dataset = False
    share: float = 0.5

    @property
    def criterion(self):
        return (f"least-squares slope of the epoch-mean entropy over each d = 18 run's last third: "
                f"every Fashion slope > 0 and every MNIST slope smaller in size than "
                f"{self.share:g} x the smallest Fashion slope: reproduced; Fashion's mean slope "
                f"above MNIST's: partly")

    @staticmethod
    def slope(metrics):
        """Least-squares slope (nats per epoch) of the epoch-mean entropy over the last third."""
        e, s = np.array(metrics.epoch), stats.epoch_mean_entropy(metrics)
        keep = e > len(e) * 2 / 3
        return float(np.polyfit(e[keep], s[keep], 1)[0])

    def decide(self, mnist, fashion):
        if min(fashion) > 0 and max(abs(s) for s in mnist) < self.share * min(fashion):
            return "reproduced"
        return "partly" if np.mean(fashion) > np.mean(mnist) else "not reproduced"

    def judge(self, store, recipe, name, profile):
        runs = {n: [c for c in population(store, recipe, n, profile)
                    if c.d == 18 and c.epochs >= 30] for n in DATASETS}
        if not all(runs.values()):
            return self.not_yet(name, recipe, "a d = 18 run of each data set")
        slopes = {n: [self.slope(store.metrics(c)) for c in configs] for n, configs in runs.items()}

        def describe(values):
            return f"{np.mean(values):+.4f} (mean; {min(values):+.4f} to {max(values):+.4f})"
        return self.row(name, recipe, (
            f"slope of the last third (nats/epoch), d = 18, {len(slopes['mnist'])} and "
            f"{len(slopes['fashion-mnist'])} runs: MNIST {describe(slopes['mnist'])}, Fashion "
            f"{describe(slopes['fashion-mnist'])}"),
            self.decide(slopes["mnist"], slopes["fashion-mnist"]),
            [c for cs in runs.values() for c in cs])


@dataclass(frozen=True)
class PartitionsAlike(Claim):
    """"The development trend of the up/down EE is very similar to that of the left/right EE":
    at d = 18, the gap between the partitions' curves against the gap between seeds of one
    partition."""
    start: int = 10
    width: int = 5
    levels: float = 1.5
    title = "up/down and left/right trends alike"
    paper = "\"very similar\""

    @property
    def criterion(self):
        return (f"each curve's {self.width}-epoch moving average divided by its mean over the last "
                f"10 epochs, from epoch {self.start}: the median gap between an up/down and a "
                f"left/right run no larger than the largest gap between two seeds of one "
                f"partition, and every level ratio within a factor {self.levels:g}: reproduced; "
                "the shapes alone: partly; else not reproduced (with one seed a partition, no "
                f"seed gap: {NOT_YET})")

    def shape_and_level(self, a, b):
        """(largest gap between two runs' normalised moving averages from ``start``, level ratio
        b over a of their last-10-epoch means)."""
        a, b = (stats.epoch_mean_entropy(m) for m in (a, b))
        gap = np.abs(stats.moving_average(a[self.start - 1:], self.width) / a[-10:].mean()
                     - stats.moving_average(b[self.start - 1:], self.width) / b[-10:].mean())
        return float(gap.max()), float(b[-10:].mean() / a[-10:].mean())

    def decide(self, across, within, ratios):
        shapes = np.median(across) <= max(within)
        levels = all(1 / self.levels <= r <= self.levels for r in ratios)
        return "reproduced" if shapes and levels else ("partly" if shapes else "not reproduced")

    def judge(self, store, recipe, name, profile):
        runs = [c for c in population(store, recipe, name, profile)
                if c.d == 18 and c.epochs >= self.start + 10]
        parts = {p: [store.metrics(c) for c in runs if c.partition == p]
                 for p in ("updown", "leftright")}
        if not all(len(v) >= 2 for v in parts.values()):
            return self.not_yet(name, recipe, (
                f"two seeds of each partition at d = 18 (stored: {len(parts['updown'])} up/down, "
                f"{len(parts['leftright'])} left/right)"))
        across = [self.shape_and_level(a, b) for a in parts["updown"] for b in parts["leftright"]]
        within = [self.shape_and_level(a, b)[0] for p in parts.values()
                  for i, a in enumerate(p) for b in p[i + 1:]]
        gaps, ratios = [g for g, _ in across], [r for _, r in across]
        return self.row(name, recipe, (
            f"{len(parts['updown'])} up/down and {len(parts['leftright'])} left/right runs: gap "
            f"between partitions median {np.median(gaps):.2f} (range {min(gaps):.2f}-"
            f"{max(gaps):.2f}), between seeds of one partition {min(within):.2f}-"
            f"{max(within):.2f}; level left/right over up/down {min(ratios):.2f}-{max(ratios):.2f}"),
            self.decide(gaps, within, ratios), runs)


@dataclass(frozen=True)
class OrderLn2(Claim):
    """"The values of the entanglement entropy ... is of the order of log 2", over every run of
    the population: the class mean of its last epoch."""
    factor: float = 3
    wide: float = 10
    title = "entropies of order ln 2 = 0.69"
    paper = "\"of the order of log 2\""

    @property
    def criterion(self):
        return (f"every run's final class-mean entropy within a factor {self.factor:g} of ln 2: "
                f"reproduced; within {self.wide:g}: partly")

    def decide(self, low, high):
        ln2 = math.log(2)
        if ln2 / self.factor <= low and high <= self.factor * ln2:
            return "reproduced"
        return "partly" if ln2 / self.wide <= low and high <= self.wide * ln2 else "not reproduced"

    def judge(self, store, recipe, name, profile):
        configs = population(store, recipe, name, profile)
        if not configs:
            return self.not_yet(name, recipe, "no run of this recipe")
        final = [stats.epoch_mean_entropy(store.metrics(c))[-1] for c in configs]
        return self.row(name, recipe, f"final class means of {len(final)} runs: {min(final):.2f}-"
                        f"{max(final):.2f} nats (median {np.median(final):.2f})",
                        self.decide(min(final), max(final)), configs)


# -------------------------------------------------------------------- accuracy against d

@dataclass(frozen=True)
class DGaps:
    """The d-claim's numbers for one data set (``d_gaps``)."""
    ds: list
    missing: list
    stored: str
    verdict: str
    means: list = ()
    spreads: list = ()
    seeds: int = 0
    s: float = math.nan
    df: int = 0
    pairs: list = ()
    wide: list = ()
    bound: float = math.nan
    largest: tuple = ()
    beyond: list = ()
    welch: tuple = ()

    @property
    def measured(self):
        return bool(self.pairs)


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


def d_gaps(by_d, planned, stored="", margin=MARGIN):
    """The d-claim's ``DGaps`` from {d: [each seed's last-5-epoch test accuracy]}, over the d's
    with two seeds or more: their seed means, the seed spread pooled over them (s, df), every two
    d's difference with its 90% interval (``pairs``) and its Bonferroni interval (``wide``), the
    smallest X with every 90% interval inside [-X, X] (``bound``), the pairs whose wide interval
    lies beyond the margin, the verdict; ``missing``: the ``planned`` d's without two seeds yet;
    ``spreads``: each d's own seed s.d. (what the pooling assumes equal); ``welch``: the pair
    whose 90% interval without that assumption reaches farthest from zero, shown beside the
    verdict, not deciding it (nan where no d has a seed spread)."""
    ds = sorted(d for d, values in by_d.items() if len(values) >= 2)
    missing = sorted(set(planned) - set(ds))
    if len(ds) < 2:
        return DGaps(ds, missing, stored, NOT_YET)
    groups = {d: by_d[d] for d in ds}
    pairs, s, df = stats.pooled_differences(groups, 0.90)
    wide, _, _ = stats.pooled_differences(groups, 1 - 0.10 / len(pairs))
    verdict = gap_verdict([p[3] for p in pairs], [p[3] for p in wide], not missing, margin)
    return DGaps(ds, missing, stored, verdict,
                 means=[float(np.mean(by_d[d])) for d in ds],
                 spreads=[float(np.std(by_d[d], ddof=1)) for d in ds],
                 seeds=min(len(by_d[d]) for d in ds), s=s, df=df, pairs=pairs, wide=wide,
                 bound=float(np.max([np.abs(p[3]) for p in pairs])),
                 largest=max(pairs, key=lambda p: abs(p[2])),
                 beyond=[p for p in wide if p[3][0] > margin or p[3][1] < -margin],
                 welch=max(stats.welch_differences(groups, 0.90),
                           key=lambda p: np.nan_to_num(np.max(np.abs(p[3])), nan=-np.inf)))


def d_claim(store, profile="paper", margin=MARGIN):
    """{data set: ``d_gaps``} of the stored landscape runs with d in D_CLAIM (each run's mean
    test accuracy over its last 5 epochs), judged with ``margin``."""
    result = {}
    for name in DATASETS:
        planned = [c for c in landscape_configs(profile)
                   if c.dataset == name and D_CLAIM[0] <= c.d <= D_CLAIM[1]]
        by_d = {}
        for c in store.stored(planned):
            by_d.setdefault(c.d, []).append(stats.last_epochs_accuracy(store.metrics(c), LAST))
        result[name] = d_gaps(by_d, {c.d for c in planned}, store.count(planned), margin)
    return result


def d_gaps_text(r):
    """What the d-claim's row says it measured, from a ``DGaps``."""
    if not r.measured:
        return f"{r.stored} with 10 <= d <= 40; two d's with two seeds each are needed"
    a, b, difference, _ = r.largest
    text = (", ".join(f"d={d}: {m:.2%}" for d, m in zip(r.ds, r.means)) +
            f" (seed means of the last {LAST} epochs' test accuracy, {r.seeds}+ seeds per d, "
            f"seed s.d. {r.s:.2%} pooled, {r.df} df; the grid's d's in 10-40, d = 10 not among "
            f"them); every two d's differ by less than {r.bound:.2%} at 90% (largest: d={a} - "
            f"d={b} {difference:+.2%})")
    text += "".join(f"; beyond the margin: d={a} - d={b} [{low:+.2%}, {high:+.2%}] at "
                    f"{1 - 0.10 / len(r.pairs):.1%}" for a, b, _, (low, high) in r.beyond)
    a, b, _, (low, high), df = r.welch
    text += ("; without pooling (Welch's 90% intervals, each d its own spread), the farthest "
             f"from zero: d={a} - d={b} [{low:+.2%}, {high:+.2%}], {df:.1f} df"
             if not math.isnan(df) else
             "; without pooling (Welch's intervals): undefined, no d's seeds differ")
    if r.missing:
        text += f"; without two seeds yet: d = {', '.join(map(str, r.missing))}"
    return text + f"; {r.stored}"


def d_claim_details(name, r):
    """The d-claim of data set ``name`` (a ``DGaps``) in lines: the verdict with what it
    measured, each d's own seed s.d., and every two d's difference with its 90% interval."""
    lines = [f"{name:13s} {r.verdict}: {d_gaps_text(r)}"]
    if r.measured:
        lines.append("    each d's own seed s.d.: " +
                     ", ".join(f"d = {d}: {s:.2%}" for d, s in zip(r.ds, r.spreads)))
    lines += [f"    d = {a:2d} - d = {b:2d}: {difference:+.2%}, 90% interval "
              f"[{low:+.2%}, {high:+.2%}]" for a, b, difference, (low, high) in r.pairs]
    return "\n".join(lines)


@dataclass(frozen=True)
class NoDifferenceInD(Claim):
    """Journal footnote 10: "we do not notice a very significant difference in performance in
    the range d = 10-40"; this book's recipe only (the paper's is run at d = 18 alone)."""
    margin: float = MARGIN
    title = "no accuracy difference for d in 10-40"
    paper = ("\"we do not notice a very significant difference in performance\" (journal, "
             "footnote 10)")
    recipes = ("book",)

    @property
    def criterion(self):
        return (f"margin {self.margin:.0%} (chosen before looking); every two d's difference with "
                "a 90% interval (seed spread pooled over the d's): all inside the margin with "
                "every d of the grid in 10-40 measured: consistent; one wholly beyond it at the "
                "Bonferroni level 1 - 0.10/pairs: not supported; else inconclusive (this book's "
                "recipe only: the paper's recipe is run at d = 18 alone)")

    def judge(self, store, recipe, name, profile):
        r = d_claim(store, profile, self.margin)[name]
        runs = [c for c in store.stored(landscape_configs(profile)) if c.dataset == name
                and D_CLAIM[0] <= c.d <= D_CLAIM[1]]
        return self.row(name, recipe, d_gaps_text(r), r.verdict, runs)


# -------------------------------------------------------------- entropy against the cost

def correlation_summary(store, recipe, profile="paper"):
    """The entropy-cost correlation per data set for ``recipe``: within runs from the profile's
    first epoch (30 for the paper), raw (as §4.2 reads Fig. 3) and detrended (first differences,
    the learning-rate halvings left out), median over the distinct initial states with its
    distribution-free interval; across runs at matched epochs (Fig. 3(b)'s landscape), pooled
    over every d (train cost falls and entropy rises with d: a shared cause) and within d (each
    d's runs ranked among themselves; a cluster bootstrap over d's once MIN_ACROSS_DS d's have
    two runs), with each run's rho (``per_run``) and the within-d rho per epoch
    (``within_d_series``) that ``figures.correlation_tests`` draws, the runs' d's (``ds``) and how
    many runs have the longest length (``same_length``). Memoised on the runs' files."""
    configs = population(store, recipe, None, profile)
    paths = [store.run_dir(c) / "metrics.json" for c in configs]
    return store.memo(("correlation", recipe, profile), paths,
                      lambda: _correlation_summary(store, configs, profile))


def _correlation_summary(store, configs, profile):
    first = first_epoch_of(profile)
    summary = {"first_epoch": first}
    for name, distinct in by_dataset(configs).items():
        runs = [c for c in distinct if c.epochs > first + 2]
        if not runs:
            summary[name] = None
            continue
        raw = [stats.within_run(store.metrics(c), first) for c in runs]
        diff = [stats.within_run(store.metrics(c), first, detrended=True) for c in runs]
        entry = {"runs": len(runs), "ds": sorted({c.d for c in runs}),
                 "raw": {k: stats.median_summary([r[k] for r in raw]) for k in raw[0]},
                 "differences": {k: stats.median_summary([r[k] for r in diff]) for k in diff[0]},
                 "per_run": {"raw": [r["train"] for r in raw],
                             "differences": [r["train"] for r in diff]},
                 "raw_positive": [(run_id(c), r["train"]) for c, r in zip(runs, raw)
                                  if r["train"] > 0],
                 "pooled": None, "within_d": None, "within_d_series": None}
        same_length = [c for c in runs if c.epochs == max(c.epochs for c in runs)]
        entry["same_length"] = len(same_length)
        if len(same_length) >= MIN_ACROSS_RUNS:
            ordered = sorted(same_length, key=run_id)
            table = stats.run_table([store.metrics(c) for c in ordered])
            rho, _ = stats.across_runs(table, first, [0] * len(ordered))
            entry["pooled"] = {k: float(np.nanmean(v)) for k, v in rho.items()}
            grouped = [c for c in ordered if sum(o.d == c.d for o in ordered) >= 2]
            if len({c.d for c in grouped}) >= MIN_ACROSS_DS:
                table = stats.run_table([store.metrics(c) for c in grouped])
                entry["within_d"] = stats.mean_across_runs(table, first, [c.d for c in grouped])
                rho, epochs = stats.across_runs(table, first, [c.d for c in grouped])
                entry["within_d_series"] = (epochs, rho["train"], len(grouped))
        summary[name] = entry
    return summary


def correlation_table(store, profile="paper"):
    """(header, rows) of the correlation summary: each recipe, data set and reading, against
    the running train cost, the eval-mode train cost and the test cost."""
    rows = []
    for recipe in RECIPES:
        summary = correlation_summary(store, recipe, profile)
        for name in DATASETS:
            s = summary[name]
            if s is None:
                continue
            label = f"{'paper' if recipe == 'published' else 'book'}, {NAMES_SHORT[name]}"
            readings = (("raw", "within runs, raw"),
                        ("differences", "within runs, first differences (halvings left out)"))
            for key, reading in readings:
                rows.append([f"{label}, {reading}, median of {s['runs']} runs"] +
                            [ci(s[key][k]) for k in ("train", "train_eval", "test")])
            ds = s["ds"]
            pooled = ([f"{s['pooled'][k]:+.2f}" for k in ("train", "train_eval", "test")]
                      if s["pooled"] else
                      [f"not measured: {s['same_length']} runs, {MIN_ACROSS_RUNS} needed"] * 3)
            if len(ds) == 1:     # the paper's recipe: d = 18 alone, pooled and within d agree
                rows.append([f"{label}, across runs at matched epochs (d = {ds[0]} alone)"] + pooled)
            else:
                rows.append([f"{label}, across runs at matched epochs, pooled over d"] + pooled)
                rows.append([f"{label}, across runs at matched epochs, within d"] +
                            ([ci(s["within_d"][k]) for k in ("train", "train_eval", "test")]
                             if s["within_d"] else [NOT_YET] * 3))
    return ["reading", "running train cost", "train cost (eval mode)", "test cost"], rows


@dataclass(frozen=True)
class EntropyCostCorrelation(Claim):
    """"We observe a distinct negative correlation between EE and the value of the cost
    function" (Fig. 3); Fig. 3(b)'s runs are "islands in a larger landscape that also exhibits
    some degree of negative correlation"."""
    small: float = 0.1
    title = "entropy correlates negatively with the train cost"
    paper = ("\"a distinct negative correlation between EE and the value of the cost function\"; "
             "across runs, \"some degree of negative correlation\"")

    @property
    def criterion(self):
        return ("Spearman rho within runs against the running train cost, median over the "
                "distinct initial states with a distribution-free 95% interval (below 6 states: "
                "their range, which covers the median with probability 1 - 2^(1-n), named beside "
                "it): the raw "
                "median's interval below 0, and the first "
                f"differences' (the trend over the epochs removed) below 0 with a median of "
                f"-{self.small:g} or less: reproduced; the raw median below 0 otherwise: partly; "
                "else not reproduced (the across-run numbers are shown, pooled and within d)")

    def decide(self, raw, detrended):
        """raw, detrended: (median, (low, high), ...); no interval (one run): not yet measured."""
        if math.isnan(raw[1][1]):
            return NOT_YET
        if raw[0] >= 0:
            return "not reproduced"
        beyond = detrended[1][1] < 0 and detrended[0] <= -self.small
        return "reproduced" if beyond and raw[1][1] < 0 else "partly"

    def judge(self, store, recipe, name, profile):
        s = correlation_summary(store, recipe, profile)[name]
        if s is None:
            return self.not_yet(name, recipe, "no run of this recipe long enough")
        positive = "".join(f"; raw rho > 0 in run {rid} ({rho:+.2f})"
                           for rid, rho in s["raw_positive"])
        ds = s["ds"]
        if len(ds) == 1:
            across = (f"; across runs at matched epochs (d = {ds[0]} alone) "
                      + (f"{s['pooled']['train']:+.2f}" if s["pooled"] else
                         f"not measured ({s['same_length']} runs, {MIN_ACROSS_RUNS} needed)"))
        else:
            across = (f"; across runs at matched epochs, pooled over d {s['pooled']['train']:+.2f}"
                      if s["pooled"] else "")
            across += (f", within d {ci(s['within_d']['train'])}" if s["within_d"] else
                       f", within d: {NOT_YET} (fewer than {MIN_ACROSS_DS} d's with two runs)")
        return self.row(name, recipe, (
            f"{s['runs']} runs from epoch {first_epoch_of(profile)}: "
            f"raw {ci(s['raw']['train'])}, first differences {ci(s['differences']['train'])}"
            f"{positive}{across}"), self.decide(s["raw"]["train"], s["differences"]["train"]),
            population(store, recipe, name, profile))


@dataclass(frozen=True)
class WeakerWithTestCost(Claim):
    """"This negative correlation is less evident in the test cost": the eval-mode costs of the
    training and the test set (the same mode, once per epoch); outliers count as ranks only."""
    title = "weaker correlation with the test cost"
    paper = "\"this negative correlation is less evident in the test cost\""

    @property
    def criterion(self):
        return ("the median within-run rho smaller in size with the test cost than with the train "
                "cost, both in eval mode after each epoch: reproduced; else not reproduced; where "
                "the data set shows no negative correlation with the running train cost (its raw "
                "median's interval not below 0), nothing to weaken")

    def decide(self, train, test, correlated):
        """correlated: True, False, or None (no interval yet: not yet measured)."""
        if correlated is None:
            return NOT_YET
        if not correlated:
            return "nothing to weaken"
        return "reproduced" if abs(test) < abs(train) else "not reproduced"

    def judge(self, store, recipe, name, profile):
        s = correlation_summary(store, recipe, profile)[name]
        if s is None:
            return self.not_yet(name, recipe, "no run of this recipe long enough")
        high = s["raw"]["train"][1][1]
        return self.row(name, recipe, (
            f"raw within-run median rho, eval-mode costs: train {ci(s['raw']['train_eval'])}, "
            f"test {ci(s['raw']['test'])}; against the running train cost {ci(s['raw']['train'])}"),
            self.decide(s["raw"]["train_eval"][0], s["raw"]["test"][0],
                        None if math.isnan(high) else high < 0),
            population(store, recipe, name, profile))


CLAIMS = (BestAccuracy(), ParameterCount(), InitialEntropy(), SteadyRise(), StabilisesOrGrows(),
          PartitionsAlike(), OrderLn2(), NoDifferenceInD(), EntropyCostCorrelation(),
          WeakerWithTestCost())


def claims_table(store, profile="paper"):
    """Every claim's Rows: per data set (or "both"), the paper's recipe first, then this book's."""
    rows = []
    for claim in CLAIMS:
        for name in DATASETS if claim.per_dataset else ("both",):
            rows += [claim.judge(store, recipe, name, profile) for recipe in claim.recipes]
    return rows


# ----------------------------------------------------------------- the beta = 0 plateau

HALVING_WINDOW = 2.0     # an escape within this many epochs after the first halving "follows" it


def plateau_verdict(escapes):
    """What ends the beta = 0 plateau, from {name: (first halving, escape)} (epochs on the epoch
    axis, None: never), the two controls named "constant learning rate" and "first halving
    after 4 epochs". The constant rate never escaping while every run that halves escapes within
    HALVING_WINDOW epochs after its first halving (strictly after: the point logged at the
    halving averages the steps before it): the first halving; the constant rate escaping: not
    the halving (the plateau ends without one); else: nothing in the schedule decides it. None
    while the controls are not stored."""
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
        name = named.get(config) or (f"the paper's recipe, {NAMES_SHORT[config.dataset]} "
                                     f"{config.partition}, seed {config.seed}")
        escapes[name] = (halving, escape)
        rows.append([name, run_id(config), config.lr_schedule, config.epochs,
                     "never" if halving is None else f"{halving:.1f}",
                     "never" if escape is None else f"{escape:.1f}",
                     "" if None in (halving, escape) else f"{escape - halving:+.1f}",
                     f"{final:.4f}"])
    verdict = plateau_verdict(escapes)
    rule = (f"a run leaves the plateau at the first logged point (ten an epoch) where its running "
            f"train cost is below {ESCAPE_COST} (the plateau sits at 0.9, the best constant "
            f"output's cost); the halving ends it if the constant-rate control never leaves it "
            f"while every run that halves leaves it within {HALVING_WINDOW:g} epochs after its "
            "first halving")
    if verdict is None:
        return rows, f"{NOT_YET}: the two schedule controls are not both stored ({rule})"
    constant = escapes["constant learning rate"][1]
    early = escapes["first halving after 4 epochs"][1]
    text = {"the first halving": "the first halving of the learning rate ends the plateau",
            "not the halving": (f"the halving is not what ends the plateau: with a constant "
                                f"learning rate it ends at epoch {constant:.1f}"),
            "nothing in the schedule": "nothing in the schedule decides when the plateau ends"}
    return rows, (f"{text[verdict]} (rule: {rule}); halving first after 4 epochs, the plateau "
                  f"ends at epoch " + ("never" if early is None else f"{early:.1f}"))


# ------------------------------------------------------------------ the Ising model's chapter

CRITICAL_WINDOW = 0.3     # |T - T_c| that is "near T_c": the sampled temperatures' dense band
LAWS = ((-0.25, "falling with the size of the region"),
        (0.25, "nearly flat (logarithmic or slower: below an area law)"),
        (0.75, "an area law (exponent near 1/2)"), (math.inf, "a volume law (exponent near 1)"))


def growth_law(slope):
    """How an entropy grows with the size of the region, from the slope of ln S against
    ln(size in pixels): below -0.25 falling, up to 0.25 nearly flat, up to 0.75 an area law
    (1/2 in two dimensions), above a volume law (1); nan (nothing to fit) names no law."""
    if np.isnan(slope):
        return "no growth law (fewer than two positive entropies to fit)"
    return next(text for bound, text in LAWS if slope < bound)


def specific_heat_peak(L=16):
    """Where the exact specific heat of the L x L torus peaks (Kaufman): the finite lattice's
    transition, shifted above T_c."""
    fine = np.linspace(T_C, T_C + 0.3, 601)
    return float(fine[np.argmax(exact_specific_heat(fine, L))])


def transition_text(analysis):
    """The classifiers' transition temperatures against T_c and the finite lattice's."""
    summary, _ = transition_summary(analysis)
    if not summary:
        return f"{NOT_YET}: no Ising run is stored and analysed yet."
    crossings = [c for values, _, _ in summary.values() for c in values]
    spread = f" ± {np.std(crossings, ddof=1):.3f}" if len(crossings) > 1 else ""
    per_d = "; ".join(f"$d = {d}$: {len(v)} runs, {m:.3f}" + (f" ± {sd:.3f}" if not math.isnan(sd) else "")
                      for d, (v, m, sd) in summary.items())
    accuracy = [float(np.mean(e["accuracy"])) for e in analysis["runs"].values()]
    coldest = [e["accuracy"][0] for e in analysis["runs"].values()]
    baseline = analysis.get("magnetisation")
    return (f"Where the mean probability of *ordered* falls through 1/2, by $d$ (runs, mean ± seed "
            f"s.d.): {per_d}. Over the {len(crossings)} of {len(analysis['runs'])} analysed runs whose "
            f"probability crosses 1/2: {np.mean(crossings):.3f}{spread}, "
            f"against $T_c$ = {T_C:.3f} of the infinite lattice and {specific_heat_peak():.3f}, "
            f"where the exact specific heat of the $16\\times16$ torus peaks. Test accuracy "
            f"averaged over the temperatures: {min(accuracy):.1%} to {max(accuracy):.1%}"
            + (f"; a threshold on |m| chosen on the training configurations reaches "
               f"{baseline['accuracy']:.1%}" if baseline else "")
            + f". At the lowest temperature, T = {TEMPERATURES[0]:g}, where nearly every spin agrees, "
            f"{sum(a < 0.5 for a in coldest)} of {len(coldest)} classifiers call most configurations "
            f"disordered (accuracy {min(coldest):.0%} to {max(coldest):.0%}): a failure that the "
            "position of the transition does not show.")


def running_text(store):
    """Why the Ising family calibrates its eval-mode statistics: the runs with the running ones
    (``ising-running``) against the calibrated runs, by their eval-mode test cost and accuracy."""
    def describe(configs):
        runs = [store.metrics(c) for c in store.stored(configs)]
        if not runs:
            return None
        worst = max(max(m.test_cost) for m in runs)
        low, high = min(min(m.test_accuracy) for m in runs), max(max(m.test_accuracy) for m in runs)
        return f"{len(runs)} runs: test cost up to {worst:.3g}, test accuracy {low:.0%}-{high:.0%} across epochs"
    running, calibrated = describe(ising_running_configs()), describe(ising_configs())
    if running is None or calibrated is None:
        return f"{NOT_YET}: the Ising runs of both kinds are not stored yet."
    return (f"With the running statistics of this book's recipe (d = 4, {running}) the eval-mode "
            f"outputs blow up, epoch after epoch; calibrated ({calibrated}).")


def median_slope(curves):
    """The median growth exponent of entropy-against-size curves (``size_slope``), over those
    with two positive values to fit; nan when none has."""
    slopes = [s for s in map(size_slope, curves) if not np.isnan(s)]
    return float(np.median(slopes)) if slopes else float("nan")


def scales_text(analysis, cuts):
    """How the classifiers' entanglement grows with the size of the region, against the other
    networks and random states."""
    runs = list(analysis.get("runs", {}).values())
    if not runs:
        return f"{NOT_YET}: no Ising run is stored and analysed yet."
    slopes = [s for e in runs if not np.isnan(s := size_slope(np.mean(e["trained"]["entropy"], 1)))]
    untrained = [size_slope(np.mean(e["initial shift1"]["entropy"], 1)) for e in runs]
    if not slopes:
        return "No trained Ising classifier has two positive entropies to fit a growth law to."
    others = ", ".join(f"{NAMES_SHORT[c.dataset]} {size_slope(np.mean(e['levels']['entropy'], 1)):.2f}"
                       for c, e in fig2_entries(cuts) if c.partition == "updown")
    half = max(float(np.mean(e["trained"]["entropy"], 1)[-1]) for e in runs)
    return (f"Over the eight levels the trained classifiers' entropy grows as size^p with p = "
            f"{min(slopes):.2f} to {max(slopes):.2f}: {growth_law(np.median(slopes))}; untrained "
            f"(beta = 1) p = {np.nanmin(untrained):.2f} to {np.nanmax(untrained):.2f}; the networks of Figure 2 "
            f"(up/down): {others or NOT_YET}; a random state: p = 1 (Page). Across half the lattice "
            f"(128 pixels) the classifiers carry at most {half:.3g} nats"
            + (f"; a random state of the same Hilbert space, {analysis['page n=9'][-1]:.0f} nats at "
               "n = 9." if "page n=9" in analysis else "."))


def temperature_text(analysis):
    """Where the classifiers' view of the configurations peaks, and the Boltzmann state."""
    runs = list(analysis.get("runs", {}).values())
    text = f"{NOT_YET}: no Ising run is stored and analysed yet."
    if runs:
        peaks = [TEMPERATURES[int(np.argmax(np.mean(e["data_entropy"], 1)))] for e in runs]
        near = sum(abs(t - T_C) <= CRITICAL_WINDOW for t in peaks)
        text = ("The classifiers' top cut seen through the configurations is largest at T = "
                + ", ".join(f"{t:.2f}" for t in peaks)
                + f": within {CRITICAL_WINDOW} of T_c in {near} of {len(peaks)} runs.")
    boltzmann = analysis.get("boltzmann")
    if boltzmann:
        t, s = np.array(boltzmann["temperatures"]), np.array(boltzmann["von_neumann"])
        text += (f" The exact Boltzmann state on a cylinder {boltzmann['width']} wide: "
                 f"{s[0]:.2f} nats at T = {t[0]:.2f} (about ln 2: the superposition of the two "
                 f"ordered states), largest at T = {t[np.argmax(s)]:.2f} ({s.max():.2f} nats), "
                 f"{s[-1]:.2f} at T = {t[-1]:.2f}.")
    return text


PRODUCT = 0.01       # nats across half the lattice below which a label state is "nearly a product"


def ising_verdict(analysis, cuts):
    """What the paper's suggestion finds, by three rules: the classifiers *find the transition*
    when every analysed run's probability of "ordered" crosses 1/2 within CRITICAL_WINDOW of
    T_c; their label states are *nearly product states* when every one carries less than
    PRODUCT nats across half the lattice; they *do not mirror* the model's Boltzmann state when
    that state carries more than ten times their largest entropy at every temperature."""
    runs = list(analysis.get("runs", {}).values())
    summary, _ = transition_summary(analysis)
    if not runs or not summary:
        return (f"{NOT_YET}: the Ising runs are not stored and analysed yet (`qcnn reproduce "
                "--family ising`, then `qcnn analyze`).")
    crossings = [c for values, _, _ in summary.values() for c in values]
    found = len(crossings) == len(runs) and all(abs(c - T_C) <= CRITICAL_WINDOW for c in crossings)
    peak = specific_heat_peak()
    text = (f"The classifiers {'find' if found else 'do not all find'} the transition: "
            f"{len(crossings)} of {len(runs)} put it at T = {min(crossings):.3f}-{max(crossings):.3f}, "
            f"{np.mean(crossings) - peak:+.3f} from the peak of the exact specific heat of the "
            f"lattice they saw ({peak:.3f}) and {np.mean(crossings) - T_C:+.3f} from T_c of the "
            "infinite one. ")
    trained = [np.mean(e["trained"]["entropy"], 1) for e in runs]
    largest = max(float(t.max()) for t in trained)
    product = max(t[-1] for t in trained) < PRODUCT
    text += (f"Their label states are {'nearly product states' if product else 'entangled'}: at "
             f"most {max(t[0] for t in trained):.2g} nats across one pixel and "
             f"{max(t[-1] for t in trained):.2g} across half the lattice, "
             f"{growth_law(median_slope(trained))}")
    images = [np.mean(e["levels"]["entropy"], 1) for c, e in fig2_entries(cuts) if c.partition == "updown"]
    if images:
        text += (f", where the networks trained on images carry {min(i[-1] for i in images):.2f}-"
                 f"{max(i[-1] for i in images):.2f} nats across half and grow as "
                 f"{growth_law(median_slope(images))}")
    pages = {key.split("=")[1]: values[-1] for key, values in analysis.items() if key.startswith("page n=")}
    text += ("; a random state of the same Hilbert space carries "
             + ", ".join(f"{v:.0f}" for v in pages.values()) + " nats across half for n = "
             + ", ".join(pages) + " (a volume law).")
    boltzmann = analysis.get("boltzmann")
    if boltzmann:
        t, s = np.array(boltzmann["temperatures"]), np.array(boltzmann["von_neumann"])
        mirror = s.min() <= 10 * largest
        text += (f" The model's own Boltzmann state, on a cylinder {boltzmann['width']} wide, carries "
                 f"{s.min():.2f}-{s.max():.2f} nats across its middle at every temperature of the "
                 f"grid, most at T = {t[np.argmax(s)]:.2f}: the classifiers' label states "
                 + ("may mirror" if mirror else "do not mirror") + " the physical state's "
                 "entanglement; what changes with the temperature is how the configurations see the "
                 "label states (the figure above), not the states.")
    return text


def ising_findings(store):
    """What the Ising chapter says, from the stored ``ising.json`` (and ``cuts.json`` for the
    MNIST and Fashion-MNIST networks): {"glue": {name: text}}, every judging sentence built here
    by the rules of this section, "not yet measured" where the numbers are missing."""
    try:
        analysis = store.analysis("ising")
    except NotStored:
        analysis = {}
    cuts = store.analysis("cuts") if (store.analyses / "cuts.json").exists() else {"models": {}}
    return {"glue": {"transition": transition_text(analysis), "running": running_text(store),
                     "scales": scales_text(analysis, cuts), "temperature": temperature_text(analysis),
                     "verdict": ising_verdict(analysis, cuts)}}


# --------------------------------------------------------------------------- the tables

def markdown_table(header, rows):
    """A Markdown table from a header and rows of cells."""
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(str(c) for c in r) + " |" for r in rows])


def markdown(rows):
    """The claims table as Markdown: one line per claim, data set and recipe."""
    recipe = {"published": "paper's", "book": "book's", "": "-"}
    return markdown_table(["claim", "data set", "recipe", "measured", "verdict", "criterion"],
                          [[f"{r.claim}: {r.paper}", r.dataset, recipe[r.recipe], r.measured,
                            f"**{r.verdict}**", r.criterion] for r in rows])
