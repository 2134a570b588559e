"""Timing benchmarks that print figures (no timed tests): ``qcnn bench entropy|train``."""
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


def forward_flops(model):
    """Multiply-add FLOPs of one image's forward pass: 2 d_l d_{l+1} per position per layer."""
    widths, positions = model.widths, [model.n_pixels >> l for l in range(model.n_layers)] + [1]
    return sum(2 * p * a * b for p, a, b in zip(positions, widths[:-1], widths[1:]))


def matmul_rate(size=1024, repeats=20):
    """This machine's float32 matmul rate (FLOP/s) through torch, at size x size."""
    a, b = torch.rand(size, size), torch.rand(size, size)
    a @ b
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    return 2 * size**3 * repeats / (time.perf_counter() - start)


def bench_training(steps=300, d=18, n=9, batch_size=50, n_train=60000):
    """Seconds of training steps per 60000-image epoch at the paper's size (eager and
    torch.compile), the evaluation pass over 70000 images, and the arithmetic floor:
    forward + backward (3x forward) FLOPs per epoch over the matmul rate measured here."""
    from .train import COMPILE_FROM_STEPS, Config, build_model, evaluate, make_training_step

    chains = torch.rand(n_train, 256)
    labels = torch.randint(0, 10, (n_train,))
    figures = {"benchmark": "train", "d": d, "n": n, "batch_size": batch_size, "steps": steps}
    for compiled in (False, True):
        torch.manual_seed(0)
        model = build_model(Config(d=d, n=n))
        optimizer = torch.optim.AdamW(model.parameters(), lr=0.01, weight_decay=0.01)
        step = make_training_step(model, optimizer, compiled)
        batches = [(chains[i * batch_size:(i + 1) * batch_size],
                    labels[i * batch_size:(i + 1) * batch_size]) for i in range(steps + 20)]
        start = time.perf_counter()
        for x, y in batches[:20]:
            step(x, y)
        warmup = time.perf_counter() - start
        start = time.perf_counter()
        for x, y in batches[20:]:
            step(x, y)
        per_step = (time.perf_counter() - start) / steps
        key = "compiled" if compiled else "eager"
        figures[f"seconds_per_epoch_{key}"] = per_step * n_train / batch_size
        figures[f"warmup_s_{key}"] = warmup
    start = time.perf_counter()
    evaluate(model, torch.rand(70000, 256), torch.randint(0, 10, (70000,)))
    figures["evaluation_s_70000_images"] = time.perf_counter() - start
    rate = matmul_rate()
    figures["matmul_gflops"] = rate / 1e9
    figures["floor_seconds_per_epoch"] = n_train * 3 * forward_flops(model) / rate
    full_run_steps = 90 * n_train // batch_size
    figures["seconds_per_epoch"] = figures["seconds_per_epoch_compiled" if full_run_steps >=
                                           COMPILE_FROM_STEPS else "seconds_per_epoch_eager"]
    figures["floor_ratio"] = figures["seconds_per_epoch"] / figures["floor_seconds_per_epoch"]
    figures["torch_threads"] = torch.get_num_threads()
    return figures


def print_figures(figures):
    for key, value in figures.items():
        print(f"{key:>26}: {value:.3f}" if isinstance(value, float) else f"{key:>26}: {value}")
    print(json.dumps(figures))
