"""What the chapters measure besides the claims and the cuts: the store's inventory and the
training recipe's evidence (reproduction notes), the published code's batch-norm eps and
resize against this book's, the tree's automorphisms (architecture chapter) and the ink near
the feature circle's seam (Hilbert-space chapter). Numbers and tables only: every sentence that
judges them is ``qcnn.report``'s.
"""
import numpy as np
import torch

from .config import run_id
from .data import load, load_raw, resize, resize_published
from .entropy import entanglement_entropy
from .experiments import FAMILIES, all_configs, fig2_configs, paper_runs, recipe_configs
from .stats import class_mean_entropy, running_train_cost


def ink_near_background(store, name, ink=0.05, near=0.1):
    """The Fourier basis lives on a circle: x = 1 is x = 0. The share of a data set's ink
    pixels (test images, value above ``ink``) within ``near`` of 1, which the features put
    within ``near`` of the background: (share of pixels that are ink, share of ink that near)."""
    images, _ = load(name, "test", store.data)
    values = images.flatten()
    inked = values[values > ink]
    return len(inked) / len(values), float((inked >= 1 - near).double().mean())


def store_inventory(store, profile="paper"):
    """What the store holds of the plan: (rows, hours, plan). rows: one per stored run [id,
    data set, partition, d, n, seed, initialisation (shift, weights, dtype), epochs, final test
    accuracy, minutes, device];
    hours: {device: hours of training}; plan: {family: 'k of N runs stored'}, every family of
    the registry with runs in the profile."""
    rows, hours = [], {}
    for config in store.stored(all_configs(profile)):
        run = store.run(config)
        metrics, prov = run.metrics, run.provenance
        hours[prov.device] = hours.get(prov.device, 0) + prov.wall_time_s / 3600
        rows.append([run_id(config), config.dataset, config.partition, config.d, config.n,
                     config.seed, f"{config.init}, {config.weight_init}, {config.dtype}, "
                     f"{config.lr_schedule}", config.epochs,
                     f"{metrics.test_accuracy[-1]:.4f}", f"{prov.wall_time_s / 60:.1f}",
                     prov.device])
    plan = {f.name: store.count(f.runs(profile)) for f in FAMILIES.values() if f.runs(profile)}
    return rows, hours, plan


def cost_outliers(store, threshold=2.0):
    """Per Fig. 2 run, the eval-mode costs' outliers: [data set, partition, run id, epochs with
    the eval-mode train cost above ``threshold`` (the best constant output costs 0.9), the
    largest (epoch), epochs with the test cost above it, the largest (epoch), the largest
    running train cost, final test accuracy] (the runs not stored are left out)."""
    rows = []
    for config in store.stored(list(fig2_configs("paper").values())):
        metrics = store.metrics(config)
        train, test = np.array(metrics.train_cost), np.array(metrics.test_cost)
        rows.append([config.dataset, config.partition, run_id(config), int((train > threshold).sum()),
                     f"{train.max():.3g} ({1 + train.argmax()})", int((test > threshold).sum()),
                     f"{test.max():.3g} ({1 + test.argmax()})",
                     f"{running_train_cost(metrics)[1].max():.3g}",
                     f"{metrics.test_accuracy[-1]:.4f}"])
    return rows


def largest_test_cost_text(store):
    """The largest eval-mode test cost of the stored Fig. 2 runs of this book's recipe, as the
    reproduction notes quote it: 'C at epoch E (run ID, DATA SET PARTITION)'."""
    found = [(max(m.test_cost), 1 + int(np.argmax(m.test_cost)), c)
             for c in store.stored(list(fig2_configs("paper").values())) for m in [store.metrics(c)]]
    if not found:
        return "not measured: no Fig. 2 run is stored"
    cost, epoch, config = max(found, key=lambda f: f[0])
    return f"{cost:.0f} at epoch {epoch} (run {run_id(config)}, {config.dataset} {config.partition})"


