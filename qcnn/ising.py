"""The 2D Ising model for the phase-classification chapter: sampler, exact results, data set.

The model: H = -sum_<ij> s_i s_j over the 2 L^2 nearest-neighbour bonds of the L x L torus
(J = k_B = 1, K = 1/T), critical at T_c = 2 / ln(1 + sqrt 2) = 2.2692 (Onsager 1944).

Sampler: Swendsen-Wang (Phys. Rev. Lett. 58, 86, 1987). Each sweep activates every bond between
equal spins with p = 1 - exp(-2K), finds the clusters and flips each with probability 1/2. A
sweep costs the same for every chain and every temperature, so many chains, each at its own
temperature, form one numpy batch; Wolff's single cluster grows from a seed, one chain at a time.
Clusters are the connected components of the batch's bond graph (scipy.sparse.csgraph), 6-12
times faster here than label propagation with pointer jumping in numpy (100 chains of 16 x 16
at T_c: 2.1 ms against 18 ms a sweep). Every draw comes from one numpy Generator (PCG64).

Autocorrelation (Sokal, "Monte Carlo methods in statistical mechanics", 1997, §3; Madras &
Sokal, J. Stat. Phys. 50, 109, 1988): tau_int = 1/2 + sum_{t=1}^{M} rho(t), with the window M the
smallest such that M >= 5 tau_int(M); the error of a mean of N correlated values is then
sqrt(2 tau_int var / N), and an AR(1) series x_t = phi x_{t-1} + noise has tau_int =
(1 + phi) / (2 (1 - phi)). A pilot run measures tau_int of |m| and of e per temperature; the
chains then discard 20 tau_int sweeps and keep every 2 tau_int-th, rounded up.

Exact results: the energy per site of the finite m x n torus from Kaufman's partition function
(Phys. Rev. 76, 1232, 1949, in the form of Ferdinand & Fisher, Phys. Rev. 185, 832, 1969),
differentiated analytically in K; Onsager's infinite-lattice energy; Yang's
spontaneous magnetisation (Phys. Rev. 85, 808, 1952); all 2^(L^2) states for L <= 4.

Data set (Carrasquilla & Melko, Nature Physics 13, 431, 2017): configurations labelled ordered
(T < T_c) or disordered, at 24 temperatures from 1.0 to 3.5: 16 within T_c +- 0.30, 0.04 apart
and none at T_c, where the finite-size crossover of width ~ T_c / L = 0.14 lies, and 4 a side
further out; as many ordered as disordered. 1000 train and 400 test configurations a
temperature, 10 from each chain; train and test come from disjoint chains with their own seeds.
One file, data/ising/ising-L16.safetensors (1.2 MB: spins as bits), holds both with the run's
metadata and the SHA-256 of its contents. ``generate`` took 17 s here, on one core. The file
records no timing and its header has one metadata entry (safetensors writes several in a
random order), so ``generate`` is byte-reproducible; the SHA-256 of the whole default file is
pinned (``PINNED_SHA256``, as qcnn.data pins MNIST's), and that file is only read, or written,
when it has exactly these bytes. Another numpy may draw another random stream from the same
seed: its file is refused rather than silently replacing the committed one.

Boltzmann state: |psi_T> = sum_s sqrt(p_T(s)) |s>, a Rokhsar-Kivelson-type state whose
entanglement comes from the classical model's transfer matrix (Stephan, Furukawa, Misguich &
Pasquier, Phys. Rev. B 80, 184421, 2009); on a cylinder cut between two rows the reduced
density matrix has rank <= 2^W (``schmidt_weights``). Page's value (Phys. Rev. Lett. 71, 1291,
1993) is the mean entropy of a random pure state, the reference for "maximally scrambled".
"""
import hashlib
import json
import math
import time
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.numpy import load as safetensors_load
from safetensors.numpy import save as safetensors_bytes
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components
from scipy.special import digamma, ellipk, logsumexp, xlogy
from tqdm.auto import tqdm

