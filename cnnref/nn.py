"""NumPy twins of ``torch.nn`` layers, each with a forward and a hand-written backward pass.

A module's ``forward(x)`` (also ``module(x)``) keeps what its backward pass needs;
``backward(grad_output)`` returns the gradient with respect to the input and *adds* the
gradients of the parameters to their ``.grad`` (as torch's autograd accumulates them), so::

    out = model(x)                      # forward
    loss = loss_fn(out, y)
    model.zero_grad()
    model.backward(loss_fn.backward())  # d loss / d out, back through every layer

Constructors take torch's arguments with torch's defaults, parameters have torch's shapes
and names, and `Module.state_dict` / `Module.load_state_dict` use torch's keys (``'0.weight'``
inside a `Sequential`), so a torch module's ``state_dict()`` loads as is, and ours loads into
torch after ``torch.from_numpy``.

Initialisation is torch's default (``kaiming_uniform_(a=sqrt(5))``: weights and biases
uniform in ``±1/sqrt(fan_in)``), drawn from a module-level NumPy generator; `manual_seed`
resets it (as ``torch.manual_seed`` does for torch) and ``reset_parameters(generator)``
redraws one layer from a generator of your own. The numbers differ from torch's, which uses
its own generator: load a torch ``state_dict`` to get the same weights.

Parameters are float32 unless a constructor gets ``dtype=np.float64``; convert a whole model
with `Module.double` / `Module.float`. As in torch, an input must have the parameters' dtype.

`Parameter`, `Module` and `manual_seed` live in `cnnref._module` and are re-exported here.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from typing import Iterator

import numpy as np

from cnnref import _args, _module, shapes
from cnnref import functional as F
from cnnref._args import ArrayLike, DTypeLike, IntOrTuple
from cnnref._module import IncompatibleKeys, Module, Parameter, _dtype, _kaiming_bound, manual_seed

__all__ = [
    "manual_seed", "Parameter", "Module", "IncompatibleKeys",
    "Conv1d", "Conv2d", "ConvTranspose2d", "MaxPool2d", "AvgPool2d",
    "Linear", "ReLU", "LeakyReLU", "Sigmoid", "Tanh", "Flatten", "Sequential", "CrossEntropyLoss", "MSELoss",
]


# ----------------------------------------------------------------------------- convolution
class _ConvNd(Module):
    _nd = 2
    _transposed = False

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                 padding_mode, dtype, output_padding=0):
        super().__init__()
        name, nd = type(self).__name__, self._nd
        in_channels = _args.integer(name, "in_channels", in_channels)
        out_channels = _args.integer(name, "out_channels", out_channels)
        groups = _args.integer(name, "groups", groups)
        if groups < 1:
            raise ValueError(f"{name}: groups must be a positive integer, got {groups}")
        if in_channels < 1 or out_channels < 1:
            raise ValueError(f"{name}: in_channels and out_channels must be positive, "
                             f"got {in_channels}, {out_channels}")
        if in_channels % groups:
            raise ValueError(f"{name}: in_channels={in_channels} must be divisible by groups={groups}")
        if out_channels % groups:
            raise ValueError(f"{name}: out_channels={out_channels} must be divisible by groups={groups}")
        _args.choice(name, "padding_mode", padding_mode, ("zeros", "reflect", "replicate", "circular"))
        if self._transposed and padding_mode != "zeros":
            raise ValueError(f"{name}: only padding_mode='zeros' is supported, got {padding_mode!r}")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = _args.positive(name, "kernel_size", kernel_size, nd)
        self.stride = _args.positive(name, "stride", stride, nd)
        self.dilation = _args.positive(name, "dilation", dilation, nd)
        self.output_padding = _args.non_negative(name, "output_padding", output_padding, nd)
        if isinstance(padding, str):
            if self._transposed:
                raise TypeError(f"{name}: padding must be an int or a tuple of {nd} ints, got {padding!r}")
            _args.choice(name, "padding", padding, ("same", "valid"))
            if padding == "same" and any(s != 1 for s in self.stride):
                raise ValueError(f"{name}: padding='same' is not supported for strided convolutions "
                                 f"(stride={self.stride})")
            self.padding = padding
            pads = _args.conv_padding(name, padding, (1,) * nd, self.kernel_size, self.stride, self.dilation)
        else:
            self.padding = _args.non_negative(name, "padding", padding, nd)
            pads = tuple((p, p) for p in self.padding)
        self.padding_mode = padding_mode
        # torch's F.pad order for padding_mode != 'zeros': last dim first, (before, after) each
        self._reversed_padding_repeated_twice = tuple(v for pair in reversed(pads) for v in pair)
        dtype = _dtype(dtype)
        shape = ((in_channels, out_channels // groups) if self._transposed
                 else (out_channels, in_channels // groups)) + self.kernel_size
        self.weight = Parameter(np.zeros(shape, dtype))
        self.bias = Parameter(np.zeros(out_channels, dtype)) if bias else None
        self.reset_parameters()

    def reset_parameters(self, generator: np.random.Generator | None = None) -> None:
        """Draw weight and bias uniformly in ``±1/sqrt(fan_in)`` (torch's default), with
        ``fan_in = weight.shape[1] * prod(kernel_size)``, from ``generator`` or the module-level one."""
        rng = _module._generator if generator is None else generator
        fan_in = self.weight.shape[1] * math.prod(self.kernel_size)
        bound = _kaiming_bound(fan_in)
        self.weight.data = rng.uniform(-bound, bound, self.weight.shape).astype(self.weight.dtype)
        if self.bias is not None:
            self.bias.data = rng.uniform(-bound, bound, self.bias.shape).astype(self.bias.dtype)

    def _check_conv_input(self, input):
        """The layer's own check: dims and in_channels, named as the layer (e.g. ``Conv2d: input ...``)."""
        name, nd = type(self).__name__, self._nd
        x = self._check_input(input, self.weight)
        sp = "L" if nd == 1 else "H, W"
        _args.ndim(name, "input", x, {nd + 1: f"(C_in, {sp})", nd + 2: f"(N, C_in, {sp})"})
        if x.shape[-nd - 1] != self.in_channels:
            raise ValueError(f"{name}: input has shape {x.shape} with {x.shape[-nd - 1]} channels, expected "
                             f"in_channels={self.in_channels}: (N, {self.in_channels}, {sp})")
        return x

    def _conv_padding(self):
        return 0 if self.padding_mode != "zeros" else self.padding

    def extra_repr(self) -> str:
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0,) * self._nd:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * self._nd:
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * self._nd:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


