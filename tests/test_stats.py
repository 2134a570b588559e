"""The claims' statistics on cases with known answers: the smallest p-value a permutation
rank test can reach (against enumerating every relabelling) and Kruskal-Wallis at its extremes."""
import itertools

import numpy as np
import pytest

from qcnn import stats


def enumerated_smallest_p(sizes):
    """Every distinct relabelling of untied values 0..n-1: the share with the largest H."""
    labels = np.repeat(np.arange(len(sizes)), sizes)
    values = np.arange(len(labels), dtype=float)
    hs = []
    for perm in set(itertools.permutations(labels)):
        perm = np.array(perm)
        hs.append(stats.kruskal_wallis([values[perm == g] for g in range(len(sizes))], permutations=0)[0])
    hs = np.array(hs)
    return (hs >= hs.max() - 1e-9).mean()


@pytest.mark.parametrize("sizes", [(2, 2), (3, 3), (2, 3), (2, 2, 2), (4, 4), (3, 3, 2)])
def test_smallest_p_equals_enumeration_for_equal_sizes_and_bounds_it_otherwise(sizes):
    exact = enumerated_smallest_p(sizes)
    if len(set(sizes)) == 1:
        assert stats.smallest_p(sizes) == pytest.approx(exact, rel=1e-12)
    else:
        assert stats.smallest_p(sizes) >= exact - 1e-12
    assert (stats.smallest_p(sizes) < 0.05) == (sizes in [(4, 4), (3, 3, 2)])


def test_kruskal_wallis_extremes():
    assert stats.kruskal_wallis([[0.9, 0.9], [0.9, 0.9, 0.9]]) == (0.0, 1.0)     # all tied
    h, p = stats.kruskal_wallis([[1, 2, 3], [4, 5, 6], [7, 8, 9]], permutations=20000)
    assert h == pytest.approx(7.2)                       # 12/(9*10) * (36+225+576)/3 - 30
    assert p == pytest.approx(stats.smallest_p((3, 3, 3)), abs=0.002)   # 6/1680 = 0.0036
