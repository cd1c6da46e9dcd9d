"""The torch models after 2014: ResNet-18/34/50 with the parameter counts of torchvision's models
and the per-stage output sizes of the ResNet paper's table 1, NiN with its global average pooling
head, VGG with batch normalization, and make_cnn's batch_norm / global_pool knobs."""

import pytest
import torch
from torch import nn

from cnnref.models import get_model, make_cnn, nin, resnet, vgg16
from cnnref.models.resnet import RESNET_TABLE, Bottleneck


def meta(build, **kwargs):
    with torch.device("meta"):
        return build(**kwargs)


def count(model):
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("name, params", [("resnet18", 11_689_512), ("resnet34", 21_797_672),
                                          ("resnet50", 25_557_032)])
def test_resnet_parameter_counts(name, params):
    assert count(meta(get_model, name=name)) == params


@pytest.mark.parametrize("depth", sorted(RESNET_TABLE))
def test_per_stage_output_sizes_are_table_1s(depth):
    # table 1: conv1 112x112, conv2_x 56x56, conv3_x 28x28, conv4_x 14x14, conv5_x 7x7 at 224x224;
    # output channels 64, then 64/128/256/512 (basic) or four times that (bottleneck)
    model = meta(resnet, depth=depth)
    x = torch.zeros(1, 3, 224, 224, device="meta")
    sizes = {}
    for name, layer in model.named_children():
        x = layer(x)
        sizes[name] = tuple(x.shape[1:])
    widen = 4 if RESNET_TABLE[depth][0] == "bottleneck" else 1
    assert sizes["conv1"] == (64, 112, 112)
    assert sizes["maxpool"] == (64, 56, 56)
    for stage, (width, side) in enumerate(zip((64, 128, 256, 512), (56, 28, 14, 7)), start=1):
        assert sizes[f"layer{stage}"] == (width * widen, side, side)
        assert len(getattr(model, f"layer{stage}")) == RESNET_TABLE[depth][1][stage - 1]
    assert sizes["fc"] == (1000,)


def test_resnet_layer_count_is_its_depth():
    # weight layers on the main path: conv1, two or three per block, fc (the projections are shortcuts)
    for depth, (kind, blocks) in RESNET_TABLE.items():
        assert 1 + (2 if kind == "basic" else 3) * sum(blocks) + 1 == depth


def test_only_shape_changing_blocks_project():
    model = meta(resnet, depth=50)
    projected = [name for name, m in model.named_modules() if isinstance(m, Bottleneck) and m.downsample is not None]
    assert projected == ["layer1.0", "layer2.0", "layer3.0", "layer4.0"]       # 64 -> 256 widens layer1.0 too


def test_nin_is_mlpconv_blocks_and_a_gap_head():
    model = nin(num_classes=10).eval()
    assert not any(isinstance(m, nn.Linear) for m in model.modules())        # no fully connected layer
    one_by_one = [m for m in model.modules() if isinstance(m, nn.Conv2d) and m.kernel_size == (1, 1)]
    assert len(one_by_one) == 8                                               # two per mlpconv block
    with torch.no_grad():
        x = torch.randn(2, 3, 224, 224)
        maps = model[:-2](x)                                                  # everything before gap, flatten
        assert maps.shape == (2, 10, 5, 5)
        torch.testing.assert_close(model(x), maps.mean(dim=(2, 3)))          # a score is the mean of its map


def test_vgg16_with_batch_norm_adds_two_parameters_per_conv_channel():
    plain, bn = meta(vgg16), meta(vgg16, batch_norm=True)
    channels = sum(m.out_channels for m in plain.modules() if isinstance(m, nn.Conv2d))
    assert count(bn) == count(plain) + 2 * channels == 138_365_992


def test_make_cnn_knobs():
    net = make_cnn(n=2, m=2, k=1, batch_norm=True, global_pool=True, channels=8)
    names = [n for n, _ in net.named_children()]
    assert names[:4] == ["conv1_1", "bn1_1", "relu1_1", "conv1_2"] and "gap" in names
    assert net.conv1_1.bias is None                                           # batch norm's shift replaces it
    assert net.flat_features == 16 and net.fc1.in_features == 16
    assert net(torch.zeros(3, 1, 28, 28)).shape == (3, 10)
    plain = make_cnn(n=2, m=2, k=1, channels=8)
    assert plain.flat_features == 16 * 7 * 7 and not any(isinstance(m, nn.BatchNorm2d) for m in plain.modules())
