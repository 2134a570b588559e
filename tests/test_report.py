"""The claims table: every verdict of every claim reached with small synthetic numbers, and each
claim end to end (population -> statistic -> verdict) on a synthetic store in a temporary
folder, so that no criterion passes whatever the runs say."""
import math

import numpy as np
import pytest
from safetensors.torch import save_file

from conftest import make_metrics
from qcnn import report, stats
from qcnn.config import build_model
from qcnn.experiments import published_configs
from qcnn.store import Store


def synthetic_metrics(entropy, epochs=None, test_accuracy=None, lr=None, running=None):
    """Metrics with one logged entropy point per epoch (the same for every label)."""
    epochs = epochs or len(entropy)
    return make_metrics(epochs, lr=lr or [0.01] * epochs,
                        test_accuracy=test_accuracy or [0.5] * epochs,
                        entropy_log={"epoch": list(range(0, epochs + 1)),
                                     "entropy": [[entropy[0]] * 10] + [[s] * 10 for s in entropy],
                                     "running_train_cost": [None] + (running or [1.0] * epochs)})


def store_run(store, config, metrics):
    """A complete run in ``store``: its config, metrics, provenance and untrained weights."""
    directory = store.run_dir(config)
    directory.mkdir(parents=True)
    store.write_json(directory / "config.json", config.to_dict())
    store.write_json(directory / "metrics.json", metrics.to_json())
    store.write_json(directory / "provenance.json", {
        "command": "test", "commit": "test", "versions": {}, "device": "cpu", "wall_time_s": 1.0,
        "sittings": 1, "sittings_log": [], "compiled": False, "weights": ["model.safetensors"],
        "finished_utc": "2026-12-06T00:00:00Z", "last_sitting_s": 1.0})
    save_file(build_model(config).state_dict(), directory / "model.safetensors")


def test_best_accuracy_under_both_readings():
    claim = report.BestAccuracy()
    assert [claim.decide(v, 0.97) for v in (0.968, 0.95, 0.93)] == ["reproduced", "partly",
                                                                      "not reproduced"]
    assert "at most 0.5% below the paper's" in claim.criterion


def test_initial_entropy_names_median_and_largest():
    claim = report.InitialEntropy()
    assert claim.decide([0.01, 0.05]) == "reproduced"
    assert claim.decide([0.01, 0.02, 0.3]) == "partly"
    assert claim.decide([3.9, 3.97]) == "not reproduced"
    assert "below 0.1 nats" in claim.criterion


def test_steady_rise_tells_a_steady_rise_from_a_peak_and_a_fall():
    claim = report.SteadyRise()
    early = [0.3, 0.1, 0.4, 0.05, 0.3, 0.1, 0.35, 0.2, 0.25, 0.2]          # fluctuating
    steady = synthetic_metrics(early + list(np.linspace(0.2, 1.0, 80)))
    peaked = synthetic_metrics(early + list(np.linspace(0.2, 1.0, 50)) + list(np.linspace(1.0, 0.7, 30)))
    assert claim.steady(*claim.rise(steady))
    rho, drop = claim.rise(peaked)
    assert rho > 0.5 and drop == pytest.approx(0.35, abs=0.01)   # rho > 0.5 alone would pass
    assert not claim.steady(rho, drop)
    seeds = [np.r_[np.full(10, a), np.linspace(0.2, 1.0, 80)] for a in (0.05, 0.3, 0.6)]
    assert claim.spread_ratio(seeds) > 1                   # the seeds differ early, agree later
    assert claim.spread_ratio([np.linspace(0.1, 1, 90) * k for k in (1, 1.5)]) == pytest.approx(1)
    assert [claim.decide(s, e) for s, e in (([True] * 3, [True]), ([True] * 3, [False]),
                                            ([True, True, False], [True]),
                                            ([True, False, False], [True]))] \
        == ["reproduced", "partly", "partly", "not reproduced"]


def test_slopes():
    claim = report.StabilisesOrGrows()
    assert claim.decide([0.001, -0.001], [0.005, 0.004]) == "reproduced"
    assert claim.decide([-0.01], [0.005]) == "partly"         # falling is not stable
    assert claim.decide([0.003], [0.005]) == "partly"
    assert claim.decide([0.005], [0.003]) == "not reproduced"


