"""Dropout against torch. torch draws its masks from its own generator, so each case runs torch first,
reads its mask off the output (a kept element of a nonzero input is nonzero), gives ours the same
mask and compares the output and the gradient. Evaluation mode is the identity; the keep rate of
our own draws is checked statistically; p outside [0, 1] is refused as torch refuses it."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given, settings, strategies as st

from cnnref import functional as F
from cnnref import nn
from cnnref.gradcheck import gradcheck
from tests.compare import DTYPES, SEEDS, assert_close, data, tensor

many = settings(max_examples=200, deadline=None)
P = st.one_of(st.sampled_from([0.0, 0.5, 1.0]), st.floats(0.0, 1.0))


def _nonzero(seed, dtype, shape):
    """Standard normal values pushed away from 0, so that ``output != 0`` is exactly torch's keep mask."""
    x, = data(seed, dtype, shape)
    return np.where(x >= 0, x + 1, x - 1).astype(dtype)


@pytest.mark.parametrize("kind", ["dropout", "dropout2d"])
@many
@given(dtype=DTYPES, p=P, seed=SEEDS, shape=st.lists(st.integers(1, 4), min_size=4, max_size=4))
def test_given_torchs_mask_ours_equals_torch_forward_and_backward(kind, dtype, p, seed, shape):
    x = _nonzero(seed, dtype, tuple(shape))
    torch.manual_seed(seed % 2**31)
    tx = tensor(x).requires_grad_()
    out = getattr(TF, kind)(tx, p, training=True)
    mask = (out.detach().numpy() != 0)
    if kind == "dropout2d":
        mask = mask.any(axis=(2, 3), keepdims=True)               # one draw per channel
        assert ((out.detach().numpy() != 0) == np.broadcast_to(mask, x.shape)).all()
    g, = data(seed + 1, dtype, x.shape)
    out.backward(tensor(g))
    assert_close(getattr(F, kind)(x, p, mask=mask.astype(np.uint8)), out, dtype=True)
    assert_close(F.dropout_backward(g, mask, p), tx.grad, dtype=True)
    module = getattr(nn, "Dropout2d" if kind == "dropout2d" else "Dropout")(p)
    assert_close(module(x, mask=mask), out, dtype=True)
    assert_close(module.backward(g), tx.grad, dtype=True)


@pytest.mark.parametrize("name", ["Dropout", "Dropout2d"])
@many
@given(dtype=DTYPES, p=P, seed=SEEDS)
def test_evaluation_mode_is_the_identity_like_torch(name, dtype, p, seed):
    x, g = data(seed, dtype, (2, 3, 2, 2), (2, 3, 2, 2))
    ours, theirs = getattr(nn, name)(p).eval(), getattr(torch.nn, name)(p).eval()
    assert_close(ours(x), theirs(tensor(x)), dtype=True)
    assert_close(ours.backward(g), g, dtype=True)
    assert_close(F.dropout(x, p, training=False), TF.dropout(tensor(x), p, training=False), dtype=True)


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_keep_rate_and_mean_of_our_draws(p):
    # n Bernoulli(1 - p) draws: the kept fraction has sd sqrt(p (1 - p) / n); 5 sd is a one-in-a-million miss
    n = 200_000
    out = F.dropout(np.ones(n), p, generator=np.random.default_rng(7))
    kept = (out != 0).mean()
    assert abs(kept - (1 - p)) < 5 * math.sqrt(p * (1 - p) / n)
    assert set(np.unique(out).round(12)) == {0.0, round(1 / (1 - p), 12)}
    assert abs(out.mean() - 1) < 5 * math.sqrt(p / (1 - p) / n)      # E[out] = input: the 1/(1-p) scaling
    channels = F.dropout2d(np.ones((1000, 200, 2, 2)), p, generator=np.random.default_rng(8))
    whole = channels.reshape(-1, 4)
    assert (whole == whole[:, :1]).all()                              # a channel is dropped or kept as a whole
    assert abs((whole[:, 0] != 0).mean() - (1 - p)) < 5 * math.sqrt(p * (1 - p) / whole.shape[0])


