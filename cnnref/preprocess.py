"""Preprocessing of the input layer: mean subtraction, normalization, PCA and whitening.

Each step is a small class, fit on the training data and then applied, with the numbers it
learnt, to any new data (the test set must not change them):

    Examples:
        >>> import numpy as np
        >>> train, test = np.array([[0.0, 0.0], [10.0, 10000.0]]), np.array([[5.0, 2500.0]])
        >>> scale = MinMaxScale().fit(train)
        >>> scale.transform(test)
        array([[0.5 , 0.25]])

Data are ``X: (N, D)``: N samples (rows) of D features. Covariances divide by ``N - 1``
(``numpy.cov``, scikit-learn's ``explained_variance_``).
"""

from __future__ import annotations

import numpy as np

__all__ = ["MeanSubtraction", "Standardize", "MinMaxScale", "PCA", "PCAWhitening", "ZCAWhitening"]


class _Step:
    """Shared plumbing: input checks, ``fit_transform``, refusal before ``fit``."""

    n_features_: int | None = None

    def _check(self, method: str, X) -> np.ndarray:
        name = f"{type(self).__name__}.{method}"
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2:
            raise ValueError(f"{name}: X has {X.ndim} dims, expected 2 (N, D)")
        if method == "fit":
            if X.shape[0] < 2:
                raise ValueError(f"{name}: X has {X.shape[0]} samples, expected at least 2")
        elif self.n_features_ is None:
            raise ValueError(f"{name}: call fit(X) on the training data first")
        elif X.shape[1] != self._width(method):
            raise ValueError(f"{name}: X has {X.shape[1]} features, expected {self._width(method)}")
        return X

    def _width(self, method: str) -> int:
        return self.n_features_

    def fit_transform(self, X) -> np.ndarray:
        """``fit(X)`` then ``transform(X)``."""
        return self.fit(X).transform(X)


class MeanSubtraction(_Step):
    """Mean subtraction (去均值): move the centre of the data to the origin.

    ``fit`` learns ``mean_: (D,)``; ``transform``: ``(N, D) -> (N, D)``, ``X - mean_``.

    Examples:
        >>> center = MeanSubtraction().fit(np.array([[1.0, 2.0], [3.0, 6.0]]))
        >>> center.mean_, center.transform(np.array([[2.0, 4.0]]))
        (array([2., 4.]), array([[0., 0.]]))
        >>> center.inverse_transform(np.zeros((1, 2)))
        array([[2., 4.]])
    """

    def fit(self, X) -> "MeanSubtraction":
        X = self._check("fit", X)
        self.mean_ = X.mean(axis=0)  # (D,)
        self.n_features_ = X.shape[1]
        return self

    def transform(self, X) -> np.ndarray:
        return self._check("transform", X) - self.mean_

    def inverse_transform(self, X) -> np.ndarray:
        return self._check("inverse_transform", X) + self.mean_


class Standardize(_Step):
    """Normalization to zero mean and unit variance per feature (z-score).

    ``transform``: ``(X - mean_) / scale_`` with ``scale_`` the standard deviation (``ddof``
    as given; a constant feature keeps scale 1, like scikit-learn's ``StandardScaler``).

    Args:
        ddof: delta degrees of freedom of the standard deviation (0 like scikit-learn).

    Examples:
        >>> z = Standardize().fit(np.array([[0.0, 0.0], [10.0, 10000.0]]))
        >>> z.transform(np.array([[10.0, 10000.0]]))
        array([[1., 1.]])
    """

    def __init__(self, ddof: int = 0) -> None:
        self.ddof = ddof

    def fit(self, X) -> "Standardize":
        X = self._check("fit", X)
        self.mean_ = X.mean(axis=0)  # (D,)
        std = X.std(axis=0, ddof=self.ddof)  # (D,)
        self.scale_ = np.where(std > 0, std, 1.0)
        self.n_features_ = X.shape[1]
        return self

    def transform(self, X) -> np.ndarray:
        return (self._check("transform", X) - self.mean_) / self.scale_

    def inverse_transform(self, X) -> np.ndarray:
        return self._check("inverse_transform", X) * self.scale_ + self.mean_


