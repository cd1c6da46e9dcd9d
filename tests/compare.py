"""The one comparison helper of the torch-parity tests."""

from __future__ import annotations

import numpy as np

# float64 to 1e-10, float32 to 1e-5 (relative), as the design asks
TOLERANCE = {np.dtype(np.float64): 1e-10, np.dtype(np.float32): 1e-5}


def to_numpy(x):
    """A torch tensor (any device, with or without grad) or array-like -> NumPy array."""
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def assert_close(ours, theirs, rtol=None, atol=None):
    """Assert that `ours` (NumPy) equals `theirs` (torch or NumPy): same shape, same dtype
    kind, values within the dtype's tolerance (relative, with a matching absolute floor)."""
    ours, theirs = np.asarray(ours), to_numpy(theirs)
    assert ours.shape == theirs.shape, f"shape {ours.shape} != {theirs.shape}"
    tol = TOLERANCE.get(theirs.dtype, 1e-5)
    scale = max(1.0, float(np.max(np.abs(theirs)))) if theirs.size else 1.0
    np.testing.assert_allclose(ours, theirs, rtol=tol if rtol is None else rtol,
                               atol=tol * scale if atol is None else atol)
