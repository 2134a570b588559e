"""The q-CNN of §2: layer widths, parameter counts (eqs. 46-47), flattening, bad input."""
import pytest
import torch

import qcnn
from qcnn.model import channel_widths, parameter_count, parameter_count_eq47, predict


def n_parameters(model):
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("d", [2, 4, 10, 18, 40])
def test_parameter_count_paper(d):
    """N = 256, |C| = 10, 2n = d: the model has 240 d^2 + 180 d parameters (eq. 47)."""
    model = qcnn.QCNN(d=d, n=d // 2, image_size=16)
    assert n_parameters(model) == parameter_count(d, d // 2, 256) == 240 * d**2 + 180 * d
    assert parameter_count_eq47(d, 256) == 240 * d**2 + 180 * d


def test_paper_extremes():
    """§4.1: d from 2 to 40 gives 1320 to 391200 parameters; d = 18 gives 81000 (§4.2)."""
    assert [parameter_count(d, d // 2, 256) for d in (2, 18, 40)] == [1320, 81000, 391200]


@pytest.mark.parametrize("d,n,size", [(3, 1, (2, 4)), (5, 4, 8), (6, 2, (4, 16))])
def test_parameter_count_general(d, n, size):
    """Eq. (46) for other N and d_0 = 2n != d."""
    model = qcnn.QCNN(d=d, n=n, image_size=size, n_classes=7)
    assert n_parameters(model) == parameter_count(d, n, model.n_pixels, 7)
    assert model.widths == channel_widths(d, n, model.n_layers, 7)
    assert model.widths[0] == 2 * n and model.widths[1] == 2 * d and model.widths[-1] == 7


@pytest.mark.parametrize("d", [2, 6, 12])
def test_eq47_equals_eq46_for_other_depths(d):
    for n_pixels in (4, 16, 64, 1024):
        assert parameter_count_eq47(d, n_pixels) == parameter_count(d, d // 2, n_pixels)


def test_flatten_orders():
    """updown: row-major, so the chain's first half is the upper half of the image;
    leftright: the transposed image row-major, so the first half is the left half."""
    image = torch.arange(8.0).reshape(1, 2, 4)
    up = qcnn.QCNN(2, 1, (2, 4), partition="updown").flatten(image)
    left = qcnn.QCNN(2, 1, (2, 4), partition="leftright").flatten(image)
    assert up.tolist() == [[0, 1, 2, 3, 4, 5, 6, 7]]
    assert left.tolist() == [[0, 4, 1, 5, 2, 6, 3, 7]]


def test_forward_shapes_and_chains():
    model = qcnn.QCNN(4, 2, (4, 8), n_classes=5, partition="leftright").eval()
    images = torch.rand(6, 4, 8)
    alpha = model(images)
    assert alpha.shape == (6, 5)
    torch.testing.assert_close(model(model.flatten(images)), alpha)
    assert predict(torch.tensor([[0.1, -0.9, 0.5]])).item() == 1     # eq. (35): |alpha|


@pytest.mark.parametrize("kwargs,match", [
    (dict(d=0), "d must be an integer >= 1"),
    (dict(d=2.5), "d must be an integer >= 1"),
    (dict(n=0), "n must be an integer >= 1"),
    (dict(n="3"), "n must be an integer >= 1"),
    (dict(partition="diagonal"), "partition must be one of"),
    (dict(basis="chebyshev"), "basis must be one of"),
    (dict(image_size=28), r"power of two .*28x28 = 784"),
    (dict(image_size=(3, 5)), "power of two"),
    (dict(image_size=(4, 4, 4)), "image_size must be an int or a pair"),
    (dict(n_classes=0), "n_classes must be an integer >= 1"),
])
def test_bad_parameters(kwargs, match):
    args = dict(d=2, n=1, image_size=4) | kwargs
    with pytest.raises(ValueError, match=match):
        qcnn.QCNN(**args)


def test_bad_inputs():
    model = qcnn.QCNN(2, 1, 4)
    with pytest.raises(ValueError, match=r"shape \(B, 4, 4\) or \(B, 16\)"):
        model(torch.rand(3, 4, 5))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        model(torch.rand(3, 4, 4) + 0.5)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        model(torch.full((3, 16), float("nan")))
