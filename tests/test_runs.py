"""The run store keeps trained models: committed weights reproduce the stored metrics, and
missing weights are a clear error, never a silent retraining."""
import pytest
import torch
from safetensors.torch import load_file

from conftest import STORE, needs_mnist, needs_runs
from qcnn.config import Config
from qcnn.errors import NotStored
from qcnn.experiments import SNAPSHOT_EPOCHS, fig2_configs
from qcnn.store import Store
from qcnn.train import evaluate, load_split

RUN = fig2_configs()[("mnist", "updown")]


@needs_mnist
@needs_runs(RUN)
@pytest.mark.parametrize("threads", [1, 2])
def test_committed_weights_give_the_stored_test_accuracy(threads):
    """The paper's MNIST up/down run: its weights, evaluated again on the 10000 test images,
    give its stored final test accuracy. The training machine evaluated with 2 threads and the
    compiled forward pass; a different thread count or kernel may move an image or two across a
    decision boundary: at most 2 of 10000 are allowed (0 moved when this test was written)."""
    model = STORE.model(RUN)
    images, labels = load_split(RUN, "test", model, torch.device("cpu"), STORE.data)
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        accuracy, _ = evaluate(model, images, labels)
    finally:
        torch.set_num_threads(previous)
    assert abs(accuracy - STORE.metrics(RUN).test_accuracy[-1]) * len(labels) <= 2


@needs_runs(RUN)
def test_weights_are_plain_safetensors_with_running_statistics():
    """Loadable with safetensors alone (no pickle), float32, batch-norm statistics included,
    and the snapshots the paper-scale runs keep."""
    weights = load_file(STORE.run_dir(RUN) / "model.safetensors")
    assert weights["norms.0.running_var"].dtype == torch.float32
    assert int(weights["norms.0.num_batches_tracked"]) == 90 * 1200
    for epoch in SNAPSHOT_EPOCHS:
        snapshot = load_file(STORE.run_dir(RUN) / "snapshots" / f"epoch-{epoch}.safetensors")
        assert int(snapshot["norms.0.num_batches_tracked"]) == epoch * 1200
    first = STORE.model(RUN, epoch=0)
    assert not torch.equal(first.convs[0].weight, STORE.model(RUN).convs[0].weight)


def test_missing_runs_say_how_to_make_them(tmp_path):
    store = Store(tmp_path, runs=tmp_path / "runs")
    config = Config(d=5, epochs=3)
    assert store.problem(config).endswith("config.json is missing")
    with pytest.raises(NotStored, match=r"not stored .* `qcnn train --d 5 --epochs 3`"):
        store.model(config)
    with pytest.raises(NotStored, match=r"not stored"):
        store.model(config, epoch=2)
