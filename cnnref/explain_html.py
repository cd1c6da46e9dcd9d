"""An `cnnref.explain.Explanation` as one self-contained HTML file.

The file holds everything it shows: its style inline, every image a ``data:`` URI (PNG), no
script, no font, no link to another host; it opens from ``file://`` with no network. It shows
the top classes, the input, every layer's activations as images with the shape on every edge
between layers, and the layer table (name, type, output shape, parameters, multiply-adds).

Activations are images of bounded size whatever the network: at most `MAX_MAPS` maps per
layer, each averaged down to at most `MAP_SIDE` pixels a side (VGG's 224x224 maps become
32x32). Values map to colours per layer: grey from black (the layer's minimum, or 0) to white
(its maximum) for a layer without negative values, blue - white - red around 0 otherwise.

Examples:
    >>> import torch
    >>> from cnnref.explain import explain
    >>> from cnnref.models import lenet5
    >>> page = render_html(explain(lenet5(), torch.zeros(1, 32, 32)), title="lenet5")
    >>> page.startswith("<!DOCTYPE html>"), "http" in page
    (True, False)
"""

from __future__ import annotations

import base64
import html
import io
import math
import os
from pathlib import Path

import numpy as np
import torch

from cnnref.explain import Explanation
from cnnref.rundir import atomic_write, temporary_name

__all__ = ["MAX_MAPS", "MAP_SIDE", "activation_image", "render_html", "write_html"]

MAX_MAPS = 64
"""Maps of a layer shown in the report (the first ones); the report says how many it has."""
MAP_SIDE = 32
"""A map larger than this (pixels a side) is averaged down to it, keeping its aspect ratio."""
GAP = 1  # pixels between two maps of a montage

STYLE = """
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0 auto; max-width: 60rem;
       padding: 1rem; color: #222; background: #fff; }
h1 { font-size: 1.4rem; } h2 { font-size: 1.15rem; margin-top: 2rem; } h3 { font-size: 1rem; margin: 0; }
.meta { color: #555; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { border-bottom: 1px solid #ddd; padding: 0.2rem 0.6rem; text-align: left; white-space: nowrap; }
td.num, th.num { text-align: right; }
.bar { background: #3f6fb5; height: 0.9rem; min-width: 1px; }
.layer { border: 1px solid #ddd; border-radius: 4px; padding: 0.5rem 0.7rem; }
.layer p { margin: 0.2rem 0; color: #555; font-size: 0.85rem; }
.layer img { image-rendering: pixelated; max-width: 100%; height: auto; margin-top: 0.3rem; background: #ccc; }
.edge { text-align: center; color: #555; font-size: 0.85rem; padding: 0.3rem 0; }
.wide { overflow-x: auto; }
code { font-size: 0.9em; }
"""


def _shape(shape) -> str:
    return "(" + ", ".join(str(int(v)) for v in shape) + (",)" if len(shape) == 1 else ")")


def _colours(values: np.ndarray, signed: bool, low: float, high: float) -> np.ndarray:
    """values (...) -> uint8 RGB (..., 3)."""
    if signed:
        t = values / high if high > 0 else np.zeros_like(values)          # in [-1, 1]
        fade = (1.0 - np.abs(t)) * 255.0
        red = np.where(t >= 0, 255.0, fade)
        blue = np.where(t >= 0, fade, 255.0)
        rgb = np.stack([red, fade, blue], axis=-1)
    else:
        g = (values - low) / (high - low) * 255.0 if high > low else np.zeros_like(values)
        rgb = np.stack([g, g, g], axis=-1)
    return rgb.clip(0, 255).round().astype(np.uint8)


