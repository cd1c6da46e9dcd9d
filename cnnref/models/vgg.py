"""VGG (Simonyan & Zisserman 2014, "Very Deep Convolutional Networks for Large-Scale Image
Recognition"), built from the paper's table 1 of configurations.

A configuration is a list: an int is a 3x3 convolution (stride 1, padding 1) with that many
output maps followed by ReLU, ``(maps, k)`` is a k x k convolution (configuration C's 1x1
layers), and ``"M"`` is 2x2 max pooling with stride 2. Five poolings take 224x224 to 7x7;
then come fc6 (4096), fc7 (4096) and fc8 (``num_classes``), dropout 0.5 after fc6 and fc7.
Children are named as in the authors' Caffe models: conv1_1, relu1_1, ..., pool1, ...,
fc6, relu6, drop6, fc7, relu7, drop7, fc8 (with ``batch_norm``, bn1_1 after conv1_1 ...;
batch normalization came a year after VGG and is not in the paper).
"""

from __future__ import annotations

from typing import Sequence, Union

from torch import nn

from cnnref.models.alexnet import fc_head
from cnnref.models.network import Network

__all__ = ["VGG_CONFIGS", "vgg", "vgg11", "vgg13", "vgg16", "vgg19"]

Layer = Union[int, tuple, str]

# table 1 of the paper; the letters are its column names, the numbers its weight layers
VGG_CONFIGS: dict[str, list[Layer]] = {
    "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "B": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "C": [64, 64, "M", 128, 128, "M", 256, 256, (256, 1), "M", 512, 512, (512, 1), "M",
          512, 512, (512, 1), "M"],
    "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "E": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
          512, 512, 512, 512, "M"],
}
"""Table 1 of the paper: configuration letter -> layers (int: 3x3 conv maps, (maps, k): k x k conv, "M": pool)."""


def vgg(cfg: Union[str, Sequence[Layer]], num_classes: int = 1000, in_channels: int = 3,
        batch_norm: bool = False, dropout: float = 0.5, name: str = "vgg") -> Network:
    """A VGG network from a configuration letter (``"A"`` ... ``"E"``) or list, for 224x224 inputs.

    Args:
        cfg: a key of [`VGG_CONFIGS`][cnnref.models.vgg.VGG_CONFIGS] or a list in the same format; it must pool five
            times so that 224x224 becomes the 7x7 that fc6 expects.
        num_classes: number of output scores.
        in_channels: channels of the input image.
        batch_norm: put ``BatchNorm2d`` after each convolution (not in the paper).
        dropout: dropout probability after fc6 and fc7.
        name: the name used in error messages.

    Returns:
        A [`Network`][cnnref.models.network.Network] with ``input_size == (in_channels, 224, 224)``.

    Raises:
        ValueError: an unknown letter, an entry that is not an int, ``(maps, k)`` or ``"M"``,
            or a configuration that does not pool exactly five times.

    Shape:
        x: (N, in_channels, 224, 224) -> (N, num_classes)

    Examples:
        >>> import torch
        >>> with torch.device("meta"):
        ...     net = vgg("A")
        >>> [n for n, _ in net.named_children()][:6]
        ['conv1_1', 'relu1_1', 'pool1', 'conv2_1', 'relu2_1', 'pool2']
        >>> sum(p.numel() for p in net.parameters())
        132863336
    """
    if isinstance(cfg, str):
        if cfg not in VGG_CONFIGS:
            raise ValueError(f"vgg: unknown configuration {cfg!r}, expected one of {', '.join(VGG_CONFIGS)} or a list")
        cfg = VGG_CONFIGS[cfg]
    if sum(1 for v in cfg if v == "M") != 5:
        raise ValueError(f"vgg: cfg must contain 'M' exactly 5 times (224 -> 7 before fc6), got {list(cfg)!r}")
    layers: dict[str, nn.Module] = {}
    channels, block, index = in_channels, 1, 1
    for v in cfg:
        if v == "M":
            layers[f"pool{block}"] = nn.MaxPool2d(2, stride=2)  # halves H and W
            block, index = block + 1, 1
            continue
        if isinstance(v, int) and not isinstance(v, bool):
            maps, k = v, 3
        elif isinstance(v, tuple) and len(v) == 2:
            maps, k = v
        else:
            raise ValueError(f"vgg: cfg entries must be an int, (maps, kernel_size) or 'M', got {v!r}")
        layers[f"conv{block}_{index}"] = nn.Conv2d(channels, maps, k, padding=k // 2)  # same H, W
        if batch_norm:
            layers[f"bn{block}_{index}"] = nn.BatchNorm2d(maps)
        layers[f"relu{block}_{index}"] = nn.ReLU(inplace=True)
        channels, index = maps, index + 1
    layers.update({
        **fc_head(channels * 7 * 7, num_classes, dropout),    # flatten, fc6, fc7, fc8
    })
    return Network(name, (in_channels, 224, 224), layers)


def vgg11(num_classes: int = 1000, in_channels: int = 3, batch_norm: bool = False) -> Network:
    """VGG-11, configuration A: 132,863,336 parameters for 1000 classes.

    Examples:
        >>> import torch
        >>> with torch.device("meta"):      # shapes only, no memory: counting is instant
        ...     net = vgg11()
        >>> net.name, sum(p.numel() for p in net.parameters())
        ('vgg11', 132863336)
    """
    return vgg("A", num_classes, in_channels, batch_norm, name="vgg11")


def vgg13(num_classes: int = 1000, in_channels: int = 3, batch_norm: bool = False) -> Network:
    """VGG-13, configuration B: 133,047,848 parameters for 1000 classes.

    Examples:
        >>> import torch
        >>> with torch.device("meta"):      # shapes only, no memory: counting is instant
        ...     net = vgg13()
        >>> net.name, sum(p.numel() for p in net.parameters())
        ('vgg13', 133047848)
    """
    return vgg("B", num_classes, in_channels, batch_norm, name="vgg13")


def vgg16(num_classes: int = 1000, in_channels: int = 3, batch_norm: bool = False) -> Network:
    """VGG-16, configuration D: 138,357,544 parameters for 1000 classes.

    Examples:
        >>> import torch
        >>> with torch.device("meta"):      # shapes only, no memory: counting is instant
        ...     net = vgg16()
        >>> net.name, sum(p.numel() for p in net.parameters())
        ('vgg16', 138357544)
    """
    return vgg("D", num_classes, in_channels, batch_norm, name="vgg16")


def vgg19(num_classes: int = 1000, in_channels: int = 3, batch_norm: bool = False) -> Network:
    """VGG-19, configuration E: 143,667,240 parameters for 1000 classes.

    Examples:
        >>> import torch
        >>> with torch.device("meta"):      # shapes only, no memory: counting is instant
        ...     net = vgg19()
        >>> net.name, sum(p.numel() for p in net.parameters())
        ('vgg19', 143667240)
    """
    return vgg("E", num_classes, in_channels, batch_norm, name="vgg19")