def test_alike_compares_the_partition_gap_with_the_seed_gap():
    claim = report.PartitionsAlike()
    rising = np.linspace(0.1, 1.0, 90)
    gap, ratio = claim.shape_and_level(synthetic_metrics(list(rising)), synthetic_metrics(list(2 * rising)))
    assert gap == pytest.approx(0, abs=1e-12) and ratio == pytest.approx(2)
    assert claim.decide([0.1, 0.12], [0.05, 0.15], [1.2, 0.9]) == "reproduced"
    assert claim.decide([0.1, 0.12], [0.05, 0.15], [2.0, 1.0]) == "partly"      # levels 2x apart
    assert claim.decide([0.6, 0.5], [0.05, 0.15], [1.0, 1.0]) == "not reproduced"


def test_order_of_ln2():
    claim = report.OrderLn2()
    assert claim.decide(0.3, 1.5) == "reproduced"
    assert claim.decide(0.1, 1.5) == "partly"
    assert claim.decide(0.01, 1.5) == "not reproduced"
    assert "within a factor 3 of ln 2" in claim.criterion


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
    r = report.d_gaps(close, {12, 18, 24}, "6 of 15 runs stored")
    assert r.verdict == "consistent" and r.ds == [12, 18, 24] and r.df == 3
    assert r.s == pytest.approx(0.001 * 2 ** 0.5) and r.largest[:3] == (18, 24, pytest.approx(0.004))
    assert r.spreads == pytest.approx([0.001 * 2 ** 0.5] * 3)
    assert r.welch[:3] == (18, 24, pytest.approx(0.004)) and r.welch[4] == pytest.approx(2)
    assert "without pooling (Welch's 90% intervals, each d its own spread), the farthest from zero: " \
           "d=18 - d=24" in report.d_gaps_text(r)
    flat = report.d_gaps({12: [0.95, 0.95], 18: [0.95, 0.95], 24: [0.93, 0.97]}, {12, 18, 24})
    assert flat.welch[:2] in ((12, 24), (18, 24)) and flat.welch[4] == pytest.approx(1)
    still = report.d_gaps({12: [0.95, 0.95], 18: [0.96, 0.96]}, {12, 18}, "4 of 6")   # no spread
    assert "Welch's intervals): undefined" in report.d_gaps_text(still)
    assert r.bound == pytest.approx(0.004 + 2.353363 * 0.001 * 2 ** 0.5, rel=1e-5)
    partial = report.d_gaps({**close, 32: [0.96]}, {12, 18, 24, 32}, "7 of 15 runs stored")
    assert partial.verdict == "inconclusive" and partial.missing == [32]
    assert "without two seeds yet: d = 32" in report.d_gaps_text(partial)
    low = report.d_gaps({**close, 40: [0.925, 0.927]}, {12, 18, 24, 40}, "8 of 15 runs stored")
    assert low.verdict == "not supported" and {(a, b) for a, b, *_ in low.beyond} == {(12, 40), (18, 40), (24, 40)}
    assert "beyond the margin: d=12 - d=40" in report.d_gaps_text(low)
    assert report.d_gaps({12: [0.95, 0.96], 18: [0.95]}, {12, 18}).measured is False


def test_correlation_and_what_there_is_to_weaken():
    claim, weaker = report.EntropyCostCorrelation(), report.WeakerWithTestCost()
    below = (-0.2, (-0.3, -0.15))
    assert claim.decide((-0.8, (-0.9, -0.5)), below) == "reproduced"
    assert claim.decide((-0.8, (-0.9, -0.5)), (-0.05, (-0.1, -0.01))) == "partly"   # too small
    assert claim.decide((-0.8, (-0.9, 0.1)), below) == "partly"                    # crosses 0
    assert claim.decide((0.1, (-0.2, 0.4)), below) == "not reproduced"
    assert weaker.decide(-0.6, -0.3, True) == "reproduced"
    assert weaker.decide(-0.3, -0.6, True) == "not reproduced"
    assert weaker.decide(-0.3, -0.1, False) == "nothing to weaken"


def test_the_plateau_verdict():
    """Escapes (first halving, escape) on the epoch axis: the constant control staying on the
    plateau and every halving run leaving it just after its halving: the first halving; the
    constant control leaving it: not the halving; an escape at the halving's own point (the
    steps before it): nothing in the schedule."""
    runs = {"published": (9.0, 9.9), "first halving after 4 epochs": (4.0, 4.6)}
    assert report.plateau_verdict(runs) is None                     # the constant control missing
    assert report.plateau_verdict({**runs, "constant learning rate": (None, None)}) == "the first halving"
    assert report.plateau_verdict({**runs, "constant learning rate": (None, 9.4)}) == "not the halving"
    assert report.plateau_verdict({**runs, "early": (9.0, 9.0), "constant learning rate": (None, None)}) \
        == "nothing in the schedule"


