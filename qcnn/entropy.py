"""Entanglement entropy of the label states |Psi_y> across the top cut (§3.2, eqs. 36-45).

The top pooling writes each label state as (eq. 40)

    |Psi_y> = sum_I c_I |a_I>_U (x) |a_I>_Ubar,     c = a~^(L)_y,

where |a_I> are the states of one half of the image (channel I of xi~^(L-1)), the same on
both halves by weight sharing. Only their Gram matrix G_IJ = <a_I|a_J> matters
(``network.level_grams``). With G = R R^T, the coefficient matrix of |Psi_y> in an orthonormal
basis is R^T diag(c) R up to rotations: a symmetric matrix whose eigenvalues lambda are real but
not necessarily positive. The Schmidt coefficients are |lambda| and the Schmidt weights
p = lambda^2 / sum lambda^2 (eqs. 42-45).
"""
import torch

from .network import gram_root, level_grams, tilde_matrices


def entropy_of_weights(weights):
    """S = -sum p ln p with p = weights / sum(weights), along the last axis (eqs. 44-45)."""
    p = weights / weights.sum(-1, keepdim=True)
    return -torch.special.xlogy(p, p).sum(-1)


def entropies_from_gram(gram, top, last=None):
    """Von Neumann entropies (nats) of the labels' reduced density matrices (eqs. 37-45).

    gram: (D, D) Gram matrix of the half states; top: (|C|, D) matrix a~^(L), row y = c. With
    ``last`` (the last convolution a~^(L-1)), ``gram`` is that of its inputs instead, and the
    eigenproblems are D_{L-1}-sized: the half states span at most D_{L-1} dimensions."""
    root = gram_root(gram)
    if last is not None:
        root = last @ root
    schmidt = torch.linalg.eigvalsh(root.T @ (top[:, :, None] * root))
    return entropy_of_weights(schmidt**2)


def entanglement_entropy(model):
    """Entropy (nats) of each normalised label state |Psi_y,*> (eq. 36) across the top cut:
    a float64 tensor of shape (|C|,). Batch norms enter with their running statistics (eval
    mode), whatever mode the model is in."""
    tildes = tilde_matrices(model)
    grams, _, _ = level_grams(tildes)
    return entropies_from_gram(grams[-2], tildes[-1], tildes[-2])


def half_state_summary(model):
    """The top pooling's inputs at a glance: (overlap, effective rank) of the half states
    |a_I>, whose Gram matrix is G~ = G~_{L-1}. ``overlap``: |<v|1>| / (|v| |1|), the cosine in
    L^2 between the dominant state v = sum_I u_I |a_I> (u: G~'s top eigenvector, eigenvalue
    lambda) and the constant function, which is channel 0: u_0 sqrt(lambda / G~_00).
    ``effective rank``: trace / lambda. An effective rank near 1 means the half states are
    nearly one state (a nearly product label state); an overlap near 1, that this state is the
    constant function."""
    _, xi_grams, _ = level_grams(tilde_matrices(model))
    gram = xi_grams[-1]
    lam, u = torch.linalg.eigh(gram)
    overlap = (u[0, -1].abs() * (lam[-1] / gram[0, 0]).sqrt()).clamp(max=1)
    return overlap.item(), (lam.sum() / lam[-1]).item()
