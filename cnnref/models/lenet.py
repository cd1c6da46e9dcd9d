"""LeNet-5 (LeCun et al. 1998) and the MNIST LeNet of Caffe's tutorial.

LeNet-5, as in "Gradient-based learning applied to document recognition" (1998), with the
paper's layer names (C1, S2, C3, S4, C5, F6, OUTPUT). Two details of the original are
replaced by what almost every modern reimplementation uses:

- C3 in the paper connects each of its 16 maps to only some of S2's 6 maps (a fixed
  connection table of 60 links, 1,516 parameters); here every C3 map sees all 6 maps
  (2,416 parameters).
- The paper's S2/S4 subsampling layers have a trainable coefficient and bias per map and its
  output layer is 10 Euclidean RBF units with fixed weights; here S2/S4 are plain 2x2 average
  pooling and the output layer is a linear layer (the scores go to a softmax / cross-entropy).

The activation is tanh, as in the paper (which scales it: 1.7159 tanh(2a/3)).
"""

from __future__ import annotations

from torch import nn

from cnnref.models.network import Network

__all__ = ["lenet5", "caffe_lenet"]


def lenet5(num_classes: int = 10, in_channels: int = 1) -> Network:
    """LeNet-5 with full C3 connections, for 32x32 inputs: 61,706 parameters for 10 classes.

    Layers (output shape for one image): c1 conv 6@5x5 -> (6, 28, 28); s2 2x2 average pool
    -> (6, 14, 14); c3 conv 16@5x5 -> (16, 10, 10); s4 -> (16, 5, 5); c5 conv 120@5x5 ->
    (120, 1, 1); f6 linear 84; output linear ``num_classes``; tanh after c1, c3, c5, f6.

    Args:
        num_classes: number of output scores.
        in_channels: channels of the input image (1 for the paper's grey digits).

    Returns:
        A [`Network`][cnnref.models.network.Network] with ``input_size == (in_channels, 32, 32)``.

    Shape:
        x: (N, in_channels, 32, 32) -> (N, num_classes)

    Examples:
        >>> import torch
        >>> net = lenet5()
        >>> net.input_size, sum(p.numel() for p in net.parameters())
        ((1, 32, 32), 61706)
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

    conv1 20@5x5 -> (20, 24, 24); pool1 2x2 max -> (20, 12, 12); conv2 50@5x5 -> (50, 8, 8);
    pool2 -> (50, 4, 4); ip1 linear 500 + ReLU; ip2 linear ``num_classes``. The layer names
    are Caffe's (``ip`` = inner product = fully connected); as in Caffe's model there is no
    nonlinearity after the convolutions.

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
        >>> net = caffe_lenet()
        >>> net.conv1
        Conv2d(1, 20, kernel_size=(5, 5), stride=(1, 1))
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
