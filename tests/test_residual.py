"""The NumPy residual block against its torch twin (cnnref.models.resnet.BasicBlock, torchvision's
layout): forward, input gradient, every parameter gradient and the running statistics, in training
and evaluation mode, with the identity and the projection shortcut; torch's state_dict keys;
gradcheck."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

from cnnref import nn
from cnnref.gradcheck import gradcheck
from cnnref.models.resnet import BasicBlock as TorchBlock
from cnnref.residual import BasicBlock
from tests.compare import DTYPES, SEEDS, assert_close, check_module, data

many = settings(max_examples=200, deadline=None)


def _randomise(block, seed):
    """Random weights, affine parameters and running statistics, so that no term is trivially 1 or 0."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in block.state_dict().items():
            if name.endswith("running_var"):
                t.copy_(torch.rand(t.shape, generator=gen) + 0.5)
            elif t.is_floating_point():
                t.copy_(torch.randn(t.shape, generator=gen) * 0.5 + (1.0 if name.endswith("bn1.weight") else 0.0))


@many
@given(dtype=DTYPES, seed=SEEDS, n=st.integers(1, 2), c_in=st.integers(1, 3), c_out=st.integers(1, 3),
       stride=st.integers(1, 2), size=st.integers(2, 5), training=st.booleans())
def test_block_matches_torch(dtype, seed, n, c_in, c_out, stride, size, training):
    if training and n == 1 and size <= stride:            # one value per channel after the strided conv
        n = 2
    theirs = TorchBlock(c_in, c_out, stride)
    _randomise(theirs, seed % 2**31)
    ours = BasicBlock(c_in, c_out, stride)
    assert (ours.downsample is None) == (theirs.downsample is None)
    ours.train(training), theirs.train(training)
    x, = data(seed, dtype, (n, c_in, size, size))
    check_module(ours, theirs, x)
    for key, value in theirs.state_dict().items():          # training moved the running statistics alike
        assert_close(ours.state_dict()[key], value, dtype=True)


def test_state_dict_keys_are_torchvisions():
    for args in ((4, 4, 1), (4, 8, 2), (4, 8, 1)):
        assert list(BasicBlock(*args).state_dict()) == list(TorchBlock(*args).state_dict())
    assert "downsample.0.weight" in BasicBlock(4, 8, 2).state_dict()
    assert not any(k.startswith("downsample") for k in BasicBlock(4, 4).state_dict())


def test_projection_can_be_forced_but_not_refused_where_shapes_change():
    assert BasicBlock(4, 4, projection=True).downsample is not None
    with pytest.raises(ValueError, match=r"BasicBlock: projection=False needs stride 1 and in_planes == planes"):
        BasicBlock(4, 8, projection=False)


@pytest.mark.parametrize("args", [(2, 2, 1), (2, 3, 2)])
@pytest.mark.parametrize("training", [True, False])
def test_gradcheck(args, training):
    block = BasicBlock(*args).train(training)
    rng = np.random.default_rng(0)
    for module in block.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.running_mean[...] = rng.standard_normal(module.num_features)
            module.running_var[...] = rng.uniform(0.5, 2, module.num_features)
    assert gradcheck(block, rng.standard_normal((2, args[0], 4, 4)))


def test_identity_shortcut_passes_the_gradient_straight_through():
    # with the main branch's last batch norm scaled to zero the block is relu(x): the gradient
    # reaches x unchanged where x > 0, whatever the convolutions hold
    block = BasicBlock(2, 2, dtype=np.float64).eval()
    block.bn2.weight.data[...] = 0
    block.bn2.bias.data[...] = 0
    x = np.abs(np.random.default_rng(1).standard_normal((1, 2, 3, 3))) + 0.1
    assert_close(block(x), x)
    assert_close(block.backward(np.ones_like(x)), np.ones_like(x))
