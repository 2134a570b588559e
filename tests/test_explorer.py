"""The d and n explorer: the numbers it shows, its static page (sliders switch views with no
kernel) and the live widget."""
import math
import re

import pytest

from conftest import STORE
from qcnn.explorer import Explorer, architecture_summary, static_explorer
from qcnn.model import parameter_count
from qcnn.store import Store


@pytest.fixture
def empty_store(tmp_path):
    """No stored runs: the explorer must still draw (the trained panels say so)."""
    return Store(STORE.root, runs=tmp_path / "runs")


def test_architecture_numbers():
    s = architecture_summary(18, 9)
    assert s["parameters"] == s["parameters_eq47"] == 81000 == parameter_count(18, 9, 256)
    assert s["entropy_bound"] == pytest.approx(math.log(145), abs=1e-12)       # ln(d_{L-1} + 1)
    assert s["level_bounds"][0] == pytest.approx(math.log(19), abs=1e-12)       # one pixel: 2n + 1
    assert architecture_summary(24, 9)["parameters_eq47"] is None             # eq. 47 needs 2n = d


def test_static_page_switches_views(empty_store, tmp_path):
    """Every (d, n) of the grid is drawn once; the HTML has two sliders over the grid and a
    script that swaps the image by file name, nothing fetched from elsewhere."""
    html = static_explorer(empty_store, ds=(4, 18), ns=(2, 9), directory=tmp_path)
    assert sorted(p.name for p in tmp_path.glob("*.png")) == ["d18-n2.png", "d18-n9.png",
                                                              "d4-n2.png", "d4-n9.png"]
    assert all(p.read_bytes()[:4] == b"\x89PNG" for p in tmp_path.glob("*.png"))
    assert len(re.findall(r'<input type="range"', html)) == 2
    assert 'max="1" value="1"' in html                                         # d = 18 selected
    assert '"/d" + d + "-n" + n + ".png"' in html and "http" not in html
    drawn = {p: p.stat().st_mtime_ns for p in tmp_path.glob("*.png")}
    assert static_explorer(empty_store, ds=(4, 18), ns=(2, 9), directory=tmp_path) == html   # reused, not redrawn
    assert drawn == {p: p.stat().st_mtime_ns for p in tmp_path.glob("*.png")}


def test_live_sliders_redraw(empty_store):
    explorer = Explorer(empty_store, d=18, n=9)
    before = explorer.image.value
    explorer.d_slider.value = 10
    assert explorer.image.value != before and explorer.image.value[:4] == b"\x89PNG"
    assert explorer.summary["d"] == 10 and explorer.summary["widths"][-2] == 90
    explorer.n_slider.value = 2
    assert explorer.summary["parameters"] == parameter_count(10, 2, 256)
    assert "no paper-scale run" in explorer.figure.axes[7].texts[0].get_text()
