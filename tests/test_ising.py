"""The Ising data (qcnn.ising): exact results against each other, the Swendsen-Wang sampler
against them within its measured errors, the autocorrelation estimator, the data file."""
import json

import numpy as np
import pytest
import torch
from safetensors.numpy import save as safetensors_bytes

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
    metadata = ising.generate(tmp_path / "a", L=4, **TINY)
    ising.generate(tmp_path / "b", L=4, **TINY)
    spins, labels, temperatures = ising.load_ising("train", tmp_path / "a", L=4)
    assert spins.shape == (12, 4, 4) and spins.dtype == torch.int8
    assert set(spins.unique().tolist()) <= {-1, 1}
    assert labels.dtype == torch.int64 and temperatures.dtype == torch.float64
    assert torch.equal(labels, (temperatures < ising.T_C).long())
    assert torch.equal(temperatures, torch.tensor([1.5] * 6 + [3.0] * 6, dtype=torch.float64))
    assert len(ising.load_ising("test", tmp_path / "a", L=4)[0]) == 8
    for split in ("train", "test"):
        for a, b in zip(ising.load_ising(split, tmp_path / "a", L=4),
                        ising.load_ising(split, tmp_path / "b", L=4)):
            assert torch.equal(a, b)
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
    text = json.dumps(metadata)
    path.write_bytes(safetensors_bytes(tensors, metadata={
        "ising": text, "content_sha256": ising.content_hash(tensors, text)}))
    with pytest.raises(ValueError, match=f"{path}: labels"):
        ising.load_ising("train", tmp_path, L=4)


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
])
def test_bad_parameters_are_named(call, name):
    with pytest.raises(ValueError, match=rf"^{name}\b"):
        call()
