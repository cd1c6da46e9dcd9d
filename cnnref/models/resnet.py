"""ResNet (He, Zhang, Ren & Sun 2015, "Deep Residual Learning for Image Recognition"), built from
the paper's table 1.

conv1 is a 7x7 convolution with stride 2 (224 -> 112), then 3x3 max pooling with stride 2
(-> 56); four stages conv2_x ... conv5_x of residual blocks follow, each stage after the first
halving H and W in its first block (56 -> 28 -> 14 -> 7), then global average pooling and one
fully connected layer. ResNet-18 and -34 stack `BasicBlock` (two 3x3 convolutions), ResNet-50 and
deeper `Bottleneck` (1x1 down, 3x3, 1x1 up to four times the width). Where a block changes the
shape, its shortcut is a 1x1 convolution with batch normalization (the paper's option B);
elsewhere it is the identity. Every convolution is followed by batch normalization and has no
bias.

Children and parameter names are torchvision's (``conv1``, ``bn1``, ``layer1.0.conv1.weight``,
``layer2.0.downsample.0.weight``, ``fc.weight``), so torchvision's ``state_dict`` loads as is;
as there (and in Caffe's ResNet-50 since 2016, "ResNet v1.5"), a bottleneck's stride sits on its
3x3 convolution, which changes no parameter count.
"""

from __future__ import annotations

from torch import nn

from cnnref.models.network import Network

__all__ = ["RESNET_TABLE", "BasicBlock", "Bottleneck", "resnet", "resnet18", "resnet34", "resnet50"]

# table 1 of the paper: depth -> (block, blocks in conv2_x, conv3_x, conv4_x, conv5_x)
RESNET_TABLE: dict[int, tuple[str, tuple[int, int, int, int]]] = {
    18: ("basic", (2, 2, 2, 2)),
    34: ("basic", (3, 4, 6, 3)),
    50: ("bottleneck", (3, 4, 6, 3)),
    101: ("bottleneck", (3, 4, 23, 3)),
    152: ("bottleneck", (3, 8, 36, 3)),
}
"""Table 1 of the paper: depth -> (block kind, number of blocks in conv2_x, conv3_x, conv4_x, conv5_x)."""

STAGE_WIDTHS = (64, 128, 256, 512)
"""The width of each stage's 3x3 convolutions (table 1); a bottleneck's output is four times it."""


def _projection(in_planes: int, out_planes: int, stride: int) -> nn.Sequential | None:
    """The shortcut: None (identity) when the shape stays, else 1x1 convolution + batch norm."""
    if stride == 1 and in_planes == out_planes:
        return None
    return nn.Sequential(nn.Conv2d(in_planes, out_planes, 1, stride=stride, bias=False), nn.BatchNorm2d(out_planes))


class BasicBlock(nn.Module):
    """``relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))`` with 3x3 convolutions.

    Shapes: ``x: (N, in_planes, H, W) -> (N, planes, H_out, W_out)``, ``H_out = floor((H - 1) / stride) + 1``.
    Its NumPy twin is `cnnref.residual.BasicBlock`.

    Args:
        in_planes: input channels.
        planes: output channels.
        stride: stride of the first convolution and of the projection.

    Examples:
        >>> import torch
        >>> BasicBlock(64, 128, stride=2)(torch.zeros(1, 64, 56, 56)).shape
        torch.Size([1, 128, 28, 28])
    """

    expansion = 1

    def __init__(self, in_planes: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = _projection(in_planes, planes, stride)

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + (x if self.downsample is None else self.downsample(x)))


class Bottleneck(nn.Module):
    """``1x1 (planes) -> 3x3 (planes, stride) -> 1x1 (4 * planes)``, each with batch norm, plus
    the shortcut, then ReLU. The 1x1 layers shrink and restore the width so that the 3x3 runs
    on a quarter of the channels.

    Shapes: ``x: (N, in_planes, H, W) -> (N, 4 * planes, H_out, W_out)``.

    Args:
        in_planes: input channels.
        planes: width of the 3x3 convolution.
        stride: stride of the 3x3 convolution and of the projection.

    Examples:
        >>> import torch
        >>> Bottleneck(64, 64)(torch.zeros(1, 64, 56, 56)).shape
        torch.Size([1, 256, 56, 56])
    """

    expansion = 4

    def __init__(self, in_planes: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        out_planes = planes * self.expansion
        self.conv1 = nn.Conv2d(in_planes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, out_planes, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_planes)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = _projection(in_planes, out_planes, stride)

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + (x if self.downsample is None else self.downsample(x)))


