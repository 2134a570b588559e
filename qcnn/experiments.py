"""Which runs the paper and the book need: one registry of run families (``FAMILIES``), read by
``qcnn reproduce``, the figures, the claims, the explorer and the notes; and the paper's numbers.

A family is one entry: its name, what it is for, its configs for each profile, which recipe it
trains with, whether its runs feed the claims or the explorer, and which weight snapshots its
runs keep. Every list of runs elsewhere is derived from the registry.

- ``fig2`` (Fig. 2, §4.2): d = 18, n = 9, seed 0, 90 epochs, both data sets, both partitions,
  this book's recipe (beta = 1); these keep weight snapshots during training.
- ``recipe``: the training recipe's evidence (reproduction notes), MNIST d = 18: this book's
  recipe against beta = 0 and the published code's settings, one or two changed at a time.
- ``landscape`` (Fig. 3(b), the d-claim): d in LANDSCAPE_DS with n = d/2, seeds 0-2, both data
  sets, up/down, 90 epochs. In the paper d and n are one knob: eq. (47) is eq. (46) with
  d_0 = 2n = d, and the stated parameter range (1320, 391200) is eq. (47) at d = 2 and d = 40;
  the published code (``network.py``) sets ``modes = 2 * max_frequency`` and ``r = modes``.
- ``n-sweep`` (the explorer's extension, not the paper's): n in N_SWEEP at d = 18, seed 0.
- ``published``: the paper's own recipe (``PUBLISHED``: beta = 0, Xavier weights, float64, the
  published schedule) at d = 18, both data sets, both partitions, seeds 0-2: the reference
  population of the entropy claims. Left/right is this library's flattening: the published code
  cannot make one (its ``rot90`` line is overwritten, and ``flatt_LR=False``).
- ``partition-seeds``: this book's recipe, left/right, seeds 1 and 2 at d = 18, so that the
  partition claim can set the gap between partitions beside the gap between seeds.
- ``plateau``: what ends the beta = 0 plateau: the published recipe with a constant learning rate
  (20 epochs) and with its first halving after 4 epochs (15 epochs).
- ``ising``: the paper's future work, a q-CNN trained on physical data: the ordered and the
  disordered phase of the 2D Ising model (``qcnn.ising``), d = 4, 8, 18, seeds 0-2, 30 epochs,
  evaluated with calibrated batch-norm statistics.
- ``ising-running``: the same at d = 4 with PyTorch's running statistics, the control that shows
  why the Ising runs calibrate.

Profiles: ``paper`` (the default), and ``quick``, every family that has a quick form trained with
the quick recipe (``QUICK``), never drawn beside the paper's runs. QCNN_PROFILE picks the
default profile.
"""
import os
from dataclasses import dataclass

from .config import Config
from .data import DATASETS
from .errors import check_choice
from .model import PARTITIONS

PAPER = dict(d=18, n=9, epochs=90)
# The quick recipe: the paper's model and recipe on all 60000 images for the first 2 of its 90
# epochs (2400 steps). Measured on a 2-core CPU (2 torch threads): MNIST test accuracy 78.6%
# after epoch 1 and 87.0% after epoch 2, 21 s of training (24 s for the whole command); 3 epochs
# give 90.3% in 32 s. Subsets train worse at equal cost: a few hundred steps leave the batch
# norms' running statistics too far from the weights for the eval-mode products (eight levels)
# to classify (1000 images x 3 epochs at batch 10: 8.6%; 10000 images x 1 epoch: 19.2%).
QUICK = dict(d=18, n=9, epochs=2)
PROFILES = {"paper": PAPER, "quick": QUICK}
SNAPSHOT_EPOCHS = (0, 1, 2, 5, 10, 20, 30, 45, 60, 90)
LANDSCAPE_DS = (2, 4, 8, 12, 18, 24, 32, 40)
LANDSCAPE_SEEDS = (0, 1, 2)
N_SWEEP = (1, 2, 4, 9)

