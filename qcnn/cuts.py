"""Entanglement across every cut of the tree (the top cut is §3.2's; the rest is new).

The tree's states (``qcnn.network``): a subtree of level l (2^l consecutive leaves in the chain
order of ``QCNN.flatten``) carries the states |zeta_J> of its top node, J < D_l = d_l + 1, with
Gram matrix G_l; the convolution gives |xi_I> = sum_J a~_IJ |zeta_J> with Gram
G~_l = a~ G_l a~^T, and pooling makes G_{l+1} = G~_l o G~_l (o: element-wise). Weight sharing
makes every subtree of a level the same.

- ``subtree_entropies``: a subtree T of level k against the rest. Write
  |Psi_y> = sum_J |zeta_J>_T (x) |E_J>; the environment Gram H_k = <E_J|E_J'> follows top-down:
  H_L = c c^T (c = a~^(L)_y), K_l = G~_l o H_{l+1} (the sibling's states times the parent's
  environment) and H_l = a~^(l)T K_l a~^(l). rho_T has the nonzero spectrum of
  G_k^(1/2) H_k G_k^(1/2).
- ``renyi2_entropy``: any region A. -ln tr rho_A^2 pairs four copies of the state: a leaf in A
  joins copies 1-4 and 2-3, a leaf outside joins 1-2 and 3-4. A subtree wholly in A carries
  G_(14) G_(23), wholly outside G_(12) G_(34): matrices. A mixed subtree carries a four-index
  tensor T_(I1 I2 I3 I4): pooling multiplies children element-wise, the convolution acts on each
  leg. At the top, tr rho^2 = sum_I c_I1 c_I2 c_I3 c_I4 T_I / (c^T G_L c)^2. Mixed subtrees with
  the same pattern of A are computed once. Cost: D^5 per mixed pattern and level (D the width),
  memory D^4 per stored mixed tensor (float64: 3.5 GB at d = 18's level L - 1, D = 145); the top
  level's is streamed in blocks, never stored.
- ``min_cut_bound``: Levine et al.'s bound, the least sum of ln(bond dimension) over edge sets
  that separate A's physical legs from the rest (a dynamic programme on the tree).
- ``data_entropy``: the top cut seen through data: the Gram matrices of the two halves' states
  on the images of a data set instead of L^2([0,1]^N); ``norm_on_data``: where the label
  states' norm lies, at the data or spread over the cube.
- ``truncated_tildes``: Gao et al.'s compression: keep chi Schmidt states per bond.

Every function reads a model through its folded matrices (``tilde_matrices``: eval mode) and
the one Gram recursion (``network.level_grams``).
"""
import math

import numpy as np
import torch

from .errors import InvalidInput, check_int
from .entropy import entropy_of_weights
from .model import check_memory, check_pixels
from .network import contract_tree, embed, gram_root, level_grams, tilde_matrices


# ---------------------------------------------------------------------------- regions

def chain_mask(model, region):
    """A region (H, W) bool tensor -> (N,) bool in the model's chain order; ValueError naming
    ``region`` if it is not a proper, non-empty boolean mask of the image's shape."""
    if not isinstance(region, (torch.Tensor, np.ndarray, list, tuple)):
        raise InvalidInput(f"region must be a boolean mask of the image's shape {model.image_size} "
                         f"(a tensor, array or nested list), got {type(region).__name__}")
    try:
        region = torch.as_tensor(np.asarray(region) if isinstance(region, (list, tuple)) else region)
    except (TypeError, ValueError, RuntimeError):
        raise InvalidInput(f"region must be a boolean mask of the image's shape {model.image_size}, "
                         "got something torch cannot read as one") from None
    if region.dtype != torch.bool:
        raise InvalidInput(f"region must be a boolean tensor, got dtype {region.dtype}")
    if tuple(region.shape) != model.image_size:
        raise InvalidInput(f"region must have the image's shape {model.image_size}, got "
                         f"{tuple(region.shape)}")
    if not region.any() or region.all():
        raise InvalidInput("region must be a proper, non-empty subset of the pixels "
                         f"({int(region.sum())} of {region.numel()} selected)")
    return model.flatten(region[None].to(torch.uint8))[0].bool()


