"""Offline data: scikit-learn's handwritten digits and sample photographs, and generated problems.

Nothing here downloads: the digits (8x8 pixels) and the two sample
photographs ship inside scikit-learn.

The NumPy half of cnnref uses this module without torch: torch is imported only by the
functions and data sets that return tensors (`make_dataset`, `ImageDataset`, `DigitsDataset`,
and `load_digits` when it enlarges the images). The data sets are map-style: ``len()`` and
indexing, which is all torch's ``DataLoader`` asks of a data set.
"""

from __future__ import annotations

from typing import Any, Iterator, Sequence

import numpy as np

__all__ = [
    "load_digits",
    "enlarge_digits",
    "DigitsDataset",
    "DATASETS",
    "DIGITS_MEAN",
    "DIGITS_STD",
    "num_classes",
    "split_sizes",
    "make_dataset",
    "ImageDataset",
    "sample_image",
    "linear_regression",
    "iterate_minibatches",
]

SPLITS = ("train", "test", "all")
# Data sets of training by name: the digits to keep. Labels become 0..k-1 in this order.
DATASETS: dict[str, tuple[int, ...]] = {
    "digits": tuple(range(10)),
    "digits-0-4": (0, 1, 2, 3, 4),
    "digits-5-9": (5, 6, 7, 8, 9),
}
# Mean and standard deviation of the digits' training split at 32x32 (tests recompute them).
DIGITS_MEAN, DIGITS_STD = 0.234, 0.312


def enlarge_digits(images: np.ndarray, size: int) -> np.ndarray:
    """8x8 digits as the networks see them: ``(N, 8, 8)`` in [0, 1] -> ``(N, size, size)``.

    Bilinear interpolation (``torch.nn.functional.interpolate``, ``align_corners=False``) to
    ``(size - 4)`` squared, then a 2-pixel zero border, the way MNIST centres a 20x20 digit in
    28x28 (and LeNet pads it to 32x32); values clipped to [0, 1]. `load_digits` enlarges the
    training and test images with it, and `cnnref.images` a digit drawn or read from a file,
    so the two cannot drift apart.

    Examples:
        >>> x = enlarge_digits(np.ones((1, 8, 8)), 32)
        >>> x.shape, round(float(x[0, 2:30, 2:30].min()), 6), float(x[0, :2].max())
        ((1, 32, 32), 1.0, 0.0)
    """
    import torch
    import torch.nn.functional as F

    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 12:
        raise ValueError(f"enlarge_digits: size must be an int >= 12, got {size!r}")
    images = np.asarray(images)
    if images.ndim != 3:
        raise ValueError(f"enlarge_digits: images has shape {images.shape}, expected (N, H, W)")
    inner = size - 4
    x = torch.from_numpy(images[:, None].astype(np.float64))  # (N, 1, 8, 8)
    x = F.interpolate(x, size=(inner, inner), mode="bilinear", align_corners=False)
    x = F.pad(x, (2, 2, 2, 2))  # (N, 1, size, size)
    return x[:, 0].numpy().clip(0.0, 1.0)


