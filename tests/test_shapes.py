"""cnnref.shapes against torch: the shape torch produces, or a refusal from both."""

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings, strategies as st

from cnnref import shapes

EXAMPLES = 300  # per kind of layer; four kinds -> 1200 random configurations


def torch_shape(fn, x, *args, **kwargs):
    """Spatial output shape of a torch op, or None where torch refuses the arguments."""
    try:
        return tuple(fn(x, *args, **kwargs).shape[2:])
    except (RuntimeError, ValueError):
        return None


def ours(fn, *args, **kwargs):
    """Our output size as a tuple, or None where we raise ValueError."""
    try:
        out = fn(*args, **kwargs)
    except ValueError:
        return None
    return out if isinstance(out, tuple) else (out,)


small = st.integers(1, 4)
pair = st.tuples(small, small)


@settings(max_examples=EXAMPLES, deadline=None)
@given(size=st.tuples(st.integers(1, 16), st.integers(1, 16)), k=pair, s=pair,
       p=st.one_of(st.tuples(st.integers(0, 3), st.integers(0, 3)), st.sampled_from(["same", "valid"])),
       d=st.tuples(st.integers(1, 3), st.integers(1, 3)))
def test_conv2d_matches_torch(size, k, s, p, d):
    expected = torch_shape(F.conv2d, torch.zeros(1, 1, *size), torch.zeros(1, 1, *k), stride=s, padding=p, dilation=d)
    assert ours(shapes.conv_output_size, size, k, stride=s, padding=p, dilation=d) == expected


@settings(max_examples=EXAMPLES, deadline=None)
@given(size=st.integers(1, 16), k=small, s=small, p=st.integers(0, 6), op=st.integers(0, 3), d=st.integers(1, 3))
def test_conv_transpose1d_matches_torch(size, k, s, p, op, d):
    expected = torch_shape(F.conv_transpose1d, torch.zeros(1, 1, size), torch.zeros(1, 1, k),
                           stride=s, padding=p, output_padding=op, dilation=d)
    assert ours(shapes.conv_transpose_output_size, size, k, stride=s, padding=p, output_padding=op,
                dilation=d) == expected


@settings(max_examples=EXAMPLES, deadline=None)
@given(size=st.tuples(st.integers(1, 16), st.integers(1, 16)), k=pair, s=st.one_of(st.none(), pair),
       p=st.tuples(st.integers(0, 2), st.integers(0, 2)), d=st.tuples(st.integers(1, 3), st.integers(1, 3)),
       ceil=st.booleans())
def test_max_pool2d_matches_torch(size, k, s, p, d, ceil):
    expected = torch_shape(F.max_pool2d, torch.zeros(1, 1, *size), k, stride=s, padding=p, dilation=d, ceil_mode=ceil)
    assert ours(shapes.pool_output_size, size, k, stride=s, padding=p, dilation=d, ceil_mode=ceil) == expected


@settings(max_examples=EXAMPLES, deadline=None)
@given(size=st.integers(1, 16), k=small, s=st.one_of(st.none(), small), p=st.integers(0, 2), ceil=st.booleans())
def test_avg_pool1d_matches_torch(size, k, s, p, ceil):
    expected = torch_shape(F.avg_pool1d, torch.zeros(1, 1, size), k, stride=s, padding=p, ceil_mode=ceil)
    assert ours(shapes.pool_output_size, size, k, stride=s, padding=p, ceil_mode=ceil) == expected


def test_ints_give_ints_and_tuples_give_tuples():
    assert shapes.conv_output_size(7, 2) == 6
    assert shapes.conv_output_size((7, 3), (2, 3)) == (6, 1)
    assert shapes.conv_output_size(7, (2, 3)) == (6, 5)
    assert shapes.conv_output_size([7, 3], 1) == (7, 3)


@pytest.mark.parametrize("call, argument", [
    (lambda: shapes.conv_output_size(0, 3), "size"),
    (lambda: shapes.conv_output_size(-4, 3), "size"),
    (lambda: shapes.conv_output_size(8, 0), "kernel_size"),
    (lambda: shapes.conv_output_size(8, 3, stride=0), "stride"),
    (lambda: shapes.conv_output_size(8, 3, stride=-1), "stride"),
    (lambda: shapes.conv_output_size(8, 3, padding=-1), "padding"),
    (lambda: shapes.conv_output_size(8, 3, dilation=0), "dilation"),
    (lambda: shapes.conv_output_size(2, 5), "kernel_size"),
    (lambda: shapes.conv_output_size(8, 3, stride=2, padding="same"), "padding='same'"),
    (lambda: shapes.conv_output_size(8, 3, padding="full"), "padding"),
    (lambda: shapes.conv_output_size((8, 8), (3, 3, 3)), "tuple arguments"),
    (lambda: shapes.conv_transpose_output_size(8, 3, stride=2, output_padding=2), "output_padding"),
    (lambda: shapes.conv_transpose_output_size(8, 3, output_padding=1), "output_padding"),
    (lambda: shapes.conv_transpose_output_size(1, 1, padding=1), "padding"),
    (lambda: shapes.conv_transpose_output_size(8, 3, padding="same"), "padding"),
    (lambda: shapes.pool_output_size(8, 2, padding=2), "padding"),
    (lambda: shapes.pool_output_size(1, 3, padding=1, dilation=2), "output size"),
    (lambda: shapes.pool_output_size(8, 2, stride=0), "stride"),
    (lambda: shapes.receptive_field([(3, 1), (3,)]), "layers[1]"),
    (lambda: shapes.receptive_field([(3, 0)]), "stride"),
])
def test_bad_arguments_raise_value_error_naming_the_argument(call, argument):
    with pytest.raises(ValueError, match=__import__("re").escape(argument)):
        call()


def test_non_integers_raise_type_error():
    with pytest.raises(TypeError, match="kernel_size"):
        shapes.conv_output_size(8, 2.5)
    with pytest.raises(TypeError, match="size"):
        shapes.pool_output_size("8", 2)


def receptive_field_by_gradient(layers, length=2000):
    """Independent oracle: run the stack as 1-D convs of ones, back-propagate from two
    neighbouring output units and measure the input span each depends on."""
    x = torch.zeros(1, 1, length, dtype=torch.float64, requires_grad=True)
    y = x
    for k, s, d in layers:
        y = F.conv1d(y, torch.ones(1, 1, k, dtype=torch.float64), stride=s, dilation=d)
    spans = []
    for unit in (0, 1):
        (grad,) = torch.autograd.grad(y[0, 0, unit], x, retain_graph=True)
        nz = grad[0, 0].nonzero().flatten()
        spans.append((int(nz.min()), int(nz.max())))
    return spans[0][1] - spans[0][0] + 1, spans[1][0] - spans[0][0]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 5), st.integers(1, 3), st.integers(1, 2)), min_size=1, max_size=4))
def test_receptive_field_matches_gradient_span(layers):
    assert tuple(shapes.receptive_field(layers)[-1]) == receptive_field_by_gradient(layers)
