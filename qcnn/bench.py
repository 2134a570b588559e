"""Timing benchmarks that print figures (no timed tests): ``qcnn bench entropy|train``."""
import json
import platform
import statistics
import time

import torch

from .errors import check_int
from .basis import features
from .config import DTYPES, Config, build_model
from .entropy import entanglement_entropy
from .fused import PlainStep, TrainingStep, folded_forward
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


def matmul_rate(size=1024, repeats=20, device="cpu", dtype=torch.float32):
    """The device's matmul rate (FLOP/s) in ``dtype`` through torch, at size x size (best of
    3)."""
    if torch.device(device).type == "cuda":
        size, repeats = 8192, 50              # 1024^3 is too small to time a GPU by
    a = torch.rand(size, size, device=device, dtype=dtype)
    b = torch.rand(size, size, device=device, dtype=dtype)
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


def time_steps(step, batches, device, warmup=20):
    """(seconds of the first ``warmup`` batches, with compilation and on a GPU the CUDA-graph
    capture; seconds per step of the rest) for ``step`` on ``batches``. The loop checks every
    loss."""
    start = time.perf_counter()
    if device.type == "cuda":
        step.capture(batches[0])
    for index in batches[:warmup]:
        bool(torch.isfinite(step(index)))
    warm = time.perf_counter() - start
    start = time.perf_counter()
    for index in batches[warmup:]:
        bool(torch.isfinite(step(index)))
    return warm, (time.perf_counter() - start) / (len(batches) - warmup)


def evaluation_seconds(model, leaves, labels, n_train, compiled, device):
    """Seconds of ``qcnn.train``'s evaluation of the training and the test set after an epoch."""
    forward = (torch.compile(folded_forward, dynamic=False)
               if compiled and device.type == "cpu" else folded_forward)
    evaluate(model, leaves[:EVAL_BATCH[device.type]], labels[:EVAL_BATCH[device.type]], forward)
    start = time.perf_counter()
    evaluate(model, leaves[:n_train], labels[:n_train], forward)
    evaluate(model, leaves[n_train:], labels[n_train:], forward)
    return time.perf_counter() - start


STEPS = {"plain": PlainStep, "fused": TrainingStep}


def bench_training(steps=300, d=18, n=9, batch_size=50, n_train=60000, n_test=10000,
                   device="auto"):
    """Seconds per 60000-image epoch at the paper's size on random data, in float32 and
    float64, eager and torch.compile'd: the training steps of ``PlainStep`` (autograd and
    torch.optim.AdamW) against those of ``TrainingStep`` (hand-written; on a GPU replayed as a
    CUDA graph, which PlainStep is not), ``steps`` steps each on the same batches after 20 of
    warm-up. The arithmetic floor is forward + backward (3x forward) FLOPs per epoch over the
    matmul rate measured here at 1024 x 1024 in the same dtype.

    ``training`` holds the comparison, a row per dtype and compilation: plain_s, fused_s, their
    ratio and each over the floor (floor_s), and the warm-ups. The flat figures are what
    ``qcnn train`` runs by default (float32, TrainingStep): its steps plus the evaluation of
    70000 images as ``seconds_per_epoch_{eager,compiled}``; ``floor_ratio`` is the compiled
    epoch over the float32 floor."""
    steps = check_int("steps", steps, 1)
    device = pick_device(device)
    generator = torch.Generator().manual_seed(0)
    chains = torch.rand(n_train + n_test, 256, generator=generator)
    labels = torch.randint(0, 10, (n_train + n_test,), generator=generator).to(device)
    order = torch.randperm(n_train, generator=generator).to(device)
    batches = [order[i * batch_size:(i + 1) * batch_size] for i in range(steps + 20)]
    figures = {"benchmark": "train", "device": str(device), "d": d, "n": n,
               "batch_size": batch_size, "steps": steps}
    flops = n_train * 3 * forward_flops(build_model(Config(d=d, n=n)))
    training = {}
    for dtype in ("float32", "float64"):
        rate = matmul_rate(device=device, dtype=DTYPES[dtype])
        figures["matmul_gflops" + ("" if dtype == "float32" else "_" + dtype)] = rate / 1e9
        leaves = None                                       # free the other dtype's first
        leaves = features(chains.to(device, DTYPES[dtype]), n)
        for compiled in (False, True):
            seconds, warmup = {}, {}
            for kind, Step in STEPS.items():
                torch.manual_seed(0)
                model = build_model(Config(d=d, n=n, dtype=dtype)).to(device)
                step = Step(model, leaves[:n_train], labels[:n_train], 0.01, 0.01, compile=compiled)
                warmup[kind], per_step = time_steps(step, batches, device)
                seconds[kind] = per_step * n_train / batch_size
            key = "compiled" if compiled else "eager"
            training[f"{dtype}_{key}"] = {
                "plain_s": seconds["plain"], "fused_s": seconds["fused"],
                "plain/fused": seconds["plain"] / seconds["fused"],
                "plain/floor": seconds["plain"] * rate / flops,
                "fused/floor": seconds["fused"] * rate / flops, "floor_s": flops / rate,
                "plain_warmup_s": warmup["plain"], "fused_warmup_s": warmup["fused"]}
            if dtype == "float32":                          # the flat figures
                figures[f"warmup_s_{key}"] = warmup["fused"]
                figures[f"steps_s_per_epoch_{key}"] = seconds["fused"]
                evaluation = evaluation_seconds(model, leaves, labels, n_train, compiled, device)
                figures[f"evaluation_s_{key}"] = evaluation
                figures[f"seconds_per_epoch_{key}"] = seconds["fused"] + evaluation
        if dtype == "float32":
            figures["floor_seconds"] = flops / rate
            figures["seconds_per_epoch"] = figures["seconds_per_epoch_compiled"]
            figures["floor_ratio"] = figures["seconds_per_epoch"] / figures["floor_seconds"]
    figures["torch_threads"] = torch.get_num_threads()
    if device.type == "cuda":
        figures["gpu"] = torch.cuda.get_device_name(device)
    figures["training"] = training
    return figures


def print_figures(figures):
    """One figure a line, a table (a dict of rows, each a dict of figures) as a table, then
    everything as one line of JSON."""
    for key, value in figures.items():
        if isinstance(value, dict):
            print_table(key, value)
        else:
            print(f"{key:>26}: {value:.3f}" if isinstance(value, float) else f"{key:>26}: {value}")
    print(json.dumps(figures))


def print_table(title, rows):
    columns = list(next(iter(rows.values())))
    widths = [max(len(c), 8) for c in columns]
    print(f"{title:<18}" + "".join(f"{c:>{w + 2}}" for c, w in zip(columns, widths)))
    for name, row in rows.items():
        print(f"{name:<18}" + "".join(f"{row[c]:>{w + 2}.3f}" for c, w in zip(columns, widths)))