def subtree_region(model, level, index=0):
    """The pixels (H, W) bool of the ``index``-th subtree of 2^level consecutive leaves."""
    level = check_int("level", level, 0, model.n_layers - 1)
    index = check_int("index", index, 0, (model.n_pixels >> level) - 1)
    chain = torch.zeros(model.n_pixels, dtype=torch.bool)
    chain[index << level:(index + 1) << level] = True
    h, w = model.image_size
    if model.partition == "updown":
        return chain.reshape(h, w)
    return chain.reshape(w, h).T.contiguous()


# ---------------------------------------------------------------- subtree (von Neumann)

def environments(tildes, xi_grams):
    """[H_0, ..., H_{L-1}]: each label's environment Gram of a level-k subtree's channels,
    (|C|, D_k, D_k), top-down (module docstring), each divided by its largest entry."""
    c = tildes[-1]
    env = c[:, :, None] * c[:, None, :]                    # H_L = c c^T, one per label
    envs = []
    for level in range(len(xi_grams) - 1, -1, -1):
        k = xi_grams[level] * env                           # K_l = G~_l o H_{l+1}
        env = tildes[level].T @ k @ tildes[level]           # H_l = a~^T K_l a~
        env = env / env.abs().amax(dim=(1, 2), keepdim=True)
        envs.append(env)
    return envs[::-1]


def subtree_spectra(model):
    """Schmidt weights (summing to 1) of each label state across a level-k subtree, for
    k = 0..L-1: a list of (|C|, D_k) float64 tensors, ascending: the eigenvalues of
    G_k^(1/2) H_k G_k^(1/2), normalised."""
    tildes = tilde_matrices(model)
    grams, xi_grams, _ = level_grams(tildes)
    spectra = []
    for gram, env in zip(grams, environments(tildes, xi_grams)):
        root = gram_root(gram)
        weights = torch.linalg.eigvalsh(root.T @ env @ root).clamp(min=0)
        spectra.append(weights / weights.sum(-1, keepdim=True))
    return spectra


def subtree_entropies(model):
    """Von Neumann entropy (nats) of each normalised label state across the cut between one
    subtree of 2^k consecutive leaves (chain order) and the rest: float64 (L, |C|), row k for
    k = 0..L-1; row L-1 is the top cut (``entanglement_entropy``)."""
    return torch.stack([entropy_of_weights(p) for p in subtree_spectra(model)])


# ------------------------------------------------------------------- Renyi-2 (replicas)

def _four(kind, g, rows=slice(None)):
    """Rows ``rows`` (of leg 1) of the four-index tensor of a pure subtree with Gram g: A pairs
    copies 1-4 and 2-3, B pairs 1-2 and 3-4."""
    if kind == "A":
        return g[rows, None, None, :] * g[None, :, :, None]
    return g[rows, :, None, None] * g[None, None, :, :]


def _xi_chunks(node, a, scale, block):
    """The xi-level replica tensor of a node, a~ on every leg, divided by scale^2, in blocks of
    ``block`` rows of leg 1: yields (rows, tensor). ``node`` is (kind, zeta-level object): a
    Gram matrix for a pure subtree, a four-index tensor for a mixed one."""
    kind, t = node
    if kind != "M":
        g = a @ t @ a.T / scale
        for i in range(0, len(a), block):
            yield slice(i, i + block), _four(kind, g, slice(i, i + block))
        return
    for i in range(0, len(a), block):
        u = torch.tensordot(a[i:i + block], t, dims=([1], [0]))
        for _ in range(3):                     # legs 2, 3, 4: each moves to the end
            u = torch.tensordot(u, a, dims=([1], [1]))
        yield slice(i, i + block), u / scale**2


def _pairs(left, right, a, scale, block):
    """Blocks (rows, left_xi * right_xi) of the two children's xi-level tensors: the parent's
    zeta-level tensor (product pooling, element-wise in all four copies' channels)."""
    if left is right:                                      # same pattern: square
        for rows, x in _xi_chunks(left, a, scale, block):
            yield rows, x * x
        return
    for (rows, x), (_, y) in zip(_xi_chunks(left, a, scale, block),
                                 _xi_chunks(right, a, scale, block)):
        yield rows, x * y


def mixed_patterns(mask, n_layers):
    """For each level 1..L-1, the distinct patterns of A (tuples of bools) over its subtrees
    that are partly in A: the four-index tensors ``renyi2_entropy`` builds there."""
    levels = []
    for level in range(1, n_layers):
        size = 1 << level
        found = dict.fromkeys(tuple(mask[start:start + size])
                              for start in range(0, len(mask), size))
        levels.append([p for p in found if any(p) and not all(p)])
    return levels


