"""Batch normalization against torch: the functional op (forward, backward, the in-place update of the
running statistics), BatchNorm1d/2d over sequences of training steps and then evaluation (outputs,
gradients, running_mean, running_var, num_batches_tracked), torch's state_dict and printing, the
errors torch raises, and gradcheck."""

import re

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given, settings, strategies as st

from cnnref import functional as F
from cnnref import nn
from cnnref.gradcheck import gradcheck
from tests.compare import (DTYPES, SEEDS, TORCH_DTYPE, assert_close, batch_norm_args, batch_norm_module, check_layer,
                           check_op, data, tensor, torch_forward_backward)

many = settings(max_examples=200, deadline=None)


@many
@given(case=st.data(), dtype=DTYPES)
def test_batch_norm_and_its_gradients_match_torch(case, dtype):
    check_op("batch_norm", case.draw, dtype)


@many
@given(case=st.data(), dtype=DTYPES)
def test_batch_norm_updates_the_running_statistics_in_place_like_torch(case, dtype):
    (x, w, b), kwargs = case.draw(batch_norm_args(dtype))
    kwargs["training"] = True
    if x.size == x.shape[1]:
        x = np.concatenate([x, x + dtype(1)])
    theirs = {k: tensor(v) for k, v in kwargs.items()}
    expected = TF.batch_norm(tensor(x), theirs.pop("running_mean"), theirs.pop("running_var"), tensor(w), tensor(b),
                             **theirs)
    mean, var = kwargs.pop("running_mean"), kwargs.pop("running_var")
    before = None if mean is None else (mean.copy(), var.copy())
    assert_close(F.batch_norm(x, mean, var, w, b, **kwargs), expected, dtype=True)
    if before is not None:
        t_mean, t_var = tensor(before[0]), tensor(before[1])
        TF.batch_norm(tensor(x), t_mean, t_var, training=True, momentum=kwargs["momentum"], eps=kwargs["eps"])
        assert_close(mean, t_mean, dtype=True)
        assert_close(var, t_var, dtype=True)        # unbiased: n / (n - 1) times the batch variance


@pytest.mark.parametrize("name", ["BatchNorm1d", "BatchNorm2d"])
@many
@given(case=st.data(), dtype=DTYPES)
def test_module_matches_torch_in_training_and_evaluation_mode(name, case, dtype):
    check_layer(name, case.draw, dtype)


@pytest.mark.parametrize("nd", [1, 2])
@many
@given(case=st.data(), dtype=DTYPES, steps=st.integers(1, 4), seed=SEEDS)
def test_running_buffers_follow_torch_over_a_sequence_of_steps(nd, case, dtype, steps, seed):
    ours, theirs, (x,) = case.draw(batch_norm_module(nd, dtype, None, None))
    ours.train(), theirs.train()
    theirs = theirs.to(TORCH_DTYPE[np.dtype(dtype)])
    ours.to(dtype).load_state_dict(theirs.state_dict())
    shape = (max(2, x.shape[0]),) + x.shape[1:]                 # several values per channel
    for step in range(steps + 1):
        if step == steps:                                       # the last step evaluates
            ours.eval(), theirs.eval()
        batch, = data(seed + step, dtype, shape)
        batch = (batch * dtype(3) + dtype(step)).astype(dtype)  # the statistics move from step to step
        expected, g, (gx,) = torch_forward_backward(theirs, [batch], grad_seed=seed % 1000 + step)
        ours.zero_grad(), theirs.zero_grad()
        assert_close(ours(batch), expected, dtype=True)
        assert_close(ours.backward(g), gx, dtype=True)
        theirs_state = theirs.state_dict()
        assert list(ours.state_dict()) == list(theirs_state)
        for key, value in theirs_state.items():
            assert_close(ours.state_dict()[key], value, dtype=True)


def test_momentum_none_is_the_cumulative_average_of_the_batches():
    bn = nn.BatchNorm1d(2, momentum=None, dtype=np.float64)
    rng = np.random.default_rng(0)
    batches = [rng.standard_normal((5, 2)) + i for i in range(4)]
    for x in batches:
        bn(x)
    np.testing.assert_allclose(bn.running_mean, np.mean([x.mean(0) for x in batches], axis=0), rtol=1e-12)
    np.testing.assert_allclose(bn.running_var, np.mean([x.var(0, ddof=1) for x in batches], axis=0), rtol=1e-12)
    assert int(bn.num_batches_tracked) == 4


@pytest.mark.parametrize("options", [{}, {"affine": False}, {"track_running_stats": False},
                                     {"affine": False, "track_running_stats": False}, {"momentum": None}])
@pytest.mark.parametrize("name", ["BatchNorm1d", "BatchNorm2d"])
def test_state_dict_keys_and_printing_are_torchs(name, options):
    ours, theirs = getattr(nn, name)(3, **options), getattr(torch.nn, name)(3, **options)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert repr(ours) == repr(theirs)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    for key, value in ours.state_dict().items():           # initial values and dtypes too
        assert_close(value, theirs.state_dict()[key], dtype=True)
    theirs.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in ours.state_dict().items()})


