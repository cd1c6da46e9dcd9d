"""The base of `cnnref.nn`: `Parameter`, `Module` (registration, state_dict, gradient
bookkeeping, printing) and the generator that initial weights are drawn from.

Read the layers in `cnnref.nn`; everything public here is re-exported there.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from typing import Iterator, Mapping, NamedTuple

import numpy as np

from cnnref import _args
from cnnref._args import ArrayLike, DTypeLike

__all__ = ["manual_seed", "generator", "Parameter", "Module", "IncompatibleKeys"]

_generator = np.random.default_rng(0)


def manual_seed(seed: int) -> np.random.Generator:
    """Reset the generator that new layers draw their initial weights from.

    Args:
        seed: any int.

    Returns:
        The new generator.

    Examples:
        >>> from cnnref.nn import Linear
        >>> _ = manual_seed(0); a = Linear(3, 2).weight.data
        >>> _ = manual_seed(0); b = Linear(3, 2).weight.data
        >>> bool((a == b).all())
        True
    """
    global _generator
    _generator = np.random.default_rng(seed)
    return _generator


def generator() -> np.random.Generator:
    """The generator that initial weights and dropout masks are drawn from (`manual_seed` resets it).

    Examples:
        >>> _ = manual_seed(3); a = generator().random()
        >>> _ = manual_seed(3); bool(a == generator().random())
        True
    """
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

    Examples:
        >>> p = Parameter(np.zeros(3))
        >>> p.shape, p.grad is None
        ((3,), True)
    """

    def __init__(self, data: ArrayLike, requires_grad: bool = True) -> None:
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


class Module:
    """Base class of the layers: parameters, sub-modules, ``state_dict`` and the backward pass.

    Assigning a `Parameter` or a `Module` to an attribute registers it, as in torch, so
    `named_parameters` finds ``'0.weight'`` in ``Sequential(Linear(2, 3))``. Subclasses
    define `forward` and `backward`.

    Examples:
        >>> from cnnref.nn import Linear, ReLU, Sequential
        >>> m = Sequential(Linear(2, 3), ReLU(), Linear(3, 1))
        >>> [(name, p.shape) for name, p in m.named_parameters()]
        [('0.weight', (3, 2)), ('0.bias', (3,)), ('2.weight', (1, 3)), ('2.bias', (1,))]
    """

    def __init__(self) -> None:
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

    def backward(self, grad_output: ArrayLike):
        """Given d loss / d output of the last forward call, accumulate parameter gradients
        and return d loss / d input."""
        raise NotImplementedError(f"{type(self).__name__} has no backward")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def reset_parameters(self, generator: np.random.Generator | None = None) -> None:
        """Redraw this module's ``weight`` and ``bias``, where it has them, as torch initialises
        its layers: uniform in ``±1/sqrt(fan_in)`` with ``fan_in = prod(weight.shape[1:])``
        (``in_features`` of a Linear, ``C_in/groups*kH*kW`` of a Conv2d), from ``generator`` or the
        module-level generator of `manual_seed`. A module without a weight has nothing to redraw.

        Args:
            generator: a NumPy generator of your own, or None.

        Examples:
            >>> from cnnref.nn import Linear
            >>> a, b = Linear(3, 2), Linear(3, 2)
            >>> a.reset_parameters(np.random.default_rng(5)); b.reset_parameters(np.random.default_rng(5))
            >>> bool((a.weight.data == b.weight.data).all()), float(abs(a.weight.data).max()) <= 3 ** -0.5
            (True, True)
        """
        weight = self._parameters.get("weight")
        if weight is None:
            return
        rng = _generator if generator is None else generator
        bound = _kaiming_bound(math.prod(weight.shape[1:]))
        for p in (weight, self._parameters.get("bias")):
            if p is not None:
                p.data = rng.uniform(-bound, bound, p.shape).astype(p.dtype)

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

    def load_state_dict(self, state_dict: Mapping[str, ArrayLike], strict: bool = True,
                        assign: bool = False) -> IncompatibleKeys:
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
            value, target = _args.to_numpy(state_dict[key]), table[name]
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
        """Set training mode here and below: batch normalization uses (and records) the batch's
        statistics and dropout drops; in evaluation mode (``train(False)``) they do not."""
        for module in self.modules():
            object.__setattr__(module, "training", bool(mode))
        return self

    def eval(self) -> "Module":
        """``train(False)``."""
        return self.train(False)

    def to(self, dtype: DTypeLike | None) -> "Module":
        """Cast every parameter (and its gradient) and every floating-point buffer (batch
        normalization's running statistics) to ``dtype``, in place; returns self. Integer buffers
        (``num_batches_tracked``) keep their dtype, as in torch."""
        for p in self.parameters():
            p.data = p.data.astype(dtype)
            p.grad = None if p.grad is None else p.grad.astype(dtype)
        for module in self.modules():
            for name, b in module._buffers.items():
                if b is not None and np.issubdtype(b.dtype, np.floating):
                    module._buffers[name] = b.astype(dtype)
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


def _kaiming_bound(fan_in: int) -> float:
    """torch's default ``kaiming_uniform_(w, a=sqrt(5))``: ``gain * sqrt(3 / fan_in)`` with
    ``gain = sqrt(2 / (1 + a**2))``, which is ``1 / sqrt(fan_in)``; the bias uses the same bound."""
    if fan_in == 0:
        return 0.0
    a = math.sqrt(5)
    gain = math.sqrt(2.0 / (1 + a * a))
    return gain * math.sqrt(3.0 / fan_in)
