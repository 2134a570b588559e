"""Entanglement across every cut: subtree entropies, Rényi-2 of any region, min-cut bounds and
the data's view, each against an independent reference (the dense state from forward passes,
or the whole network contracted by tensornetwork)."""
import math

import pytest
import torch

import qcnn
from qcnn.cuts import (chain_mask, data_entropy, min_cut_bound,
                       renyi2_entropy, subtree_entropies, subtree_region, subtree_spectra,
                       truncated_tildes)
from qcnn.entropy import entropy_of_weights
from qcnn.network import contract_tree, embed, tilde_matrices
from qcnn.reference import (chimera_matrices, dense_schmidt_weights, dense_state,
                            reduced_density_tn, schmidt_weights)

from conftest import entangled_model

TOL = 1e-10


def renyi2_of(weights):
    return -torch.log((weights**2).sum(-1))


def random_regions(shape, count, seed, sizes=None):
    """Proper random regions; ``sizes``: allowed numbers of pixels (default: any)."""
    generator = torch.Generator().manual_seed(seed)
    regions = []
    while len(regions) < count:
        region = torch.rand(shape, generator=generator) < torch.rand(1, generator=generator)
        if region.any() and not region.all() and (sizes is None or int(region.sum()) in sizes):
            regions.append(region)
    return regions


@pytest.fixture(scope="module")
def dense_16():
    """A 4x4-pixel, n = 1 model and its dense state (3^16 = 43 million forward passes; up/down
    only: left/right is checked on 16 pixels against tensornetwork, on 8 against the dense state)."""
    model = entangled_model(seed=3, d=2, n=1, image_size=4, n_classes=2, partition="updown")
    return model, dense_state(model)


@pytest.mark.parametrize("partition", ["updown", "leftright"])
@pytest.mark.parametrize("n,basis", [(1, "fourier"), (2, "fourier"), (2, "legendre")])
def test_subtrees_and_regions_equal_dense_state_8_pixels(partition, n, basis):
    """8 pixels: every row of subtree_entropies equals the dense state's entropy for every
    block of its level; Rényi-2 of random regions equals -ln sum p^2 of its Schmidt spectrum."""
    model = entangled_model(seed=n, d=3, n=n, image_size=(2, 4), partition=partition, basis=basis)
    psi = dense_state(model)
    rows = subtree_entropies(model)
    torch.testing.assert_close(rows[-1], qcnn.entanglement_entropy(model), rtol=0, atol=1e-12)
    for level in range(model.n_layers):
        for index in range(model.n_pixels >> level):
            dense = entropy_of_weights(dense_schmidt_weights(model, subtree_region(model, level, index), psi))
            torch.testing.assert_close(rows[level], dense, rtol=0, atol=TOL)
    for region in random_regions(model.image_size, 6, seed=n):
        dense = renyi2_of(dense_schmidt_weights(model, region, psi))
        torch.testing.assert_close(renyi2_entropy(model, region), dense, rtol=0, atol=TOL)


@pytest.mark.slow
def test_subtrees_and_regions_equal_dense_state_16_pixels(dense_16):
    """16 pixels (4 x 4), n = 1: the same for blocks at several positions of every level (the
    top level's is the top cut, ``entanglement_entropy``) and random regions."""
    model, psi = dense_16
    rows = subtree_entropies(model)
    torch.testing.assert_close(rows[-1], qcnn.entanglement_entropy(model), rtol=0, atol=1e-12)
    for level, indices in enumerate([(0, 5, 15), (0, 3, 7), (0, 3), (0, 1)]):
        for index in indices:
            dense = entropy_of_weights(dense_schmidt_weights(model, subtree_region(model, level, index), psi))
            torch.testing.assert_close(rows[level], dense, rtol=0, atol=TOL)
    for region in random_regions(model.image_size, 4, seed=16):
        dense = renyi2_of(dense_schmidt_weights(model, region, psi))
        torch.testing.assert_close(renyi2_entropy(model, region), dense, rtol=0, atol=TOL)


def tn_weights(model, region, label):
    """Schmidt weights from rho_A of the whole network contracted by tensornetwork (rho of the
    smaller side: a pure state's two sides share the spectrum)."""
    smaller = region if 2 * int(region.sum()) <= region.numel() else ~region
    rho = reduced_density_tn(tilde_matrices(model), model.n_pixels,
                             chain_mask(model, smaller).tolist(), label)
    weights = torch.linalg.eigvalsh(rho).clamp(min=0)
    return weights / weights.sum()


