"""GoogLeNet (Szegedy et al. 2014, "Going Deeper with Convolutions"), from the paper's table 1.

An Inception module runs four branches side by side on the same input and concatenates
their maps: a 1x1 convolution; a 1x1 "reduce" then a 3x3; a 1x1 reduce then a 5x5; a 3x3
max pooling (stride 1) then a 1x1 "pool proj". The 1x1 reductions keep the 3x3 and 5x5
convolutions cheap. Every convolution is followed by ReLU.

torchvision's ``googlenet`` has a 3x3 convolution in the "5x5" branch: its pretrained
weights were ported from a TensorFlow model that has 3x3 there, most likely by mistake, and
the kernel cannot change without retraining the weights
([pytorch/vision#906](https://github.com/pytorch/vision/issues/906)). This builder follows
the paper: 5x5, padding 2.

The paper's pooling layers give the sizes of its table 1 (112 -> 56 -> 28 -> 14 -> 7) only
when they round up (Caffe's pooling does); here they use ``ceil_mode=True``. The example of
[`googlenet`][cnnref.models.googlenet.googlenet] prints every layer's output shape.
"""

from __future__ import annotations

import torch
from torch import nn

from cnnref.models.network import check_input

__all__ = ["INCEPTION_TABLE", "AUX_LOSS_WEIGHT", "Inception", "InceptionAux", "GoogLeNet", "googlenet"]

AUX_LOSS_WEIGHT = 0.3
"""The paper's weight of each auxiliary classifier's loss in the training loss."""

# table 1 of the paper: name -> (#1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj)
INCEPTION_TABLE: dict[str, tuple[int, int, int, int, int, int]] = {
    "inception3a": (64, 96, 128, 16, 32, 32),
    "inception3b": (128, 128, 192, 32, 96, 64),
    "inception4a": (192, 96, 208, 16, 48, 64),
    "inception4b": (160, 112, 224, 24, 64, 64),
    "inception4c": (128, 128, 256, 24, 64, 64),
    "inception4d": (112, 144, 288, 32, 64, 64),
    "inception4e": (256, 160, 320, 32, 128, 128),
    "inception5a": (256, 160, 320, 32, 128, 128),
    "inception5b": (384, 192, 384, 48, 128, 128),
}
"""Table 1 of the paper: module name -> (#1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj)."""


def _conv(c_in: int, c_out: int, k: int, stride: int = 1) -> nn.Sequential:
    """k x k convolution that keeps H and W (at stride 1), then ReLU."""
    return nn.Sequential(nn.Conv2d(c_in, c_out, k, stride=stride, padding=k // 2), nn.ReLU(inplace=True))


class Inception(nn.Module):
    """One Inception module: four branches concatenated along the channels.

    Args:
        in_channels: maps of the input.
        ch1x1: maps of the 1x1 branch (table 1's "#1x1").
        ch3x3red: maps of the 1x1 reduction in front of the 3x3 ("#3x3 reduce").
        ch3x3: maps of the 3x3 convolution ("#3x3").
        ch5x5red: maps of the 1x1 reduction in front of the 5x5 ("#5x5 reduce").
        ch5x5: maps of the 5x5 convolution ("#5x5").
        pool_proj: maps of the 1x1 convolution after the pooling ("pool proj").

    Shape:
        x: (N, in_channels, H, W) -> (N, ch1x1 + ch3x3 + ch5x5 + pool_proj, H, W)

    Examples:
        >>> m = Inception(192, *INCEPTION_TABLE["inception3a"])
        >>> m(torch.zeros(1, 192, 28, 28)).shape                  # 64 + 128 + 32 + 32 maps
        torch.Size([1, 256, 28, 28])
    """

    def __init__(self, in_channels: int, ch1x1: int, ch3x3red: int, ch3x3: int,
                 ch5x5red: int, ch5x5: int, pool_proj: int):
        super().__init__()
        self.out_channels = ch1x1 + ch3x3 + ch5x5 + pool_proj
        self.branch1x1 = _conv(in_channels, ch1x1, 1)
        self.branch3x3 = nn.Sequential(_conv(in_channels, ch3x3red, 1), _conv(ch3x3red, ch3x3, 3))
        self.branch5x5 = nn.Sequential(_conv(in_channels, ch5x5red, 1), _conv(ch5x5red, ch5x5, 5))
        self.branch_pool = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1, ceil_mode=True),
                                         _conv(in_channels, pool_proj, 1))

    def forward(self, x):
        branches = (self.branch1x1, self.branch3x3, self.branch5x5, self.branch_pool)
        return torch.cat([b(x) for b in branches], dim=1)  # (N, out_channels, H, W)


class InceptionAux(nn.Module):
    """The paper's auxiliary classifier, attached to inception4a and inception4d in training.

    5x5 average pooling with stride 3 (14x14 -> 4x4), a 1x1 convolution with 128 maps and
    ReLU, a 1024-unit fully connected layer with ReLU, dropout 0.7, a linear classifier.

    Shape:
        x: (N, in_channels, 14, 14) -> (N, num_classes)

    Examples:
        >>> InceptionAux(512, 10)(torch.zeros(2, 512, 14, 14)).shape
        torch.Size([2, 10])
    """

    def __init__(self, in_channels: int, num_classes: int, dropout: float = 0.7):
        super().__init__()
        self.pool = nn.AvgPool2d(5, stride=3)     # (N, C, 4, 4)
        self.conv = _conv(in_channels, 128, 1)    # (N, 128, 4, 4)
        self.flatten = nn.Flatten()               # (N, 2048)
        self.fc1 = nn.Linear(128 * 4 * 4, 1024)
        self.relu = nn.ReLU(inplace=True)
        self.dropout = nn.Dropout(dropout)
        self.fc2 = nn.Linear(1024, num_classes)

    def forward(self, x):
        x = self.flatten(self.conv(self.pool(x)))
        return self.fc2(self.dropout(self.relu(self.fc1(x))))


