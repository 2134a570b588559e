"""The q-CNN as a tensor network (§2.1).

Batch norm in eval mode is affine, zeta' = w zeta + z with w = gamma / sqrt(var + eps) and
z = beta - mean * w (eqs. 2-4). Adding a constant channel makes it linear (eqs. 11-13), and
with the convolution a^(l) it folds into one matrix per layer (eq. 15),

    a~^(l) = [[1, 0], [a z, a diag(w)]]     of size (d_{l+1} + 1) x (d_l + 1),

and for the classifier a~^(L) = [a z, a diag(w)] (eq. 16). The product pooling keeps the
constant channel (1 * 1 = 1), so the whole network is a binary tree of the matrices a~^(l),
shared by all positions, joined by same-channel delta tensors (Fig. 1, right), whose leaves are
the extended features zeta~ = (1, f_1(x), ..., f_2n(x)).

``contract_tree`` contracts that tree level by level; ``half_tree_gram_tn`` builds the same
tree with the ``tensornetwork`` library, node by node, as an independent implementation.
"""
import numpy as np
import torch

from .basis import extended_features


def folded_batchnorm(norm):
    """(w, z) of eq. (4) for an eval-mode BatchNorm1d (running statistics), float64 on the CPU."""
    w = norm.weight.detach().cpu().double() / torch.sqrt(norm.running_var.cpu().double() + norm.eps)
    z = norm.bias.detach().cpu().double() - norm.running_mean.cpu().double() * w
    return w, z


def tilde_matrices(model):
    """[a~^(0), ..., a~^(L)] of eqs. (15)-(16) as float64 CPU tensors, batch norm in eval mode
    (a model on a GPU is read from there: the entropies are computed on the CPU, in float64)."""
    tildes = []
    for norm, conv in zip(model.norms, model.convs):
        w, z = folded_batchnorm(norm)
        a = conv.weight.detach().cpu().double()
        tildes.append(torch.cat(((a @ z)[:, None], a * w), dim=1))
    for l in range(len(tildes) - 1):
        top = torch.zeros(1, tildes[l].shape[1], dtype=torch.float64)
        top[0, 0] = 1
        tildes[l] = torch.cat((top, tildes[l]), dim=0)
    return tildes


def embed(model, x):
    """Leaf vectors zeta~ (B, N, 2n+1), float64, of images or chains x in the model's order."""
    return extended_features(model.flatten(x).double(), model.n, model.basis)


def contract_tree(tildes, leaves):
    """alpha (B, |C|) from leaves (B, N, d_0+1): apply a~, pool, repeat; then a~^(L)."""
    z = leaves
    for a in tildes[:-1]:
        xi = z @ a.T
        z = xi[:, 0::2] * xi[:, 1::2]
    return z[:, 0] @ tildes[-1].T


def half_tree_gram_tn(tildes, n_pixels):
    """Gram matrix G_IJ = <a_I|a_J> of the states of one half of the image (the inputs of the
    top pooling), contracted node by node with ``tensornetwork`` (numpy backend): the half
    tree of a~ nodes and delta tensors, joined to its mirror image through the leaves. The leaf
    basis is orthonormal, so each ket leaf leg meets its bra leg through an identity.

    Unlike ``entropy.gram_recursion`` nothing is rescaled on the way (the network as it is), so
    a very deep or badly scaled tree can leave float64's range: that raises an error.
    """
    import tensornetwork as tn

    mats = [a.numpy() for a in tildes[:-1]]
    nodes = []

    def node(tensor):
        nodes.append(tn.Node(tensor, backend="numpy"))
        return nodes[-1]

    def state(level, leaf_edges):
        """The open edge carrying zeta~^(level) of the subtree over ``leaf_edges``."""
        if level == 0:
            return leaf_edges[0]
        half = len(leaf_edges) // 2
        delta = tn.CopyNode(3, mats[level - 1].shape[0], backend="numpy")
        nodes.append(delta)
        for slot, part in enumerate((leaf_edges[:half], leaf_edges[half:])):
            a = node(mats[level - 1])
            state(level - 1, part) ^ a[1]
            a[0] ^ delta[slot]
        return delta[2]

    identities = [node(np.eye(mats[0].shape[1])) for _ in range(n_pixels // 2)]
    level = len(mats) - 1                       # a half holds 2^(L-1) pixels
    ket, bra = node(mats[-1]), node(mats[-1])   # a~^(L-1) on each side gives xi~^(L-1)
    state(level, [i[0] for i in identities]) ^ ket[1]
    state(level, [i[1] for i in identities]) ^ bra[1]
    gram = tn.contractors.greedy(nodes, output_edge_order=[ket[0], bra[0]]).tensor
    if not np.isfinite(gram).all() or not np.abs(gram).max() > 0:
        raise FloatingPointError("the half-tree Gram left float64's range (use the rescaled "
                                 "recursion in qcnn.entropy.gram_recursion)")
    return torch.from_numpy(gram)


def reduced_density_tn(tildes, n_pixels, in_a, label):
    """rho_A (unnormalised) of one label state for the leaves ``in_a`` (a list of N bools in
    chain order): ket and bra copies of the whole tree, built node by node with
    ``tensornetwork`` and joined through the leaves outside A. A (D_0^|A|, D_0^|A|) float64
    tensor; independent of the Gram recursions, for checks on small trees."""
    import tensornetwork as tn

    mats = [a.numpy() for a in tildes[:-1]]
    nodes = []

    def node(tensor):
        nodes.append(tn.Node(tensor, backend="numpy"))
        return nodes[-1]

    def state(level, leaf_edges):
        if level == 0:
            return leaf_edges[0]
        half = len(leaf_edges) // 2
        delta = tn.CopyNode(3, mats[level - 1].shape[0], backend="numpy")
        nodes.append(delta)
        for slot, part in enumerate((leaf_edges[:half], leaf_edges[half:])):
            a = node(mats[level - 1])
            state(level - 1, part) ^ a[1]
            a[0] ^ delta[slot]
        return delta[2]

    levels = n_pixels.bit_length() - 1
    copies = []
    for _ in range(2):                                    # ket, bra
        leaves = [node(np.eye(mats[0].shape[1])) for _ in range(n_pixels)]
        state(levels, [leaf[0] for leaf in leaves]) ^ node(tildes[-1][label].numpy())[0]
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
