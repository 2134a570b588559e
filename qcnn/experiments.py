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
- ``quick``: a smoke profile of the training pipeline (subsets, few epochs), never drawn beside
  the paper's runs.
"""
from .data import DATASETS
from .model import PARTITIONS
from .train import Config

PAPER = dict(d=18, n=9, epochs=90)
QUICK = dict(d=18, n=9, epochs=3, limit_train=1000, limit_test=500)
PROFILES = {"paper": PAPER, "quick": QUICK}
SNAPSHOT_EPOCHS = (0, 1, 2, 5, 10, 20, 30, 45, 60, 90)
LANDSCAPE_DS = (2, 4, 8, 12, 18, 24, 32, 40)
LANDSCAPE_SEEDS = (0, 1, 2)
N_SWEEP = (1, 2, 4, 9)


def check_profile(profile):
    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {tuple(PROFILES)}, got {profile!r}")
    return profile


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


def recipe_configs():
    """The training recipe's evidence: {"shift1" | "default" | "published": Config}."""
    return {"shift1": Config(epochs=3), "default": Config(epochs=3, init="default"),
            "published": Config(epochs=3, init="default", lr_schedule="published")}


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