class MinMaxScale(_Step):
    """Normalization of each feature's range to ``feature_range`` (default [0, 1]).

    The notes' example: feature A in 0..10 and B in 0..10000 both become 0..1.
    A constant feature maps to the lower end.

    Args:
        feature_range: ``(low, high)`` of the scaled training data.

    Examples:
        >>> X = np.array([[0.0, 0.0], [5.0, 2500.0], [10.0, 10000.0]])
        >>> MinMaxScale().fit_transform(X)
        array([[0.  , 0.  ],
               [0.5 , 0.25],
               [1.  , 1.  ]])
    """

    def __init__(self, feature_range: tuple[float, float] = (0.0, 1.0)) -> None:
        low, high = feature_range
        if not low < high:
            raise ValueError(f"MinMaxScale: feature_range must have low < high, got {feature_range!r}")
        self.feature_range = (float(low), float(high))

    def fit(self, X) -> "MinMaxScale":
        X = self._check("fit", X)
        self.data_min_, self.data_max_ = X.min(axis=0), X.max(axis=0)  # (D,), (D,)
        span = self.data_max_ - self.data_min_
        low, high = self.feature_range
        self.scale_ = (high - low) / np.where(span > 0, span, 1.0)  # (D,)
        self.n_features_ = X.shape[1]
        return self

    def transform(self, X) -> np.ndarray:
        X = self._check("transform", X)
        return (X - self.data_min_) * self.scale_ + self.feature_range[0]

    def inverse_transform(self, X) -> np.ndarray:
        X = self._check("inverse_transform", X)
        return (X - self.feature_range[0]) / self.scale_ + self.data_min_


class PCA(_Step):
    """Principal component analysis: rotate centred data onto the directions of largest variance.

    ``fit`` takes the SVD of the centred data ``X - mean_ = U S Vᵀ``; the rows of ``Vᵀ``
    are the principal axes (eigenvectors of the covariance), ``S² / (N-1)`` their variances.
    Each axis is signed so that its largest-magnitude entry is positive.

    Attributes (after ``fit``): ``mean_: (D,)``, ``components_: (K, D)``,
    ``explained_variance_: (K,)``, ``explained_variance_ratio_: (K,)``, ``n_components_``.

    ``transform``: ``(N, D) -> (N, K)``; ``inverse_transform``: ``(N, K) -> (N, D)``
    (exact when ``K = D``, the best rank-K reconstruction otherwise).

    Args:
        n_components: None (all ``min(N, D)``), an int K, or a float in (0, 1): the fewest
            components whose explained variance ratios add up to more than that.

    Examples:
        >>> X = np.array([[2.0, 1.0], [-2.0, -1.0], [1.0, -2.0], [-1.0, 2.0]])
        >>> pca = PCA().fit(X)
        >>> pca.explained_variance_, pca.explained_variance_ratio_
        (array([3.33333333, 3.33333333]), array([0.5, 0.5]))
        >>> PCA(n_components=1).fit_transform(X).shape
        (4, 1)
    """

    def __init__(self, n_components: int | float | None = None) -> None:
        if n_components is not None:
            if isinstance(n_components, bool) or not isinstance(n_components, (int, float, np.integer, np.floating)):
                raise TypeError(f"PCA: n_components must be None, an int or a float, got {n_components!r}")
            if isinstance(n_components, (float, np.floating)) and not 0.0 < n_components < 1.0:
                raise ValueError(f"PCA: a float n_components must be in (0, 1), got {n_components!r}")
            if isinstance(n_components, (int, np.integer)) and n_components < 1:
                raise ValueError(f"PCA: n_components must be a positive int, got {n_components!r}")
        self.n_components = n_components

    def fit(self, X) -> "PCA":
        X = self._check("fit", X)
        n, d = X.shape
        self.mean_ = X.mean(axis=0)  # (D,)
        _, s, vt = np.linalg.svd(X - self.mean_, full_matrices=False)  # s: (min(N, D),), vt: (min(N, D), D)
        flip = np.sign(vt[np.arange(len(vt)), np.argmax(np.abs(vt), axis=1)])
        vt *= flip[:, None]
        variance = s ** 2 / (n - 1)
        ratio = variance / variance.sum()
        k = self.n_components
        if k is None:
            k = len(s)
        elif isinstance(k, (float, np.floating)):
            k = int(np.searchsorted(np.cumsum(ratio), k, side="right") + 1)  # as scikit-learn
        elif k > len(s):
            raise ValueError(f"PCA.fit: n_components={k} exceeds min(N, D) = {len(s)}")
        self.n_components_ = int(k)
        self.components_ = vt[:k]  # (K, D)
        self.explained_variance_ = variance[:k]  # (K,)
        self.explained_variance_ratio_ = ratio[:k]  # (K,)
        self.n_features_ = d
        return self

    def _width(self, method: str) -> int:
        return self.n_components_ if method == "inverse_transform" else self.n_features_

    def transform(self, X) -> np.ndarray:
        return (self._check("transform", X) - self.mean_) @ self.components_.T  # (N, K)

    def inverse_transform(self, X) -> np.ndarray:
        return self._check("inverse_transform", X) @ self.components_ + self.mean_  # (N, D)


