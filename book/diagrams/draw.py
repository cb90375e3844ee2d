"""The drawing kit of the book's diagrams: boxes, token chips, arrows and small matrices on one canvas.

Every diagram is drawn in data units of one inch, origin at the bottom left, on a white card (it reads the
same in the book's light and dark themes), with the roles' colours of transformer_lab.plotting.COLORS.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.colors import to_rgb  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Rectangle  # noqa: E402

from transformer_lab.plotting import COLORS  # noqa: E402

INK = COLORS["ink"]
FONT = 9


def tint(color: str, amount: float = 0.25) -> tuple[float, float, float]:
    """The colour mixed with white: `amount` of the colour, the rest white (fills under dark text)."""
    r, g, b = to_rgb(color)
    return (1 - amount + amount * r, 1 - amount + amount * g, 1 - amount + amount * b)


def canvas(width: float, height: float):
    """A figure of width x height inches whose axes count in inches, with no ticks or frame."""
    fig = plt.figure(figsize=(width, height), facecolor="white")
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, width)
    ax.set_ylim(0, height)
    ax.set_aspect("equal")
    ax.axis("off")
    return fig, ax


def box(ax, x, y, w, h, text="", color=INK, *, fill=0.2, fontsize=FONT, bold=False, dashed=False, text_color=INK):
    """A rounded box with its lower-left corner at (x, y): edge in `color`, filled with a tint of it."""
    ax.add_patch(
        FancyBboxPatch(
            (x, y),
            w,
            h,
            boxstyle="round,pad=0,rounding_size=0.06",
            fc=tint(color, fill),
            ec=color,
            lw=1.2,
            ls="--" if dashed else "-",
        )
    )
    if text:
        ax.text(
            x + w / 2,
            y + h / 2,
            text,
            ha="center",
            va="center",
            fontsize=fontsize,
            color=text_color,
            fontweight="bold" if bold else "normal",
        )
    return (x, y, w, h)


def chip(ax, x, y, text, color=INK, *, w=0.55, h=0.28, fill=0.15, fontsize=FONT):
    """A token: a small box centred at (x, y)."""
    return box(ax, x - w / 2, y - h / 2, w, h, text, color, fill=fill, fontsize=fontsize)


def arrow(ax, start, end, color=INK, *, lw=1.2, style="-|>", rad=0.0, alpha=1.0, shrink=2.0):
    """An arrow from start to end, (x, y) each; rad bends it (0: straight)."""
    ax.add_patch(
        FancyArrowPatch(
            start,
            end,
            arrowstyle=style,
            mutation_scale=9,
            color=color,
            lw=lw,
            alpha=alpha,
            connectionstyle=f"arc3,rad={rad}",
            shrinkA=shrink,
            shrinkB=shrink,
        )
    )


def label(ax, x, y, text, *, color=INK, fontsize=FONT, ha="center", va="center", **kwargs):
    ax.text(x, y, text, ha=ha, va=va, fontsize=fontsize, color=color, **kwargs)


def matrix(ax, x, y, values, *, cell=0.22, color=INK, vmax=None, edge="white", text=None, fontsize=7):
    """A small matrix with its top-left cell at (x, y) going right and down: each cell shaded by its value
    (0: white, vmax: the full colour); `text`, a same-shaped array of strings, is written in the cells.
    Returns the bottom-right corner."""
    values = np.asarray(values, dtype=float)
    vmax = vmax or (values.max() or 1.0)
    rows, cols = values.shape
    for i in range(rows):
        for j in range(cols):
            amount = float(np.clip(values[i, j] / vmax, 0, 1))
            ax.add_patch(
                Rectangle((x + j * cell, y - (i + 1) * cell), cell, cell, fc=tint(color, amount), ec=edge, lw=0.8)
            )
            if text is not None and text[i][j]:
                dark = amount > 0.6
                ax.text(
                    x + (j + 0.5) * cell,
                    y - (i + 0.5) * cell,
                    text[i][j],
                    ha="center",
                    va="center",
                    fontsize=fontsize,
                    color="white" if dark else INK,
                )
    ax.add_patch(Rectangle((x, y - rows * cell), cols * cell, rows * cell, fc="none", ec=INK, lw=0.8))
    return x + cols * cell, y - rows * cell


def vector(ax, x, y, n, color, *, cell=0.16, horizontal=True, fill=0.55):
    """A vector of n cells starting at (x, y), drawn as a strip; returns its far end."""
    for i in range(n):
        cx, cy = (x + i * cell, y) if horizontal else (x, y - (i + 1) * cell)
        ax.add_patch(Rectangle((cx, cy), cell, cell, fc=tint(color, fill), ec=color, lw=0.8))
    return (x + n * cell, y + cell) if horizontal else (x + cell, y - n * cell)