def published_eps_effect(store, eps=1e-10):
    """The published code trains with PyTorch's batch-norm eps (1e-5) but folds the batch norms
    with ``eps`` = 1e-10 when it computes the entropy (torchTN.py 107, 121), so its entropy is
    that of w = gamma / sqrt(var + 1e-10), not of the trained network. For the stored Fig. 2
    networks: (rows [data set, partition, run, class-mean top-cut entropy with the training eps,
    the largest change of a label's entropy with ``eps``, the smallest running variance], a
    sentence), or ([], "not measured ...") without them."""
    rows, changes, levels = [], [], []
    for config in store.stored(list(fig2_configs("paper").values())):
        model = store.model(config)
        norms = list(model.norms)
        trained = entanglement_entropy(model)
        for norm in norms:
            norm.eps = eps
        change = (entanglement_entropy(model) - trained).abs().max().item()
        changes.append(change)
        levels.append(trained.mean().item())
        rows.append([config.dataset, config.partition, run_id(config), f"{levels[-1]:.4f}",
                     f"{change:.1e}", f"{min(n.running_var.min().item() for n in norms):.2e}"])
    if not rows:
        return rows, "Not measured: no Fig. 2 network is stored"
    return rows, (f"With the published eps = {eps:g} a label's entropy changes by at most "
                  f"{max(changes):.1e} nats over these {len(rows)} networks, "
                  f"{max(changes) / min(levels):.2%} of the smallest class-mean entropy "
                  f"({min(levels):.2f} nats)")


def published_resize_effect(store):
    """The published code resizes with PIL (``data.resize_published``), this book on tensors
    (``data.resize``): for each stored Fig. 2 network, its test accuracy on the test set resized
    both ways and how many test images change their predicted label. Measures how sensitive the
    trained networks are to the difference, not a network trained on PIL's images. (rows [data
    set, partition, run, accuracy (this book's resize), accuracy (PIL's), images whose label
    changes], a sentence), or ([], "not measured ...") without the runs."""
    rows, pixels, inputs, changes = [], [], {}, []
    for config in store.stored(list(fig2_configs("paper").values())):
        if config.dataset not in inputs:
            raw, labels = load_raw(config.dataset, "test", store.data)
            ours, published = resize(raw), resize_published(raw)
            pixels.append((config.dataset, (ours - published).abs()))
            inputs[config.dataset] = ours, published, torch.from_numpy(labels.astype(np.int64))
        ours, published, labels = inputs[config.dataset]
        model = store.model(config)
        with torch.no_grad():
            predicted = [model(x).abs().argmax(1) for x in (ours, published)]
        accuracy = [(p == labels).double().mean().item() for p in predicted]
        changed = int((predicted[0] != predicted[1]).sum())
        changes.append((abs(accuracy[1] - accuracy[0]), changed, len(labels)))
        rows.append([config.dataset, config.partition, run_id(config), f"{accuracy[0]:.2%}",
                     f"{accuracy[1]:.2%}", changed])
    if not rows:
        return rows, "Not measured: no Fig. 2 network is stored"
    return rows, ("; ".join(f"PIL's {name} test images lie within {d.max().item() * 255:.2f} grey "
                            f"levels of this book's (mean {d.mean().item() * 255:.3f})"
                            for name, d in pixels) +
                  f"; on them the test accuracy of these {len(rows)} networks changes by at most "
                  f"{max(c[0] for c in changes) * 100:.2f} percentage points, and {min(c[1] for c in changes)} to "
                  f"{max(c[1] for c in changes)} of their {changes[0][2]} test images change label")


