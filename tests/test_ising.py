"""The Ising data (qcnn.ising): exact results against each other, the Swendsen-Wang sampler
against them within its measured errors, the autocorrelation estimator, the data file and its
pin, the Boltzmann state's entanglement against brute force, Page's value."""
import hashlib
import math

import numpy as np
import pytest
import torch
from scipy.special import xlogy

from qcnn import ising

TEMPERATURES = [0.5, 1.0, 1.5, 2.0, ising.T_C, 2.5, 3.5, 10.0]     # both sides of T_c
SIGMAS = 5                                                        # tolerance in standard errors
TINY = dict(temperatures=(1.5, 3.0), n_train=6, n_test=4, samples_per_chain=2, pilot_sweeps=400,
            pilot_chains=2, progress=False)                      # a data file in ~0.3 s


@pytest.mark.parametrize("L", [2, 3, 4])
def test_kaufman_equals_brute_force(L):
    """The finite torus: Kaufman's ln Z, energy and specific heat (finite difference) equal the
    sums over all 2^(L^2) states, below, at and above T_c (where gamma_0 changes sign)."""
    exact = ising.brute_force(TEMPERATURES, L)
    ln_z, energy = ising.kaufman(TEMPERATURES, L)
    np.testing.assert_allclose(energy, exact["energy"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(ising.exact_specific_heat(TEMPERATURES, L), exact["specific_heat"],
                               rtol=0, atol=1e-9)
    states = (np.arange(2 ** (L * L))[:, None] >> np.arange(L * L) & 1) * 2 - 1
    _, e = ising.observables(states.astype(np.int8).reshape(-1, L, L))
    brute_ln_z = [np.logaddexp.reduce(-e * L * L / T) for T in TEMPERATURES]
    np.testing.assert_allclose(ln_z, brute_ln_z, rtol=1e-11)


def test_kaufman_approaches_onsager_and_is_smooth_at_t_c():
    """Away from T_c the finite-size correction dies like exp(-L / xi): at T = 1.5 and 3.0 the
    16 x 16 energy is within 1e-3 of Onsager's, the 128 x 128 one within 1e-10. At T_c, where
    Z4 vanishes, the energy is continuous; the specific heat's finite difference converges."""
    T = np.array([1.5, 3.0])
    assert np.all(np.abs(ising.exact_energy(T, 16) - ising.onsager_energy(T)) < 1e-3)
    assert np.all(np.abs(ising.exact_energy(T, 128) - ising.onsager_energy(T)) < 1e-10)
    near = ising.exact_energy([ising.T_C - 1e-9, ising.T_C, ising.T_C + 1e-9])
    assert np.ptp(near) < 1e-8
    around = [2.2, ising.T_C, 2.4]
    np.testing.assert_allclose(ising.exact_specific_heat(around, h=1e-4),
                               ising.exact_specific_heat(around, h=2e-4), rtol=0, atol=1e-8)


def test_spontaneous_magnetisation():
    """(1 - sinh(2K)^-4)^(1/8) equals Yang's form (1 + x^2)^(1/4) (1 - 6x^2 + x^4)^(1/8) /
    (1 - x^2)^(1/2), x = exp(-2K), below T_c; 0 above."""
    T = np.array([0.1, 1.0, 1.8, 2.0, 2.25])
    x = np.exp(-2 / T)
    yang = (1 + x**2) ** 0.25 * (1 - 6 * x**2 + x**4) ** 0.125 / np.sqrt(1 - x**2)
    np.testing.assert_allclose(ising.spontaneous_magnetisation(T), yang, rtol=1e-13)
    assert np.all(ising.spontaneous_magnetisation([ising.T_C * 1.001, 3.0]) == 0)


def equilibrium_estimates(series):
    """Mean and standard error of series (chains, sweeps) after discarding 20 tau_int sweeps,
    tau_int measured on the second half."""
    equilibration, _ = ising.schedule(ising.autocorrelation_time(series[:, series.shape[1] // 2:]))
    assert equilibration < series.shape[1] // 2
    return ising.mean_and_error(series[:, equilibration:])


def test_sampler_matches_brute_force_4x4():
    """<e> and <|m|> of 16 chains a temperature, 4000 sweeps, on 4 x 4: within 5 standard errors
    (tau_int included) of the sums over all states."""
    T = np.array([1.5, ising.T_C, 3.5])
    _, abs_m, energy = ising.run_chains(np.repeat(T, 16), 4000, np.random.default_rng(3), L=4)
    exact = ising.brute_force(T, 4)
    for i in range(len(T)):
        for name, series in [("abs_m", abs_m), ("energy", energy)]:
            mean, error = equilibrium_estimates(series[16 * i: 16 * (i + 1)])
            assert abs(mean - exact[name][i]) < SIGMAS * error, (T[i], name, mean, error)


def test_sampler_matches_exact_results_16x16():
    """16 x 16, 8 chains a temperature, 4000 sweeps: <e> within 5 standard errors of Kaufman's
    at T = 1.5, T_c, 3.0; <|m|> within 5 standard errors plus the finite-size deviation of
    Onsager-Yang's M0 at T = 1.8, 2.0. That deviation, measured with 64 chains x 15000 sweeps,
    is below the statistical error: <|m|>_16 - M0 = (+6 +- 6)e-5 at 1.8 and (+1 +- 12)e-5 at
    2.0 (exponentially small in L / xi), bounded here by 4e-4; the standard errors are 3e-4
    and 6e-4."""
    T = np.array([1.5, ising.T_C, 3.0, 1.8, 2.0])
    _, abs_m, energy = ising.run_chains(np.repeat(T, 8), 4000, np.random.default_rng(4))
    for i in range(3):
        mean, error = equilibrium_estimates(energy[8 * i: 8 * (i + 1)])
        assert abs(mean - ising.exact_energy(T[i])) < SIGMAS * error, (T[i], mean, error)
    for i in (3, 4):
        mean, error = equilibrium_estimates(abs_m[8 * i: 8 * (i + 1)])
        onsager_yang = ising.spontaneous_magnetisation(T[i])
        assert abs(mean - onsager_yang) < SIGMAS * error + 4e-4, (T[i], mean, error)


def test_sampler_is_deterministic():
    runs = [ising.run_chains([1.5, 2.5], 20, np.random.default_rng(seed), L=8)
            for seed in (7, 7, 8)]
    assert all(np.array_equal(a, b) for a, b in zip(runs[0], runs[1]))
    assert not np.array_equal(runs[0][0], runs[2][0])
    assert set(np.unique(runs[0][0])) <= {-1, 1}


def test_autocorrelation_time_of_ar1():
    """x_t = phi x_{t-1} + noise has tau_int = (1 + phi) / (2 (1 - phi)) = 4.5 at phi = 0.8; the
    estimate's standard error is tau sqrt(2 (2M + 1) / N) (Madras & Sokal 1988), M ~ 5 tau."""
    phi, chains, n = 0.8, 4, 25000
    noise = np.random.default_rng(0).standard_normal((chains, n))
    x = np.empty_like(noise)
    x[:, 0] = noise[:, 0] / np.sqrt(1 - phi**2)              # start in equilibrium
    for t in range(1, n):
        x[:, t] = phi * x[:, t - 1] + noise[:, t]
    tau = (1 + phi) / (2 * (1 - phi))
    error = tau * np.sqrt(2 * (2 * ising.WINDOW_C * tau + 1) / (chains * n))
    assert abs(ising.autocorrelation_time(x) - tau) < SIGMAS * error
    white = np.random.default_rng(1).standard_normal(100000)
    assert abs(ising.autocorrelation_time(white) - 0.5) < SIGMAS * 0.5 * np.sqrt(2 * 11 / 100000)
    with pytest.raises(ValueError, match="too short"):
        ising.autocorrelation_time(np.cumsum(noise[0, :200]))          # a random walk


def test_schedule():
    equilibration, spacing = ising.schedule([0.3, 1.5, 4.21])
    assert equilibration.tolist() == [6, 30, 85] and spacing.tolist() == [1, 3, 9]


def test_data_file_round_trip_and_determinism(tmp_path):
    """Two generations give the same bytes; the wall time is returned, not written."""
    metadata = ising.generate(tmp_path / "a", L=4, **TINY)
    ising.generate(tmp_path / "b", L=4, **TINY)
    path = ising.ising_path(tmp_path / "a", 4)
    assert path.read_bytes() == ising.ising_path(tmp_path / "b", 4).read_bytes()
    assert "wall_time_s" in metadata and "wall_time_s" not in ising.read_verified(path)[1]
    spins, labels, temperatures = ising.load_ising("train", tmp_path / "a", L=4)
    assert spins.shape == (12, 4, 4) and spins.dtype == torch.int8
    assert set(spins.unique().tolist()) <= {-1, 1}
    assert labels.dtype == torch.int64 and temperatures.dtype == torch.float64
    assert torch.equal(labels, (temperatures < ising.T_C).long())
    assert torch.equal(temperatures, torch.tensor([1.5] * 6 + [3.0] * 6, dtype=torch.float64))
    assert len(ising.load_ising("test", tmp_path / "a", L=4)[0]) == 8
    assert metadata["counts"] == {"train": 6, "test": 4} and len(metadata["spacing"]) == 2


def test_load_refuses_a_tampered_file(tmp_path):
    ising.generate(tmp_path, L=4, **TINY)
    path = ising.ising_path(tmp_path, 4)
    intact = path.read_bytes()
    path.write_bytes(intact[:-1] + bytes([intact[-1] ^ 1]))
    with pytest.raises(ValueError, match=f"{path}.*SHA-256"):
        ising.load_ising("train", tmp_path, L=4)
    path.write_bytes(intact[:100])
    with pytest.raises(ValueError, match=f"{path}"):
        ising.load_ising("test", tmp_path, L=4)
    # labels flipped and the hash recomputed: caught by the labels' own check
    path.write_bytes(intact)
    tensors, metadata = ising.read_verified(path)
    tensors["train_labels"] = 1 - tensors["train_labels"]
    path.write_bytes(ising.file_bytes(tensors, metadata))
    with pytest.raises(ValueError, match=f"{path}: labels"):
        ising.load_ising("train", tmp_path, L=4)


def test_pinned_file_refuses_a_forgery(tmp_path, monkeypatch):
    """A file pinned by name: a forgery with a recomputed internal hash passes the internal
    check but not the pin, which names the file."""
    ising.generate(tmp_path, L=4, **TINY)
    path = ising.ising_path(tmp_path, 4)
    tensors, metadata = ising.read_verified(path)
    tensors["train_spins"] = 255 - tensors["train_spins"]         # every spin flipped
    forged = ising.file_bytes(tensors, metadata)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    monkeypatch.setitem(ising.PINNED_SHA256, path.name, digest)
    assert ising.load_ising("train", tmp_path, L=4)[0].shape == (12, 4, 4)
    path.write_bytes(forged)
    with pytest.raises(ValueError, match=f"^{path}: its SHA-256 .* is not the pinned"):
        ising.load_ising("train", tmp_path, L=4)
    monkeypatch.delitem(ising.PINNED_SHA256, path.name)
    assert ising.load_ising("train", tmp_path, L=4)[0].shape == (12, 4, 4)


def test_fetch_refuses_a_regenerated_file_other_than_pinned(tmp_path, monkeypatch):
    """Regenerating a pinned file that comes out other than pinned (another numpy) raises and
    writes nothing: neither a new file nor over the one there."""
    monkeypatch.setitem(ising.PINNED_SHA256, "ising-L4.safetensors", "0" * 64)
    path = ising.ising_path(tmp_path, 4)
    with pytest.raises(ValueError, match="regenerated file's SHA-256 .* differs from the pinned"):
        ising.fetch_ising(root=tmp_path, L=4, **TINY)
    assert not path.exists()
    path.parent.mkdir(parents=True)
    path.write_bytes(b"the committed file")
    with pytest.raises(ValueError, match="git checkout data/ising"):
        ising.fetch_ising(force=True, root=tmp_path, L=4, **TINY)
    assert path.read_bytes() == b"the committed file"


def test_the_committed_file_is_the_pinned_one():
    """data/ising/ising-L16.safetensors: the pinned bytes, 24 temperatures x (1000 + 400)
    configurations of 16 x 16, half of them ordered."""
    path = ising.ising_path()
    assert hashlib.sha256(path.read_bytes()).hexdigest() == ising.PINNED_SHA256[path.name]
    spins, labels, temperatures = ising.load_ising("test")
    assert spins.shape == (9600, 16, 16) and labels.float().mean() == 0.5
    assert torch.equal(temperatures.unique(), torch.tensor(ising.TEMPERATURES, dtype=torch.float64))


def test_fetch_generates_when_missing_or_damaged_only(tmp_path):
    kwargs = dict(TINY)
    path = ising.fetch_ising(root=tmp_path, L=4, **kwargs)
    stamp = path.stat().st_mtime_ns
    assert ising.fetch_ising(root=tmp_path, L=4, **kwargs) == path
    assert path.stat().st_mtime_ns == stamp
    path.write_bytes(path.read_bytes()[:-1] + b"\0")
    reports = []
    ising.fetch_ising(root=tmp_path, L=4, report=reports.append, **kwargs)
    assert len(reports) == 1 and ising.load_ising("train", tmp_path, L=4)[0].shape == (12, 4, 4)


def cylinder_state(T, width, height):
    """psi(s) = sqrt(p_T(s)) over all 2^(width height) states of the cylinder (rows periodic,
    np.roll's bonds; columns open), as the matrix (upper half rows, lower half rows)."""
    sites = width * height
    s = 1 - 2 * (np.arange(2**sites)[:, None] >> np.arange(sites)[::-1] & 1)  # site 0 highest
    s = s.reshape(-1, height, width)
    bonds = (s * np.roll(s, -1, 2)).sum((1, 2)) + (s[:, 1:] * s[:, :-1]).sum((1, 2))
    p = np.exp((bonds - bonds.max()) / T)
    return np.sqrt(p / p.sum()).reshape(2 ** (sites // 2), -1)


@pytest.mark.parametrize("width,height_half", [(3, 2), (4, 1), (2, 3), (1, 4)])
def test_boltzmann_state_equals_brute_force(width, height_half):
    """Schmidt weights and entropies from the transfer matrices equal the SVD of the full state
    vector (up to 2^12 amplitudes) below, at and above T_c."""
    for T in [0.5, 1.0, 2.0, ising.T_C, 3.0, 10.0]:
        p = np.linalg.svd(cylinder_state(T, width, 2 * height_half), compute_uv=False) ** 2
        weights = ising.schmidt_weights(T, width, height_half)
        np.testing.assert_allclose(weights, p[:len(weights)], rtol=0, atol=1e-13)
        assert p[len(weights):].sum() < 1e-13                    # rank <= 2^width
        s_vn, s_2 = ising.boltzmann_state_entropy(T, width, height_half)
        np.testing.assert_allclose([s_vn, s_2], [-xlogy(p, p).sum(), -np.log((p**2).sum())],
                                   rtol=0, atol=1e-10)


def test_boltzmann_state_limits_and_bounds():
    """T -> infinity: the uniform superposition, a product state (S -> 0); T -> 0: the cat state
    (|all up> + |all down>) / sqrt 2 (S -> ln 2); in between 0 <= S_2 <= S_vN <= W ln 2, and
    the area law's slope makes S_vN grow with W above T_c."""
    s_vn, s_2 = ising.boltzmann_state_entropy([0.02, 0.1, 1e6, 1e3], 8, 4)
    np.testing.assert_allclose(s_vn[:2], math.log(2), rtol=0, atol=1e-12)
    np.testing.assert_allclose(s_2[:2], math.log(2), rtol=0, atol=1e-12)
    assert np.all(s_vn[2:] < [1e-9, 1e-3]) and np.all(s_2[2:] < [1e-9, 1e-3])
    T = np.linspace(1.0, 4.0, 13)
    s_vn, s_2 = ising.boltzmann_state_entropy(T, 8, 4)
    assert np.all((0 <= s_2) & (s_2 <= s_vn) & (s_vn <= 8 * math.log(2)))
    assert 2.2 < T[s_vn.argmax()] < 2.8 and s_vn.max() > 1.1
    assert ising.boltzmann_state_entropy(3.0, 6, 4)[0] < ising.boltzmann_state_entropy(3.0, 8, 4)[0]


def test_page_entropy():
    """The digamma form equals the sum for small m, n; the asymptotic form, given logarithms,
    agrees from n ~ 1e3 on and gives ln m - 1/2 for m = n = 2^128 or 19^128; the mean entropy
    of 400 random Gaussian states of 8 x 8 is within 3 standard errors of Page's value."""
    for m, n in [(1, 1), (1, 7), (2, 2), (3, 5), (5, 3), (8, 8), (16, 64)]:
        a, b = min(m, n), max(m, n)
        exact = math.fsum(1 / k for k in range(b + 1, a * b + 1)) - (a - 1) / (2 * b)
        assert abs(ising.page_entropy(m, n) - exact) < 1e-13
    for m, n in [(2, 1000), (1000, 1000), (2**20, 2**20), (3, 2**40)]:
        assert abs(ising.page_entropy_log(math.log(m), math.log(n))
                   - ising.page_entropy(m, n)) < 1e-12
    for d in (2**128, 19**128):
        assert ising.page_entropy(d, d) == pytest.approx(math.log(d) - 0.5, rel=1e-15)
        assert ising.page_entropy_log(math.log(d), math.log(d)) == math.log(d) - 0.5
    assert ising.page_entropy_log(1000.0, 1000.0 + math.log(3)) == pytest.approx(1000 - 1 / 6,
                                                                                  abs=1e-12)
    rng = np.random.default_rng(0)
    psi = rng.standard_normal((400, 8, 8)) + 1j * rng.standard_normal((400, 8, 8))
    p = np.linalg.svd(psi, compute_uv=False) ** 2
    p /= p.sum(-1, keepdims=True)
    s = -xlogy(p, p).sum(-1)
    assert abs(s.mean() - ising.page_entropy(8, 8)) < 3 * s.std(ddof=1) / math.sqrt(len(s))


@pytest.mark.parametrize("call,name", [
    (lambda: ising.run_chains([2.0], 10, np.random.default_rng(), L=1), "L"),
    (lambda: ising.run_chains([2.0], 10, np.random.default_rng(), L=4.0), "L"),
    (lambda: ising.run_chains([0.0], 10, np.random.default_rng()), "temperatures"),
    (lambda: ising.run_chains([-1.0], 10, np.random.default_rng()), "temperatures"),
    (lambda: ising.run_chains([2.0], 0, np.random.default_rng()), "sweeps"),
    (lambda: ising.pilot([2.0], 100, 0, np.random.default_rng()), "chains"),
    (lambda: ising.kaufman(2.0, 0), "rows"),
    (lambda: ising.brute_force(2.0, 5), "L"),
    (lambda: ising.load_ising("validation"), "split"),
    (lambda: ising.generate(n_train=0), "n_train"),
    (lambda: ising.generate(L=128), "L"),                  # a file too large to be read back
    (lambda: ising.schmidt_weights(2.0, 0, 2), "width"),
    (lambda: ising.schmidt_weights(2.0, ising.MAX_CYLINDER_WIDTH + 1, 2), "width"),
    (lambda: ising.schmidt_weights(2.0, 4, 0), "height_half"),
    (lambda: ising.boltzmann_state_entropy([2.0, 0.0], 4, 2), "temperatures"),
    (lambda: ising.page_entropy(0, 4), "m"),
    (lambda: ising.page_entropy(4, 2.0), "n"),
    (lambda: ising.page_entropy_log(-1.0, 2.0), "log_m"),
    (lambda: ising.page_entropy_log(1.0, math.inf), "log_n"),
])
def test_bad_parameters_are_named(call, name):
    with pytest.raises(ValueError, match=rf"^{name}\b"):
        call()


def test_the_data_set_is_what_config_says_it_holds():
    """qcnn.config.SPLITS names the Ising data set's sizes and labels: the committed file agrees."""
    from qcnn.config import SPLITS
    from qcnn.store import Store
    train, test, classes = SPLITS["ising"]
    spins, labels, temperatures = ising.load_ising("train", Store().data)
    assert spins.shape == (train, 16, 16) and set(labels.tolist()) == set(range(classes))
    assert len(ising.load_ising("test", Store().data)[0]) == test