class PCAWhitening(PCA):
    """PCA whitening: project on the principal axes and divide each by its standard deviation.

    ``transform``: ``(X - mean_) @ components_.T / sqrt(explained_variance_ + eps)``,
    ``(N, D) -> (N, K)``. With ``eps = 0`` the covariance of the whitened training data is
    the identity; ``eps > 0`` damps the axes of tiny variance (noise) instead of blowing them up.

    Args:
        n_components: as `PCA`.
        eps: added to each variance before the square root.

    Raises:
        ValueError: in ``fit``, when a kept variance plus ``eps`` is not positive (a
            singular covariance: pass ``eps > 0`` or fewer components).

    Examples:
        >>> rng = np.random.default_rng(0)
        >>> X = rng.standard_normal((500, 2)) @ np.array([[3.0, 0.0], [2.0, 0.5]])
        >>> Z = PCAWhitening().fit_transform(X)
        >>> bool(np.abs(np.cov(Z.T) - np.eye(2)).max() < 1e-12)
        True
    """

    def __init__(self, n_components: int | float | None = None, eps: float = 0.0) -> None:
        super().__init__(n_components)
        if not eps >= 0:
            raise ValueError(f"{type(self).__name__}: eps must be >= 0, got {eps!r}")
        self.eps = float(eps)

    def fit(self, X) -> "PCAWhitening":
        super().fit(X)
        scale = self.explained_variance_ + self.eps
        tiny = np.finfo(np.float64).eps * max(1.0, float(self.explained_variance_[0]))
        if np.any(scale <= tiny):
            raise ValueError(f"{type(self).__name__}.fit: the covariance is singular (smallest kept "
                             f"variance {self.explained_variance_[-1]:.3g}); pass eps > 0 or n_components")
        self.scale_ = np.sqrt(scale)  # (K,) standard deviation along each axis
        return self

    def transform(self, X) -> np.ndarray:
        return super().transform(X) / self.scale_

    def inverse_transform(self, X) -> np.ndarray:
        return super().inverse_transform(self._check("inverse_transform", X) * self.scale_)


class ZCAWhitening(PCAWhitening):
    """ZCA (zero-phase) whitening: PCA whitening rotated back to the original axes.

    ``W = V diag(1 / sqrt(λ + eps)) Vᵀ`` (V: principal axes, λ: their variances);
    ``transform``: ``(X - mean_) @ W``, ``(N, D) -> (N, D)``. Of all whitening matrices
    it changes the data least, so whitened images still look like images (edges enhanced).

    Args:
        eps: added to each variance before the square root.

    Examples:
        >>> rng = np.random.default_rng(0)
        >>> X = rng.standard_normal((500, 2)) @ np.array([[3.0, 0.0], [2.0, 0.5]])
        >>> zca = ZCAWhitening().fit(X)
        >>> bool(np.allclose(np.cov(zca.transform(X).T), np.eye(2))), bool(np.allclose(zca.matrix_, zca.matrix_.T))
        (True, True)
    """

    def __init__(self, eps: float = 0.0) -> None:
        super().__init__(None, eps)

    def fit(self, X) -> "ZCAWhitening":
        super().fit(X)
        if self.n_components_ < self.n_features_:
            raise ValueError(f"ZCAWhitening.fit: X has {self.n_components_} samples for {self.n_features_} "
                             "features; ZCA needs at least D + 1 samples")
        v = self.components_.T  # (D, D), columns are the principal axes
        self.matrix_ = v / self.scale_ @ v.T  # (D, D) symmetric whitening matrix W
        self._unwhiten = v * self.scale_ @ v.T  # (D, D) its inverse
        return self

    def _width(self, method: str) -> int:
        return self.n_features_

    def transform(self, X) -> np.ndarray:
        return (self._check("transform", X) - self.mean_) @ self.matrix_

    def inverse_transform(self, X) -> np.ndarray:
        return self._check("inverse_transform", X) @ self._unwhiten + self.mean_
