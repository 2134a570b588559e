"""The numbers behind the figures and the claims table, from runs' ``metrics.json``.

Series of one run: the class-averaged entropy and the running train cost at the logged
points (ten per epoch), and their averages per epoch. Statistics: Spearman's rank correlation,
bootstrap percentile intervals, detrending (first differences, or residuals from a centred
moving average), correlations within a run and across runs at matched epochs, and a
Kruskal-Wallis test with a permutation p-value (exact enough for three seeds per group, where
the chi-square approximation is not). Plain numpy; every random draw is seeded.
"""
import math

import numpy as np

BOOTSTRAP = 2000
PERMUTATIONS = 20000


# ------------------------------------------------------------------------ one run's series

def class_mean_entropy(metrics):
    """(epochs, entropy averaged over the classes) at every logged point (step 0 included)."""
    log = metrics["entropy_log"]
    return np.array(log["epoch"]), np.array(log["entropy"]).mean(axis=1)


def running_train_cost(metrics):
    """(epochs, running train cost) at the logged points after step 0: the mean loss (eq. 48)
    of the batches since the previous point, in train mode, as the optimiser saw it."""
    log = metrics["entropy_log"]
    keep = [i for i, c in enumerate(log["running_train_cost"]) if c is not None]
    return np.array(log["epoch"])[keep], np.array(log["running_train_cost"])[keep]


def per_epoch(epochs, values, n_epochs):
    """Average of the points logged during each epoch e (e - 1 < epoch <= e), e = 1..n."""
    return np.array([values[(epochs > e - 1) & (epochs <= e)].mean() for e in range(1, n_epochs + 1)])


def epoch_mean_entropy(metrics):
    """The class-averaged entropy averaged over each epoch's logged points, per epoch."""
    return per_epoch(*class_mean_entropy(metrics), len(metrics["epoch"]))


def epoch_running_cost(metrics):
    """The running train cost averaged over each epoch, per epoch."""
    return per_epoch(*running_train_cost(metrics), len(metrics["epoch"]))


def window_average(x, y, width):
    """Moving average of y over windows of ``width`` (in x units), placed at window centres."""
    per_unit = (len(x) - 1) / (x[-1] - x[0]) if len(x) > 1 else 1
    k = max(1, int(round(width * per_unit)))
    if len(y) < k:
        return x, y
    kernel = np.ones(k) / k
    return np.convolve(x, kernel, "valid"), np.convolve(y, kernel, "valid")


def detrend(values, how):
    """``"differences"``: y[i+1] - y[i]; ``"moving5"``: residuals from the centred 5-point
    moving average (the ends, without a full window, dropped); ``None``: unchanged."""
    values = np.asarray(values, dtype=float)
    if how is None:
        return values
    if how == "differences":
        return np.diff(values)
    if how == "moving5":
        if len(values) < 5:
            return values[:0]
        return values[2:-2] - np.convolve(values, np.ones(5) / 5, "valid")
    raise ValueError(f"how must be None, 'differences' or 'moving5', got {how!r}")


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


def bootstrap_interval(statistic, items, seed=0, draws=BOOTSTRAP, strata=None):
    """95% percentile interval of statistic(resampled items), the items (any objects)
    resampled with replacement; with ``strata`` (one label per item), within each label, so
    that every resample keeps each stratum's size. Non-finite statistics are left out."""
    rng = np.random.default_rng(seed)
    labels = np.zeros(len(items), dtype=int) if strata is None else np.asarray(strata)
    pools = [np.flatnonzero(labels == label) for label in dict.fromkeys(labels.tolist())]
    values = []
    for _ in range(draws):
        picks = np.concatenate([rng.choice(pool, len(pool)) for pool in pools])
        value = statistic([items[i] for i in picks])
        if np.isfinite(value):
            values.append(value)
    return tuple(np.percentile(values, [2.5, 97.5])) if values else (float("nan"),) * 2


def smallest_p(sizes):
    """The smallest permutation p-value a rank test over groups of these sizes can reach (no
    ties), or an upper bound on it: the most extreme relabellings put the groups in blocks of
    consecutive ranks; there are at most k! of them (exactly k! for k groups of equal size)
    among the n! / prod(n_i!) relabellings. Below 0.05 from 2 groups x 4, 3 x 3 or 4 x 2 on;
    not for 2 x 3 (0.1) or 3 x 2 (0.067)."""
    sizes = list(sizes)
    arrangements = math.factorial(sum(sizes)) // math.prod(math.factorial(k) for k in sizes)
    return min(1.0, math.factorial(len(sizes)) / arrangements)


