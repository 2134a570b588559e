"""Which runs the paper and the book need: one place, read by ``qcnn reproduce``, the figures
and the report.

- Fig. 2 (§4.2): d = 18, n = 9, seed 0, 90 epochs, both data sets, both partitions; these keep
  weight snapshots during training (``SNAPSHOT_EPOCHS``).
- The landscape (Fig. 3(b), the d-claim): d in LANDSCAPE_DS with n = d/2, x seeds 0-2 x both
  data sets, up/down, 90 epochs, full data. In the paper d and n are one knob: eq. (47) is
  eq. (46) with d_0 = 2n = d, and the stated parameter range (1320, 391200) is eq. (47) at
  d = 2 and d = 40; the published code (``network.py``) sets ``modes = 2 * max_frequency`` and
  ``r = modes``, layer widths k*r. Holding n at 9 would be another family of models.
- The n-sweep (the explorer's extension, not the paper's): n in N_SWEEP at d = 18, both data
  sets, up/down, seed 0.
- The recipe evidence (reproduction notes): 3 full MNIST epochs with the batch-norm shift at 1
  (ours), at 0 (PyTorch's default) and with the published code's settings.
- ``quick``: every run of the plan with the quick recipe (``QUICK``: the paper's recipe for 2
  epochs, about 90% MNIST test accuracy in half a minute on a laptop CPU), never drawn beside the
  paper's runs.

Also here: the paper's own numbers that the book measures against, and the populations of
stored runs that the figures, the report and the analyses use (every one says how much of its
plan is stored). The environment variable QCNN_PROFILE picks the default profile.
"""
import os

from .config import Config
from .data import DATASETS
from .model import PARTITIONS
from .runs import stored_only

PAPER = dict(d=18, n=9, epochs=90)
# The quick recipe: the paper's model and recipe on all 60000 images for the first 2 of its 90
# epochs (2400 steps). Measured on a 2-core CPU (2 torch threads): MNIST test accuracy 78.6%
# after epoch 1 and 87.0% after epoch 2, 21 s of training (26 s with data and setup); 3 epochs
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
    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {tuple(PROFILES)}, got {profile!r}")
    return profile


def current_profile():
    """QCNN_PROFILE, else 'paper'."""
    return check_profile(os.environ.get("QCNN_PROFILE", "paper"))


def fig2_configs(profile="paper"):
    """The four d = 18 runs of Fig. 2: {(dataset, partition): Config}."""
    spec = PROFILES[check_profile(profile)]
    return {(ds, part): Config(dataset=ds, partition=part, **spec)
            for ds in DATASETS for part in PARTITIONS}


