"""Figures for the site: matplotlib drawn at build time, printed as inline SVG.

A page block calls ``show(fig)`` inside a fence with ``html="1"``; the SVG carries no date
and fixed ids, so two builds of the same page give the same bytes.
"""

from __future__ import annotations

import builtins
import io
import sys

__all__ = ["show", "svg"]


def svg(fig) -> str:
    """The figure as an SVG string with reproducible ids and no timestamp; closes the figure.

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
    with matplotlib.rc_context({"svg.hashsalt": "cnnref", "svg.fonttype": "path"}):
        fig.savefig(buf, format="svg", bbox_inches="tight",
                    metadata={"Date": None, "Creator": None, "Contributor": None})
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg"):]


def show(fig) -> None:
    """Print the figure as inline SVG (for a markdown-exec fence with ``html="1"``).

    Printed with the calling block's ``print``: markdown-exec collects a block's output by
    putting its own ``print`` in the block's globals (it does not capture ``sys.stdout``).
    """
    caller_print = sys._getframe(1).f_globals.get("print", builtins.print)
    caller_print(svg(fig))
