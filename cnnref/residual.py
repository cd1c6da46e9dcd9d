"""A residual block in NumPy (He et al. 2015), forward and backward, the twin of
`cnnref.models.resnet.BasicBlock` and of torchvision's block of the same name.

    out = relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))

Both convolutions are 3x3 without bias (the batch normalization after each has its own shift);
the first one carries the stride. The shortcut is the identity when the shape stays, otherwise
a 1x1 convolution with that stride followed by batch normalization (the paper's "option B"
projection), registered as ``downsample`` so that the ``state_dict`` keys are torchvision's
(``conv1.weight``, ``bn1.running_mean``, ``downsample.0.weight``, ``downsample.1.weight`` ...).

The backward pass is the chain rule through both branches: the gradient that reaches the sum
goes unchanged into each, and the two gradients that come back at ``x`` add up. The identity
branch hands its gradient straight back, which is why a deep stack of these blocks still trains.
"""

from __future__ import annotations

import numpy as np

from cnnref import _args
from cnnref._args import ArrayLike, DTypeLike
from cnnref._conv_layers import Conv2d
from cnnref._module import Module
from cnnref._norm import BatchNorm2d
from cnnref.nn import ReLU, Sequential

__all__ = ["BasicBlock"]


class BasicBlock(Module):
    """Two 3x3 convolutions with batch normalization and a shortcut, as torchvision's ``BasicBlock``.

    Shapes: ``input: (N, in_planes, H, W) -> (N, planes, H_out, W_out)`` with
    ``H_out = floor((H - 1) / stride) + 1``.

    Args:
        in_planes: input channels.
        planes: output channels of both convolutions.
        stride: stride of the first convolution (and of the projection).
        projection: use a 1x1 convolution + batch normalization on the shortcut; None means
            "when the shape changes" (``stride != 1`` or ``in_planes != planes``), as ResNet does.
        dtype: parameter dtype, float32 by default.

    Raises:
        ValueError: ``projection=False`` where the shape changes (the identity cannot be added).

    Examples:
        >>> block = BasicBlock(4, 8, stride=2, dtype=np.float64)
        >>> x = np.random.default_rng(0).standard_normal((2, 4, 6, 6))
        >>> out = block(x)
        >>> out.shape, block.backward(np.ones_like(out)).shape
        ((2, 8, 3, 3), (2, 4, 6, 6))
        >>> [k for k in block.state_dict() if k.startswith("downsample")][:2]
        ['downsample.0.weight', 'downsample.1.weight']
    """

    def __init__(self, in_planes: int, planes: int, stride: int = 1, projection: bool | None = None,
                 dtype: DTypeLike | None = None) -> None:
        super().__init__()
        stride = _args.integer("BasicBlock", "stride", stride)
        changes = stride != 1 or in_planes != planes
        if projection is None:
            projection = changes
        if changes and not projection:
            raise ValueError(f"BasicBlock: projection=False needs stride 1 and in_planes == planes (identity "
                             f"shortcut), got stride={stride}, in_planes={in_planes}, planes={planes}")
        self.conv1 = Conv2d(in_planes, planes, 3, stride=stride, padding=1, bias=False, dtype=dtype)
        self.bn1 = BatchNorm2d(planes, dtype=dtype)
        self.relu = ReLU()
        self.conv2 = Conv2d(planes, planes, 3, padding=1, bias=False, dtype=dtype)
        self.bn2 = BatchNorm2d(planes, dtype=dtype)
        self.downsample = (Sequential(Conv2d(in_planes, planes, 1, stride=stride, bias=False, dtype=dtype),
                                      BatchNorm2d(planes, dtype=dtype)) if projection else None)
        self.relu_out = ReLU()                  # a module of its own: it keeps its own output for backward

    def forward(self, input: ArrayLike):
        x = _args.array("BasicBlock", "input", input)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        shortcut = x if self.downsample is None else self.downsample(x)
        return self.relu_out(out + shortcut)

    def backward(self, grad_output: ArrayLike):
        g = self.relu_out.backward(grad_output)          # d loss / d (main + shortcut), into both branches
        main = g
        for layer in (self.bn2, self.conv2, self.relu, self.bn1, self.conv1):   # the main branch, in reverse
            main = layer.backward(main)
        shortcut = g if self.downsample is None else self.downsample.backward(g)
        return main + shortcut                            # both branches read x: their gradients add

    def reset_parameters(self, generator: np.random.Generator | None = None) -> None:
        """Redraw every convolution and reset every batch normalization (torch's defaults)."""
        for module in self.modules():
            if module is not self:
                module.reset_parameters(generator)
