"""Reference oracles: the same quantities computed with no shortcut, for the tests and the
chapters' cross-checks.

- The dense state of a tiny image (``dense_state``): the coefficients Psi_{y;i} of eq. (30)
  from nothing but the model's forward pass on a grid of images, its wavefunction
  (``amplitudes``) and the Schmidt weights across any region (``dense_schmidt_weights``).
- The tree built node by node with the ``tensornetwork`` library (``tree_tn``, one builder):
  the Gram matrix of the half states (``half_tree_gram_tn``), a reduced density matrix
  (``reduced_density_tn``) and the top-cut entropy from them (``entanglement_entropy_tn``).
- The chimera matrices alpha_y(half of image a, half of image b) from the forward pass
  (``chimera_matrices``), the reference for ``cuts.data_entropy``.
"""
import copy

import numpy as np
import torch

from .basis import extended_features, quadrature
from .entropy import entropies_from_gram, entropy_of_weights
from .network import tilde_matrices


# ------------------------------------------------------------------------ the dense state

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



# ------------------------------------------------------------- the tree, node by node

def tree_tn(mats, level, leaf_edges, nodes):
    """Build, with ``tensornetwork`` (numpy backend), the subtree of ``level`` over the open
    edges ``leaf_edges`` (2^level of them, each carrying a leaf's zeta~): a~^(l) nodes
    (``mats[l]``) joined by same-channel delta tensors. Every node made is appended to
    ``nodes``; returns the open edge that carries the subtree's zeta~^(level)."""
    import tensornetwork as tn

    if level == 0:
        return leaf_edges[0]
    half = len(leaf_edges) // 2
    delta = tn.CopyNode(3, mats[level - 1].shape[0], backend="numpy")
    nodes.append(delta)
    for slot, part in enumerate((leaf_edges[:half], leaf_edges[half:])):
        a = tn.Node(mats[level - 1], backend="numpy")
        nodes.append(a)
        tree_tn(mats, level - 1, part, nodes) ^ a[1]
        a[0] ^ delta[slot]
    return delta[2]


def _identities(count, dim, nodes):
    """``count`` identity nodes (dim x dim): a leaf's ket leg meets its bra leg through one,
    the leaf basis being orthonormal."""
    import tensornetwork as tn

    made = [tn.Node(np.eye(dim), backend="numpy") for _ in range(count)]
    nodes.extend(made)
    return made


def half_tree_gram_tn(tildes, n_pixels):
    """Gram matrix G_IJ = <a_I|a_J> of the states of one half of the image (the inputs of the
    top pooling), contracted node by node: the half tree, joined to its mirror image through
    the leaves. Unlike ``network.level_grams`` nothing is rescaled on the way (the network as
    it is), so a very deep or badly scaled tree can leave float64's range: that raises."""
    import tensornetwork as tn

    mats = [a.numpy() for a in tildes[:-1]]
    nodes = []
    leaves = _identities(n_pixels // 2, mats[0].shape[1], nodes)
    level = len(mats) - 1                       # a half holds 2^(L-1) pixels
    ket, bra = tn.Node(mats[-1], backend="numpy"), tn.Node(mats[-1], backend="numpy")
    nodes += [ket, bra]                         # a~^(L-1) on each side gives xi~^(L-1)
    tree_tn(mats, level, [leaf[0] for leaf in leaves], nodes) ^ ket[1]
    tree_tn(mats, level, [leaf[1] for leaf in leaves], nodes) ^ bra[1]
    gram = tn.contractors.greedy(nodes, output_edge_order=[ket[0], bra[0]]).tensor
    if not np.isfinite(gram).all() or not np.abs(gram).max() > 0:
        raise FloatingPointError("the half-tree Gram left float64's range (use the rescaled "
                                 "recursion, qcnn.network.level_grams)")
    return torch.from_numpy(gram)


def reduced_density_tn(tildes, n_pixels, in_a, label):
    """rho_A (unnormalised) of one label state for the leaves ``in_a`` (a list of N bools in
    chain order): ket and bra copies of the whole tree joined through the leaves outside A.
    A (D_0^|A|, D_0^|A|) float64 tensor, for checks on small trees."""
    import tensornetwork as tn

    mats = [a.numpy() for a in tildes[:-1]]
    nodes = []
    copies = []
    for _ in range(2):                                    # ket, bra
        leaves = _identities(n_pixels, mats[0].shape[1], nodes)
        top = tn.Node(tildes[-1][label].numpy(), backend="numpy")
        nodes.append(top)
        tree_tn(mats, n_pixels.bit_length() - 1, [leaf[0] for leaf in leaves], nodes) ^ top[0]
        copies.append([leaf[1] for leaf in leaves])
    ket, bra = copies
    for p in range(n_pixels):
        if not in_a[p]:
            ket[p] ^ bra[p]
    open_edges = [ket[p] for p in range(n_pixels) if in_a[p]] + \
                 [bra[p] for p in range(n_pixels) if in_a[p]]
    rho = tn.contractors.greedy(nodes, output_edge_order=open_edges).tensor
    side = int(round(rho.size ** 0.5))
    return torch.from_numpy(rho.reshape(side, side))


def entanglement_entropy_tn(model):
    """The top-cut entropies with the Gram matrix contracted by ``tensornetwork`` instead of
    the recursion: an independent cross-check of ``entropy.entanglement_entropy``."""
    tildes = tilde_matrices(model)
    return entropies_from_gram(half_tree_gram_tn(tildes, model.n_pixels), tildes[-1])


# ------------------------------------------------------------------------ the data's view

def chimera_matrices(model, images):
    """The explicit chimera matrices alpha_y(half 1 of a, half 2 of b), (|C|, B, B), from the
    model's forward pass on images glued from two halves (the reference for ``data_entropy``)."""
    chains = model.flatten(torch.as_tensor(images, dtype=torch.float64))
    half = chains.shape[1] // 2
    b = len(chains)
    glued = torch.cat((chains[:, None, :half].expand(b, b, half),
                       chains[None, :, half:].expand(b, b, half)), dim=2).reshape(b * b, -1)
    net = copy.deepcopy(model).double().eval()
    with torch.no_grad():
        alpha = net(glued)
    return alpha.T.reshape(-1, b, b)