def load_digits(
    split: str = "all",
    size: int = 8,
    classes: Sequence[int] | None = None,
    per_class: int | None = None,
    test_fraction: float = 0.25,
    seed: int = 0,
    dtype: type = np.float32,
) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's handwritten digits as ``(X, y)`` NumPy arrays.

    ``X: (N, 1, size, size)`` with values in [0, 1]; ``y: (N,)`` int64 labels.

    Args:
        split: ``"train"``, ``"test"`` or ``"all"``. The split is stratified and depends
            only on ``test_fraction`` and ``seed``, so it is the same on every machine.
        size: 8 (the original images), or 12 and more (resized, with a 2-pixel border:
            28 like MNIST, 32 like LeNet-5's input).
        classes: keep only these digits, e.g. ``range(5)``; labels stay the digits.
        per_class: keep only the first ``per_class`` examples of each class (after the split):
            a small data set for fine-tuning.
        test_fraction: share of each class held out for the test split.
        seed: seed of the split.
        dtype: dtype of ``X``.

    Examples:
        >>> X, y = load_digits("train")
        >>> X.shape, y.shape
        ((1347, 1, 8, 8), (1347,))
        >>> X, y = load_digits("test", size=28, classes=[5, 6, 7, 8, 9], per_class=3)
        >>> X.shape, sorted(set(y.tolist()))
        ((15, 1, 28, 28), [5, 6, 7, 8, 9])
    """
    from sklearn.datasets import load_digits as sk_load_digits

    if split not in SPLITS:
        raise ValueError(f"load_digits: split must be one of {SPLITS}, got {split!r}")
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or (size != 8 and size < 12):
        raise ValueError(f"load_digits: size must be 8 or an int >= 12, got {size!r}")
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"load_digits: test_fraction must be in (0, 1), got {test_fraction!r}")
    if per_class is not None and per_class < 1:
        raise ValueError(f"load_digits: per_class must be a positive int, got {per_class!r}")

    digits = sk_load_digits()
    images = digits.images / 16.0  # (1797, 8, 8), values 0..16 -> [0, 1]
    labels = digits.target.astype(np.int64)

    keep = np.unique(labels) if classes is None else np.asarray(sorted(set(int(c) for c in classes)))
    bad = [int(c) for c in keep if c not in range(10)]
    if bad or keep.size == 0:
        raise ValueError(f"load_digits: classes must be digits 0..9, got {list(classes)!r}")

    rng = np.random.RandomState(seed)
    chosen = []
    for c in range(10):  # every class draws from the generator, so a subset splits the same way
        idx = np.flatnonzero(labels == c)
        idx = idx[rng.permutation(idx.size)]
        n_test = int(round(idx.size * test_fraction))
        part = {"test": idx[:n_test], "train": idx[n_test:], "all": idx}[split]
        if c in keep:
            chosen.append(part if per_class is None else part[:per_class])
    index = np.sort(np.concatenate(chosen))

    x = images[index]
    if size != 8:
        x = enlarge_digits(x, size)
    return x[:, None].astype(dtype), labels[index]  # (N, 1, size, size), (N,)


class DigitsDataset:
    """The digits as a map-style data set of ``(image, label)`` pairs for torch's ``DataLoader``.

    ``image: (1, size, size)`` float32 tensor, ``label``: int64 tensor. Takes the arguments
    of `load_digits`.

    Examples:
        >>> ds = DigitsDataset("train", size=32)
        >>> len(ds), tuple(ds[0][0].shape)
        (1347, (1, 32, 32))
    """

    def __init__(self, split: str = "all", size: int = 8, **kwargs):
        import torch

        x, y = load_digits(split, size=size, **kwargs)
        self.images = torch.from_numpy(x)  # (N, 1, size, size)
        self.labels = torch.from_numpy(y)  # (N,)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i):
        return self.images[i], self.labels[i]


# --------------------------------------------------------------------------- the data sets of training

def num_classes(name: str) -> int:
    """Number of classes of a data set of `DATASETS`.

    Examples:
        >>> num_classes("digits"), num_classes("digits-5-9")
        (10, 5)
    """
    if name not in DATASETS:
        raise ValueError(f"num_classes: unknown dataset {name!r}, expected one of {', '.join(DATASETS)}")
    return len(DATASETS[name])


def split_sizes(name: str, val_fraction: float = 0.0, per_class: int | None = None, seed: int = 0
                ) -> dict[int, tuple[int, int]]:
    """How many examples of each digit `make_dataset` puts into the ``"train"`` and ``"val"``
    splits: ``{digit: (n_train, n_val)}``.

    Examples:
        >>> split_sizes("digits-0-4", val_fraction=0.1, per_class=20)[0]
        (20, 13)
    """
    if name not in DATASETS:
        raise ValueError(f"split_sizes: unknown dataset {name!r}, expected one of {', '.join(DATASETS)}")
    _, digit = load_digits("train", classes=DATASETS[name], seed=seed)  # 8x8: no resizing
    sizes = {}
    for c in DATASETS[name]:
        n = int((digit == c).sum())
        n_val = int(round(n * val_fraction))
        n_train = n - n_val if per_class is None else min(n - n_val, per_class)
        sizes[c] = (n_train, n_val)
    return sizes


class ImageDataset:
    """Images and labels held in memory, standardised with fixed statistics, and for training
    moved at random by up to ``max_shift`` pixels (data augmentation). A map-style data set.

    The shift draws from torch's global generator, the way torchvision's transforms do: it is
    seeded by `cnnref.seeding.seed_everything`, saved in every checkpoint and restored on resume.
    (DataLoader workers, if any, are seeded from the loader's generator.)

    Args:
        images: ``(N, C, H, W)`` float32 in [0, 1] (0 is the background).
        labels: ``(N,)`` int64.
        max_shift: largest translation in pixels, up/down and left/right (0: none).
        mean: subtracted after the shift.
        std: divides after the shift.

    Examples:
        >>> import torch
        >>> ds = ImageDataset(torch.zeros(2, 1, 4, 4), torch.tensor([0, 1]), mean=0.5, std=0.5)
        >>> ds[1][0][0, 0].tolist(), int(ds[1][1])
        ([-1.0, -1.0, -1.0, -1.0], 1)
    """

    def __init__(self, images: Any, labels: Any, max_shift: int = 0,
                 mean: float = DIGITS_MEAN, std: float = DIGITS_STD):
        self.images, self.labels = images, labels  # (N, C, H, W), (N,)
        self.max_shift, self.mean, self.std = max_shift, mean, std

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i):
        import torch
        import torch.nn.functional as F

        x = self.images[i]  # (C, H, W)
        if self.max_shift:
            s, (h, w) = self.max_shift, x.shape[1:]
            dy, dx = torch.randint(0, 2 * s + 1, (2,)).tolist()
            x = F.pad(x, (s, s, s, s))[:, dy:dy + h, dx:dx + w]  # (C, H, W), moved by (dy - s, dx - s)
        return (x - self.mean) / self.std, self.labels[i]


def make_dataset(
    name: str,
    split: str,
    size: int = 32,
    channels: int = 1,
    per_class: int | None = None,
    val_fraction: float = 0.0,
    max_shift: int = 0,
    seed: int = 0,
) -> ImageDataset:
    """A data set of `DATASETS` as ``(image, label)`` pairs, labels ``0..k-1``.

    The ``"val"`` split is the last ``round(val_fraction * n_c)`` training examples of each
    class; ``"train"`` is the rest, of which ``per_class`` keeps the first ones per class.
    The test split is always whole. Images are standardised with `DIGITS_MEAN` and
    `DIGITS_STD` (the statistics of the whole training split at 32x32), the same for
    every subset, so a model fine-tuned on ``"digits-5-9"`` sees what it was pretrained on.

    Args:
        name: ``"digits"``, ``"digits-0-4"`` or ``"digits-5-9"``.
        split: ``"train"``, ``"val"`` or ``"test"``.
        size: image side (32 for LeNet-5; the 8x8 digits are resized).
        channels: 1, or 3 to repeat the grey channel for RGB models.
        per_class: keep this many training examples per class.
        val_fraction: share of each class held out from the training split for validation.
        max_shift: random translation of the training images, in pixels (ignored for
            ``"val"`` and ``"test"``).
        seed: seed of `load_digits`'s train/test split.

    Returns:
        An `ImageDataset`: ``x: (channels, size, size)`` float32, ``y`` int64.

    Examples:
        >>> ds = make_dataset("digits-5-9", "train", per_class=3)
        >>> len(ds), tuple(ds[0][0].shape), sorted(set(ds.labels.tolist()))
        (15, (1, 32, 32), [0, 1, 2, 3, 4])
    """
    import torch

    if name not in DATASETS:
        raise ValueError(f"make_dataset: unknown dataset {name!r}, expected one of {', '.join(DATASETS)}")
    if split not in ("train", "val", "test"):
        raise ValueError(f"make_dataset: split must be 'train', 'val' or 'test', got {split!r}")
    if channels not in (1, 3):
        raise ValueError(f"make_dataset: channels must be 1 or 3, got {channels!r}")
    classes = DATASETS[name]
    x, digit = load_digits("test" if split == "test" else "train", size=size, classes=classes, seed=seed)
    if split != "test":
        keep = []
        for c in classes:
            idx = np.flatnonzero(digit == c)
            n_val = int(round(idx.size * val_fraction))
            part = idx[idx.size - n_val:] if split == "val" else idx[:idx.size - n_val]
            keep.append(part if split == "val" or per_class is None else part[:per_class])
        index = np.sort(np.concatenate(keep))
        x, digit = x[index], digit[index]
    y = np.searchsorted(np.asarray(classes), digit)        # digits -> 0..k-1
    images = torch.from_numpy(x)                           # (N, 1, size, size)
    if channels == 3:
        images = images.expand(-1, 3, -1, -1)  # (N, 3, size, size), a view: no copy
    return ImageDataset(images, torch.from_numpy(y), max_shift if split == "train" else 0)


# --------------------------------------------------------------------------- more data

def sample_image(name: str = "china", gray: bool = False) -> np.ndarray:
    """One of scikit-learn's two sample photographs, ``"china"`` or ``"flower"``.

    Returns ``(427, 640, 3)`` uint8 RGB, or ``(427, 640)`` float64 in [0, 1] with ``gray=True``
    (ITU-R BT.601 luma weights).

    Examples:
        >>> sample_image("flower").shape, sample_image(gray=True).shape
        ((427, 640, 3), (427, 640))
    """
    from sklearn.datasets import load_sample_image

    if name not in ("china", "flower"):
        raise ValueError(f"sample_image: name must be 'china' or 'flower', got {name!r}")
    image = load_sample_image(f"{name}.jpg")
    if gray:
        return image @ np.array([0.299, 0.587, 0.114]) / 255.0
    return image


def linear_regression(
    n: int = 200,
    weights: Sequence[float] = (2.0, -1.0),
    noise: float = 0.1,
    scales: Sequence[float] = (1.0, 3.0),
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A linear neuron's data: ``y = X @ w + noise``, with features of different scales so the
    squared error's surface is an elongated paraboloid (elliptical contours).

    Returns ``X: (n, d)``, ``y: (n,)`` and the true ``w: (d,)``, all float64.

    Examples:
        >>> X, y, w = linear_regression(n=5)
        >>> X.shape, y.shape, w.tolist()
        ((5, 2), (5,), [2.0, -1.0])
    """
    w = np.asarray(weights, dtype=np.float64)
    s = np.asarray(scales, dtype=np.float64)
    if w.ndim != 1 or s.shape != w.shape:
        raise ValueError(f"linear_regression: weights and scales must be 1-D of the same length, "
                         f"got {w.shape} and {s.shape}")
    if n < 1:
        raise ValueError(f"linear_regression: n must be positive, got {n}")
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, w.size)) * s  # (n, d)
    y = X @ w + noise * rng.standard_normal(n)  # (n,)
    return X, y, w


