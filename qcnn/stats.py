"""The numbers behind the figures and the claims table, from runs' metrics (``records.Metrics``).

Series of one run: the class-averaged entropy and the running train cost at the logged
points (ten per epoch), their averages per epoch, the last epochs' mean accuracy. Statistics:
Spearman's rank correlation (outliers count as ranks only), the distribution-free interval of
a median (order statistics: deterministic, and the same for any order of the runs), t
intervals of differences between groups with one pooled spread (the d-claim) and with each
group's own (Welch's), first differences that leave out the learning-rate halvings (a shock
common to every series of a run), correlations within a run and across runs at matched epochs
(with a cluster bootstrap), and the shape of a curve (its largest drop, a moving average).
Plain numpy (scipy for t quantiles); every random draw is seeded.
"""
import math

import numpy as np

# ------------------------------------------------------------------------ one run's series

def class_mean_entropy(metrics):
    """(epochs, entropy averaged over the classes) at every logged point (step 0 included)."""
    log = metrics.entropy_log
    return np.array(log.epoch), np.array(log.entropy).mean(axis=1)


def running_train_cost(metrics):
    """(epochs, running train cost) at the logged points after step 0: the mean loss (eq. 48)
    of the batches since the previous point, in train mode, as the optimiser saw it."""
    log = metrics.entropy_log
    keep = [i for i, c in enumerate(log.running_train_cost) if c is not None]
    return np.array(log.epoch)[keep], np.array(log.running_train_cost, dtype=object)[keep].astype(float)


def per_epoch(epochs, values, n_epochs):
    """Average of the points logged during each epoch e (e - 1 < epoch <= e), e = 1..n."""
    return np.array([values[(epochs > e - 1) & (epochs <= e)].mean() for e in range(1, n_epochs + 1)])


def epoch_mean_entropy(metrics):
    """The class-averaged entropy averaged over each epoch's logged points, per epoch."""
    return per_epoch(*class_mean_entropy(metrics), len(metrics.epoch))


def epoch_running_cost(metrics):
    """The running train cost averaged over each epoch, per epoch."""
    return per_epoch(*running_train_cost(metrics), len(metrics.epoch))


def last_epochs_accuracy(metrics, epochs):
    """Mean test accuracy of the last ``epochs`` epochs: a run's accuracy without choosing an
    epoch on the test set."""
    return float(np.mean(metrics.test_accuracy[-epochs:]))


def steady_epochs(metrics, first_epoch):
    """Epochs e >= first_epoch + 1 whose learning rate equals epoch e - 1's: the first
    differences y[e] - y[e-1] that no learning-rate halving spans."""
    epochs, lr = np.array(metrics.epoch), np.array(metrics.lr)
    return epochs[1:][(epochs[1:] > first_epoch) & (lr[1:] == lr[:-1])]


def differences(values, epochs, keep):
    """y[e] - y[e-1] for the epochs e in ``keep`` (values indexed by ``epochs``, 1-based)."""
    values, position = np.asarray(values, dtype=float), {e: i for i, e in enumerate(epochs)}
    return np.array([values[position[e]] - values[position[e - 1]] for e in keep])


def largest_drop(values):
    """The largest fall from a running maximum, max over i < j of (y_i - y_j), as a share of the
    curve's range: 0 for a curve that never falls, 1 for one that ends at its minimum after its
    maximum."""
    values = np.asarray(values, dtype=float)
    span = values.max() - values.min()
    return float((np.maximum.accumulate(values) - values).max() / span) if span > 0 else 0.0


def running_median(values, width=5):
    """The median of each value with its neighbours, ``width`` values centred on it (fewer at
    the ends): a single outlier does not move it."""
    values, half = np.asarray(values, dtype=float), width // 2
    return np.array([np.median(values[max(0, i - half):i + half + 1]) for i in range(len(values))])


def moving_average(values, width=5):
    """Means over windows of ``width`` consecutive values (the ends, without a full window,
    dropped)."""
    values = np.asarray(values, dtype=float)
    return np.convolve(values, np.ones(width) / width, "valid") if len(values) >= width else values


# ----------------------------------------------------------------------------- statistics

def ranks(x):
    """Ranks 0..n-1 of x, ties given their average rank."""
    x = np.asarray(x, dtype=float)
    order = np.argsort(x, kind="mergesort")
    r = np.empty(len(x))
    r[order] = np.arange(len(x))
    _, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
    return (np.bincount(inverse, weights=r) / counts)[inverse]


