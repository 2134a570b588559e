"""Training (§4.1): squared-distance loss (eq. 48), AdamW, lr halved every 10 epochs, batch 50.

One loop for CPU and GPU. The representation layer's features of the whole data set are
computed once and sit on the device; an epoch is a seeded permutation cut into batches, each
one call of ``qcnn.fused.TrainingStep`` (compiled for long runs; replayed as a CUDA graph on a
GPU). Logged: train/test accuracy and cost per epoch (eval mode, full sets), and
``entropy_per_epoch`` times per epoch the running train cost and the per-label entanglement
entropies (plus the entropy at step 0), which Figs. 2-3 need.

A checkpoint (model, optimiser, shuffling and torch RNG states, metrics so far) is written
atomically after every epoch; a run killed at any moment resumes from the last one and ends
with the same metrics as an uninterrupted run (same device, thread count and compilation).
The trained weights go to ``model.safetensors`` and, at the epochs asked for, to
``snapshots/epoch-<k>.safetensors`` (the full state_dict, float32, no pickle). A non-finite
loss stops the run with the step and the first layer whose output left the floats; the last
good checkpoint stays.
"""
import copy
import dataclasses
import os
import platform
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import save_file
from tqdm.auto import tqdm

from .basis import BASES, features
from .data import DATASETS, load
from .entropy import entanglement_entropy
from .fused import TrainingStep, folded_forward
from .model import PARTITIONS, QCNN

# Initial batch-norm shift beta. "shift1": every BN output starts near 1, so every pooled
# product starts near the constant channel; "default": PyTorch's beta = 0 (the published code).
INITS = {"shift1": 1.0, "default": 0.0}
# Epochs after which the learning rate is first halved, then every 10: the paper says 10; the
# published code halves first after 9.
LR_SCHEDULES = {"paper": 10, "published": 9}
N_TRAIN, N_TEST = 60000, 10000


@dataclass(frozen=True)
class Config:
    """Everything that defines a run; its hash names the run (``qcnn.runs``)."""
    dataset: str = "mnist"
    partition: str = "updown"
    d: int = 18
    n: int = 9
    basis: str = "fourier"
    init: str = "shift1"
    seed: int = 0
    epochs: int = 90
    batch_size: int = 50
    lr: float = 0.01
    weight_decay: float = 0.01
    lr_schedule: str = "paper"
    limit_train: int = 0            # 0: all 60000
    limit_test: int = 0             # 0: all 10000
    entropy_per_epoch: int = 10

    def validated(self):
        """Self, or ValueError naming the first bad field and what is allowed."""
        choices = dict(dataset=DATASETS, partition=PARTITIONS, basis=BASES, init=tuple(INITS),
                       lr_schedule=tuple(LR_SCHEDULES))
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {getattr(self, name)!r}")
        ranges = dict(d=(1, 4096), n=(1, 1024), seed=(0, 2**63 - 1), epochs=(1, 10000),
                      batch_size=(1, N_TRAIN), limit_train=(0, N_TRAIN), limit_test=(0, N_TEST),
                      entropy_per_epoch=(0, 1000))
        for name, (low, high) in ranges.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise ValueError(f"{name} must be an integer in [{low}, {high}], got {value!r}")
        if not (isinstance(self.lr, (int, float)) and self.lr > 0):
            raise ValueError(f"lr must be a number > 0, got {self.lr!r}")
        if not (isinstance(self.weight_decay, (int, float)) and self.weight_decay >= 0):
            raise ValueError(f"weight_decay must be a number >= 0, got {self.weight_decay!r}")
        if self.batch_size > (self.limit_train or N_TRAIN):
            raise ValueError(f"batch_size must be at most the number of training images "
                             f"({self.limit_train or N_TRAIN}), got {self.batch_size}")
        return self

    def to_dict(self):
        return dataclasses.asdict(self)