def landscape_configs(profile="paper"):
    """Fig. 3(b)'s many runs: every d (with n = d/2) and seed, both data sets, up/down, in the
    order that gives the most science first: seed 0 at every d, then seeds 1 and 2 at
    d = 12-40 (what the d-claim needs), then the rest."""
    if check_profile(profile) == "quick":
        ds_, seeds = (4, 18), (0, 1)
        spec = QUICK
    else:
        ds_, seeds = LANDSCAPE_DS, LANDSCAPE_SEEDS
        spec = PAPER
    configs = [Config(dataset=ds, seed=seed, **dict(spec, d=d, n=d // 2))
               for ds in DATASETS for d in ds_ for seed in seeds]
    return sorted(configs, key=lambda c: (c.seed > 0, c.seed > 0 and c.d < 12, c.seed, c.d))


def n_sweep_configs(profile="paper"):
    """d = 18, n in N_SWEEP, both data sets (up/down, seed 0)."""
    ns = N_SWEEP if check_profile(profile) == "paper" else (2, 9)
    return [Config(dataset=ds, **dict(PROFILES[profile], n=n)) for ds in DATASETS for n in ns]


# The published code's recipe (github.com/vanagia/entangled-q-cnn): batch-norm shift 0 (PyTorch's
# default), Xavier-uniform weights (layers.py 104, 178), float64 (main.py 21, torchTN.py 7), the
# first halving after 9 epochs (training.py 69-71).
PUBLISHED = dict(init="default", weight_init="xavier", dtype="float64", lr_schedule="published")


def recipe_configs():
    """The training recipe's evidence, {name: Config}, all MNIST, d = 18, everything else the
    paper's: this book's recipe (beta = 1) and beta = 0 for 3 epochs (and beta = 0 with the
    published schedule, identical for 3 epochs: a determinism check); the published recipe for
    the paper's 90 epochs (it learns); for 20 epochs each, the runs that change one or both of its
    float64 and Xavier weights back (the last is PyTorch's defaults with the published schedule),
    and PyTorch's defaults with the paper's schedule. Together they separate the causes of the
    beta = 0 plateau."""
    torch_defaults = dict(PUBLISHED, weight_init="torch", dtype="float32")
    return {"shift1": Config(epochs=3), "default": Config(epochs=3, init="default"),
            "default, published schedule": Config(epochs=3, init="default", lr_schedule="published"),
            "published": Config(epochs=90, **PUBLISHED),
            "published, float32": Config(epochs=20, **dict(PUBLISHED, dtype="float32")),
            "published, PyTorch init": Config(epochs=20, **dict(PUBLISHED, weight_init="torch")),
            "PyTorch defaults, published schedule": Config(epochs=20, **torch_defaults),
            "PyTorch defaults": Config(epochs=20, init="default")}


def all_configs(profile="paper"):
    """Every run of a profile, without repeats, in the order ``qcnn reproduce`` makes them:
    Fig. 2 and the recipe first, then the landscape's seed 0, the n-sweep, the other seeds."""
    configs = list(fig2_configs(profile).values())
    if profile == "paper":
        configs += recipe_configs().values()
    landscape = landscape_configs(profile)
    configs += [c for c in landscape if c.seed == 0] + n_sweep_configs(profile)
    configs += [c for c in landscape if c.seed != 0]
    return list(dict.fromkeys(configs))


def snapshots_for(config):
    """The epochs at which a run keeps its weights besides the end: Fig. 2's runs only."""
    if config in fig2_configs("paper").values():
        return tuple(e for e in SNAPSHOT_EPOCHS if e <= config.epochs)
    return ()


# ----------------------------------------------------------- populations of stored runs

def stored_count(configs):
    """'k of N runs stored' for a caption or title."""
    configs = list(configs)
    return f"{len(stored_only(configs))} of {len(configs)} runs stored"


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


def paper_runs(profile="paper"):
    """Every stored run of the profile that trains with the book's recipe (Fig. 2, the
    landscape and the n-sweep), without repeats: the population of Fig. 3(b) and the claims."""
    return stored_only(dict.fromkeys([*fig2_configs(profile).values(), *landscape_configs(profile),
                                      *n_sweep_configs(profile)]))


def landscape_runs(profile="paper"):
    """The stored runs of the landscape (every d and seed, both data sets)."""
    return stored_only(landscape_configs(profile))


def first_epoch_of(profile):
    """Where Fig. 3 starts: epoch 30 for the paper (§4.2 discards "the data before the thirtieth
    epoch" for their large fluctuations), the second half of the quick runs."""
    return 30 if profile == "paper" else PROFILES[profile]["epochs"] // 2 + 1


def seed_runs(profile="paper"):
    """The stored d = 18 up/down runs of every seed: {dataset: [Config, ...]}."""
    return {name: sorted((c for c in landscape_runs(profile) if c.d == 18 and c.dataset == name),
                         key=lambda c: c.seed) for name in DATASETS}


# d's with two seeds or more that the across-run correlation within d needs. Its bootstrap
# resamples whole d's, and k d's give at most C(2k-1, k) distinct resamples: 2 d's give 3, each
# the original set or one d alone (a zero-width interval); 5 d's give 126.
MIN_ACROSS_DS = 5


def across_population(profile, name):
    """The stored landscape runs of data set ``name`` whose d has two seeds or more: the runs
    of the across-run correlation within d. Empty while fewer than MIN_ACROSS_DS d's qualify."""
    configs = [c for c in landscape_runs(profile) if c.dataset == name]
    configs = [c for c in configs if sum(o.d == c.d for o in configs) >= 2]
    return configs if len({c.d for c in configs}) >= MIN_ACROSS_DS else []
