"""The tensor-network description (§2.1): folded batch norm, tree contraction = forward."""
import pytest
import torch

from qcnn.network import contract_tree, embed, folded_batchnorm, tilde_matrices

from conftest import entangled_model


@pytest.mark.parametrize("basis", ["fourier", "legendre"])
@pytest.mark.parametrize("partition", ["updown", "leftright"])
def test_tree_contraction_equals_forward(basis, partition):
    """Contracting the a~ tree (eqs. 13-16) with the embedded image reproduces the eval-mode
    forward pass to 1e-12 relative, float64, at the paper's depth N = 256."""
    model = entangled_model(d=6, n=3, image_size=16, n_classes=10, basis=basis,
                            partition=partition, min_entropy=0).eval()
    images = torch.rand(32, 16, 16, dtype=torch.float64)
    with torch.no_grad():
        alpha = model(images)
    tree = contract_tree(tilde_matrices(model), embed(model, images))
    torch.testing.assert_close(tree, alpha, rtol=1e-12, atol=1e-12 * alpha.abs().max().item())


def test_folded_batchnorm_is_eval_batchnorm():
    """w * zeta + z equals BatchNorm1d in eval mode (eqs. 3-4)."""
    model = entangled_model(d=3, n=2, image_size=4, min_entropy=0)
    norm = model.norms[2].eval()
    zeta = torch.randn(20, norm.num_features, dtype=torch.float64)
    w, z = folded_batchnorm(norm)
    torch.testing.assert_close(zeta * w + z, norm(zeta).detach(), rtol=1e-14, atol=1e-14)


def test_tilde_shapes_and_constant_row():
    model = entangled_model(d=2, n=1, image_size=(2, 4), min_entropy=0)
    tildes = tilde_matrices(model)
    widths = model.widths
    assert [tuple(a.shape) for a in tildes] == [
        (b + 1, a + 1) for a, b in zip(widths[:-2], widths[1:-1])] + [(widths[-1], widths[-2] + 1)]
    for a in tildes[:-1]:     # the constant channel maps to itself (eq. 15)
        assert a[0, 0] == 1 and (a[0, 1:] == 0).all()
