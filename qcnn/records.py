"""What a run is, as typed records: ``Metrics`` (with its ``EntropyLog``), ``Provenance``, ``Run``.

JSON crosses into Python only through ``from_json``, which checks the shape, the types and the
numbers and names the file on any failure (an ``InvalidInput``); the constructors check the
same, so a record that exists is well formed. ``to_json`` gives back the dictionary the run
store writes, in a fixed key order, so that identical runs give byte-identical files.

Metrics (per epoch, eval mode, the full sets): ``epoch`` 1..k, the learning rate, train and
test accuracy and cost (eq. 48). The entropy log, ``entropy_per_epoch`` times an epoch and at
step 0: the global step, the epoch as a fraction, the running train cost since the previous
entry (None at step 0) and each label's top-cut entropy (nats).
"""
import math
import re
from dataclasses import asdict, dataclass, field, fields

from .config import Config
from .errors import InvalidInput

# the files a run's provenance may list as its weights, relative to its folder
WEIGHT_FILE = re.compile(r"model\.safetensors|snapshots/epoch-(0|[1-9][0-9]{0,4})\.safetensors")
PER_EPOCH = ("epoch", "lr", "train_accuracy", "test_accuracy", "train_cost", "test_cost")


def is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def numbers(name, values, low=-math.inf, high=math.inf):
    """What is wrong with a list of finite numbers in [low, high], or None."""
    if not isinstance(values, list):
        return f"{name} is not a list"
    for value in values:
        if not is_number(value) or not low <= value <= high:
            return f"{name} holds {value!r}, not a finite number in [{low}, {high}]"
    return None


@dataclass
class EntropyLog:
    step: list = field(default_factory=list)
    epoch: list = field(default_factory=list)
    running_train_cost: list = field(default_factory=list)
    entropy: list = field(default_factory=list)

    def __post_init__(self):
        problem = self.problem()
        if problem:
            raise InvalidInput(f"the entropy log: {problem}")

    def problem(self):
        lengths = {len(v) if isinstance(v, list) else -1 for v in asdict(self).values()}
        if len(lengths) != 1 or -1 in lengths:
            return "its lists differ in length"
        if any(isinstance(s, bool) or not isinstance(s, int) or s < 0 for s in self.step):
            return "a step is not an integer >= 0"
        if any(b < a for a, b in zip(self.step, self.step[1:])):
            return "its steps go backwards"
        costs = [c for s, c in zip(self.step, self.running_train_cost) if not (s == 0 and c is None)]
        widths = {len(row) if isinstance(row, list) else -1 for row in self.entropy}
        return (numbers("epoch", self.epoch, 0) or numbers("running_train_cost", costs, 0)
                or (len(widths) > 1 or -1 in widths or 0 in widths) and "entropy rows differ"
                or next(filter(None, (numbers("entropy", row, -1e-9) for row in self.entropy)), None))