@pytest.mark.parametrize("partition", ["updown", "leftright"])
def test_16_pixels_n2_against_tensornetwork(partition):
    """16 pixels with n = 2 have 5^16 = 1.5e11 coefficients, too many for a dense state: rho_A
    comes from the whole network contracted by tensornetwork instead, for subtrees of 1, 2
    and 4 leaves and for random regions of at most 4 pixels (or all but 4)."""
    model = entangled_model(seed=4, d=3, n=2, image_size=4, partition=partition)
    rows = subtree_entropies(model)
    for level, index in [(0, 0), (0, 9), (1, 2), (1, 7), (2, 1), (2, 2)]:
        region = subtree_region(model, level, index)
        for y in range(model.n_classes):
            assert abs(entropy_of_weights(tn_weights(model, region, y)) - rows[level, y]) < TOL
    for region in random_regions(model.image_size, 4, seed=5, sizes={1, 2, 3, 4, 12, 13, 14, 15}):
        renyi = renyi2_entropy(model, region)
        for y in range(model.n_classes):
            assert abs(renyi2_of(tn_weights(model, region, y)) - renyi[y]) < TOL


def test_renyi2_of_a_subtree_is_its_spectrum():
    """At the paper's depth (N = 256): Rényi-2 by replicas equals -ln sum p^2 of the
    subtree spectra, for a row, a half-row and the top cut."""
    model = entangled_model(seed=8, d=4, n=2, image_size=16, n_classes=4)
    spectra = subtree_spectra(model)
    for level in (3, 4, 7):
        torch.testing.assert_close(renyi2_entropy(model, subtree_region(model, level, 1 % (256 >> level))),
                                   renyi2_of(spectra[level]), rtol=0, atol=1e-9)


def test_min_cut_bound():
    """ln(bond dimension) where one bond is the cheapest cut: the top cut is bounded by
    ln(d_{L-1} + 1) (= ln 145 at d = 18), one pixel by ln(2n + 1), a row (a level-4 subtree of
    the up/down chain) by ln(d_4 + 1); and the bound holds for random regions."""
    model = qcnn.QCNN(d=18, n=9, image_size=16)
    top = torch.zeros(16, 16, dtype=torch.bool)
    top[:8] = True
    assert min_cut_bound(model, top) == pytest.approx(math.log(145), abs=1e-12)
    assert min_cut_bound(model, subtree_region(model, 0, 37)) == pytest.approx(math.log(19), abs=1e-12)
    row = torch.zeros(16, 16, dtype=torch.bool)
    row[5] = True
    assert min_cut_bound(model, row) == pytest.approx(math.log(91), abs=1e-12)
    small = entangled_model(seed=6, d=2, n=1, image_size=(2, 4))
    psi = dense_state(small)
    for region in random_regions(small.image_size, 10, seed=7):
        entropy = entropy_of_weights(dense_schmidt_weights(small, region, psi))
        assert (entropy <= min_cut_bound(small, region) + 1e-12).all()


def test_data_entropy_is_the_chimera_spectrum():
    """data_entropy equals the entropy of the explicit matrix alpha_y(half of a, half of b)."""
    model = entangled_model(seed=9, d=3, n=2, image_size=(4, 4), partition="leftright")
    images = torch.rand(15, 4, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    chimera = chimera_matrices(model, images)
    explicit = entropy_of_weights(torch.from_numpy(schmidt_weights(chimera.numpy())))
    torch.testing.assert_close(data_entropy(model, images), explicit, rtol=0, atol=TOL)


def test_truncation_keeps_the_function_at_full_rank():
    model = entangled_model(seed=10, d=3, n=2, image_size=(4, 4))
    leaves = embed(model, torch.rand(20, 4, 4, dtype=torch.float64))
    full = contract_tree(tilde_matrices(model), leaves)
    kept = contract_tree(truncated_tildes(model, 1000), leaves)
    assert ((kept - full).abs().max() / full.abs().max()).item() < 1e-9
    assert ((contract_tree(truncated_tildes(model, 1), leaves) - full).abs().max() /
            full.abs().max()).item() > 1e-3
    with pytest.raises(ValueError, match="chi must be an integer >= 1"):
        truncated_tildes(model, 0)


@pytest.mark.parametrize("region,match", [
    (torch.zeros(4, 5, dtype=torch.bool), r"region must have the image's shape \(4, 4\)"),
    (torch.zeros(4, 4, dtype=torch.bool), "region must be a proper, non-empty subset"),
    (torch.ones(4, 4, dtype=torch.bool), "region must be a proper, non-empty subset"),
    (torch.zeros(4, 4), "region must be a boolean tensor"),
])
def test_bad_regions(region, match):
    model = qcnn.QCNN(d=2, n=1, image_size=4)
    for function in (renyi2_entropy, min_cut_bound):
        with pytest.raises(ValueError, match=match):
            function(model, region)


def test_norm_on_the_quadrature_grid_is_the_state_norm():
    """Averaged over all (2n+1)^N grid images, alpha_y^2 integrates exactly (Fourier basis):
    the Born density's mean there is its mean over the cube, norm_on_data = 0."""
    from qcnn.basis import quadrature
    from qcnn.cuts import norm_on_data
    model = entangled_model(seed=11, d=3, n=1, image_size=(2, 4))
    nodes = torch.from_numpy(quadrature(1)[0])
    grid = torch.cartesian_prod(*[nodes] * 8).reshape(-1, 2, 4)
    torch.testing.assert_close(norm_on_data(model, grid), torch.zeros(3, dtype=torch.float64),
                               rtol=0, atol=1e-12)
