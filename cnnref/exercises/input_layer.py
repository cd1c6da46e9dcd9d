"""Checkers for the exercises of the input-layer page (docs/input-layer.*.md, section "Exercises")."""

from __future__ import annotations

import numpy as np
import scipy.linalg
from sklearn.decomposition import PCA as SklearnPCA
from sklearn.preprocessing import StandardScaler

from cnnref.data import load_digits
from cnnref.exercises.checks import expect_array, expect_function, expect_integer
from cnnref.exercises.registry import exercise
from cnnref.timing import threads

__all__ = ["standardize_test_set", "components_for_99_percent", "zca_whiten"]

# the statement's training and test set: two features of very different scales
TRAIN = np.array([[1.0, 200], [2, 400], [3, 600], [6, 800]])
TEST = np.array([[4.0, 500], [0, 1000]])


@exercise("input-layer/1")
def standardize_test_set(answer):
    """The statement's test set standardized with the mean and standard deviation (divided by N)
    of its training set, as a (2, 2) array.

    Examples:
        >>> from cnnref.exercises import check
        >>> print(check("input-layer/1", (TEST - TEST.mean(axis=0)) / TEST.std(axis=0)))
        your answer is wrong at 4 of 4 positions, the first at index (0, 0)
    """
    expect_array(answer, StandardScaler().fit(TRAIN).transform(TEST))


@exercise("input-layer/2")
def components_for_99_percent(answer):
    """How many principal components of the digits' training set (1347 images as 64-pixel rows,
    only the mean subtracted) keep at least 99 % of the variance, as scikit-learn's PCA counts them.

    Examples:
        >>> from cnnref.exercises import check
        >>> print(check("input-layer/2", 64))
        your answer is too large
    """
    images, _ = load_digits("train", dtype=np.float64)
    # a 1347 x 64 SVD takes ~20 ms on one BLAS thread, but up to 2 s with every core's thread on a busy machine
    with threads(1):
        pca = SklearnPCA(0.99, svd_solver="full").fit(images.reshape(len(images), -1))
    expect_integer(answer, pca.n_components_)


def reference_zca(train: np.ndarray, test: np.ndarray, eps: float) -> np.ndarray:
    """The reference: (test - training mean) @ (C + eps I)^(-1/2), C the training covariance
    (divided by N - 1), the inverse square root by scipy's matrix square root, not an eigendecomposition."""
    cov = np.cov(train, rowvar=False)
    root = scipy.linalg.sqrtm(np.linalg.inv(cov + eps * np.eye(len(cov))))
    return (test - train.mean(axis=0)) @ np.real(root)


def zca_cases() -> list[tuple[np.ndarray, np.ndarray, float]]:
    """(train, test, eps): correlated features of different scales; eps 0 and eps > 0; D from 2 to 6."""
    rng = np.random.default_rng(16)
    cases = []
    for n, d, eps in [(50, 2, 0.0), (80, 3, 0.1), (200, 6, 0.01), (40, 4, 1.0)]:
        mixing = rng.standard_normal((d, d)) * rng.uniform(0.5, 20, size=d)
        train = rng.standard_normal((n, d)) @ mixing + rng.uniform(-5, 5, size=d)
        cases.append((train, rng.standard_normal((7, d)) @ mixing, eps))
    return cases


@exercise("input-layer/3")
def zca_whiten(answer):
    """A NumPy function ``answer(train, test, eps) -> white``: ZCA whitening learnt on the training
    set (its mean, its covariance divided by N - 1), applied to the test set.

    train: (N, D), test: (M, D), eps >= 0 -> white: (M, D).

    Examples:
        >>> from cnnref.exercises import check
        >>> print(check("input-layer/3", lambda train, test, eps: (test - train.mean(axis=0)) / train.std(axis=0)))
        for an input of shape (50, 2): your function's output is wrong at 14 of 14 positions, the first at index (0, 0)
    """
    expect_function(answer, zca_cases(), reference_zca)
