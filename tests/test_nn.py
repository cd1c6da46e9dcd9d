"""cnnref.nn against torch.nn: forward, input gradient and every parameter gradient on random
configurations (torch's weights loaded into ours); gradcheck on each module; state_dict both ways;
initialisation, printing and gradient bookkeeping as in torch."""

from collections import OrderedDict

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

from cnnref import nn
from cnnref.gradcheck import GradcheckError, gradcheck
from tests.compare import DTYPES, EXAMPLES, MODULES, TORCH_DTYPE, assert_close, check_layer, conv_args, tensor

examples = settings(max_examples=EXAMPLES, deadline=None)


@pytest.mark.parametrize("name", MODULES)
@examples
@given(case=st.data(), dtype=DTYPES)
def test_module_and_its_gradients_match_torch(name, case, dtype):
    check_layer(name, case.draw, dtype)


@examples
@given(case=st.data(), dtype=DTYPES)
def test_conv_transpose2d_picks_output_padding_from_output_size_like_torch(case, dtype):
    (x, w, b), kwargs = case.draw(conv_args(2, dtype, transposed=True))
    groups, output_padding = kwargs.pop("groups"), kwargs.pop("output_padding")
    output_padding = tuple(min(p, s - 1) for p, s in zip(output_padding, kwargs["stride"]))   # below stride
    size = torch.nn.functional.conv_transpose2d(tensor(x), tensor(w), groups=groups, output_padding=output_padding,
                                                **kwargs).shape[-2:]
    args = (w.shape[0], w.shape[1] * groups, w.shape[2:])
    ours = nn.ConvTranspose2d(*args, groups=groups, bias=b is not None, **kwargs)
    theirs = torch.nn.ConvTranspose2d(*args, groups=groups, bias=b is not None, **kwargs)
    theirs = theirs.to(TORCH_DTYPE[np.dtype(dtype)])
    ours.to(dtype).load_state_dict(theirs.state_dict())
    t = tensor(x).requires_grad_()
    out = theirs(t, output_size=list(size))
    g = np.random.default_rng(0).standard_normal(tuple(out.shape)).astype(dtype)
    out.backward(tensor(g))
    assert_close(ours(x, output_size=tuple(size)), out, dtype=True)
    assert_close(ours.backward(g), t.grad)
    assert_close(ours.weight.grad, theirs.weight.grad)


# ----------------------------------------------------------------------------- gradcheck
rng = np.random.default_rng(0)
GRADCHECK = {
    "Conv1d": (lambda: nn.Conv1d(2, 3, 3, stride=2, padding=1, padding_mode="circular"), (2, 2, 6)),
    "Conv2d": (lambda: nn.Conv2d(4, 2, (3, 2), padding=1, dilation=(1, 2), groups=2), (2, 4, 5, 5)),
    "Conv2d reflect same": (lambda: nn.Conv2d(2, 2, 2, padding="same", padding_mode="reflect"), (1, 2, 4, 3)),
    "ConvTranspose2d": (lambda: nn.ConvTranspose2d(2, 4, 3, stride=2, padding=1, output_padding=1, groups=2),
                        (1, 2, 3, 3)),
    "MaxPool2d": (lambda: nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True), (2, 2, 5, 5)),
    "AvgPool2d": (lambda: nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True, count_include_pad=False), (2, 2, 5, 5)),
    "Linear": (lambda: nn.Linear(4, 3), (2, 4)),
    "ReLU": (lambda: nn.ReLU(), (3, 4)),
    "LeakyReLU": (lambda: nn.LeakyReLU(0.1), (3, 4)),
    "Sigmoid": (lambda: nn.Sigmoid(), (3, 4)),
    "Tanh": (lambda: nn.Tanh(), (3, 4)),
    "Flatten": (lambda: nn.Flatten(), (2, 3, 2)),
    "Sequential": (lambda: nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.AvgPool2d(2), nn.Flatten(),
                                         nn.Linear(8, 2)), (2, 1, 6, 6)),
}


@pytest.mark.parametrize("name", GRADCHECK)
def test_gradcheck_passes_on_each_module(name):
    make, shape = GRADCHECK[name]
    assert gradcheck(make(), rng.standard_normal(shape))


def test_gradcheck_passes_on_the_losses():
    logits = rng.standard_normal((4, 3))
    assert gradcheck(nn.CrossEntropyLoss(weight=np.array([1.0, 2.0, 0.5]), label_smoothing=0.1),
                     (logits, np.array([0, 2, 1, 2])))
    assert gradcheck(nn.CrossEntropyLoss(reduction="none"), (logits, np.array([0, 2, 1, 2])))
    assert gradcheck(nn.MSELoss(), (logits, rng.standard_normal((4, 3))))