def test_manual_seed_makes_module_masks_reproducible_and_p_edges_match_torch():
    nn.manual_seed(3)
    a = nn.Dropout(0.5)(np.ones(50))
    nn.manual_seed(3)
    assert (nn.Dropout(0.5)(np.ones(50)) == a).all()
    x = np.array([1.0, np.nan, -2.0])
    assert_close(F.dropout(x, 1.0), TF.dropout(tensor(x), 1.0), dtype=True)     # nothing kept: x * 0, NaN stays
    assert_close(F.dropout(x, 0.0), TF.dropout(tensor(x), 0.0), dtype=True)     # everything kept
    assert_close(F.dropout_backward(np.ones(3), np.zeros(3), 1.0), np.zeros(3))


def test_inplace_writes_into_the_input():
    x = np.ones(4)
    out = F.dropout(x, 0.5, inplace=True, mask=np.array([1, 0, 1, 0]))
    assert out is x and (x == [2, 0, 2, 0]).all()


@pytest.mark.parametrize("p", [-0.1, 1.5, float("nan")])
def test_p_outside_0_1_raises_like_torch(p):
    for ours, theirs in ((lambda: F.dropout(np.ones(2), p), lambda: TF.dropout(torch.ones(2), p)),
                         (lambda: F.dropout2d(np.ones((1, 2, 2, 2)), p), lambda: TF.dropout2d(torch.ones(1, 2, 2, 2), p)),
                         (lambda: nn.Dropout(p), lambda: torch.nn.Dropout(p)),
                         (lambda: nn.Dropout2d(p), lambda: torch.nn.Dropout2d(p))):
        with pytest.raises(ValueError, match=r"dropout probability p has to be between 0 and 1, but got"):
            ours()
        if not math.isnan(p):                     # torch's check lets NaN through
            with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1"):
                theirs()


def test_bad_masks_and_inputs_are_refused_by_name():
    with pytest.raises(ValueError, match=r"dropout: mask has shape \(3,\), expected \(4,\)"):
        F.dropout(np.ones(4), mask=np.ones(3))
    with pytest.raises(ValueError, match=r"dropout: mask must hold only 0 \(dropped\) and 1 \(kept\)"):
        F.dropout(np.ones(2), mask=np.array([0.5, 1]))
    with pytest.raises(ValueError, match=r"dropout2d: mask has shape \(1, 2, 2, 2\), expected \(1, 2, 1, 1\)"):
        F.dropout2d(np.ones((1, 2, 2, 2)), mask=np.ones((1, 2, 2, 2)))
    with pytest.raises(ValueError, match=r"dropout2d: input has 2 dims"):
        F.dropout2d(np.ones((2, 2)))
    with pytest.raises(TypeError, match=r"dropout: input has dtype int64"):
        F.dropout(np.ones(2, np.int64))
    with pytest.raises(RuntimeError, match=r"Dropout.backward: call forward first"):
        nn.Dropout().backward(np.ones(2))


def test_three_dimensional_input_to_dropout2d_drops_like_torch_with_a_warning():
    x = _nonzero(0, np.float64, (2, 3, 5))
    torch.manual_seed(0)
    with pytest.warns(UserWarning, match="dropout2d"):
        out = TF.dropout2d(tensor(x), 0.5)
    mask = (out.numpy() != 0).any(axis=2, keepdims=True)
    with pytest.warns(UserWarning, match=r"dropout2d: received a 3-d input.*\(N, C, L\)"):
        assert_close(F.dropout2d(x, 0.5, mask=mask), out)


def test_gradcheck_with_a_fixed_mask():
    rng = np.random.default_rng(0)
    mask = rng.random((3, 4)) > 0.3
    assert gradcheck(lambda x: F.dropout(x, 0.3, mask=mask), rng.standard_normal((3, 4)),
                     lambda g, x: (F.dropout_backward(g, mask, 0.3),))
