"""The general CNN pattern of the notes, as a builder with its four knobs.

    INPUT -> [[CONV -> RELU] * N -> POOL?] * M -> [FC -> RELU] * K -> FC

``make_cnn`` works out the size of the flattened feature map itself, with the same
output-size arithmetic that [`cnnref.shapes`][cnnref.shapes] checks against torch, so any input size,
kernel size and padding give a network whose first fully connected layer fits.
"""

from __future__ import annotations

from typing import Sequence, Union

from torch import nn

from cnnref._args import integer
from cnnref.models.network import Network
from cnnref.shapes import conv_output_size, pool_output_size

__all__ = ["make_cnn", "feature_shapes"]

IntOrSeq = Union[int, Sequence[int]]


def _count(name: str, value, minimum: int = 0) -> int:
    return integer("make_cnn", name, value, minimum)


def _widths(name: str, value: IntOrSeq, count: int, double: bool) -> list[int]:
    """An int becomes `count` widths (doubling per block if `double`); a list must have `count`."""
    if isinstance(value, (list, tuple)):
        if len(value) != count:
            raise ValueError(f"make_cnn: {name} has {len(value)} entries, expected {count} (one per "
                             f"{'block' if double else 'hidden layer'})")
        return [_count(f"{name}[{i}]", v, 1) for i, v in enumerate(value)]
    width = _count(name, value, 1)
    return [width * 2 ** i if double else width for i in range(count)]


def feature_shapes(image_size: IntOrSeq, n: int, m: int, kernel_size: int = 3,
                   padding: int | None = None, pool: bool = True) -> list[tuple[str, tuple[int, int]]]:
    """(layer, (H, W)) after each convolution and pooling of the pattern's feature part.

    Each convolution: ``H_out = floor((H + 2*padding - kernel_size) / 1) + 1``; each 2x2
    pooling with stride 2: ``H_out = floor((H - 2) / 2) + 1``.

    Args:
        image_size: input ``(H, W)``, or one int for a square image.
        n: convolutions per block.
        m: blocks.
        kernel_size: square kernel of every convolution.
        padding: zero padding of every convolution; ``None`` means ``kernel_size // 2``,
            which keeps H and W for odd kernels.
        pool: end each block with 2x2 max pooling.

    Returns:
        A list of ``(name, (H, W))``, with the names ``make_cnn`` gives the layers.

    Raises:
        ValueError: the feature map shrinks to nothing (too many layers for the input).

    Examples:
        >>> feature_shapes(28, n=2, m=2)
        [('conv1_1', (28, 28)), ('conv1_2', (28, 28)), ('pool1', (14, 14)), ('conv2_1', (14, 14)), ('conv2_2', (14, 14)), ('pool2', (7, 7))]
        >>> feature_shapes(28, n=1, m=2, kernel_size=5, padding=0)[-1]
        ('pool2', (4, 4))
    """
    n, m = _count("n", n), _count("m", m)
    size = tuple(image_size) if isinstance(image_size, (tuple, list)) else (image_size, image_size)
    if len(size) != 2:
        raise ValueError(f"make_cnn: image_size must be an int or (H, W), got {image_size!r}")
    size = tuple(_count(f"image_size[{i}]", v, 1) for i, v in enumerate(size))
    kernel_size = _count("kernel_size", kernel_size, 1)
    padding = kernel_size // 2 if padding is None else _count("padding", padding)
    shapes = []
    for b in range(1, m + 1):
        steps = [(f"conv{b}_{i}", "conv") for i in range(1, n + 1)] + ([(f"pool{b}", "pool")] if pool else [])
        for name, kind in steps:
            try:
                if kind == "conv":
                    size = conv_output_size(size, kernel_size, padding=padding)
                else:
                    size = pool_output_size(size, 2)
            except ValueError as err:
                raise ValueError(f"make_cnn: the feature map is {size} before {name}, too small for "
                                 f"it ({err}); use a larger image_size or fewer layers") from None
            shapes.append((name, size))
    return shapes


