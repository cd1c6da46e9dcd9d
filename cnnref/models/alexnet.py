"""AlexNet (Krizhevsky, Sutskever & Hinton 2012) as described in the paper.

Five convolutional layers with 96-256-384-384-256 maps and three fully connected layers
(4096-4096-1000), ReLU after each, local response normalization after conv1 and conv2,
3x3 max pooling with stride 2 (overlapping pooling) after conv1, conv2 and conv5, and
dropout (p = 0.5) after fc6 and fc7. The paper says 224x224, but its 11x11 stride-4 first
layer only gives the 55x55 maps of its figure 2 from a 227x227 input:
(227 - 11) / 4 + 1 = 55, while 224 gives 54 (see the example).

The paper split the network over two GPUs: conv2, conv4 and conv5 saw only the maps on their
own GPU, which is a grouped convolution with ``groups=2``. ``groups=2`` reproduces that
(60,965,224 parameters); ``groups=1`` (the default) connects all maps (62,378,344); both
counts are printed in the example of [`alexnet`][cnnref.models.alexnet.alexnet].

Local response normalization, the paper's section 3.3:
``b = a / (k + alpha * sum of a^2 over n neighbouring maps)^beta`` with k = 2, n = 5,
alpha = 1e-4, beta = 0.75. ``torch.nn.LocalResponseNorm`` divides its ``alpha`` by ``n``,
so the paper's alpha is passed as ``alpha * n``.

Examples:
    >>> from cnnref.shapes import conv_output_size
    >>> conv_output_size(227, 11, stride=4), (227 - 11) // 4 + 1, conv_output_size(224, 11, stride=4)
    (55, 55, 54)
"""

from __future__ import annotations

from torch import nn

from cnnref.models.network import Network

__all__ = ["alexnet", "fc_head", "paper_lrn"]


def paper_lrn(size: int = 5, alpha: float = 1e-4, beta: float = 0.75, k: float = 2.0) -> nn.LocalResponseNorm:
    """Local response normalization with the constants as the AlexNet paper writes them.

    The paper's ``alpha`` multiplies the plain sum of squares; torch's divides it by ``size``
    first, so this returns ``nn.LocalResponseNorm(size, alpha * size, beta, k)``.

    Examples:
        >>> paper_lrn()
        LocalResponseNorm(5, alpha=0.0005, beta=0.75, k=2.0)
    """
    return nn.LocalResponseNorm(size, alpha=alpha * size, beta=beta, k=k)


def fc_head(in_features: int, num_classes: int, dropout: float = 0.5) -> dict[str, nn.Module]:
    """The classifier AlexNet, ZF Net and VGG share: flatten, fc6 and fc7 (4096 each, ReLU and
    dropout), fc8 with ``num_classes`` outputs; named as in Caffe's models.

    ``x: (N, C, H, W) with C*H*W = in_features -> (N, num_classes)``

    Examples:
        >>> list(fc_head(256 * 6 * 6, 10))
        ['flatten', 'fc6', 'relu6', 'drop6', 'fc7', 'relu7', 'drop7', 'fc8']
    """
    return {
        "flatten": nn.Flatten(),                      # (N, in_features)
        "fc6": nn.Linear(in_features, 4096),
        "relu6": nn.ReLU(inplace=True),
        "drop6": nn.Dropout(dropout),
        "fc7": nn.Linear(4096, 4096),
        "relu7": nn.ReLU(inplace=True),
        "drop7": nn.Dropout(dropout),
        "fc8": nn.Linear(4096, num_classes),
    }


def alexnet(num_classes: int = 1000, in_channels: int = 3, groups: int = 1, dropout: float = 0.5) -> Network:
    """AlexNet for 227x227 inputs, with the children named as in Caffe's model.

    Children: conv1, relu1, norm1, pool1, conv2, relu2, norm2, pool2, conv3, relu3, conv4,
    relu4, conv5, relu5, pool5, flatten, fc6, relu6, drop6, fc7, relu7, drop7, fc8. The
    output shape of each convolution, pooling and fully connected layer for one image is in
    the example.

    Args:
        num_classes: number of output scores (1000 for ImageNet).
        in_channels: channels of the input image.
        groups: 1 for a single-device network, 2 for the paper's two-GPU split of conv2,
            conv4 and conv5.
        dropout: dropout probability after fc6 and fc7.

    Returns:
        A [`Network`][cnnref.models.network.Network] with ``input_size == (in_channels, 227, 227)``.

    Raises:
        ValueError: ``groups`` is not 1 or 2.

    Shape:
        x: (N, in_channels, 227, 227) -> (N, num_classes)

    Examples:
        >>> import torch
        >>> from cnnref.summary import output_shapes
        >>> with torch.device("meta"):             # shapes only, no memory: counting is instant
        ...     net, two_gpus = alexnet(), alexnet(groups=2)
        >>> sum(p.numel() for p in net.parameters()), net.input_size
        (62378344, (3, 227, 227))
        >>> sum(p.numel() for p in two_gpus.parameters())
        60965224
        >>> output_shapes(net, names=("conv", "pool", "fc"))
        {'conv1': (96, 55, 55), 'pool1': (96, 27, 27), 'conv2': (256, 27, 27), 'pool2': (256, 13, 13), 'conv3': (384, 13, 13), 'conv4': (384, 13, 13), 'conv5': (256, 13, 13), 'pool5': (256, 6, 6), 'fc6': (4096,), 'fc7': (4096,), 'fc8': (1000,)}
    """
    if groups not in (1, 2):
        raise ValueError(f"alexnet: groups must be 1 or 2 (the paper's two GPUs), got {groups!r}")
    return Network("alexnet", (in_channels, 227, 227), {
        "conv1": nn.Conv2d(in_channels, 96, 11, stride=4),            # (N, 96, 55, 55)
        "relu1": nn.ReLU(inplace=True),
        "norm1": paper_lrn(),
        "pool1": nn.MaxPool2d(3, stride=2),                           # (N, 96, 27, 27)
        "conv2": nn.Conv2d(96, 256, 5, padding=2, groups=groups),     # (N, 256, 27, 27)
        "relu2": nn.ReLU(inplace=True),
        "norm2": paper_lrn(),
        "pool2": nn.MaxPool2d(3, stride=2),                           # (N, 256, 13, 13)
        "conv3": nn.Conv2d(256, 384, 3, padding=1),                   # (N, 384, 13, 13)
        "relu3": nn.ReLU(inplace=True),
        "conv4": nn.Conv2d(384, 384, 3, padding=1, groups=groups),    # (N, 384, 13, 13)
        "relu4": nn.ReLU(inplace=True),
        "conv5": nn.Conv2d(384, 256, 3, padding=1, groups=groups),    # (N, 256, 13, 13)
        "relu5": nn.ReLU(inplace=True),
        "pool5": nn.MaxPool2d(3, stride=2),                           # (N, 256, 6, 6)
        **fc_head(256 * 6 * 6, num_classes, dropout),                 # (N, 9216) -> (N, num_classes)
    })
