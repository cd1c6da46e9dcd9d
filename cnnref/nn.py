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
"""

from __future__ import annotations

import math
from collections import OrderedDict
from typing import Iterator, NamedTuple

import numpy as np

from cnnref import _args, shapes
from cnnref import functional as F

__all__ = [
    "manual_seed", "Parameter", "Module", "Conv1d", "Conv2d", "ConvTranspose2d", "MaxPool2d", "AvgPool2d",
    "Linear", "ReLU", "LeakyReLU", "Sigmoid", "Tanh", "Flatten", "Sequential", "CrossEntropyLoss", "MSELoss",
]

_generator = np.random.default_rng(0)


def manual_seed(seed: int) -> np.random.Generator:
    """Reset the generator that new layers draw their initial weights from.

    Args:
        seed: any int.

    Returns:
        The new generator.

    >>> _ = manual_seed(0); a = Linear(3, 2).weight.data
    >>> _ = manual_seed(0); b = Linear(3, 2).weight.data
    >>> bool((a == b).all())
    True
    """
    global _generator
    _generator = np.random.default_rng(seed)
    return _generator


class Parameter:
    """A learnable array: ``.data`` holds the values and ``.grad`` their gradient.

    ``.grad`` is None until a backward pass reaches the parameter (as in torch); each
    backward pass then adds to it, and `Module.zero_grad` sets it back to None. An optimizer
    steps ``p.data`` using ``p.grad`` and skips parameters whose ``.grad`` is None or whose
    ``requires_grad`` is False (a frozen parameter gets no gradient).

    Args:
        data: the initial values (a floating-point array; copied).
        requires_grad: whether backward passes compute this parameter's gradient.

    >>> p = Parameter(np.zeros(3))
    >>> p.shape, p.grad is None
    ((3,), True)
    """

    def __init__(self, data, requires_grad: bool = True):
        self.data = np.array(_args.array("Parameter", "data", data))
        self.grad: np.ndarray | None = None
        self.requires_grad = requires_grad

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    def accumulate(self, grad: np.ndarray) -> None:
        """Add ``grad`` to ``.grad`` (starting from None), unless ``requires_grad`` is False."""
        if self.requires_grad:
            self.grad = np.array(grad, dtype=self.data.dtype) if self.grad is None else self.grad + grad

    def __repr__(self) -> str:
        return f"Parameter containing:\n{self.data!r}"


class IncompatibleKeys(NamedTuple):
    """What `Module.load_state_dict` could not match (as torch returns it)."""

    missing_keys: list
    unexpected_keys: list


def _to_numpy(value) -> np.ndarray:
    """A torch tensor (any device, with or without grad) or an array -> a NumPy array."""
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return np.asarray(value)


class Module:
    """Base class of the layers: parameters, sub-modules, ``state_dict`` and the backward pass.

    Assigning a `Parameter` or a `Module` to an attribute registers it, as in torch, so
    `named_parameters` finds ``'0.weight'`` in ``Sequential(Linear(2, 3))``. Subclasses
    define `forward` and `backward`.

    >>> m = Sequential(Linear(2, 3), ReLU(), Linear(3, 1))
    >>> [(name, p.shape) for name, p in m.named_parameters()]
    [('0.weight', (3, 2)), ('0.bias', (3,)), ('2.weight', (1, 3)), ('2.bias', (1,))]
    """

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    # -- registration ------------------------------------------------------------------
    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__}: call Module.__init__() before assigning {name}")
        tables = (self._parameters, self._buffers, self._modules)
        if isinstance(value, (Parameter, Module)):
            for table in tables:
                table.pop(name, None)
            (self._parameters if isinstance(value, Parameter) else self._modules)[name] = value
        elif name in self._parameters or name in self._modules:
            if value is not None:
                raise TypeError(f"{type(self).__name__}: cannot assign a {type(value).__name__} to '{name}' "
                                f"(a Parameter, a Module or None expected)")
            (self._parameters if name in self._parameters else self._modules)[name] = None   # bias=False
        elif name in self._buffers:
            self._buffers[name] = None if value is None else np.asarray(value)
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name):
        for table in ("_parameters", "_buffers", "_modules"):
            entries = self.__dict__.get(table, {})
            if name in entries:
                return entries[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def register_buffer(self, name: str, array) -> None:
        """Keep an array that is state but not learnt (it appears in `state_dict`)."""
        self._buffers[name] = None if array is None else np.asarray(array)

    # -- forward and backward ----------------------------------------------------------
    def forward(self, *args, **kwargs):
        """Compute the output and keep what `backward` needs."""
        raise NotImplementedError(f"{type(self).__name__} has no forward")

    def backward(self, grad_output):
        """Given d loss / d output of the last forward call, accumulate parameter gradients
        and return d loss / d input."""
        raise NotImplementedError(f"{type(self).__name__} has no backward")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def _saved(self, name: str):
        value = self.__dict__.get(name)
        if value is None:
            raise RuntimeError(f"{type(self).__name__}.backward: call forward first (nothing saved for backward)")
        return value

    def _check_input(self, x, reference: Parameter):
        x = _args.array(type(self).__name__, "input", x)
        if x.dtype != reference.dtype:
            raise TypeError(f"{type(self).__name__}: input has dtype {x.dtype}, expected {reference.dtype} like the "
                            f"layer's parameters (convert the input, or the layer with .double() / .float())")
        return x

    # -- walking the tree --------------------------------------------------------------
    def named_children(self) -> Iterator[tuple[str, "Module"]]:
        """The direct sub-modules with their attribute names."""
        yield from self._modules.items()

    def children(self) -> Iterator["Module"]:
        """The direct sub-modules."""
        for _, module in self.named_children():
            yield module

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, "Module"]]:
        """This module (name ``prefix``) and all below it, depth first."""
        yield prefix, self
        for name, child in self._modules.items():
            yield from child.named_modules(f"{prefix}.{name}" if prefix else name)

    def modules(self) -> Iterator["Module"]:
        """This module and all below it."""
        for _, module in self.named_modules():
            yield module

    def named_parameters(self, prefix: str = "", recurse: bool = True) -> Iterator[tuple[str, Parameter]]:
        """``('0.weight', Parameter)`` pairs, torch's names, each parameter once."""
        seen = set()
        modules = self.named_modules(prefix) if recurse else [(prefix, self)]
        for module_name, module in modules:
            for name, p in module._parameters.items():
                if p is not None and id(p) not in seen:
                    seen.add(id(p))
                    yield (f"{module_name}.{name}" if module_name else name), p

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        """All parameters, each once."""
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the accumulated gradients: ``.grad = None`` (or zeros with ``set_to_none=False``)."""
        for p in self.parameters():
            p.grad = None if set_to_none else np.zeros_like(p.data)

    # -- state -------------------------------------------------------------------------
    def state_dict(self, destination=None, prefix: str = "", keep_vars: bool = False) -> "OrderedDict[str, np.ndarray]":
        """Parameters and buffers by torch's keys. The arrays are the module's own (not copies),
        as torch's tensors share storage with the module; ``keep_vars`` gives the Parameters."""
        out = OrderedDict() if destination is None else destination
        for module_name, module in self.named_modules(prefix.rstrip(".")):
            dot = f"{module_name}." if module_name else ""
            for name, p in module._parameters.items():
                if p is not None:
                    out[dot + name] = p if keep_vars else p.data
            for name, b in module._buffers.items():
                if b is not None:
                    out[dot + name] = b
        return out

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False) -> IncompatibleKeys:
        """Copy values into the parameters and buffers, matching torch's keys.

        Accepts a torch module's ``state_dict()`` as is (tensors are converted) or one of ours.
        Values are cast to each parameter's dtype (as torch's ``copy_`` does).

        Args:
            state_dict: mapping from keys like ``'0.weight'`` to arrays or tensors.
            strict: refuse missing or unexpected keys.
            assign: replace the arrays instead of copying into them (dtype follows the value).

        Returns:
            ``(missing_keys, unexpected_keys)``.

        Raises:
            ValueError: a missing/unexpected key (with ``strict``) or a shape mismatch.
        """
        slots = OrderedDict()                                 # key -> (table, name) of every parameter / buffer
        for module_name, module in self.named_modules():
            dot = f"{module_name}." if module_name else ""
            for table in (module._parameters, module._buffers):
                for name, value in table.items():
                    if value is not None:
                        slots[dot + name] = (table, name)
        missing = [k for k in slots if k not in state_dict]
        unexpected = [k for k in state_dict if k not in slots]
        if strict and (missing or unexpected):
            raise ValueError(f"load_state_dict: missing keys {missing}, unexpected keys {unexpected} "
                             f"for {type(self).__name__}")
        for key, (table, name) in slots.items():
            if key not in state_dict:
                continue
            value, target = _to_numpy(state_dict[key]), table[name]
            current = target.data if isinstance(target, Parameter) else target
            if value.shape != current.shape:
                raise ValueError(f"load_state_dict: size mismatch for {key}: copying a value of shape {value.shape}, "
                                 f"expected {current.shape} as in the current model")
            value = np.array(value) if assign else np.array(value, dtype=current.dtype)
            if isinstance(target, Parameter):
                target.data = value
            else:
                table[name] = value
        return IncompatibleKeys(missing, unexpected)

    def train(self, mode: bool = True) -> "Module":
        """Set training mode here and below (no layer here behaves differently; kept for torch parity)."""
        for module in self.modules():
            object.__setattr__(module, "training", bool(mode))
        return self

    def eval(self) -> "Module":
        """``train(False)``."""
        return self.train(False)

    def to(self, dtype) -> "Module":
        """Cast every parameter (and its gradient) to ``dtype``, in place; returns self."""
        for p in self.parameters():
            p.data = p.data.astype(dtype)
            p.grad = None if p.grad is None else p.grad.astype(dtype)
        return self

    def double(self) -> "Module":
        """``to(np.float64)``."""
        return self.to(np.float64)

    def float(self) -> "Module":
        """``to(np.float32)``."""
        return self.to(np.float32)

    # -- printing, as torch prints a module ----------------------------------------------
    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        lines = [f"({name}): " + repr(m).replace("\n", "\n  ") for name, m in self._modules.items()]
        if not lines:
            return f"{type(self).__name__}({self.extra_repr()})"
        return f"{type(self).__name__}(\n  " + "\n  ".join(lines) + "\n)"