class WrongBias(nn.Linear):
    """A Linear whose backward gets the bias gradient wrong (twice as large)."""

    def backward(self, grad_output):
        grad_input = super().backward(grad_output)
        self.bias.grad = self.bias.grad * 2
        return grad_input


def test_gradcheck_names_the_wrong_gradient():
    with pytest.raises(GradcheckError, match=r"bias: 3 of 3 entries differ"):
        gradcheck(WrongBias(2, 3), rng.standard_normal((4, 2)))
    assert gradcheck(WrongBias(2, 3), rng.standard_normal((4, 2)), raise_exception=False) is False


def test_gradcheck_of_a_function_with_its_backward():
    from cnnref import functional as F
    x, w = rng.standard_normal((1, 2, 5, 5)), rng.standard_normal((3, 2, 3, 3))
    assert gradcheck(lambda x, w: F.conv2d(x, w, stride=2), (x, w),
                     lambda g, x, w: F.conv2d_backward(g, x, w, stride=2)[:2])
    with pytest.raises(GradcheckError, match=r"inputs\[1\]"):
        gradcheck(lambda x, w: F.conv2d(x, w), (x, w), lambda g, x, w: (F.conv2d_backward(g, x, w)[0], w))


# ----------------------------------------------------------------------------- state_dict
def torch_net():
    return torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                               torch.nn.ConvTranspose2d(4, 2, 2, stride=2), torch.nn.Flatten(),
                               torch.nn.Linear(2 * 6 * 6, 5), torch.nn.Tanh())


def our_net():
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.ConvTranspose2d(4, 2, 2, stride=2),
                         nn.Flatten(), nn.Linear(2 * 6 * 6, 5), nn.Tanh())


def test_state_dict_has_torchs_keys_and_shapes():
    ours, theirs = our_net(), torch_net()
    assert {k: v.shape for k, v in ours.state_dict().items()} == {k: tuple(v.shape) for k, v in theirs.state_dict().items()}
    assert list(ours.state_dict()) == list(theirs.state_dict())


def test_state_dict_round_trip_with_torch():
    x = rng.standard_normal((2, 3, 6, 6)).astype(np.float32)
    theirs, ours = torch_net(), our_net()
    ours.load_state_dict(theirs.state_dict())                    # torch -> ours, tensors as they are
    assert_close(ours(x), theirs(torch.from_numpy(x)))
    again = torch_net()
    again.load_state_dict({k: torch.from_numpy(v) for k, v in ours.state_dict().items()})   # ours -> torch
    assert_close(ours(x), again(torch.from_numpy(x)))
    back = our_net()
    back.load_state_dict(ours.state_dict())                      # ours -> ours
    assert_close(back(x), ours(x))


def test_load_state_dict_refuses_missing_unexpected_and_misshapen():
    state = our_net().state_dict()
    state.pop("5.bias")
    with pytest.raises(ValueError, match=r"missing keys \['5.bias'\]"):
        our_net().load_state_dict(state)
    assert our_net().load_state_dict(state, strict=False).missing_keys == ["5.bias"]
    state["5.bias"], state["0.weight"] = np.zeros(5), np.zeros((4, 3, 2, 2))
    with pytest.raises(ValueError, match=r"size mismatch for 0.weight.*\(4, 3, 2, 2\).*\(4, 3, 3, 3\)"):
        our_net().load_state_dict(state)


def test_loss_weight_is_a_buffer_in_state_dict_like_torch():
    w = np.array([1.0, 2.0])
    assert list(nn.CrossEntropyLoss(w).state_dict()) == list(torch.nn.CrossEntropyLoss(torch.from_numpy(w)).state_dict())
    assert list(nn.CrossEntropyLoss().state_dict()) == list(torch.nn.CrossEntropyLoss().state_dict()) == []


# ----------------------------------------------------------------------------- init, repr, bookkeeping
@pytest.mark.parametrize("make", [lambda m: m.Conv2d(64, 32, 3), lambda m: m.Conv1d(16, 512, 5, groups=4),
                                  lambda m: m.ConvTranspose2d(32, 64, 3), lambda m: m.Linear(300, 200)],
                         ids=["Conv2d", "Conv1d", "ConvTranspose2d", "Linear"])
