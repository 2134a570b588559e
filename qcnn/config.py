"""A run's config: every setting that defines a training run, validated once, and its id.

``Config`` is frozen and checked when it is made: a bad field is an InvalidInput (a ValueError)
that names it and says what is allowed. A run is named by the first 12 hex digits of the SHA-256 of the config's
canonical JSON (``run_id``); ``build_model`` makes the untrained q-CNN the config describes.
"""
import dataclasses
import hashlib
import json
from dataclasses import dataclass, field

import torch

from .basis import BASES
from .errors import InvalidInput, check_choice, check_int, check_number
from .data import IMAGE_SIZE, N_TEST, N_TRAIN
from .model import PARTITIONS, QCNN

# Initial batch-norm shift beta. "shift1": every BN output starts near 1, so every pooled
# product starts near the constant channel; "default": PyTorch's beta = 0 (the published code).
INITS = {"shift1": 1.0, "default": 0.0}
# Epochs after which the learning rate is first halved, then every 10: the paper says 10; the
# published code halves first after 9. Two controls of what ends the beta = 0 plateau: "early"
# halves first after 4 epochs, "constant" never halves (None).
LR_SCHEDULES = {"paper": 10, "published": 9, "early": 4, "constant": None}
# Initial weights: PyTorch's default for nn.Linear, or xavier_uniform_ with gain 1 on every
# convolution and the classifier (the published code, layers.py lines 104 and 178).
WEIGHT_INITS = ("torch", "xavier")
DTYPES = {"float32": torch.float32, "float64": torch.float64}     # published: float64
# Eval mode normalises by running batch-norm statistics: the averages kept while training
# ("running") or, for data whose batches differ widely (the Ising configurations of many
# temperatures), their values over the whole training set, recomputed before each evaluation.
EVAL_STATS = ("running", "calibrated")
# What a run can train on: {data set: (training images, test images, labels)}. "ising": the
# configurations of qcnn.ising (24 temperatures, 1000 train and 400 test each), labelled
# ordered or disordered (tests/test_ising.py checks these counts against the file).
SPLITS = {"mnist": (N_TRAIN, N_TEST, 10), "fashion-mnist": (N_TRAIN, N_TEST, 10),
          "ising": (24000, 9600, 2)}
# Fields added after runs were stored: at their defaults they are left out of the hashed JSON,
# so that every stored run keeps its id.
LATER_FIELDS = {"weight_init": "torch", "dtype": "float32", "eval_stats": "running"}


