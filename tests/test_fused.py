"""The hand-written training step is the plain model's: same loss, gradients, running
statistics and AdamW trajectory (float64, 1e-12), eager and compiled; eval mode too."""
import copy

import pytest
import torch

from qcnn.basis import features
from qcnn.fused import (PlainStep, TrainingStep, folded_forward, forward_backward,
                        layer_parameters)
from qcnn.model import random_model
from qcnn.train import squared_distance


def train_mode_model(seed=0, **kwargs):
    return random_model(seed, **(dict(d=5, n=3, image_size=16) | kwargs)).train()


def batch(n_images=40, n=3, n_pixels=256, seed=1):
    generator = torch.Generator().manual_seed(seed)
    chains = torch.rand(n_images, n_pixels, dtype=torch.float64, generator=generator)
    return features(chains, n), torch.randint(0, 10, (n_images,), generator=generator)


def relative_error(a, b):
    return ((a - b).abs().max() / b.abs().max().clamp(min=1e-300)).item()


@pytest.mark.parametrize("kwargs", [dict(), dict(d=3, n=2, image_size=(2, 4), n_classes=4),
                                    dict(basis="legendre", partition="leftright")])
def test_gradients_equal_autograd(kwargs):
    """Loss and every gradient of eq. (48) equal autograd through nn.BatchNorm1d/nn.Linear."""
    model = train_mode_model(**kwargs)
    leaves, labels = batch(n=model.n, n_pixels=model.n_pixels)
    labels = labels % model.n_classes
    reference = squared_distance(model.forward_features(leaves), labels)
    reference.backward()
    flat = [p.detach() for p in layer_parameters(model)]
    targets = torch.nn.functional.one_hot(labels, model.n_classes).double()
    loss, grads, means, variances = forward_backward(flat, leaves, targets, 1e-5)
    assert abs(loss.item() - reference.item()) <= 1e-12 * reference.item()
    for p, g in zip(layer_parameters(model), grads):
        assert relative_error(g, p.grad) < 1e-12
    z = leaves.reshape(-1, leaves.shape[-1])                  # level 0's batch statistics
    torch.testing.assert_close(means[0], z.mean(0), rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(variances[0], z.var(0, correction=0), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("compile", [False, pytest.param(True, marks=pytest.mark.slow)])
def test_training_steps_follow_torch(compile):
    """Five steps of TrainingStep = five steps of nn.Module + torch.optim.AdamW, the learning
    rate halved on the way: parameters, running statistics and losses (compiled or not)."""
    reference = train_mode_model(seed=2)
    fast = copy.deepcopy(reference)
    leaves, labels = batch(n_images=100, seed=3)
    optimizer = torch.optim.AdamW(reference.parameters(), lr=0.01, weight_decay=0.01)
    step = TrainingStep(fast, leaves, labels, lr=0.01, weight_decay=0.01, compile=compile)
    for i in range(5):
        if i == 3:                                            # the schedule halves the rate
            optimizer.param_groups[0]["lr"] = 0.005
            step.lr.fill_(0.005)
        index = torch.arange(20 * i, 20 * i + 20)
        loss = squared_distance(reference.forward_features(leaves[index]), labels[index])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        assert abs(step(index).item() - loss.item()) <= 1e-12 * loss.item()
    for (name, a), b in zip(reference.state_dict().items(), fast.state_dict().values()):
        assert a.dtype == b.dtype
        assert relative_error(b.double(), a.double()) < 1e-12, name


def test_bad_batch_changes_nothing():
    """A non-finite loss is returned and leaves parameters, optimiser and statistics alone."""
    model = train_mode_model(seed=4)
    leaves, labels = batch(seed=5)
    leaves[3, 7, 0] = float("nan")
    step = TrainingStep(model, leaves, labels, lr=0.01, weight_decay=0.01)
    before = [t.clone() for t in step.state_tensors()]
    assert not torch.isfinite(step(torch.arange(10)))
    assert all(torch.equal(a, b) for a, b in zip(before, step.state_tensors()))
    assert torch.isfinite(step(torch.arange(10, 20)))       # later good batches train
    assert step.step_count.item() == 1


def test_folded_forward_is_eval_mode():
    model = train_mode_model(seed=6).eval()
    leaves, _ = batch(seed=7)
    with torch.no_grad():
        reference = model.forward_features(leaves)
    assert relative_error(folded_forward(model, leaves), reference) < 1e-12


def test_cuda_graph_capture_and_replay_logic_without_a_gpu(monkeypatch):
    """The CUDA-graph path, with torch.cuda's graph API replaced by a stand-in on the CPU
    (capturing records without running; replay runs the recorded step on the static buffers):
    the warm-up steps that capturing needs leave no trace, and replaying with new batches
    trains exactly like the plain step. What only a GPU can check (the graph itself, the
    compiled kernels) is in the closing notes of the GPU work."""
    import contextlib
    import types

    reference = train_mode_model(seed=12)
    leaves, labels = batch(n_images=100, seed=13)
    plain = TrainingStep(copy.deepcopy(reference), leaves, labels, lr=0.01, weight_decay=0.01)
    graphed = TrainingStep(copy.deepcopy(reference), leaves, labels, lr=0.01, weight_decay=0.01)

    class Graph:
        def replay(self):
            graphed.static_loss.copy_(graphed.run(graphed.static_index))

    @contextlib.contextmanager
    def capturing(graph):
        saved = [t.clone() for t in graphed.state_tensors()]
        yield
        for t, s in zip(graphed.state_tensors(), saved):     # recorded, not executed
            t.copy_(s)

    monkeypatch.setattr(torch.cuda, "CUDAGraph", Graph)
    monkeypatch.setattr(torch.cuda, "graph", capturing)
    monkeypatch.setattr(torch.cuda, "Stream", lambda: types.SimpleNamespace(wait_stream=lambda s: None))
    monkeypatch.setattr(torch.cuda, "stream", lambda stream: contextlib.nullcontext())
    monkeypatch.setattr(torch.cuda, "current_stream", lambda: types.SimpleNamespace(wait_stream=lambda s: None))
    before = [t.clone() for t in graphed.state_tensors()]
    graphed.capture(torch.arange(20))
    assert all(torch.equal(a, b) for a, b in zip(before, graphed.state_tensors()))
    for i in range(5):
        index = torch.arange(20 * i, 20 * i + 20).flip(0)
        assert graphed(index).item() == plain(index).item()
    for a, b in zip(plain.state_tensors(), graphed.state_tensors()):
        assert torch.equal(a, b)


@pytest.mark.parametrize("compile", [False, pytest.param(True, marks=pytest.mark.slow)])
def test_plain_step_is_the_training_step(compile):
    """PlainStep (autograd, torch.optim.AdamW) and TrainingStep take the same steps, the rate
    halved on the way: losses, AdamW's state, parameters and running statistics (1e-10); and
    each one's state_dict resumes in the other."""
    reference = train_mode_model(seed=8)
    leaves, labels = batch(n_images=100, seed=9)
    plain = PlainStep(copy.deepcopy(reference), leaves, labels, lr=0.01, weight_decay=0.01,
                      compile=compile)
    fused = TrainingStep(copy.deepcopy(reference), leaves, labels, lr=0.01, weight_decay=0.01)
    order = torch.randperm(100, generator=torch.Generator().manual_seed(10))
    for i in range(5):
        if i == 3:
            plain.lr.fill_(0.005)
            fused.lr.fill_(0.005)
        index = order[20 * i:20 * i + 20]
        a, b = plain(index), fused(index)
        assert abs(a.item() - b.item()) <= 1e-10 * b.item()
    for name in fused.state_dict():
        for a, b in zip(plain.state_dict()[name], fused.state_dict()[name]):
            assert a.shape == b.shape and relative_error(a, b) < 1e-10, name
    for (name, a), b in zip(fused.model.state_dict().items(), plain.model.state_dict().values()):
        assert relative_error(b.double(), a.double()) < 1e-10, name
    # each model with the other's optimiser state (lr 1.0: replaced by the state's 0.005)
    swapped = (PlainStep(copy.deepcopy(fused.model), leaves, labels, lr=1.0, weight_decay=0.01),
               TrainingStep(copy.deepcopy(plain.model), leaves, labels, lr=1.0, weight_decay=0.01))
    swapped[0].load_state_dict(fused.state_dict())
    swapped[1].load_state_dict(plain.state_dict())
    index = order[:20]
    losses = [step(index).item() for step in (plain, fused) + swapped]
    assert max(losses) - min(losses) <= 1e-10 * losses[0]
    for step in swapped:
        for a, b in zip(step.model.parameters(), fused.model.parameters()):
            assert relative_error(a, b) < 1e-10


def test_plain_step_bad_batch_changes_nothing():
    """A non-finite loss is returned and leaves PlainStep's parameters, AdamW's state and the
    running statistics alone, as TrainingStep's."""
    model = train_mode_model(seed=11)
    leaves, labels = batch(seed=12)
    leaves[3, 7, 0] = float("nan")
    step = PlainStep(model, leaves, labels, lr=0.01, weight_decay=0.01)

    def state():
        return list(model.state_dict().values()) + sum(step.state_dict().values(), [])
    before = [t.clone() for t in state()]
    assert not torch.isfinite(step(torch.arange(10)))
    assert all(torch.equal(a, b) for a, b in zip(before, state()))
    assert torch.isfinite(step(torch.arange(10, 20)))
    assert step.state_dict()["step"][0].item() == 1