def test_an_empty_store_is_not_yet_measured(tmp_path):
    """Every claim but the parameter count needs stored runs; with none, each says so."""
    rows = report.claims_table(Store(tmp_path, runs=tmp_path / "runs", analyses=tmp_path / "a"))
    verdicts = {(r.claim, r.dataset, r.recipe): r.verdict for r in rows}
    assert verdicts.pop(("parameter count P = 240 d^2 + 180 d", "both", "")) == "reproduced"
    assert set(verdicts.values()) == {"not yet measured"}
    assert len(rows) == 1 + 2 * (2 * 7 + 1) + 2                  # the d-claim: this book's only


def test_each_claim_end_to_end_on_a_synthetic_store(tmp_path):
    """The paper's recipe, MNIST, three seeds of both partitions (d = 18, 90 epochs): entropies
    that fall to a plateau and rise steadily to ln 2 from epoch 10, each seed starting
    differently, the running train cost falling as the entropy rises. Every claim that these runs
    can test reaches its verdict through the store; Fashion-MNIST, with no run, is not yet
    measured."""
    store = Store(tmp_path, runs=tmp_path / "runs", analyses=tmp_path / "analyses")
    rng = np.random.default_rng(0)
    mnist = [c for c in published_configs() if c.dataset == "mnist"]
    assert len(mnist) == 6 and all(c.d == 18 for c in mnist)
    for config in mnist:
        start = [0.3 + 0.3 * config.seed] * 9                   # seeds differ in the first epochs
        rise = list(np.linspace(0.05, math.log(2), 81) + 0.002 * rng.standard_normal(81))
        entropy = start + rise
        running = [2.0 - e for e in entropy]                     # falls as the entropy rises
        store_run(store, config, synthetic_metrics(entropy, test_accuracy=[0.966] * 90, running=running))
    rows = {(r.claim, r.dataset): r for r in report.claims_table(store) if r.recipe == "published"}
    assert rows[("best test accuracy", "mnist")].verdict == "maximum: reproduced; average: reproduced"
    assert rows[("steady rise of the entropy after ~10 epochs", "mnist")].verdict == "reproduced"
    assert "6 of 6 runs" in rows[("steady rise of the entropy after ~10 epochs", "mnist")].measured
    assert rows[("up/down and left/right trends alike", "mnist")].verdict == "reproduced"
    assert rows[("entropies of order ln 2 = 0.69", "mnist")].verdict == "reproduced"
    assert rows[("entropy practically zero at initialisation", "mnist")].verdict == "not reproduced"
    correlation = rows[("entropy correlates negatively with the train cost", "mnist")]
    assert correlation.verdict == "reproduced"                   # rho = -1 in every run
    assert "3 runs" in correlation.measured and "75%]" in correlation.measured  # 3 initial states
    assert "(d = 18 alone) not measured (3 runs, 4 needed)" in correlation.measured
    across = [r for r in report.correlation_table(store)[1] if r[0].startswith("paper, MNIST, across")]
    assert across == [["paper, MNIST, across runs at matched epochs (d = 18 alone)"]
                      + ["not measured: 3 runs, 4 needed"] * 3]   # one d: no within-d row
    assert rows[("entropy practically zero at initialisation", "fashion-mnist")].verdict == "not yet measured"
    assert set(rows[("steady rise of the entropy after ~10 epochs", "mnist")].runs) == \
        {store.run_dir(c).name for c in mnist}


@pytest.mark.slow
def test_no_cell_of_the_claims_table_breaks_its_row():
    """A '|' inside a cell would end it: the Markdown table would lose its columns."""
    from conftest import STORE
    for row in report.claims_table(STORE):
        assert not any("|" in str(v) for v in (row.claim, row.paper, row.measured, row.criterion))


def test_the_quick_profile_never_crashes_on_short_runs(tmp_path):
    """Runs of the quick profile have 2 epochs: every claim that needs more says what it needs
    (the entropy's course from epoch 10, the partitions from epoch 20) instead of failing."""
    from qcnn.experiments import fig2_configs
    store = Store(tmp_path, runs=tmp_path / "runs", analyses=tmp_path / "analyses")
    for config in fig2_configs("quick").values():
        store_run(store, config, synthetic_metrics([0.1, 0.2]))
    rows = {(r.claim, r.dataset, r.recipe): r for r in report.claims_table(store, "quick")}
    assert rows[("steady rise of the entropy after ~10 epochs", "mnist", "book")].measured == \
        "not yet measured: no run of 20 epochs or more"
    assert rows[("entropies of order ln 2 = 0.69", "mnist", "book")].verdict == "partly"   # 0.2 nats
    assert rows[("up/down and left/right trends alike", "fashion-mnist", "book")].verdict == "not yet measured"
