"""Which runs the paper and the book need: one place, read by ``qcnn reproduce``, the figures
and the report.

- Fig. 2 (§4.2): d = 18, n = 9, seed 0, 90 epochs, both data sets, both partitions; these keep
  weight snapshots during training (``SNAPSHOT_EPOCHS``).
- The landscape (Fig. 3(b), the d-claim): d in LANDSCAPE_DS x seeds 0-2 x both data sets,
  up/down, n = 9, 90 epochs, full data.
- The n-sweep (the explorer): n in N_SWEEP at d = 18, both data sets, up/down, seed 0.
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
    """Fig. 3(b)'s many runs: every d and seed, both data sets (up/down, n = 9)."""
    if check_profile(profile) == "quick":
        return [Config(dataset=ds, seed=seed, **dict(QUICK, d=d))
                for ds in DATASETS for d in (4, 18) for seed in (0, 1)]
    return [Config(dataset=ds, seed=seed, **dict(PAPER, d=d))
            for ds in DATASETS for d in LANDSCAPE_DS for seed in LANDSCAPE_SEEDS]


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
    Fig. 2 and the recipe first, then the landscape seed by seed, the n-sweep after seed 0."""
    configs = list(fig2_configs(profile).values())
    if profile == "paper":
        configs += recipe_configs().values()
    landscape = landscape_configs(profile)
    seeds = sorted({c.seed for c in landscape})
    for seed in seeds:
        configs += sorted((c for c in landscape if c.seed == seed), key=lambda c: c.d)
        if seed == seeds[0]:
            configs += n_sweep_configs(profile)
    return list(dict.fromkeys(configs))


def snapshots_for(config):
    """The epochs at which a run keeps its weights besides the end: Fig. 2's runs only."""
    if config in fig2_configs("paper").values():
        return tuple(e for e in SNAPSHOT_EPOCHS if e <= config.epochs)
    return ()
