"""Entanglement entropy of the label states |Psi_y> across the top cut (§3.2, eqs. 36-45).

The top pooling writes each label state as (eq. 40)

    |Psi_y> = sum_I c_I |a_I>_U (x) |a_I>_Ubar,     c = a~^(L)_y,

where |a_I> are the states of one half of the image (channel I of xi~^(L-1)), the same on
both halves by weight sharing. Only their Gram matrix G_IJ = <a_I|a_J> matters, and it follows
from the tree by a recursion: the leaf basis is orthonormal (G = 1), a convolution maps
G -> a~ G a~^T, and a product pooling squares G element-wise (a node's state is the tensor
product of its two children's states in the same channel). With G = R R^T, the coefficient
matrix of |Psi_y> in an orthonormal basis is R^T diag(c) R up to rotations, so its eigenvalues
are the Schmidt coefficients and p = lambda^2 / sum lambda^2 (eqs. 42-45). Each level's G is
divided by its largest entry; the entropy does not depend on scale.

``dense_state`` is the brute-force reference for tiny images: the coefficients Psi_{y;i} of
eq. (30), computed from nothing but the model's forward pass on a grid of images.
"""
import copy

import numpy as np
import torch

from .basis import extended_features, quadrature
from .tensor import half_tree_gram_tn, tilde_matrices


def gram_recursion(tildes, last_conv=True):
    """G_IJ = <a_I|a_J> (up to scale) for the top pooling's inputs xi~^(L-1), float64; with
    ``last_conv=False`` the Gram matrix of the states zeta~^(L-1) that the last convolution
    maps to them (D_{L-1} <= D_L of them: the half states span at most D_{L-1} dimensions)."""
    g = torch.eye(tildes[0].shape[1], dtype=torch.float64)
    for level, a in enumerate(tildes[:-1]):
        if level:
            g = g * g                     # product pooling: same channel, two subtrees
        if level == len(tildes) - 2 and not last_conv:
            return g
        g = a @ g @ a.T                   # batch norm + convolution, eq. (15)
        g = g / g.abs().max()
    return g


def entropies_from_gram(gram, top, last=None):
    """Von Neumann entropies (nats) of the labels' reduced density matrices (eqs. 37-45).

    gram: (D, D) Gram matrix of the half states; top: (|C|, D) matrix a~^(L), row y = c. With
    ``last`` (the last convolution a~^(L-1)), ``gram`` is that of its inputs instead, and the
    eigenproblems are D_{L-1}-sized. G = R R^T (Cholesky, or eigenvectors where G is singular);
    the Schmidt coefficients are the eigenvalues of R^T diag(c) R (R^T a~^T diag(c) a~ R)."""
    try:
        root = torch.linalg.cholesky(gram)
    except torch.linalg.LinAlgError:
        lam, u = torch.linalg.eigh(gram)
        root = u * lam.clamp(min=0).sqrt()
    if last is not None:
        root = last @ root
    schmidt = torch.linalg.eigvalsh(root.T @ (top[:, :, None] * root))
    return entropy_of_weights(schmidt**2)


def entropy_of_weights(weights):
    """S = -sum p ln p with p = weights / sum(weights), along the last axis (eqs. 44-45)."""
    p = weights / weights.sum(-1, keepdim=True)
    return -torch.special.xlogy(p, p).sum(-1)


def entanglement_entropy(model):
    """Entropy (nats) of each normalised label state |Psi_y,*> (eq. 36) across the top cut:
    a float64 tensor of shape (|C|,). Batch norms enter with their running statistics (eval
    mode), whatever mode the model is in."""
    tildes = tilde_matrices(model)
    return entropies_from_gram(gram_recursion(tildes, last_conv=False), tildes[-1], tildes[-2])


def entanglement_entropy_tn(model):
    """The same entropies, with the Gram matrix contracted by ``tensornetwork`` instead of the
    recursion: an independent cross-check of ``entanglement_entropy``."""
    tildes = tilde_matrices(model)
    return entropies_from_gram(half_tree_gram_tn(tildes, model.n_pixels), tildes[-1])