def spearman(x, y):
    """Spearman's rank correlation of two samples (nan when it is undefined)."""
    rx, ry = ranks(x), ranks(y)
    if len(rx) < 3 or rx.std() == 0 or ry.std() == 0:
        return float("nan")
    return float(np.corrcoef(rx, ry)[0, 1])


def pooled_differences(groups, level=0.90):
    """(pairs, s, df): for every two keys a, b of ``groups`` ({key: values}; a before b in its order),
    (a, b, mean_a - mean_b, (low, high)), the t interval of the difference at ``level`` with one
    standard deviation s pooled over all groups (the within-group spread, df = N - k degrees of
    freedom): difference -/+ t(df) s sqrt(1/n_a + 1/n_b). At level 0.90 each interval is that of
    the two one-sided tests of equivalence at 5%. Where df = 0 or s = 0 the intervals are (nan,
    nan): the groups say nothing about their own spread."""
    from scipy.stats import t as student_t        # here, not at the top: it takes 0.7 s to import
    groups = {key: np.asarray(values, dtype=float) for key, values in groups.items()}
    df = sum(len(v) - 1 for v in groups.values())
    ss = sum(float(((v - v.mean()) ** 2).sum()) for v in groups.values())
    s = math.sqrt(ss / df) if df else 0.0
    quantile = float(student_t.ppf(0.5 + level / 2, df)) if df else float("nan")
    keys, pairs = list(groups), []
    for i, a in enumerate(keys):
        for b in keys[i + 1:]:
            difference = float(groups[a].mean() - groups[b].mean())
            half = quantile * s * math.sqrt(1 / len(groups[a]) + 1 / len(groups[b])) if s else float("nan")
            pairs.append((a, b, difference, (difference - half, difference + half)))
    return pairs, s, df


def welch_differences(groups, level=0.90):
    """What ``pooled_differences`` gives without assuming one spread: for every two keys a, b,
    (a, b, mean_a - mean_b, (low, high), df), Welch's t interval at ``level`` from the two groups'
    own variances, se^2 = s_a^2/n_a + s_b^2/n_b, with the Welch-Satterthwaite degrees of freedom.
    (nan, nan) where a group has one value or both have no spread."""
    from scipy.stats import t as student_t        # here, not at the top: it takes 0.7 s to import
    groups = {key: np.asarray(values, dtype=float) for key, values in groups.items()}
    keys, pairs = list(groups), []
    for i, a in enumerate(keys):
        for b in keys[i + 1:]:
            x, y = groups[a], groups[b]
            difference = float(x.mean() - y.mean())
            terms = [v.var(ddof=1) / len(v) if len(v) > 1 else float("nan") for v in (x, y)]
            se2 = sum(terms)
            if not se2 > 0:
                pairs.append((a, b, difference, (float("nan"),) * 2, float("nan")))
                continue
            df = se2 ** 2 / (terms[0] ** 2 / (len(x) - 1) + terms[1] ** 2 / (len(y) - 1))
            half = float(student_t.ppf(0.5 + level / 2, df)) * math.sqrt(se2)
            pairs.append((a, b, difference, (difference - half, difference + half), float(df)))
    return pairs


def median_interval(values, level=0.95):
    """(median, (low, high)): the distribution-free interval of the median, the order
    statistics x_(k) and x_(n+1-k) with the largest k for which P(Binomial(n, 1/2) < k) is at most
    (1 - level) / 2. Deterministic, the same for any order of the values; the interval is (nan,
    nan) where no such k exists (below 6 values at 95%). Non-finite values are left out."""
    values = np.sort([v for v in values if np.isfinite(v)])
    n = len(values)
    if n == 0:
        return float("nan"), (float("nan"),) * 2
    k, tail = 0, 0.0
    while k < n and tail + math.comb(n, k) / 2**n <= (1 - level) / 2:
        tail += math.comb(n, k) / 2**n
        k += 1
    interval = (float(values[k - 1]), float(values[n - k])) if k else (float("nan"),) * 2
    return float(np.median(values)), interval


def median_summary(values, level=0.95):
    """(median, (low, high), coverage): ``median_interval`` at ``level``, or, where too few values
    allow one (below 6 at 95%), their range, which covers the median with probability
    1 - 2^(1-n); (nan, (nan, nan), 0) for fewer than 2 values."""
    median, interval = median_interval(values, level)
    n = sum(1 for v in values if np.isfinite(v))
    if not math.isnan(interval[0]):
        return median, interval, level
    if n < 2:
        return median, interval, 0.0
    finite = [v for v in values if np.isfinite(v)]
    return median, (float(min(finite)), float(max(finite))), 1 - 2.0 ** (1 - n)


