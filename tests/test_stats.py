"""The claims' statistics on cases with known answers."""
import math

import numpy as np
import pytest

from qcnn import stats
from conftest import make_metrics as metrics


def test_ranks_with_ties_and_spearman():
    assert stats.ranks([10, 20, 20, 5]).tolist() == [1.0, 2.5, 2.5, 0.0]
    assert stats.spearman([1, 2, 3, 4], [10, 20, 30, 45]) == pytest.approx(1.0)
    assert stats.spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    # ranks (0, 1, 2, 3) against (0.5, 0.5, 2.5, 2.5): Pearson of the ranks = 2/sqrt(5)
    assert stats.spearman([1, 2, 3, 4], [7, 7, 9, 9]) == pytest.approx(2 / 5**0.5, abs=1e-12)
    assert np.isnan(stats.spearman([1, 2, 3], [5, 5, 5]))          # undefined: no variation


def test_differences_leave_out_the_halvings():
    run = metrics(6, lr=[1, 1, 0.5, 0.5, 0.5, 0.25])
    keep = stats.steady_epochs(run, first_epoch=1)
    assert keep.tolist() == [2, 4, 5]                    # 3 and 6 follow a halving
    y = [1.0, 4, 9, 16, 25, 36]
    assert stats.differences(y, run.epoch, keep).tolist() == [3, 7, 9]
    assert stats.steady_epochs(run, first_epoch=4).tolist() == [5]


def test_median_interval_is_the_order_statistics():
    """n = 6..8: P(Bin(n, 1/2) = 0) <= 0.025 < P(<= 1), so the interval is [min, max]; n = 9:
    P(<= 1) = 10/512 <= 0.025, so the second smallest and largest; below 6: undefined."""
    assert stats.median_interval([5, 1, 4, 2, 3, 6]) == (3.5, (1.0, 6.0))
    assert stats.median_interval(range(9)) == (4.0, (1.0, 7.0))
    assert stats.median_interval([9, 1, 5, 3])[0] == 4.0
    assert all(math.isnan(v) for v in stats.median_interval([1, 2, 3, 4, 5])[1])
    shuffled = stats.median_interval([3, 8, 1, 9, 4, 7, 2, 6])
    assert shuffled == stats.median_interval(sorted([3, 8, 1, 9, 4, 7, 2, 6]))   # order-free


def test_shape_of_a_curve():
    assert stats.largest_drop([0, 1, 2, 3]) == 0
    assert stats.largest_drop([0, 4, 1, 2]) == pytest.approx(0.75)    # from 4 down to 1, range 4
    assert stats.moving_average([1, 2, 3, 4, 5, 6], 5).tolist() == [3, 4]
    assert stats.last_epochs_accuracy(metrics(7, test_accuracy=[0.1, 0.2, 0.9, 0.9, 0.8, 0.8, 1.0]), 5) == \
        pytest.approx(0.88)


def test_per_epoch_averages_the_points_logged_in_each_epoch():
    epochs = np.array([0.0, 0.5, 1.0, 1.5, 2.0])
    values = np.array([9.0, 1, 3, 5, 7])
    assert stats.per_epoch(epochs, values, 2).tolist() == [2.0, 6.0]     # step 0 is in no epoch


def test_across_runs_pooled_and_within_groups():
    """Five runs whose entropy ranks equal their cost ranks at every epoch: rho = +1 pooled (one
    group). Two groups with different means and, within each, the opposite order: pooled the
    group means win, within groups the ranks reverse."""
    base = np.arange(5, dtype=float)[:, None] * np.ones((1, 4))
    table = {"entropy": base, "train": base.copy(), "test": base.copy()}
    rho, epochs = stats.across_runs(table, 2, [0] * 5)
    assert epochs.tolist() == [2, 3, 4] and rho["train"] == pytest.approx([1, 1, 1])
    entropy = np.array([[0.0], [1], [2], [10], [11], [12]]) * np.ones((1, 3))
    cost = np.array([[2.0], [1], [0], [12], [11], [10]]) * np.ones((1, 3))
    table = {"entropy": entropy, "train": cost, "test": cost}
    assert stats.across_runs(table, 1, [0] * 6)[0]["train"] == pytest.approx([19 / 35] * 3)   # 1 - 6*16/210
    assert stats.across_runs(table, 1, [0, 0, 0, 1, 1, 1])[0]["train"] == pytest.approx([-1] * 3)


def test_mean_across_runs_resamples_whole_groups():
    """Three d's of three runs: within each, the entropy's order is the cost's reversed, and the
    d's means agree in order (pooled they would correlate positively). Within d, rho = -1 at every
    epoch, and so in every resample of whole d's (a d drawn twice counts as two d's): the
    interval is exactly [-1, -1], also where one run's cost spikes (it keeps its rank; its size
    would have pushed its d's other runs below every other run). With the order kept within d,
    exactly +1."""
    within = np.array([0.0, 1, 2])
    entropy = np.concatenate([10 * g + within for g in range(3)])[:, None] * np.ones((1, 5))
    cost = np.concatenate([10 * g + within[::-1] for g in range(3)])[:, None] * np.ones((1, 5))
    groups = [12, 12, 12, 18, 18, 18, 24, 24, 24]
    spiked = cost.copy()
    spiked[0, 2] = 1e4        # an eval-mode spike of the run with its d's highest cost: one rank
    table = {"entropy": entropy, "train": cost, "train_eval": spiked, "test": entropy.copy()}
    result = stats.mean_across_runs(table, 2, groups)
    assert result["train"][0] == -1 and result["train"][1] == (-1, -1)
    assert result["train_eval"][0] == -1 and result["train_eval"][1] == (-1, -1)
    assert result["test"][0] == 1 and result["test"][1] == (1, 1)


def test_run_table_reads_each_cost_as_its_log_over_the_shortest_run():
    """Two runs of 2 and 3 epochs, two logged points per epoch after step 0: the table is 2
    epochs wide; entropy and running train cost are each epoch's mean of its points, the
    eval-mode train cost ("train_eval") and the test cost are read per epoch; costs as logs."""
    def run(epochs, shift):
        points = [0.0] + [e / 2 for e in range(1, 2 * epochs + 1)]
        return metrics(epochs, train_cost=[shift + e for e in range(1, epochs + 1)],
                       test_cost=[2 * shift + e for e in range(1, epochs + 1)],
                       entropy_log={"epoch": points,
                                    "entropy": [[p + shift, p + 3 * shift] for p in points],
                                    "running_train_cost": [None] + [shift + p for p in points[1:]]})
    table = stats.run_table([run(2, 1.0), run(3, 2.0)])
    assert sorted(table) == ["entropy", "test", "train", "train_eval"]
    assert all(v.shape == (2, 2) for v in table.values())
    assert table["entropy"].tolist() == [[2.75, 3.75], [4.75, 5.75]]    # 2 shift + (0.5 + 1) / 2, ...
    assert np.exp(table["train"]) == pytest.approx(np.array([[1.75, 2.75], [2.75, 3.75]]))
    assert np.exp(table["train_eval"]) == pytest.approx(np.array([[2, 3], [3, 4]]))
    assert np.exp(table["test"]) == pytest.approx(np.array([[3, 4], [5, 6]]))
