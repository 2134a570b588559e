"""Feature maps of a pixel value x in [0, 1]: the local Hilbert space of §3.1.

The q-CNN's representation layer (eq. 1) sends a pixel to the vector (f_1(x), ..., f_2n(x)).
Together with the constant f_0 = 1, carried by the batch-norm shift (eqs. 11-16), these span
the local Hilbert space H_loc = C^(2n+1) (eq. 21), orthonormal in L^2([0, 1], dx):

- ``fourier``: f_{2k-1} = sqrt2 cos(2 pi k x), f_{2k} = sqrt2 sin(2 pi k x), k = 1..n (eq. 19);
- ``legendre``: f_k = sqrt(2k+1) P_k(2x - 1), k = 1..2n, the Legendre basis of the paper's
  footnote on other bases, moved from [-1, 1] to the pixel interval and normalised so that
  f_0 = 1 (the normalised measure dx/2 on [-1, 1]). Both bases then give d_0 = 2n channels and
  the same tensor-network picture.

``quadrature`` gives nodes and weights on which averages of products f_i * f_j are exact; the
dense-state reference in ``qcnn.reference`` rests on it.
"""
import math

import numpy as np
import torch

from .errors import check_choice

BASES = ("fourier", "legendre")


def check_basis(basis):
    """``basis`` if it is one of BASES, else InvalidInput naming them."""
    return check_choice("basis", basis, BASES)


def fourier(x, n):
    """f_1..f_2n of eq. (19) at x: a tensor of shape x.shape + (2n,), interleaved cos, sin."""
    k = torch.arange(1, n + 1, dtype=x.dtype, device=x.device)
    angle = (2 * math.pi) * x.unsqueeze(-1) * k
    return math.sqrt(2) * torch.stack((torch.cos(angle), torch.sin(angle)), dim=-1).flatten(-2)


def legendre(x, n):
    """f_1..f_2n = sqrt(2k+1) P_k(2x-1): shape x.shape + (2n,). Bonnet's recursion."""
    t = 2 * x - 1
    polys = [torch.ones_like(t), t]
    for k in range(1, 2 * n):
        polys.append(((2 * k + 1) * t * polys[k] - k * polys[k - 1]) / (k + 1))
    scale = torch.sqrt(torch.arange(3, 4 * n + 2, 2, dtype=x.dtype, device=x.device))
    return torch.stack(polys[1:], dim=-1) * scale


def features(x, n, basis="fourier"):
    """The representation layer (eq. 1): x of any shape -> x.shape + (2n,)."""
    check_basis(basis)
    return fourier(x, n) if basis == "fourier" else legendre(x, n)


def extended_features(x, n, basis="fourier"):
    """zeta~ of eq. (12) at the leaves: (1, f_1(x), ..., f_2n(x)), shape x.shape + (2n+1,)."""
    f = features(x, n, basis)
    return torch.cat((torch.ones_like(f[..., :1]), f), dim=-1)


def quadrature(n, basis="fourier"):
    """Nodes x_k in [0, 1] and weights w_k (M = 2n+1 of each, float64 numpy arrays) with
    sum_k w_k g(x_k) = int_0^1 g(x) dx exactly for every product g = f_i f_j, i, j <= 2n.

    Fourier: equispaced points, w = 1/M (exact for trigonometric degree <= 2n).
    Legendre: Gauss-Legendre points (exact for polynomial degree <= 4n + 1).
    """
    check_basis(basis)
    m = 2 * n + 1
    if basis == "fourier":
        return np.arange(m) / m, np.full(m, 1.0 / m)
    t, w = np.polynomial.legendre.leggauss(m)
    return (t + 1) / 2, w / 2


def dirichlet_kernel(z, n):
    """<x|x'> = D_n(x - x') = 1 + 2 sum_{k<=n} cos(2 pi k z) (eq. 25); tends to delta(z)."""
    z = torch.as_tensor(z, dtype=torch.float64)
    k = torch.arange(1, n + 1, dtype=torch.float64)
    return 1 + 2 * torch.cos(2 * math.pi * z.unsqueeze(-1) * k).sum(-1)
