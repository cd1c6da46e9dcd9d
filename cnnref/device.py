"""Where and in what precision to train: the device (CUDA, then Apple's MPS, then the CPU)
and the dtype of mixed precision.

Examples:
    >>> pick_device("cpu"), autocast_dtype(torch.device("cpu"), amp=True)
    (device(type='cpu'), torch.bfloat16)
"""

from __future__ import annotations

import torch

from cnnref.config import AMP_DTYPES

__all__ = ["pick_device", "autocast_dtype"]


def pick_device(name: str = "auto") -> torch.device:
    """The device to train on: ``"auto"`` takes CUDA, then Apple's MPS, then the CPU.

    Args:
        name: ``"auto"`` or a torch device string (``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``).

    Returns:
        A ``torch.device``.

    Raises:
        ValueError: the name is not a device, or that device is not available here.

    Examples:
        >>> pick_device("cpu")
        device(type='cpu')
    """
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError) as e:
        raise ValueError(f"pick_device: {name!r} is not a device, expected 'auto', 'cpu', 'cuda[:i]' or 'mps'") from e
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"pick_device: {name!r} asked for, but CUDA is not available on this machine")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise ValueError(f"pick_device: {name!r} asked for, but there are {torch.cuda.device_count()} CUDA devices")
    if device.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ValueError(f"pick_device: {name!r} asked for, but MPS is not available on this machine")
    if device.type not in ("cpu", "cuda", "mps"):
        raise ValueError(f"pick_device: device type {device.type!r} is not supported, expected cpu, cuda or mps")
    return device


def autocast_dtype(device: torch.device, amp: bool | None = None, amp_dtype: str = "auto") -> torch.dtype | None:
    """The dtype that autocast computes in, or ``None`` for full float32.

    ``amp=None`` turns mixed precision on for CUDA only. On CUDA ``"auto"`` means bfloat16
    where the GPU supports it (Ampere and newer), else float16 (which then needs a GradScaler);
    on the CPU and MPS ``"auto"`` means bfloat16.

    Examples:
        >>> autocast_dtype(torch.device("cpu")) is None
        True
        >>> autocast_dtype(torch.device("cpu"), amp=True)
        torch.bfloat16
    """
    if amp is None:
        amp = device.type == "cuda"
    if not amp:
        return None
    if amp_dtype == "bf16":
        return torch.bfloat16
    if amp_dtype == "fp16":
        return torch.float16
    if amp_dtype != "auto":
        raise ValueError(f"autocast_dtype: amp_dtype must be one of {AMP_DTYPES}, got {amp_dtype!r}")
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.bfloat16
