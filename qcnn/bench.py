"""Timing benchmarks that print figures (no timed tests): ``qcnn bench entropy|train``."""
import json
import platform
import statistics
import time

import torch

from .basis import features
from .config import Config, build_model
from .entropy import entanglement_entropy
from .fused import TrainingStep, folded_forward
from .model import QCNN, forward_flops
from .reference import entanglement_entropy_tn
from .train import EVAL_BATCH, evaluate, pick_device


def timed(fn, repeats):
    """Seconds of each of ``repeats`` calls of fn() (the chapters time with this too)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def bench_entropy(d=18, n=9, image_size=16, repeats=200, network_repeats=3):
    """Seconds per call of ``entanglement_entropy`` (10 labels) on the paper's model size, the
    eigenproblems inside it alone (one stack of |C| symmetric D_{L-1} x D_{L-1} matrices), and
    (``network_repeats`` times; 0: not) the tensornetwork cross-check. Returns a dict of
    figures."""
    torch.manual_seed(0)
    model = QCNN(d, n, image_size)
    entanglement_entropy(model)                                  # warm-up
    fast = timed(lambda: entanglement_entropy(model), repeats)
    size = model.widths[-3] + 1
    stack = torch.randn(model.n_classes, size, size, dtype=torch.float64)
    stack = stack + stack.transpose(1, 2)
    eigen = timed(lambda: torch.linalg.eigvalsh(stack), repeats)
    network = timed(lambda: entanglement_entropy_tn(model), network_repeats) or [float("nan")]
    return {
        "benchmark": "entropy", "d": d, "n": n, "n_pixels": model.n_pixels,
        "entropy_ms_median": 1e3 * statistics.median(fast), "entropy_ms_min": 1e3 * min(fast),
        "eigenproblems_ms_median": 1e3 * statistics.median(eigen), "eigenproblem_size": size,
        "tensornetwork_ms_median": 1e3 * statistics.median(network),
        "torch_threads": torch.get_num_threads(), "machine": platform.processor() or platform.machine(),
    }


def matmul_rate(size=1024, repeats=20, device="cpu"):
    """The device's float32 matmul rate (FLOP/s) through torch, at size x size (best of 3)."""
    if torch.device(device).type == "cuda":
        size, repeats = 8192, 50              # 1024^3 is too small to time a GPU by
    a, b = torch.rand(size, size, device=device), torch.rand(size, size, device=device)
    best = float("inf")
    for _ in range(3):
        a @ b
        synchronize(device)
        start = time.perf_counter()
        for _ in range(repeats):
            a @ b
        synchronize(device)
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 * repeats / best


def synchronize(device):
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def bench_training(steps=300, d=18, n=9, batch_size=50, n_train=60000, n_test=10000,
                   device="auto"):
    """Seconds per 60000-image epoch at the paper's size, as ``qcnn.train.train`` runs it:
    training steps (eager and torch.compile; on a GPU the compiled step replayed as a CUDA
    graph) plus the evaluation of 70000 images, on random data. The arithmetic floor is
    forward + backward (3x forward) FLOPs per epoch over the float32 matmul rate measured here
    at 1024 x 1024; ``floor_ratio`` is the epoch over the floor."""
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be an integer >= 1, got {steps!r}")
    device = pick_device(device)
    generator = torch.Generator().manual_seed(0)
    leaves = features(torch.rand(n_train + n_test, 256, generator=generator), n).to(device)
    labels = torch.randint(0, 10, (n_train + n_test,), generator=generator).to(device)
    figures = {"benchmark": "train", "device": str(device), "d": d, "n": n,
               "batch_size": batch_size, "steps": steps}
    for compiled in (False, True):
        torch.manual_seed(0)
        model = build_model(Config(d=d, n=n)).to(device)
        step = TrainingStep(model, leaves[:n_train], labels[:n_train], 0.01, 0.01, compile=compiled)
        order = torch.randperm(n_train, generator=generator).to(device)
        batches = [order[i * batch_size:(i + 1) * batch_size] for i in range(steps + 20)]
        key = "compiled" if compiled else "eager"
        start = time.perf_counter()
        if device.type == "cuda":
            step.capture(batches[0])
        for index in batches[:20]:
            bool(torch.isfinite(step(index)))
        figures[f"warmup_s_{key}"] = time.perf_counter() - start
        start = time.perf_counter()
        for index in batches[20:]:
            bool(torch.isfinite(step(index)))      # the loop checks every loss
        per_step = (time.perf_counter() - start) / steps
        figures[f"steps_s_per_epoch_{key}"] = per_step * n_train / batch_size
        forward = (torch.compile(folded_forward, dynamic=False)
                   if compiled and device.type == "cpu" else folded_forward)
        evaluate(model, leaves[:EVAL_BATCH[device.type]], labels[:EVAL_BATCH[device.type]], forward)
        start = time.perf_counter()
        evaluate(model, leaves[:n_train], labels[:n_train], forward)
        evaluate(model, leaves[n_train:], labels[n_train:], forward)
        figures[f"evaluation_s_{key}"] = time.perf_counter() - start
        figures[f"seconds_per_epoch_{key}"] = (figures[f"steps_s_per_epoch_{key}"]
                                               + figures[f"evaluation_s_{key}"])
    rate = matmul_rate(device=device)
    figures["matmul_gflops"] = rate / 1e9
    figures["floor_seconds"] = n_train * 3 * forward_flops(model) / rate
    figures["seconds_per_epoch"] = figures["seconds_per_epoch_compiled"]
    figures["floor_ratio"] = figures["seconds_per_epoch"] / figures["floor_seconds"]
    figures["torch_threads"] = torch.get_num_threads()
    if device.type == "cuda":
        figures["gpu"] = torch.cuda.get_device_name(device)
    return figures


def print_figures(figures):
    for key, value in figures.items():
        print(f"{key:>26}: {value:.3f}" if isinstance(value, float) else f"{key:>26}: {value}")
    print(json.dumps(figures))
