"""LeNet: the zip-code network of 1989, LeNet-5 (1998), and the MNIST LeNet of Caffe's tutorial.

``lenet1989`` is the network of LeCun et al., "Backpropagation Applied to Handwritten Zip
Code Recognition" (Neural Computation, 1989): a 16x16 image, two layers of 12 feature maps
computed with 5x5 kernels at stride 2, 30 hidden units, 10 outputs. Two details set it apart
from later networks, and both are kept here: the units of a feature map share their weights
but each has its own bias ([`UnitBias`][cnnref.models.lenet.UnitBias]), and each map of the
second layer sees only 8 of the 12 maps of the first
([`MapConnections`][cnnref.models.lenet.MapConnections]). With those, the model has the
paper's totals: 1,256 units, 64,660 connections and 9,760 parameters.

``lenet5`` is LeNet-5 of "Gradient-based learning applied to document recognition" (1998),
with the paper's layer names (C1, S2, C3, S4, C5, F6, OUTPUT). Two details of the original are
replaced by what almost every modern reimplementation uses:

- C3 in the paper connects each of its 16 maps to only some of S2's 6 maps
  ([`LENET5_C3_TABLE`][cnnref.models.lenet.LENET5_C3_TABLE], the paper's table I); here every
  C3 map sees all 6 maps.
- The paper's S2/S4 subsampling layers have a trainable coefficient and bias per map and its
  output layer is 10 Euclidean RBF units with fixed weights; here S2/S4 are plain 2x2 average
  pooling and the output layer is a linear layer (the scores go to a softmax / cross-entropy).

The activation is tanh. The paper scales it, ``f(a) = A tanh(S a)`` with ``A = 1.7159`` and
``S = 2/3``, which makes ``f(1) = 1``; here it is the plain ``nn.Tanh``.

Examples:
    >>> import math
    >>> round(1.7159 * math.tanh(2 / 3), 4)      # the paper's scaled tanh at 1
    1.0
    >>> connections = sum(len(maps) for maps in LENET5_C3_TABLE)
    >>> connections, connections * 5 * 5 + 16     # C3 in the paper: links, weights + biases
    (60, 1516)
    >>> from cnnref.summary import count_parameters
    >>> count_parameters(lenet5().c3)             # every C3 map sees all 6 S2 maps
    2416
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Sequence

import torch
from torch import nn

from cnnref.models.network import Network

__all__ = ["LENET5_C3_TABLE", "UnitBias", "MapConnections", "lenet1989", "lenet5", "caffe_lenet"]

# table I of the 1998 paper: for each of C3's 16 maps, the S2 maps it reads. Maps 0-5 read three
# neighbouring S2 maps, 6-11 four neighbouring ones, 12-14 four non-neighbouring ones, 15 all six.
LENET5_C3_TABLE: tuple[tuple[int, ...], ...] = (
    (0, 1, 2), (1, 2, 3), (2, 3, 4), (3, 4, 5), (0, 4, 5), (0, 1, 5),
    (0, 1, 2, 3), (1, 2, 3, 4), (2, 3, 4, 5), (0, 3, 4, 5), (0, 1, 4, 5), (0, 1, 2, 5),
    (0, 1, 3, 4), (1, 2, 4, 5), (0, 2, 3, 5),
    (0, 1, 2, 3, 4, 5),
)
"""Table I of the LeNet-5 paper: C3 map -> the S2 maps it is connected to (60 links in all)."""


class UnitBias(nn.Module):
    """A learnable bias for every unit of a ``(C, H, W)`` map, not one per channel.

    ``nn.Conv2d``'s bias is shared by all positions of a map; the 1989 network shared weights
    but gave every unit its own bias, so this adds a ``(C, H, W)`` parameter.

    Shape:
        x: (N, C, H, W) -> (N, C, H, W)

    Examples:
        >>> b = UnitBias((12, 8, 8))
        >>> b.bias.numel(), b(torch.zeros(2, 12, 8, 8)).shape
        (768, torch.Size([2, 12, 8, 8]))
    """

    def __init__(self, shape: Sequence[int]):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(tuple(shape)))

    def forward(self, x):
        return x + self.bias


class MapConnections(nn.Module):
    """A convolution in which output map ``o`` reads only the input maps ``table[o]``.

    Every row of ``table`` must name the same number ``m`` of input maps. The input maps are
    gathered in table order (``C_out * m`` channels) and convolved with ``groups=C_out``, so the
    weight is ``(C_out, m, k, k)``: exactly the connections of the table, no masked zeros.
    The convolution has no bias (the 1989 network adds a [`UnitBias`][cnnref.models.lenet.UnitBias]).
    The border is padded with ``pad_value`` (the background, -1, in the 1989 network).

    Args:
        table: for each output map, the indices of the input maps it reads.
        kernel_size: square kernel.
        stride: step of the kernel.
        padding: rows and columns added on each side.
        pad_value: value of the added border.

    Raises:
        ValueError: an empty table, rows of different lengths, or a repeated map in a row.

    Shape:
        x: (N, C_in, H, W) -> (N, len(table), H_out, W_out)

    Examples:
        >>> conv = MapConnections([(0, 1), (1, 2), (0, 2)], kernel_size=3)
        >>> conv.conv.weight.shape, conv(torch.zeros(1, 3, 5, 5)).shape
        (torch.Size([3, 2, 3, 3]), torch.Size([1, 3, 3, 3]))
    """

    def __init__(self, table: Sequence[Sequence[int]], kernel_size: int, stride: int = 1, padding: int = 0,
                 pad_value: float = 0.0):
        super().__init__()
        rows = [tuple(int(i) for i in row) for row in table]
        if not rows or len({len(row) for row in rows}) != 1 or not rows[0]:
            raise ValueError(f"MapConnections: table must have rows of one non-zero length, got {table!r}")
        if any(len(set(row)) != len(row) for row in rows):
            raise ValueError(f"MapConnections: a row of table names a map twice, got {table!r}")
        self.table = tuple(rows)
        self.index = [i for row in rows for i in row]
        self.padding, self.pad_value = padding, pad_value
        self.conv = nn.Conv2d(len(self.index), len(rows), kernel_size, stride=stride, groups=len(rows), bias=False)

    def forward(self, x):
        p = self.padding
        x = nn.functional.pad(x, (p, p, p, p), value=self.pad_value) if p else x
        return self.conv(x[:, self.index])          # (N, C_out * m, H, W) -> (N, C_out, H_out, W_out)

    def extra_repr(self) -> str:
        return f"table={len(self.table)}x{len(self.table[0])}, padding={self.padding}, pad_value={self.pad_value}"


class _Pad(nn.Module):
    """Constant padding on all four sides, as a layer."""

    def __init__(self, padding: int, value: float):
        super().__init__()
        self.padding, self.value = padding, value

    def forward(self, x):
        p = self.padding
        return nn.functional.pad(x, (p, p, p, p), value=self.value)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


def lenet1989(num_classes: int = 10, in_channels: int = 1) -> Network:
    """The zip-code network of LeCun et al. (1989) for 16x16 inputs: 9,760 parameters for 10 classes.

    Layers, named as in the paper: h1, 12 maps of 8x8 (5x5 kernels, stride 2, every unit its own
    bias); h2, 12 maps of 4x4 (5x5 kernels at stride 2 over 8 of h1's maps, own biases); h3, 30
    units fully connected to h2; output, ``num_classes`` units. The border is padded by 2
    with -1, the background of the paper's images (which lie in [-1, 1]).

    The paper does not say which 8 of the 12 maps each h2 map reads (only that there are 8);
    here map ``j`` reads maps ``j, j+1, ..., j+7`` (mod 12). The paper puts tanh on the output
    units and trains with a squared error against targets of +-1; here the output is linear, so
    it trains with cross-entropy like every model in ``cnnref.models``.

    Args:
        num_classes: number of output scores.
        in_channels: channels of the input image (1 for the paper's grey digits).

    Returns:
        A [`Network`][cnnref.models.network.Network] with ``input_size == (in_channels, 16, 16)``.

    Shape:
        x: (N, in_channels, 16, 16) -> (N, num_classes)

    Examples:
        >>> from cnnref.summary import count_parameters, output_shapes
        >>> net = lenet1989()
        >>> count_parameters(net)
        9760
        >>> shapes = output_shapes(net, names=("h", "output"))
        >>> shapes
        {'h1': (12, 8, 8), 'h2': (12, 4, 4), 'h3': (30,), 'output': (10,)}
        >>> fan_in = {"h1": net.h1.conv.weight[0].numel(), "h2": net.h2.conv.conv.weight[0].numel(),
        ...           "h3": net.h3.in_features, "output": net.output.in_features}
        >>> fan_in                                   # inputs of one unit
        {'h1': 25, 'h2': 200, 'h3': 192, 'output': 30}
        >>> units = 16 * 16 + sum(torch.Size(s).numel() for s in shapes.values())
        >>> connections = sum(torch.Size(shapes[n]).numel() * (k + 1) for n, k in fan_in.items())
        >>> units, connections                       # a unit's connections: its inputs and its bias
        (1256, 64660)
    """
    h2_table = [tuple((j + i) % 12 for i in range(8)) for j in range(12)]
    return Network("lenet1989", (in_channels, 16, 16), {
        "h1": nn.Sequential(OrderedDict(
            pad=_Pad(2, -1.0),                                                    # (N, C, 20, 20)
            conv=nn.Conv2d(in_channels, 12, 5, stride=2, bias=False),             # (N, 12, 8, 8)
            bias=UnitBias((12, 8, 8)))),
        "tanh1": nn.Tanh(),
        "h2": nn.Sequential(OrderedDict(
            conv=MapConnections(h2_table, 5, stride=2, padding=2, pad_value=-1.0),  # (N, 12, 4, 4)
            bias=UnitBias((12, 4, 4)))),
        "tanh2": nn.Tanh(),
        "flatten": nn.Flatten(),                                                  # (N, 192)
        "h3": nn.Linear(12 * 4 * 4, 30),
        "tanh3": nn.Tanh(),
        "output": nn.Linear(30, num_classes),                                     # (N, num_classes)
    })


def lenet5(num_classes: int = 10, in_channels: int = 1) -> Network:
    """LeNet-5 with full C3 connections, for 32x32 inputs: 61,706 parameters for 10 classes.

    Layers: c1 conv 6@5x5; s2 2x2 average pool; c3 conv 16@5x5; s4 2x2 average pool; c5 conv
    120@5x5 (its output is 1x1); f6 linear 84; output linear ``num_classes``; tanh after c1,
    c3, c5, f6. The output shapes for one image are in the example.

    Args:
        num_classes: number of output scores.
        in_channels: channels of the input image (1 for the paper's grey digits).

    Returns:
        A [`Network`][cnnref.models.network.Network] with ``input_size == (in_channels, 32, 32)``.

    Shape:
        x: (N, in_channels, 32, 32) -> (N, num_classes)

    Examples:
        >>> from cnnref.summary import output_shapes
        >>> net = lenet5()
        >>> net.input_size, sum(p.numel() for p in net.parameters())
        ((1, 32, 32), 61706)
        >>> output_shapes(net, names=("c", "s", "f6", "output"))
        {'c1': (6, 28, 28), 's2': (6, 14, 14), 'c3': (16, 10, 10), 's4': (16, 5, 5), 'c5': (120, 1, 1), 'f6': (84,), 'output': (10,)}
        >>> net(torch.zeros(2, 1, 32, 32)).shape
        torch.Size([2, 10])
    """
    return Network("lenet5", (in_channels, 32, 32), {
        "c1": nn.Conv2d(in_channels, 6, 5),       # (N, 6, 28, 28)
        "tanh1": nn.Tanh(),
        "s2": nn.AvgPool2d(2),                    # (N, 6, 14, 14)
        "c3": nn.Conv2d(6, 16, 5),                # (N, 16, 10, 10)
        "tanh3": nn.Tanh(),
        "s4": nn.AvgPool2d(2),                    # (N, 16, 5, 5)
        "c5": nn.Conv2d(16, 120, 5),              # (N, 120, 1, 1)
        "tanh5": nn.Tanh(),
        "flatten": nn.Flatten(),                  # (N, 120)
        "f6": nn.Linear(120, 84),                 # (N, 84)
        "tanh6": nn.Tanh(),
        "output": nn.Linear(84, num_classes),     # (N, num_classes)
    })


def caffe_lenet(num_classes: int = 10, in_channels: int = 1) -> Network:
    """The MNIST LeNet of Caffe's tutorial, for 28x28 inputs: 431,080 parameters for 10 classes.

    conv1 20@5x5; pool1 2x2 max; conv2 50@5x5; pool2 2x2 max; ip1 linear 500 + ReLU; ip2
    linear ``num_classes`` (shapes in the example). The layer names are Caffe's (``ip`` = inner
    product = fully connected); as in Caffe's model there is no nonlinearity after the
    convolutions.

    Its first layer is the ``Conv2d(1, 20, 5)`` whose ``(20,)`` bias and ``(20, 1, 5, 5)``
    weight appear in the notes' ``parameters()`` printout.

    Args:
        num_classes: number of output scores.
        in_channels: channels of the input image.

    Returns:
        A [`Network`][cnnref.models.network.Network] with ``input_size == (in_channels, 28, 28)``.

    Shape:
        x: (N, in_channels, 28, 28) -> (N, num_classes)

    Examples:
        >>> from cnnref.summary import output_shapes
        >>> net = caffe_lenet()
        >>> net.conv1
        Conv2d(1, 20, kernel_size=(5, 5), stride=(1, 1))
        >>> output_shapes(net, names=("conv", "pool", "ip"))
        {'conv1': (20, 24, 24), 'pool1': (20, 12, 12), 'conv2': (50, 8, 8), 'pool2': (50, 4, 4), 'ip1': (500,), 'ip2': (10,)}
        >>> sum(p.numel() for p in net.parameters())
        431080
    """
    return Network("caffe_lenet", (in_channels, 28, 28), {
        "conv1": nn.Conv2d(in_channels, 20, 5),   # (N, 20, 24, 24)
        "pool1": nn.MaxPool2d(2),                 # (N, 20, 12, 12)
        "conv2": nn.Conv2d(20, 50, 5),            # (N, 50, 8, 8)
        "pool2": nn.MaxPool2d(2),                 # (N, 50, 4, 4)
        "flatten": nn.Flatten(),                  # (N, 800)
        "ip1": nn.Linear(50 * 4 * 4, 500),        # (N, 500)
        "relu1": nn.ReLU(inplace=True),
        "ip2": nn.Linear(500, num_classes),       # (N, num_classes)
    })