class _Conv(_ConvNd):
    """Conv1d / Conv2d: forward through `F.conv1d/2d`, backward through `F.conv1d/2d_backward`."""

    def forward(self, input: ArrayLike):
        x = self._check_conv_input(input)
        self._input_shape = x.shape
        if self.padding_mode != "zeros":        # pad first, then convolve without padding
            x = F.pad(x, self._reversed_padding_repeated_twice, mode=self.padding_mode)
        self._input = x
        conv = F.conv1d if self._nd == 1 else F.conv2d
        bias = None if self.bias is None else self.bias.data
        return conv(x, self.weight.data, bias, self.stride, self._conv_padding(), self.dilation, self.groups)

    def backward(self, grad_output: ArrayLike):
        x = self._saved("_input")
        backward = F.conv1d_backward if self._nd == 1 else F.conv2d_backward
        gx, gw, gb = backward(grad_output, x, self.weight.data, self.stride, self._conv_padding(),
                              self.dilation, self.groups)
        self.weight.accumulate(gw)
        if self.bias is not None:
            self.bias.accumulate(gb)
        if self.padding_mode != "zeros":        # padded copies send their gradient to the original
            gx = F.pad_backward(gx, self._input_shape, self._reversed_padding_repeated_twice, self.padding_mode)
        return gx


