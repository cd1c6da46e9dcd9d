"""Classic CNN architectures in torch, built from the papers' tables.

Every builder takes ``num_classes`` and returns a module with an ``input_size`` attribute,
``(C, H, W)``: the input the paper's layer sizes need. A wrong input size raises a
``ValueError`` that names it. ``MODELS`` maps each name to its builder and
:func:`get_model` builds one by name.

>>> model = get_model("lenet5", num_classes=10)
>>> model.input_size
(1, 32, 32)
>>> sorted(MODELS)[:2]
['caffe_lenet', 'lenet5']
"""

from __future__ import annotations

from typing import Callable

from torch import nn

from cnnref.models.lenet import caffe_lenet, lenet5
from cnnref.models.network import Network, check_input

__all__ = ["MODELS", "get_model", "Network", "check_input", "lenet5", "caffe_lenet"]

MODELS: dict[str, Callable[..., nn.Module]] = {
    "lenet5": lenet5,
    "caffe_lenet": caffe_lenet,
}


def get_model(name: str, **kwargs) -> nn.Module:
    """Build the architecture called ``name`` (a key of :data:`MODELS`).

    Args:
        name: e.g. ``"lenet5"``, ``"alexnet"``, ``"vgg16"``.
        **kwargs: passed to the builder (``num_classes``, ``in_channels``, ...).

    Returns:
        The model, with its ``input_size`` attribute.

    Raises:
        ValueError: ``name`` is not a known architecture (the message lists the known ones).

    >>> get_model("caffe_lenet").input_size
    (1, 28, 28)
    >>> get_model("resnet50")
    Traceback (most recent call last):
    ...
    ValueError: get_model: unknown model 'resnet50', expected one of ...
    """
    if name not in MODELS:
        raise ValueError(f"get_model: unknown model {name!r}, expected one of {', '.join(sorted(MODELS))}")
    return MODELS[name](**kwargs)
