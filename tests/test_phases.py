"""The Ising chapter's numbers from a synthetic analysis: the classifier's crossing temperature,
the growth law of entanglement with region size, and "not yet measured" before any run."""
import math

import numpy as np
import pytest

from qcnn import phases, report
from qcnn.ising import TEMPERATURES, T_C
from qcnn.store import Store


def test_the_crossing_of_one_half_is_interpolated():
    t = [1.0, 2.0, 3.0, 4.0]
    assert phases.crossing(t, [0.9, 0.7, 0.3, 0.1]) == pytest.approx(2.5)
    assert phases.crossing(t, [0.9, 0.5, 0.3, 0.1]) == pytest.approx(2.0)
    assert phases.crossing(t, [0.9, 0.8, 0.7, 0.6]) is None


@pytest.mark.parametrize("power,law", [(1.0, "a volume law"), (0.5, "an area law"), (0.05, "nearly flat"),
                                       (-1.0, "falling")])
def test_size_slope_reads_the_power_of_the_size(power, law):
    """S = 0.3 x size^p over subtrees of 1..128 pixels: the slope is p, and the law is named."""
    entropy = 0.3 * (2.0 ** np.arange(8)) ** power
    assert phases.size_slope(entropy) == pytest.approx(power, abs=1e-12)
    assert report.growth_law(phases.size_slope(entropy)).startswith(law)


def test_page_values_are_a_volume_law():
    """Page's value across 2^k pixels of 256, each C^(2n+1): 2^k ln(2n+1) while the subtree is the
    smaller side by far, ln m - 1/2 for the two equal halves (k = 7)."""
    values = phases.generic_item(9)
    expected = [2**k * math.log(19) for k in range(7)] + [128 * math.log(19) - 0.5]
    assert values == pytest.approx(expected, rel=1e-12)


def test_the_transition_summary_and_findings(tmp_path):
    """Two runs of d = 4 crossing at 2.2 and 2.4; before that, every finding is not yet measured."""
    store = Store(tmp_path, runs=tmp_path / "runs", analyses=tmp_path / "analyses")
    assert set(report.ising_findings(store)["glue"].values()) >= {
        f"{report.NOT_YET}: no Ising run is stored and analysed yet."}
    levels = {"entropy": [[0.1 * 2**(k / 2)] * 2 for k in range(8)], "bound": [1.0] * 8}
    run = {"accuracy": [0.9] * len(TEMPERATURES), "p_ordered": [0.5] * len(TEMPERATURES),
           "trained": levels, "initial shift1": levels, "initial default": levels,
           "data_entropy": [[1.0 if abs(t - T_C) < 0.05 else 0.1] * 2 for t in TEMPERATURES]}
    analysis = {"runs": {"a": {**run, "config": {"dataset": "ising", "d": 4, "n": 2, "epochs": 30},
                               "crossing": 2.2},
                         "b": {**run, "config": {"dataset": "ising", "d": 4, "n": 2, "seed": 1,
                                                 "epochs": 30}, "crossing": 2.4}}}
    summary, tc = phases.transition_summary(analysis)
    assert summary[4][1] == pytest.approx(2.3) and summary[4][2] == pytest.approx(0.1 * 2**0.5)
    store.write_json(tmp_path / "analyses" / "ising.json", analysis)
    glue = report.ising_findings(store)["glue"]
    assert "$d = 4$: 2 runs, 2.300 ± 0.141" in glue["transition"]
    assert "p = 0.50 to 0.50: an area law" in glue["scales"]
    assert "within 0.3 of T_c in 2 of 2 runs" in glue["temperature"]