from .errors import InvalidInput, NotStored, check_choice, check_int, check_number
from .data import data_folder, read_bounded, strict_json, write_atomic

T_C = 2 / math.log(1 + math.sqrt(2))
L_DEFAULT = 16
WINDOW_C = 5                 # Sokal's window: the smallest M with M >= 5 tau_int(M)
MIN_LENGTH_TAUS = 50         # shortest series trusted, in units of tau_int (emcee's default)
EQUILIBRATION_TAUS = 20      # sweeps discarded, in units of tau_int
SPACING_TAUS = 2             # sweeps between kept samples, in units of tau_int
MAX_CYLINDER_WIDTH = 12      # schmidt_weights: 2^W x 2^W matrices
TEMPERATURES = tuple(sorted([1.0, 1.25, 1.5, 1.75, 2.75, 3.0, 3.25, 3.5] +
                            [round(T_C + sign * (0.02 + 0.04 * k), 3)
                             for k in range(8) for sign in (-1, 1)]))
MAX_FILE_BYTES = 64 << 20   # the data file is 1.2 MB
PINNED_SHA256 = {   # SHA-256 of the whole file generate() writes with its default arguments
    "ising-L16.safetensors": "0f707a253f7344e526d5034e8b967837aafc99c091cc956635b1dca969d20f98",
}


def check_count(name, value, minimum=1):
    return check_int(name, value, minimum)


def check_lattice(L):
    return check_count("L", L, minimum=2)


def check_temperatures(T):
    """T as a float64 array, refused unless every value is finite and > 0."""
    T = np.asarray(T, dtype=np.float64)
    if T.size == 0 or not np.all(np.isfinite(T) & (T > 0)):
        raise InvalidInput(f"temperatures T must be finite and > 0 (and at least one), got {T}")
    return T


# ---------------------------------------------------------------------------------- sampler

def sweep(spins, p_bond, rng):
    """One Swendsen-Wang update, in place, of int8 spins (chains, L, L); p_bond (chains,)."""
    site = np.arange(spins.size).reshape(spins.shape)
    draws = rng.random((2,) + spins.shape) < p_bond[:, None, None]
    source, target = [], []
    for axis, draw in zip((2, 1), draws):         # the bonds to the right and downwards
        active = (spins == np.roll(spins, -1, axis)) & draw
        source.append(site[active])
        target.append(np.roll(site, -1, axis)[active])
    source, target = np.concatenate(source), np.concatenate(target)
    graph = csr_matrix((np.ones(len(source), np.int8), (source, target)), (spins.size,) * 2)
    n_clusters, cluster = connected_components(graph, directed=False)
    flip = np.where(rng.random(n_clusters) < 0.5, -1, 1).astype(np.int8)
    spins *= flip[cluster.reshape(spins.shape)]


def observables(spins):
    """(|m|, e) per chain: |mean spin| and energy per site -sum_<ij> s_i s_j / L^2."""
    s = spins.astype(np.int64)
    bonds = s * np.roll(s, -1, 1) + s * np.roll(s, -1, 2)
    return np.abs(s.mean((1, 2))), -bonds.mean((1, 2))


def run_chains(temperatures, sweeps, rng, L=L_DEFAULT, progress=False):
    """Chains at ``temperatures`` (one per chain) from the ordered state (all +1): returns the
    final spins int8 (chains, L, L) and |m|, e after each sweep, float64 (chains, sweeps)."""
    T = check_temperatures(temperatures).ravel()
    check_lattice(L)
    check_count("sweeps", sweeps)
    spins = np.ones((len(T), L, L), dtype=np.int8)
    p_bond = -np.expm1(-2 / T)
    series = np.empty((2, len(T), sweeps))
    for t in tqdm(range(sweeps), desc="sweeps", disable=not progress, leave=False):
        sweep(spins, p_bond, rng)
        series[:, :, t] = observables(spins)
    return spins, series[0], series[1]


# -------------------------------------------------------------------------- autocorrelation