def _dtype(dtype):
    return np.dtype(np.float32 if dtype is None else dtype)


def _kaiming_bound(fan_in: int) -> float:
    """torch's default ``kaiming_uniform_(w, a=sqrt(5))``: ``gain * sqrt(3 / fan_in)`` with
    ``gain = sqrt(2 / (1 + a**2))``, which is ``1 / sqrt(fan_in)``; the bias uses the same bound."""
    if fan_in == 0:
        return 0.0
    a = math.sqrt(5)
    gain = math.sqrt(2.0 / (1 + a * a))
    return gain * math.sqrt(3.0 / fan_in)


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
            raise ValueError(f"{name}: in_channels and out_channels must be positive, got {in_channels}, {out_channels}")
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
                raise ValueError(f"{name}: padding='same' is not supported for strided convolutions (stride={self.stride})")
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
        rng = _generator if generator is None else generator
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

    def forward(self, input):
        x = self._check_conv_input(input)
        self._input_shape = x.shape
        if self.padding_mode != "zeros":        # pad first, then convolve without padding
            x = F.pad(x, self._reversed_padding_repeated_twice, mode=self.padding_mode)
        self._input = x
        conv = F.conv1d if self._nd == 1 else F.conv2d
        bias = None if self.bias is None else self.bias.data
        return conv(x, self.weight.data, bias, self.stride, self._conv_padding(), self.dilation, self.groups)

    def backward(self, grad_output):
        x = self._saved("_input")
        backward = F.conv1d_backward if self._nd == 1 else F.conv2d_backward
        gx, gw, gb = backward(grad_output, x, self.weight.data, self.stride, self._conv_padding(),
                              self.dilation, self.groups)
        self.weight.accumulate(gw)
        if self.bias is not None:
            self.bias.accumulate(gb)
        if self.padding_mode != "zeros":        # padded copies send their gradient to the original
            gx = F._pad_backward(gx, self._input_shape, self._reversed_padding_repeated_twice, self.padding_mode)
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

    >>> conv = Conv2d(1, 8, (2, 3))
    >>> conv
    Conv2d(1, 8, kernel_size=(2, 3), stride=(1, 1))
    >>> conv(np.zeros((2, 1, 7, 3), np.float32)).shape
    (2, 8, 6, 1)
    """

    _nd = 2

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, padding_mode="zeros", device=None, dtype=None):
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

    >>> Conv1d(4, 2, 3, padding="same")(np.ones((5, 4, 10), np.float32)).shape
    (5, 2, 10)
    """

    _nd = 1

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, padding_mode="zeros", device=None, dtype=None):
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

    >>> up = ConvTranspose2d(8, 4, 3, stride=2, padding=1, output_padding=1)
    >>> up(np.zeros((1, 8, 16, 16), np.float32)).shape
    (1, 4, 32, 32)
    """

    _transposed = True

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0, groups=1,
                 bias=True, dilation=1, padding_mode="zeros", device=None, dtype=None):
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

    def forward(self, input, output_size=None):
        x = self._check_conv_input(input)
        self._input = x
        self._used_output_padding = self._output_padding(x, output_size)
        bias = None if self.bias is None else self.bias.data
        return F.conv_transpose2d(x, self.weight.data, bias, self.stride, self.padding, self._used_output_padding,
                                  self.groups, self.dilation)

    def backward(self, grad_output):
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

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False, ceil_mode=False):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding, self.dilation = padding, dilation
        self.return_indices, self.ceil_mode = return_indices, ceil_mode

    def forward(self, input):
        out, idx = F.max_pool2d(input, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode,
                                return_indices=True)
        self._indices, self._input_shape = idx, np.shape(input)
        return (out, idx) if self.return_indices else out

    def backward(self, grad_output):
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

    >>> AvgPool2d(2)(np.arange(16.0).reshape(1, 1, 4, 4))
    array([[[[ 2.5,  4.5],
             [10.5, 12.5]]]])
    """

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                 divisor_override=None):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding, self.ceil_mode = padding, ceil_mode
        self.count_include_pad, self.divisor_override = count_include_pad, divisor_override

    def _args(self):
        return (self.kernel_size, self.stride, self.padding, self.ceil_mode, self.count_include_pad,
                self.divisor_override)

    def forward(self, input):
        out = F.avg_pool2d(input, *self._args())
        self._input_shape = np.shape(input)
        return out

    def backward(self, grad_output):
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

    >>> fc = Linear(4, 3)
    >>> fc, fc.weight.shape, fc(np.ones((2, 4), np.float32)).shape
    (Linear(in_features=4, out_features=3, bias=True), (3, 4), (2, 3))
    """

    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None):
        super().__init__()
        self.in_features = _args.integer("Linear", "in_features", in_features)
        self.out_features = _args.integer("Linear", "out_features", out_features)
        if self.in_features < 0 or self.out_features < 0:
            raise ValueError(f"Linear: in_features and out_features must be non-negative, got {in_features}, {out_features}")
        dtype = _dtype(dtype)
        self.weight = Parameter(np.zeros((self.out_features, self.in_features), dtype))
        self.bias = Parameter(np.zeros(self.out_features, dtype)) if bias else None
        self.reset_parameters()

    def reset_parameters(self, generator: np.random.Generator | None = None) -> None:
        """Weight and bias uniform in ``±1/sqrt(in_features)`` (torch's default)."""
        rng = _generator if generator is None else generator
        bound = _kaiming_bound(self.in_features)
        self.weight.data = rng.uniform(-bound, bound, self.weight.shape).astype(self.weight.dtype)
        if self.bias is not None:
            self.bias.data = rng.uniform(-bound, bound, self.bias.shape).astype(self.bias.dtype)

    def forward(self, input):
        x = self._check_input(input, self.weight)
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            raise ValueError(f"Linear: input has shape {x.shape}, expected (*, in_features={self.in_features})")
        self._input = x
        return F.linear(x, self.weight.data, None if self.bias is None else self.bias.data)

    def backward(self, grad_output):
        x = self._saved("_input")
        g = _args.array("Linear.backward", "grad_output", grad_output)
        if g.shape != x.shape[:-1] + (self.out_features,):
            raise ValueError(f"Linear.backward: grad_output has shape {g.shape}, expected {x.shape[:-1] + (self.out_features,)}")
        g2 = g.reshape(-1, self.out_features)                 # (batch, out_features)
        self.weight.accumulate(g2.T @ x.reshape(-1, self.in_features))
        if self.bias is not None:
            self.bias.accumulate(g2.sum(axis=0))
        return g @ self.weight.data                           # (*, in_features)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


def _grad(name, grad_output, saved):
    g = _args.array(f"{name}.backward", "grad_output", grad_output)
    if g.shape != saved.shape:
        raise ValueError(f"{name}.backward: grad_output has shape {g.shape}, expected the output's shape {saved.shape}")
    return g


class ReLU(Module):
    """``max(0, x)``; backward passes the gradient where ``x > 0``.

    Args:
        inplace: overwrite the input.

    >>> r = ReLU(); r(np.array([-1., 2.])), r.backward(np.array([5., 5.]))
    (array([0., 2.]), array([0., 5.]))
    """

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input):
        x = _args.array("ReLU", "input", input)
        self._mask = x > 0
        return F.relu(x, self.inplace)

    def backward(self, grad_output):
        mask = self._saved("_mask")
        return _grad("ReLU", grad_output, mask) * mask

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class LeakyReLU(Module):
    """``x`` for ``x > 0``, else ``negative_slope * x``; backward scales by 1 or the slope.

    Args:
        negative_slope: slope for negative inputs.
        inplace: overwrite the input.

    >>> LeakyReLU(0.1)(np.array([-1., 2.]))
    array([-0.1,  2. ])
    """

    def __init__(self, negative_slope=0.01, inplace=False):
        super().__init__()
        self.negative_slope, self.inplace = negative_slope, inplace

    def forward(self, input):
        x = _args.array("LeakyReLU", "input", input)
        self._mask = x > 0
        return F.leaky_relu(x, self.negative_slope, self.inplace)

    def backward(self, grad_output):
        mask = self._saved("_mask")
        g = _grad("LeakyReLU", grad_output, mask)
        return np.where(mask, g, g * np.asarray(self.negative_slope, dtype=g.dtype))

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")