@dataclass
class Metrics:
    epoch: list = field(default_factory=list)
    lr: list = field(default_factory=list)
    train_accuracy: list = field(default_factory=list)
    test_accuracy: list = field(default_factory=list)
    train_cost: list = field(default_factory=list)
    test_cost: list = field(default_factory=list)
    entropy_log: EntropyLog = field(default_factory=EntropyLog)

    def __post_init__(self):
        if not isinstance(self.entropy_log, EntropyLog):
            raise InvalidInput("entropy_log must be an EntropyLog")
        lists = [getattr(self, k) for k in PER_EPOCH]
        if any(not isinstance(v, list) for v in lists) or len({len(v) for v in lists}) != 1:
            raise InvalidInput(f"the per-epoch lists {PER_EPOCH} differ in length")
        if self.epoch != list(range(1, len(self.epoch) + 1)):
            raise InvalidInput(f"epoch must be 1, 2, ..., {len(self.epoch)}, got {self.epoch[:5]}...")
        problem = (numbers("lr", self.lr, 0) or numbers("train_accuracy", self.train_accuracy, 0, 1)
                   or numbers("test_accuracy", self.test_accuracy, 0, 1)
                   or numbers("train_cost", self.train_cost, 0) or numbers("test_cost", self.test_cost, 0))
        if problem:
            raise InvalidInput(problem)

    @property
    def epochs(self):
        return len(self.epoch)

    def to_json(self):
        """The dictionary ``metrics.json`` holds (key order fixed)."""
        return {**{k: getattr(self, k) for k in PER_EPOCH}, "entropy_log": asdict(self.entropy_log)}

    @classmethod
    def from_json(cls, obj, source="metrics", epochs=None):
        """Metrics from parsed JSON, exactly the fields ``to_json`` writes (``epochs``: the
        number of epochs it must hold); InvalidInput naming ``source`` otherwise."""
        try:
            if not isinstance(obj, dict) or set(obj) != {*PER_EPOCH, "entropy_log"}:
                raise InvalidInput("not a run's metrics (fields "
                                   f"{sorted(obj) if isinstance(obj, dict) else type(obj).__name__})")
            log = obj["entropy_log"]
            if not isinstance(log, dict) or set(log) != {f.name for f in fields(EntropyLog)}:
                raise InvalidInput("its entropy_log does not have the fields of one")
            metrics = cls(**{k: obj[k] for k in PER_EPOCH}, entropy_log=EntropyLog(**log))
            if epochs is not None and metrics.epochs != epochs:
                raise InvalidInput(f"it holds {metrics.epochs} epochs, not {epochs}")
            return metrics
        except InvalidInput as error:
            raise InvalidInput(f"{source}: {error}") from None


@dataclass(frozen=True)
class Provenance:
    """Where and how a run was made: command, commit, package versions, device(s), wall time,
    every sitting (a run resumed after an interruption has several), whether it was compiled,
    its weight files, when it finished."""
    command: str
    commit: str
    versions: dict
    device: str
    wall_time_s: float
    sittings: int
    sittings_log: list
    compiled: bool
    weights: list
    finished_utc: str
    last_sitting_s: float

    def __post_init__(self):
        kinds = dict(command=str, commit=str, versions=dict, device=str, sittings_log=list,
                     compiled=bool, weights=list, finished_utc=str)
        wrong = [k for k, kind in kinds.items() if not isinstance(getattr(self, k), kind)]
        if wrong:
            raise InvalidInput(f"field(s) {wrong} have the wrong type")
        if not (is_number(self.wall_time_s) and self.wall_time_s >= 0 and is_number(self.last_sitting_s)):
            raise InvalidInput("its wall times are not finite numbers >= 0")
        if isinstance(self.sittings, bool) or not isinstance(self.sittings, int) or self.sittings < 1:
            raise InvalidInput(f"sittings must be an integer >= 1, got {self.sittings!r}")
        if "model.safetensors" not in self.weights:
            raise InvalidInput("its weights do not list model.safetensors")
        odd = [w for w in self.weights if not (isinstance(w, str) and WEIGHT_FILE.fullmatch(w))]
        if odd or len(set(self.weights)) != len(self.weights):
            raise InvalidInput(f"its weights must be distinct names model.safetensors or "
                               f"snapshots/epoch-<k>.safetensors, got {odd or self.weights}")

    def to_json(self):
        return asdict(self)

    @classmethod
    def from_json(cls, obj, source="provenance"):
        names = {f.name for f in fields(cls)}
        try:
            if not isinstance(obj, dict) or set(obj) != names:
                raise InvalidInput(f"not a run's provenance (fields "
                                   f"{sorted(obj) if isinstance(obj, dict) else type(obj).__name__})")
            return cls(**obj)
        except InvalidInput as error:
            raise InvalidInput(f"{source}: {error}") from None


@dataclass(frozen=True)
class Run:
    """A finished run of the store: its config, metrics and provenance."""
    config: Config
    metrics: Metrics
    provenance: Provenance
