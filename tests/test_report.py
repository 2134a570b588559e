"""The claims table's verdicts: every verdict of every claim reached with small synthetic
numbers or metrics, so that no criterion passes whatever the runs say."""
import math

import numpy as np
import pytest

from conftest import make_metrics
from qcnn import report


def synthetic_metrics(entropy, epochs=None, test_accuracy=None, lr=None):
    """Metrics with one logged entropy point per epoch (the same for every label)."""
    epochs = epochs or len(entropy)
    return make_metrics(epochs, lr=lr or [0.01] * epochs,
                        test_accuracy=test_accuracy or [0.5] * epochs,
                        entropy_log={"epoch": list(range(0, epochs + 1)),
                                     "entropy": [[entropy[0]] * 10] + [[s] * 10 for s in entropy],
                                     "running_train_cost": [None] + [1.0] * epochs})


@pytest.mark.parametrize("last5,verdict", [(0.968, "reproduced"), (0.95, "partly"),
                                           (0.93, "not reproduced")])
def test_accuracy(last5, verdict):
    assert report.accuracy_verdict(last5, 0.97) == verdict


@pytest.mark.parametrize("beta1,beta0,verdict", [(0.05, 0.02, "reproduced"), (0.05, 3.9, "partly"),
                                                 (0.3, 3.9, "not reproduced")])
def test_initial_entropy(beta1, beta0, verdict):
    assert report.initial_verdict(beta1, beta0) == verdict


def test_steady_rise_tells_a_steady_rise_from_a_peak_and_a_fall():
    early = [0.3, 0.1, 0.4, 0.05, 0.3, 0.1, 0.35, 0.2, 0.25, 0.2]          # fluctuating
    steady = synthetic_metrics(early + list(np.linspace(0.2, 1.0, 80)))
    peaked = synthetic_metrics(early + list(np.linspace(0.2, 1.0, 50)) + list(np.linspace(1.0, 0.7, 30)))
    smooth_start = synthetic_metrics(list(np.linspace(0.0, 0.2, 10)) + list(np.linspace(0.2, 1.0, 80)))
    rho, drop, before = report.rise_of(steady)
    assert report.rises_steadily(rho, drop) and before < rho
    rho, drop, _ = report.rise_of(peaked)
    assert rho > 0.5 and drop == pytest.approx(0.35, abs=0.01)   # rho > 0.5 alone would pass
    assert not report.rises_steadily(rho, drop)
    rho, drop, before = report.rise_of(smooth_start)
    assert report.rises_steadily(rho, drop) and not before < rho       # no fluctuation before
    assert [report.rise_verdict(s, c) for s, c in (([True] * 3, [True] * 3),
                                                   ([True] * 3, [True, False, True]),
                                                   ([True, True, False], [True] * 3),
                                                   ([True, False, False], [True] * 3))] \
        == ["reproduced", "partly", "partly", "not reproduced"]


def test_slopes():
    assert report.slopes_verdict([0.001, -0.001], [0.005, 0.004]) == "reproduced"
    assert report.slopes_verdict([-0.01], [0.005]) == "partly"         # falling is not stable
    assert report.slopes_verdict([0.003], [0.005]) == "partly"
    assert report.slopes_verdict([0.005], [0.003]) == "not reproduced"


def test_alike_compares_shapes_and_levels():
    rising = np.linspace(0.1, 1.0, 90)
    same_shape_double = synthetic_metrics(list(2 * rising))
    gap, ratio = report.shape_and_level(synthetic_metrics(list(rising)), same_shape_double)
    assert gap == pytest.approx(0, abs=1e-12) and ratio == pytest.approx(2)
    assert report.alike_verdict([0.1, 0.05], [1.2, 0.9]) == "reproduced"
    assert report.alike_verdict([gap, 0.1], [ratio, 1.0]) == "partly"      # shape alike, level 2x
    assert report.alike_verdict([0.6, 0.1], [1.0, 1.0]) == "not reproduced"


def test_order_of_ln2():
    assert report.order_verdict(0.3, 1.5) == "reproduced"
    assert report.order_verdict(0.1, 1.5) == "partly"
    assert report.order_verdict(0.01, 1.5) == "not reproduced"