def learning_rate(config, epoch):
    """lr for 0-based ``epoch``: halved after LR_SCHEDULES[...] epochs, then every 10."""
    first = LR_SCHEDULES[config.lr_schedule]
    return config.lr * 0.5 ** (0 if epoch < first else 1 + (epoch - first) // 10)


def pick_device(device="auto"):
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device not in ("cpu", "cuda"):
        raise ValueError(f"device must be one of ('auto', 'cpu', 'cuda'), got {device!r}")
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' was asked for, but torch sees no CUDA GPU")
    return torch.device(device)


def build_model(config):
    return QCNN(config.d, config.n, 16, partition=config.partition, basis=config.basis,
                bn_shift_init=INITS[config.init])


def squared_distance(alpha, labels):
    """Eq. (48): mean over the batch of sum_y (alpha_y - delta_{y, label})^2."""
    target = torch.nn.functional.one_hot(labels, alpha.shape[1]).to(alpha.dtype)
    return (alpha - target).square().sum(1).mean()


def load_split(config, split, model, device, chunk=10000):
    """The representation layer's features (eq. 1) of a split, (n, N, d_0) float32 in the
    partition's order, and the labels, on the device."""
    images, labels = load(config.dataset, split)
    limit = config.limit_train if split == "train" else config.limit_test
    if limit:
        images, labels = images[:limit], labels[:limit]
    chains = model.flatten(images)
    leaves = torch.cat([features(chains[i:i + chunk].to(device), model.n, model.basis)
                        for i in range(0, len(chains), chunk)])
    return leaves, labels.to(device)


# torch.compile costs ~30 s up front on a 2-core CPU (less once its cache is warm) and then
# takes a step from ~10 to ~6 ms: worth it from about this many steps on.
COMPILE_FROM_STEPS = 10000
# Evaluation batch: small enough that a CPU keeps the activations in cache.
EVAL_BATCH = {"cpu": 100, "cuda": 10000}


@torch.no_grad()
def evaluate(model, leaves, labels, forward=folded_forward):
    """(accuracy, cost) in eval mode (running statistics) over a whole set of leaves."""
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


def save_atomic(state, path):
    tmp = Path(f"{path}.tmp")
    torch.save(state, tmp)
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, path)


