"""NumPy twins of ``torch.optim``: SGD, RMSprop, Rprop and Adam.

Same class names, constructor arguments, defaults, parameter groups and update rules as
torch (its single-tensor "for-loop" implementations, in the same order of operations, so
float64 results agree to rounding). An optimizer steps any object that has a ``.data``
NumPy array and a ``.grad`` array (or ``None``: such a parameter is skipped, as in torch),
for example the parameters of `cnnref.nn`, and updates ``.data`` in place.

    Examples:
        >>> import numpy as np
        >>> from types import SimpleNamespace
        >>> w = SimpleNamespace(data=np.array([1.0, -2.0]), grad=None)
        >>> opt = SGD([w], lr=0.1)
        >>> w.grad = 2 * w.data          # gradient of sum(w**2)
        >>> opt.step()
        >>> w.data
        array([ 0.8, -1.6])
"""

from __future__ import annotations

from typing import Iterable

import numpy as np

from cnnref._optimizer import Optimizer

__all__ = ["Optimizer", "SGD", "RMSprop", "Rprop", "Adam"]


# torch's words for each hyper-parameter in its "Invalid ..." messages
_TORCH_NAMES = {"lr": "learning rate", "eps": "epsilon value", "momentum": "momentum value",
                "weight_decay": "weight_decay value", "alpha": "alpha value"}


def _check_non_negative(optimizer: str, nan_ok: bool = False, **values: float) -> None:
    """Raise torch's ``ValueError`` for the first negative value, in the order given.

    torch tests ``not 0.0 <= x`` (NaN is invalid), except SGD, which tests ``x < 0.0`` (``nan_ok``).
    """
    for name, value in values.items():
        if (value < 0.0) if nan_ok else not 0.0 <= value:
            raise ValueError(f"{optimizer}: Invalid {_TORCH_NAMES[name]}: {value} (expected {name} >= 0)")


def _first_state(state: dict, param: np.ndarray, *names: str, **optional: bool) -> None:
    """The state before the first step, with torch's keys: ``step`` 0 and zeros like ``param`` for
    each of ``names``, and for each ``optional`` name whose flag is true in this configuration."""
    state["step"] = 0.0
    for name in names + tuple(name for name, wanted in optional.items() if wanted):
        state[name] = np.zeros_like(param)


def _sign(x: np.ndarray) -> np.ndarray:
    """``torch.sign``: -1, 0 or 1, and 0 for NaN (NumPy's sign keeps NaN). A NaN gradient then
    leaves its weight where it is in Rprop, as in torch."""
    return np.where(np.isnan(x), 0, np.sign(x)).astype(x.dtype, copy=False)


