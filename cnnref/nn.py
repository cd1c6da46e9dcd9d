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

`Parameter`, `Module` and `manual_seed` live in `cnnref._module`, the convolution layers in
`cnnref._conv_layers`, batch normalization in `cnnref._norm`, dropout in `cnnref._dropout`,
adaptive average pooling in `cnnref._adaptive_pool`; all are re-exported here. Batch
normalization and dropout behave differently in training and evaluation mode (`Module.train`,
`Module.eval`), as in torch. Every layer is a forward and a backward
function of `cnnref.functional`, plus the bookkeeping of what the backward pass needs.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from typing import Iterator

import numpy as np

from cnnref import _args
from cnnref import functional as F
from cnnref._args import ArrayLike, DTypeLike, IntOrTuple
from cnnref._adaptive_pool import AdaptiveAvgPool2d
from cnnref._conv_layers import Conv1d, Conv2d, ConvTranspose2d
from cnnref._dropout import Dropout, Dropout2d
from cnnref._module import IncompatibleKeys, Module, Parameter, manual_seed
from cnnref._norm import BatchNorm1d, BatchNorm2d

__all__ = [
    "manual_seed", "Parameter", "Module", "IncompatibleKeys",
    "Conv1d", "Conv2d", "ConvTranspose2d", "MaxPool2d", "AvgPool2d",
    "Linear", "ReLU", "LeakyReLU", "Sigmoid", "Tanh", "Flatten", "Sequential", "CrossEntropyLoss", "MSELoss",
    "BatchNorm1d", "BatchNorm2d", "Dropout", "Dropout2d", "AdaptiveAvgPool2d",
]


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
        dtype = _args.float_dtype(dtype)
        self.weight = Parameter(np.zeros((self.out_features, self.in_features), dtype))
        self.bias = Parameter(np.zeros(self.out_features, dtype)) if bias else None
        self.reset_parameters()

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


class _FromOutput(Module):
    """An activation whose derivative is a function of its output (sigmoid, tanh): forward is the
    functional ``function``, backward its ``gradient(grad_output, output)``."""

    function = gradient = None

    def forward(self, input: ArrayLike):
        self._output = self.function(input)
        return self._output

    def backward(self, grad_output: ArrayLike):
        return self.gradient(grad_output, self._saved("_output"))


class Sigmoid(_FromOutput):
    """``s = 1 / (1 + exp(-x))``; backward multiplies by ``s (1 - s)``.

    Examples:
        >>> s = Sigmoid(); s(np.zeros(2)), s.backward(np.ones(2))
        (array([0.5, 0.5]), array([0.25, 0.25]))
    """

    function, gradient = staticmethod(F.sigmoid), staticmethod(F.sigmoid_backward)


class Tanh(_FromOutput):
    """``t = tanh(x)``; backward multiplies by ``1 - t**2``.

    Examples:
        >>> t = Tanh(); t(np.zeros(2)), t.backward(np.ones(2))
        (array([0., 0.]), array([1., 1.]))
    """

    function, gradient = staticmethod(F.tanh), staticmethod(F.tanh_backward)


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
class _Loss(Module):
    """A loss: forward is the functional ``function(input, target, **options)``, backward its
    ``gradient(grad_output, input, target, **options)``; d loss / d loss is 1 unless given."""

    function = gradient = None

    def _options(self) -> dict:
        return dict(reduction=self.reduction)

    def forward(self, input: ArrayLike, target: ArrayLike):
        out = self.function(input, target, **self._options())
        self._saved_inputs = (input, target)
        return out

    def backward(self, grad_output: ArrayLike = 1.0):
        input, target = self._saved("_saved_inputs")
        if self.reduction != "none":
            grad_output = np.broadcast_to(grad_output, ())
        return self.gradient(grad_output, input, target, **self._options())


class CrossEntropyLoss(_Loss):
    """Cross-entropy of logits and class indices (or probabilities), as ``torch.nn.CrossEntropyLoss``.

    ``forward(input, target)`` as in `cnnref.functional.cross_entropy`; ``backward()`` returns
    d loss / d input (`cnnref.functional.cross_entropy_backward`).

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

    function, gradient = staticmethod(F.cross_entropy), staticmethod(F.cross_entropy_backward)

    def __init__(self, weight: ArrayLike | None = None, size_average: bool | None = None, ignore_index: int = -100,
                 reduce: bool | None = None, reduction: str = "mean", label_smoothing: float = 0.0) -> None:
        super().__init__()
        self.register_buffer("weight", weight)
        self.ignore_index, self.label_smoothing = ignore_index, label_smoothing
        self.reduction = _args.reduction("CrossEntropyLoss", size_average, reduce, reduction)

    def _options(self) -> dict:
        return dict(weight=self.weight, ignore_index=self.ignore_index, reduction=self.reduction,
                    label_smoothing=self.label_smoothing)


class MSELoss(_Loss):
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

    function, gradient = staticmethod(F.mse_loss), staticmethod(F.mse_loss_backward)

    def __init__(self, size_average: bool | None = None, reduce: bool | None = None, reduction: str = "mean") -> None:
        super().__init__()
        self.reduction = _args.reduction("MSELoss", size_average, reduce, reduction)