def test_default_initialisation_matches_torchs_distribution(make):
    nn.manual_seed(0)
    torch.manual_seed(0)
    ours, theirs = make(nn), make(torch.nn)
    for name, p in theirs.named_parameters():
        mine = getattr(ours, name).data
        bound = float(p.detach().abs().max())                    # torch's bound, up to sampling
        assert mine.dtype == np.float32 and mine.shape == tuple(p.shape)
        assert np.abs(mine).max() <= bound * 1.05 and np.abs(mine).max() >= bound * 0.9
        if mine.size > 1000:                                     # uniform: std = bound / sqrt(3)
            assert abs(mine.std() / float(p.detach().std()) - 1) < 0.05


def test_manual_seed_makes_initialisation_reproducible():
    nn.manual_seed(3)
    a = nn.Conv2d(2, 3, 3).weight.data
    nn.manual_seed(3)
    assert (nn.Conv2d(2, 3, 3).weight.data == a).all()
    layer = nn.Linear(3, 2)
    layer.reset_parameters(np.random.default_rng(5))
    other = nn.Linear(3, 2)
    other.reset_parameters(np.random.default_rng(5))
    assert (layer.weight.data == other.weight.data).all()


@pytest.mark.parametrize("make", [
    lambda m: m.Conv2d(3, 8, 3),
    lambda m: m.Conv2d(3, 8, (2, 3), stride=2, padding=1, dilation=2, groups=1, bias=False, padding_mode="reflect"),
    lambda m: m.Conv2d(4, 8, 3, padding="same", groups=2),
    lambda m: m.Conv1d(2, 4, 3, stride=2),
    lambda m: m.ConvTranspose2d(4, 2, 3, stride=2, padding=1, output_padding=1),
    lambda m: m.MaxPool2d(2), lambda m: m.MaxPool2d(3, 2, 1, ceil_mode=True), lambda m: m.AvgPool2d(2, 1),
    lambda m: m.Linear(3, 4), lambda m: m.Linear(3, 4, bias=False), lambda m: m.ReLU(), lambda m: m.LeakyReLU(),
    lambda m: m.Sigmoid(), lambda m: m.Tanh(), lambda m: m.Flatten(), lambda m: m.CrossEntropyLoss(),
    lambda m: m.MSELoss(), lambda m: m.Sequential(m.Conv2d(1, 2, 3), m.ReLU(), m.Sequential(m.Linear(2, 2))),
])
def test_modules_print_like_torch(make):
    assert repr(make(nn)) == repr(make(torch.nn))


def test_gradients_accumulate_until_zero_grad_like_torch():
    layer, x = nn.Linear(3, 2, dtype=np.float64), rng.standard_normal((4, 3))
    assert layer.weight.grad is None
    layer(x)
    layer.backward(np.ones((4, 2)))
    once = layer.weight.grad.copy()
    layer(x)
    layer.backward(np.ones((4, 2)))
    assert_close(layer.weight.grad, 2 * once)
    layer.zero_grad()
    assert layer.weight.grad is None and layer.bias.grad is None
    layer.zero_grad(set_to_none=False)
    assert (layer.weight.grad == 0).all()


def test_frozen_parameter_gets_no_gradient():
    layer = nn.Linear(3, 2, dtype=np.float64)
    layer.weight.requires_grad = False
    layer(rng.standard_normal((4, 3)))
    layer.backward(np.ones((4, 2)))
    assert layer.weight.grad is None and layer.bias.grad is not None


def test_module_tree_parameters_train_eval_and_indexing():
    net = nn.Sequential(OrderedDict([("conv", nn.Conv2d(1, 2, 3)), ("act", nn.ReLU()), ("fc", nn.Linear(2, 2))]))
    assert [n for n, _ in net.named_parameters()] == ["conv.weight", "conv.bias", "fc.weight", "fc.bias"]
    assert len(list(net.parameters())) == 4 and len(net) == 3
    assert isinstance(net[0], nn.Conv2d) and isinstance(net[1:], nn.Sequential) and len(net[1:]) == 2
    assert [n for n, _ in net.named_modules()] == ["", "conv", "act", "fc"]
    assert net.eval() is net and not any(m.training for m in net.modules())
    assert all(m.training for m in net.train().modules())
    net.double()
    assert {p.dtype for p in net.parameters()} == {np.dtype(np.float64)}


def test_backward_before_forward_is_a_clear_error():
    with pytest.raises(RuntimeError, match="Conv2d.backward: call forward first"):
        nn.Conv2d(1, 1, 1).backward(np.zeros((1, 1, 1, 1)))