def _field(default, help):
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class Config:
    """Everything that defines a run; its hash names the run (``run_id``)."""
    dataset: str = _field("mnist", "data set: mnist | fashion-mnist | ising (the 2D Ising model's "
                          "configurations, ordered or disordered)")
    partition: str = _field("updown", "top cut: updown (row-major flattening) | leftright "
                            "(transposed)")
    d: int = _field(18, "channel scale, d_l = d(l+1) (paper: 18)")
    n: int = _field(9, "Fourier cutoff, d_0 = 2n input channels (paper: 9)")
    basis: str = _field("fourier", "feature basis: fourier (eq. 19) | legendre")
    init: str = _field("shift1", "batch-norm shift at initialisation: shift1 (beta = 1) "
                       "| default (beta = 0, PyTorch's and the published code's)")
    seed: int = _field(0, "random seed (initialisation and shuffling)")
    epochs: int = _field(90, "epochs to train (paper: 90)")
    batch_size: int = _field(50, "batch size (paper: 50)")
    lr: float = _field(0.01, "AdamW learning rate (paper: 0.01)")
    weight_decay: float = _field(0.01, "AdamW weight decay (paper: 0.01)")
    lr_schedule: str = _field("paper", "paper (halve every 10 epochs) | published (first "
                              "halving after 9 epochs) | early (after 4) | constant (never)")
    limit_train: int = _field(0, "use only the first N training images (0: all; MNIST and "
                              "Fashion-MNIST only)")
    limit_test: int = _field(0, "use only the first N test images (0: all; MNIST and "
                             "Fashion-MNIST only)")
    entropy_per_epoch: int = _field(10, "how often per epoch to log the entropies and the "
                                    "running train cost")
    weight_init: str = _field("torch", "initial weights: torch (PyTorch's default) | xavier "
                              "(xavier_uniform_, gain 1, every convolution: the published code's)")
    dtype: str = _field("float32", "training precision: float32 | float64 (the published "
                        "code's)")
    eval_stats: str = _field("running", "the batch-norm statistics of the eval-mode evaluation "
                             "after each epoch: running (the averages kept during training, "
                             "PyTorch's) | calibrated (recomputed over the training set first)")

    def __post_init__(self):
        choices = dict(dataset=SPLITS, partition=PARTITIONS, basis=BASES, init=INITS,
                       lr_schedule=LR_SCHEDULES, weight_init=WEIGHT_INITS, dtype=DTYPES,
                       eval_stats=EVAL_STATS)
        for name, allowed in choices.items():
            check_choice(name, getattr(self, name), allowed)
        train, test, _ = SPLITS[self.dataset]
        ranges = dict(d=(1, 4096), n=(1, 1024), seed=(0, 2**63 - 1), epochs=(1, 10000),
                      batch_size=(1, train), limit_train=(0, train), limit_test=(0, test),
                      entropy_per_epoch=(0, 1000))
        for name, (low, high) in ranges.items():      # an int field holds a Python int
            object.__setattr__(self, name, check_int(name, getattr(self, name), low, high))
        if self.dataset == "ising" and (self.limit_train or self.limit_test):
            raise InvalidInput(f"limit_train and limit_test must be 0 for dataset ising (its "
                               f"configurations are stored by temperature, so the first N would "
                               f"hold the coldest only), got {self.limit_train} and {self.limit_test}")
        # a float field holds a float: 1 and 1.0, 0 and -0.0 name the same run
        object.__setattr__(self, "lr", check_number("lr", self.lr, 0, 10, low_open=True))
        object.__setattr__(self, "weight_decay", check_number("weight_decay", self.weight_decay, 0, 100))
        if self.batch_size > (self.limit_train or train):
            raise InvalidInput(f"batch_size must be at most the number of training images "
                               f"({self.limit_train or train}), got {self.batch_size}")

    @property
    def images(self):
        """(training images, test images) the run uses."""
        train, test, _ = SPLITS[self.dataset]
        return self.limit_train or train, self.limit_test or test

    def to_dict(self):
        """The config as the run store keeps it (``config.json``) and hashes it: every field,
        but the LATER_FIELDS only where they differ from their defaults."""
        fields = dataclasses.asdict(self)
        for name, default in LATER_FIELDS.items():
            if fields[name] == default:
                del fields[name]
        return fields

    @classmethod
    def from_dict(cls, fields, source="the config"):
        """A Config from a mapping (a ``config.json``, a grid point); ValueError naming
        ``source`` and the unknown keys if there are any."""
        if not isinstance(fields, dict):
            raise InvalidInput(f"{source} must be a mapping of config fields, got "
                               f"{type(fields).__name__}")
        unknown = sorted(set(fields) - {f.name for f in dataclasses.fields(cls)})
        if unknown:
            raise InvalidInput(f"{source} has unknown field(s) {unknown}; allowed: "
                               f"{[f.name for f in dataclasses.fields(cls)]}")
        try:
            return cls(**fields)
        except InvalidInput as error:
            raise InvalidInput(f"{source}: {error}") from error


def run_id(config):
    """First 12 hex digits of the SHA-256 of the config's canonical JSON."""
    text = json.dumps(config.to_dict(), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def train_flags(config):
    """The `qcnn train` flags that make ``config``'s run (the fields that differ from the
    defaults)."""
    default = Config().to_dict()
    return " ".join(f"--{k.replace('_', '-')} {v}" for k, v in config.to_dict().items()
                    if v != default.get(k)) or "(no flags: the defaults)"


def build_model(config):
    """The untrained q-CNN of ``config`` on the CPU, in its dtype, seeded by the caller."""
    model = QCNN(config.d, config.n, IMAGE_SIZE, n_classes=SPLITS[config.dataset][2],
                 partition=config.partition, basis=config.basis, bn_shift_init=INITS[config.init])
    if config.weight_init == "xavier":
        for conv in model.convs:
            torch.nn.init.xavier_uniform_(conv.weight, gain=1.0)
    return model.to(DTYPES[config.dtype])
