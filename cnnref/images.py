"""A picture of one digit, prepared the way the digits data sets are prepared.

scikit-learn's digits are the UCI "optdigits" set: NIST's normalised 32x32 bitmaps of
handwritten digits, each cut into 4x4 blocks whose ink pixels were counted, giving 8x8 images
of counts 0..16. Every digit fills the 8 rows and is centred across the columns. A digit drawn
on the "Look inside LeNet-5" page or read from a file becomes such an 8x8 image here:

1. `ink_from_picture` (files only): grey levels, light ink on a dark background (inverted if
   the border is light), background subtracted and the brightest ink stretched to 1;
2. `digit_from_ink`: cropped to the box around the ink, centred in a square whose side is the
   box's longer side, averaged down to 8x8 (for a 32x32 bitmap whose ink spans its height,
   that is the 4x4 block count divided by 16);
3. `prepare_digit`: what training does to every image, with the same code:
   `cnnref.data.enlarge_digits` to the model's size, standardised with `cnnref.data.DIGITS_MEAN`
   and `cnnref.data.DIGITS_STD`, repeated to 3 channels for RGB models.

The page's JavaScript (``docs/javascripts/lenet-explorer.js``) does steps 2 and 3 in the
browser; the browser tests compare the two on the same bitmaps.

Examples:
    >>> ink = np.zeros((32, 32)); ink[4:28, 13:19] = 1.0        # a "1": a bar 24 high, 6 wide
    >>> digit = digit_from_ink(ink)                              # 24 rows -> 8: 3 pixels a cell
    >>> digit[0]
    array([0., 0., 0., 1., 1., 0., 0., 0.])
    >>> prepare_digit(digit).shape
    torch.Size([1, 32, 32])
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np

from cnnref.data import DIGITS_MEAN, DIGITS_STD, enlarge_digits

__all__ = [
    "DIGIT_SIZE",
    "INK_THRESHOLD",
    "area_weights",
    "digit_from_ink",
    "ink_from_picture",
    "prepare_digit",
    "read_picture",
    "load_digit",
]

DIGIT_SIZE = 8
"""Side of the digits' images: NIST's 32x32 bitmaps counted in 4x4 blocks."""
INK_THRESHOLD = 0.25
"""A pixel at least this bright (ink = 1) belongs to the digit's box in `digit_from_ink`."""
INVERT = ("auto", "yes", "no")
LUMA = np.array([0.299, 0.587, 0.114])
"""Weights of red, green and blue in grey (ITU-R BT.601 luma, as in `cnnref.data.sample_image`)."""


def area_weights(n: int, m: int) -> np.ndarray:
    """The ``(m, n)`` matrix that averages ``n`` pixels into ``m`` cells of equal width.

    Output cell ``a`` covers the interval ``[a * n / m, (a + 1) * n / m)`` of the input;
    ``W[a, i]`` is the share of that interval that pixel ``i`` (``[i, i + 1)``) covers, so every
    row sums to 1 and ``W @ x @ W.T`` averages an ``(n, n)`` image into ``(m, m)`` (upsampling
    when ``n < m``: a pixel is repeated over the cells it covers).

    Examples:
        >>> area_weights(4, 2)
        array([[0.5, 0.5, 0. , 0. ],
               [0. , 0. , 0.5, 0.5]])
        >>> area_weights(3, 2).round(3)
        array([[0.667, 0.333, 0.   ],
               [0.   , 0.333, 0.667]])
    """
    if n < 1 or m < 1:
        raise ValueError(f"area_weights: n and m must be positive, got n={n}, m={m}")
    w = np.zeros((m, n))
    width = n / m
    for a in range(m):
        lo, hi = a * width, (a + 1) * width
        for i in range(int(np.floor(lo)), min(n, int(np.ceil(hi)))):
            w[a, i] = (min(hi, i + 1) - max(lo, i)) / width  # overlap of [i, i+1) and [lo, hi)
    return w


def digit_from_ink(ink) -> np.ndarray:
    """``ink: (H, W)`` in [0, 1], ink bright on a 0 background -> ``(8, 8)`` in [0, 1].

    The box around the pixels of at least `INK_THRESHOLD` is cut out, centred in a square of
    its longer side (zeros on both sides of the shorter one, the extra zero after it when the
    difference is odd) and averaged down to 8x8 with `area_weights`: every digit fills the
    rows (or, if wider than tall, the columns), as in the digits data set.

    Raises:
        ValueError: ``ink`` is not 2-D, holds NaN or infinity or values outside [0, 1], or
            has no pixel of at least `INK_THRESHOLD` (an empty drawing).

    Examples:
        >>> ink = np.zeros((32, 32)); ink[:, 12:20] = 1.0   # a bar as high as the bitmap, 8 wide
        >>> digit_from_ink(ink)[0]                           # 8 of 32 columns wide -> 2 of 8
        array([0., 0., 0., 1., 1., 0., 0., 0.])
        >>> digit_from_ink(np.zeros((5, 5)))
        Traceback (most recent call last):
        ...
        ValueError: digit_from_ink: no ink (no pixel >= 0.25); draw or load a digit
    """
    ink = np.asarray(ink, dtype=np.float64)
    if ink.ndim != 2 or 0 in ink.shape:
        raise ValueError(f"digit_from_ink: ink has shape {ink.shape}, expected (H, W)")
    if not np.isfinite(ink).all() or ink.min() < 0 or ink.max() > 1:
        raise ValueError("digit_from_ink: ink must hold finite values in [0, 1]")
    rows, cols = np.flatnonzero((ink >= INK_THRESHOLD).any(1)), np.flatnonzero((ink >= INK_THRESHOLD).any(0))
    if rows.size == 0:
        raise ValueError(f"digit_from_ink: no ink (no pixel >= {INK_THRESHOLD}); draw or load a digit")
    box = ink[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]            # (h, w)
    h, w = box.shape
    side = max(h, w)
    top, left = (side - h) // 2, (side - w) // 2
    square = np.zeros((side, side))
    square[top:top + h, left:left + w] = box                          # (side, side), centred
    weights = area_weights(side, DIGIT_SIZE)                          # (8, side)
    return (weights @ square @ weights.T).clip(0.0, 1.0)              # (8, 8)