@pytest.mark.parametrize("intervals,wide,complete,verdict", [
    ([(-0.004, 0.008), (-0.009, 0.002)], [(-0.006, 0.01), (-0.012, 0.004)], True, "consistent"),
    ([(-0.004, 0.008), (-0.009, 0.002)], [(-0.006, 0.01), (-0.012, 0.004)], False, "inconclusive"),
    ([(-0.004, 0.008), (0.012, 0.03)], [(-0.006, 0.01), (0.011, 0.031)], True, "not supported"),
    ([(-0.004, 0.008), (-0.03, -0.011)], [(-0.006, 0.01), (-0.031, -0.0105)], False, "not supported"),
    ([(-0.004, 0.008), (0.012, 0.03)], [(-0.006, 0.01), (0.009, 0.033)], True, "inconclusive"),
    ([(-0.004, 0.008), (0.004, 0.02)], [(-0.006, 0.01), (0.002, 0.022)], True, "inconclusive"),
    ([(float("nan"),) * 2], [(float("nan"),) * 2], True, "inconclusive")])
def test_the_d_claim_is_an_equivalence_test(intervals, wide, complete, verdict):
    """All 90% intervals inside the margin and every d measured: consistent; a Bonferroni
    interval wholly outside: not supported (a 90% interval outside is not enough); else, and
    with no spread to judge by, inconclusive."""
    assert report.gap_verdict(intervals, wide, complete) == verdict


def test_pooled_differences_on_known_numbers():
    """{1: (0, 2), 2: (1, 3), 3: (5,)}: means 1, 2, 5; pooled s^2 = (1 + 1 + 1 + 1) / 2 = 2 with
    2 degrees of freedom (the single value adds none), t(0.95, 2) = 2.919986; d1 - d2 = -1 with
    half-width t s sqrt(1/2 + 1/2), d1 - d3 = -4 with t s sqrt(1/2 + 1)."""
    from qcnn import stats
    pairs, s, df = stats.pooled_differences({1: [0, 2], 2: [1, 3], 3: [5]})
    assert (s, df) == (pytest.approx(2 ** 0.5), 2)
    assert [p[:3] for p in pairs] == [(1, 2, -1.0), (1, 3, -4.0), (2, 3, -3.0)]
    t = 2.919986
    assert pairs[0][3] == pytest.approx((-1 - t * 2 ** 0.5, -1 + t * 2 ** 0.5), rel=1e-6)
    assert pairs[1][3] == pytest.approx((-4 - t * 3 ** 0.5, -4 + t * 3 ** 0.5), rel=1e-6)
    for equal in ({1: [1, 1], 2: [2, 2]}, {1: [1], 2: [2]}):          # no spread, or no df
        assert all(math.isnan(low) and math.isnan(high) for *_, (low, high) in
                   stats.pooled_differences(equal)[0])


def test_welch_differences_equal_scipys_welch_test():
    """Without pooling: each pair's interval is Welch's, as scipy's unequal-variance t test gives
    it ((1, 3) against (0, 0, 3): 2.667 df); a group of one value, or two without spread: nan."""
    from scipy.stats import ttest_ind
    from qcnn import stats
    groups = {"a": [1, 3], "b": [0, 0, 3], "c": [2, 2.5, 4, 7]}
    pairs = stats.welch_differences(groups, 0.90)
    assert [p[:2] for p in pairs] == [("a", "b"), ("a", "c"), ("b", "c")]
    for a, b, difference, (low, high), df in pairs:
        oracle = ttest_ind(groups[a], groups[b], equal_var=False)
        assert difference == pytest.approx(np.mean(groups[a]) - np.mean(groups[b]))
        assert df == pytest.approx(oracle.df, rel=1e-12)
        assert (low, high) == pytest.approx(tuple(oracle.confidence_interval(0.90)), rel=1e-12)
    assert pairs[0][4] == pytest.approx(8 / 3)
    for lonely in ({"a": [1], "b": [2, 3]}, {"a": [1, 1], "b": [2, 2]}):
        assert all(math.isnan(v) for v in stats.welch_differences(lonely)[0][3])


