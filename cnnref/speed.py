"""What the Performance page and the scripts in ``benchmarks/`` time: cnnref's NumPy kernels
against torch on the CPU.

Every function first checks that the two sides compute the same numbers, then times them
with [`cnnref.timing`][cnnref.timing] (median and spread of alternating runs) with the same
number of threads on both sides.
"""

from __future__ import annotations

import dataclasses
import tracemalloc
from types import SimpleNamespace
from typing import Callable

import numpy as np
import torch

from cnnref import functional as F
from cnnref import optim
from cnnref.timing import Pair, Timing, compare, measure, threads

__all__ = ["ConvCase", "conv2d_case", "CONV_CASES", "conv2d_vs_torch", "algorithms_vs_torch", "gemm_floor",
           "loop_vs_im2col", "train_epoch_vs_torch", "OPTIMIZERS", "optimizer_shapes",
           "optimizer_step_vs_torch", "peak_bytes"]


@dataclasses.dataclass(frozen=True)
class ConvCase:
    """The float32 arrays of one convolution: input, weight, bias, a gradient of the output."""

    x: np.ndarray   # (N, C_in, H, W)
    w: np.ndarray   # (C_out, C_in, k, k)
    b: np.ndarray   # (C_out,)
    g: np.ndarray   # (N, C_out, H_out, W_out)
    padding: int
    stride: int = 1

    @property
    def im2col_bytes(self) -> int:
        """Size of the im2col matrix, ``C_in*k*k`` rows by ``N*H_out*W_out`` columns."""
        n, c_in = self.x.shape[:2]
        k = self.w.shape[-1]
        return c_in * k * k * n * self.g.shape[2] * self.g.shape[3] * self.x.itemsize


def conv2d_case(n: int = 8, c_in: int = 64, c_out: int = 64, size: int = 32, k: int = 3, padding: int = 1,
                seed: int = 0, stride: int = 1) -> ConvCase:
    """Random float32 arrays for ``conv2d`` on an ``(n, c_in, size, size)`` input.

    The weight is scaled by ``1/sqrt(c_in*k*k)`` so the outputs stay near unit size.

    Examples:
        >>> case = conv2d_case(n=2, c_in=3, c_out=4, size=8)
        >>> case.x.shape, case.w.shape, case.g.shape, case.im2col_bytes
        ((2, 3, 8, 8), (4, 3, 3, 3), (2, 4, 8, 8), 13824)
    """
    rng = np.random.default_rng(seed)
    h_out = (size + 2 * padding - k) // stride + 1
    if size + 2 * padding < k:
        raise ValueError(f"conv2d_case: a {k}x{k} kernel does not fit a {size}x{size} input with padding {padding}")
    x = rng.standard_normal((n, c_in, size, size), dtype=np.float32)
    w = (rng.standard_normal((c_out, c_in, k, k), dtype=np.float32) / np.sqrt(c_in * k * k)).astype(np.float32)
    b = rng.standard_normal(c_out, dtype=np.float32)
    g = rng.standard_normal((n, c_out, h_out, h_out), dtype=np.float32)
    return ConvCase(x, w, b, g, padding, stride)


# the shapes benchmarks/conv_speed.py times: a 3x3 layer of a small CNN, AlexNet's first layer, a
# 3x3 layer of ResNet's third stage, a 1x1 layer (keyword arguments of `conv2d_case`)
CONV_CASES: dict[str, dict] = {
    "3x3 64->64 32x32 N=32": dict(n=32, c_in=64, c_out=64, size=32, k=3, padding=1),
    "AlexNet conv1 11x11/4 N=8": dict(n=8, c_in=3, c_out=96, size=227, k=11, padding=0, stride=4),
    "ResNet 3x3 256->256 14x14 N=16": dict(n=16, c_in=256, c_out=256, size=14, k=3, padding=1),
    "1x1 256->64 28x28 N=16": dict(n=16, c_in=256, c_out=64, size=28, k=1, padding=0),
}