# ---------------------------------------------------------------- entropy against cost

def within_run(metrics, first_epoch, detrended=False):
    """Spearman rho, within one run from ``first_epoch`` on, of the epoch-mean entropy against
    the epoch's running train cost ("train", train mode as the optimiser saw it), its eval-mode
    cost on the training set ("train_eval") and on the test set ("test"). ``detrended``: of the
    first differences instead, those spanning a learning-rate halving left out."""
    epochs = np.array(metrics.epoch)
    series = {"train": epoch_running_cost(metrics), "train_eval": np.array(metrics.train_cost),
              "test": np.array(metrics.test_cost)}
    entropy = epoch_mean_entropy(metrics)
    if detrended:
        keep = steady_epochs(metrics, first_epoch)
        return {k: spearman(differences(v, epochs, keep), differences(entropy, epochs, keep))
                for k, v in series.items()}
    mask = epochs >= first_epoch
    return {k: spearman(v[mask], entropy[mask]) for k, v in series.items()}


def run_table(runs):
    """Per-epoch series of several runs as arrays (runs x epochs, the shortest run's length):
    epoch-mean entropy and the log of each cost ``within_run`` reads: running train cost
    ("train"), eval-mode train cost ("train_eval"), test cost ("test")."""
    n = min(len(m.epoch) for m in runs)
    return {"entropy": np.array([epoch_mean_entropy(m)[:n] for m in runs]),
            "train": np.log(np.array([epoch_running_cost(m)[:n] for m in runs])),
            "train_eval": np.log(np.array([m.train_cost[:n] for m in runs])),
            "test": np.log(np.array([m.test_cost[:n] for m in runs]))}


def across_runs(table, first_epoch, groups):
    """Across runs at matched epochs: for each epoch e >= ``first_epoch``, Spearman rho over
    the runs of ``table`` (``run_table``) of the epoch-mean entropy against each cost in it.
    ``groups``: one label per run (e.g. its d). At every epoch each series is ranked within its
    group and the group's mean rank removed, so that only the order among runs of the same kind
    counts, and an outlier (an eval-mode spike) counts as one rank, not as its size, for its
    group-mates too; one label for all runs: the plain rho over the runs. Returns
    ({cost: rho per epoch}, epochs)."""
    from scipy.stats import rankdata              # here, not at the top: it takes 0.7 s to import
    groups = np.asarray(groups)
    table = {k: v.astype(float) for k, v in table.items()}
    for values in table.values():
        for g in np.unique(groups):
            block = rankdata(values[groups == g], axis=0)
            values[groups == g] = block - block.mean(axis=0)
    epochs = np.arange(first_epoch, table["entropy"].shape[1] + 1)
    return {kind: np.array([spearman(values[:, e - 1], table["entropy"][:, e - 1]) for e in epochs])
            for kind, values in table.items() if kind != "entropy"}, epochs


def mean_across_runs(table, first_epoch, groups, seed=0, draws=400):
    """{cost: (mean over epochs of ``across_runs``' rho within ``groups``, 95%
    bootstrap interval)}. The bootstrap resamples whole groups (each drawn copy its own group,
    ranked within as in the estimate), so that a group's runs and a run's epochs stay
    together: a cluster bootstrap, which needs several groups (experiments.MIN_ACROSS_DS)."""
    rho, _ = across_runs(table, first_epoch, groups)
    rng = np.random.default_rng(seed)
    groups = np.asarray(groups)
    units = [np.flatnonzero(groups == g).tolist() for g in np.unique(groups)]
    samples = {kind: [] for kind in rho}
    for _ in range(draws):
        drawn = [units[i] for i in rng.integers(0, len(units), len(units))]
        pick = np.array([i for unit in drawn for i in unit])
        labels = np.repeat(np.arange(len(drawn)), [len(unit) for unit in drawn])
        if len(np.unique(pick)) < 4:
            continue
        values, _ = across_runs({k: v[pick] for k, v in table.items()}, first_epoch, labels)
        for kind in samples:
            if np.isfinite(values[kind]).any():
                samples[kind].append(np.nanmean(values[kind]))
    return {kind: (float(np.nanmean(rho[kind])),
                   tuple(np.percentile(samples[kind], [2.5, 97.5])) if samples[kind] else (np.nan, np.nan))
            for kind in samples}
