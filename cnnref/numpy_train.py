"""A small training loop for the NumPy modules of `cnnref.nn`, and its torch twin.

The two loops take the same mini-batches in the same order (`cnnref.data.iterate_minibatches`),
so a NumPy network and a torch network with the same initial weights follow the same path:

    Examples:
        >>> import torch
        >>> from cnnref import nn, optim
        >>> from cnnref.data import load_digits
        >>> X, y = load_digits("train", dtype=np.float64)
        >>> ours = digits_cnn(nn).double()
        >>> theirs = digits_cnn(torch.nn).double()
        >>> _ = theirs.load_state_dict({k: torch.from_numpy(v) for k, v in ours.state_dict().items()})
        >>> a = train(ours, optim.SGD(ours.parameters(), lr=0.1), X[:64], y[:64], batch_size=16)
        >>> b = train_torch(theirs, torch.optim.SGD(theirs.parameters(), lr=0.1), X[:64], y[:64], batch_size=16)
        >>> bool(np.allclose(a, b, rtol=0, atol=1e-10))
        True
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cnnref.data import iterate_minibatches

__all__ = ["digits_cnn", "train", "train_torch", "accuracy"]


def digits_cnn(nn: Any, channels: tuple[int, int] = (8, 16), size: int = 8, num_classes: int = 10) -> Any:
    """conv → relu → pool → conv → relu → pool → fc, built from ``cnnref.nn`` or ``torch.nn``.

    The two modules have the same class names and arguments, so ``digits_cnn(cnnref.nn)`` and
    ``digits_cnn(torch.nn)`` are the same network and share ``state_dict`` keys.

    ``x: (N, 1, size, size) -> (N, num_classes)`` logits; each 3×3 convolution keeps the size
    (padding 1), each 2×2 max pooling halves it.

    Args:
        nn: the module namespace, ``cnnref.nn`` or ``torch.nn``.
        channels: output channels of the two convolutions.
        size: height and width of the input images (a multiple of 4).
        num_classes: outputs of the fully connected layer.

    Returns:
        A ``Sequential`` of 8 layers.

    Raises:
        ValueError: ``size`` is not a positive multiple of 4.

    Examples:
        >>> import torch
        >>> model = digits_cnn(torch.nn)
        >>> model(torch.zeros(2, 1, 8, 8)).shape
        torch.Size([2, 10])
        >>> [k for k in model.state_dict()]
        ['0.weight', '0.bias', '3.weight', '3.bias', '7.weight', '7.bias']
    """
    if isinstance(size, bool) or not isinstance(size, int) or size < 4 or size % 4:
        raise ValueError(f"digits_cnn: size must be a positive multiple of 4, got {size!r}")
    c1, c2 = channels
    return nn.Sequential(
        nn.Conv2d(1, c1, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),   # (N, c1, size/2, size/2)
        nn.Conv2d(c1, c2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # (N, c2, size/4, size/4)
        nn.Flatten(),                                                 # (N, c2 * (size/4)**2)
        nn.Linear(c2 * (size // 4) ** 2, num_classes),                # (N, num_classes)
    )


def train(model: Any, optimizer: Any, X: np.ndarray, y: np.ndarray, *, epochs: int = 1, batch_size: int = 32,
          seed: int = 0, loss_fn: Any = None) -> list[float]:
    """Train a ``cnnref.nn`` model with a ``cnnref.optim`` optimizer; return each batch's loss.

    Each step: zero the gradients, forward, loss, backward, optimizer step. Epoch ``e``
    shuffles with seed ``seed + e``.

    Args:
        model: a ``cnnref.nn`` module with ``forward`` / ``backward``.
        optimizer: a ``cnnref.optim`` optimizer over ``model.parameters()``.
        X: inputs ``(N, ...)``.
        y: integer class labels ``(N,)``.
        epochs: passes over the data.
        batch_size: samples per step.
        seed: seed of the shuffling.
        loss_fn: the loss module (default ``cnnref.nn.CrossEntropyLoss()``).

    Returns:
        The loss of every step, in order.

    Examples:
        >>> from cnnref import nn, optim
        >>> model = nn.Linear(2, 2, dtype=np.float64)
        >>> X, y = np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([0, 1])
        >>> losses = train(model, optim.SGD(model.parameters(), lr=1.0), X, y, epochs=20, batch_size=2)
        >>> bool(losses[-1] < losses[0])
        True
    """
    from cnnref import nn

    loss_fn = nn.CrossEntropyLoss() if loss_fn is None else loss_fn
    losses = []
    for epoch in range(epochs):
        for xb, yb in iterate_minibatches(X, y, batch_size=batch_size, seed=seed + epoch):
            optimizer.zero_grad()
            loss = loss_fn.forward(model.forward(xb), yb)
            model.backward(loss_fn.backward())
            optimizer.step()
            losses.append(float(loss))
    return losses


def train_torch(model: Any, optimizer: Any, X: np.ndarray, y: np.ndarray, *, epochs: int = 1, batch_size: int = 32,
                seed: int = 0, loss_fn: Any = None) -> list[float]:
    """The torch twin of `train`: the same batches in the same order, autograd for the backward.

    Args:
        model: a ``torch.nn.Module`` (its dtype must match ``X``'s).
        optimizer: a ``torch.optim`` optimizer over ``model.parameters()``.
        X: inputs ``(N, ...)``, NumPy.
        y: integer class labels ``(N,)``, NumPy.
        epochs: passes over the data.
        batch_size: samples per step.
        seed: seed of the shuffling.
        loss_fn: the loss (default ``torch.nn.CrossEntropyLoss()``).

    Returns:
        The loss of every step, in order.

    Examples:
        >>> import torch
        >>> model = torch.nn.Linear(2, 2).double()
        >>> X, y = np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([0, 1])
        >>> losses = train_torch(model, torch.optim.SGD(model.parameters(), lr=1.0), X, y, epochs=20, batch_size=2)
        >>> bool(losses[-1] < losses[0])
        True
    """
    import torch

    loss_fn = torch.nn.CrossEntropyLoss() if loss_fn is None else loss_fn
    losses = []
    model.train()
    for epoch in range(epochs):
        for xb, yb in iterate_minibatches(X, y, batch_size=batch_size, seed=seed + epoch):
            optimizer.zero_grad()
            loss = loss_fn(model(torch.from_numpy(xb)), torch.from_numpy(yb))
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    return losses


def accuracy(model: Any, X: np.ndarray, y: np.ndarray, batch_size: int = 512) -> float:
    """Share of samples whose largest logit is the label; a ``cnnref.nn`` or a torch model.

    Args:
        model: maps ``(B, ...)`` inputs to ``(B, num_classes)`` logits.
        X: inputs ``(N, ...)``.
        y: integer labels ``(N,)``.
        batch_size: samples per forward pass.

    Returns:
        The accuracy, in [0, 1].

    Examples:
        >>> import torch
        >>> model = torch.nn.Linear(2, 2).double()
        >>> with torch.no_grad():
        ...     _ = model.weight.copy_(torch.eye(2)), model.bias.zero_()
        >>> accuracy(model, np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]]), np.array([0, 1, 1]))
        0.6666666666666666
    """
    import torch

    correct = 0
    for xb, yb in iterate_minibatches(X, y, batch_size=batch_size, shuffle=False):
        if isinstance(model, torch.nn.Module):
            with torch.no_grad():
                logits = model(torch.from_numpy(xb)).numpy()
        else:
            logits = model.forward(xb)
        correct += int(np.sum(np.argmax(logits, axis=1) == yb))
    return correct / len(y)