class Conv2d(_Conv):
    """2-d convolution layer, as ``torch.nn.Conv2d``: `cnnref.functional.conv2d` with learnt weights.

    Shapes: ``input: (N, C_in, H, W) -> (N, C_out, H_out, W_out)`` (or unbatched),
    ``weight: (C_out, C_in/groups, kH, kW)``, ``bias: (C_out,)``.

    Args:
        in_channels: ``C_in``.
        out_channels: ``C_out``, the number of filters.
        kernel_size: ``(kH, kW)`` or an int.
        stride: step of the window.
        padding: int, tuple, ``"same"`` or ``"valid"``.
        dilation: spacing between kernel elements.
        groups: number of channel groups.
        bias: learn a bias per output channel.
        padding_mode: ``'zeros'``, ``'reflect'``, ``'replicate'`` or ``'circular'`` (see `cnnref.functional.pad`).
        device: accepted for torch parity; NumPy runs on the CPU.
        dtype: parameter dtype, float32 by default.

    Raises:
        ValueError: channels not divisible by groups, bad sizes, or an unknown padding mode.

    Examples:
        >>> conv = Conv2d(1, 8, (2, 3))
        >>> conv
        Conv2d(1, 8, kernel_size=(2, 3), stride=(1, 1))
        >>> conv(np.zeros((2, 1, 7, 3), np.float32)).shape
        (2, 8, 6, 1)
    """

    _nd = 2

    def __init__(self, in_channels: int, out_channels: int, kernel_size: IntOrTuple, stride: IntOrTuple = 1,
                 padding: IntOrTuple | str = 0, dilation: IntOrTuple = 1, groups: int = 1, bias: bool = True,
                 padding_mode: str = "zeros", device: str | None = None, dtype: DTypeLike | None = None) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, dtype)


class Conv1d(_Conv):
    """1-d convolution layer, as ``torch.nn.Conv1d``.

    Shapes: ``input: (N, C_in, L) -> (N, C_out, L_out)`` (or unbatched),
    ``weight: (C_out, C_in/groups, kL)``.

    Args:
        in_channels: ``C_in``.
        out_channels: ``C_out``.
        kernel_size: ``kL``.
        stride: step of the window.
        padding: int, ``"same"`` or ``"valid"``.
        dilation: spacing between kernel elements.
        groups: number of channel groups.
        bias: learn a bias per output channel.
        padding_mode: ``'zeros'``, ``'reflect'``, ``'replicate'`` or ``'circular'``.
        device: accepted for torch parity.
        dtype: parameter dtype, float32 by default.

    Examples:
        >>> Conv1d(4, 2, 3, padding="same")(np.ones((5, 4, 10), np.float32)).shape
        (5, 2, 10)
    """

    _nd = 1

    def __init__(self, in_channels: int, out_channels: int, kernel_size: IntOrTuple, stride: IntOrTuple = 1,
                 padding: IntOrTuple | str = 0, dilation: IntOrTuple = 1, groups: int = 1, bias: bool = True,
                 padding_mode: str = "zeros", device: str | None = None, dtype: DTypeLike | None = None) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, dtype)


