"""NumPy twins of ``torch.nn.functional``: same names, arguments, defaults, shapes and numbers.

- Convolution (in `cnnref._conv`, `cnnref._conv_transpose`): `conv1d`, `conv2d`,
  `conv_transpose1d`, `conv_transpose2d`, `unfold` (im2col), `fold` (col2im), the loop
  versions `conv2d_loop`, `conv_transpose2d_loop`, and the gradients `conv1d_backward`,
  `conv2d_backward`, `conv_transpose2d_backward`. `conv2d` also computes by shifts, Winograd
  or the FFT (``algorithm=``; the kernels are in `cnnref.conv_algorithms`).
- Pooling (in `cnnref._pool`): `max_pool1d`, `max_pool2d`, `avg_pool1d`, `avg_pool2d`,
  the loop versions `max_pool2d_loop`, `avg_pool2d_loop`, and the gradients
  `max_pool2d_backward`, `avg_pool2d_backward`.
- Padding and the linear layer (`cnnref._pad`, `cnnref._linear`): `pad`, `linear`, and their
  gradients `pad_backward`, `linear_backward`.
- Activations (`cnnref._activations`): `relu`, `leaky_relu`, `sigmoid`, `tanh`, their
  gradients, `softmax`, `log_softmax`.
- Losses (`cnnref._losses`): `cross_entropy`, `mse_loss` and their gradients.
- Normalization and regularisation (`cnnref._norm`, `cnnref._dropout`): `batch_norm`,
  `batch_norm_backward`, `dropout`, `dropout2d`, `dropout_backward`.
- Adaptive pooling (`cnnref._adaptive_pool`): `adaptive_avg_pool2d` (global average pooling at
  output size 1), its loop version `adaptive_avg_pool2d_loop` and `adaptive_avg_pool2d_backward`.

Layout is NCHW as in torch; an unbatched input (no N) works where torch accepts one, and so
does an empty batch (N = 0). Inputs must be floating-point arrays (an integer array is a
``TypeError``); the output has the input's dtype, so float32 stays float32. float16 is computed
as torch computes it on the CPU: in float32, rounded to float16 once, so long sums neither
overflow nor stall (where torch's own kernel adds in float16, as in `fold`, the pooling
gradients and the sum of `cross_entropy`, so do these). NaN and infinities flow through as in
torch, without warnings. The ``*_backward`` functions are not in torch (autograd computes them
there): each takes the gradient of the output and what the forward call took (or gave), and
returns the gradients of the inputs; the layers of `cnnref.nn` are a forward and a backward
from here. The loops behind the ``*_loop`` functions are in `cnnref.loops`.
"""

from cnnref._adaptive_pool import adaptive_avg_pool2d, adaptive_avg_pool2d_backward, adaptive_avg_pool2d_loop
from cnnref._activations import (leaky_relu, leaky_relu_backward, log_softmax, relu, relu_backward, sigmoid,
                                 sigmoid_backward, softmax, tanh, tanh_backward)
from cnnref._conv import conv1d, conv1d_backward, conv2d, conv2d_backward, conv2d_loop, fold, unfold
from cnnref._conv_transpose import (conv_transpose1d, conv_transpose2d, conv_transpose2d_backward,
                                    conv_transpose2d_loop)
from cnnref._dropout import dropout, dropout2d, dropout_backward
from cnnref._linear import linear, linear_backward
from cnnref._losses import cross_entropy, cross_entropy_backward, mse_loss, mse_loss_backward
from cnnref._norm import batch_norm, batch_norm_backward
from cnnref._pad import PAD_MODES, pad, pad_backward   # PAD_MODES: the modes pad takes, for callers to list
from cnnref._pool import (avg_pool1d, avg_pool2d, avg_pool2d_backward, avg_pool2d_loop, max_pool1d, max_pool2d,
                          max_pool2d_backward, max_pool2d_loop)

__all__ = [
    "conv1d", "conv1d_backward", "conv2d", "conv2d_loop", "conv2d_backward",
    "conv_transpose1d", "conv_transpose2d", "conv_transpose2d_loop", "conv_transpose2d_backward",
    "unfold", "fold",
    "max_pool1d", "max_pool2d", "max_pool2d_loop", "max_pool2d_backward",
    "avg_pool1d", "avg_pool2d", "avg_pool2d_loop", "avg_pool2d_backward",
    "pad", "pad_backward", "linear", "linear_backward",
    "relu", "relu_backward", "leaky_relu", "leaky_relu_backward", "sigmoid", "sigmoid_backward",
    "tanh", "tanh_backward", "softmax", "log_softmax",
    "cross_entropy", "cross_entropy_backward", "mse_loss", "mse_loss_backward",
    "batch_norm", "batch_norm_backward", "dropout", "dropout2d", "dropout_backward",
    "adaptive_avg_pool2d", "adaptive_avg_pool2d_loop", "adaptive_avg_pool2d_backward",
]