def dense_state(model, chunk=1 << 14):
    """All coefficients Psi_{y; i_1..i_N} (eq. 30) in the orthonormal product basis (eq. 27):
    a float64 numpy array of shape (|C|, M, ..., M), M = 2n+1, one axis per pixel in the
    image's row-major order. Only the eval-mode forward pass is used: alpha_y is a polynomial
    of degree <= n in each pixel's features, so on the quadrature grid of ``basis.quadrature``
    Psi_{y;i} = sum_k w_k f_i(x_k) alpha_y(..x_k..), one pixel axis at a time. (2n+1)^N images:
    fine for N = 8 or N = 16 with n = 1, out of reach beyond.
    """
    nodes, weights = quadrature(model.n, model.basis)
    size, n_pixels = len(nodes), model.n_pixels
    net = copy.deepcopy(model).double().eval()
    place = size ** torch.arange(n_pixels - 1, -1, -1)
    grid = torch.from_numpy(nodes)
    values = torch.empty(size**n_pixels, model.n_classes, dtype=torch.float64)
    with torch.no_grad():
        for start in range(0, len(values), chunk):
            index = torch.arange(start, min(start + chunk, len(values)))
            images = grid[(index[:, None] // place) % size]
            values[start:start + len(index)] = net(images.reshape(-1, *model.image_size))
    psi = values.T.reshape((model.n_classes,) + (size,) * n_pixels).numpy()
    transform = weights * extended_features(grid, model.n, model.basis).numpy().T
    for axis in range(1, n_pixels + 1):
        psi = np.moveaxis(np.tensordot(transform, psi, axes=(1, axis)), 0, axis)
    return psi


def amplitudes(psi, model, images):
    """<x|Psi_y> = sum_i Psi_{y;i} prod_p f_{i_p}(x_p) (eqs. 29-31): the wavefunction of the
    dense state at each image (row-major pixels), shape (B, |C|). Equals the network's output."""
    leaves = extended_features(torch.as_tensor(images, dtype=torch.float64).reshape(len(images), -1),
                               model.n, model.basis).numpy()
    out = []
    for leaf in leaves:
        value = psi
        for f in leaf:                     # contract one pixel axis at a time
            value = np.tensordot(value, f, axes=([1], [0]))
        out.append(value)
    return torch.from_numpy(np.stack(out))


def schmidt_weights(matrices, probes=64, tolerance=1e-12):
    """Squared singular values of each matrix in a stack (K, R, C): the eigenvalues of the
    smaller Gram matrix M M^T. Where that is large (min(R, C) > 1024) and the matrix has low
    rank (the top cut: rank <= d_L + 1), a Gaussian range finder with ``probes`` columns first:
    its relative residual ||M - Q Q^T M|| is checked, and by Weyl's inequality it bounds the
    error of every singular value; if it misses, the full Gram matrix is used."""
    if matrices.shape[1] > matrices.shape[2]:
        matrices = matrices.transpose(0, 2, 1)
    rng = np.random.default_rng(0)
    values = []
    for m in matrices:
        if m.shape[0] > 1024:
            q, _ = np.linalg.qr(m @ rng.standard_normal((m.shape[1], probes)))
            b = q.T @ m
            if np.linalg.norm(m - q @ b) <= tolerance * np.linalg.norm(m):
                values.append(np.pad(np.linalg.svd(b, compute_uv=False) ** 2,
                                     (0, m.shape[0] - probes)))
                continue
        values.append(np.clip(np.linalg.eigvalsh(m @ m.T), 0, None))
    return np.stack(values)


def top_cut_region(model):
    """The pixels (H, W) bool of the top cut's first half: the upper rows (``updown``) or the
    left columns (``leftright``)."""
    h, w = model.image_size
    rows, cols = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    return rows < h // 2 if model.partition == "updown" else cols < w // 2


def dense_schmidt_weights(model, region=None, psi=None):
    """Schmidt weights p (|C|, r), summing to 1, of each label state across the pixels in
    ``region`` (bool (H, W); default: the top cut) and the rest, from the dense state: the
    singular values of Psi_y reshaped into a (A, A-bar) matrix, squared and normalised."""
    psi = dense_state(model) if psi is None else psi
    in_a = (top_cut_region(model) if region is None else torch.as_tensor(region)).flatten().numpy()
    axes = [0] + [1 + p for p in np.flatnonzero(in_a)] + [1 + p for p in np.flatnonzero(~in_a)]
    size = psi.shape[1]
    matrices = psi.transpose(axes).reshape(len(psi), size ** int(in_a.sum()), -1)
    weights = torch.from_numpy(schmidt_weights(matrices))
    return weights / weights.sum(-1, keepdim=True)


def dense_entropy(model, psi=None, region=None):
    """Von Neumann entropies across a region (default: the top cut: the upper vs lower half of
    the image's rows for ``updown``, left vs right columns for ``leftright``) from the dense
    state, with no tree at all."""
    return entropy_of_weights(dense_schmidt_weights(model, region, psi))

def top_gram_summary(model):
    """The top pooling's inputs at a glance: (share of the constant channel, G_00 / max |G|;
    effective rank of the Gram matrix, trace / largest eigenvalue). A share near 0 and an
    effective rank near 1 mean the half states are nearly one state: a nearly product label."""
    gram = gram_recursion(tilde_matrices(model))
    lam = torch.linalg.eigvalsh(gram)
    return (gram[0, 0] / gram.abs().max()).item(), (lam.sum() / lam.max()).item()