# The paper's numbers. "The best (average) test accuracies achieved among all experiments"
# (§4.2); journal footnote 10: "we do not notice a very significant difference in performance
# in the range d = 10-40"; the stated parameter range (1320, 391200) is eq. (47) at d = 2, 40.
PAPER_ACCURACY = {"mnist": 0.97, "fashion-mnist": 0.89}
D_CLAIM = (10, 40)
PAPER_PARAMETER_RANGE = (1320, 391200)
LAST = 5        # a run's accuracy without choosing an epoch: the mean of its last 5 epochs


def check_profile(profile):
    return check_choice("profile", profile, PROFILES)


def current_profile():
    """QCNN_PROFILE, else 'paper'."""
    return check_profile(os.environ.get("QCNN_PROFILE", "paper"))


# The published code's recipe (github.com/vanagia/entangled-q-cnn): batch-norm shift 0 (PyTorch's
# default), Xavier-uniform weights (layers.py 104, 178), float64 (main.py 21, torchTN.py 7), the
# first halving after 9 epochs (training.py 69-71).
PUBLISHED = dict(init="default", weight_init="xavier", dtype="float64", lr_schedule="published")
RECIPES = {"book": "this book's recipe (beta = 1, PyTorch's initial weights, float32)",
           "published": "the paper's recipe (the published code: beta = 0, Xavier weights, float64)"}


def recipe_of(config):
    """'book', 'published' (whatever the schedule) or 'other': the recipe a run trains with."""
    if (config.init, config.weight_init, config.dtype) == ("shift1", "torch", "float32"):
        return "book"
    if all(getattr(config, k) == v for k, v in PUBLISHED.items() if k != "lr_schedule"):
        return "published"
    return "other"


# ------------------------------------------------------------------------ the families

def fig2_configs(profile="paper"):
    """The four d = 18 runs of Fig. 2: {(dataset, partition): Config}."""
    spec = PROFILES[check_profile(profile)]
    return {(ds, part): Config(dataset=ds, partition=part, **spec)
            for ds in DATASETS for part in PARTITIONS}


def recipe_configs(profile="paper"):
    """The training recipe's evidence, {name: Config}, all MNIST, d = 18, everything else the
    paper's: this book's recipe (beta = 1) and beta = 0 for 3 epochs (and beta = 0 with the
    published schedule, identical for 3 epochs: a determinism check); the published recipe for
    the paper's 90 epochs (it learns); for 20 epochs each, the runs that change one or both of its
    float64 and Xavier weights back (the last is PyTorch's defaults with the published schedule),
    and PyTorch's defaults with the paper's schedule. Together they separate the causes of the
    beta = 0 plateau. No quick form."""
    if check_profile(profile) != "paper":
        return {}
    torch_defaults = dict(PUBLISHED, weight_init="torch", dtype="float32")
    return {"shift1": Config(epochs=3), "default": Config(epochs=3, init="default"),
            "default, published schedule": Config(epochs=3, init="default", lr_schedule="published"),
            "published": Config(epochs=90, **PUBLISHED),
            "published, float32": Config(epochs=20, **dict(PUBLISHED, dtype="float32")),
            "published, PyTorch init": Config(epochs=20, **dict(PUBLISHED, weight_init="torch")),
            "PyTorch defaults, published schedule": Config(epochs=20, **torch_defaults),
            "PyTorch defaults": Config(epochs=20, init="default")}


