"""Classic architectures: parameter counts from the papers, per-layer shapes from the papers'
tables, a forward pass at the documented input size, and a clear error for a wrong one."""

import pytest
import torch

from cnnref.models import MODELS, get_model


def n_params(model):
    return sum(p.numel() for p in model.parameters())


def conv_params(c_in, c_out, k, groups=1):
    """Weights + biases of a k x k convolution, counted by hand."""
    return c_out * (c_in // groups) * k * k + c_out


def fc_params(n_in, n_out):
    return n_in * n_out + n_out


def shapes_after(model, names, x):
    """Output shape (without N) of each named child, from a real forward pass."""
    seen = {}
    hooks = [getattr(model, n).register_forward_hook(
        lambda m, i, o, n=n: seen.__setitem__(n, tuple(o.shape[1:]))) for n in names]
    with torch.no_grad():
        model(x)
    for h in hooks:
        h.remove()
    return seen


def test_lenet5_parameter_count_matches_the_layers():
    hand = (conv_params(1, 6, 5) + conv_params(6, 16, 5) + conv_params(16, 120, 5)
            + fc_params(120, 84) + fc_params(84, 10))
    assert hand == 61_706
    assert n_params(get_model("lenet5")) == hand


def test_lenet5_shapes_follow_the_paper():
    net = get_model("lenet5")
    seen = shapes_after(net, ["c1", "s2", "c3", "s4", "c5", "f6", "output"], torch.zeros(1, 1, 32, 32))
    assert seen == {"c1": (6, 28, 28), "s2": (6, 14, 14), "c3": (16, 10, 10), "s4": (16, 5, 5),
                    "c5": (120, 1, 1), "f6": (84,), "output": (10,)}


def test_caffe_lenet_parameter_count_and_first_layer():
    net = get_model("caffe_lenet")
    hand = conv_params(1, 20, 5) + conv_params(20, 50, 5) + fc_params(800, 500) + fc_params(500, 10)
    assert hand == n_params(net) == 431_080
    assert [tuple(p.shape) for p in net.conv1.parameters()] == [(20, 1, 5, 5), (20,)]


def test_get_model_unknown_name_lists_the_known_ones():
    with pytest.raises(ValueError, match="get_model: unknown model 'nope'.*lenet5"):
        get_model("nope")


@pytest.mark.parametrize("name", sorted(MODELS))
def test_wrong_input_size_names_the_expected_size(name):
    model = get_model(name, num_classes=7)
    c, h, w = model.input_size
    expected = rf"expected \(N, {c}, {h}, {w}\)"
    with pytest.raises(ValueError, match=rf"^{name}: input has shape \(1, {c}, {h + 1}, {w}\), {expected}"):
        model(torch.zeros(1, c, h + 1, w))
    with pytest.raises(ValueError, match=expected):
        model(torch.zeros(c, h, w))


@pytest.mark.parametrize("name", sorted(MODELS))
def test_forward_at_the_documented_input_size(name):
    model = get_model(name, num_classes=7).eval()
    with torch.no_grad():
        out = model(torch.zeros(1, *model.input_size))
    assert out.shape == (1, 7)