def ink_from_picture(picture, invert: str = "auto") -> np.ndarray:
    """A grey picture ``(H, W)`` in [0, 1] -> ink ``(H, W)`` in [0, 1], bright on 0.

    ``invert``: ``"auto"`` inverts a picture whose border (its outermost pixels) is mostly
    light (a dark digit on paper), ``"yes"`` always, ``"no"`` never. The median of the
    border is then taken as the background and subtracted, and the brightest pixel stretched
    to 1: the NIST bitmaps behind the digits are black and white.

    Raises:
        ValueError: ``invert`` is not one of auto, yes, no; the picture is not 2-D or holds
            values outside [0, 1]; nothing is brighter than the background.

    Examples:
        >>> paper = np.full((4, 4), 0.9); paper[1:3, 1:3] = 0.1   # dark ink on light paper
        >>> ink_from_picture(paper)
        array([[0., 0., 0., 0.],
               [0., 1., 1., 0.],
               [0., 1., 1., 0.],
               [0., 0., 0., 0.]])
    """
    if invert not in INVERT:
        raise ValueError(f"ink_from_picture: invert must be one of {INVERT}, got {invert!r}")
    x = np.asarray(picture, dtype=np.float64)
    if x.ndim != 2 or 0 in x.shape:
        raise ValueError(f"ink_from_picture: picture has shape {x.shape}, expected (H, W)")
    if not np.isfinite(x).all() or x.min() < 0 or x.max() > 1:
        raise ValueError("ink_from_picture: picture must hold finite values in [0, 1]")
    border = np.concatenate([x[0], x[-1], x[:, 0], x[:, -1]])
    if invert == "yes" or (invert == "auto" and np.median(border) > 0.5):
        x, border = 1.0 - x, 1.0 - border
    background = np.median(border)
    top = x.max()
    if top <= background:
        raise ValueError("ink_from_picture: no ink: nothing in the picture is brighter than its background "
                         f"({background:.2f}); is it blank, or should invert be 'yes'/'no'?")
    return ((x - background) / (top - background)).clip(0.0, 1.0)


def prepare_digit(digit, size: int = 32, channels: int = 1):
    """An 8x8 digit in [0, 1] -> the standardised ``(channels, size, size)`` float32 tensor a
    model of `cnnref.models` trained on the digits sees: the same steps and code as
    `cnnref.data.make_dataset` (`cnnref.data.enlarge_digits`, then ``(x - DIGITS_MEAN) / DIGITS_STD``).

    Examples:
        >>> from cnnref.data import load_digits, make_dataset
        >>> raw, _ = load_digits("test")                            # (450, 1, 8, 8) in [0, 1]
        >>> bool((prepare_digit(raw[3, 0]) == make_dataset("digits", "test")[3][0]).all())
        True
    """
    import torch

    d = np.asarray(digit, dtype=np.float64)
    if d.shape != (DIGIT_SIZE, DIGIT_SIZE):
        raise ValueError(f"prepare_digit: digit has shape {d.shape}, expected ({DIGIT_SIZE}, {DIGIT_SIZE})")
    if not np.isfinite(d).all() or d.min() < 0 or d.max() > 1:
        raise ValueError("prepare_digit: digit must hold finite values in [0, 1]")
    if channels not in (1, 3):
        raise ValueError(f"prepare_digit: channels must be 1 or 3, got {channels!r}")
    image = torch.from_numpy(enlarge_digits(d[None], size).astype(np.float32))  # (1, size, size)
    x = (image - DIGITS_MEAN) / DIGITS_STD      # what ImageDataset does to every training image
    return x.expand(channels, -1, -1).clone()   # (channels, size, size)


