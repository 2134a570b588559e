"""Entanglement entropy across the top cut (§3.2): fast path = dense state = tensornetwork."""
import math

import pytest
import torch

import qcnn
from qcnn.network import level_grams, tilde_matrices
from qcnn.reference import (amplitudes, dense_entropy, dense_state, entanglement_entropy_tn,
                            half_tree_gram_tn)

from conftest import entangled_model
from qcnn.model import randomize

TOL = 1e-10


@pytest.mark.parametrize("partition", ["updown", "leftright"])
@pytest.mark.parametrize("n", [1, 2])
@pytest.mark.parametrize("basis", ["fourier", "legendre"])
def test_equals_dense_state_8_pixels(partition, n, basis):
    """8 pixels (2 x 4): the Gram-recursion entropy equals the one from the dense state
    (its (2n+1)^8 coefficients from forward passes, reshaped across the cut) to 1e-10."""
    model = entangled_model(seed=n, d=3, n=n, image_size=(2, 4), partition=partition, basis=basis)
    fast = qcnn.entanglement_entropy(model)
    torch.testing.assert_close(fast, dense_entropy(model), rtol=0, atol=TOL)


def test_dense_state_reproduces_forward():
    """The dense coefficients are the state: <x|Psi_y> = sum_i Psi_{y;i} prod_p f_{i_p}(x_p)
    (eqs. 29-31) at random images off the quadrature grid."""
    model = entangled_model(seed=5, d=2, n=2, image_size=(2, 4), basis="legendre").eval()
    images = torch.rand(4, 2, 4, dtype=torch.float64)
    with torch.no_grad():
        torch.testing.assert_close(amplitudes(dense_state(model), model, images), model(images),
                                   rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("image_size,d,n", [(4, 3, 2), (8, 4, 2),
                                             pytest.param(16, 18, 9, marks=pytest.mark.slow)])
def test_equals_tensornetwork(image_size, d, n):
    """The same entropies from the half tree contracted node by node by tensornetwork, up to
    the paper's size (N = 256, d = 18, n = 9: 255 a~ nodes and 127 deltas a side)."""
    model = entangled_model(seed=7, d=d, n=n, image_size=image_size, n_classes=10)
    fast = qcnn.entanglement_entropy(model)
    torch.testing.assert_close(fast, entanglement_entropy_tn(model), rtol=0, atol=TOL)
    # the Gram matrices agree too, not only up to the scale the entropy forgets
    tildes = tilde_matrices(model)
    recursion, network = level_grams(tildes)[1][-1], half_tree_gram_tn(tildes, model.n_pixels)
    torch.testing.assert_close(network / network.abs().max(), recursion, rtol=0, atol=1e-12)


def test_product_state_has_zero_entropy():
    """If the classifier row c has one nonzero entry, |Psi_y> = c_I |a_I> (x) |a_I>: S = 0."""
    model = entangled_model(seed=1, d=3, n=2, image_size=(2, 4))
    with torch.no_grad():
        model.norms[-1].bias.zero_()             # a~^(L) = [a z, a w]: z = 0 ...
        model.norms[-1].running_mean.zero_()
        model.convs[-1].weight.zero_()           # ... and one weight per label
        for y in range(model.n_classes):
            model.convs[-1].weight[y, y] = 1.0 + y
    entropy = qcnn.entanglement_entropy(model)
    torch.testing.assert_close(entropy, torch.zeros(3, dtype=torch.float64), rtol=0, atol=1e-12)
    torch.testing.assert_close(dense_entropy(model), entropy, rtol=0, atol=TOL)


@pytest.mark.parametrize("image_size,d,n", [((2, 4), 4, 1), (16, 18, 9), (32, 40, 3)])
def test_entropy_bounded_by_log_rank(image_size, d, n):
    """S <= ln(rank across the cut) <= ln min(d_L + 1, (2n+1)^(N/2)); finite even for deep,
    wide models (N = 1024, d = 40), thanks to the per-level rescaling."""
    generator = torch.Generator().manual_seed(0)
    for _ in range(5):
        model = randomize(qcnn.QCNN(d, n, image_size, n_classes=10).double(), generator)
        entropy = qcnn.entanglement_entropy(model)
        bound = math.log(min(model.widths[-2] + 1, (2 * n + 1) ** (model.n_pixels // 2)))
        assert torch.isfinite(entropy).all() and (entropy >= -1e-12).all()
        assert (entropy <= bound + 1e-12).all()


def test_eval_statistics_whatever_the_mode():
    """The entropy uses running statistics in train mode too, and leaves the mode alone."""
    model = entangled_model(seed=2, d=3, n=2, image_size=4)
    eval_entropy = qcnn.entanglement_entropy(model.eval())
    train_entropy = qcnn.entanglement_entropy(model.train())
    assert model.training
    assert train_entropy.dtype == torch.float64 and train_entropy.shape == (3,)
    torch.testing.assert_close(train_entropy, eval_entropy, rtol=0, atol=0)


def test_float32_model_gives_float64_entropy():
    model = qcnn.QCNN(d=4, n=2, image_size=8)
    entropy = qcnn.entanglement_entropy(model)
    assert entropy.dtype == torch.float64 and entropy.shape == (10,)
    torch.testing.assert_close(entropy, qcnn.entanglement_entropy(model.double()), rtol=0,
                               atol=1e-12)