def recipe_rows(store, shown=20):
    """The training recipe's evidence (``experiments.recipe_configs``), one row per setting:
    [setting, run id, test accuracy per epoch, eval-mode train cost per epoch (both for the first
    ``shown`` epochs, then the last epoch's), initial entropy (class mean and range)], or 'not
    stored' for a run the store lacks."""
    def per_epoch(values, form):
        text = ", ".join(form.format(v) for v in values[:shown])
        return text + (f" ... epoch {len(values)}: {form.format(values[-1])}"
                       if len(values) > shown else "")
    rows = []
    for name, config in recipe_configs().items():
        if not store.stored([config]):
            rows.append([name, run_id(config), "not stored: `qcnn reproduce` makes it", "", ""])
            continue
        metrics = store.metrics(config)
        initial = np.array(metrics.entropy_log.entropy[0])
        rows.append([name, run_id(config), per_epoch(metrics.test_accuracy, "{:.4f}"),
                     per_epoch(metrics.train_cost, "{:.3g}"),
                     f"{initial.mean():.3f} ({initial.min():.3f}-{initial.max():.3f})"])
    return rows


def tree_automorphisms(store, count=1000):
    """How the trained d = 18 up/down MNIST network's outputs move under moves of the image:
    {move: max |alpha(pi x) - alpha(x)| / max |alpha|} over the first ``count`` test images,
    float64. Swapping the halves and the mirrors are automorphisms of its tree (float64
    rounding); a shift by one row and a transpose are not (changes of order one). {} when
    that run is not stored."""
    config = fig2_configs("paper")[("mnist", "updown")]
    if not store.stored([config]):
        return {}
    net = store.model(config).double()
    images, _ = load("mnist", "test", store.data)
    x = images[:count].double()
    half = x.shape[1] // 2
    moves = {"swap upper and lower halves": torch.cat((x[:, half:], x[:, :half]), dim=1),
             "mirror left-right": x.flip(2), "mirror up-down": x.flip(1),
             "half-turn (180 degrees)": x.flip(1).flip(2),
             "not an automorphism: shift down by one row": x.roll(1, dims=1),
             "not an automorphism: transpose": x.transpose(1, 2)}
    with torch.no_grad():
        alpha = net(x)
        return {name: ((net(moved) - alpha).abs().max() / alpha.abs().max()).item()
                for name, moved in moves.items()}


def early_product_states(store, threshold=1e-6, within=3):
    """How common the exact product state early in training is: per data set, (how many of
    this book's paper-scale runs have a class-mean entropy below ``threshold`` nats at a logged
    point in their first ``within`` epochs, how many runs, the latest such point)."""
    found = {}
    for config in paper_runs(store):
        epochs, entropy = class_mean_entropy(store.metrics(config))
        low = epochs[(entropy < threshold) & (epochs <= within)]
        hits, runs, latest = found.get(config.dataset, (0, 0, 0.0))
        found[config.dataset] = (hits + bool(len(low)), runs + 1,
                                 max(latest, float(low.max()) if len(low) else 0.0))
    return found


# The beta = 0 plateau sits at the cost of the best constant output, 0.9 (eq. 48: 0.81 + 9 x
# 0.01); a run has left it at the first logged point where its running train cost is below this.
ESCAPE_COST = 0.8


def escape_epoch(metrics, threshold=ESCAPE_COST):
    """Where a run leaves the beta = 0 plateau: the first logged point (an epoch, ten a epoch)
    at which the running train cost is below ``threshold``; None if it never is."""
    epochs, cost = running_train_cost(metrics)
    below = np.flatnonzero(cost < threshold)
    return float(epochs[below[0]]) if len(below) else None


def first_halving(metrics):
    """Where the learning rate is first halved, as a point of the epoch axis (the start of the
    first epoch with a smaller rate: 9.0 for the published schedule); None if it never is."""
    halved = [e for e, lr in zip(metrics.epoch, metrics.lr) if lr < metrics.lr[0]]
    return float(halved[0] - 1) if halved else None


def beta0_configs():
    """Every planned run that starts with beta = 0: the recipe's evidence, the paper's recipe
    at every seed and partition, the plateau controls."""
    return all_configs("paper", ["recipe", "published", "plateau"])