def kruskal_wallis(groups, seed=0, permutations=PERMUTATIONS):
    """(H, p): the Kruskal-Wallis statistic of samples ``groups`` (ties averaged) and its
    permutation p-value, the share of random relabellings with H at least as large. All
    values equal: H = 0, p = 1."""
    sizes = np.array([len(g) for g in groups])
    values = np.concatenate([np.asarray(g, dtype=float) for g in groups])
    r, n = ranks(values) + 1, len(values)
    ties = np.unique(values, return_counts=True)[1]
    correction = 1 - (ties**3 - ties).sum() / (n**3 - n)
    if correction == 0:
        return 0.0, 1.0

    def h(labels):
        sums = np.bincount(labels, weights=r, minlength=len(groups))
        return (12 / (n * (n + 1)) * (sums**2 / sizes).sum() - 3 * (n + 1)) / correction
    labels = np.repeat(np.arange(len(groups)), sizes)
    observed = h(labels)
    rng = np.random.default_rng(seed)
    count = sum(h(rng.permutation(labels)) >= observed - 1e-12 for _ in range(permutations))
    return float(observed), (count + 1) / (permutations + 1)


# ---------------------------------------------------------------- entropy against cost

def within_run(metrics, first_epoch, how=None):
    """Spearman rho, within one run, of the epoch-mean entropy against the epoch's running
    train cost and against its test cost, from ``first_epoch`` on, after ``detrend(how)``."""
    keep = np.array(metrics["epoch"]) >= first_epoch
    entropy = detrend(epoch_mean_entropy(metrics)[keep], how)
    return {"train": spearman(detrend(epoch_running_cost(metrics)[keep], how), entropy),
            "test": spearman(detrend(np.array(metrics["test_cost"])[keep], how), entropy)}


def run_table(runs):
    """Per-epoch series of several runs as arrays (runs x epochs, the shortest run's length):
    epoch-mean entropy, log running train cost, log test cost."""
    n = min(len(m["epoch"]) for m in runs)
    return {"entropy": np.array([epoch_mean_entropy(m)[:n] for m in runs]),
            "train": np.log(np.array([epoch_running_cost(m)[:n] for m in runs])),
            "test": np.log(np.array([m["test_cost"][:n] for m in runs]))}


def across_runs(table, first_epoch, groups=None):
    """Across runs at matched epochs: for each epoch e >= ``first_epoch``, Spearman rho over
    the runs of ``table`` (``run_table``) of the epoch-mean entropy against the cost (running
    train, test). ``groups``: one label per run (e.g. its d); each group's mean is removed at
    every epoch first, so that only differences among runs of the same kind count. Returns
    ({"train": rho per epoch, "test": ...}, epochs)."""
    table = {k: v.copy() for k, v in table.items()}
    if groups is not None:
        groups = np.asarray(groups)
        for values in table.values():
            for g in np.unique(groups):
                values[groups == g] -= values[groups == g].mean(axis=0)
    epochs = np.arange(first_epoch, table["entropy"].shape[1] + 1)
    return {kind: np.array([spearman(table[kind][:, e - 1], table["entropy"][:, e - 1])
                            for e in epochs]) for kind in ("train", "test")}, epochs


def mean_across_runs(table, first_epoch, groups=None, seed=0, draws=400):
    """{"train" | "test": (mean over epochs of ``across_runs``' rho, 95% bootstrap interval)}.
    The bootstrap resamples whole runs (a run's epochs stay together); with ``groups``, within
    each group."""
    rho, _ = across_runs(table, first_epoch, groups)
    n = table["entropy"].shape[0]
    labels = np.zeros(n, dtype=int) if groups is None else np.unique(np.asarray(groups), return_inverse=True)[1]
    rng = np.random.default_rng(seed)
    samples = {"train": [], "test": []}
    for _ in range(draws):
        pick = np.concatenate([rng.choice(np.flatnonzero(labels == g), (labels == g).sum())
                               for g in np.unique(labels)])
        if len(np.unique(pick)) < 4:
            continue
        drawn, _ = across_runs({k: v[pick] for k, v in table.items()}, first_epoch,
                               None if groups is None else labels[pick])
        for kind in samples:
            if np.isfinite(drawn[kind]).any():
                samples[kind].append(np.nanmean(drawn[kind]))
    return {kind: (float(np.nanmean(rho[kind])),
                   tuple(np.percentile(samples[kind], [2.5, 97.5])) if samples[kind] else (np.nan, np.nan))
            for kind in samples}