def iterate_minibatches(
    *arrays: np.ndarray,
    batch_size: int,
    shuffle: bool = True,
    drop_last: bool = False,
    seed: int | None = 0,
) -> Iterator[tuple[np.ndarray, ...]]:
    """Yield aligned mini-batches of the arrays (one pass, an epoch).

    ``batch_size=len(x)`` is full-batch learning, ``batch_size=1`` online learning.

    Examples:
        >>> x, y = np.arange(10), np.arange(10) * 10
        >>> [b[0].tolist() for b in iterate_minibatches(x, y, batch_size=4, shuffle=False)]
        [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
        >>> len(list(iterate_minibatches(x, batch_size=4, drop_last=True)))
        2
    """
    if not arrays:
        raise ValueError("iterate_minibatches: give at least one array")
    n = len(arrays[0])
    if any(len(a) != n for a in arrays):
        raise ValueError(f"iterate_minibatches: arrays must have the same length, got {[len(a) for a in arrays]}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"iterate_minibatches: batch_size must be a positive int, got {batch_size!r}")
    order = np.random.default_rng(seed).permutation(n) if shuffle else np.arange(n)
    stop = n - n % batch_size if drop_last else n
    for start in range(0, stop, batch_size):
        idx = order[start:start + batch_size]
        yield tuple(a[idx] for a in arrays)


# ----------------------------------------------------------------------------- MNIST-1D
# Kept as one block at the end of the module (with its own __all__ entry) so it merges apart
# from the torch datasets above.
__all__ += ["load_mnist1d"]

MNIST1D_LENGTH = 40  # mnist1d's final_seq_length: every series has 40 points


def _mnist1d_generate(num_samples: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """mnist1d's own generator, offline: ``make_dataset`` with its defaults (``get_dataset``
    would download), cached per arguments because a run takes about a second.

    ``make_dataset`` reseeds NumPy's and Python's global generators; both are put back as the
    caller left them. The permutation of the 40 positions is drawn where ``make_dataset``
    draws it with ``shuffle_seq=True`` (right after the samples), so ``X[:, perm]`` is its
    shuffled data set (to the last bit or so: it normalises after shuffling, summing in another
    order) without generating everything a second time.
    """
    import random

    try:
        from mnist1d.data import get_dataset_args, make_dataset
    except ImportError as e:  # a clear message instead of a bare ModuleNotFoundError
        raise ImportError("load_mnist1d: needs the mnist1d package (pip install mnist1d)") from e

    np_state, py_state = np.random.get_state(), random.getstate()
    try:
        args = get_dataset_args()
        args.num_samples, args.seed, args.shuffle_seq = num_samples, seed, False
        data = make_dataset(args)
        perm = np.random.permutation(args.final_seq_length)
    finally:
        np.random.set_state(np_state)
        random.setstate(py_state)
    x = np.concatenate([data["x"], data["x_test"]])  # (num_samples, 40), the train part first
    y = np.concatenate([data["y"], data["y_test"]]).astype(np.int64)
    for a in (x, y, perm):
        a.flags.writeable = False  # cached: callers get copies
    return x, y, perm, len(data["x"])


_mnist1d_cache: dict[tuple[int, int], tuple[np.ndarray, np.ndarray, np.ndarray, int]] = {}


def load_mnist1d(
    split: str = "train",
    shuffle_seq: bool = False,
    num_samples: int = 5000,
    seed: int = 42,
    dtype: type = np.float32,
) -> tuple[np.ndarray, np.ndarray]:
    """MNIST-1D (Greydanus 2020) as ``(X, y)`` NumPy arrays, generated offline by ``mnist1d``.

    ``X: (N, 40)``, each row one series (centred and scaled to standard deviation 1 over the
    whole set); ``y: (N,)`` int64 labels 0..9. Add a channel for a convolution:
    ``X[:, None]`` is ``(N, 1, 40)``. With the defaults this is the paper's data set.

    Args:
        split: ``"train"`` (the first 80 %), ``"test"`` (the rest) or ``"all"``.
        shuffle_seq: permute the 40 positions with one fixed permutation (the same for every
            series and both splits), as ``mnist1d``'s ``shuffle_seq=True``: the values stay,
            their order in space is gone.
        num_samples: size of the whole set, a positive multiple of 10 (the same number per class).
        seed: seed of the generator, in ``[0, 2**32)`` (42 is the paper's).
        dtype: a floating dtype for ``X``.

    Raises:
        ValueError: an unknown split, ``num_samples`` not a positive multiple of 10, a seed
            outside NumPy's ``[0, 2**32)``, or a non-floating ``dtype``.
        ImportError: ``mnist1d`` is not installed.

    Examples:
        >>> X, y = load_mnist1d("train", num_samples=100)
        >>> X.shape, X.dtype, y.shape, sorted(set(y.tolist())) == list(range(10))
        ((80, 40), dtype('float32'), (80,), True)
        >>> Xs, ys = load_mnist1d("train", shuffle_seq=True, num_samples=100)
        >>> bool((ys == y).all()), bool((np.sort(Xs, axis=1) == np.sort(X, axis=1)).all())
        (True, True)
    """
    if split not in SPLITS:
        raise ValueError(f"load_mnist1d: split must be one of {SPLITS}, got {split!r}")
    if (isinstance(num_samples, bool) or not isinstance(num_samples, (int, np.integer))
            or num_samples < 10 or num_samples % 10):
        raise ValueError(f"load_mnist1d: num_samples must be a positive multiple of 10, got {num_samples!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**32:
        raise ValueError(f"load_mnist1d: seed must be an int in [0, 2**32), got {seed!r}")
    if not np.issubdtype(np.dtype(dtype), np.floating):
        raise ValueError(f"load_mnist1d: dtype must be a floating dtype, got {np.dtype(dtype)}")

    key = (int(num_samples), int(seed))
    if key not in _mnist1d_cache:
        _mnist1d_cache[key] = _mnist1d_generate(*key)
    x, y, perm, n_train = _mnist1d_cache[key]  # n_train: mnist1d's split, its first 80 %
    if shuffle_seq:
        x = x[:, perm]
    part = {"train": slice(0, n_train), "test": slice(n_train, None), "all": slice(None)}[split]
    return x[part].astype(dtype), y[part].copy()  # copies: the cache stays as generated