def _close(name: str, ours: np.ndarray, theirs: np.ndarray, tol: float = 1e-4) -> None:
    """Raise unless ours equals theirs to ``tol`` relative to the largest value (float32 sums)."""
    err = float(np.max(np.abs(ours - theirs)) / max(1.0, float(np.max(np.abs(theirs)))))
    if ours.shape != theirs.shape or not err < tol:
        raise AssertionError(f"{name}: cnnref and torch differ (shapes {ours.shape}, {theirs.shape}; "
                             f"relative error {err:.2e}, expected < {tol:g}); nothing was timed")


def conv2d_vs_torch(case: ConvCase | None = None, repeat: int = 7, n_threads: int = 1,
                    algorithm: str = "im2col") -> dict[str, Pair]:
    """Time ``cnnref.functional.conv2d`` and ``conv2d_backward`` against torch on the CPU.

    Forward: one call each (torch under ``no_grad``). Backward: ours is ``conv2d_backward``
    (it rebuilds the im2col matrix from the input); torch's is ``out.backward(g)`` of a
    forward pass run, untimed, just before it. Both give the gradients of input, weight and
    bias, which are checked against each other, as are the outputs, before anything is timed.

    Args:
        case: the arrays (default: ``conv2d_case()``).
        repeat: timed runs per side.
        n_threads: threads for NumPy's BLAS and for torch.
        algorithm: the ``algorithm`` of our forward call (`cnnref.conv_algorithms`).

    Returns:
        ``{"forward": Pair, "backward": Pair}`` ([`Pair`][cnnref.timing.Pair]: ours, torch).

    Examples:
        >>> rows = conv2d_vs_torch(conv2d_case(n=1, c_in=2, c_out=2, size=6), repeat=1)
        >>> list(rows), rows["forward"].ratio > 0
        (['forward', 'backward'], True)
    """
    c = conv2d_case() if case is None else case
    xt, wt, bt = (torch.from_numpy(a).requires_grad_() for a in (c.x, c.w, c.b))
    gt = torch.from_numpy(c.g)
    conv = dict(stride=c.stride, padding=c.padding)

    def torch_forward():
        with torch.no_grad():
            return torch.nn.functional.conv2d(xt, wt, bt, **conv)

    def torch_graph():  # untimed: a fresh graph and no gradient left from the last call
        xt.grad = wt.grad = bt.grad = None
        return torch.nn.functional.conv2d(xt, wt, bt, **conv)

    def ours():
        return F.conv2d(c.x, c.w, c.b, **conv, algorithm=algorithm)

    with threads(n_threads):
        _close("conv2d", ours(), torch_forward().numpy())
        grads = F.conv2d_backward(c.g, c.x, c.w, **conv)
        torch_graph().backward(gt)
        for name, mine, theirs in zip(("grad_input", "grad_weight", "grad_bias"), grads, (xt.grad, wt.grad, bt.grad)):
            _close(f"conv2d_backward {name}", mine, theirs.numpy())
        return {
            "forward": compare(ours, torch_forward, repeat=repeat),
            "backward": compare(lambda: F.conv2d_backward(c.g, c.x, c.w, **conv),
                                lambda out: out.backward(gt), repeat=repeat, setup_theirs=torch_graph),
        }


def algorithms_vs_torch(case: ConvCase, algorithms, repeat: int = 7, n_threads: int = 1) -> dict[str, Pair]:
    """Time the forward ``conv2d(..., algorithm=a)`` of each of ``algorithms`` against torch's, each
    pair in alternating runs, after checking that each gives torch's output.

    Examples:
        >>> rows = algorithms_vs_torch(conv2d_case(n=1, c_in=2, c_out=2, size=6), ["shift", "fft"], repeat=1)
        >>> list(rows)
        ['shift', 'fft']
    """
    xt, wt, bt = (torch.from_numpy(a) for a in (case.x, case.w, case.b))
    conv = dict(stride=case.stride, padding=case.padding)

    def torch_forward():
        with torch.no_grad():
            return torch.nn.functional.conv2d(xt, wt, bt, **conv)

    rows = {}
    with threads(n_threads):
        expected = torch_forward().numpy()
        for a in algorithms:
            def ours(a=a):
                return F.conv2d(case.x, case.w, case.b, **conv, algorithm=a)
            _close(f"conv2d algorithm={a}", ours(), expected)
            rows[a] = compare(ours, torch_forward, repeat=repeat)
    return rows