class ConvTranspose2d(_ConvNd):
    """2-d transposed convolution layer, as ``torch.nn.ConvTranspose2d``.

    Shapes: ``input: (N, C_in, H, W) -> (N, C_out, H_out, W_out)``,
    ``weight: (C_in, C_out/groups, kH, kW)`` (note the order), ``bias: (C_out,)``.

    Args:
        in_channels: ``C_in``.
        out_channels: ``C_out``.
        kernel_size: ``(kH, kW)`` or an int.
        stride: stride of the convolution this one transposes.
        padding: that convolution's padding.
        output_padding: extra rows/columns at the bottom/right.
        groups: number of channel groups.
        bias: learn a bias per output channel.
        dilation: spacing between kernel elements.
        padding_mode: only ``'zeros'``, as in torch.
        device: accepted for torch parity.
        dtype: parameter dtype, float32 by default.

    Examples:
        >>> up = ConvTranspose2d(8, 4, 3, stride=2, padding=1, output_padding=1)
        >>> up(np.zeros((1, 8, 16, 16), np.float32)).shape
        (1, 4, 32, 32)
    """

    _transposed = True

    def __init__(self, in_channels: int, out_channels: int, kernel_size: IntOrTuple, stride: IntOrTuple = 1,
                 padding: IntOrTuple = 0, output_padding: IntOrTuple = 0, groups: int = 1, bias: bool = True,
                 dilation: IntOrTuple = 1, padding_mode: str = "zeros", device: str | None = None,
                 dtype: DTypeLike | None = None) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, dtype, output_padding)

    def _output_padding(self, x, output_size):
        """torch's rule: ``output_size`` picks the output_padding (0 to stride - 1) that gives that size."""
        if output_size is None:
            return self.output_padding
        size = tuple(output_size)[-2:]
        smallest = _args.output_size("ConvTranspose2d", shapes.conv_transpose_output_size, x.shape[-2:],
                                     self.kernel_size, self.stride, self.padding, 0, self.dilation)
        extra = tuple(o - s for o, s in zip(size, smallest))
        if len(size) != 2 or any(e < 0 or e >= s for e, s in zip(extra, self.stride)):
            largest = tuple(s + t - 1 for s, t in zip(smallest, self.stride))
            raise ValueError(f"ConvTranspose2d: output_size {tuple(output_size)} is not reachable: expected sizes "
                             f"from {smallest} to {largest} for an input of size {x.shape[-2:]}")
        return extra

    def forward(self, input: ArrayLike, output_size: IntOrTuple | None = None):
        x = self._check_conv_input(input)
        self._input = x
        self._used_output_padding = self._output_padding(x, output_size)
        bias = None if self.bias is None else self.bias.data
        return F.conv_transpose2d(x, self.weight.data, bias, self.stride, self.padding, self._used_output_padding,
                                  self.groups, self.dilation)

    def backward(self, grad_output: ArrayLike):
        x = self._saved("_input")
        gx, gw, gb = F.conv_transpose2d_backward(grad_output, x, self.weight.data, self.stride, self.padding,
                                                 self._used_output_padding, self.groups, self.dilation)
        self.weight.accumulate(gw)
        if self.bias is not None:
            self.bias.accumulate(gb)
        return gx


# ----------------------------------------------------------------------------- pooling
class MaxPool2d(Module):
    """2-d max pooling layer, as ``torch.nn.MaxPool2d``; no parameters.

    Shapes: ``input: (N, C, H, W) -> (N, C, H_out, W_out)`` (or unbatched).
    The backward pass sends each output's gradient to the input that won its window.

    Args:
        kernel_size: window size.
        stride: step of the window; None means ``kernel_size``.
        padding: ``-inf`` padding on each side.
        dilation: spacing between window elements.
        return_indices: forward returns ``(output, indices)``.
        ceil_mode: round the output size up.

    Examples:
        >>> pool = MaxPool2d(2)
        >>> pool(np.arange(16.0).reshape(1, 1, 4, 4))
        array([[[[ 5.,  7.],
                 [13., 15.]]]])
        >>> pool.backward(np.ones((1, 1, 2, 2)))[0, 0]
        array([[0., 0., 0., 0.],
               [0., 1., 0., 1.],
               [0., 0., 0., 0.],
               [0., 1., 0., 1.]])
    """

    def __init__(self, kernel_size: IntOrTuple, stride: IntOrTuple | None = None, padding: IntOrTuple = 0,
                 dilation: IntOrTuple = 1, return_indices: bool = False, ceil_mode: bool = False) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding, self.dilation = padding, dilation
        self.return_indices, self.ceil_mode = return_indices, ceil_mode

    def forward(self, input: ArrayLike):
        out, idx = F.max_pool2d(input, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode,
                                return_indices=True)
        self._indices, self._input_shape = idx, np.shape(input)
        return (out, idx) if self.return_indices else out

    def backward(self, grad_output: ArrayLike):
        return F.max_pool2d_backward(grad_output, self._saved("_indices"), self._input_shape)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class AvgPool2d(Module):
    """2-d average pooling layer, as ``torch.nn.AvgPool2d``; no parameters.

    Shapes: ``input: (N, C, H, W) -> (N, C, H_out, W_out)`` (or unbatched). Divisor rules as
    in `cnnref.functional.avg_pool2d`.

    Args:
        kernel_size: window size.
        stride: step of the window; None means ``kernel_size``.
        padding: zero padding on each side.
        ceil_mode: round the output size up.
        count_include_pad: count the padding in the divisor.
        divisor_override: divide by this instead.

    Examples:
        >>> AvgPool2d(2)(np.arange(16.0).reshape(1, 1, 4, 4))
        array([[[[ 2.5,  4.5],
                 [10.5, 12.5]]]])
    """

    def __init__(self, kernel_size: IntOrTuple, stride: IntOrTuple | None = None, padding: IntOrTuple = 0,
                 ceil_mode: bool = False, count_include_pad: bool = True, divisor_override: int | None = None) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding, self.ceil_mode = padding, ceil_mode
        self.count_include_pad, self.divisor_override = count_include_pad, divisor_override

    def _args(self):
        return (self.kernel_size, self.stride, self.padding, self.ceil_mode, self.count_include_pad,
                self.divisor_override)

    def forward(self, input: ArrayLike):
        out = F.avg_pool2d(input, *self._args())
        self._input_shape = np.shape(input)
        return out

    def backward(self, grad_output: ArrayLike):
        return F.avg_pool2d_backward(grad_output, self._saved("_input_shape"), *self._args())

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


