"""The d and n explorer: moving a slider redraws the figure for the new values."""
import json

import numpy as np

from qcnn.model import parameter_count
from qcnn.train import Config
from qcnn.widgets import Explorer, architecture_summary


def test_sliders_redraw(tmp_path):
    explorer = Explorer(d=18, n=9, root=tmp_path)             # an empty run store
    assert explorer.summary["parameters"] == 81000
    before = explorer.image.value
    explorer.d_slider.value = 10
    assert explorer.image.value != before and explorer.image.value[:4] == b"\x89PNG"   # redrawn
    assert explorer.summary == architecture_summary(10, 9)
    assert f"{parameter_count(10, 9, 256):,} parameters" in explorer.figure._suptitle.get_text()
    assert explorer.summary["widths"][-2] == 90                  # d_L = d (L + 1)
    explorer.n_slider.value = 2
    assert len(explorer.figure.axes[0].lines) == 5               # f_0 .. f_4
    assert {line.get_label() for line in explorer.figure.axes[1].lines} == \
        {"n = 1", "n = 2", "n = 4"}                              # Dirichlet kernels
    assert "no stored runs with d = 10, n = 2" in explorer.figure.axes[2].texts[0].get_text()


def test_stored_runs_are_drawn(tmp_path):
    config = Config(d=6, n=3, epochs=1)
    run = tmp_path / "abc"
    run.mkdir()
    (run / "config.json").write_text(json.dumps(config.to_dict()))
    (run / "provenance.json").write_text("{}")
    (run / "metrics.json").write_text(json.dumps({"entropy_log": {
        "epoch": [0, 0.5, 1], "entropy": [[0.1] * 10, [0.2] * 10, [0.3] * 10]}}))
    explorer = Explorer(d=6, n=3, root=tmp_path)
    curve = explorer.figure.axes[2].lines[0]
    np.testing.assert_allclose(curve.get_ydata(), [0.1, 0.2, 0.3], rtol=1e-15)   # class means
    assert "1 stored run(s) with d = 6, n = 3" in explorer.figure.axes[2].get_title()