def autocorrelation_time(series, c=WINDOW_C):
    """tau_int of equilibrium series (chains, n) (or (n,)) at one temperature, by Sokal's
    automatic window. The autocovariance is averaged over the chains about their common mean;
    chains shorter than 50 tau_int are refused (as emcee's ``integrated_time`` does)."""
    x = np.atleast_2d(np.asarray(series, dtype=np.float64))
    n = x.shape[1]
    x = x - x.mean()
    if not np.any(x):
        return 0.5                          # a constant series: nothing to correlate
    spectrum = np.fft.rfft(x, 2 * n)
    autocovariance = np.fft.irfft(spectrum * spectrum.conj())[:, :n].mean(0) / n
    tau = np.cumsum(autocovariance / autocovariance[0]) - 0.5      # tau(M), M = 0 .. n - 1
    window = np.flatnonzero(np.arange(n) >= c * tau)
    if len(window) == 0 or n < MIN_LENGTH_TAUS * tau[window[0]]:
        raise InvalidInput(f"series of length {n} too short to estimate tau_int: it needs "
                         f">= {MIN_LENGTH_TAUS} tau_int")
    return float(tau[window[0]])


def mean_and_error(series):
    """Mean of series (chains, n) and its standard error sqrt(2 tau_int var / N)."""
    x = np.asarray(series, dtype=np.float64)
    return x.mean(), math.sqrt(2 * autocorrelation_time(x) * x.var() / x.size)


def schedule(tau):
    """(equilibration, spacing) sweeps for tau_int: ceil(20 tau) and ceil(2 tau), both >= 1."""
    tau = np.asarray(tau, dtype=np.float64)
    return (np.maximum(1, np.ceil(EQUILIBRATION_TAUS * tau)).astype(np.int64),
            np.maximum(1, np.ceil(SPACING_TAUS * tau)).astype(np.int64))