def read_picture(path: str | os.PathLike) -> np.ndarray:
    """A picture file as grey levels ``(H, W)`` in [0, 1] (white = 1).

    PNG, JPEG, BMP, GIF ... (anything Pillow decodes, one frame), or a NumPy ``.npy`` array of
    shape ``(H, W)``, ``(1, H, W)`` or ``(3, H, W)`` (uint8 0..255 or floats in [0, 1]). Colour
    becomes grey with the luma weights of `LUMA` (those of `cnnref.data.sample_image`);
    transparent pixels are laid on white.

    Pillow decodes the files: matplotlib, which the project already installs, reads PNG through
    Pillow too, and Pillow alone says which mode (channels) a file has and refuses a file that
    is not a picture with one exception.

    Raises:
        ValueError: no such file, not a picture, several frames, channels other than grey,
            grey + alpha, RGB, RGBA (e.g. CMYK, or a 2-channel array), or values outside [0, 1].

    Examples:
        >>> read_picture("no/such.png")
        Traceback (most recent call last):
        ...
        ValueError: read_picture: no file 'no/such.png'
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"read_picture: no file '{path}'")
    if path.suffix.lower() == ".npy":
        return _grey_from_array(path)
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)  # a huge picture is refused
            with Image.open(path) as image:
                if getattr(image, "n_frames", 1) > 1:
                    raise ValueError(f"read_picture: '{path}' has {image.n_frames} frames, expected one picture")
                image.load()
                mode = image.mode
                if mode == "P":  # a palette: its colours, with transparency if it has any
                    image = image.convert("RGBA")
                    mode = "RGBA"
                if mode in ("1", "L", "I", "I;16", "I;16B", "I;16L", "F"):
                    grey = np.asarray(image.convert("F"), dtype=np.float64)
                    grey = grey / {"1": 255.0, "L": 255.0, "F": 1.0}.get(mode, 65535.0)
                    return _checked(grey.clip(0.0, 1.0) if mode == "F" else grey, path)
                if mode not in ("LA", "RGB", "RGBA"):
                    raise ValueError(f"read_picture: '{path}' has mode {mode} ({len(image.getbands())} channels "
                                     f"{'/'.join(image.getbands())}); expected grey, grey + alpha, RGB or RGBA: "
                                     "convert it to one of these")
                rgba = np.asarray(image.convert("RGBA"), dtype=np.float64) / 255.0  # (H, W, 4)
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise ValueError(f"read_picture: '{path}' is not a picture Pillow can read "
                         f"({' '.join(str(e).split())[:120] or type(e).__name__})") from None
    except OSError as e:  # truncated or damaged file
        raise ValueError(f"read_picture: '{path}' is damaged ({' '.join(str(e).split())[:120]})") from None
    alpha = rgba[..., 3]
    grey = rgba[..., :3] @ LUMA                                    # (H, W)
    return _checked(grey * alpha + (1.0 - alpha), path)            # over white


def _checked(grey: np.ndarray, path: Path) -> np.ndarray:
    if grey.ndim != 2 or 0 in grey.shape:
        raise ValueError(f"read_picture: '{path}' has shape {grey.shape}, expected a picture (H, W)")
    return grey


def _grey_from_array(path: Path) -> np.ndarray:
    try:
        x = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as e:  # a pickled object array, or not a .npy file
        raise ValueError(f"read_picture: '{path}' is not a NumPy array file ({' '.join(str(e).split())[:120]})") from None
    if x.ndim == 3:
        if x.shape[0] not in (1, 3):
            raise ValueError(f"read_picture: '{path}' has shape {x.shape}: {x.shape[0]} channels, expected "
                             "(H, W), (1, H, W) grey or (3, H, W) RGB")
    elif x.ndim != 2:
        raise ValueError(f"read_picture: '{path}' has shape {x.shape}, expected (H, W), (1, H, W) or (3, H, W)")
    if x.dtype == np.uint8:
        x = x / 255.0
    elif x.dtype.kind not in "fiu" or x.dtype == np.bool_:
        raise ValueError(f"read_picture: '{path}' holds {x.dtype}, expected uint8 or floats in [0, 1]")
    x = x.astype(np.float64)
    if not np.isfinite(x).all() or x.min() < 0 or x.max() > 1:
        raise ValueError(f"read_picture: '{path}' holds values outside [0, 1] (or NaN); expected uint8 or "
                         "floats in [0, 1]")
    if x.ndim == 3:
        x = x[0] if x.shape[0] == 1 else np.tensordot(LUMA, x, axes=1)  # (H, W)
    return _checked(x, path)


def load_digit(path: str | os.PathLike, size: int = 32, channels: int = 1, invert: str = "auto"):
    """A picture file of one digit -> the standardised ``(channels, size, size)`` tensor a
    model trained on the digits sees: `read_picture`, `ink_from_picture`, `digit_from_ink`,
    `prepare_digit`.

    Raises:
        ValueError: the file is missing, not a picture, has the wrong channels, or shows no ink.
    """
    try:
        ink = ink_from_picture(read_picture(path), invert)
        return prepare_digit(digit_from_ink(ink), size, channels)
    except ValueError as e:
        message = str(e)
        if message.startswith(("ink_from_picture", "digit_from_ink")):  # name the file, not the step
            message = f"'{path}': {message.split(': ', 1)[1]}"
        raise ValueError(message if message.startswith("read_picture") else f"load_digit: {message}") from None