# ----------------------------------------------------------------------------- linear and activations
class Linear(Module):
    """Fully connected layer ``y = x A^T + b``, as ``torch.nn.Linear``.

    Shapes: ``input: (*, in_features) -> (*, out_features)``, ``weight: (out_features, in_features)``,
    ``bias: (out_features,)``. Backward: ``grad_input = g A``, ``grad_weight = g^T x``,
    ``grad_bias = sum g`` (summed over all leading dims).

    Args:
        in_features: size of each input sample.
        out_features: size of each output sample.
        bias: learn ``b``.
        device: accepted for torch parity.
        dtype: parameter dtype, float32 by default.

    Examples:
        >>> fc = Linear(4, 3)
        >>> fc, fc.weight.shape, fc(np.ones((2, 4), np.float32)).shape
        (Linear(in_features=4, out_features=3, bias=True), (3, 4), (2, 3))
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, device: str | None = None,
                 dtype: DTypeLike | None = None) -> None:
        super().__init__()
        self.in_features = _args.integer("Linear", "in_features", in_features)
        self.out_features = _args.integer("Linear", "out_features", out_features)
        if self.in_features < 0 or self.out_features < 0:
            raise ValueError(f"Linear: in_features and out_features must be non-negative, "
                             f"got {in_features}, {out_features}")
        dtype = _dtype(dtype)
        self.weight = Parameter(np.zeros((self.out_features, self.in_features), dtype))
        self.bias = Parameter(np.zeros(self.out_features, dtype)) if bias else None
        self.reset_parameters()

    def reset_parameters(self, generator: np.random.Generator | None = None) -> None:
        """Weight and bias uniform in ``±1/sqrt(in_features)`` (torch's default)."""
        rng = _module._generator if generator is None else generator
        bound = _kaiming_bound(self.in_features)
        self.weight.data = rng.uniform(-bound, bound, self.weight.shape).astype(self.weight.dtype)
        if self.bias is not None:
            self.bias.data = rng.uniform(-bound, bound, self.bias.shape).astype(self.bias.dtype)

    def forward(self, input: ArrayLike):
        x = self._check_input(input, self.weight)
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            raise ValueError(f"Linear: input has shape {x.shape}, expected (*, in_features={self.in_features})")
        self._input = x
        return F.linear(x, self.weight.data, None if self.bias is None else self.bias.data)

    def backward(self, grad_output: ArrayLike):
        gx, gw, gb = F.linear_backward(grad_output, self._saved("_input"), self.weight.data)
        self.weight.accumulate(gw)
        if self.bias is not None:
            self.bias.accumulate(gb)
        return gx

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class ReLU(Module):
    """``max(0, x)``; backward passes the gradient where ``x > 0``.

    Args:
        inplace: overwrite the input.

    Examples:
        >>> r = ReLU(); r(np.array([-1., 2.])), r.backward(np.array([5., 5.]))
        (array([0., 2.]), array([0., 5.]))
    """

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, input: ArrayLike):
        self._output = F.relu(input, self.inplace)
        return self._output

    def backward(self, grad_output: ArrayLike):
        return F.relu_backward(grad_output, self._saved("_output"))

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class LeakyReLU(Module):
    """``x`` for ``x > 0``, else ``negative_slope * x``; backward scales by 1 or the slope.

    Args:
        negative_slope: slope for negative inputs.
        inplace: overwrite the input.

    Examples:
        >>> LeakyReLU(0.1)(np.array([-1., 2.]))
        array([-0.1,  2. ])
    """

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False) -> None:
        super().__init__()
        self.negative_slope, self.inplace = negative_slope, inplace

    def forward(self, input: ArrayLike):
        x = _args.array("LeakyReLU", "input", input)
        self._input = x.copy() if self.inplace else x
        return F.leaky_relu(x, self.negative_slope, self.inplace)

    def backward(self, grad_output: ArrayLike):
        return F.leaky_relu_backward(grad_output, self._saved("_input"), self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")


class Sigmoid(Module):
    """``s = 1 / (1 + exp(-x))``; backward multiplies by ``s (1 - s)``.

    Examples:
        >>> s = Sigmoid(); s(np.zeros(2)), s.backward(np.ones(2))
        (array([0.5, 0.5]), array([0.25, 0.25]))
    """

    def forward(self, input: ArrayLike):
        self._output = F.sigmoid(input)
        return self._output

    def backward(self, grad_output: ArrayLike):
        return F.sigmoid_backward(grad_output, self._saved("_output"))


class Tanh(Module):
    """``t = tanh(x)``; backward multiplies by ``1 - t**2``.

    Examples:
        >>> t = Tanh(); t(np.zeros(2)), t.backward(np.ones(2))
        (array([0., 0.]), array([1., 1.]))
    """

    def forward(self, input: ArrayLike):
        self._output = F.tanh(input)
        return self._output

    def backward(self, grad_output: ArrayLike):
        return F.tanh_backward(grad_output, self._saved("_output"))


class Flatten(Module):
    """Merge dims ``start_dim..end_dim`` into one: ``(N, C, H, W) -> (N, C*H*W)`` by default.

    Args:
        start_dim: first dim to flatten.
        end_dim: last dim to flatten.

    Examples:
        >>> Flatten()(np.zeros((2, 3, 4, 5))).shape
        (2, 60)
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, input: ArrayLike):
        x = np.asarray(input)
        self._input_shape = x.shape
        if x.ndim == 0:
            return x.reshape(1)
        start, end = self.start_dim % x.ndim, self.end_dim % x.ndim
        if start > end:
            raise ValueError(f"Flatten: start_dim {self.start_dim} comes after end_dim {self.end_dim} for input "
                             f"with {x.ndim} dims")
        return x.reshape(x.shape[:start] + (math.prod(x.shape[start:end + 1]),) + x.shape[end + 1:])

    def backward(self, grad_output: ArrayLike):
        return np.asarray(grad_output).reshape(self._saved("_input_shape"))

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Sequential(Module):
    """Modules applied one after the other; backward runs them in reverse.

    Takes modules (named ``'0'``, ``'1'``, ... as in torch) or one ``OrderedDict`` of named
    modules. Indexing gives a module (or a `Sequential` for a slice).

    Args:
        *args: the modules, or one OrderedDict.

    Examples:
        >>> net = Sequential(Conv2d(1, 4, 3), ReLU(), MaxPool2d(2), Flatten(), Linear(4 * 3 * 3, 10))
        >>> out = net(np.zeros((2, 1, 8, 8), np.float32))
        >>> out.shape, net.backward(np.ones_like(out)).shape, net[0].weight.grad.shape
        ((2, 10), (2, 1, 8, 8), (4, 1, 3, 3))
        >>> list(net.state_dict())[:2]
        ['0.weight', '0.bias']
    """

    def __init__(self, *args: Module) -> None:
        super().__init__()
        if len(args) == 1 and isinstance(args[0], OrderedDict):
            items = list(args[0].items())
        else:
            items = [(str(i), m) for i, m in enumerate(args)]
        for name, module in items:
            if not isinstance(module, Module):
                raise TypeError(f"Sequential: {name} is a {type(module).__name__}, expected a Module")
            setattr(self, name, module)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def __getitem__(self, index):
        items = list(self._modules.items())
        if isinstance(index, slice):
            return Sequential(OrderedDict(items[index]))
        return items[_args.integer("Sequential", "index", index)][1]

    def append(self, module: Module) -> "Sequential":
        """Add a module at the end."""
        setattr(self, str(len(self)), module)
        return self

    def forward(self, input: ArrayLike):
        for module in self:
            input = module(input)
        return input

    def backward(self, grad_output: ArrayLike):
        for module in reversed(list(self)):
            grad_output = module.backward(grad_output)
        return grad_output


# ----------------------------------------------------------------------------- losses
class CrossEntropyLoss(Module):
    """Cross-entropy of logits and class indices (or probabilities), as ``torch.nn.CrossEntropyLoss``.

    ``forward(input, target)`` as in `cnnref.functional.cross_entropy`; ``backward()`` returns
    d loss / d input, ``(softmax(input) * sum_c q - q) / denominator`` with ``q`` the weighted,
    smoothed target (see `cnnref.functional.cross_entropy`).

    Args:
        weight: ``(C,)`` per-class weights (kept as a buffer, in ``state_dict`` as in torch).
        size_average: legacy, use ``reduction``.
        ignore_index: class index left out.
        reduce: legacy, use ``reduction``.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``.
        label_smoothing: in [0, 1].

    Examples:
        >>> loss_fn = CrossEntropyLoss()
        >>> float(loss_fn(np.zeros((2, 4)), np.array([1, 3])))          # log(4)
        1.3862943611198906
        >>> loss_fn.backward()
        array([[ 0.125, -0.375,  0.125,  0.125],
               [ 0.125,  0.125,  0.125, -0.375]])
    """

    def __init__(self, weight: ArrayLike | None = None, size_average: bool | None = None, ignore_index: int = -100,
                 reduce: bool | None = None, reduction: str = "mean", label_smoothing: float = 0.0) -> None:
        super().__init__()
        self.register_buffer("weight", weight)
        self.ignore_index, self.label_smoothing = ignore_index, label_smoothing
        self.reduction = F._reduction("CrossEntropyLoss", size_average, reduce, reduction)

    def _options(self):
        return dict(weight=self.weight, ignore_index=self.ignore_index, reduction=self.reduction,
                    label_smoothing=self.label_smoothing)

    def forward(self, input: ArrayLike, target: ArrayLike):
        out = F.cross_entropy(input, target, **self._options())
        self._saved_inputs = (input, target)
        return out

    def backward(self, grad_output: ArrayLike = 1.0):
        input, target = self._saved("_saved_inputs")
        if self.reduction != "none":
            grad_output = np.broadcast_to(grad_output, ())
        return F.cross_entropy_backward(grad_output, input, target, **self._options())


class MSELoss(Module):
    """Mean squared error, as ``torch.nn.MSELoss``; backward ``2 (input - target) / n``.

    Args:
        size_average: legacy, use ``reduction``.
        reduce: legacy, use ``reduction``.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``.

    Examples:
        >>> mse = MSELoss()
        >>> mse(np.array([1., 3.]), np.array([0., 0.])), mse.backward()
        (np.float64(5.0), array([1., 3.]))
    """

    def __init__(self, size_average: bool | None = None, reduce: bool | None = None, reduction: str = "mean") -> None:
        super().__init__()
        self.reduction = F._reduction("MSELoss", size_average, reduce, reduction)

    def forward(self, input: ArrayLike, target: ArrayLike):
        out = F.mse_loss(input, target, reduction=self.reduction)
        self._saved_inputs = (input, target)
        return out

    def backward(self, grad_output: ArrayLike = 1.0):
        input, target = self._saved("_saved_inputs")
        if self.reduction != "none":
            grad_output = np.broadcast_to(grad_output, ())
        return F.mse_loss_backward(grad_output, input, target, self.reduction)
