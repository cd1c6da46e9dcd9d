"""cnnref.summary against a hand count, a hook-based count and torchinfo's own totals."""

import pytest
import torch
import torchinfo
from torch import nn

from cnnref.models import MODELS, get_model, lenet5
from cnnref.models.lenet import UnitBias
from cnnref.summary import count_parameters, output_shapes, summary


def meta(name, **kwargs):
    with torch.device("meta"):
        return get_model(name, **kwargs)


def hooked_mult_adds(model):
    """Independent count: (weights per output + bias) * outputs for every Conv2d and Linear,
    and one add per unit for a per-unit bias (UnitBias), with output sizes from forward hooks.
    A batch normalization layer counts its parameters (torchinfo's convention: the per-channel
    scale and shift, once per channel; at inference it folds into the convolution before it)."""
    total = []

    def hook(module, inputs, output):
        if isinstance(module, UnitBias):
            total.append(output[0].numel())
            return
        if isinstance(module, nn.BatchNorm2d):
            total.append(module.weight.numel() + module.bias.numel())
            return
        per_output = module.weight[0].numel() + (module.bias is not None)
        positions = output.numel() // output.shape[1] if isinstance(module, nn.Conv2d) else output.shape[0]
        total.append(per_output * positions * module.weight.shape[0])

    counted = (nn.Conv2d, nn.Linear, UnitBias, nn.BatchNorm2d)
    hooks = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, counted)]
    with torch.no_grad():
        model.eval()(torch.zeros(1, *model.input_size, device="meta"))
    for h in hooks:
        h.remove()
    return sum(total)


def test_lenet5_mult_adds_by_hand():
    # (C_in*k*k + 1) * C_out * H_out * W_out for the convolutions, (in + 1) * out for the linears
    hand = ((1 * 25 + 1) * 6 * 28 * 28 + (6 * 25 + 1) * 16 * 10 * 10 + (16 * 25 + 1) * 120
            + (120 + 1) * 84 + (84 + 1) * 10)
    s = summary(lenet5())
    assert s.mult_adds == hand == 423_038
    assert [r.name for r in s.rows] == ["c1", "tanh1", "s2", "c3", "tanh3", "s4", "c5", "tanh5",
                                        "flatten", "f6", "tanh6", "output"]
    assert s.row("c3").output_shape == (1, 16, 10, 10) and s.row("c3").params == 2416


@pytest.mark.parametrize("name", sorted(MODELS))
def test_totals_match_hooks_and_torchinfo(name):
    model = meta(name)
    s = summary(model)
    stats = torchinfo.summary(model, input_data=torch.zeros(1, *model.input_size, device="meta"), verbose=0)
    assert s.mult_adds == hooked_mult_adds(model) == stats.total_mult_adds
    assert s.total_params == stats.total_params == sum(r.params for r in s.rows)
    assert s.mult_adds == sum(r.mult_adds for r in s.rows)


def test_googlenet_mult_adds_match_the_ops_column_of_table_1():
    # the paper's column is in millions, rounded (and, it seems, without the bias adds that
    # torchinfo's convention counts): agreement to within one million
    s = summary(meta("googlenet"))
    paper = {"inception3a": 128, "inception3b": 304, "inception4a": 73, "inception4b": 88,
             "inception4c": 100, "inception4d": 119, "inception4e": 170, "inception5b": 71, "fc": 1}
    for name, ops in paper.items():
        assert abs(s.row(name).mult_adds / 1e6 - ops) < 1, name
    assert abs((s.row("conv2_reduce").mult_adds + s.row("conv2").mult_adds) / 1e6 - 360) < 1


def test_deeper_rows_and_grouping():
    s = summary(meta("googlenet"), depth=2)
    assert s.row("inception3a.branch5x5").output_shape == (1, 32, 28, 28)
    branches = [r for r in s.rows if r.name.startswith("inception3a.")]
    assert sum(r.mult_adds for r in branches) == s.row("inception3a").mult_adds
    grouped = summary(meta("alexnet", groups=2))
    assert grouped.row("conv2").mult_adds * 2 - 27 * 27 * 256 == summary(meta("alexnet")).row("conv2").mult_adds


def test_trainable_column_and_mode_is_kept():
    net = lenet5().train()
    for p in net.c1.parameters():
        p.requires_grad_(False)
    net.c3.bias.requires_grad_(False)
    s = summary(net)
    assert (s.row("c1").trainable, s.row("c3").trainable, s.row("f6").trainable, s.row("s2").trainable) == \
        ("no", "partly", "yes", "--")
    assert s.trainable_params == count_parameters(net, trainable_only=True) == 61_706 - 156 - 16
    assert net.training


def test_text_table_lists_every_row():
    text = str(summary(lenet5()))
    assert "c1" in text and "(1, 6, 28, 28)" in text and "423,038" in text and "61,706" in text


def test_errors_name_the_argument():
    with pytest.raises(ValueError, match="summary: Sequential has no input_size attribute"):
        summary(nn.Sequential(nn.Linear(2, 2)))
    with pytest.raises(ValueError, match="summary: depth must be an int >= 1"):
        summary(lenet5(), depth=0)
    with pytest.raises(KeyError, match="no layer named 'conv9'"):
        summary(lenet5()).row("conv9")


@pytest.mark.parametrize("name", ["lenet5", "caffe_lenet", "alexnet", "zfnet", "vgg11", "googlenet"])
def test_output_shapes_match_forward_hooks(name):
    model = meta(name)
    seen = {}
    hooks = [child.register_forward_hook(lambda m, i, out, n=n: seen.__setitem__(n, tuple(out.shape[1:])))
             for n, child in model.named_children()]
    with torch.no_grad():
        model.eval()(torch.zeros(2, *model.input_size, device="meta"))   # a batch of 2: the batch is dropped
    for h in hooks:
        h.remove()
    assert output_shapes(model) == seen
    assert output_shapes(model, names=("conv",)) == {n: s for n, s in seen.items() if n.startswith("conv")}