def landscape_configs(profile="paper"):
    """Fig. 3(b)'s many runs: every d (with n = d/2) and seed, both data sets, up/down, in the
    order that gives the most science first: seed 0 at every d, then seeds 1 and 2 at
    d = 12-40 (what the d-claim needs), then the rest. Quick: d = 2, 4 and seeds 0, 1 (a few
    seconds a run)."""
    ds_, seeds = (LANDSCAPE_DS, LANDSCAPE_SEEDS) if check_profile(profile) == "paper" else ((2, 4), (0, 1))
    configs = [Config(dataset=ds, seed=seed, **dict(PROFILES[profile], d=d, n=d // 2))
               for ds in DATASETS for d in ds_ for seed in seeds]
    return sorted(configs, key=lambda c: (c.seed > 0, c.seed > 0 and c.d < 12, c.seed, c.d))


def n_sweep_configs(profile="paper"):
    """d = 18, n in N_SWEEP, both data sets (up/down, seed 0). Quick: n = 2, 9."""
    ns = N_SWEEP if check_profile(profile) == "paper" else (2, 9)
    return [Config(dataset=ds, **dict(PROFILES[profile], n=n)) for ds in DATASETS for n in ns]


def published_configs(profile="paper"):
    """The paper's recipe at d = 18: both data sets and partitions, seeds 0-2 (no quick form:
    its first 9 epochs are a plateau at chance)."""
    if check_profile(profile) != "paper":
        return []
    return [Config(dataset=ds, partition=part, seed=seed, **PAPER, **PUBLISHED)
            for ds in DATASETS for part in PARTITIONS for seed in LANDSCAPE_SEEDS]


def partition_seed_configs(profile="paper"):
    """This book's recipe, left/right, seeds 1 and 2 at d = 18, both data sets."""
    if check_profile(profile) != "paper":
        return []
    return [Config(dataset=ds, partition="leftright", seed=seed, **PAPER)
            for ds in DATASETS for seed in (1, 2)]


def plateau_configs(profile="paper"):
    """The published recipe (MNIST, d = 18, seed 0) with a constant learning rate for 20
    epochs and with its first halving after 4 epochs for 15: {name: Config}."""
    if check_profile(profile) != "paper":
        return {}
    return {"constant learning rate": Config(epochs=20, **dict(PUBLISHED, lr_schedule="constant")),
            "first halving after 4 epochs": Config(epochs=15, **dict(PUBLISHED, lr_schedule="early"))}


ISING_DS = (4, 8, 18)
ISING_EPOCHS = 30        # the Ising runs' recipe: a third of the paper's 90 epochs


def ising_configs(profile="paper"):
    """The paper's future work: phase classification of the 2D Ising model (``qcnn.ising``),
    d in ISING_DS with n = d/2, seeds 0-2, this book's recipe with the eval-mode statistics
    calibrated on the training set before each evaluation (``eval_stats``), 30 epochs on the
    24000 configurations (up/down). Quick: d = 4, seed 0, the quick recipe's 2 epochs."""
    if check_profile(profile) == "quick":
        return [Config(dataset="ising", d=4, n=2, epochs=QUICK["epochs"], eval_stats="calibrated")]
    return [Config(dataset="ising", d=d, n=d // 2, seed=seed, epochs=ISING_EPOCHS, eval_stats="calibrated")
            for d in ISING_DS for seed in LANDSCAPE_SEEDS]


def ising_running_configs(profile="paper"):
    """Why the Ising family calibrates: the same runs at d = 4 with the running statistics of
    this book's recipe unchanged, whose eval-mode outputs blow up (no quick form)."""
    if check_profile(profile) != "paper":
        return []
    return [Config(dataset="ising", d=4, n=2, seed=seed, epochs=ISING_EPOCHS) for seed in LANDSCAPE_SEEDS]


@dataclass(frozen=True)
class Family:
    """A family of runs: ``configs(profile)`` gives its runs; ``claims``: its runs are judged
    by the claims table; ``explorer``: the explorer shows them; ``snapshots``: the epochs whose
    weights its paper-profile runs keep."""
    name: str
    about: str
    configs: object
    claims: bool = False
    explorer: bool = False
    snapshots: tuple = ()

    def runs(self, profile="paper"):
        configs = self.configs(profile)
        return list(configs.values() if isinstance(configs, dict) else configs)


FAMILIES = {f.name: f for f in (
    Family("fig2", "Figure 2: d = 18, seed 0, both data sets and partitions", fig2_configs,
           claims=True, explorer=True, snapshots=SNAPSHOT_EPOCHS),
    Family("recipe", "the training recipe's evidence (reproduction notes)", recipe_configs),
    Family("landscape", "Figure 3(b) and the d-claim: d = 2-40 with n = d/2, seeds 0-2",
           landscape_configs, claims=True, explorer=True),
    Family("n-sweep", "n = 1-9 at d = 18 (this book's extension)", n_sweep_configs,
           claims=True, explorer=True),
    Family("published", "the paper's recipe at d = 18, seeds 0-2, both partitions",
           published_configs, claims=True),
    Family("partition-seeds", "this book's recipe, left/right, seeds 1-2 at d = 18",
           partition_seed_configs, claims=True),
    Family("plateau", "what ends the beta = 0 plateau: constant and early-halving schedules",
           plateau_configs),
    Family("ising", "the 2D Ising model's phases: d = 4, 8, 18, seeds 0-2 (the paper's future work)",
           ising_configs),
    Family("ising-running", "the Ising runs at d = 4 with the running eval-mode statistics",
           ising_running_configs),
)}


def family(name):
    return FAMILIES[check_choice("family", name, FAMILIES)]


def all_configs(profile="paper", families=None):
    """Every run of the profile (of ``families``, default all), in registry order, without
    repeats: the order ``qcnn reproduce`` makes them in."""
    names = families or list(FAMILIES)
    return list(dict.fromkeys(c for name in names for c in family(name).runs(profile)))


def claims_configs(profile="paper"):
    """The runs of the families that feed the claims."""
    return all_configs(profile, [f.name for f in FAMILIES.values() if f.claims])


def explorer_configs():
    """The paper-scale runs the explorer may show."""
    return all_configs("paper", [f.name for f in FAMILIES.values() if f.explorer])


def snapshots_for(config):
    """The epochs at which a run keeps its weights besides the end (its family's, at the
    paper's scale)."""
    for f in FAMILIES.values():
        if f.snapshots and config in f.runs("paper"):
            return tuple(e for e in f.snapshots if e <= config.epochs)
    return ()


# ----------------------------------------------------------- populations of stored runs

def initial_state(config):
    """What fixes a run's initial weights, and with them the entropy at step 0: not the data
    set, nor the partition (it only orders the pixels), nor the precision (the weights are drawn
    in float32 and then cast)."""
    return tuple(v for k, v in config.to_dict().items() if k in
                 ("d", "n", "basis", "init", "seed", "weight_init"))


def by_dataset(configs):
    """{data set: its runs, one per initial state}: runs that start from the same weights (the
    two partitions at one d, n and seed) are not independent, so the first of them in
    ``configs`` stands for all (the up/down run, as the plan lists them)."""
    chosen = {}
    for c in configs:
        chosen.setdefault((c.dataset, initial_state(c)), c)
    return {name: [c for (dataset, _), c in chosen.items() if dataset == name] for name in DATASETS}


def paper_runs(store, profile="paper"):
    """Every stored run of the profile that trains with the book's recipe in the families that
    feed the claims, without repeats: the population of Fig. 3(b) and the claims."""
    return store.stored(c for c in claims_configs(profile) if recipe_of(c) == "book")


def landscape_runs(store, profile="paper"):
    """The stored runs of the landscape (every d and seed, both data sets)."""
    return store.stored(landscape_configs(profile))


def first_epoch_of(profile):
    """Where Fig. 3 starts: epoch 30 for the paper (§4.2 discards "the data before the thirtieth
    epoch" for their large fluctuations), the last epoch of the quick runs."""
    return 30 if profile == "paper" else PROFILES[profile]["epochs"]


# d's with two seeds or more that the across-run correlation within d needs. Its bootstrap
# resamples whole d's, and k d's give at most C(2k-1, k) distinct resamples: 2 d's give 3, each
# the original set or one d alone (a zero-width interval); 5 d's give 126.
MIN_ACROSS_DS = 5
