"""The NumPy CNN (cnnref.nn + cnnref.optim) against its torch twin: same weights, same batches, same losses."""

import numpy as np
import pytest
import torch
from threadpoolctl import threadpool_limits

from cnnref import nn, optim
from cnnref.data import load_digits
from cnnref.numpy_train import accuracy, digits_cnn, train, train_torch
from tests.compare import assert_close


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny tensors: BLAS / OpenMP threads only add overhead (a lot of it on a busy machine)."""
    with threadpool_limits(1):
        yield


@pytest.mark.parametrize("name, options, size", [
    ("SGD", dict(lr=0.05, momentum=0.9), 8),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3), 12),
    ("Adam", dict(lr=0.01, amsgrad=True), 8),
    ("RMSprop", dict(lr=0.005, momentum=0.5, centered=True), 8),
    ("Rprop", dict(lr=0.001), 8),
])
def test_first_steps_of_the_numpy_cnn_match_torch(name, options, size):
    X, y = load_digits("train", size=size, dtype=np.float64)
    X, y = X[:400], y[:400]
    nn.manual_seed(size)
    ours = digits_cnn(nn, size=size).double()
    theirs = digits_cnn(torch.nn, size=size).double()
    theirs.load_state_dict({k: torch.from_numpy(v) for k, v in ours.state_dict().items()})
    losses = train(ours, getattr(optim, name)(ours.parameters(), **options), X, y, epochs=2, batch_size=40)
    twin = train_torch(theirs, getattr(torch.optim, name)(theirs.parameters(), **options), X, y, epochs=2, batch_size=40)
    assert len(losses) == 20
    assert_close(np.array(losses), np.array(twin))
    for key, value in theirs.state_dict().items():
        assert_close(ours.state_dict()[key], value)
    assert accuracy(ours, X, y) == accuracy(theirs, X, y)


def test_digits_cnn_refuses_a_size_it_cannot_pool_twice():
    with pytest.raises(ValueError, match="digits_cnn: size must be a positive multiple of 4, got 10"):
        digits_cnn(nn, size=10)
