"""The claims' statistics on cases with known answers: the smallest p-value a permutation
rank test can reach (against enumerating every relabelling) and Kruskal-Wallis at its extremes."""
import itertools

import numpy as np
import pytest

from qcnn import stats


def enumerated_smallest_p(sizes):
    """Every distinct relabelling of untied values 0..n-1: the share with the largest H."""
    labels = np.repeat(np.arange(len(sizes)), sizes)
    values = np.arange(len(labels), dtype=float)
    hs = []
    for perm in set(itertools.permutations(labels)):
        perm = np.array(perm)
        hs.append(stats.kruskal_wallis([values[perm == g] for g in range(len(sizes))], permutations=0)[0])
    hs = np.array(hs)
    return (hs >= hs.max() - 1e-9).mean()


@pytest.mark.parametrize("sizes", [(2, 2), (3, 3), (2, 3), (2, 2, 2), (4, 4), (3, 3, 2)])
def test_smallest_p_equals_enumeration_for_equal_sizes_and_bounds_it_otherwise(sizes):
    exact = enumerated_smallest_p(sizes)
    if len(set(sizes)) == 1:
        assert stats.smallest_p(sizes) == pytest.approx(exact, rel=1e-12)
    else:
        assert stats.smallest_p(sizes) >= exact - 1e-12
    assert (stats.smallest_p(sizes) < 0.05) == (sizes in [(4, 4), (3, 3, 2)])


def test_kruskal_wallis_extremes():
    assert stats.kruskal_wallis([[0.9, 0.9], [0.9, 0.9, 0.9]]) == (0.0, 1.0)     # all tied
    h, p = stats.kruskal_wallis([[1, 2, 3], [4, 5, 6], [7, 8, 9]], permutations=20000)
    assert h == pytest.approx(7.2)                       # 12/(9*10) * (36+225+576)/3 - 30
    assert p == pytest.approx(stats.smallest_p((3, 3, 3)), abs=0.002)   # 6/1680 = 0.0036


def test_ranks_with_ties_and_spearman():
    assert stats.ranks([10, 20, 20, 5]).tolist() == [1.0, 2.5, 2.5, 0.0]
    assert stats.spearman([1, 2, 3, 4], [10, 20, 30, 45]) == pytest.approx(1.0)
    assert stats.spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    # ranks (0, 1, 2, 3) against (0.5, 0.5, 2.5, 2.5): Pearson of the ranks = 2/sqrt(5)
    assert stats.spearman([1, 2, 3, 4], [7, 7, 9, 9]) == pytest.approx(2 / 5**0.5, abs=1e-12)
    assert np.isnan(stats.spearman([1, 2, 3], [5, 5, 5]))          # undefined: no variation


def test_detrend():
    y = np.array([1.0, 4, 9, 16, 25, 36, 49])
    assert stats.detrend(y, "differences").tolist() == [3, 5, 7, 9, 11, 13]
    # residual from the centred 5-point mean of squares: k^2 - (k^2 + 2) = -2
    assert stats.detrend(y, "moving5") == pytest.approx([-2, -2, -2])
    assert len(stats.detrend(y[:4], "moving5")) == 0
    with pytest.raises(ValueError, match="how must be"):
        stats.detrend(y, "linear")


def test_per_epoch_averages_the_points_logged_in_each_epoch():
    epochs = np.array([0.0, 0.5, 1.0, 1.5, 2.0])
    values = np.array([9.0, 1, 3, 5, 7])
    assert stats.per_epoch(epochs, values, 2).tolist() == [2.0, 6.0]     # step 0 is in no epoch


def test_bootstrap_interval_keeps_strata_sizes():
    """Resampling within strata: a statistic of the stratum sizes never changes; of the values,
    it stays within their range."""
    items = [("a", 1.0), ("a", 2.0), ("b", 10.0), ("b", 20.0), ("b", 30.0)]
    strata = [k for k, _ in items]
    low, high = stats.bootstrap_interval(lambda s: sum(k == "a" for k, _ in s), items, strata=strata)
    assert low == high == 2
    low, high = stats.bootstrap_interval(lambda s: np.mean([v for _, v in s]), items, draws=500)
    assert 1.0 <= low < high <= 30.0


def test_across_runs_with_and_without_groups():
    """Five runs whose entropy ranks equal their cost ranks at every epoch: rho = +1 pooled. Two
    groups with different means and, within each, the opposite order: pooled the group means
    win, within groups the ranks reverse."""
    base = np.arange(5, dtype=float)[:, None] * np.ones((1, 4))
    table = {"entropy": base, "train": base.copy(), "test": base.copy()}
    rho, epochs = stats.across_runs(table, 2)
    assert epochs.tolist() == [2, 3, 4] and rho["train"] == pytest.approx([1, 1, 1])
    entropy = np.array([[0.0], [1], [2], [10], [11], [12]]) * np.ones((1, 3))
    cost = np.array([[2.0], [1], [0], [12], [11], [10]]) * np.ones((1, 3))
    table = {"entropy": entropy, "train": cost, "test": cost}
    assert stats.across_runs(table, 1)[0]["train"] == pytest.approx([19 / 35] * 3)   # 1 - 6*16/210
    assert stats.across_runs(table, 1, [0, 0, 0, 1, 1, 1])[0]["train"] == pytest.approx([-1] * 3)
