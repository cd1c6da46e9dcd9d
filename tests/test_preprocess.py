"""cnnref.preprocess against numpy.linalg.svd and scikit-learn; whitening gives identity covariance."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from sklearn import decomposition, preprocessing

from cnnref.data import load_digits
from cnnref.preprocess import MeanSubtraction, MinMaxScale, PCA, PCAWhitening, Standardize, ZCAWhitening
from tests.compare import assert_close


def correlated(seed, n, d):
    """n samples of d correlated features with very different scales."""
    rng = np.random.default_rng(seed)
    mix = rng.standard_normal((d, d)) * np.logspace(0, 3, d)
    return rng.standard_normal((n, d)) @ mix + rng.uniform(-50, 50, d)


def same_sign(ours, theirs):
    """Flip each row of `ours` to the sign of the matching row of `theirs` (axes are up to sign)."""
    return ours * np.sign(np.sum(ours * theirs, axis=1, keepdims=True))


shapes = st.tuples(st.integers(0, 2**16), st.integers(10, 60), st.integers(1, 8))


@settings(deadline=None, max_examples=30)
@given(shapes)
def test_pca_matches_numpy_svd(args):
    seed, n, d = args
    X = correlated(seed, n, d)
    pca = PCA().fit(X)
    _, s, vt = np.linalg.svd(X - X.mean(axis=0), full_matrices=False)
    assert_close(same_sign(pca.components_, vt), vt)
    assert_close(pca.explained_variance_, s ** 2 / (n - 1))
    assert_close(pca.inverse_transform(pca.transform(X)), X)


@settings(deadline=None, max_examples=30)
@given(shapes, st.one_of(st.none(), st.integers(1, 8), st.floats(0.05, 0.95)))
def test_pca_matches_scikit_learn(args, n_components):
    seed, n, d = args
    X = correlated(seed, n, d)
    if isinstance(n_components, int):
        n_components = min(n_components, d)
    ours = PCA(n_components).fit(X)
    theirs = decomposition.PCA(n_components, svd_solver="full").fit(X)
    assert ours.n_components_ == theirs.n_components_
    assert_close(same_sign(ours.components_, theirs.components_), theirs.components_)
    assert_close(ours.explained_variance_, theirs.explained_variance_)
    assert_close(ours.explained_variance_ratio_, theirs.explained_variance_ratio_)
    flip = np.sign(np.sum(ours.components_ * theirs.components_, axis=1))
    assert_close(ours.transform(X) * flip, theirs.transform(X))


@settings(deadline=None, max_examples=30)
@given(shapes, st.sampled_from([PCAWhitening, ZCAWhitening]))
def test_whitened_training_data_has_identity_covariance(args, cls):
    seed, n, d = args
    X = correlated(seed, n + d, d)  # more samples than features: a full-rank covariance
    white = cls().fit(X)
    Z = white.transform(X)
    assert np.abs(np.cov(Z.T).reshape(d, d) - np.eye(d)).max() < 1e-8
    assert_close(white.inverse_transform(Z), X)


def test_whitening_matches_scikit_learn_and_zca_is_the_inverse_square_root_of_the_covariance():
    X, _ = load_digits("train", dtype=np.float64)
    X = X.reshape(len(X), -1)  # (1347, 64), some pixels are always 0
    pca_white = PCAWhitening(n_components=30).fit(X)
    theirs = decomposition.PCA(30, whiten=True, svd_solver="full").fit(X)
    flip = np.sign(np.sum(pca_white.components_ * theirs.components_, axis=1))
    assert_close(pca_white.transform(X) * flip, theirs.transform(X))
    assert np.abs(np.cov(pca_white.transform(X).T) - np.eye(30)).max() < 1e-8

    useful = X.std(axis=0) > 0.05  # ZCA needs a non-singular covariance
    zca = ZCAWhitening().fit(X[:, useful])
    W = zca.matrix_
    assert_close(W, W.T)
    assert_close(W @ W @ np.cov(X[:, useful].T), np.eye(useful.sum()))


def test_eps_damps_the_small_variances():
    X = correlated(0, 200, 3)
    white = PCAWhitening(eps=1.0).fit(X)
    lam = PCA().fit(X).explained_variance_
    assert_close(np.var(white.transform(X), axis=0, ddof=1), lam / (lam + 1.0))


def test_scalers_match_scikit_learn():
    X = correlated(1, 50, 4)
    new = correlated(2, 7, 4)
    for ours, theirs in [(Standardize(), preprocessing.StandardScaler()),
                         (MinMaxScale(), preprocessing.MinMaxScaler()),
                         (MinMaxScale((-1, 1)), preprocessing.MinMaxScaler((-1, 1)))]:
        ours.fit(X), theirs.fit(X)
        assert_close(ours.transform(new), theirs.transform(new))
        assert_close(ours.inverse_transform(ours.transform(new)), new)
    centered = MeanSubtraction().fit(X)
    assert_close(centered.transform(X).mean(axis=0), np.zeros(4))
    assert_close(centered.inverse_transform(centered.transform(new)), new)


def test_the_notes_example_a_in_0_10_and_b_in_0_10000_both_become_0_1():
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.uniform(0, 10, 100), rng.uniform(0, 10000, 100)])
    Y = MinMaxScale().fit_transform(X)
    assert_close(Y.min(axis=0), np.zeros(2))
    assert_close(Y.max(axis=0), np.ones(2))


def test_bad_input_is_refused_with_the_method_and_argument_named():
    with pytest.raises(ValueError, match=r"PCA.transform: call fit\(X\) on the training data first"):
        PCA().transform(np.zeros((3, 2)))
    with pytest.raises(ValueError, match=r"Standardize.fit: X has 1 dims, expected 2 \(N, D\)"):
        Standardize().fit(np.zeros(3))
    with pytest.raises(ValueError, match="MinMaxScale.transform: X has 3 features, expected 2"):
        MinMaxScale().fit(np.eye(2)).transform(np.zeros((1, 3)))
    with pytest.raises(ValueError, match="PCA.inverse_transform: X has 2 features, expected 1"):
        PCA(1).fit(np.eye(3)).inverse_transform(np.zeros((1, 2)))
    with pytest.raises(ValueError, match="PCAWhitening.fit: the covariance is singular"):
        PCAWhitening().fit(np.column_stack([np.arange(5.0), np.ones(5)]))
    with pytest.raises(ValueError, match=r"PCA: a float n_components must be in \(0, 1\)"):
        PCA(1.5)
    with pytest.raises(ValueError, match="exceeds min"):
        PCA(5).fit(np.eye(3))