def plateau_rows(store):
    """One row per stored beta = 0 run: (config, first halving, escape epoch, final test
    accuracy), the epochs as points of the epoch axis (None: never)."""
    return [(c, first_halving(m), escape_epoch(m), m.test_accuracy[-1])
            for c in store.stored(c for c in beta0_configs() if c.init == "default")
            for m in [store.metrics(c)]]


def plateau_costs(store):
    """The train cost of the stored beta = 0 runs on their plateau, before the escape: the running
    cost (train mode, ten logged points an epoch, the one the escape rule reads) and the eval-mode
    cost after each epoch: {"running": summary, "eval": summary}, each summary {"points",
    "lowest", "quartiles" (25%, 50%, 75%), "highest"}; None without such a run."""
    running, evaluated = [], []
    for config, _, escape, _ in plateau_rows(store):
        m = store.metrics(config)
        log = m.entropy_log
        running += [c for e, c in zip(log.epoch, log.running_train_cost)
                    if 0 < e and (escape is None or e < escape)]
        evaluated += [c for e, c in zip(m.epoch, m.train_cost) if escape is None or e <= escape]
    if not running or not evaluated:
        return None
    return {name: {"points": len(costs), "lowest": min(costs), "highest": max(costs),
                   "quartiles": [float(q) for q in np.percentile(costs, [25, 50, 75])]}
            for name, costs in (("running", running), ("eval", evaluated))}


def plateau_cost_texts(store):
    """``plateau_costs`` as the reproduction notes quote it: {"running": text, "eval": text}, each
    'quartiles Q1, Q2, Q3 over N logged points (epochs), lowest L, highest H'."""
    plateau = plateau_costs(store)
    if plateau is None:
        return dict.fromkeys(("running", "eval"), "not measured: no beta = 0 run is stored")
    return {which: f"quartiles {', '.join(f'{q:.3f}' for q in s['quartiles'])} over {s['points']} "
                   f"{'logged points' if which == 'running' else 'epochs'}, lowest {s['lowest']:.3f}, "
                   f"highest {s['highest']:.4g}" for which, s in plateau.items()}


def eager_and_compiled(store):
    """Pairs of stored runs with the same settings but for the number of epochs, one trained
    eagerly (fewer than train.COMPILE_FROM_STEPS steps) and one with torch.compile (as their
    provenance records): [(setting, [(run id, compiled, epoch-1 test accuracy, epoch-1 eval-mode
    train cost) for each])]."""
    pairs = (("beta = 1 (this book's recipe)", recipe_configs()["shift1"],
              fig2_configs("paper")[("mnist", "updown")]),
             ("beta = 0 (PyTorch's defaults)", recipe_configs()["default"],
              recipe_configs()["PyTorch defaults"]))
    found = []
    for setting, *configs in pairs:
        if store.stored(configs) == configs:
            runs = [store.run(c) for c in configs]
            found.append((setting, [(run_id(r.config), r.provenance.compiled, r.metrics.test_accuracy[0],
                                     r.metrics.train_cost[0]) for r in runs]))
    return found


def wall_minutes(store, d, epochs=90):
    """The wall time of the stored full-data runs at ``d`` with ``epochs`` epochs, from their
    provenance, as text: 'L to H minutes (on DEVICES)', or 'not measured: ...' without one."""
    runs = [c for c in store.stored(all_configs()) if c.d == d and c.epochs == epochs
            and not c.limit_train]
    if not runs:
        return f"not measured: no stored run with d = {d} and {epochs} epochs"
    provenance = [store.run(c).provenance for c in runs]
    minutes = [p.wall_time_s / 60 for p in provenance]
    return (f"{min(minutes):.0f} to {max(minutes):.0f} minutes (on "
            f"{', '.join(sorted({p.device for p in provenance}))})")
