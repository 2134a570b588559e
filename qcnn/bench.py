"""Timing benchmarks that print figures (no timed tests): ``qcnn bench entropy``."""
import json
import platform
import statistics
import time

import torch

from .entropy import entanglement_entropy, entanglement_entropy_tn
from .model import QCNN


def _timed(fn, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def bench_entropy(d=18, n=9, image_size=16, repeats=200):
    """Seconds per call of ``entanglement_entropy`` (10 labels) on the paper's model size,
    with the tensornetwork cross-check timed beside it. Returns a dict of figures."""
    torch.manual_seed(0)
    model = QCNN(d, n, image_size)
    entanglement_entropy(model)                                  # warm-up
    fast = _timed(lambda: entanglement_entropy(model), repeats)
    network = _timed(lambda: entanglement_entropy_tn(model), 3)
    return {
        "benchmark": "entropy", "d": d, "n": n, "n_pixels": model.n_pixels,
        "entropy_ms_median": 1e3 * statistics.median(fast), "entropy_ms_min": 1e3 * min(fast),
        "tensornetwork_ms_median": 1e3 * statistics.median(network),
        "torch_threads": torch.get_num_threads(), "machine": platform.processor() or platform.machine(),
    }


def print_figures(figures):
    for key, value in figures.items():
        print(f"{key:>26}: {value:.3f}" if isinstance(value, float) else f"{key:>26}: {value}")
    print(json.dumps(figures))
