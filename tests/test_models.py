"""Classic architectures: parameter counts from the papers, per-layer shapes from the papers'
tables, a forward pass at the documented input size, and a clear error for a wrong one.

Shapes and counts use models built on the "meta" device (shapes without memory or compute);
only the forward-pass test computes real numbers on the CPU.
"""

import pytest
import torch

from cnnref.models import (INCEPTION_TABLE, LENET5_C3_TABLE, MODELS, VGG_CONFIGS, feature_shapes, get_model,
                           make_cnn, vgg)
from cnnref.models.lenet import MapConnections


def meta(name, **kwargs):
    with torch.device("meta"):
        return get_model(name, **kwargs)


def n_params(model):
    return sum(p.numel() for p in model.parameters())


def conv_params(c_in, c_out, k, groups=1):
    """Weights + biases of a k x k convolution, counted by hand."""
    return c_out * (c_in // groups) * k * k + c_out


def fc_params(n_in, n_out):
    return n_in * n_out + n_out


def shapes_after(model, names, size=None):
    """Output shape (without N) of each named submodule, from a forward pass on the meta device."""
    seen = {}
    modules = dict(model.named_modules())
    hooks = [modules[n].register_forward_hook(lambda m, i, o, n=n: seen.__setitem__(n, tuple(o.shape[1:])))
             for n in names]
    with torch.no_grad():
        model(torch.zeros(1, *(size or model.input_size), device="meta"))
    for h in hooks:
        h.remove()
    return seen


# ---- parameter counts: the paper numbers, and a count by hand from the layer table ----

def test_lenet5_parameter_count():
    hand = (conv_params(1, 6, 5) + conv_params(6, 16, 5) + conv_params(16, 120, 5)
            + fc_params(120, 84) + fc_params(84, 10))
    assert hand == n_params(meta("lenet5")) == 61_706


def test_lenet1989_has_the_papers_totals():
    # the paper: 1,256 units, 64,660 connections, 9,760 independent parameters. By hand: shared
    # 5x5 kernels, one bias per unit, h2 reading 8 of 12 maps, then two fully connected layers
    h1_units, h2_units = 12 * 8 * 8, 12 * 4 * 4
    params = (12 * 25 + h1_units) + (12 * 8 * 25 + h2_units) + fc_params(h2_units, 30) + fc_params(30, 10)
    net = meta("lenet1989")
    assert params == n_params(net) == 9_760
    # units and connections from forward hooks: every unit of a layer, with its fan-in + 1 (bias)
    seen = shapes_after(net, ["h1", "h2", "h3", "output"])
    assert seen == {"h1": (12, 8, 8), "h2": (12, 4, 4), "h3": (30,), "output": (10,)}
    fan_in = {"h1": 25, "h2": 8 * 25, "h3": h2_units, "output": 30}
    units = {name: torch.Size(shape).numel() for name, shape in seen.items()}
    assert 16 * 16 + sum(units.values()) == 1_256
    assert sum(units[n] * (fan_in[n] + 1) for n in units) == 64_660


def test_map_connections_equal_a_dense_convolution_with_the_other_maps_zeroed():
    torch.manual_seed(0)
    table = [(0, 2), (1, 3), (3, 0)]
    sparse = MapConnections(table, kernel_size=3, stride=2, padding=1, pad_value=-1.0)
    dense = torch.zeros(3, 4, 3, 3)
    for o, row in enumerate(table):
        for j, i in enumerate(row):
            dense[o, i] = sparse.conv.weight[o, j]
    x = torch.randn(2, 4, 9, 9)
    expected = torch.nn.functional.conv2d(torch.nn.functional.pad(x, (1, 1, 1, 1), value=-1.0), dense, stride=2)
    torch.testing.assert_close(sparse(x), expected)


@pytest.mark.parametrize("table, message", [
    ([], "rows of one non-zero length"), ([(0, 1), (2,)], "rows of one non-zero length"),
    ([(0, 0)], "names a map twice"),
])
def test_map_connections_rejects_bad_tables(table, message):
    with pytest.raises(ValueError, match=f"MapConnections: .*{message}"):
        MapConnections(table, kernel_size=3)


def test_lenet5_c3_table_follows_the_papers_rule():
    # the paper: the first six C3 maps read every contiguous subset of three S2 maps, the next
    # six every contiguous subset of four, the next three some non-contiguous subsets of four,
    # the last one all six; 60 links, 1,516 parameters
    def contiguous(start, size):
        return {(start + i) % 6 for i in range(size)}

    rows = [set(r) for r in LENET5_C3_TABLE]
    assert rows[:6] == [contiguous(j, 3) for j in range(6)]
    assert rows[6:12] == [contiguous(j, 4) for j in range(6)]
    assert all(len(r) == 4 and all(r != contiguous(j, 4) for j in range(6)) for r in rows[12:15])
    assert len({frozenset(r) for r in rows[12:15]}) == 3 and rows[15] == set(range(6))
    # the three leave out the three pairs of opposite maps, so every S2 map feeds ten C3 maps
    assert sorted(tuple(sorted(set(range(6)) - r)) for r in rows[12:15]) == [(0, 3), (1, 4), (2, 5)]
    assert [sum(i in r for r in rows) for i in range(6)] == [10] * 6
    links = sum(map(len, rows))
    assert (links, links * 25 + 16) == (60, 1_516)


def test_caffe_lenet_parameter_count_and_first_layer():
    net = meta("caffe_lenet")
    hand = conv_params(1, 20, 5) + conv_params(20, 50, 5) + fc_params(800, 500) + fc_params(500, 10)
    assert hand == n_params(net) == 431_080
    assert [tuple(p.shape) for p in net.conv1.parameters()] == [(20, 1, 5, 5), (20,)]


def alexnet_by_hand(groups, first=conv_params(3, 96, 11)):
    return (first + conv_params(96, 256, 5, groups) + conv_params(256, 384, 3)
            + conv_params(384, 384, 3, groups) + conv_params(384, 256, 3, groups)
            + fc_params(256 * 6 * 6, 4096) + fc_params(4096, 4096) + fc_params(4096, 1000))


@pytest.mark.parametrize("groups, expected", [(1, 62_378_344), (2, 60_965_224)])
def test_alexnet_parameter_count(groups, expected):
    assert alexnet_by_hand(groups) == n_params(meta("alexnet", groups=groups)) == expected


def test_alexnet_rejects_other_groupings():
    with pytest.raises(ValueError, match="alexnet: groups must be 1 or 2"):
        meta("alexnet", groups=4)


def test_zfnet_parameter_count_differs_from_alexnet_only_in_the_first_layer():
    assert n_params(meta("zfnet")) == alexnet_by_hand(1, first=conv_params(3, 96, 7)) == 62_357_608


def vgg_by_hand(cfg):
    total, c = 0, 3
    for v in cfg:
        if v != "M":
            maps, k = v if isinstance(v, tuple) else (v, 3)
            total, c = total + conv_params(c, maps, k), maps
    return total + fc_params(512 * 7 * 7, 4096) + fc_params(4096, 4096) + fc_params(4096, 1000)


@pytest.mark.parametrize("name, letter, expected", [
    ("vgg11", "A", 132_863_336), ("vgg13", "B", 133_047_848),
    ("vgg16", "D", 138_357_544), ("vgg19", "E", 143_667_240),
])
def test_vgg_parameter_counts(name, letter, expected):
    assert vgg_by_hand(VGG_CONFIGS[letter]) == n_params(meta(name)) == expected
    # the paper's table 2, in millions: 133, 133, 138, 144
    assert round(expected / 1e6) == {"A": 133, "B": 133, "D": 138, "E": 144}[letter]


def test_vgg_configuration_c_has_1x1_layers_and_134_million_parameters():
    with torch.device("meta"):
        net = vgg("C")
    assert net.conv3_3.kernel_size == (1, 1)
    assert round(n_params(net) / 1e6) == 134 and n_params(net) == vgg_by_hand(VGG_CONFIGS["C"])


def test_vgg_batch_norm_adds_two_parameters_per_map():
    with torch.device("meta"):
        plain, bn = vgg("A"), vgg("A", batch_norm=True)
    maps = sum(v for v in VGG_CONFIGS["A"] if v != "M")
    assert n_params(bn) - n_params(plain) == 2 * maps
    assert [n for n, _ in bn.named_children()][:3] == ["conv1_1", "bn1_1", "relu1_1"]


@pytest.mark.parametrize("cfg, message", [("F", "unknown configuration 'F'"), ([64, "M"], "exactly 5 times"),
                                          ([64, 2.5, "M", "M", "M", "M", "M"], "got 2.5")])
def test_vgg_rejects_bad_configurations(cfg, message):
    with pytest.raises(ValueError, match=f"vgg: .*{message}"):
        vgg(cfg)


def inception_by_hand(c_in, c1, r3, c3, r5, c5, pp):
    return (conv_params(c_in, c1, 1) + conv_params(c_in, r3, 1) + conv_params(r3, c3, 3)
            + conv_params(c_in, r5, 1) + conv_params(r5, c5, 5) + conv_params(c_in, pp, 1))


def test_googlenet_parameter_count_with_the_papers_5x5_branch():
    total, c = conv_params(3, 64, 7) + conv_params(64, 64, 1) + conv_params(64, 192, 3), 192
    for row in INCEPTION_TABLE.values():
        total += inception_by_hand(c, *row)
        c = row[0] + row[2] + row[4] + row[5]
    total += fc_params(1024, 1000)
    assert total == n_params(meta("googlenet")) == 6_998_552
    # torchvision's 3x3 "5x5" branch would have 16 fewer weights per (input, output) map pair
    assert meta("googlenet").inception3a.branch5x5[1][0].kernel_size == (5, 5)


def test_googlenet_auxiliary_heads():
    aux = n_params(meta("googlenet", aux_logits=True)) - 6_998_552
    head = lambda c: conv_params(c, 128, 1) + fc_params(2048, 1024) + fc_params(1024, 1000)
    assert aux == head(512) + head(528)


# ---- per-layer output shapes against the papers' tables ----

def test_alexnet_shapes_match_the_paper():
    names = ["conv1", "pool1", "conv2", "pool2", "conv3", "conv4", "conv5", "pool5", "fc6", "fc7", "fc8"]
    for groups in (1, 2):
        assert shapes_after(meta("alexnet", groups=groups), names) == {
            "conv1": (96, 55, 55), "pool1": (96, 27, 27), "conv2": (256, 27, 27), "pool2": (256, 13, 13),
            "conv3": (384, 13, 13), "conv4": (384, 13, 13), "conv5": (256, 13, 13), "pool5": (256, 6, 6),
            "fc6": (4096,), "fc7": (4096,), "fc8": (1000,)}


def test_zfnet_shapes_match_figure_3():
    names = ["conv1", "pool1", "conv2", "pool2", "conv3", "conv4", "conv5", "pool5"]
    assert shapes_after(meta("zfnet"), names) == {
        "conv1": (96, 110, 110), "pool1": (96, 55, 55), "conv2": (256, 26, 26), "pool2": (256, 13, 13),
        "conv3": (384, 13, 13), "conv4": (384, 13, 13), "conv5": (256, 13, 13), "pool5": (256, 6, 6)}


@pytest.mark.parametrize("name", ["vgg11", "vgg16", "vgg19"])
def test_vgg_blocks_halve_224_to_7(name):
    seen = shapes_after(meta(name), [f"pool{b}" for b in range(1, 6)])
    assert seen == {"pool1": (64, 112, 112), "pool2": (128, 56, 56), "pool3": (256, 28, 28),
                    "pool4": (512, 14, 14), "pool5": (512, 7, 7)}


def test_googlenet_shapes_match_table_1():
    table = {  # the paper's "output size" column
        "conv1": (64, 112, 112), "pool1": (64, 56, 56), "conv2": (192, 56, 56), "pool2": (192, 28, 28),
        "inception3a": (256, 28, 28), "inception3b": (480, 28, 28), "pool3": (480, 14, 14),
        "inception4a": (512, 14, 14), "inception4b": (512, 14, 14), "inception4c": (512, 14, 14),
        "inception4d": (528, 14, 14), "inception4e": (832, 14, 14), "pool4": (832, 7, 7),
        "inception5a": (832, 7, 7), "inception5b": (1024, 7, 7), "avgpool": (1024, 1, 1), "fc": (1000,)}
    assert shapes_after(meta("googlenet"), list(table)) == table


def test_googlenet_returns_auxiliary_logits_only_in_training():
    net = meta("googlenet", num_classes=5, aux_logits=True)
    x = torch.zeros(2, 3, 224, 224, device="meta")
    assert [tuple(t.shape) for t in net.train()(x)] == [(2, 5)] * 3
    assert tuple(net.eval()(x).shape) == (2, 5)


def test_lenet5_shapes_follow_the_paper():
    seen = shapes_after(meta("lenet5"), ["c1", "s2", "c3", "s4", "c5", "f6", "output"])
    assert seen == {"c1": (6, 28, 28), "s2": (6, 14, 14), "c3": (16, 10, 10), "s4": (16, 5, 5),
                    "c5": (120, 1, 1), "f6": (84,), "output": (10,)}


# ---- the CNN pattern ----

@pytest.mark.parametrize("n, m, k, pool, size, kernel, padding", [
    (2, 2, 1, True, 28, 3, None), (1, 3, 2, True, (32, 24), 5, None), (3, 1, 0, False, 10, 3, 0),
    (1, 2, 1, True, 28, 5, 0), (0, 2, 1, True, 9, 3, None),
])
def test_make_cnn_flattened_size_matches_a_forward_pass(n, m, k, pool, size, kernel, padding):
    with torch.device("meta"):
        net = make_cnn(n, m, k, pool, image_size=size, kernel_size=kernel, padding=padding, channels=4)
    seen = shapes_after(net, ["flatten"])
    assert seen["flatten"] == (net.flat_features,)
    convs = [c for c in net.children() if isinstance(c, torch.nn.Conv2d)]
    fcs = [c for c in net.children() if isinstance(c, torch.nn.Linear)]
    assert len(convs) == n * m and len(fcs) == k + 1
    assert sum(isinstance(c, torch.nn.MaxPool2d) for c in net.children()) == (m if pool else 0)


def test_make_cnn_knobs_and_widths():
    with torch.device("meta"):
        net = make_cnn(2, 3, 2, channels=[8, 16, 24], hidden=[64, 32], image_size=32, num_classes=3)
    assert net.conv3_2.out_channels == 24 and net.flat_features == 24 * 4 * 4
    assert (net.fc1.out_features, net.fc2.out_features, net.fc3.out_features) == (64, 32, 3)
    assert net.input_size == (1, 32, 32)
    assert feature_shapes(32, 2, 3)[-1] == ("pool3", (4, 4))


@pytest.mark.parametrize("kwargs, error, message", [
    ({"m": 6}, ValueError, r"make_cnn: the feature map is \(1, 1\) before pool5"),
    ({"n": -1}, ValueError, "make_cnn: n must be an int >= 0"),
    ({"k": 1.5}, TypeError, "make_cnn: k must be an int"),
    ({"channels": [8]}, ValueError, "make_cnn: channels has 1 entries, expected 2"),
    ({"hidden": [8, 8]}, ValueError, "make_cnn: hidden has 2 entries, expected 1"),
    ({"image_size": (28, 28, 3)}, ValueError, "make_cnn: image_size must be an int or"),
])
def test_make_cnn_rejects_bad_knobs(kwargs, error, message):
    with pytest.raises(error, match=message):
        make_cnn(**kwargs)


# ---- every model: the registry, a real forward pass, a clear error for a wrong input ----

def test_get_model_unknown_name_lists_the_known_ones():
    with pytest.raises(ValueError, match="get_model: unknown model 'nope'.*alexnet.*vgg16"):
        get_model("nope")


@pytest.mark.parametrize("name", sorted(MODELS))
def test_forward_at_the_documented_input_size(name):
    model = get_model(name, num_classes=7).eval()
    with torch.no_grad():
        out = model(torch.randn(1, *model.input_size))
    assert out.shape == (1, 7) and torch.isfinite(out).all()


@pytest.mark.parametrize("name", sorted(MODELS))
def test_wrong_input_size_names_the_expected_size(name):
    model = meta(name)
    c, h, w = model.input_size
    expected = rf"expected \(N, {c}, {h}, {w}\)"
    with pytest.raises(ValueError, match=rf"^{model.name}: input has shape \(1, {c}, {h + 1}, {w}\), {expected}"):
        model(torch.zeros(1, c, h + 1, w, device="meta"))
    with pytest.raises(ValueError, match=expected):
        model(torch.zeros(c, h, w, device="meta"))
    with pytest.raises(TypeError, match=f"{model.name}: input must be a torch.Tensor"):
        model([[0.0]])