class GoogLeNet(nn.Module):
    """GoogLeNet for 224x224 inputs; build it with [`googlenet`][cnnref.models.googlenet.googlenet].

    Children in order: conv1, pool1, norm1, conv2_reduce, conv2, norm2, pool2, inception3a,
    inception3b, pool3, inception4a ... inception4e, pool4, inception5a, inception5b,
    avgpool, flatten, dropout, fc (and aux1, aux2 with ``aux_logits=True``).

    In training mode with ``aux_logits=True`` the forward pass returns ``(logits, aux1,
    aux2)``; the paper adds the auxiliary losses with weight
    [`AUX_LOSS_WEIGHT`][cnnref.models.googlenet.AUX_LOSS_WEIGHT]. Otherwise it returns the
    logits alone.

    Shape:
        x: (N, in_channels, 224, 224) -> (N, num_classes)

    Examples:
        >>> net = googlenet(num_classes=10)
        >>> net.input_size, net.inception3a.out_channels
        ((3, 224, 224), 256)
    """

    def __init__(self, num_classes: int = 1000, in_channels: int = 3, aux_logits: bool = False,
                 dropout: float = 0.4):
        super().__init__()
        self.name = "googlenet"
        self.input_size = (in_channels, 224, 224)
        self.aux_logits = aux_logits
        self.conv1 = _conv(in_channels, 64, 7, stride=2)               # (N, 64, 112, 112)
        self.pool1 = nn.MaxPool2d(3, stride=2, ceil_mode=True)         # (N, 64, 56, 56)
        # the paper gives no constants for its LRN layers; these are the BVLC Caffe model's
        self.norm1 = nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75)
        self.conv2_reduce = _conv(64, 64, 1)                           # (N, 64, 56, 56)
        self.conv2 = _conv(64, 192, 3)                                 # (N, 192, 56, 56)
        self.norm2 = nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75)
        self.pool2 = nn.MaxPool2d(3, stride=2, ceil_mode=True)         # (N, 192, 28, 28)
        channels = 192
        for name, row in INCEPTION_TABLE.items():
            module = Inception(channels, *row)
            setattr(self, name, module)
            channels = module.out_channels
            if name == "inception3b":
                self.pool3 = nn.MaxPool2d(3, stride=2, ceil_mode=True)  # (N, 480, 14, 14)
            elif name == "inception4e":
                self.pool4 = nn.MaxPool2d(3, stride=2, ceil_mode=True)  # (N, 832, 7, 7)
        self.avgpool = nn.AvgPool2d(7, stride=1)                       # (N, 1024, 1, 1)
        self.flatten = nn.Flatten()                                    # (N, 1024)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(channels, num_classes)
        if aux_logits:
            self.aux1 = InceptionAux(self.inception4a.out_channels, num_classes)  # 512 maps
            self.aux2 = InceptionAux(self.inception4d.out_channels, num_classes)  # 528 maps

    def forward(self, x):
        check_input(self.name, self.input_size, x)
        aux = []
        for name, child in self.named_children():
            if name in ("aux1", "aux2"):
                continue
            x = child(x)
            if self.aux_logits and self.training and name in ("inception4a", "inception4d"):
                aux.append((self.aux1 if name == "inception4a" else self.aux2)(x))
        return (x, *aux) if aux else x


def googlenet(num_classes: int = 1000, in_channels: int = 3, aux_logits: bool = False,
              dropout: float = 0.4) -> GoogLeNet:
    """GoogLeNet as in the paper: 6,998,552 parameters for 1000 classes without the auxiliary heads.

    The output shapes for one image, printed in the example, are the "output size" column of
    the paper's table 1.

    Args:
        num_classes: number of output scores.
        in_channels: channels of the input image.
        aux_logits: add the two auxiliary classifiers (used in training mode only).
        dropout: dropout probability before the last layer (the paper's 40%).

    Returns:
        A [`GoogLeNet`][cnnref.models.googlenet.GoogLeNet] with ``input_size == (in_channels, 224, 224)``.

    Shape:
        x: (N, in_channels, 224, 224) -> (N, num_classes)

    Examples:
        >>> from cnnref.summary import output_shapes
        >>> with torch.device("meta"):             # shapes only, no memory: counting is instant
        ...     net = googlenet()
        >>> sum(p.numel() for p in net.parameters())
        6998552
        >>> for name, shape in output_shapes(net, names=("conv", "pool", "inception", "avgpool")).items():
        ...     print(name, shape)
        conv1 (64, 112, 112)
        pool1 (64, 56, 56)
        conv2_reduce (64, 56, 56)
        conv2 (192, 56, 56)
        pool2 (192, 28, 28)
        inception3a (256, 28, 28)
        inception3b (480, 28, 28)
        pool3 (480, 14, 14)
        inception4a (512, 14, 14)
        inception4b (512, 14, 14)
        inception4c (512, 14, 14)
        inception4d (528, 14, 14)
        inception4e (832, 14, 14)
        pool4 (832, 7, 7)
        inception5a (832, 7, 7)
        inception5b (1024, 7, 7)
        avgpool (1024, 1, 1)
    """
    return GoogLeNet(num_classes, in_channels, aux_logits, dropout)