def renyi2_memory(model, patterns, block):
    """Bytes ``renyi2_entropy`` needs at its peak: at each level, the mixed tensors below and
    those being built (D^4 float64 each, D = the level's width + 1) and three blocks of rows of
    a tensor (``block`` * D^3 each)."""
    width = [w + 1 for w in model.widths[:-1]]              # D_0 .. D_L
    stored = [0] + [len(p) * width[level] ** 4 for level, p in enumerate(patterns, 1)] + [0]
    return 8 * max(stored[level - 1] + stored[level]
                   + 3 * min(block, width[level]) * width[level] ** 3
                   for level in range(1, model.n_layers + 1))


def renyi2_entropy(model, region, block=8):
    """Rényi-2 entropy -ln tr rho_A^2 (nats) of each normalised label state for the pixels A
    (``region``: bool (H, W), a proper non-empty subset): float64 (|C|,). Exact (float64): the
    replica contraction of the module's docstring, a lower bound on the von Neumann entropy.
    Built level by level; a level's distinct mixed patterns are kept until the next level is
    built: the memory this needs (``renyi2_memory``) is checked before anything is built.
    ``block``: rows of leg 1 contracted at once (an integer >= 1)."""
    block = check_int("block", block, 1)
    mask = chain_mask(model, region).tolist()
    patterns = mixed_patterns(mask, model.n_layers)
    check_memory(renyi2_memory(model, patterns, block), "the Rényi-2 entropy of this region "
                 f"at d = {model.d}, n = {model.n}", smaller="d, n, block or region")
    tildes = tilde_matrices(model)
    grams, _, scales = level_grams(tildes)

    def pure(level, pattern):
        return ("A" if pattern[0] else "B"), grams[level]

    below = {}
    for level, mixed in enumerate(patterns, 1):
        size = 1 << level
        here = {}
        for pattern in mixed:
            left, right = (below.get(p) or pure(level - 1, p)
                           for p in (pattern[:size // 2], pattern[size // 2:]))
            d = len(tildes[level - 1])
            t = torch.empty(d, d, d, d, dtype=torch.float64)
            for rows, chunk in _pairs(left, right, tildes[level - 1], scales[level - 1], block):
                t[rows] = chunk
            here[pattern] = ("M", t)
        below = here
    top, half = model.n_layers, model.n_pixels >> 1
    left, right = (below.get(p) or pure(top - 1, p)
                   for p in (tuple(mask[:half]), tuple(mask[half:])))
    c = tildes[-1]
    purity = torch.zeros(len(c), dtype=torch.float64)
    for rows, chunk in _pairs(left, right, tildes[top - 1], scales[top - 1], block):
        for y, cy in enumerate(c):
            purity[y] += cy[rows] @ (((chunk @ cy) @ cy) @ cy)
    norm = torch.einsum("yi,ij,yj->y", c, grams[top], c)
    return -torch.log(purity / norm**2)


# ------------------------------------------------------------------------- min-cut bound

def min_cut_bound(model, region):
    """Levine et al.'s bound (nats) on the entanglement of any label state between the pixels
    of ``region`` (bool (H, W)) and the rest, for this architecture: the least sum of
    ln(dimension) over edges of the tree whose removal separates A's physical legs from the
    others. The tree: leg p (D_0 = 2n+1) - a~^(0) - (D_1) - delta - (D_1) - a~^(1) - (D_2) -
    delta - ... - top delta. A dynamic programme: for each node the cheapest cut below it with
    the node on A's side or on the other side."""
    mask = chain_mask(model, region).tolist()
    dims = [w + 1 for w in model.widths[:-1]]                  # D_0 .. D_L
    weight = [math.log(d) for d in dims]
    inf = float("inf")

    def up(side_costs, w):
        """Costs at a node above an edge of weight w, from the costs just below it."""
        a, b = side_costs
        return min(a, b + w), min(b, a + w)

    # each leaf: the physical leg (weight ln D_0) from its terminal into a~^(0)
    nodes = [up((0.0, inf) if in_a else (inf, 0.0), weight[0]) for in_a in mask]
    for level in range(model.n_layers):
        nodes = [up(n, weight[level + 1]) for n in nodes]      # a~^(level) -> delta
        nodes = [(l[0] + r[0], l[1] + r[1]) for l, r in zip(nodes[0::2], nodes[1::2])]
        if level + 1 < model.n_layers:
            nodes = [up(n, weight[level + 1]) for n in nodes]  # delta -> a~^(level + 1)
    return min(nodes[0])


# ------------------------------------------------------------------------ the data's view

def check_images(model, images):
    """``images`` (a tensor or array) as a float64 tensor (B, H, W) or (B, N); InvalidInput
    naming ``images`` unless it is a non-empty batch of float32 or float64 values in [0, 1]
    (``model.check_pixels``) of the model's image shape."""
    if not isinstance(images, (torch.Tensor, np.ndarray)):
        raise InvalidInput(f"images must be a tensor or array, got {type(images).__name__}")
    try:
        images = torch.as_tensor(images)
    except (TypeError, ValueError, RuntimeError):
        raise InvalidInput("images must hold floats in [0, 1], got an array torch cannot read") from None
    model.flatten(check_pixels("images", images))         # the shape against the model
    return images.double()


def data_entropy(model, images):
    """Top-cut entanglement of each label function seen through a data set: the von Neumann
    entropy (nats, float64 (|C|,)) of the 'chimera' matrix alpha_y(half 1 of image a, half 2 of
    image b) over the images. Its squared singular values are the eigenvalues of
    G_1^(1/2) diag(c) G_2 diag(c) G_1^(1/2), with G_i the data's Gram matrices of the half
    states (the tree contracted up to the top pooling) and c = a~^(L)_y: the top-cut
    construction with the data's inner product in place of L^2([0, 1]^N)."""
    tildes = tilde_matrices(model)
    halves = contract_tree(tildes, embed(model, check_images(model, images)), halves=True)
    grams = [h.T @ h / len(h) for h in halves.unbind(1)]
    c = tildes[-1]
    root = gram_root(grams[0])
    inner = root.T @ (c[:, :, None] * grams[1] * c[:, None, :]) @ root
    return entropy_of_weights(torch.linalg.eigvalsh(inner).clamp(min=0))


def log_norm(model):
    """ln <Psi_y|Psi_y> = ln int alpha_y(x)^2 dx over [0, 1]^N, per label (float64 (|C|,)):
    the Gram recursion with the scales it divides out kept as logarithms."""
    tildes = tilde_matrices(model)
    grams, _, scales = level_grams(tildes)
    log_scale = torch.zeros((), dtype=torch.float64)
    for s in scales:                                    # G_{l+1} = (e^lambda_l s_l)^2 g_{l+1}
        log_scale = 2 * (log_scale + torch.log(s))
    c = tildes[-1]
    return log_scale + torch.log(torch.einsum("yi,ij,yj->y", c, grams[-1], c))


def norm_on_data(model, images):
    """log10 of mean_data alpha_y(x)^2 / int alpha_y^2 dx, per label: the Born density
    |alpha_y|^2 / <Psi_y|Psi_y> at the images relative to its average over the whole cube
    [0, 1]^N (0: the data sit where an average image does; > 0: the state's norm gathers on
    them)."""
    alpha = contract_tree(tilde_matrices(model), embed(model, check_images(model, images)))
    return (torch.log(alpha.square().mean(0)) - log_norm(model)) / math.log(10)


# ------------------------------------------------------------------------- truncation

def truncated_tildes(model, chi):
    """Gao et al.-style compression of the tree: at every level k the channels of a subtree's
    state are projected onto the chi leading eigenvectors of the label-averaged reduced density
    matrix (1/|C|) sum_y rho_{y,k} (in the orthonormal basis G_k = R R^T); a~^(k) becomes
    a~^(k) M_k, M_k = R V V^T R^+. Returns the new list of folded matrices (``contract_tree``
    evaluates it)."""
    chi = check_int("chi", chi, 1)
    tildes = tilde_matrices(model)
    grams, xi_grams, _ = level_grams(tildes)
    out = []
    for a, gram, env in zip(tildes[:-1], grams, environments(tildes, xi_grams)):
        lam, u = torch.linalg.eigh(gram)
        keep = lam > lam.max() * 1e-14
        root, inverse = u[:, keep] * lam[keep].sqrt(), u[:, keep].T / lam[keep].sqrt()[:, None]
        rho = root.T @ env @ root
        rho = (rho / rho.diagonal(dim1=1, dim2=2).sum(-1)[:, None, None]).mean(0)
        _, vectors = torch.linalg.eigh(rho)
        v = vectors[:, -chi:]
        out.append(a @ (root @ v @ v.T @ inverse))
    return out + [tildes[-1]]