def save_weights(model, path):
    """The model's full state_dict (batch-norm running statistics included) as safetensors,
    written atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    save_file({k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}, tmp)
    os.replace(tmp, path)


def snapshot_path(directory, epoch):
    return Path(directory) / "snapshots" / f"epoch-{epoch}.safetensors"


def empty_metrics():
    return {"epoch": [], "lr": [], "train_accuracy": [], "test_accuracy": [], "train_cost": [],
            "test_cost": [], "entropy_log": {"step": [], "epoch": [], "running_train_cost": [],
                                             "entropy": []}}


def log_entropy(metrics, model, step, steps_per_epoch, running_cost):
    log = metrics["entropy_log"]
    log["step"].append(step)
    log["epoch"].append(step / steps_per_epoch)
    log["running_train_cost"].append(running_cost)
    log["entropy"].append(entanglement_entropy(model).tolist())


def train(config, directory, device="auto", progress=True, compile="auto", sitting=None,
          snapshots=()):
    """Train (or resume) the run of ``config`` with its checkpoint in ``directory``; write the
    final weights to ``directory/model.safetensors`` and, after each epoch listed in
    ``snapshots`` (0: before training), ``directory/snapshots/epoch-<k>.safetensors``.
    compile: "auto" (torch.compile for runs of COMPILE_FROM_STEPS steps or more), "on", "off".
    sitting: a dict describing this sitting (e.g. its commit), kept in ``info["sittings_log"]``.
    Returns (metrics, info) with info = {"wall_s", "devices", "sittings", "sittings_log",
    "compiled"}."""
    config.validated()
    if compile not in ("auto", "on", "off"):
        raise ValueError(f"compile must be one of ('auto', 'on', 'off'), got {compile!r}")
    device = pick_device(device)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    checkpoint = directory / "checkpoint.pt"

    torch.manual_seed(config.seed)
    model = build_model(config).to(device)
    shuffle = torch.Generator().manual_seed(config.seed)
    train_x, train_y = load_split(config, "train", model, device)
    test_x, test_y = load_split(config, "test", model, device)
    steps_per_epoch = len(train_x) // config.batch_size
    log_every = max(1, steps_per_epoch // config.entropy_per_epoch) if config.entropy_per_epoch else 0
    compiled = {"auto": config.epochs * steps_per_epoch >= COMPILE_FROM_STEPS,
                "on": True, "off": False}[compile]
    training_step = TrainingStep(model, train_x, train_y, config.lr, config.weight_decay,
                                 compile=compiled)

    metrics, info, start_epoch = empty_metrics(), {"wall_s": 0.0, "devices": [], "sittings": 0}, 0
    if checkpoint.exists():
        state = torch.load(checkpoint, map_location=device, weights_only=False)
        if state["config"] != config.to_dict():
            raise ValueError(f"{checkpoint} belongs to another config: {state['config']}")
        model.load_state_dict(state["model"])
        training_step.load_state_dict(state["optimizer"])
        shuffle.set_state(state["shuffle"])
        torch.set_rng_state(state["torch_rng"])
        metrics, info, start_epoch = state["metrics"], state["info"], state["epoch"]
    else:
        if config.entropy_per_epoch:
            log_entropy(metrics, model, 0, steps_per_epoch, None)
        if 0 in snapshots:
            save_weights(model, snapshot_path(directory, 0))
    info["sittings"] += 1
    info.setdefault("sittings_log", []).append(
        dict(sitting or {}, from_epoch=start_epoch, threads=torch.get_num_threads(),
             compiled=compiled))
    info["compiled"] = compiled
    where = (torch.cuda.get_device_name(device) if device.type == "cuda" else
             f"cpu ({platform.machine()}, {torch.get_num_threads()} torch threads)")
    if where not in info["devices"]:          # the thread count can change float results
        info["devices"].append(where)
    forward = torch.compile(folded_forward, dynamic=False) if compiled and device.type == "cpu" \
        else folded_forward
    if device.type == "cuda":
        training_step.capture(torch.arange(config.batch_size, device=device))

    model.train()
    epochs = tqdm(range(start_epoch, config.epochs), desc="epochs", initial=start_epoch,
                  total=config.epochs, disable=not progress, leave=False)
    for epoch in epochs:
        started = time.perf_counter()
        training_step.lr.fill_(learning_rate(config, epoch))
        order = torch.randperm(len(train_x), generator=shuffle).to(device)
        running, counted = torch.zeros((), dtype=torch.float64, device=device), 0
        for step in tqdm(range(steps_per_epoch), desc=f"epoch {epoch + 1}", leave=False,
                         disable=not progress):
            batch = order[step * config.batch_size:(step + 1) * config.batch_size]
            loss = training_step(batch)
            if not torch.isfinite(loss):
                raise FloatingPointError(
                    f"non-finite loss at epoch {epoch + 1}, step {step + 1} of {steps_per_epoch}"
                    f": first non-finite output in {first_nonfinite_layer(model, train_x[batch])}"
                    f". The last good checkpoint ({checkpoint.name}, after epoch {epoch}) is kept.")
            running += loss
            counted += 1
            if log_every and (step + 1) % log_every == 0:
                global_step = epoch * steps_per_epoch + step + 1
                log_entropy(metrics, model, global_step, steps_per_epoch, running.item() / counted)
                running.zero_()
                counted = 0
        train_accuracy, train_cost = evaluate(model, train_x, train_y, forward)
        test_accuracy, test_cost = evaluate(model, test_x, test_y, forward)
        for key, value in [("epoch", epoch + 1), ("lr", learning_rate(config, epoch)),
                           ("train_accuracy", train_accuracy), ("test_accuracy", test_accuracy),
                           ("train_cost", train_cost), ("test_cost", test_cost)]:
            metrics[key].append(value)
        info["wall_s"] += time.perf_counter() - started
        epochs.set_postfix(test_accuracy=f"{test_accuracy:.4f}", train_cost=f"{train_cost:.4f}")
        if epoch + 1 in snapshots:
            save_weights(model, snapshot_path(directory, epoch + 1))
        save_atomic({"config": config.to_dict(), "epoch": epoch + 1, "model": model.state_dict(),
                     "optimizer": training_step.state_dict(), "shuffle": shuffle.get_state(),
                     "torch_rng": torch.get_rng_state(), "metrics": metrics, "info": info},
                    checkpoint)
    save_weights(model, directory / "model.safetensors")
    return metrics, info