def make_cnn(n: int = 2, m: int = 2, k: int = 1, pool: bool = True, *, num_classes: int = 10,
             in_channels: int = 1, image_size: IntOrSeq = 28, channels: IntOrSeq = 16,
             hidden: IntOrSeq = 128, kernel_size: int = 3, padding: int | None = None,
             batch_norm: bool = False, global_pool: bool = False) -> Network:
    """INPUT -> [[CONV -> RELU] * n -> POOL?] * m -> [FC -> RELU] * k -> FC.

    The flattened size in front of the first fully connected layer is
    ``channels_of_last_block * H * W`` with ``(H, W)`` from [`feature_shapes`][cnnref.models.pattern.feature_shapes]
    (``channels_of_last_block`` with ``global_pool``); it is stored as ``model.flat_features``.

    Children: conv{b}_{i}, (bn{b}_{i},) relu{b}_{i}, pool{b} for block b and convolution i;
    (gap,) flatten; fc{j}, relu_fc{j} for the k hidden layers; fc{k+1}, the output layer.

    Args:
        n: convolutions (each followed by ReLU) per block.
        m: blocks.
        k: hidden fully connected layers (each followed by ReLU).
        pool: end each block with 2x2 max pooling (stride 2).
        num_classes: outputs of the last layer.
        in_channels: channels of the input image.
        image_size: input ``(H, W)``, or one int for a square image.
        channels: maps of each block's convolutions: a list with one entry per block, or an
            int for the first block that doubles from block to block.
        hidden: widths of the hidden fully connected layers: a list of k, or one int for all.
        kernel_size: square kernel of every convolution.
        padding: zero padding of every convolution; ``None`` means ``kernel_size // 2``.
        batch_norm: put ``BatchNorm2d`` between each convolution and its ReLU; the convolution
            then has no bias (the normalization subtracts the mean, bias included, and adds its own).
        global_pool: average each map of the last block to one value (``AdaptiveAvgPool2d(1)``)
            before flattening, so the first fully connected layer takes one input per map.

    Returns:
        A [`Network`][cnnref.models.network.Network] with
        ``input_size == (in_channels, H, W)`` and ``flat_features``.

    Raises:
        ValueError: a negative knob, a list of the wrong length, or an input too small for
            the layers.

    Shape:
        x: (N, in_channels, H, W) -> (N, num_classes)

    Examples:
        >>> net = make_cnn(n=2, m=2, k=1)              # 28x28 -> 14x14 -> 7x7, 32 maps
        >>> net.flat_features, net.fc1
        (1568, Linear(in_features=1568, out_features=128, bias=True))
        >>> import torch
        >>> net(torch.zeros(2, 1, 28, 28)).shape
        torch.Size([2, 10])
        >>> make_cnn(batch_norm=True, global_pool=True).flat_features      # 32 maps, one value each
        32
    """
    k = _count("k", k)
    shapes = feature_shapes(image_size, n, m, kernel_size, padding, pool)
    n, m = int(n), int(m)
    height, width = (image_size, image_size) if isinstance(image_size, int) else tuple(image_size)
    padding = kernel_size // 2 if padding is None else padding
    widths = _widths("channels", channels, m, double=True)
    sizes = _widths("hidden", hidden, k, double=False)
    layers: dict[str, nn.Module] = {}
    c = in_channels = _count("in_channels", in_channels, 1)
    for b, maps in enumerate(widths, start=1):
        for i in range(1, n + 1):
            layers[f"conv{b}_{i}"] = nn.Conv2d(c, maps, kernel_size, padding=padding, bias=not batch_norm)
            if batch_norm:
                layers[f"bn{b}_{i}"] = nn.BatchNorm2d(maps)
            layers[f"relu{b}_{i}"] = nn.ReLU(inplace=True)
            c = maps
        if pool:
            layers[f"pool{b}"] = nn.MaxPool2d(2)
    h, w = shapes[-1][1] if shapes else (height, width)
    if global_pool:
        layers["gap"] = nn.AdaptiveAvgPool2d(1)        # (N, c, 1, 1)
        h = w = 1
    flat = c * h * w
    layers["flatten"] = nn.Flatten()                   # (N, c * h * w)
    features = flat
    for j, size in enumerate(sizes, start=1):
        layers[f"fc{j}"] = nn.Linear(features, size)
        layers[f"relu_fc{j}"] = nn.ReLU(inplace=True)
        features = size
    layers[f"fc{k + 1}"] = nn.Linear(features, _count("num_classes", num_classes, 1))
    net = Network("make_cnn", (in_channels, height, width), layers)
    net.flat_features = flat
    return net