def gemm_floor(case: ConvCase, repeat: int = 7, n_threads: int = 1) -> Timing:
    """The matrix product at the heart of im2col alone: ``(C_out, C_in·k·k) @ (C_in·k·k, N·H_out·W_out)``
    in float32 into a preallocated output, with NumPy's BLAS. No GEMM-based convolution of this
    shape is faster than it (shift makes the same products, split into ``k·k`` pieces).

    Examples:
        >>> gemm_floor(conv2d_case(n=1, c_in=2, c_out=2, size=6), repeat=1).median > 0
        True
    """
    rng = np.random.default_rng(0)
    k_rows = case.w[0].size
    columns = case.g.shape[0] * case.g.shape[2] * case.g.shape[3]
    a = rng.standard_normal((case.w.shape[0], k_rows), dtype=np.float32)
    b = rng.standard_normal((k_rows, columns), dtype=np.float32)
    out = np.empty((a.shape[0], columns), dtype=np.float32)
    with threads(n_threads):
        return measure(lambda: np.matmul(a, b, out=out), repeat=repeat)


def loop_vs_im2col(case: ConvCase | None = None, repeat: int = 7, n_threads: int = 1) -> tuple[Timing, Timing]:
    """Time ``conv2d_loop`` (one dot product per output value) and ``conv2d`` (im2col), float64.

    The im2col call is short: its runs hold as many calls as make a run of 2 ms.

    Returns:
        ``(loop, im2col)``, two [`Timing`][cnnref.timing.Timing]s, after checking they agree.

    Examples:
        >>> loop, im2col = loop_vs_im2col(conv2d_case(n=1, c_in=1, c_out=1, size=4), repeat=1)
        >>> loop.number, im2col.number >= 1
        (1, True)
    """
    c = conv2d_case(n=1, c_in=8, c_out=8, size=32) if case is None else case
    x, w = c.x.astype(np.float64), c.w.astype(np.float64)
    with threads(n_threads):
        expected = F.conv2d(x, w, padding=c.padding)
        if not np.allclose(F.conv2d_loop(x, w, padding=c.padding), expected, rtol=1e-12, atol=1e-12):
            raise AssertionError("loop_vs_im2col: conv2d_loop and conv2d differ; nothing was timed")
        loop = measure(lambda: F.conv2d_loop(x, w, padding=c.padding), repeat=repeat)
        im2col = measure(lambda: F.conv2d(x, w, padding=c.padding), repeat=repeat, number=None)
    return loop, im2col


# the optimizers timed, with the options both sides get
OPTIMIZERS: dict[str, dict] = {"SGD": dict(lr=0.01, momentum=0.9), "RMSprop": dict(lr=0.01), "Rprop": dict(lr=0.01),
                               "Adam": dict(lr=0.001)}


def optimizer_shapes() -> dict[str, list[tuple[int, ...]]]:
    """The parameter shapes timed: a small digits CNN's and one 1000x1000 layer's.

    Examples:
        >>> {label: sum(int(np.prod(s)) for s in shapes) for label, shapes in optimizer_shapes().items()}
        {'digits CNN': 1898, '1000x1000 layer': 1001000}
    """
    return {"digits CNN": [(8, 1, 3, 3), (8,), (16, 8, 3, 3), (16,), (10, 64), (10,)],
            "1000x1000 layer": [(1000, 1000), (1000,)]}