class Sigmoid(Module):
    """``s = 1 / (1 + exp(-x))``; backward multiplies by ``s (1 - s)``.

    >>> s = Sigmoid(); s(np.zeros(2)), s.backward(np.ones(2))
    (array([0.5, 0.5]), array([0.25, 0.25]))
    """

    def forward(self, input):
        self._output = F.sigmoid(input)
        return self._output

    def backward(self, grad_output):
        s = self._saved("_output")
        return _grad("Sigmoid", grad_output, s) * s * (1 - s)


class Tanh(Module):
    """``t = tanh(x)``; backward multiplies by ``1 - t**2``.

    >>> t = Tanh(); t(np.zeros(2)), t.backward(np.ones(2))
    (array([0., 0.]), array([1., 1.]))
    """

    def forward(self, input):
        self._output = F.tanh(input)
        return self._output

    def backward(self, grad_output):
        t = self._saved("_output")
        return _grad("Tanh", grad_output, t) * (1 - t * t)


class Flatten(Module):
    """Merge dims ``start_dim..end_dim`` into one: ``(N, C, H, W) -> (N, C*H*W)`` by default.

    Args:
        start_dim: first dim to flatten.
        end_dim: last dim to flatten.

    >>> Flatten()(np.zeros((2, 3, 4, 5))).shape
    (2, 60)
    """

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, input):
        x = np.asarray(input)
        self._input_shape = x.shape
        if x.ndim == 0:
            return x.reshape(1)
        start, end = self.start_dim % x.ndim, self.end_dim % x.ndim
        if start > end:
            raise ValueError(f"Flatten: start_dim {self.start_dim} comes after end_dim {self.end_dim} for input "
                             f"with {x.ndim} dims")
        return x.reshape(x.shape[:start] + (-1,) + x.shape[end + 1:])

    def backward(self, grad_output):
        return np.asarray(grad_output).reshape(self._saved("_input_shape"))

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Sequential(Module):
    """Modules applied one after the other; backward runs them in reverse.

    Takes modules (named ``'0'``, ``'1'``, ... as in torch) or one ``OrderedDict`` of named
    modules. Indexing gives a module (or a `Sequential` for a slice).

    Args:
        *args: the modules, or one OrderedDict.

    >>> net = Sequential(Conv2d(1, 4, 3), ReLU(), MaxPool2d(2), Flatten(), Linear(4 * 3 * 3, 10))
    >>> out = net(np.zeros((2, 1, 8, 8), np.float32))
    >>> out.shape, net.backward(np.ones_like(out)).shape, net[0].weight.grad.shape
    ((2, 10), (2, 1, 8, 8), (4, 1, 3, 3))
    >>> list(net.state_dict())[:2]
    ['0.weight', '0.bias']
    """

    def __init__(self, *args):
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

    def forward(self, input):
        for module in self:
            input = module(input)
        return input

    def backward(self, grad_output):
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

    >>> loss_fn = CrossEntropyLoss()
    >>> float(loss_fn(np.zeros((2, 4)), np.array([1, 3])))          # log(4)
    1.3862943611198906
    >>> loss_fn.backward()
    array([[ 0.125, -0.375,  0.125,  0.125],
           [ 0.125,  0.125,  0.125, -0.375]])
    """

    def __init__(self, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean",
                 label_smoothing=0.0):
        super().__init__()
        self.register_buffer("weight", weight)
        self.ignore_index, self.label_smoothing = ignore_index, label_smoothing
        self.reduction = F._reduction("CrossEntropyLoss", size_average, reduce, reduction)

    def forward(self, input, target):
        func = "CrossEntropyLoss"
        logp, q, denominator = F._cross_entropy_parts(func, input, target, self.weight, self.ignore_index,
                                                      self.label_smoothing)
        self._parts = (np.ndim(input), logp, q, denominator)
        return F.cross_entropy(input, target, self.weight, None, self.ignore_index, None, self.reduction,
                               self.label_smoothing)

    def backward(self, grad_output=1.0):
        ndim, logp, q, denominator = self._saved("_parts")
        g = np.asarray(grad_output, dtype=logp.dtype)
        if self.reduction == "none":
            g = g[..., None]                                       # one per element, broadcast over classes
        elif self.reduction == "mean":
            g = g / denominator
        grad = (np.exp(logp) * q.sum(axis=-1, keepdims=True) - q) * g   # class dim last
        return np.moveaxis(grad, -1, 0 if ndim == 1 else 1).astype(logp.dtype)


class MSELoss(Module):
    """Mean squared error, as ``torch.nn.MSELoss``; backward ``2 (input - target) / n``.

    Args:
        size_average: legacy, use ``reduction``.
        reduce: legacy, use ``reduction``.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``.

    >>> mse = MSELoss()
    >>> mse(np.array([1., 3.]), np.array([0., 0.])), mse.backward()
    (np.float64(5.0), array([1., 3.]))
    """

    def __init__(self, size_average=None, reduce=None, reduction="mean"):
        super().__init__()
        self.reduction = F._reduction("MSELoss", size_average, reduce, reduction)

    def forward(self, input, target):
        out = F.mse_loss(input, target, reduction=self.reduction)
        x, t = np.broadcast_arrays(np.asarray(input), np.asarray(target))
        self._diff = (x - t).astype(np.asarray(input).dtype)
        return out

    def backward(self, grad_output=1.0):
        diff = self._saved("_diff")
        g = np.asarray(grad_output, dtype=diff.dtype)
        if self.reduction == "mean":
            g = g / diff.size
        return (2 * diff * g).astype(diff.dtype)