def _png(rgb: np.ndarray) -> str:
    from PIL import Image  # Pillow writes the PNGs (it also reads the pictures: cnnref.images)

    buffer = io.BytesIO()
    Image.fromarray(rgb, "RGB").save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def activation_image(a: torch.Tensor, signed: bool | None = None) -> tuple[str, int, str]:
    """One layer's output as a PNG ``data:`` URI: ``(uri, width in pixels, note)``.

    ``a: (C, H, W)`` is drawn as a montage of up to `MAX_MAPS` maps (8 a row), each at most
    `MAP_SIDE` pixels a side; ``(F,)`` and ``(C, 1, 1)`` as a grid of cells, one a value, up to
    64 a row. ``signed`` picks the blue - white - red scale (default: when the layer has a
    negative value). The note says what was left out or made smaller.

    Examples:
        >>> uri, width, note = activation_image(torch.randn(512, 224, 224))
        >>> uri[:22], width, note
        ('data:image/png;base64,', 263, 'the first 64 of 512 maps, each 224×224 averaged to 32×32')
    """
    a = a.detach().float().cpu()
    if a.dim() == 3 and a.shape[1] * a.shape[2] == 1:
        a = a.reshape(-1)                                                # (C, 1, 1) -> (C,)
    values = a.numpy().astype(np.float64)
    finite = values[np.isfinite(values)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
    if signed is None:
        signed = low < 0
    scale_high = max(abs(low), abs(high)) if signed else high
    scale_low = low if low < 0 else 0.0
    notes = []
    if a.dim() == 1:
        n = a.numel()
        cols = min(n, 64)
        rows = math.ceil(n / cols)
        grid = np.full(rows * cols, np.nan)
        grid[:n] = values
        rgb = _colours(np.nan_to_num(grid.reshape(rows, cols)), signed, scale_low, scale_high)
        rgb.reshape(-1, 3)[n:] = 204                                     # unused cells: grey
        return _png(rgb), cols, ""
    if a.dim() != 3:
        raise ValueError(f"activation_image: a has shape {tuple(a.shape)}, expected (C, H, W) or (F,)")
    c, h, w = a.shape
    shown = min(c, MAX_MAPS)
    if shown < c:
        notes.append(f"the first {shown} of {c} maps")
    side = max(h, w)
    if side > MAP_SIDE:
        size = (max(1, round(h * MAP_SIDE / side)), max(1, round(w * MAP_SIDE / side)))
        maps = torch.nn.functional.adaptive_avg_pool2d(a[:shown][None], size)[0].numpy()
        notes.append(f"each {h}×{w} averaged to {size[0]}×{size[1]}")
    else:
        maps = values[:shown]
    mh, mw = maps.shape[1:]
    cols = min(shown, 8)
    rows = math.ceil(shown / cols)
    canvas = np.full((rows * (mh + GAP) - GAP, cols * (mw + GAP) - GAP, 3), 204, dtype=np.uint8)
    tiles = _colours(np.nan_to_num(maps), signed, scale_low, scale_high)  # (shown, mh, mw, 3)
    for k in range(shown):
        r, q = divmod(k, cols)
        canvas[r * (mh + GAP):r * (mh + GAP) + mh, q * (mw + GAP):q * (mw + GAP) + mw] = tiles[k]
    return _png(canvas), canvas.shape[1], ", ".join(notes)


def _display_width(width: int) -> int:
    """Show small images larger (whole multiples keep pixels square), at most 512 px; CSS
    shrinks them to a narrow screen."""
    k = max(1, min(8, 480 // max(width, 1)))
    return min(512, width * k)


def render_html(e: Explanation, title: str = "model", details: str = "") -> str:
    """The report of ``e`` as one HTML document (a string)."""
    esc = html.escape
    rows = {r.name: r for r in e.table.rows}
    top = e.top(5)
    parts = [
        "<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>cnnref explain: {esc(title)}</title>", f"<style>{STYLE}</style>", "</head>", "<body>",
        f"<h1>cnnref explain: <code>{esc(title)}</code></h1>",
        f'<p class="meta">input: {esc(e.source or "given tensor")}{esc(details)}</p>',
        f'<p class="prediction">predicted class <strong data-predicted="{esc(top[0][0])}">{esc(top[0][0])}</strong> '
        f"with probability {top[0][1]:.1%}</p>",
        "<h2>Top classes</h2>", '<table class="top"><tr><th>class</th><th class="num">probability</th><th></th></tr>',
    ]
    for label, p in top:
        parts.append(f'<tr data-class="{esc(label)}" data-probability="{p!r}"><td>{esc(label)}</td>'
                     f'<td class="num">{p:.2%}</td><td style="width: 12rem"><div class="bar" '
                     f'style="width: {100 * p:.1f}%"></div></td></tr>')
    parts += ["</table>", "<h2>Layers, one after the other</h2>"]
    uri, width, _ = activation_image(e.input, signed=False)
    parts.append(f'<div class="layer" data-layer="input"><h3>input · {esc(_shape(e.input.shape))}</h3>'
                 f"<p>what the model sees: the picture prepared as the training images were</p>"
                 f'<img src="{uri}" width="{_display_width(width)}" alt="input"></div>')
    for source, target, shape in e.edges:
        parts.append(f'<div class="edge" data-from="{esc(source)}" data-to="{esc(target)}" '
                     f'data-shape="{esc(_shape(shape))}">↓ {esc(_shape(shape))}</div>')
        row = rows.get(target)
        out = e.activations[target]
        uri, width, note = activation_image(out)
        kind = row.type if row else type(out).__name__
        counts = (f"{row.params:,} parameters · {row.mult_adds:,} multiply-adds" if row else "")
        parts.append(f'<div class="layer" data-layer="{esc(target)}"><h3>{esc(target)} · {esc(kind)} · '
                     f"{esc(_shape(out.shape))}</h3><p>{esc(counts)}{' · ' + esc(note) if note else ''}</p>"
                     f'<img src="{uri}" width="{_display_width(width)}" alt="{esc(target)}"></div>')
    last = list(e.activations)[-1] if e.activations else "input"
    parts.append(f'<div class="edge" data-from="{esc(last)}" data-to="output" '
                 f'data-shape="{esc(_shape(e.logits.shape))}">↓ {esc(_shape(e.logits.shape))} scores</div>')
    parts += ["<h2>Layer table</h2>", '<div class="wide"><table class="layers"><tr><th>layer</th><th>type</th><th>output shape</th>'
              '<th class="num">parameters</th><th class="num">multiply-adds</th></tr>']
    for r in e.table.rows:
        parts.append(f'<tr data-layer="{esc(r.name)}"><td>{esc(r.name)}</td><td>{esc(r.type)}</td>'
                     f"<td>{esc(_shape(r.output_shape[1:]))}</td><td class='num'>{r.params:,}</td>"
                     f"<td class='num'>{r.mult_adds:,}</td></tr>")
    parts += [f'<tr><td colspan="3">total</td><td class="num">{e.table.total_params:,}</td>'
              f'<td class="num">{e.table.mult_adds:,}</td></tr>', "</table></div>",
              '<p class="meta">Multiply-adds for one input, as torchinfo counts them (a convolution: one per weight '
              "and bias for every output position). Written by <code>cnnref explain</code>.</p>", "</body>", "</html>"]
    return "\n".join(parts) + "\n"


def write_html(text: str, out: str | os.PathLike, overwrite: bool = False) -> Path:
    """Write ``text`` to ``out``; an existing file is replaced only with ``overwrite``.

    Without ``overwrite`` the file appears at once and whole, and never replaces one that
    appeared meanwhile (it is linked into place, which fails if the name exists); with it, the
    old file is replaced atomically (`cnnref.rundir.atomic_write`).

    Raises:
        FileExistsError: ``out`` exists and ``overwrite`` is false.
        IsADirectoryError: ``out`` is a folder.
    """
    out = Path(out)
    if out.is_dir():
        raise IsADirectoryError(f"--out '{out}' is a folder, expected a file name such as explain.html")
    data = text.encode("utf8")
    if overwrite:
        return atomic_write(out, lambda f: f.write(data))
    if out.exists() or out.is_symlink():
        raise FileExistsError(f"--out '{out}' exists; give another name, or --overwrite to replace it")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_name(out)
    try:
        with open(tmp, "xb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(tmp, out)  # fails if out appeared meanwhile: nothing is overwritten
        except FileExistsError:
            raise
        except OSError:  # a file system without hard links: create it exclusively instead
            with open(out, "xb") as f:
                f.write(data)
    except FileExistsError:
        raise FileExistsError(f"--out '{out}' exists; give another name, or --overwrite to replace it") from None
    finally:
        tmp.unlink(missing_ok=True)
    return out