def optimizer_step_vs_torch(shapes: dict[str, list[tuple[int, ...]]] | None = None, repeat: int = 7,
                            n_threads: int = 1) -> list[tuple[str, str, Pair]]:
    """Time one ``step()`` of each optimizer in ``cnnref.optim`` against ``torch.optim`` (float64).

    torch runs with ``foreach=False``: parameter by parameter, as ours does. A short step is
    repeated within a run until the run lasts 2 ms. Before timing, one step of each side from
    the same weights and gradients must give the same weights.

    Returns:
        ``[(parameters, optimizer, Pair), ...]``, one row per shape set and optimizer.

    Examples:
        >>> rows = optimizer_step_vs_torch({"tiny": [(3,)]}, repeat=1)
        >>> [(label, name) for label, name, _ in rows][:2]
        [('tiny', 'SGD'), ('tiny', 'RMSprop')]
    """
    shapes = optimizer_shapes() if shapes is None else shapes
    rows = []
    with threads(n_threads):
        for label, shape_list in shapes.items():
            rng = np.random.default_rng(0)
            arrays = [rng.standard_normal(s) for s in shape_list]
            grads = [rng.standard_normal(s) for s in shape_list]
            for name, options in OPTIMIZERS.items():
                ours = [SimpleNamespace(data=a.copy(), grad=g.copy()) for a, g in zip(arrays, grads)]
                theirs = [torch.nn.Parameter(torch.from_numpy(a.copy())) for a in arrays]
                for p, g in zip(theirs, grads):
                    p.grad = torch.from_numpy(g.copy())
                ours_opt = getattr(optim, name)(ours, **options)
                theirs_opt = getattr(torch.optim, name)(theirs, foreach=False, **options)
                ours_opt.step()
                theirs_opt.step()
                for p, q in zip(ours, theirs):
                    _close(f"{name} step", p.data, q.detach().numpy(), tol=1e-12)
                rows.append((label, name, compare(ours_opt.step, theirs_opt.step, repeat=repeat, number=None)))
    return rows


def peak_bytes(fn: Callable[[], object]) -> int:
    """Peak memory NumPy and Python allocate during one call of ``fn``, above what was in use.

    tracemalloc sees NumPy's array buffers (NumPy reports them to it); torch's are not seen.

    Examples:
        >>> peak_bytes(lambda: np.zeros(1_000_000)) >= 8_000_000
        True
    """
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        fn()
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


def train_epoch_vs_torch(model: str = "lenet5", batches: int = 20, batch_size: int = 64, repeat: int = 7,
                         n_threads: int = 1) -> Pair:
    """Time one epoch of `cnnref.train.train_one_epoch` against the bare torch loop, on the CPU.

    Both train their own copy of the same model (``cnnref.models.get_model(model)``, 32x32 inputs)
    on the same batches with the same SGD optimizer (lr 0.01, momentum 0.9). The bare loop is
    ``zero_grad, loss = cross_entropy(net(x), y), loss.backward(), step`` per batch; ours adds
    autocast (off), a disabled GradScaler and the running loss and accuracy. Before timing, one
    epoch of each from the same weights must end at the same weights.

    Examples:
        >>> pair = train_epoch_vs_torch(batches=2, batch_size=4, repeat=1)
        >>> pair.ratio > 0
        True
    """
    from cnnref.models import get_model
    from cnnref.train import make_optimizer, train_one_epoch

    gen = torch.Generator().manual_seed(0)
    data = [(torch.randn(batch_size, 1, 32, 32, generator=gen), torch.randint(0, 10, (batch_size,), generator=gen))
            for _ in range(batches)]
    cpu = torch.device("cpu")
    torch.manual_seed(0)
    ours_net = get_model(model, num_classes=10)
    theirs_net = get_model(model, num_classes=10)
    theirs_net.load_state_dict(ours_net.state_dict())
    ours_opt = make_optimizer(ours_net.parameters(), "sgd", lr=0.01, momentum=0.9)
    theirs_opt = torch.optim.SGD(theirs_net.parameters(), lr=0.01, momentum=0.9)
    scaler = torch.amp.GradScaler("cpu", enabled=False)

    def ours():
        train_one_epoch(ours_net, data, ours_opt, scaler, cpu)

    def theirs():
        theirs_net.train()
        for x, y in data:
            theirs_opt.zero_grad(set_to_none=True)
            loss = torch.nn.functional.cross_entropy(theirs_net(x), y)
            loss.backward()
            theirs_opt.step()

    with threads(n_threads):
        ours()
        theirs()
        for (name, p), q in zip(ours_net.named_parameters(), theirs_net.parameters()):
            _close(f"train_one_epoch {name}", p.detach().numpy(), q.detach().numpy(), tol=1e-5)
        return compare(ours, theirs, repeat=repeat)
