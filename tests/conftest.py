import torch

import qcnn
from qcnn.entropy import entanglement_entropy


def randomize(model, generator):
    """Random weights and random batch-norm statistics (running mean, variance) and affines."""
    with torch.no_grad():
        for norm in model.norms:
            norm.running_mean.normal_(0, 0.5, generator=generator)
            norm.running_var.uniform_(0.5, 2.0, generator=generator)
            norm.weight.uniform_(0.5, 1.5, generator=generator)
            norm.bias.normal_(0, 1.0, generator=generator)
        for conv in model.convs:
            conv.weight.normal_(0, conv.in_features**-0.5, generator=generator)
    return model


def entangled_model(seed=0, min_entropy=0.2, **kwargs):
    """A float64 random model whose most entangled label state has at least ``min_entropy``
    nats, so that agreement with a reference is a real check (many random trees are nearly
    product states). Deterministic: the first such draw from ``seed``."""
    generator = torch.Generator().manual_seed(seed)
    kwargs.setdefault("n_classes", 3)
    for _ in range(100):
        model = randomize(qcnn.QCNN(**kwargs).double(), generator)
        if entanglement_entropy(model).max() >= min_entropy:
            return model
    raise AssertionError(f"no model with entropy >= {min_entropy} in 100 draws for {kwargs}")
