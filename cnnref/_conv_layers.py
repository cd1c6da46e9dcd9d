"""The convolution layers of `cnnref.nn` (re-exported there): `Conv1d`, `Conv2d` and
`ConvTranspose2d`, each a forward and a backward of `cnnref.functional`."""

from __future__ import annotations

import numpy as np

from cnnref import _args, shapes
from cnnref import functional as F
from cnnref._args import ArrayLike, DTypeLike, IntOrTuple
from cnnref._module import Module, Parameter

__all__ = ["Conv1d", "Conv2d", "ConvTranspose2d"]


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
            pads = _args.conv_padding(name, padding, self.kernel_size, self.stride, self.dilation)
            self.padding = padding
        else:
            self.padding = _args.non_negative(name, "padding", padding, nd)
            pads = tuple((p, p) for p in self.padding)
        self.padding_mode = padding_mode
        # torch's F.pad order for padding_mode != 'zeros': last dim first, (before, after) each
        self._reversed_padding_repeated_twice = tuple(v for pair in reversed(pads) for v in pair)
        dtype = _args.float_dtype(dtype)
        shape = ((in_channels, out_channels // groups) if self._transposed
                 else (out_channels, in_channels // groups)) + self.kernel_size
        self.weight = Parameter(np.zeros(shape, dtype))
        self.bias = Parameter(np.zeros(out_channels, dtype)) if bias else None
        self.reset_parameters()

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
