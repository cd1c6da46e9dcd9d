"""cnnref.data.load_mnist1d against mnist1d's own generator, called directly."""

import itertools
import random
import socket

import numpy as np
import pytest

from cnnref.data import load_mnist1d

from mnist1d.data import get_dataset_args, make_dataset


def reference(num_samples=5000, seed=42, shuffle_seq=False):
    args = get_dataset_args()
    args.num_samples, args.seed, args.shuffle_seq = num_samples, seed, shuffle_seq
    return make_dataset(args)


@pytest.fixture(scope="module")
def paper():
    return reference()


def test_default_is_the_papers_data_set(paper):
    X, y = load_mnist1d("train", dtype=np.float64)
    Xt, yt = load_mnist1d("test", dtype=np.float64)
    assert X.shape == (4000, 40) and Xt.shape == (1000, 40)
    np.testing.assert_array_equal(X, paper["x"])
    np.testing.assert_array_equal(Xt, paper["x_test"])
    np.testing.assert_array_equal(y, paper["y"])
    np.testing.assert_array_equal(yt, paper["y_test"])
    assert y.dtype == np.int64 and np.bincount(np.concatenate([y, yt])).tolist() == [500] * 10
    Xa, ya = load_mnist1d("all")
    np.testing.assert_array_equal(Xa, np.concatenate([paper["x"], paper["x_test"]]).astype(np.float32))
    np.testing.assert_array_equal(ya, np.concatenate([y, yt]))


def test_float32_is_the_rounded_generator_output(paper):
    X, _ = load_mnist1d("train")
    assert X.dtype == np.float32
    np.testing.assert_array_equal(X, paper["x"].astype(np.float32))


def test_shuffle_seq_is_mnist1ds_shuffle():
    theirs = reference(num_samples=200, seed=7, shuffle_seq=True)
    X, y = load_mnist1d("train", shuffle_seq=True, num_samples=200, seed=7, dtype=np.float64)
    Xt, _ = load_mnist1d("test", shuffle_seq=True, num_samples=200, seed=7, dtype=np.float64)
    # equal up to rounding: mnist1d normalises after shuffling, so its mean and std sum in another order
    np.testing.assert_allclose(X, theirs["x"], rtol=0, atol=1e-14)
    np.testing.assert_allclose(Xt, theirs["x_test"], rtol=0, atol=1e-14)
    np.testing.assert_array_equal(y, theirs["y"])
    plain, _ = load_mnist1d("train", num_samples=200, seed=7, dtype=np.float64)
    assert not np.array_equal(X, plain)                      # the order of the positions did change
    perm = [int(np.flatnonzero((plain == X[:, [j]]).all(axis=0))[0]) for j in range(40)]
    np.testing.assert_array_equal(X, plain[:, perm])          # one permutation for every series
    assert sorted(perm) == list(range(40))


def test_other_sizes_and_seeds_match_the_generator():
    theirs = reference(num_samples=100, seed=3)
    X, y = load_mnist1d("train", num_samples=100, seed=3, dtype=np.float64)
    np.testing.assert_array_equal(X, theirs["x"])
    np.testing.assert_array_equal(y, theirs["y"])
    assert not np.array_equal(X, load_mnist1d("train", num_samples=100, seed=4, dtype=np.float64)[0])


# a seed no other call used in this process: load_mnist1d keeps what it generated per
# (num_samples, seed), and these tests need a real generation
FRESH_SEEDS = itertools.count(1_000_003)


def test_callers_global_random_state_is_left_alone():
    np.random.seed(123)
    random.seed(123)
    before_np, before_py = np.random.get_state(), random.getstate()
    load_mnist1d("train", num_samples=50, seed=next(FRESH_SEEDS))
    after_np = np.random.get_state()
    assert after_np[0] == before_np[0] and np.array_equal(after_np[1], before_np[1]) and after_np[2:] == before_np[2:]
    assert random.getstate() == before_py


def test_results_are_copies_of_the_cache():
    X, y = load_mnist1d("test", num_samples=100)
    X[:] = 0
    y[:] = -1
    X2, y2 = load_mnist1d("test", num_samples=100)
    assert np.abs(X2).sum() > 0 and (y2 >= 0).all()


def test_nothing_is_downloaded_or_written(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("load_mnist1d tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.chdir(tmp_path)
    X, _ = load_mnist1d("train", num_samples=30, seed=next(FRESH_SEEDS))
    assert X.shape == (24, 40)
    assert list(tmp_path.iterdir()) == []                   # get_dataset would have written a pickle here


@pytest.mark.parametrize("kwargs, message", [
    (dict(split="valid"), "split must be one of"),
    (dict(num_samples=15), "num_samples must be a positive multiple of 10, got 15"),
    (dict(num_samples=0), "num_samples must be a positive multiple of 10, got 0"),
    (dict(num_samples=True), "num_samples must be a positive multiple of 10, got True"),
    (dict(num_samples=100.0), "num_samples must be a positive multiple of 10, got 100.0"),
    (dict(seed=-1), r"seed must be an int in \[0, 2\*\*32\), got -1"),
    (dict(seed="42"), r"seed must be an int in \[0, 2\*\*32\), got '42'"),
    (dict(dtype=np.int64), "dtype must be a floating dtype, got int64"),
])
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match="load_mnist1d: " + message):
        load_mnist1d(**kwargs)
