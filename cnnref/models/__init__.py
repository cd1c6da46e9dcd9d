"""Classic CNN architectures in torch, built from the papers' tables.

Every builder takes ``num_classes`` and returns a module with an ``input_size`` attribute,
``(C, H, W)``: the input the paper's layer sizes need. A wrong input size raises a
``ValueError`` that names it. ``MODELS`` maps each name to its builder and
[`get_model`][cnnref.models.get_model] builds one by name.

Examples:
    >>> model = get_model("lenet5", num_classes=10)
    >>> model.input_size
    (1, 32, 32)
    >>> sorted(MODELS)[:3]
    ['alexnet', 'caffe_lenet', 'cnn']
"""

from __future__ import annotations

from typing import Any, Callable

from torch import nn

from cnnref.models.alexnet import alexnet
from cnnref.models.googlenet import INCEPTION_TABLE, GoogLeNet, googlenet
from cnnref.models.lenet import LENET5_C3_TABLE, caffe_lenet, lenet5, lenet1989
from cnnref.models.network import Network, check_input
from cnnref.models.nin import NIN_TABLE, nin
from cnnref.models.pattern import feature_shapes, make_cnn
from cnnref.models.resnet import RESNET_TABLE, resnet, resnet18, resnet34, resnet50
from cnnref.models.vgg import VGG_CONFIGS, vgg, vgg11, vgg13, vgg16, vgg19
from cnnref.models.zfnet import zfnet

__all__ = [
    "MODELS", "get_model", "Network", "check_input",
    "lenet1989", "lenet5", "LENET5_C3_TABLE", "caffe_lenet", "alexnet", "zfnet", "vgg", "VGG_CONFIGS", "vgg11", "vgg13", "vgg16",
    "vgg19", "googlenet", "GoogLeNet", "INCEPTION_TABLE", "make_cnn", "feature_shapes",
    "nin", "NIN_TABLE", "resnet", "RESNET_TABLE", "resnet18", "resnet34", "resnet50",
]

# name -> builder; every builder takes num_classes (and in_channels) as keyword arguments
MODELS: dict[str, Callable[..., nn.Module]] = {
    "lenet1989": lenet1989,
    "lenet5": lenet5,
    "caffe_lenet": caffe_lenet,
    "alexnet": alexnet,
    "zfnet": zfnet,
    "vgg11": vgg11,
    "vgg13": vgg13,
    "vgg16": vgg16,
    "vgg19": vgg19,
    "googlenet": googlenet,
    "nin": nin,
    "resnet18": resnet18,
    "resnet34": resnet34,
    "resnet50": resnet50,
    "cnn": make_cnn,
}
"""Architecture name -> builder; every builder takes ``num_classes`` and ``in_channels``."""


def get_model(name: str, **kwargs: Any) -> nn.Module:
    """Build the architecture called ``name`` (a key of [`MODELS`][cnnref.models.MODELS]).

    Args:
        name: e.g. ``"lenet5"``, ``"alexnet"``, ``"vgg16"``.
        **kwargs: passed to the builder (``num_classes``, ``in_channels``, ...).

    Returns:
        The model, with its ``input_size`` attribute.

    Raises:
        ValueError: ``name`` is not a known architecture (the message lists the known ones).

    Examples:
        >>> get_model("caffe_lenet").input_size
        (1, 28, 28)
        >>> get_model("resnet9000")
        Traceback (most recent call last):
        ...
        ValueError: get_model: unknown model 'resnet9000', expected one of ...
    """
    if name not in MODELS:
        raise ValueError(f"get_model: unknown model {name!r}, expected one of {', '.join(sorted(MODELS))}")
    return MODELS[name](**kwargs)
