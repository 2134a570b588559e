"""The q-CNN as a tensor network (§2.1): the folded tree, its contraction and its Gram matrices.

Batch norm in eval mode is affine, zeta' = w zeta + z with w = gamma / sqrt(var + eps) and
z = beta - mean * w (eqs. 2-4). Adding a constant channel makes it linear (eqs. 11-13), and
with the convolution a^(l) it folds into one matrix per layer (eq. 15),

    a~^(l) = [[1, 0], [a z, a diag(w)]]     of size (d_{l+1} + 1) x (d_l + 1),

and for the classifier a~^(L) = [a z, a diag(w)] (eq. 16). The product pooling keeps the
constant channel (1 * 1 = 1), so the whole network is a binary tree of the matrices a~^(l),
shared by all positions, joined by same-channel delta tensors (Fig. 1, right), whose leaves are
the extended features zeta~ = (1, f_1(x), ..., f_2n(x)).

The tree's states: a subtree of level l (2^l consecutive leaves of the chain) carries the
states |zeta_J> of its top node, J < D_l = d_l + 1. The leaf basis is orthonormal, so their
Gram matrix starts as G_0 = 1; a convolution maps it to G~_l = a~ G_l a~^T and a pooling to
G_{l+1} = G~_l o G~_l (o: element-wise; a node's state is the tensor product of its two
children's states in the same channel). ``level_grams`` is that recursion, the one every
entropy of this package rests on; ``gram_root`` the one matrix square root G = R R^T.
"""
import torch

from .errors import InvalidInput
from .basis import extended_features
from .model import QCNN


def folded_batchnorm(norm):
    """(w, z) of eq. (4) for an eval-mode BatchNorm1d (running statistics), float64 on the CPU."""
    w = norm.weight.detach().cpu().double() / torch.sqrt(norm.running_var.cpu().double() + norm.eps)
    z = norm.bias.detach().cpu().double() - norm.running_mean.cpu().double() * w
    return w, z


def tilde_matrices(model):
    """[a~^(0), ..., a~^(L)] of eqs. (15)-(16) as float64 CPU tensors, batch norm in eval mode
    (a model on a GPU is read from there: the entropies are computed on the CPU, in float64).
    ValueError for anything but a QCNN, for non-finite weights or statistics, and for a zero
    classifier (every label state 0: nothing to measure)."""
    if not isinstance(model, QCNN):
        raise InvalidInput(f"model must be a qcnn.QCNN, got {type(model).__name__}")
    tildes = []
    for norm, conv in zip(model.norms, model.convs):
        w, z = folded_batchnorm(norm)
        a = conv.weight.detach().cpu().double()
        tildes.append(torch.cat(((a @ z)[:, None], a * w), dim=1))
    for l in range(len(tildes) - 1):
        top = torch.zeros(1, tildes[l].shape[1], dtype=torch.float64)
        top[0, 0] = 1
        tildes[l] = torch.cat((top, tildes[l]), dim=0)
    if not all(torch.isfinite(a).all() for a in tildes):
        raise InvalidInput("the model's weights or batch-norm statistics are not finite")
    if not tildes[-1].any():
        raise InvalidInput("the model's classifier folds to zero (all-zero weights?): every label "
                         "state is 0 and has no entropy")
    return tildes


def embed(model, x):
    """Leaf vectors zeta~ (B, N, 2n+1), float64, of images or chains x in the model's order."""
    return extended_features(model.flatten(x).double(), model.n, model.basis)


def contract_tree(tildes, leaves, halves=False):
    """alpha (B, |C|) from leaves (B, N, d_0+1): apply a~, pool, repeat; then a~^(L). With
    ``halves``, stop before the top pooling: the states xi~^(L-1) of the two halves of the
    image, (B, 2, D_L)."""
    z = leaves
    for level, a in enumerate(tildes[:-1]):
        xi = z @ a.T
        if halves and level == len(tildes) - 2:
            return xi
        z = xi[:, 0::2] * xi[:, 1::2]
    return z[:, 0] @ tildes[-1].T


def level_grams(tildes):
    """The Gram recursion of the tree: ([G_0, ..., G_L], [G~_0, ..., G~_{L-1}], scales).
    G_0 = 1, G~_l = a~^(l) G_l a~^(l)T / s_l with s_l its largest entry (``scales``; entropies
    do not depend on scale), G_{l+1} = G~_l o G~_l. G_l is the Gram matrix of a level-l
    subtree's states (the last, G_{L-1}, of the states that the last convolution maps to the
    top pooling's inputs, whose Gram matrix is G~_{L-1}); G_L = G~_{L-1} o G~_{L-1} is that of
    the whole image's states."""
    g = torch.eye(tildes[0].shape[1], dtype=torch.float64)
    grams, xi_grams, scales = [], [], []
    for a in tildes[:-1]:
        grams.append(g)
        gx = a @ g @ a.T
        scales.append(gx.abs().max())
        xi_grams.append(gx / scales[-1])
        g = xi_grams[-1] * xi_grams[-1]
    return grams + [g], xi_grams, scales


def gram_root(gram):
    """R with G = R R^T: the Cholesky factor, or where that fails (G singular to rounding) the
    eigenvectors scaled by the square roots of the clamped eigenvalues (zero columns). Roots
    differ by a rotation, which no spectrum computed from them sees."""
    try:
        return torch.linalg.cholesky(gram)
    except torch.linalg.LinAlgError:
        lam, u = torch.linalg.eigh(gram)
        return u * lam.clamp(min=0).sqrt()
