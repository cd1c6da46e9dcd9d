"""What every architecture in ``cnnref.models`` shares: named layers and a known input size.

Each builder returns a [`Network`][cnnref.models.network.Network] (or, for GoogLeNet, a module that uses
[`check_input`][cnnref.models.network.check_input] the same way). The expected input size is an attribute, so a dummy
input is one line, ``torch.zeros(1, *model.input_size)``, and a wrong input fails at once
with a message that names the expected size, instead of a matrix-shape error deep inside.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Mapping

import torch
from torch import nn

__all__ = ["Network", "check_input"]


def check_input(name: str, input_size: tuple[int, int, int], x: torch.Tensor) -> None:
    """Raise a ``ValueError`` unless ``x`` is a batch of shape ``(N, *input_size)``.

    Args:
        name: the architecture, for the message (``"alexnet"``).
        input_size: the expected ``(C, H, W)``.
        x: the input tensor.

    Raises:
        TypeError: ``x`` is not a tensor.
        ValueError: ``x`` is not 4-dimensional or its ``(C, H, W)`` differ from ``input_size``.

    Examples:
        >>> check_input("lenet5", (1, 32, 32), torch.zeros(2, 1, 32, 32))    # fine: returns None
        >>> check_input("lenet5", (1, 32, 32), torch.zeros(2, 1, 28, 28))
        Traceback (most recent call last):
        ...
        ValueError: lenet5: input has shape (2, 1, 28, 28), expected (N, 1, 32, 32) (N, C, H, W)
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name}: input must be a torch.Tensor of shape (N, {', '.join(map(str, input_size))}), "
                        f"got {type(x).__name__}")
    if x.dim() != 4 or tuple(x.shape[1:]) != tuple(input_size):
        expected = ", ".join(map(str, input_size))
        raise ValueError(f"{name}: input has shape {tuple(x.shape)}, expected (N, {expected}) (N, C, H, W)")


class Network(nn.Sequential):
    """An ``nn.Sequential`` with named layers, an ``input_size`` and an input check.

    The layer names are the children's names, so ``named_children()`` yields
    ``("conv1", Conv2d(...))`` and ``model.conv1`` works.

    Args:
        name: the architecture's name, used in error messages (``"alexnet"``).
        input_size: the expected input ``(C, H, W)``, without the batch dimension.
        layers: name -> layer, in order.

    Shape:
        x: (N, *input_size) -> output of the last layer, usually (N, num_classes)

    Examples:
        >>> net = Network("tiny", (1, 4, 4), {"flatten": nn.Flatten(), "fc": nn.Linear(16, 3)})
        >>> net.input_size, [name for name, _ in net.named_children()]
        ((1, 4, 4), ['flatten', 'fc'])
        >>> net(torch.zeros(2, *net.input_size)).shape
        torch.Size([2, 3])
        >>> net[:1]                                   # a slice is a plain nn.Sequential
        Sequential(
          (flatten): Flatten(start_dim=1, end_dim=-1)
        )
    """

    def __init__(self, name: str, input_size: tuple[int, int, int], layers: Mapping[str, nn.Module]):
        super().__init__(OrderedDict(layers))
        self.name = name
        self.input_size = tuple(int(v) for v in input_size)

    def forward(self, x):
        check_input(self.name, self.input_size, x)
        return super().forward(x)

    def __getitem__(self, idx):
        """``net[i]`` is a layer; ``net[a:b]`` is a plain ``nn.Sequential`` of those layers
        (names kept), without the input check, since it may start in the middle."""
        if isinstance(idx, slice):
            return nn.Sequential(OrderedDict(list(self._modules.items())[idx]))
        return super().__getitem__(idx)

    def extra_repr(self) -> str:
        return f"input_size={self.input_size}"