def pilot(temperatures, sweeps, chains, rng, L=L_DEFAULT, progress=False):
    """tau_int of |m| and of e, float64 (temperatures, 2), from ``chains`` chains a temperature
    run together for ``sweeps`` sweeps. The first half is discarded; it must span 20 tau_int."""
    T = check_temperatures(temperatures)
    check_count("chains", chains)
    _, abs_m, energy = run_chains(np.repeat(T, chains), sweeps, rng, L, progress)
    kept = np.stack([abs_m, energy]).reshape(2, len(T), chains, sweeps)[:, :, :, sweeps // 2:]
    tau = np.array([[autocorrelation_time(x) for x in per_t] for per_t in kept.swapaxes(0, 1)])
    short = EQUILIBRATION_TAUS * tau.max(1) > sweeps // 2
    if short.any():
        raise InvalidInput(f"pilot sweeps={sweeps} too few: half of them must exceed "
                         f"{EQUILIBRATION_TAUS} tau_int, at T = {T[short]} tau_int = {tau[short]}")
    return tau


# ---------------------------------------------------------------------------- exact results

def spontaneous_magnetisation(T):
    """Onsager-Yang: (1 - sinh(2K)^-4)^(1/8) below T_c, 0 above (infinite lattice)."""
    T = check_temperatures(T)
    return np.clip(1 - np.sinh(2 / T) ** -4.0, 0, None) ** 0.125


def onsager_energy(T):
    """Energy per site of the infinite lattice: -coth 2K [1 + (2/pi)(2 tanh^2 2K - 1) K(k)],
    k = 2 sinh 2K / cosh^2 2K, K(k) the complete elliptic integral (Onsager 1944)."""
    K = 1 / check_temperatures(T)
    k = 2 * np.sinh(2 * K) / np.cosh(2 * K) ** 2
    return -(1 + 2 / np.pi * (2 * np.tanh(2 * K) ** 2 - 1) * ellipk(k**2)) / np.tanh(2 * K)


def kaufman(T, rows, cols=None):
    """(ln Z, energy per site) of the rows x cols torus: Z = 1/2 (2 sinh 2K)^(mn/2) (Z1 + Z2 +
    Z3 + Z4), m = rows, n = cols, with Z1, Z2 = prod 2 cosh, 2 sinh (m gamma_l / 2) over odd l
    and Z3, Z4 the same over even l < 2n; cosh gamma_l = cosh 2K coth 2K - cos(pi l / n) and
    gamma_0 = 2K + ln tanh K, negative above T_c, where Z4 < 0. Signs are kept through a
    log-sum-exp; the energy is -(1/mn) d ln Z / dK, with d gamma_l / dK in closed form."""
    cols = rows if cols is None else cols
    check_count("rows", rows)
    check_count("cols", cols)
    K = 1 / check_temperatures(T)[..., None]
    K = np.where(2 * K + np.log(np.tanh(K)) == 0, np.nextafter(K, np.inf), K)  # Z4 = 0 at K_c
    s = np.sinh(2 * K)
    half_angle = np.pi * np.arange(1, 2 * cols) / (2 * cols)
    delta = (s - 1) ** 2 / s + 2 * np.sin(half_angle) ** 2            # cosh gamma_l - 1, l >= 1
    root = np.sqrt(delta * (delta + 2))                                 # sinh gamma_l
    gamma = np.concatenate([2 * K + np.log(np.tanh(K)), np.log1p(delta + root)], -1)
    slope = np.concatenate([2 + 2 / s, 2 * np.cosh(2 * K) * (s**2 - 1) / (s**2 * root)], -1)
    x, dx = rows * gamma / 2, rows * slope / 2
    log_cosh = np.logaddexp(x, -x)                                      # ln 2 cosh x
    log_sinh = np.abs(x) + np.log(-np.expm1(-2 * np.abs(x)))            # ln |2 sinh x|
    odd, even = slice(1, None, 2), slice(0, None, 2)
    products = [(log_cosh, np.tanh(x), odd), (log_sinh, 1 / np.tanh(x), odd),    # Z1, Z2
                (log_cosh, np.tanh(x), even), (log_sinh, 1 / np.tanh(x), even)]  # Z3, Z4
    logs = np.stack([log_f[..., l].sum(-1) for log_f, _, l in products])         # ln |Z_i|
    slopes = np.stack([(dx * d_log_f)[..., l].sum(-1) for _, d_log_f, l in products])
    signs = np.stack([np.ones_like(x[..., 0])] * 3 + [np.sign(x[..., 0])])
    log_sum = logsumexp(logs, b=signs, axis=0)
    K, s, sites = K[..., 0], s[..., 0], rows * cols
    ln_z = math.log(0.5) + sites / 2 * np.log(2 * s) + log_sum
    d_ln_z = sites / np.tanh(2 * K) + (signs * np.exp(logs - log_sum) * slopes).sum(0)
    return ln_z, -d_ln_z / sites


def exact_energy(T, L=L_DEFAULT):
    """Energy per site of the L x L torus (Kaufman)."""
    check_lattice(L)
    return kaufman(T, L)[1]


def exact_specific_heat(T, L=L_DEFAULT, h=1e-4):
    """Specific heat per site du/dT of the L x L torus: the five-point central difference of
    Kaufman's energy, error O(h^4) + O(1e-16 / h) (checked against all states on 4 x 4)."""
    T = check_temperatures(T)
    u = [exact_energy(T + k * h, L) for k in (-2, -1, 1, 2)]
    return (u[0] - 8 * u[1] + 8 * u[2] - u[3]) / (12 * h)


def brute_force(T, L=4):
    """Averages over all 2^(L^2) states (L <= 4) at temperatures T: a dict of float64 arrays
    'energy', 'abs_m', 'm2' (per site, m the mean spin) and 'specific_heat' (per site)."""
    check_lattice(L)
    if L > 4:
        raise InvalidInput(f"L must be <= 4 for brute force (2^(L^2) states), got {L}")
    T = check_temperatures(T)[..., None]
    states = np.arange(2 ** (L * L))[:, None] >> np.arange(L * L) & 1
    abs_m, energy = observables((2 * states - 1).astype(np.int8).reshape(-1, L, L))
    weight = np.exp(-(energy - energy.min()) * L * L / T)
    weight /= weight.sum(-1, keepdims=True)
    mean_e = (weight * energy).sum(-1)
    return {"energy": mean_e, "abs_m": (weight * abs_m).sum(-1),
            "m2": (weight * abs_m**2).sum(-1),
            "specific_heat": ((weight * energy**2).sum(-1) - mean_e**2) * L * L / T[..., 0] ** 2}


# -------------------------------------------------------------------------- Boltzmann state

def row_states(width):
    """The 2^width rows of +-1 spins, float64 (2^width, width): spin i of row r = 1 - 2 bit_i(r)."""
    return 1.0 - 2 * (np.arange(2**width)[:, None] >> np.arange(width) & 1)


def schmidt_weights(T, width, height_half):
    """Schmidt weights, descending (2^width,), of the Boltzmann state |psi_T> = sum_s
    sqrt(p_T(s)) |s> of the cylinder of ``width`` = W columns (periodic in x, np.roll's bonds)
    and 2H rows (open in y), H = ``height_half``, cut between rows H and H + 1; T one temperature.

    With K = 1/T, each bond contributes exp(K s_i s_j / 2) to psi, so psi(s) = f(top)
    g(bottom) w(a, b), a and b the rows beside the cut and w(a, b) = exp(K/2 sum_i a_i b_i). As
    a matrix over (top, bottom), psi = A w B^T with A(t, a) = f(t) [row H of t is a]: A^T A =
    diag(F), F_a the sum of f^2 over the tops ending in row a, and B^T B = diag(F) too (the
    halves mirror each other). The Schmidt coefficients, the singular values of psi, are thus
    those of sqrt(F) w sqrt(F), a positive definite 2^W x 2^W matrix (w is the Kronecker power
    of [[e^(K/2), e^(-K/2)], [e^(-K/2), e^(K/2)]]): its eigenvalues. Their squares are the
    spectrum of rho_top ~ sqrt(F) w diag(F) w sqrt(F). F is a row transfer matrix product:
    F = h (V h (V h ...)) with H factors h(r) = exp(K sum_i r_i r_(i+1)) and V(r, r') =
    exp(K r . r'), exponents shifted by -W so that no entry exceeds 1, rescaled each row; the
    constants cancel in the normalisation. Cost O(H 4^W + 8^W)."""
    K = 1 / check_temperatures(T).item()
    check_count("width", width)
    check_count("height_half", height_half)
    if width > MAX_CYLINDER_WIDTH:
        raise InvalidInput(f"width must be <= {MAX_CYLINDER_WIDTH} (2^W x 2^W matrices), "
                           f"got {width}")
    rows = row_states(width)
    overlap = rows @ rows.T - width                            # r . r' - W <= 0
    ring = np.exp(K * ((rows * np.roll(rows, -1, 1)).sum(1) - width))
    vertical, boundary = np.exp(K * overlap), ring
    for _ in range(height_half - 1):
        boundary = ring * (vertical @ boundary)
        boundary /= boundary.max()
    root = np.sqrt(boundary)
    schmidt = np.linalg.eigvalsh(root[:, None] * np.exp(K / 2 * overlap) * root)
    weights = np.sort(schmidt**2)[::-1]
    return weights / weights.sum()


def boltzmann_state_entropy(T, width, height_half):
    """(S_vN, S_2) in nats, float64 arrays shaped like T, of the Boltzmann state across the
    middle of the cylinder (``schmidt_weights``): S_vN = -sum p ln p, S_2 = -ln sum p^2. From 0
    at T = infinity (|psi> the uniform superposition, a product state) to ln 2 at T = 0 ((|all
    up> + |all down>) / sqrt 2). Between them S ~ a(T) W + b(T), an area law: S_vN peaks above
    T_c (T = 2.46 for W = 8, 2.50 for W = 10; S_2 at 2.26 and 2.36; H = 64) where the slope a
    does, while the constant b, the ordered phase's ln 2, falls to 0 across T_c, more steeply
    as W grows (b = 0.22 at T_c from W = 8 and 10)."""
    T = check_temperatures(T)
    weights = [schmidt_weights(t, width, height_half) for t in T.ravel()]
    s_vn = np.array([-xlogy(p, p).sum() for p in weights]).reshape(T.shape)
    s_2 = np.array([-np.log((p**2).sum()) for p in weights]).reshape(T.shape)
    return s_vn, s_2


def page_entropy(m, n):
    """Page's mean entanglement entropy (nats) of a random pure state of an m x n system
    (Page, Phys. Rev. Lett. 71, 1291, 1993; proved by Foong & Kanno, PRL 72, 1148, 1994): with
    m <= n, S = sum_{k=n+1}^{mn} 1/k - (m - 1)/(2n) = digamma(mn + 1) - digamma(n + 1) - (m - 1)
    / (2n). Integer dimensions; beyond mn = 2^53, ``page_entropy_log`` (exact to 1e-32 there)."""
    check_count("m", m)
    check_count("n", n)
    m, n = sorted((int(m), int(n)))
    if m * n > 2**53:
        return page_entropy_log(math.log(m), math.log(n))
    return float(digamma(m * n + 1) - digamma(n + 1) - (m - 1) / (2 * n))


def page_entropy_log(log_m, log_n):
    """Page's value for dimensions given by their logarithms, m, n up to e^(1e308) (2^128 or
    19^128 are ordinary): with m <= n, S = ln m - m/(2n) + 1/(2mn) + (1 - 1/m^2)/(12 n^2), from
    H_N = ln N + gamma + 1/(2N) - 1/(12 N^2) + eps_N, 0 < eps_N < 1/(120 N^4) (Euler-Maclaurin),
    so within 1/(120 n^4) of ``page_entropy``: machine precision from n ~ 1e4 on, and
    ln m - 1/2 for m = n astronomically large."""
    for name, value in [("log_m", log_m), ("log_n", log_n)]:
        check_number(name, value, 0, math.inf)
    a, b = sorted((float(log_m), float(log_n)))
    return (a - math.exp(a - b) / 2 + math.exp(-a - b) / 2
            - math.expm1(-2 * a) * math.exp(-2 * b) / 12)


# --------------------------------------------------------------------------------- data set

def sample(T, n, equilibration, spacing, rng, L=L_DEFAULT, samples_per_chain=10):
    """n configurations int8 (n, L, L) at temperature T, from ceil(n / samples_per_chain) chains
    that discard ``equilibration`` sweeps, then keep one every ``spacing`` sweeps."""
    for name, value in [("n", n), ("equilibration", equilibration), ("spacing", spacing),
                        ("samples_per_chain", samples_per_chain)]:
        check_count(name, value)
    check_lattice(L)
    chains = -(-n // samples_per_chain)
    spins = np.ones((chains, L, L), dtype=np.int8)
    p_bond = np.full(chains, -np.expm1(-2 / check_temperatures(T)))
    kept = []
    for t in range(equilibration + samples_per_chain * spacing):
        sweep(spins, p_bond, rng)
        if t >= equilibration and (t - equilibration + 1) % spacing == 0:
            kept.append(spins.copy())
    return np.stack(kept, 1).reshape(-1, L, L)[:n]


def ising_path(root=None, L=L_DEFAULT):
    return data_folder(root) / "ising" / f"ising-L{L}.safetensors"


def content_hash(tensors, metadata_json):
    """SHA-256 of the metadata JSON and every tensor (name, dtype, shape, bytes)."""
    digest = hashlib.sha256(metadata_json.encode())
    for name in sorted(tensors):
        array = np.ascontiguousarray(tensors[name])
        digest.update(f"{name} {array.dtype} {array.shape}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def file_bytes(tensors, metadata):
    """The safetensors file of ``tensors``, with one metadata entry 'ising': the JSON of
    ``metadata`` plus 'content_sha256', the ``content_hash`` of the tensors and that JSON."""
    text = json.dumps(metadata)
    record = json.dumps({**metadata, "content_sha256": content_hash(tensors, text)})
    return safetensors_bytes(tensors, metadata={"ising": record})


def check_pinned(path, digest, generated=False):
    """Refuse a file named as a pinned one (``PINNED_SHA256``) whose SHA-256 ``digest`` is not
    the pinned one: one read from ``path`` was altered or made by other code; one just
    ``generated`` comes from another random stream (another numpy) or other arguments."""
    pinned = PINNED_SHA256.get(Path(path).name)
    if pinned is None or digest == pinned:
        return
    if generated:
        raise InvalidInput(f"{path}: the regenerated file's SHA-256 {digest} differs from the "
                           f"pinned {pinned} (numpy {np.__version__} draws another random stream, "
                           "or the arguments are not the defaults); nothing was written: use the "
                           "committed file (git checkout data/ising)")
    raise InvalidInput(f"{path}: its SHA-256 {digest} is not the pinned {pinned} (altered, "
                       "damaged or made by other code): restore it (git checkout data/ising)")


def generate(root=None, L=L_DEFAULT, temperatures=TEMPERATURES, n_train=1000, n_test=400,
             samples_per_chain=10, pilot_sweeps=2000, pilot_chains=8, seed=2017, progress=True):
    """Write ising_path(root, L): n_train and n_test configurations a temperature, from disjoint
    chains, with the pilot's tau_int and the resulting schedule in the metadata. The bytes are a
    function of the arguments (and numpy's streams): a pinned file (for L = 16, only the default
    arguments make it) that comes out other than pinned is not written (``check_pinned``).
    Returns the metadata, plus the wall time 'wall_time_s', which the file does not record."""
    start = time.perf_counter()
    T = check_temperatures(temperatures)
    for name, value in [("n_train", n_train), ("n_test", n_test)]:
        check_count(name, value)
    size = len(T) * (n_train + n_test) * (-(-check_lattice(L) ** 2 // 8) + 3)   # spins, index, label
    if size > MAX_FILE_BYTES:
        raise InvalidInput(f"L, n_train and n_test make a data file of about {size >> 20} MiB; "
                           f"reading refuses files over {MAX_FILE_BYTES >> 20} MiB")
    pilot_rng, *split_rngs = map(np.random.default_rng, np.random.SeedSequence(seed).spawn(3))
    tau = pilot(T, pilot_sweeps, pilot_chains, pilot_rng, L, progress)
    equilibration, spacing = schedule(tau.max(1))
    tensors = {"temperatures": T}
    bar = tqdm(total=2 * len(T), desc="sampling", disable=not progress)
    for split, n, rng in zip(("train", "test"), (n_train, n_test), split_rngs):
        spins = []
        for t in range(len(T)):
            spins.append(sample(T[t], n, int(equilibration[t]), int(spacing[t]), rng, L,
                                samples_per_chain))
            bar.update()
        bits = np.concatenate(spins).reshape(len(T) * n, L * L) > 0
        tensors[f"{split}_spins"] = np.packbits(bits, axis=1)
        tensors[f"{split}_temperature_index"] = np.repeat(np.arange(len(T), dtype=np.int16), n)
        tensors[f"{split}_labels"] = np.repeat((T < T_C).astype(np.uint8), n)
    bar.close()
    metadata = {"L": L, "temperatures": T.tolist(), "T_c": T_C, "seed": seed,
                "sampler": "Swendsen-Wang, cold start, scipy connected_components",
                "pilot": {"sweeps": pilot_sweeps, "chains_per_temperature": pilot_chains,
                          "tau_abs_m": tau[:, 0].tolist(), "tau_energy": tau[:, 1].tolist()},
                "equilibration": equilibration.tolist(), "spacing": spacing.tolist(),
                "samples_per_chain": samples_per_chain,
                "counts": {"train": n_train, "test": n_test},
                "labels": "1 = ordered (T < T_c), 0 = disordered",
                "spins": "np.packbits of s > 0 over the L*L sites, row-major"}
    data, path = file_bytes(tensors, metadata), ising_path(root, L)
    check_pinned(path, hashlib.sha256(data).hexdigest(), generated=True)
    write_atomic(path, data)
    return {**metadata, "wall_time_s": round(time.perf_counter() - start, 1)}


def safetensors_metadata(data):
    """The metadata of a safetensors file's bytes (its header's __metadata__)."""
    size = int.from_bytes(data[:8], "little")
    return strict_json(data[8:8 + size].decode()).get("__metadata__", {})


def spin_pixels(spins):
    """Spins +-1 as pixel values x = 1/2 + s/4: 1/4 and 3/4, opposite points of the Fourier
    basis's circle (eq. 19 identifies x = 0 with x = 1, so spins on 0 and 1 would be one point)."""
    return 0.5 + spins.float() / 4


def read_verified(path):
    """(tensors, metadata) of a data file that has its pinned SHA-256 if it is a pinned one,
    whose contents match their recorded SHA-256 and whose labels are T < T_c; a ValueError
    naming the file otherwise."""
    data = read_bounded(path, MAX_FILE_BYTES, follow=True)        # checked by its digest
    check_pinned(path, hashlib.sha256(data).hexdigest())
    try:
        tensors = safetensors_load(data)
        metadata = strict_json(safetensors_metadata(data)["ising"])
        recorded = metadata.pop("content_sha256")
    except (SafetensorError, KeyError, TypeError, AttributeError, ValueError) as error:
        raise InvalidInput(f"{path}: not a readable Ising data file ({error})") from None
    if content_hash(tensors, json.dumps(metadata)) != recorded:
        raise InvalidInput(f"{path}: contents do not match their recorded SHA-256 (altered or "
                           "damaged); regenerate it with fetch_ising(force=True)")
    try:
        consistent = all(np.array_equal(tensors[f"{split}_labels"], tensors["temperatures"][
            tensors[f"{split}_temperature_index"]] < T_C) for split in ("train", "test"))
    except (KeyError, IndexError):
        consistent = False
    if not consistent:
        raise InvalidInput(f"{path}: labels missing or disagreeing with T < T_c")
    return tensors, metadata


def fetch_ising(force=False, root=None, L=L_DEFAULT, report=print, **kwargs):
    """The path of the verified data file, generated (``generate(root, L, **kwargs)``) when it is
    missing, fails its check, or ``force``. A pinned file that regenerates other than pinned
    (another numpy's random stream) is refused, InvalidInput, and nothing is written: the
    committed file is the data set (git checkout data/ising), not whatever this numpy draws."""
    path = ising_path(root, L)
    if path.exists() and not force:
        try:
            read_verified(path)
            return path
        except ValueError as error:
            report(f"{error}: generating it again")
    generate(root, L, **kwargs)
    return path


def load_ising(split, root=None, L=L_DEFAULT):
    """(spins int8 (N, L, L) of +-1, labels int64 (N,), 1 = ordered, temperatures float64 (N,))
    of 'train' or 'test', after checking the file (``read_verified``)."""
    check_choice("split", split, ("train", "test"))
    check_lattice(L)
    path = ising_path(root, L)
    if not path.exists():
        raise NotStored(f"{path} is missing: run `qcnn data fetch ising`")
    tensors, metadata = read_verified(path)
    if metadata["L"] != L:
        raise InvalidInput(f"{path}: holds L = {metadata['L']}, not L = {L}")
    bits = np.unpackbits(tensors[f"{split}_spins"], axis=1, count=L * L)
    spins = (2 * bits.astype(np.int8) - 1).reshape(-1, L, L)
    temperatures = tensors["temperatures"][tensors[f"{split}_temperature_index"]]
    return (torch.from_numpy(spins), torch.from_numpy(tensors[f"{split}_labels"].astype(np.int64)),
            torch.from_numpy(temperatures))
