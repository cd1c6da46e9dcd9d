"""Five ways to compute one convolution, each giving torch's numbers: direct loops, im2col + one
matrix product, shift-and-accumulate, Winograd F(2×2, 3×3) and the FFT.

`cnnref.functional.conv2d` takes ``algorithm=`` one of `ALGORITHMS` or ``"auto"`` (`pick` chooses by
shape); the default, ``"im2col"``, is the path `conv2d` has always taken. The kernels here take what
`cnnref.loops.conv2d` (the direct loops) takes: batched arrays and tuples,
``x: (N, C_in, H, W) -> (N, C_out, H_out, W_out)``, ``w: (C_out, C_in/groups, kH, kW)``,
``b: (C_out,)`` or None, ``pads = ((top, bottom), (left, right))``; `conv2d` checks the arguments,
and `check` refuses a case outside an algorithm's domain. Multiply-adds for ``N·C_out·H_out·W_out``
outputs of ``C_in/groups·kH·kW`` taps each (`macs` counts them):

- direct and im2col: all of them; im2col copies every window once into a matrix ``kH·kW`` times
  the input's size, then makes one matrix product of it.
- shift: the same products as ``kH·kW`` matrix products, one per kernel tap, each over the padded
  input shifted by that tap: no im2col matrix. At stride 1 the shifted input is a view of each
  padded image read as a ``(C_in, Hp·Wp)`` matrix (``Hp·Wp / (H_out·W_out)`` times the outputs are
  computed, the ones that straddle a row's end are dropped).
- winograd: 3×3 kernels, stride 1, dilation 1. Each 4×4 input tile ``d`` gives a 2×2 output tile
  ``Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A``: 16 multiplies where the direct way makes 36 (2.25 times fewer),
  done as 16 matrix products over the channels.
- fft: stride 1. Cross-correlation is a product of spectra, ``irfft2(rfft2(x) · conj(rfft2(w)))``:
  about ``Hp·Wp·log2(Hp·Wp)`` per image and channel for the transforms, then ``C_in/groups``
  complex multiply-adds per output frequency, independent of the kernel's size.
"""

from __future__ import annotations

import numpy as np
import scipy.fft
from scipy.linalg import blas

from cnnref import shapes
from cnnref._windows import pad

__all__ = ["ALGORITHMS", "CHOICES", "WINOGRAD_BT", "WINOGRAD_G", "WINOGRAD_AT", "domain", "check", "pick",
           "macs", "shift", "shift_backward", "winograd", "fft"]

ALGORITHMS = ("direct", "im2col", "shift", "winograd", "fft")
CHOICES = ALGORITHMS + ("auto",)

# Winograd F(2x2, 3x3) (Lavin and Gray, 2016): input transform B^T, filter transform G, output transform A^T
WINOGRAD_BT = np.array([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]], dtype=np.float64)
WINOGRAD_G = np.array([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]], dtype=np.float64)
WINOGRAD_AT = np.array([[1, 1, 1, 0], [0, 1, -1, -1]], dtype=np.float64)


# ----------------------------------------------------------------------------- domains and the choice
def domain(algorithm: str, kernel, stride, dilation) -> str | None:
    """What ``algorithm`` cannot do for this shape, or None where it computes it.

    Examples:
        >>> domain("winograd", (3, 3), (1, 1), (1, 1)) is None
        True
        >>> domain("winograd", (5, 5), (1, 1), (1, 1))
        'algorithm="winograd" computes 3x3 kernels with stride 1 and dilation 1, got kernel (5, 5), stride (1, 1), dilation (1, 1)'
    """
    kernel, stride, dilation = tuple(kernel), tuple(stride), tuple(dilation)
    if algorithm == "winograd" and (kernel != (3, 3) or stride != (1, 1) or dilation != (1, 1)):
        return (f'algorithm="winograd" computes 3x3 kernels with stride 1 and dilation 1, got kernel {kernel}, '
                f"stride {stride}, dilation {dilation}")
    if algorithm == "fft" and stride != (1, 1):
        return f'algorithm="fft" computes stride 1 only (any kernel, dilation, groups), got stride {stride}'
    return None


