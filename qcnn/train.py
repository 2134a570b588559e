"""Training (§4.1): squared-distance loss (eq. 48), AdamW, batch 50, the learning rate halved
every 10 epochs (``lr_schedule`` paper), first after 9 (published, the published code's), first
after 4 (early) or never (constant); the last two are the controls of the plateau's end.

One loop for CPU and GPU. The representation layer's features of the whole data set are
computed once and sit on the device; an epoch is a seeded permutation cut into batches, each
one call of ``qcnn.fused.TrainingStep`` (compiled for long runs; replayed as a CUDA graph on a
GPU; ``step="plain"`` takes the unfused ``PlainStep``, for comparison). After each epoch the
network is evaluated in eval mode with the batch norms' running statistics (``eval_stats``
running, PyTorch's) or with statistics recomputed over the training set (calibrated, which the
Ising runs use). Logged: train/test accuracy and cost per epoch (eval mode, full sets), and
``entropy_per_epoch`` times per epoch the running train cost and the per-label entanglement
entropies (plus the entropy at step 0), which Figs. 2-3 need.

A checkpoint (model, optimiser, shuffling and torch RNG states as tensors, metrics so far as
JSON, in one ``checkpoint.safetensors``: nothing in it can run code) is written atomically after
every epoch; a run killed at any moment resumes from the last one and ends with the same
metrics as an uninterrupted run (same device, thread count and compilation). The trained
weights go to ``model.safetensors`` and, at the epochs asked for, to
``snapshots/epoch-<k>.safetensors`` (the full state_dict). Training that goes
non-finite (the loss, the weights, an epoch's costs) stops with an error naming the epoch and
what left the floats; the last good checkpoint stays.
"""
import copy
import json
import math
import platform
import sys
import time
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save as safetensors_bytes
from tqdm.auto import tqdm

from .basis import features
from .config import DTYPES, LR_SCHEDULES, SPLITS, build_model
from .data import IMAGE_SIZE, load, strict_json, write_atomic
from .entropy import entanglement_entropy
from .errors import InvalidInput, NonFinite, check_choice
from .fused import PlainStep, TrainingStep, folded_forward
from .ising import load_ising, spin_pixels
from .model import calibrate_batchnorm, channel_widths, check_memory, parameter_count
from .records import Metrics
from .store import snapshot_path

# torch.compile costs tens of seconds up front on a 2-core CPU (about 1 s once its cache is warm)
# and then takes the fused step at d = 18 from 7.1 to 3.9 ms (`qcnn bench train`, 2026-12-06):
# worth it from about this many steps on.
COMPILE_FROM_STEPS = 10000
# Evaluation batch: small enough that a CPU keeps the activations in cache.
EVAL_BATCH = {"cpu": 100, "cuda": 10000}
CHECKPOINT = "checkpoint.safetensors"


