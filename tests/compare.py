"""The one comparison helper of the torch-parity tests."""

from __future__ import annotations

import numpy as np

from cnnref._args import to_numpy

# float64 to 1e-10, float32 to 1e-5 (relative), as the design asks. float16 keeps 11 significant
# bits (one unit in the last place is 2**-10 relative): torch rounds some intermediate results to
# float16 that we keep in float32 (and the other way round), which moves a result by a few units
TOLERANCE = {np.dtype(np.float64): 1e-10, np.dtype(np.float32): 1e-5, np.dtype(np.float16): 4e-3}


def assert_close(ours, theirs, rtol=None, atol=None, dtype=False):
    """Assert that `ours` (NumPy) equals `theirs` (torch or NumPy): same shape, values within the
    dtype's tolerance (relative, with a matching absolute floor), NaN where the other has NaN and
    the same infinities; with ``dtype``, also the same dtype."""
    ours, theirs = np.asarray(ours), to_numpy(theirs)
    assert ours.shape == theirs.shape, f"shape {ours.shape} != {theirs.shape}"
    if dtype:
        assert ours.dtype == theirs.dtype, f"dtype {ours.dtype} != {theirs.dtype}"
    tol = TOLERANCE.get(theirs.dtype, 1e-5)
    finite = theirs[np.isfinite(theirs)] if np.issubdtype(theirs.dtype, np.floating) else theirs
    scale = max(1.0, float(np.max(np.abs(finite)))) if finite.size else 1.0
    np.testing.assert_allclose(ours, theirs, rtol=tol if rtol is None else rtol,
                               atol=tol * scale if atol is None else atol)