def check(func: str, algorithm, x: np.ndarray, w: np.ndarray, stride, dilation, groups: int) -> str:
    """The algorithm to run for ``algorithm`` (``"auto"`` resolved by `pick`); a ValueError naming
    ``algorithm`` and what it supports where the case is outside its domain.

    The transforms (winograd, fft) mix every input of a tile or an image into every output of it,
    so a NaN or an infinity would reach outputs whose windows never saw it: they refuse them.
    """
    if not isinstance(algorithm, str) or algorithm not in CHOICES:
        raise ValueError(f"{func}: algorithm must be one of {', '.join(map(repr, CHOICES))}, got {algorithm!r}")
    if algorithm == "auto":
        finite = bool(np.isfinite(x).all() and np.isfinite(w).all())
        return pick(w.shape[2:], stride, dilation, w.shape[1], w.shape[0] // groups, finite)
    reason = domain(algorithm, w.shape[2:], stride, dilation)
    if reason is None and algorithm in ("winograd", "fft") and not (np.isfinite(x).all() and np.isfinite(w).all()):
        reason = (f'algorithm="{algorithm}" computes finite inputs and weights only (a transform spreads a NaN '
                  f"or an infinity to outputs whose windows do not hold it)")
    if reason is not None:
        raise ValueError(f'{func}: {reason}; use algorithm="im2col" (any case) or "auto"')
    return algorithm


def pick(kernel, stride, dilation, c_in_per_group: int, c_out_per_group: int, finite: bool = True) -> str:
    """``algorithm="auto"``: the algorithm for a shape, by what each one costs.

    - 3x3, stride 1, dilation 1, at least 16 channels in and out per group: winograd (2.25 times
      fewer multiplies; with fewer channels its transforms cost more than the products they save).
    - a kernel of 9x9 or more at stride 1: fft (its cost does not grow with the kernel).
    - stride 1 otherwise, with at least 16 input channels per group: shift (no im2col matrix; its
      ``kH·kW`` products each have ``C_in/groups`` terms, too short below 16).
    - anything else: im2col.
    A NaN or infinity in the input or weight rules out winograd and fft (see `check`).

    Examples:
        >>> pick((3, 3), (1, 1), (1, 1), 64, 64), pick((1, 1), (1, 1), (1, 1), 256, 64)
        ('winograd', 'shift')
        >>> pick((11, 11), (4, 4), (1, 1), 3, 96)
        'im2col'
    """
    stride1 = tuple(stride) == (1, 1)
    if finite and domain("winograd", kernel, stride, dilation) is None and min(c_in_per_group, c_out_per_group) >= 16:
        return "winograd"
    if finite and stride1 and min(kernel) >= 9:
        return "fft"
    if stride1 and c_in_per_group >= 16:
        return "shift"
    return "im2col"


def macs(algorithm: str, x_shape, w_shape, out_shape) -> int:
    """Multiply-adds of ``algorithm`` for one call (the FFT's: its complex products counted as 4
    real ones, and ``n·log2(n)`` per transform of ``n`` points; shift's: the stride-1 layout).

    Examples:
        >>> macs("im2col", (1, 8, 8, 8), (8, 8, 3, 3), (1, 8, 8, 8)), macs("winograd", (1, 8, 8, 8), (8, 8, 3, 3), (1, 8, 8, 8))
        (36864, 16384)
    """
    N, C = x_shape[:2]
    O, Cg, kH, kW = w_shape
    Ho, Wo = out_shape[-2:]
    if algorithm in ("direct", "im2col"):
        return N * O * Ho * Wo * Cg * kH * kW
    Hp, Wp = Ho + kH - 1, Wo + kW - 1               # the padded input, for stride 1 and dilation 1
    if algorithm == "shift":
        return N * O * Hp * Wp * Cg * kH * kW
    if algorithm == "winograd":
        return N * O * 16 * -(-Ho // 2) * -(-Wo // 2) * Cg
    if algorithm == "fft":
        n = Hp * Wp
        transforms = (N * C + O * Cg + N * O) * int(n * np.log2(n))
        return transforms + 4 * N * O * Cg * Hp * (Wp // 2 + 1)
    raise ValueError(f"macs: algorithm must be one of {', '.join(map(repr, ALGORITHMS))}, got {algorithm!r}")


# ----------------------------------------------------------------------------- shift-and-accumulate
def _gemm_add(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> None:
    """``c += a @ b`` in place, one BLAS gemm with beta = 1. NumPy's matmul always overwrites its
    ``out``, and adding its result afterwards would pass over ``c`` again, so the BLAS routine is
    called directly (SciPy exposes it): as column-major matrices the transposes ``cᵀ += bᵀ aᵀ``
    are views of the row-major arrays, nothing is copied. Were ``c`` not C-contiguous, SciPy
    would work on a copy: then the result is written back."""
    gemm = blas.get_blas_funcs("gemm", (c,))
    result = gemm(1.0, b.T, a.T, beta=1.0, c=c.T, overwrite_c=1)
    if not np.shares_memory(result, c):
        c[...] = result.T


def _channels_last(x: np.ndarray, pads, groups: int) -> np.ndarray:
    """The padded input as ``(groups, N, Hp, Wp, C_in/groups)``, C-contiguous (the one copy)."""
    N, C, H, W = x.shape
    (top, bottom), (left, right) = pads
    Cg = C // groups
    out = np.zeros((groups, N, H + top + bottom, W + left + right, Cg), dtype=x.dtype)
    out[:, :, top:top + H, left:left + W] = x.reshape(N, groups, Cg, H, W).transpose(1, 0, 3, 4, 2)
    return out


def shift(x, w, b, stride, pads, dilation, groups):
    """Shift-and-accumulate: ``out = sum_{i,j} w[:, :, i, j] @ shifted_{i,j}(x)``, one matrix
    product per kernel tap, accumulated in place; any stride, dilation and groups.

    At stride 1 each image's padded input is a ``(C_in, Hp·Wp)`` matrix, and tap ``(i, j)`` is the
    same matrix read from ``i·dH·Wp + j·dW`` elements further on (a view: rows keep their stride);
    output position ``p`` of the padded grid adds that view's column ``p``. Positions that run past
    a row's end are computed and dropped; the last rows read into a slack of zeros after the input.
    At larger strides each tap's strided view is copied, channels last, into one reused buffer.

    Examples:
        >>> x, w = np.arange(16.0).reshape(1, 1, 4, 4), np.ones((1, 1, 3, 3))
        >>> shift(x, w, None, (1, 1), ((0, 0), (0, 0)), (1, 1), 1)
        array([[[[45., 54.],
                 [81., 90.]]]])
    """
    if tuple(stride) != (1, 1):
        return _shift_strided(x, w, b, stride, pads, dilation, groups)
    N, C_in = x.shape[:2]
    C_out, Cg, kH, kW = w.shape
    G, Og = groups, C_out // groups
    dH, dW = dilation
    flat, Hp, Wp, _ = _flat_grid(x, w, pads, dilation)
    P = Hp * Wp
    taps = np.ascontiguousarray(w.reshape(G, Og, Cg, kH, kW).transpose(0, 3, 4, 1, 2))   # (G, kH, kW, Og, Cg)
    out = np.empty((N, C_out, P), dtype=x.dtype)
    out[...] = 0 if b is None else b[:, None]
    for n in range(N):
        for g in range(G):
            for i in range(kH):
                for j in range(kW):
                    start = (n * C_in + g * Cg) * P + i * dH * Wp + j * dW
                    _gemm_add(taps[g, i, j], _rows(flat, start, Cg, P), out[n, g * Og:(g + 1) * Og])
    H_out, W_out = Hp - (kH - 1) * dH, Wp - (kW - 1) * dW
    out = out.reshape(N, C_out, Hp, Wp)
    return out if (H_out, W_out) == (Hp, Wp) else np.ascontiguousarray(out[:, :, :H_out, :W_out])


def _shift_strided(x, w, b, stride, pads, dilation, groups):
    """`shift` at a stride above 1: each tap's strided view copied into a buffer, then multiplied."""
    N = x.shape[0]
    C_out, Cg, kH, kW = w.shape
    G, Og = groups, C_out // groups
    (sH, sW), (dH, dW) = stride, dilation
    xp = _channels_last(x, pads, G)                               # (G, N, Hp, Wp, Cg)
    H_out, W_out = shapes.conv_output_size(xp.shape[2:4], (kH, kW), stride, 0, dilation)
    taps = np.ascontiguousarray(w.reshape(G, Og, Cg, kH, kW).transpose(0, 3, 4, 2, 1))   # (G, kH, kW, Cg, Og)
    out = np.empty((G, N * H_out * W_out, Og), dtype=x.dtype)
    buf = np.empty((N, H_out, W_out, Cg), dtype=x.dtype)
    for g in range(G):
        out[g] = 0 if b is None else b[g * Og:(g + 1) * Og]
        for i in range(kH):
            for j in range(kW):
                np.copyto(buf, xp[g, :, i * dH:i * dH + sH * (H_out - 1) + 1:sH,
                                  j * dW:j * dW + sW * (W_out - 1) + 1:sW])
                _gemm_add(buf.reshape(-1, Cg), taps[g, i, j], out[g])
    out = out.reshape(G, N, H_out, W_out, Og)
    return np.ascontiguousarray(out.transpose(1, 0, 4, 2, 3)).reshape(N, C_out, H_out, W_out)


def _flat_grid(x, w, pads, dilation):
    """What `shift` and `shift_backward` read their taps from: ``(flat, Hp, Wp, slack)``, the
    images zero-padded to ``Hp x Wp`` and laid end to end, then ``slack`` zeros, how far the last tap
    of ``w`` (dilated) reads past the end."""
    (top, bottom), (left, right) = pads
    Hp, Wp = x.shape[2] + top + bottom, x.shape[3] + left + right
    slack = (w.shape[2] - 1) * dilation[0] * Wp + (w.shape[3] - 1) * dilation[1]
    return _padded_flat(x, pads, slack), Hp, Wp, slack


def _rows(flat, start, rows, length):
    """``rows`` consecutive rows of ``length`` in ``flat`` from ``start``, as a view (a tap's
    shifted input; written through in the backward)."""
    step = flat.strides[0]
    return np.lib.stride_tricks.as_strided(flat[start:], (rows, length), (length * step, step))


def _padded_flat(x, pads, slack):
    """Each image of ``x`` zero-padded, all of them in one flat array, then ``slack`` zeros (as
    `shift` reads them); ``x`` itself, flattened, where there is nothing to add."""
    N, C, H, W = x.shape
    (top, bottom), (left, right) = pads
    if not (slack or top or bottom or left or right):
        return np.ascontiguousarray(x).reshape(-1)
    Hp, Wp = H + top + bottom, W + left + right
    flat = np.zeros(N * C * Hp * Wp + slack, dtype=x.dtype)
    flat[:N * C * Hp * Wp].reshape(N, C, Hp, Wp)[:, :, top:top + H, left:left + W] = x
    return flat


def shift_backward(g, x, w, pads, dilation, groups):
    """Gradients of a stride-1 convolution by shifts: ``(grad_input, grad_weight, grad_bias)``.

    The output gradient is written on the padded grid, zero at the positions `shift` drops. Then,
    per image and tap ``(i, j)``, with ``xs`` the input read ``i·dH·Wp + j·dW`` elements on (the
    view `shift` multiplies): ``grad_weight[:, :, i, j] += g @ xsᵀ``, and the padded input's
    gradient, read at the same offset, ``+= w[:, :, i, j]ᵀ @ g``. Where that view runs into the
    next row or image it meets only the zeros of the dropped positions.

    Examples:
        >>> gx, gw, gb = shift_backward(np.ones((1, 1, 2, 2)), np.ones((1, 1, 3, 3)), np.ones((1, 1, 2, 2)),
        ...                             ((0, 0), (0, 0)), (1, 1), 1)
        >>> gx[0, 0]
        array([[1., 2., 1.],
               [2., 4., 2.],
               [1., 2., 1.]])
    """
    N, C_in, H, W = x.shape
    C_out, Cg, kH, kW = w.shape
    G, Og = groups, C_out // groups
    (dH, dW), ((top, _), (left, _)) = dilation, pads
    flat, Hp, Wp, slack = _flat_grid(x, w, pads, dilation)
    P = Hp * Wp
    H_out, W_out = g.shape[-2:]
    g_grid = np.zeros((N, C_out, Hp, Wp), dtype=g.dtype)
    g_grid[:, :, :H_out, :W_out] = g
    g_grid = g_grid.reshape(N, C_out, P)
    grad_flat = np.zeros(N * C_in * P + slack, dtype=x.dtype)      # the padded input's gradient
    taps_t = np.ascontiguousarray(w.reshape(G, Og, Cg, kH, kW).transpose(0, 3, 4, 2, 1))   # (G, kH, kW, Cg, Og)
    grad_w = np.zeros((G, kH, kW, Og, Cg), dtype=x.dtype)
    for n in range(N):
        for gi in range(G):
            gn = g_grid[n, gi * Og:(gi + 1) * Og]                   # (Og, Hp*Wp)
            for i in range(kH):
                for j in range(kW):
                    start = (n * C_in + gi * Cg) * P + i * dH * Wp + j * dW
                    _gemm_add(gn, _rows(flat, start, Cg, P).T, grad_w[gi, i, j])
                    _gemm_add(taps_t[gi, i, j], gn, _rows(grad_flat, start, Cg, P))
    grad_x = grad_flat[:N * C_in * P].reshape(N, C_in, Hp, Wp)[:, :, top:top + H, left:left + W]
    grad_w = grad_w.transpose(0, 3, 4, 1, 2).reshape(w.shape)
    return np.ascontiguousarray(grad_x), np.ascontiguousarray(grad_w), g.sum(axis=(0, 2, 3))


# ----------------------------------------------------------------------------- Winograd F(2x2, 3x3)
def _bt(d0, d1, d2, d3, out):
    """``Bᵀ d`` for every tile at once, ``d0 .. d3`` the tiles' four rows (or columns): Bᵀ's rows are
    ``d0 - d2``, ``d1 + d2``, ``d2 - d1``, ``d1 - d3``, additions only, written into ``out[0 .. 3]``."""
    np.subtract(d0, d2, out=out[0])
    np.add(d1, d2, out=out[1])
    np.subtract(d2, d1, out=out[2])
    np.subtract(d1, d3, out=out[3])


def _parity_fills(size, before):
    """For each parity p of a padded coordinate ``2t + p``: the input slice that lands there and the
    range of ``t`` it fills (``before`` zeros in front of an input of ``size``)."""
    fills = []
    for p in range(2):
        first = (p - before) % 2                 # the first input index whose padded index has parity p
        count = len(range(first, size, 2))
        start = (first + before) // 2
        fills.append((slice(first, size, 2), slice(start, start + count)))
    return fills


def winograd(x, w, b, stride, pads, dilation, groups, chunk: int | None = None):
    """Winograd F(2×2, 3×3): every 2×2 output tile from its 4×4 input tile with 16 multiplies per
    channel pair instead of 36. Transforms ``V = Bᵀ d B`` (input tile), ``U = G g Gᵀ`` (filter),
    ``Y = Aᵀ M A`` with ``M[ξ, ν] = sum_c V[ξ, ν, tile, c] U[ξ, ν, c, o]``: 16 matrix products.

    Tile ``(t, u)`` reads padded rows ``2t .. 2t+3`` and columns ``2u .. 2u+3``. The padded input is
    stored split by the parity of its row and of its column, channels last, so that row ``2t + a``
    of every tile at once is one slice (parity ``a % 2``, tiles ``t + a // 2``) and each step of the
    transforms is an addition of whole slices. The transforms run ``chunk`` images at a time so
    that their arrays stay in the CPU's cache between the steps (default: about 256 tiles per
    chunk, enough rows for the 16 matrix products to run at the BLAS's speed).

    Examples:
        >>> x, w = np.arange(16.0).reshape(1, 1, 4, 4), np.ones((1, 1, 3, 3))
        >>> winograd(x, w, None, (1, 1), ((0, 0), (0, 0)), (1, 1), 1)
        array([[[[45., 54.],
                 [81., 90.]]]])
    """
    N, C_in, H, W = x.shape
    C_out, Cg, _, _ = w.shape
    G, Og = groups, C_out // groups
    (top, bottom), (left, right) = pads
    H_out, W_out = H + top + bottom - 2, W + left + right - 2
    Th, Tw = -(-H_out // 2), -(-W_out // 2)                         # tiles; the last may stick out: zeros
    dt = x.dtype
    U = np.einsum("xi,ocij,yj->xyoc", WINOGRAD_G, w, WINOGRAD_G)    # G g Gᵀ: (4, 4, C_out, Cg)
    U = np.ascontiguousarray(U.reshape(16, G, Og, Cg).transpose(0, 1, 3, 2)).astype(dt)   # (16, G, Cg, Og)
    n = max(1, min(N, 256 // (Th * Tw) if chunk is None else chunk))
    xs = np.zeros((G, n, 2, Th + 1, 2, Tw + 1, Cg), dtype=dt)       # [.., p, t, q, u, c]: padded (2t+p, 2u+q)
    half = np.empty((4, G, n, Th, 2, Tw + 1, Cg), dtype=dt)
    V = np.empty((4, 4, G, n, Th, Tw, Cg), dtype=dt)
    M = np.empty((16, G, n * Th * Tw, Og), dtype=dt)
    P = np.empty((2, 4, G, n, Th, Tw, Og), dtype=dt)
    Y = np.empty((G, n, Th, 2, Tw, 2, Og), dtype=dt)
    out = np.empty((N, C_out, H_out, W_out), dtype=dt)
    fills = [(p, q, rows, cols, ts, us) for p, (rows, ts) in enumerate(_parity_fills(H, top))
             for q, (cols, us) in enumerate(_parity_fills(W, left))]
    for n0 in range(0, N, n):
        m = min(n, N - n0)
        xm = x[n0:n0 + m].reshape(m, G, Cg, H, W)
        for p, q, rows, cols, ts, us in fills:
            xs[:, :m, p, ts, q, us] = xm[:, :, :, rows, cols].transpose(1, 0, 3, 4, 2)
        _bt(xs[:, :, 0, :Th], xs[:, :, 1, :Th], xs[:, :, 0, 1:], xs[:, :, 1, 1:], half)      # Bᵀ d
        for a in range(4):
            h = half[a]
            _bt(h[:, :, :, 0, :Tw], h[:, :, :, 1, :Tw], h[:, :, :, 0, 1:], h[:, :, :, 1, 1:], V[a])   # (Bᵀ d) B
        np.matmul(V.reshape(16, G, n * Th * Tw, Cg), U, out=M)      # the 16 products over channels
        Mv = M.reshape(4, 4, G, n, Th, Tw, Og)
        np.add(Mv[0], Mv[1], out=P[0])                              # Aᵀ M: m0 + m1 + m2, m1 - m2 - m3
        P[0] += Mv[2]
        np.subtract(Mv[1], Mv[2], out=P[1])
        P[1] -= Mv[3]
        for r in range(2):                                          # (Aᵀ M) A, into output row r of each tile
            y = Y[:, :, :, r].transpose(4, 0, 1, 2, 3, 5)           # a view (2, G, n, Th, Tw, Og)
            np.add(P[r, 0], P[r, 1], out=y[0])
            y[0] += P[r, 2]
            np.subtract(P[r, 1], P[r, 2], out=y[1])
            y[1] -= P[r, 3]
        tiles = Y.reshape(G, n, 2 * Th, 2 * Tw, Og)[:, :m, :H_out, :W_out]
        out[n0:n0 + m] = tiles.transpose(1, 0, 4, 2, 3).reshape(m, C_out, H_out, W_out)
    if b is not None:
        out += b[:, None, None]
    return out


# ----------------------------------------------------------------------------- FFT
def fft(x, w, b, stride, pads, dilation, groups):
    """Cross-correlation as a product of spectra: ``irfft2(rfft2(xp) · conj(rfft2(w)))``, channels
    summed per frequency (a complex matrix product), then the valid part cut out. The spectra are
    as large as the padded input, so no output wraps around.

    Examples:
        >>> x, w = np.arange(16.0).reshape(1, 1, 4, 4), np.ones((1, 1, 3, 3))
        >>> fft(x, w, None, (1, 1), ((0, 0), (0, 0)), (1, 1), 1).round(12)
        array([[[[45., 54.],
                 [81., 90.]]]])
    """
    xp = pad(x, pads)
    N, C_in, Hp, Wp = xp.shape
    C_out, Cg, kH, kW = w.shape
    G, Og = groups, C_out // groups
    dH, dW = dilation
    H_out, W_out = Hp - dH * (kH - 1), Wp - dW * (kW - 1)
    wd = np.zeros((C_out, Cg, dH * (kH - 1) + 1, dW * (kW - 1) + 1), dtype=w.dtype)
    wd[:, :, ::dH, ::dW] = w                                        # the dilated kernel
    X = scipy.fft.rfft2(xp, s=(Hp, Wp))                             # (N, C_in, Hp, Wf)
    K = np.conj(scipy.fft.rfft2(wd, s=(Hp, Wp)))                    # (C_out, Cg, Hp, Wf)
    F = X.shape[-2] * X.shape[-1]
    Xf = X.reshape(N, G, Cg, F).transpose(3, 1, 0, 2)               # (F, G, N, Cg)
    Kf = K.reshape(G, Og, Cg, F).transpose(3, 0, 2, 1)              # (F, G, Cg, Og)
    Y = np.matmul(Xf, Kf)                                           # (F, G, N, Og)
    Y = Y.transpose(2, 1, 3, 0).reshape(N, C_out, Hp, X.shape[-1])
    out = scipy.fft.irfft2(Y, s=(Hp, Wp))[:, :, :H_out, :W_out].astype(x.dtype, copy=False)
    if b is not None:
        out = out + b[:, None, None]
    return np.ascontiguousarray(out)
