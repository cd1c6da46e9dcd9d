"""Figures for the site: matplotlib drawn at build time, printed as inline SVG.

A page block calls ``show(fig)`` inside a fence with ``html="1"``; the SVG carries no date
and fixed ids, so two builds of the same page give the same bytes.

Text stays text (``svg.fonttype: none``): titles, labels and legends are SVG ``<text>`` the
reader can select and search, drawn by the reader's own fonts, so a Chinese figure needs no
font file in the page. Importing this module makes matplotlib's font family DejaVu Sans then a CJK
font, so Chinese labels are measured with real glyphs where the font is installed
(``make test`` installs fonts-noto-cjk) and the SVG names it for the browser.
"""

from __future__ import annotations

import builtins
import io
import sys

__all__ = ["show", "svg", "in_notebook"]

# Latin glyphs from DejaVu Sans (matplotlib's own), Chinese from Noto Sans CJK; the SVG lists
# both, so a reader without them gets their browser's default fonts. Mathtext ($w_1$) has no
# such fallback: a label that holds Chinese writes subscripts as plain text (w₁).
FONTS = ["DejaVu Sans", "Noto Sans CJK SC"]


def _use_fonts() -> None:
    import matplotlib

    # a list of families, not the generic "sans-serif": matplotlib falls back glyph by glyph
    # only along font.family, so Chinese characters come from the second entry
    matplotlib.rcParams["font.family"] = FONTS


_use_fonts()


def svg(fig) -> str:
    """The figure as an SVG string with reproducible ids and no timestamp; closes the figure.

    Examples:
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> import matplotlib.pyplot as plt
        >>> fig, ax = plt.subplots()
        >>> _ = ax.plot([0, 1], [1, 0])
        >>> svg(fig).startswith("<svg")
        True
    """
    import matplotlib
    import matplotlib.pyplot as plt

    buf = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": "cnnref", "svg.fonttype": "none"}):
        fig.savefig(buf, format="svg", bbox_inches="tight",
                    metadata={"Date": None, "Creator": None, "Contributor": None})
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg"):]


def in_notebook() -> bool:
    """True inside a Jupyter kernel (IPython with a kernel attached), False anywhere else.

    Examples:
        >>> in_notebook()
        False
    """
    ipython = sys.modules.get("IPython")  # never imported here: a kernel has imported it already
    shell = ipython.get_ipython() if ipython is not None else None
    return getattr(shell, "kernel", None) is not None


def show(fig) -> None:
    """Show the figure: as inline SVG in a Jupyter notebook, else printed as SVG text.

    Printed (for a markdown-exec fence with ``html="1"``) with the calling block's ``print``:
    markdown-exec collects a block's output by putting its own ``print`` in the block's globals
    (it does not capture ``sys.stdout``). In a notebook (the site's notebooks run the same
    blocks) the SVG is displayed as an image instead, with its text still text.
    """
    text = svg(fig)
    if in_notebook():
        from IPython.display import SVG, display

        display(SVG(text))
        return
    caller_print = sys._getframe(1).f_globals.get("print", builtins.print)
    caller_print(text)
