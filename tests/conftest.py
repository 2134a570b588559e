import torch

import qcnn
from qcnn.entropy import entanglement_entropy
from qcnn.model import randomize


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