def test_double_casts_the_running_statistics_inside_a_sequential():
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2)).double()
    state = net.state_dict()
    assert state["1.running_mean"].dtype == state["1.running_var"].dtype == np.float64
    assert state["1.num_batches_tracked"].dtype == np.int64
    net(np.zeros((2, 1, 4, 4)))                             # float64 input, no dtype complaint


# ----------------------------------------------------------------------------- errors torch raises
def _error(fn):
    with pytest.raises(Exception) as info:
        fn()
    return info.value


# case -> (our call, torch's same call, our message, torch's message)
ERRORS = {
    "wrong number of features": (lambda: nn.BatchNorm2d(4)(np.zeros((2, 3, 2, 2), np.float32)),
                                 lambda: torch.nn.BatchNorm2d(4)(torch.zeros(2, 3, 2, 2)),
                                 r"BatchNorm2d: input has shape \(2, 3, 2, 2\) with 3 channels, expected num_features=4",
                                 "running_mean should contain 3 elements not 4"),
    "functional: wrong length of running_mean": (
        lambda: F.batch_norm(np.zeros((2, 3)), np.zeros(4), np.ones(4), training=True),
        lambda: TF.batch_norm(torch.zeros(2, 3), torch.zeros(4), torch.ones(4), training=True),
        r"batch_norm: running_mean has shape \(4,\), expected \(C,\) = \(3,\)", "running_mean should contain 3"),
    "eval with no running stats": (lambda: F.batch_norm(np.zeros((2, 3)), None, None, training=False),
                                   lambda: TF.batch_norm(torch.zeros(2, 3), None, None, training=False),
                                   r"batch_norm: running_mean and running_var must be given in evaluation mode",
                                   "running_mean must be defined in evaluation mode"),
    "one value per channel when training": (lambda: nn.BatchNorm1d(3)(np.zeros((1, 3), np.float32)),
                                            lambda: torch.nn.BatchNorm1d(3)(torch.zeros(1, 3)),
                                            r"BatchNorm1d: expected more than 1 value per channel when training",
                                            "Expected more than 1 value per channel when training"),
    "BatchNorm2d on a 3-d input": (lambda: nn.BatchNorm2d(3)(np.zeros((3, 4, 4), np.float32)),
                                   lambda: torch.nn.BatchNorm2d(3)(torch.zeros(3, 4, 4)),
                                   r"BatchNorm2d: expected 4D input, got 3D input", "expected 4D input"),
    "BatchNorm1d on a 4-d input": (lambda: nn.BatchNorm1d(3)(np.zeros((2, 3, 4, 4), np.float32)),
                                   lambda: torch.nn.BatchNorm1d(3)(torch.zeros(2, 3, 4, 4)),
                                   r"BatchNorm1d: expected 2D or 3D input, got 4D input", "expected 2D or 3D input"),
}


@pytest.mark.parametrize("case", ERRORS)
def test_bad_inputs_raise_where_torch_raises_naming_the_argument(case):
    ours, theirs, ours_message, torch_message = ERRORS[case]
    mine, their = _error(ours), _error(theirs)
    assert isinstance(mine, ValueError) and re.search(ours_message, str(mine)), mine
    assert torch_message in str(their), their


def test_mixed_dtypes_and_integer_input_are_refused_by_name():
    with pytest.raises(TypeError, match=r"BatchNorm2d: input has dtype float64, expected float32"):
        nn.BatchNorm2d(2)(np.zeros((2, 2, 2, 2)))
    with pytest.raises(TypeError, match=r"batch_norm: input has dtype int64, expected a floating-point array"):
        F.batch_norm(np.zeros((2, 2), np.int64), None, None, training=True)
    with pytest.raises(ValueError, match=r"BatchNorm1d: num_features must be positive, got 0"):
        nn.BatchNorm1d(0)


# ----------------------------------------------------------------------------- gradcheck
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("options", [{}, {"affine": False}, {"track_running_stats": False}])
def test_gradcheck_passes_on_batch_norm_modules(training, options):
    rng = np.random.default_rng(1)
    for make, shape in ((lambda: nn.BatchNorm1d(3, **options), (4, 3)),
                        (lambda: nn.BatchNorm1d(3, **options), (2, 3, 3)),
                        (lambda: nn.BatchNorm2d(2, **options), (2, 2, 3, 3))):
        module = make().train(training)
        if module.affine:
            module.weight.data = rng.uniform(0.5, 2, module.weight.shape).astype(np.float32)
            module.bias.data = rng.standard_normal(module.bias.shape).astype(np.float32)
        if module.track_running_stats:
            module.running_mean[...] = rng.standard_normal(module.running_mean.shape)
            module.running_var[...] = rng.uniform(0.5, 2, module.running_var.shape)
        assert gradcheck(module, rng.standard_normal(shape))


def test_gradcheck_passes_on_the_functional_backward():
    rng = np.random.default_rng(2)
    x, w, b = rng.standard_normal((3, 2, 4)), rng.standard_normal(2), rng.standard_normal(2)

    def forward(x, w, b):
        return F.batch_norm(x, None, None, w, b, training=True)

    def backward(g, x, w, b):
        return F.batch_norm_backward(g, x, None, None, w, training=True)

    assert gradcheck(forward, (x, w, b), backward)
