"""The local Hilbert space (§3.1): orthonormality, completeness, the Dirichlet kernel."""
import math

import numpy as np
import pytest
import torch

from qcnn.basis import dirichlet_kernel, extended_features, features, quadrature


@pytest.mark.parametrize("basis", ["fourier", "legendre"])
@pytest.mark.parametrize("n", [1, 2, 5, 9])
def test_quadrature_gram_is_identity(basis, n):
    """sum_k w_k f_i(x_k) f_j(x_k) = int_0^1 f_i f_j = delta_ij for i, j = 0..2n (eqs. 18-19)."""
    nodes, weights = quadrature(n, basis)
    f = extended_features(torch.from_numpy(nodes), n, basis).numpy()
    np.testing.assert_allclose(f.T @ (weights[:, None] * f), np.eye(2 * n + 1), atol=1e-12)


@pytest.mark.parametrize("basis", ["fourier", "legendre"])
def test_gram_by_fine_integration(basis):
    """Orthonormality again, by a 20001-point trapezoid rule instead of the exact quadrature."""
    x = torch.linspace(0, 1, 20001, dtype=torch.float64)
    f = extended_features(x, 3, basis)
    gram = torch.trapezoid(f[:, :, None] * f[:, None, :], x, dim=0)
    torch.testing.assert_close(gram, torch.eye(7, dtype=torch.float64), atol=1e-6, rtol=0)


def test_fourier_values():
    """Eq. (19) at x = 1/8 with n = 2: (sqrt2 cos, sqrt2 sin) of pi/4, then of pi/2."""
    f = features(torch.tensor([0.125], dtype=torch.float64), 2)[0]
    s = math.sqrt(2)
    torch.testing.assert_close(f, torch.tensor([1.0, 1.0, 0.0, s], dtype=torch.float64))


@pytest.mark.parametrize("n", [1, 3, 9])
def test_dirichlet_kernel_is_sum_of_basis_products(n):
    """<x|x'> = sum_i f_i(x) f_i(x') = D_n(x - x') (eqs. 23, 25), and D_n(0) = 2n + 1."""
    x, y = torch.rand(50, dtype=torch.float64), torch.rand(50, dtype=torch.float64)
    inner = (extended_features(x, n) * extended_features(y, n)).sum(-1)
    torch.testing.assert_close(inner, dirichlet_kernel(x - y, n))
    assert dirichlet_kernel(0.0, n).item() == pytest.approx(2 * n + 1, abs=1e-12)