def resnet(depth: int, num_classes: int = 1000, in_channels: int = 3, name: str | None = None) -> Network:
    """A ResNet of table 1's ``depth`` (18, 34, 50, 101 or 152) for 224x224 inputs.

    Children: conv1, bn1, relu, maxpool, layer1 (conv2_x) ... layer4 (conv5_x), avgpool, flatten, fc.

    Args:
        depth: a key of [`RESNET_TABLE`][cnnref.models.resnet.RESNET_TABLE].
        num_classes: outputs of ``fc``.
        in_channels: channels of the input image.
        name: the name in error messages (``f"resnet{depth}"`` by default).

    Returns:
        A [`Network`][cnnref.models.network.Network] with ``input_size == (in_channels, 224, 224)``.

    Raises:
        ValueError: a depth that table 1 does not have.

    Shape:
        x: (N, in_channels, 224, 224) -> (N, num_classes)

    Examples:
        >>> import torch
        >>> with torch.device("meta"):
        ...     net = resnet(101)
        >>> sum(p.numel() for p in net.parameters())
        44549160
    """
    if depth not in RESNET_TABLE:
        raise ValueError(f"resnet: depth must be one of {', '.join(map(str, RESNET_TABLE))} (table 1), got {depth!r}")
    kind, counts = RESNET_TABLE[depth]
    block = BasicBlock if kind == "basic" else Bottleneck
    layers: dict[str, nn.Module] = {
        "conv1": nn.Conv2d(in_channels, 64, 7, stride=2, padding=3, bias=False),   # 224 -> 112
        "bn1": nn.BatchNorm2d(64),
        "relu": nn.ReLU(inplace=True),
        "maxpool": nn.MaxPool2d(3, stride=2, padding=1),                          # 112 -> 56
    }
    channels = 64
    for stage, (planes, count) in enumerate(zip(STAGE_WIDTHS, counts), start=1):
        blocks = []
        for i in range(count):
            stride = 2 if stage > 1 and i == 0 else 1                             # halve H, W once per stage
            blocks.append(block(channels, planes, stride))
            channels = planes * block.expansion
        layers[f"layer{stage}"] = nn.Sequential(*blocks)
    layers.update(avgpool=nn.AdaptiveAvgPool2d(1), flatten=nn.Flatten(), fc=nn.Linear(channels, num_classes))
    return Network(name or f"resnet{depth}", (in_channels, 224, 224), layers)


def resnet18(num_classes: int = 1000, in_channels: int = 3) -> Network:
    """ResNet-18: 11,689,512 parameters for 1000 classes.

    Examples:
        >>> import torch
        >>> with torch.device("meta"):
        ...     net = resnet18()
        >>> sum(p.numel() for p in net.parameters())
        11689512
    """
    return resnet(18, num_classes, in_channels)


def resnet34(num_classes: int = 1000, in_channels: int = 3) -> Network:
    """ResNet-34: 21,797,672 parameters for 1000 classes.

    Examples:
        >>> import torch
        >>> with torch.device("meta"):
        ...     net = resnet34()
        >>> sum(p.numel() for p in net.parameters())
        21797672
    """
    return resnet(34, num_classes, in_channels)


def resnet50(num_classes: int = 1000, in_channels: int = 3) -> Network:
    """ResNet-50: 25,557,032 parameters for 1000 classes.

    Examples:
        >>> import torch
        >>> with torch.device("meta"):
        ...     net = resnet50()
        >>> sum(p.numel() for p in net.parameters())
        25557032
    """
    return resnet(50, num_classes, in_channels)