def test_the_d_claim_from_seed_accuracies():
    """Three d's of two seeds whose means lie 0.2 points apart, seed s.d. 0.14 points: every 90%
    interval inside 1 point, so consistent once every planned d is measured, inconclusive while
    one is missing (and said so); a d 3 points lower: not supported, naming the pair."""
    close = {12: [0.955, 0.957], 18: [0.957, 0.959], 24: [0.953, 0.955]}
    r = report.d_gaps(close, {12, 18, 24})
    assert r["verdict"] == "consistent" and r["ds"] == [12, 18, 24] and r["df"] == 3
    assert r["s"] == pytest.approx(0.001 * 2 ** 0.5) and r["largest"][:3] == (18, 24, pytest.approx(0.004))
    assert r["spreads"] == pytest.approx([0.001 * 2 ** 0.5] * 3)
    assert r["welch"][:3] == (18, 24, pytest.approx(0.004)) and r["welch"][4] == pytest.approx(2)
    assert "without pooling (Welch's 90% intervals, each d its own spread), the farthest from zero: " \
           "d=18 - d=24" in report.d_gaps_text({**r, "stored": "6 of 15 runs stored"})
    flat = report.d_gaps({12: [0.95, 0.95], 18: [0.95, 0.95], 24: [0.93, 0.97]}, {12, 18, 24})
    assert flat["welch"][:2] in ((12, 24), (18, 24)) and flat["welch"][4] == pytest.approx(1)
    still = report.d_gaps({12: [0.95, 0.95], 18: [0.96, 0.96]}, {12, 18})       # no spread at all
    assert "Welch's intervals): undefined" in report.d_gaps_text({**still, "stored": "4 of 6"})
    assert r["bound"] == pytest.approx(0.004 + 2.353363 * 0.001 * 2 ** 0.5, rel=1e-5)
    partial = report.d_gaps({**close, 32: [0.96]}, {12, 18, 24, 32})
    assert partial["verdict"] == "inconclusive" and partial["missing"] == [32]
    assert "without two seeds yet: d = 32" in report.d_gaps_text({**partial, "stored": "7 of 15 runs stored"})
    low = report.d_gaps({**close, 40: [0.925, 0.927]}, {12, 18, 24, 40})
    assert low["verdict"] == "not supported" and {(a, b) for a, b, *_ in low["beyond"]} == {(12, 40), (18, 40), (24, 40)}
    assert "beyond the margin: d=12 - d=40" in report.d_gaps_text({**low, "stored": "8 of 15 runs stored"})
    assert report.d_gaps({12: [0.95, 0.96], 18: [0.95]}, {12, 18})["measured"] is False


def test_correlation():
    below, raw = (-0.2, (-0.3, -0.15)), [(-0.8, -0.5), (-0.7, -0.4)]
    assert report.correlation_verdict(raw, [below, below]) == "reproduced"
    assert report.correlation_verdict(raw, [below, (-0.05, (-0.1, -0.01))]) == "partly"
    assert report.correlation_verdict(raw, [below, (-0.1, (-0.2, 0.05))]) == "partly"
    assert report.correlation_verdict([(-0.8, 0.9), (-0.7, -0.4)], [below, below]) == "partly"
    assert report.correlation_verdict([(-0.8, -0.5), (0.1, 0.4)], [below, below]) == "not reproduced"
    assert report.weaker_verdict([(-0.6, -0.3), (-0.5, 0.1)]) == "reproduced"
    assert report.weaker_verdict([(-0.6, -0.3), (-0.3, -0.6)]) == "partly"
    assert report.weaker_verdict([(-0.3, -0.6), (-0.1, 0.2)]) == "not reproduced"


def test_an_empty_store_is_not_yet_measured(tmp_path):
    """Every claim but the parameter count needs stored runs; with none, each says so."""
    from qcnn.store import Store
    rows = report.claims_table(Store(tmp_path, runs=tmp_path / "runs", analyses=tmp_path / "a"))
    verdicts = {r["claim"]: r["verdict"] for r in rows}
    assert verdicts.pop("parameter count P = 240 d^2 + 180 d") == "reproduced"
    assert set(verdicts.values()) == {"not yet measured"}


@pytest.mark.slow
def test_no_cell_of_the_claims_table_breaks_its_row():
    """A '|' inside a cell would end it: the Markdown table would lose its columns."""
    from conftest import STORE
    from qcnn.report import claims_table
    for row in claims_table(STORE):
        assert not any("|" in str(v) for v in row.values()), row["claim"]
