"""The findings the chapter on every cut prints, on a synthetic analysis with known answers."""
import pytest

from qcnn.analysis import REGIONS, chi_grid
from qcnn.findings import NOT_YET, cut_numbers, findings, regions_table, spread
from qcnn.model import QCNN


def synthetic_entry(partition="updown"):
    """S2 = area^0.7 for corner blocks, bound = area^0.6; centre blocks 1.5 times the corner;
    the left half 3 times the upper half; the data's view 0.8 times L2; the truncated accuracy
    reaching the full one's within a point at chi = 48."""
    regions = {}
    for name in REGIONS:
        regions[name] = {"area": 1, "boundary": 4, "min_cut_bound": 1.0, "renyi2": [1.0] * 10}
    for k in (1, 2, 4, 8):
        area = k * k
        regions[f"{k}x{k} corner"] = {"area": area, "boundary": 2 * k, "renyi2": [area**0.7] * 10,
                                      "min_cut_bound": area**0.6}
        regions[f"{k}x{k} centre"] = {"area": area, "boundary": 4 * k,
                                      "renyi2": [1.5 * area**0.7] * 10, "min_cut_bound": 2.0}
    regions["upper half"]["renyi2"] = [0.5] * 10
    regions["left half"]["renyi2"] = [1.5] * 10
    return {"config": {"partition": partition}, "regions": regions,
            "data": {"entropy": [1.0] * 10, "data_entropy_test": [0.8] * 10,
                     "norm_on_data_log10_test": [2.0] * 10, "norm_on_uniform_log10": [0.0] * 10},
            "truncation": {"chi": [1, 16, 48, 163], "test_accuracy": [0.1, 0.5, 0.955, 0.96]},
            "levels": {}}


def test_findings_on_known_numbers():
    analysis = {"models": {"a": synthetic_entry("updown"), "b": synthetic_entry("leftright"),
                           "incomplete": {"config": {"partition": "updown"}, "regions": {}}}}
    found = findings(analysis)
    assert set(found) == {"a", "b"}                           # incomplete entries are left out
    a, b = found["a"], found["b"]
    assert a["size_slope"] == pytest.approx(0.7) and a["bound_slope"] == pytest.approx(0.6)
    assert a["centre_over_corner"] == pytest.approx([1.5, 1.5, 1.5])
    assert a["across_over_along"] == pytest.approx(3.0)       # left half / upper half
    assert b["across_over_along"] == pytest.approx(1 / 3)     # upper half / left half
    assert a["data_over_l2"] == pytest.approx(0.8)
    assert a["chi_within_1pt"] == 48 and a["accuracy"] == 0.96


def test_chi_grid_ends_at_the_widest_bond_and_spread():
    assert chi_grid(QCNN(18, 9, 16))[-2:] == [128, 163]       # D_L = 18 * 9 + 1
    assert chi_grid(QCNN(2, 1, 16)) == [1, 2, 3, 4, 6, 8, 12, 16, 19]
    assert spread([0.71, 0.6, 0.66]) == "0.60-0.71"


def test_a_partial_analysis_gives_not_yet_measured():
    """``analyze`` writes cuts.json after every item: a file with one network complete and one
    half done, or with none, gives "not yet measured" where a number needs what is missing,
    never an error."""
    from qcnn.config import run_id
    from qcnn.experiments import fig2_configs
    configs = fig2_configs()
    half = synthetic_entry("updown")
    del half["truncation"]
    analysis = {"models": {run_id(configs[("mnist", "updown")]): synthetic_entry("updown"),
                           run_id(configs[("fashion-mnist", "updown")]): half}}
    numbers = cut_numbers(analysis)
    assert numbers["slope"] == "0.70-0.70" and numbers["bound_along"] != NOT_YET
    assert numbers["fashion_mnist_updown"] == NOT_YET and numbers["fashion_mnist_leftright"] == NOT_YET
    header, rows = regions_table(analysis)
    assert len(rows) == len(REGIONS) and rows[0][-1] == NOT_YET       # no left/right network yet
    empty = cut_numbers({})
    assert set(empty.values()) - {NOT_YET} == {empty["level_widths"]}
    assert regions_table({})[1] == []
