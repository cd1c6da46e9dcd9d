"""Network in Network (Lin, Chen & Yan 2013, "Network In Network").

An mlpconv block is a convolution followed by two 1x1 convolutions, each with ReLU: a small
multilayer perceptron slid over the image, since a 1x1 convolution is a fully connected layer
applied at every pixel. Instead of fully connected layers at the end, the last block outputs one
map per class and global average pooling turns each map into that class's score.

The paper describes its networks in words, without a table of sizes. The layout here is the
authors' ImageNet model as d2l builds it: four mlpconv blocks whose first convolutions follow
AlexNet's (11x11 stride 4 with 96 maps, 5x5 with 256, 3x3 with 384), 3x3 max pooling with
stride 2 between them, dropout 0.5 before the last block, and the class maps at 5x5 for a
224x224 input.
"""

from __future__ import annotations

from torch import nn

from cnnref.models.network import Network

__all__ = ["NIN_TABLE", "mlpconv", "nin"]

# block -> (maps, kernel, stride, padding) of its first convolution; None maps: num_classes
NIN_TABLE: dict[str, tuple[int | None, int, int, int]] = {
    "mlpconv1": (96, 11, 4, 0),
    "mlpconv2": (256, 5, 1, 2),
    "mlpconv3": (384, 3, 1, 1),
    "mlpconv4": (None, 3, 1, 1),
}
"""mlpconv block -> (maps, kernel size, stride, padding) of its first convolution (None: one map per class)."""


def mlpconv(in_channels: int, maps: int, kernel_size: int, stride: int = 1, padding: int = 0) -> nn.Sequential:
    """A k x k convolution and two 1x1 convolutions, all with ``maps`` outputs and ReLU.

    Shapes: ``x: (N, in_channels, H, W) -> (N, maps, H_out, W_out)`` with the first convolution's ``H_out``.

    Examples:
        >>> mlpconv(3, 96, 11, 4)
        Sequential(
          (0): Conv2d(3, 96, kernel_size=(11, 11), stride=(4, 4))
          (1): ReLU(inplace=True)
          (2): Conv2d(96, 96, kernel_size=(1, 1), stride=(1, 1))
          (3): ReLU(inplace=True)
          (4): Conv2d(96, 96, kernel_size=(1, 1), stride=(1, 1))
          (5): ReLU(inplace=True)
        )
    """
    return nn.Sequential(nn.Conv2d(in_channels, maps, kernel_size, stride=stride, padding=padding), nn.ReLU(inplace=True),
                         nn.Conv2d(maps, maps, 1), nn.ReLU(inplace=True),
                         nn.Conv2d(maps, maps, 1), nn.ReLU(inplace=True))


def nin(num_classes: int = 1000, in_channels: int = 3, dropout: float = 0.5) -> Network:
    """Network in Network for 224x224 inputs: four mlpconv blocks and a global average pooling head.

    Children: mlpconv1, pool1, mlpconv2, pool2, mlpconv3, pool3, dropout, mlpconv4, gap, flatten.

    Args:
        num_classes: maps of the last block, one per class.
        in_channels: channels of the input image.
        dropout: dropout probability before the last block.

    Returns:
        A [`Network`][cnnref.models.network.Network] with ``input_size == (in_channels, 224, 224)``.

    Shape:
        x: (N, in_channels, 224, 224) -> (N, num_classes)

    Examples:
        >>> import torch
        >>> with torch.device("meta"):
        ...     net = nin()
        >>> sum(p.numel() for p in net.parameters())
        7439608
        >>> net(torch.zeros(1, 3, 224, 224, device="meta")).shape
        torch.Size([1, 1000])
    """
    layers: dict[str, nn.Module] = {}
    channels = in_channels
    for i, (name, (maps, k, stride, padding)) in enumerate(NIN_TABLE.items(), start=1):
        maps = num_classes if maps is None else maps
        if i == len(NIN_TABLE):
            layers["dropout"] = nn.Dropout(dropout)
        layers[name] = mlpconv(channels, maps, k, stride, padding)
        if i < len(NIN_TABLE):
            layers[f"pool{i}"] = nn.MaxPool2d(3, stride=2)       # 54 -> 26 -> 12 -> 5
        channels = maps
    layers["gap"] = nn.AdaptiveAvgPool2d(1)                      # one score per class map
    layers["flatten"] = nn.Flatten()
    return Network("nin", (in_channels, 224, 224), layers)
