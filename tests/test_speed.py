"""cnnref.speed: the cases are checked against torch before they are timed, the thread counts come
back, and the rows have the shape the Performance page prints. No test asserts a time."""

import numpy as np
import pytest
import torch

from cnnref import functional as F
from cnnref import speed


def tiny():
    return speed.conv2d_case(n=2, c_in=3, c_out=4, size=7, k=3, padding=1)


def test_conv2d_case_shapes_and_im2col_size():
    case = speed.conv2d_case(n=2, c_in=3, c_out=5, size=9, k=3, padding=0)
    assert case.x.dtype == case.w.dtype == case.g.dtype == np.float32
    out = torch.nn.functional.conv2d(torch.from_numpy(case.x), torch.from_numpy(case.w))
    assert case.g.shape == tuple(out.shape)
    # the im2col matrix is the unfolded input: C_in*k*k rows, N*H_out*W_out columns
    unfolded = torch.nn.functional.unfold(torch.from_numpy(case.x), 3)
    assert case.im2col_bytes == unfolded.numel() * 4
    with pytest.raises(ValueError, match="conv2d_case: a 5x5 kernel does not fit a 3x3 input with padding 0"):
        speed.conv2d_case(size=3, k=5, padding=0)


def test_conv2d_vs_torch_rows_and_threads_restored():
    before = torch.get_num_threads()
    rows = speed.conv2d_vs_torch(tiny(), repeat=3)
    assert list(rows) == ["forward", "backward"]
    for pair in rows.values():
        assert len(pair.ours.times) == len(pair.theirs.times) == 3
        assert all(t > 0 for t in pair.ours.times + pair.theirs.times)
    assert torch.get_num_threads() == before


def test_conv2d_vs_torch_refuses_to_time_a_wrong_kernel(monkeypatch):
    real = F.conv2d

    def off_by_one(*args, **kwargs):
        return real(*args, **kwargs) + 1

    monkeypatch.setattr(speed.F, "conv2d", off_by_one)
    with pytest.raises(AssertionError, match="conv2d: cnnref and torch differ"):
        speed.conv2d_vs_torch(tiny(), repeat=1)


def test_conv2d_vs_torch_checks_the_gradients_too(monkeypatch):
    real = F.conv2d_backward

    def wrong_bias_grad(*args, **kwargs):
        gx, gw, gb = real(*args, **kwargs)
        return gx, gw, 2 * gb

    monkeypatch.setattr(speed.F, "conv2d_backward", wrong_bias_grad)
    with pytest.raises(AssertionError, match="conv2d_backward grad_bias: cnnref and torch differ"):
        speed.conv2d_vs_torch(tiny(), repeat=1)


def test_loop_vs_im2col_runs_short_calls_many_times():
    loop, im2col = speed.loop_vs_im2col(tiny(), repeat=2)
    assert loop.number == 1 and len(loop.times) == len(im2col.times) == 2
    assert im2col.number >= 1


def test_optimizer_rows_cover_every_shape_and_optimizer():
    shapes = {"a": [(3, 2), (2,)], "b": [(5,)]}
    rows = speed.optimizer_step_vs_torch(shapes, repeat=1)
    assert [(label, name) for label, name, _ in rows] == [(s, o) for s in shapes for o in speed.OPTIMIZERS]


def test_optimizer_rows_refuse_a_wrong_step(monkeypatch):
    real = speed.optim.SGD.step

    def half_step(self):
        before = [p.data.copy() for g in self.param_groups for p in g["params"]]
        real(self)
        for p, b in zip((p for g in self.param_groups for p in g["params"]), before):
            p.data[...] = (p.data + b) / 2

    monkeypatch.setattr(speed.optim.SGD, "step", half_step)
    with pytest.raises(AssertionError, match="SGD step: cnnref and torch differ"):
        speed.optimizer_step_vs_torch({"a": [(4,)]}, repeat=1)


def test_peak_bytes_sees_a_numpy_buffer():
    assert speed.peak_bytes(lambda: np.ones(250_000)) >= 250_000 * 8
    assert speed.peak_bytes(lambda: None) < 10_000


def test_algorithms_vs_torch_checks_every_algorithm_before_timing(monkeypatch):
    real = F.conv2d

    def wrong_shift(*args, algorithm="im2col", **kwargs):
        return real(*args, algorithm=algorithm, **kwargs) + (algorithm == "shift")

    monkeypatch.setattr(speed.F, "conv2d", wrong_shift)
    rows = speed.algorithms_vs_torch(tiny(), ["im2col"], repeat=1)
    assert list(rows) == ["im2col"] and len(rows["im2col"].ours.times) == 1
    with pytest.raises(AssertionError, match="conv2d algorithm=shift: cnnref and torch differ"):
        speed.algorithms_vs_torch(tiny(), ["im2col", "shift"], repeat=1)


def test_gemm_floor_times_the_product_of_the_im2col_sizes():
    floor = speed.gemm_floor(tiny(), repeat=3)
    assert len(floor.times) == 3 and floor.min > 0


def test_train_epoch_vs_torch_refuses_a_loop_that_trains_differently(monkeypatch):
    import cnnref.train

    real = cnnref.train.train_one_epoch

    def one_more_step(net, loader, optimizer, *args, **kwargs):
        result = real(net, loader, optimizer, *args, **kwargs)
        optimizer.step()                       # a second step with the last gradients
        return result

    assert speed.train_epoch_vs_torch(batches=2, batch_size=4, repeat=2).ratio > 0
    monkeypatch.setattr(cnnref.train, "train_one_epoch", one_more_step)
    with pytest.raises(AssertionError, match="train_one_epoch .*: cnnref and torch differ"):
        speed.train_epoch_vs_torch(batches=2, batch_size=4, repeat=1)
