"""ZF Net (Zeiler & Fergus 2013, "Visualizing and Understanding Convolutional Networks").

AlexNet changed where the paper's visualizations showed problems: the first layer uses
7x7 filters with stride 2 instead of 11x11 with stride 4 (fewer dead filters, less aliasing
in the second layer's maps), and the network runs on one GPU, so no layer is split into
groups. Their figure 3 gives the sizes from a 224x224 input: 110 after layer 1, 55 after its
pooling, 26 after layer 2, 13 after its pooling, 13 for layers 3-5 and 6 after the last
pooling. Those sizes need a padding of 1 on the first layer and pooling that rounds up
(``ceil_mode=True``, as in Caffe), which is what this builder uses; the example of
[`zfnet`][cnnref.models.zfnet.zfnet] prints them. Their "contrast
normalization across feature maps" is the same local response normalization as AlexNet's.
"""

from __future__ import annotations

from torch import nn

from cnnref.models.alexnet import fc_head, paper_lrn
from cnnref.models.network import Network

__all__ = ["zfnet"]


def zfnet(num_classes: int = 1000, in_channels: int = 3, dropout: float = 0.5) -> Network:
    """ZF Net for 224x224 inputs: 62,357,608 parameters for 1000 classes.

    Children are named like AlexNet's (conv1 ... conv5, fc6 ... fc8); the example prints the
    output shape of each convolution and pooling for one image.

    Args:
        num_classes: number of output scores.
        in_channels: channels of the input image.
        dropout: dropout probability after fc6 and fc7.

    Returns:
        A [`Network`][cnnref.models.network.Network] with ``input_size == (in_channels, 224, 224)``.

    Shape:
        x: (N, in_channels, 224, 224) -> (N, num_classes)

    Examples:
        >>> import torch
        >>> from cnnref.summary import output_shapes
        >>> with torch.device("meta"):             # shapes only, no memory: counting is instant
        ...     net = zfnet()
        >>> net.conv1
        Conv2d(3, 96, kernel_size=(7, 7), stride=(2, 2), padding=(1, 1))
        >>> sum(p.numel() for p in net.parameters())
        62357608
        >>> output_shapes(net, names=("conv", "pool"))
        {'conv1': (96, 110, 110), 'pool1': (96, 55, 55), 'conv2': (256, 26, 26), 'pool2': (256, 13, 13), 'conv3': (384, 13, 13), 'conv4': (384, 13, 13), 'conv5': (256, 13, 13), 'pool5': (256, 6, 6)}
    """
    return Network("zfnet", (in_channels, 224, 224), {
        "conv1": nn.Conv2d(in_channels, 96, 7, stride=2, padding=1),  # (N, 96, 110, 110)
        "relu1": nn.ReLU(inplace=True),
        "pool1": nn.MaxPool2d(3, stride=2, ceil_mode=True),           # (N, 96, 55, 55)
        "norm1": paper_lrn(),
        "conv2": nn.Conv2d(96, 256, 5, stride=2),                     # (N, 256, 26, 26)
        "relu2": nn.ReLU(inplace=True),
        "pool2": nn.MaxPool2d(3, stride=2, ceil_mode=True),           # (N, 256, 13, 13)
        "norm2": paper_lrn(),
        "conv3": nn.Conv2d(256, 384, 3, padding=1),                   # (N, 384, 13, 13)
        "relu3": nn.ReLU(inplace=True),
        "conv4": nn.Conv2d(384, 384, 3, padding=1),                   # (N, 384, 13, 13)
        "relu4": nn.ReLU(inplace=True),
        "conv5": nn.Conv2d(384, 256, 3, padding=1),                   # (N, 256, 13, 13)
        "relu5": nn.ReLU(inplace=True),
        "pool5": nn.MaxPool2d(3, stride=2, ceil_mode=True),           # (N, 256, 6, 6)
        **fc_head(256 * 6 * 6, num_classes, dropout),                 # (N, 9216) -> (N, num_classes)
    })