def _lerp_(start: np.ndarray, end: np.ndarray, weight: float) -> None:
    """``start.lerp_(end, weight)`` in torch's two-branch form (exact for weight 0 and 1)."""
    if abs(weight) < 0.5:
        start += weight * (end - start)
    else:
        start[...] = end - (end - start) * (1 - weight)


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with momentum: twin of ``torch.optim.SGD``.

    For each parameter with gradient $g$ (torch's order of operations):

    - $g \\leftarrow g + \\lambda\\,\\theta$ (``weight_decay`` $\\lambda$);
    - with momentum $\\mu$: $b \\leftarrow g$ on the first step, then $b \\leftarrow \\mu b + (1-\\tau) g$
      (``dampening`` $\\tau$); $g \\leftarrow g + \\mu b$ if ``nesterov`` else $g \\leftarrow b$;
    - $\\theta \\leftarrow \\theta - \\text{lr}\\, g$ (or $+$ with ``maximize``).

    Args:
        params: parameters or parameter groups (see `Optimizer`).
        lr: learning rate.
        momentum: momentum factor $\\mu$.
        dampening: dampening $\\tau$ of the momentum.
        weight_decay: L2 penalty $\\lambda$.
        nesterov: Nesterov momentum (needs ``momentum > 0`` and ``dampening == 0``).
        maximize: ascend instead of descend.

    Raises:
        ValueError: as torch: ``lr < 0``, ``momentum < 0``, ``weight_decay < 0``, or
            ``nesterov`` without momentum / with dampening.

    Examples:
        >>> from types import SimpleNamespace
        >>> w = SimpleNamespace(data=np.array([1.0]), grad=None)
        >>> opt = SGD([w], lr=0.1, momentum=0.9)
        >>> for _ in range(3):
        ...     w.grad = 2 * w.data
        ...     opt.step()
        >>> w.data.round(6)
        array([0.062])
    """

    def __init__(self, params: Iterable, lr: float = 1e-3, momentum: float = 0, dampening: float = 0,
                 weight_decay: float = 0, nesterov: bool = False, *, maximize: bool = False) -> None:
        _check_non_negative("SGD", nan_ok=True, lr=lr, momentum=momentum, weight_decay=weight_decay)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("SGD: Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov, maximize=maximize))

    def _update(self, param, grad, state, group):
        lr, momentum, wd = group["lr"], group["momentum"], group["weight_decay"]
        if group["maximize"]:
            grad = -grad
        if wd != 0:
            grad = grad + wd * param
        if momentum != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = grad.copy()
            else:
                buf *= momentum
                buf += (1 - group["dampening"]) * grad
            grad = grad + momentum * buf if group["nesterov"] else buf
        param += -lr * grad


class RMSprop(Optimizer):
    """RMSprop: divide the gradient by a running root mean square: twin of ``torch.optim.RMSprop``.

    For each parameter (torch's order of operations):

    - $g \\leftarrow g + \\lambda\\theta$; $v \\leftarrow \\alpha v + (1-\\alpha) g^2$;
    - ``centered``: $\\bar g \\leftarrow \\alpha \\bar g + (1-\\alpha) g$ and
      $d = \\sqrt{v - \\bar g^2} + \\epsilon$, else $d = \\sqrt{v} + \\epsilon$;
    - with momentum $\\mu$: $b \\leftarrow \\mu b + g/d$, $\\theta \\leftarrow \\theta - \\text{lr}\\,b$;
      else $\\theta \\leftarrow \\theta - \\text{lr}\\,g/d$.

    Args:
        params: parameters or parameter groups (see `Optimizer`).
        lr: learning rate.
        alpha: smoothing constant of the running mean of $g^2$.
        eps: added to the denominator.
        weight_decay: L2 penalty $\\lambda$.
        momentum: momentum factor $\\mu$.
        centered: divide by the estimated standard deviation of the gradient instead.
        maximize: ascend instead of descend.

    Raises:
        ValueError: as torch: a negative ``lr``, ``eps``, ``momentum``, ``weight_decay`` or ``alpha``.

    Examples:
        >>> from types import SimpleNamespace
        >>> w = SimpleNamespace(data=np.array([1.0, 1000.0]), grad=None)
        >>> opt = RMSprop([w], lr=0.01)
        >>> w.grad = 2 * w.data
        >>> opt.step()
        >>> ([1.0, 1000.0] - w.data).round(6)       # the same step for both: lr / sqrt(1 - alpha)
        array([0.1, 0.1])
    """

    def __init__(self, params: Iterable, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0, momentum: float = 0, centered: bool = False,
                 *, maximize: bool = False) -> None:
        _check_non_negative("RMSprop", lr=lr, eps=eps, momentum=momentum, weight_decay=weight_decay, alpha=alpha)
        super().__init__(params, dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                                      weight_decay=weight_decay, maximize=maximize))

    def _update(self, param, grad, state, group):
        alpha, momentum = group["alpha"], group["momentum"]
        if not state:
            _first_state(state, param, "square_avg", momentum_buffer=momentum > 0, grad_avg=group["centered"])
        if group["maximize"]:
            grad = -grad
        state["step"] += 1
        if group["weight_decay"] != 0:
            grad = grad + group["weight_decay"] * param
        square_avg = state["square_avg"]
        square_avg *= alpha
        square_avg += (1 - alpha) * grad * grad
        if group["centered"]:
            grad_avg = state["grad_avg"]
            _lerp_(grad_avg, grad, 1 - alpha)
            avg = np.sqrt(square_avg + -1 * grad_avg * grad_avg)
        else:
            avg = np.sqrt(square_avg)
        avg += group["eps"]
        if momentum > 0:
            buf = state["momentum_buffer"]
            buf *= momentum
            buf += grad / avg
            param += -group["lr"] * buf
        else:
            param += -group["lr"] * grad / avg


class Rprop(Optimizer):
    """Resilient backpropagation: twin of ``torch.optim.Rprop``.

    Uses only the sign of each weight's gradient. Every weight has its own step size
    (starting at ``lr``): where the gradient kept its sign since the last step the step grows
    by ``etas[1]``, where it flipped it shrinks by ``etas[0]``, clipped to ``step_sizes``.
    As in torch, where the sign flipped the gradient is set to 0 for that step (the weight
    does not move, and the next step counts as "no sign information").

    Args:
        params: parameters or parameter groups (see `Optimizer`).
        lr: initial step size of every weight.
        etas: ``(etaminus, etaplus)``, the shrink and growth factors.
        step_sizes: ``(min, max)`` allowed step size.
        maximize: ascend instead of descend.

    Raises:
        ValueError: as torch: ``lr < 0`` or not ``0 < etaminus < 1 < etaplus``.

    Examples:
        >>> from types import SimpleNamespace
        >>> w = SimpleNamespace(data=np.array([1.0, 1000.0]), grad=None)
        >>> opt = Rprop([w], lr=0.01)
        >>> for _ in range(3):
        ...     w.grad = 2 * w.data
        ...     opt.step()
        >>> [1.0, 1000.0] - w.data      # the same steps for both: 0.01 + 0.012 + 0.0144
        array([0.0364, 0.0364])
    """

    def __init__(self, params: Iterable, lr: float = 1e-2, etas: tuple[float, float] = (0.5, 1.2),
                 step_sizes: tuple[float, float] = (1e-6, 50), *, maximize: bool = False) -> None:
        _check_non_negative("Rprop", lr=lr)
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Rprop: Invalid eta values: {etas[0]}, {etas[1]} "
                             "(expected 0 < etas[0] < 1 < etas[1])")
        super().__init__(params, dict(lr=lr, etas=etas, step_sizes=step_sizes, maximize=maximize))

    def _update(self, param, grad, state, group):
        etaminus, etaplus = group["etas"]
        step_size_min, step_size_max = group["step_sizes"]
        if not state:
            state["step"] = 0.0
            state["prev"] = np.zeros_like(param)
            state["step_size"] = np.full_like(param, group["lr"])
        if group["maximize"]:
            grad = -grad
        state["step"] += 1
        sign = _sign(grad * state["prev"])  # +1 kept its sign, -1 flipped, 0 no information
        factor = np.where(sign > 0, etaplus, np.where(sign < 0, etaminus, 1.0)).astype(param.dtype)
        step_size = state["step_size"]
        step_size *= factor
        np.clip(step_size, step_size_min, step_size_max, out=step_size)
        grad = np.where(sign < 0, 0, grad).astype(param.dtype)  # flipped: no move this step
        param += -1 * _sign(grad) * step_size
        state["prev"][...] = grad


class Adam(Optimizer):
    """Adam: momentum on the gradient and RMSprop's scaling, with bias correction: twin of ``torch.optim.Adam``.

    At step $t$ (torch's order of operations): $g \\leftarrow g + \\lambda\\theta$ (or, with
    ``decoupled_weight_decay``, $\\theta \\leftarrow (1 - \\text{lr}\\,\\lambda)\\theta$ as AdamW);
    $m \\leftarrow \\beta_1 m + (1-\\beta_1) g$; $v \\leftarrow \\beta_2 v + (1-\\beta_2) g^2$
    (``amsgrad``: $\\hat v \\leftarrow \\max(\\hat v, v)$ is used in place of $v$);
    $\\theta \\leftarrow \\theta - \\frac{\\text{lr}}{1-\\beta_1^t}\\, m \\,/\\, \\big(\\sqrt{v}/\\sqrt{1-\\beta_2^t} + \\epsilon\\big)$.

    Args:
        params: parameters or parameter groups (see `Optimizer`).
        lr: learning rate.
        betas: ``(beta1, beta2)``, decay rates of the two running averages.
        eps: added to the denominator.
        weight_decay: L2 penalty $\\lambda$.
        amsgrad: use the running maximum of $v$.
        maximize: ascend instead of descend.
        decoupled_weight_decay: decay the weights directly (AdamW).

    Raises:
        ValueError: as torch: negative ``lr``, ``eps`` or ``weight_decay``, a beta outside [0, 1).

    Examples:
        >>> from types import SimpleNamespace
        >>> w = SimpleNamespace(data=np.array([1.0, 1000.0]), grad=np.array([2.0, 2000.0]))
        >>> Adam([w], lr=0.1).step()                 # the first step is lr for every weight
        >>> w.data.round(6).tolist()
        [0.9, 999.9]
    """

    def __init__(self, params: Iterable, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, amsgrad: bool = False, *,
                 maximize: bool = False, decoupled_weight_decay: bool = False) -> None:
        _check_non_negative("Adam", lr=lr, eps=eps)
        for i in (0, 1):
            if not 0.0 <= betas[i] < 1.0:
                raise ValueError(f"Adam: Invalid beta parameter at index {i}: {betas[i]} (expected 0 <= beta < 1)")
        _check_non_negative("Adam", weight_decay=weight_decay)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      amsgrad=amsgrad, maximize=maximize,
                                      decoupled_weight_decay=decoupled_weight_decay))

    def _update(self, param, grad, state, group):
        lr, (beta1, beta2), wd = group["lr"], group["betas"], group["weight_decay"]
        if not state:
            _first_state(state, param, "exp_avg", "exp_avg_sq", max_exp_avg_sq=group["amsgrad"])
        if group["maximize"]:
            grad = -grad
        state["step"] += 1
        if wd != 0:
            if group["decoupled_weight_decay"]:
                param *= 1 - lr * wd
            else:
                grad = grad + wd * param
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        _lerp_(exp_avg, grad, 1 - beta1)
        exp_avg_sq *= beta2
        exp_avg_sq += (1 - beta2) * grad * grad
        step = state["step"]
        bias_correction1 = 1 - beta1 ** step
        bias_correction2 = 1 - beta2 ** step
        step_size = lr / bias_correction1
        if group["amsgrad"]:
            np.maximum(state["max_exp_avg_sq"], exp_avg_sq, out=state["max_exp_avg_sq"])
            second = state["max_exp_avg_sq"]
        else:
            second = exp_avg_sq
        denom = np.sqrt(second) / bias_correction2 ** 0.5 + group["eps"]
        param += -step_size * exp_avg / denom
