"""The base of `cnnref.optim`: `Optimizer` (parameter groups, ``zero_grad``, ``step``,
``state_dict``) and the checks of the parameters it updates in place. Read the algorithms in
`cnnref.optim`; `Optimizer` is re-exported there.
"""

from __future__ import annotations

import copy
import warnings
from typing import Any, Callable, Iterable

import numpy as np

from cnnref._args import quiet, to_numpy

__all__ = ["Optimizer"]


class Optimizer:
    """Base class: parameter groups, ``zero_grad``, ``step``, ``state_dict`` like ``torch.optim.Optimizer``.

    Args:
        params: parameters (objects with ``.data`` and ``.grad``), or a list of dicts, one per
            parameter group: ``{"params": [...], "lr": 0.1, ...}``; options a group leaves out
            take the constructor's values.
        defaults: the constructor's options.

    ``state`` maps ``id(param)`` to that parameter's state (a dict of arrays and numbers).

    Examples:
        >>> from types import SimpleNamespace
        >>> from cnnref.optim import SGD
        >>> a, b = (SimpleNamespace(data=np.zeros(2), grad=np.ones(2)) for _ in range(2))
        >>> opt = SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1)
        >>> [g["lr"] for g in opt.param_groups]
        [0.1, 0.5]
        >>> opt.step(); a.data, b.data
        (array([-0.1, -0.1]), array([-0.5, -0.5]))
    """

    def __init__(self, params: Iterable, defaults: dict[str, Any]) -> None:
        name = type(self).__name__
        if isinstance(params, np.ndarray) or hasattr(params, "data"):
            raise TypeError(f"{name}: params must be an iterable of parameters or dicts, "
                            f"got {type(params).__name__}")
        self.defaults = defaults
        self.state: dict[int, dict[str, Any]] = {}
        self.param_groups: list[dict[str, Any]] = []
        groups = list(params)
        if len(groups) == 0:
            raise ValueError(f"{name}: optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters with its own options (the others from the defaults).

        Args:
            param_group: ``{"params": [...], option: value, ...}``.

        Raises:
            TypeError: a parameter lacks ``.data`` / ``.grad``, or params is a set.
            ValueError: a parameter is already in another group.

        Examples:
            >>> from types import SimpleNamespace
            >>> from cnnref.optim import Adam, SGD
            >>> opt = SGD([SimpleNamespace(data=np.zeros(1), grad=None)], lr=0.1, momentum=0.9)
            >>> opt.add_param_group({"params": [SimpleNamespace(data=np.zeros(3), grad=None)], "lr": 1.0})
            >>> opt.param_groups[1]["lr"], opt.param_groups[1]["momentum"]
            (1.0, 0.9)
        """
        name = type(self).__name__
        if not isinstance(param_group, dict):
            raise TypeError(f"{name}: param_group must be a dict, got {type(param_group).__name__}")
        params = param_group["params"]
        if isinstance(params, set):
            raise TypeError(f"{name}: params of a group must be an ordered collection, got a set")
        params = [params] if hasattr(params, "data") else list(params)
        for i, p in enumerate(params):
            if not (hasattr(p, "data") and hasattr(p, "grad")):
                raise TypeError(f"{name}: can only optimize objects with .data and .grad arrays, "
                                f"got {type(p).__name__}")
            _check_data(name, f"params[{i}]", p)
        if len({id(p) for p in params}) != len(params):
            warnings.warn("optimizer contains a parameter group with duplicate parameters; in future, this will "
                          "cause an error; see github.com/pytorch/pytorch/issues/40967 for more information",
                          UserWarning, stacklevel=3)
        group = {**self.defaults, **param_group, "params": params}
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if seen & {id(p) for p in params}:
            raise ValueError(f"{name}: some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients: ``grad = None`` (torch's default) or zeros.

        Examples:
            >>> from types import SimpleNamespace
            >>> from cnnref.optim import Adam, SGD
            >>> p = SimpleNamespace(data=np.ones(2), grad=np.ones(2))
            >>> opt = SGD([p], lr=0.1)
            >>> opt.zero_grad(set_to_none=False); p.grad
            array([0., 0.])
            >>> opt.zero_grad(); p.grad is None
            True
        """
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    if set_to_none:
                        p.grad = None
                    else:
                        p.grad[...] = 0

    @quiet
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One update of every parameter that has a gradient.

        Args:
            closure: optional function that recomputes the loss (and the gradients) first.

        Returns:
            The closure's loss, or ``None``.
        """
        loss = closure() if closure is not None else None
        name = f"{type(self).__name__}.step"
        updates = []
        for g, group in enumerate(self.param_groups):           # check everything before changing anything
            for i, p in enumerate(group["params"]):
                if p.grad is None:
                    continue
                _check_data(name, f"param_groups[{g}]['params'][{i}]", p)
                grad = np.asarray(p.grad)
                if grad.shape != p.data.shape:
                    raise ValueError(f"{name}: grad has shape {grad.shape}, expected the parameter's shape "
                                     f"{p.data.shape}")
                updates.append((p, grad, group))
        for p, grad, group in updates:
            self._update(p.data, grad, self.state.setdefault(id(p), {}), group)
        return loss

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict, group: dict) -> None:
        raise NotImplementedError

    def state_dict(self) -> dict[str, Any]:
        """The optimizer's state, shaped like torch's: ``{"state": {index: {...}},
        "param_groups": [{option: value, ..., "params": [index, ...]}]}``.

        Parameters are numbered in the order of the groups; arrays are copies.

        Examples:
            >>> from types import SimpleNamespace
            >>> from cnnref.optim import Adam, SGD
            >>> p = SimpleNamespace(data=np.zeros(2), grad=np.ones(2))
            >>> opt = SGD([p], lr=0.1, momentum=0.9)
            >>> opt.step()
            >>> sd = opt.state_dict()
            >>> sd["state"]
            {0: {'momentum_buffer': array([1., 1.])}}
            >>> sd["param_groups"][0]["params"]
            [0]
        """
        index, groups = {}, []
        for group in self.param_groups:
            for p in group["params"]:
                index.setdefault(id(p), len(index))
            groups.append({**{k: v for k, v in group.items() if k != "params"},
                           "params": [index[id(p)] for p in group["params"]]})
        state = {index[key]: copy.deepcopy(value) for key, value in self.state.items() if key in index}
        return {"state": dict(sorted(state.items())), "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load a state from `state_dict` (ours, or torch's: tensors become arrays
        of the parameter's dtype, ``step`` a float).

        Args:
            state_dict: ``{"state": ..., "param_groups": ...}`` for the same groups of parameters.

        Raises:
            ValueError: the number of groups, or of parameters in a group, differs.

        Examples:
            >>> from types import SimpleNamespace
            >>> from cnnref.optim import Adam, SGD
            >>> p = SimpleNamespace(data=np.zeros(2), grad=np.ones(2))
            >>> opt = Adam([p], lr=0.1); opt.step()
            >>> q = SimpleNamespace(data=p.data.copy(), grad=np.ones(2))
            >>> opt2 = Adam([q]); opt2.load_state_dict(opt.state_dict())
            >>> opt2.param_groups[0]["lr"], opt2.state[id(q)]["step"]
            (0.1, 1.0)
        """
        name = type(self).__name__
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"{name}.load_state_dict: loaded state dict has a different number "
                             f"of parameter groups ({len(saved_groups)}, expected {len(self.param_groups)})")
        if any(len(s["params"]) != len(g["params"]) for s, g in zip(saved_groups, self.param_groups)):
            raise ValueError(f"{name}.load_state_dict: loaded state dict contains a parameter group "
                             "that doesn't match the size of optimizer's group")
        saved_state = state_dict["state"]
        self.state = {}
        for saved, group in zip(saved_groups, self.param_groups):
            for i, p in zip(saved["params"], group["params"]):
                if i in saved_state:
                    self.state[id(p)] = {k: _as_state_value(k, v, p.data.dtype)
                                         for k, v in saved_state[i].items()}
            group.update({k: copy.deepcopy(v) for k, v in saved.items() if k in self.defaults})


def _check_data(func: str, name: str, p) -> None:
    """An optimizer updates ``p.data`` in place: it must be a writeable floating-point ndarray."""
    data = p.data
    if not isinstance(data, np.ndarray) or not np.issubdtype(data.dtype, np.floating):
        kind = data.dtype if isinstance(data, np.ndarray) else type(data).__name__
        raise TypeError(f"{func}: {name}.data is {kind}, expected a floating-point ndarray (float16, float32 or "
                        f"float64) that the optimizer can update in place")
    if not data.flags.writeable:
        raise ValueError(f"{func}: {name}.data is read-only, expected a writeable array (the optimizer updates it "
                         f"in place; pass a copy, e.g. np.array(data))")


def _as_state_value(key: str, value, dtype):
    """A saved state entry as ours: ``step`` a float, arrays (or torch tensors) NumPy copies."""
    if key == "step":
        return float(value)
    return np.array(to_numpy(value), dtype=dtype)
