"""Which runs the book plans, and the names of the stored ones."""
from collections import Counter

from qcnn.config import Config, run_id
from qcnn.experiments import (D_CLAIM, FAMILIES, LANDSCAPE_DS, PAPER_PARAMETER_RANGE,
                              all_configs, by_dataset, fig2_configs, initial_state,
                              landscape_configs, plateau_configs, published_configs,
                              recipe_configs, recipe_of, snapshots_for)
from qcnn.model import parameter_count_eq47


def test_the_landscape_is_the_papers_family():
    """d = 2n from 2 to 40, three seeds, both data sets, up/down, 90 epochs: 48 runs, whose
    parameter counts span the paper's stated range (eq. 47 at d = 2 and d = 40)."""
    configs = landscape_configs()
    assert len(configs) == len(set(configs)) == 48
    assert all(c.n * 2 == c.d and c.partition == "updown" and c.epochs == 90 for c in configs)
    assert Counter(c.d for c in configs) == {d: 6 for d in LANDSCAPE_DS}
    assert (parameter_count_eq47(2, 256), parameter_count_eq47(40, 256)) == PAPER_PARAMETER_RANGE
    assert D_CLAIM == (10, 40)


def test_the_landscape_gives_the_most_science_first():
    """Seed 0 at every d, then seeds 1 and 2 at d = 12-40, then the rest."""
    order = [(c.seed, c.d) for c in landscape_configs()]
    first = order[:16]
    assert {s for s, _ in first} == {0} and sorted({d for _, d in first}) == list(LANDSCAPE_DS)
    middle = order[16:36]
    assert {s for s, _ in middle} == {1, 2} and min(d for _, d in middle) == 12
    assert all(d < 12 and s > 0 for s, d in order[36:])


def test_every_list_of_runs_comes_from_the_registry():
    """all_configs is every family's runs once, in registry order; the new families are the
    runs `qcnn train` makes with the matching flags (so the background queue and `qcnn
    reproduce` make the same runs); snapshots belong to Fig. 2's runs only."""
    configs = all_configs()
    assert len(configs) == len(set(configs))
    assert set(configs) == {c for f in FAMILIES.values() for c in f.runs()}
    assert configs[:4] == list(fig2_configs().values())
    assert len(published_configs()) == 12 and {recipe_of(c) for c in published_configs()} == {"published"}
    assert run_id(published_configs()[0]) == "7e78bfa8e4dd"        # the stored published run
    assert {c.lr_schedule for c in plateau_configs().values()} == {"constant", "early"}
    assert snapshots_for(fig2_configs()[("mnist", "updown")])[-1] == 90
    assert snapshots_for(landscape_configs()[-1]) == ()
    quick = all_configs("quick")
    assert all(not c.limit_train and c.epochs == 2 for c in quick)
    assert all_configs("paper", ["fig2"]) == list(fig2_configs().values())


def test_run_ids_are_pinned():
    """Moving or extending Config must not rename a stored run: its canonical JSON is hashed."""
    assert run_id(Config()) == "75ea9d77fc10"
    assert run_id(Config(partition="leftright")) == "f6853ee30c0a"
    assert run_id(Config(dataset="fashion-mnist")) == "e2e14d662ca9"
    assert run_id(Config(epochs=3, init="default")) == "0acba0e77b52"
    assert run_id(Config(d=2, n=1)) == "a65db0b3cbcf"


def test_the_recipe_runs_are_what_qcnn_train_makes():
    """`qcnn train --published` and the single changes back, as the plan names them."""
    from qcnn.cli import build_parser, train_config
    recipe = recipe_configs()
    for argv, name in ((["--published", "--epochs", "90"], "published"),
                       (["--published", "--dtype", "float32", "--epochs", "20"], "published, float32"),
                       (["--published", "--weight-init", "torch", "--epochs", "20"],
                        "published, PyTorch init"),
                       (["--published", "--weight-init", "torch", "--dtype", "float32", "--epochs",
                         "20"], "PyTorch defaults, published schedule"),
                       (["--init", "default", "--epochs", "20"], "PyTorch defaults"),
                       (["--epochs", "3", "--init", "default"], "default")):
        assert train_config(build_parser().parse_args(["train", *argv])) == recipe[name]
    assert train_config(build_parser().parse_args(["train"])) == Config()


def test_initial_state_is_what_fixes_the_initial_weights():
    """The data set, the partition and the precision leave the initial weights as they are
    (checked on the weights themselves); the seed does not."""
    import torch
    from qcnn.config import build_model
    def weights(config):
        torch.manual_seed(config.seed)
        return [p.double() for p in build_model(config).state_dict().values()]
    base = Config(d=4, n=2)
    for same in (Config(d=4, n=2, dataset="fashion-mnist"), Config(d=4, n=2, partition="leftright"),
                 Config(d=4, n=2, dtype="float64")):
        assert initial_state(same) == initial_state(base)
        assert all(torch.equal(a, b) for a, b in zip(weights(same), weights(base)))
    assert initial_state(Config(d=4, n=2, seed=1)) != initial_state(base)
    assert not all(torch.equal(a, b) for a, b in zip(weights(Config(d=4, n=2, seed=1)), weights(base)))
    twins = [base, Config(d=4, n=2, partition="leftright"), Config(d=4, n=2, seed=1)]
    assert by_dataset(twins)["mnist"] == [base, Config(d=4, n=2, seed=1)]