def learning_rate(config, epoch):
    """lr for 0-based ``epoch``: halved after LR_SCHEDULES[...] epochs, then every 10 (never
    under the constant schedule)."""
    first = LR_SCHEDULES[config.lr_schedule]
    if first is None:
        return config.lr
    return config.lr * 0.5 ** (0 if epoch < first else 1 + (epoch - first) // 10)


DEVICES = ("auto", "cpu", "cuda")


def pick_device(device="auto"):
    check_choice("device", device, DEVICES)
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise InvalidInput("device 'cuda' was asked for, but torch sees no CUDA GPU")
    return torch.device(device)


def device_name(device):
    """How provenance names a device: the GPU's name, or the CPU with its torch threads (the
    thread count can change float results)."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"cpu ({platform.machine()}, {torch.get_num_threads()} torch threads)"


def squared_distance(alpha, labels):
    """Eq. (48): mean over the batch of sum_y (alpha_y - delta_{y, label})^2."""
    target = torch.nn.functional.one_hot(labels, alpha.shape[1]).to(alpha.dtype)
    return (alpha - target).square().sum(1).mean()


def load_images(name, split, data_root=None):
    """(images (n, 16, 16) in [0, 1], labels) of a split: MNIST and Fashion-MNIST from
    ``data.load``, the Ising configurations from ``ising.load_ising`` through ``spin_pixels``."""
    if name == "ising":
        spins, labels, _ = load_ising(split, data_root)
        return spin_pixels(spins), labels
    return load(name, split, data_root)


def load_split(config, split, model, device, data_root=None, chunk=10000):
    """The representation layer's features (eq. 1) of a split, (n, N, d_0) in the partition's
    order and the model's dtype, and the labels, on the device."""
    images, labels = load_images(config.dataset, split, data_root)
    limit = config.limit_train if split == "train" else config.limit_test
    if limit:
        images, labels = images[:limit], labels[:limit]
    chains, dtype = model.flatten(images), model.convs[0].weight.dtype
    leaves = torch.cat([features(chains[i:i + chunk].to(device, dtype), model.n, model.basis)
                        for i in range(0, len(chains), chunk)])
    return leaves, labels.to(device)


def training_memory(config, device):
    """Bytes that training ``config`` needs on ``device``, an estimate: the features of the
    training and test images, four copies of the weights (AdamW), a batch's activations kept
    for the backward pass (about four per layer output) and an evaluation batch's."""
    size = DTYPES[config.dtype].itemsize
    pixels = IMAGE_SIZE * IMAGE_SIZE
    images = sum(config.images)
    widths = channel_widths(config.d, config.n, pixels.bit_length() - 1, SPLITS[config.dataset][2])
    per_image = sum((pixels >> level) * width for level, width in enumerate(widths[1:]))
    batch = 4 * config.batch_size + EVAL_BATCH[torch.device(device).type]
    return size * (images * pixels * widths[0] + 4 * parameter_count(config.d, config.n, pixels,
                                                                      widths[-1]) + batch * per_image)


def check_fits(config, device):
    """InvalidInput if training ``config`` would need more memory than ``device`` has."""
    check_memory(training_memory(config, device), f"training d = {config.d}, n = {config.n}",
                 device)


@torch.no_grad()
def evaluate(model, leaves, labels, forward=folded_forward):
    """(accuracy, cost) in eval mode (the batch norms' running statistics, calibrated or not)
    over a whole set of leaves."""
    batch = EVAL_BATCH[leaves.device.type]
    correct = torch.zeros((), dtype=torch.int64, device=leaves.device)
    cost = torch.zeros((), dtype=torch.float64, device=leaves.device)
    for start in range(0, len(leaves), batch):
        alpha = forward(model, leaves[start:start + batch])
        y = labels[start:start + batch]
        correct += (alpha.abs().argmax(1) == y).sum()
        cost += squared_distance(alpha, y).double() * len(y)
    return correct.item() / len(leaves), cost.item() / len(leaves)


def first_nonfinite_layer(model, z):
    """Name of the first layer whose output is not finite for inputs z (on a copy)."""
    found = []

    def inspect(name, tensor):
        if not found and not torch.isfinite(tensor).all():
            found.append(name)
    with torch.no_grad():
        alpha = copy.deepcopy(model).forward_features(z, inspect)
    return found[0] if found else ("the classifier" if not torch.isfinite(alpha).all() else "the loss")


def stop_if_nonfinite(bad, model, train_x, order, config, epoch, steps, checkpoint):
    """NonFinite if step ``bad`` (0-based, -1: none) of this epoch had a non-finite
    loss, naming the step and the first layer whose output left the floats on its batch."""
    if bad < 0:
        return
    batch = order[bad * config.batch_size:(bad + 1) * config.batch_size]
    kept = (f"the last good checkpoint ({checkpoint.name}, after epoch {epoch}) is kept" if epoch
            else "no epoch was finished, so there is no checkpoint")
    raise NonFinite(
        f"non-finite loss at epoch {epoch + 1}, step {bad + 1} of {steps}: first non-finite "
        f"output in {first_nonfinite_layer(model, train_x[batch])}; {kept}.")


def nonfinite_tensors(model):
    """Names of the model's parameters and buffers that hold a non-finite value."""
    return [name for name, t in model.state_dict().items()
            if t.is_floating_point() and not torch.isfinite(t).all()]


# ------------------------------------------------------------------- weights, checkpoints

def save_weights(model, path):
    """The model's full state_dict (batch-norm running statistics included) as safetensors,
    in the model's dtype, written atomically."""
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    write_atomic(path, safetensors_bytes(state))


def save_checkpoint(path, model, step, shuffle, epoch, metrics, info, config):
    """The whole training state after ``epoch`` as one safetensors file: tensors for the model,
    AdamW's state and the RNG states, JSON (in its metadata) for the rest."""
    tensors = {f"model.{k}": v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    for name, values in step.state_dict().items():
        for i, t in enumerate(values):
            tensors[f"optimizer.{name}.{i}"] = t.detach().cpu().contiguous()
    tensors["rng.shuffle"] = shuffle.get_state()
    tensors["rng.torch"] = torch.get_rng_state()
    state = {"config": config.to_dict(), "epoch": epoch, "metrics": metrics.to_json(), "info": info}
    metadata = {"state": json.dumps(state, allow_nan=False)}
    write_atomic(path, safetensors_bytes(tensors, metadata=metadata))


def load_checkpoint(path, model, step, shuffle, config):
    """Restore what ``save_checkpoint`` wrote into ``model``, ``step`` and ``shuffle`` (and
    torch's RNG); returns (epoch, metrics, info). Everything is checked before anything is
    restored: the config, the epoch, the metrics (``records.Metrics``, exactly the epochs done),
    the training record, and every tensor's name, shape and dtype against the model's and the
    optimiser's. A file that fails is an InvalidInput naming it."""
    advice = "delete it to train the run from the start"
    try:
        with safe_open(path, framework="pt") as f:
            state = strict_json(f.metadata()["state"])
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except (SafetensorError, OSError, KeyError, TypeError, ValueError) as error:
        raise InvalidInput(f"{path} is not a readable training checkpoint ({str(error)[:200]}); "
                           f"{advice}") from None
    if not isinstance(state, dict) or state.get("config") != config.to_dict():
        raise InvalidInput(f"{path} belongs to another config: "
                           f"{state.get('config') if isinstance(state, dict) else state!r}")
    problem = state_problem(state, config) or tensor_problem(tensors, model, step)
    if problem:
        raise InvalidInput(f"{path} is not a usable training checkpoint ({problem}); {advice}")
    model.load_state_dict({k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")})
    step.load_state_dict(optimizer_state(tensors))
    shuffle.set_state(tensors["rng.shuffle"])
    torch.set_rng_state(tensors["rng.torch"])
    return state["epoch"], Metrics.from_json(state["metrics"]), state["info"]


def optimizer_state(tensors):
    """{name: [tensor, ...]} of the optimiser's tensors in a checkpoint (``optimizer.<name>.<i>``)."""
    found = {}
    for key, value in tensors.items():
        if key.startswith("optimizer."):
            _, name, i = key.split(".")
            found.setdefault(name, {})[int(i)] = value
    return {name: [values[i] for i in sorted(values)] for name, values in found.items()}


def state_problem(state, config):
    """What is wrong with a checkpoint's JSON state for ``config`` (None if nothing): its epoch
    must be an integer in [1, epochs], its metrics those of epochs 1..epoch, its info a
    training record."""
    epoch, info = state.get("epoch"), state.get("info")
    if isinstance(epoch, bool) or not isinstance(epoch, int) or not 1 <= epoch <= config.epochs:
        return f"epoch {epoch!r} is not an integer in [1, {config.epochs}]"
    try:
        Metrics.from_json(state.get("metrics"), "its metrics", epochs=epoch)
    except InvalidInput as error:
        return str(error)
    if not isinstance(info, dict) or set(info) - {"wall_s", "devices", "sittings", "sittings_log",
                                                   "compiled"}:
        return "its info is not a training record"
    wall, devices, sittings = info.get("wall_s"), info.get("devices"), info.get("sittings")
    log = info.get("sittings_log", [])
    if (isinstance(wall, bool) or not isinstance(wall, (int, float)) or not math.isfinite(wall)
            or not isinstance(devices, list) or not all(isinstance(d, str) for d in devices)
            or isinstance(sittings, bool) or not isinstance(sittings, int) or sittings < 1
            or not isinstance(log, list) or not all(isinstance(s, dict) for s in log)):
        return "its info is not a training record"
    return None


def tensor_problem(tensors, model, step):
    """What is wrong with a checkpoint's tensors (None if nothing): they must be exactly the
    model's, the optimiser's and the two RNG states, each with the shape and dtype of what it
    replaces, every float finite."""
    expected = {f"model.{k}": v for k, v in model.state_dict().items()}
    for name, values in step.state_dict().items():
        expected.update({f"optimizer.{name}.{i}": v for i, v in enumerate(values)})
    expected.update({"rng.shuffle": torch.Generator().get_state(), "rng.torch": torch.get_rng_state()})
    if set(tensors) != set(expected):
        return f"its tensors differ from the run's: {sorted(set(tensors) ^ set(expected))[:4]}"
    for name, tensor in tensors.items():
        if tensor.shape != expected[name].shape or tensor.dtype != expected[name].dtype:
            return (f"{name} is {tensor.dtype} {tuple(tensor.shape)}, not "
                    f"{expected[name].dtype} {tuple(expected[name].shape)}")
        if tensor.is_floating_point() and not torch.isfinite(tensor).all():
            return f"{name} holds a value that is not finite"
    return None


# ------------------------------------------------------------------------------- logging

def log_entropy(metrics, model, step, steps_per_epoch, running_cost):
    """Append the entropies (and the running train cost) at global ``step``; weights that left
    the floats are a NonFinite error naming them, not a failed eigensolver."""
    bad = nonfinite_tensors(model)
    if bad:
        raise NonFinite(f"non-finite weights at epoch {step / steps_per_epoch:.1f} "
                        f"(step {step}): {', '.join(bad[:4])}")
    log = metrics.entropy_log
    log.step.append(step)
    log.epoch.append(step / steps_per_epoch)
    log.running_train_cost.append(running_cost)
    log.entropy.append(entanglement_entropy(model).tolist())


def log_epoch(metrics, config, epoch, train_scores, test_scores):
    """Append an epoch's accuracies and costs; a non-finite one is a NonFinite error."""
    values = {"train_accuracy": train_scores[0], "test_accuracy": test_scores[0],
              "train_cost": train_scores[1], "test_cost": test_scores[1]}
    bad = [k for k, v in values.items() if not math.isfinite(v)]
    if bad:
        raise NonFinite(
            f"epoch {epoch + 1}: {', '.join(bad)} not finite in eval mode (the batch norms' "
            "running statistics lag the weights after too few steps); the run is not stored: "
            "train on more images or for more epochs (the quick recipe, `qcnn train --quick`, "
            "takes 2400 steps)")
    metrics.epoch.append(epoch + 1)
    metrics.lr.append(learning_rate(config, epoch))
    for key, value in values.items():
        getattr(metrics, key).append(value)


# ------------------------------------------------------------------------------ the loop

STEPS = {"fused": TrainingStep, "plain": PlainStep}


def train(config, directory, device="auto", progress=True, compile="auto", sitting=None,
          snapshots=(), data_root=None, step="fused", fresh_if_broken=False):
    """Train (or resume) the run of ``config`` with its checkpoint in ``directory``; write the
    final weights to ``directory/model.safetensors`` and, after each epoch listed in
    ``snapshots`` (0: before training), ``directory/snapshots/epoch-<k>.safetensors``.
    compile: "auto" (torch.compile for runs of COMPILE_FROM_STEPS steps or more), "on", "off".
    sitting: a dict describing this sitting (e.g. its commit), kept in ``info["sittings_log"]``.
    step: "fused" (``fused.TrainingStep``, the hand-written step) or "plain" (autograd and
    ``torch.optim.AdamW``); the same mathematics, so not part of the config (like compile), but
    recorded in the sitting (their float results differ in rounding). ``fresh_if_broken``: a
    checkpoint that fails its checks is removed and training starts over (``--retrain``),
    instead of an InvalidInput that says so.
    Returns (metrics, info) with info = {"wall_s", "devices", "sittings", "sittings_log",
    "compiled"}."""
    check_choice("compile", compile, ("auto", "on", "off"))
    check_choice("step", step, STEPS)
    device = pick_device(device)
    check_fits(config, device)
    directory = Path(directory)
    checkpoint = directory / CHECKPOINT
    torch.manual_seed(config.seed)
    model = build_model(config).to(device)
    shuffle = torch.Generator().manual_seed(config.seed)
    train_x, train_y = load_split(config, "train", model, device, data_root)
    test_x, test_y = load_split(config, "test", model, device, data_root)
    steps = len(train_x) // config.batch_size
    log_every = max(1, steps // config.entropy_per_epoch) if config.entropy_per_epoch else 0
    compiled = {"auto": config.epochs * steps >= COMPILE_FROM_STEPS, "on": True, "off": False}[compile]
    step_name, step = step, STEPS[step](model, train_x, train_y, config.lr, config.weight_decay,
                                        compile=compiled)
    forward = torch.compile(folded_forward, dynamic=False) if compiled and device.type == "cpu" \
        else folded_forward

    metrics, info, start = Metrics(), {"wall_s": 0.0, "devices": [], "sittings": 0}, 0
    resumed = False
    if checkpoint.exists():
        try:            # every check comes before anything is restored: a failure changes nothing
            start, metrics, info = load_checkpoint(checkpoint, model, step, shuffle, config)
            resumed = True
        except InvalidInput as error:
            if not fresh_if_broken:
                raise
            print(f"{error}: removed, training from the start (--retrain)", file=sys.stderr)
            checkpoint.unlink()
    if not resumed:
        if config.entropy_per_epoch:
            log_entropy(metrics, model, 0, steps, None)
        if 0 in snapshots:
            save_weights(model, snapshot_path(directory, 0))
    info["sittings"] += 1
    info.setdefault("sittings_log", []).append(
        dict(sitting or {}, from_epoch=start, threads=torch.get_num_threads(), compiled=compiled,
             **({"step": step_name} if step_name != "fused" else {})))
    info["compiled"] = compiled
    if device_name(device) not in info["devices"]:
        info["devices"].append(device_name(device))
    if device.type == "cuda":
        step.capture(torch.arange(config.batch_size, device=device))

    model.train()
    bar = tqdm(range(start, config.epochs), desc="epochs", initial=start, total=config.epochs,
               disable=not progress, leave=False)
    for epoch in bar:
        started = time.perf_counter()
        step.lr.fill_(learning_rate(config, epoch))
        order = torch.randperm(len(train_x), generator=shuffle).to(device)
        running, counted = torch.zeros((), dtype=torch.float64, device=device), 0
        bad = torch.full((), -1, dtype=torch.int64, device=device)     # first non-finite step
        for i in tqdm(range(steps), desc=f"epoch {epoch + 1}", leave=False, disable=not progress):
            batch = order[i * config.batch_size:(i + 1) * config.batch_size]
            loss = step(batch)                    # a non-finite loss leaves the state untouched
            bad = torch.where((bad < 0) & ~torch.isfinite(loss), i, bad)   # no sync on a GPU
            running += loss
            counted += 1
            if (log_every and (i + 1) % log_every == 0) or i + 1 == steps:
                stop_if_nonfinite(int(bad), model, train_x, order, config, epoch, steps, checkpoint)
            if log_every and (i + 1) % log_every == 0:
                log_entropy(metrics, model, epoch * steps + i + 1, steps, running.item() / counted)
                running.zero_()
                counted = 0
        if config.eval_stats == "calibrated":
            calibrate_batchnorm(model, train_x, batch=1000, features=True)
            model.train()
        log_epoch(metrics, config, epoch, evaluate(model, train_x, train_y, forward),
                  evaluate(model, test_x, test_y, forward))
        info["wall_s"] += time.perf_counter() - started
        bar.set_postfix(test_accuracy=f"{metrics.test_accuracy[-1]:.4f}",
                        train_cost=f"{metrics.train_cost[-1]:.4f}")
        if epoch + 1 in snapshots:
            save_weights(model, snapshot_path(directory, epoch + 1))
        save_checkpoint(checkpoint, model, step, shuffle, epoch + 1, metrics, info, config)
    save_weights(model, directory / "model.safetensors")
    return metrics, info
