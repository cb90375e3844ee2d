"""Chapter 6, the Transformer block: the same block drawn post-LN (2017) and pre-LN (GPT-2), around one
residual stream that attention and the feed-forward network read from and add back into."""

from matplotlib.patches import Circle

from diagrams.draw import INK, arrow, box, canvas, label
from transformer_lab.plotting import COLORS

RESIDUAL, NORM = COLORS["residual"], COLORS["norm"]
STREAM_LW = 3.0


def _stream(ax, x, y0, y1, *, head=False):
    """A piece of the residual stream: a thick vertical line, with an arrow head when `head`."""
    if head:
        arrow(ax, (x, y0), (x, y1), RESIDUAL, lw=STREAM_LW, shrink=0)
    else:
        ax.plot([x, x], [y0, y1], color=RESIDUAL, lw=STREAM_LW, solid_capstyle="butt", zorder=1)


def _add(ax, x, y, r=0.12):
    """The residual addition: a circled plus sitting on the stream."""
    ax.add_patch(Circle((x, y), r, fc="white", ec=RESIDUAL, lw=1.6, zorder=3))
    label(ax, x, y, "+", color=RESIDUAL, fontsize=11, fontweight="bold", zorder=4)


def _norm(ax, cx, y, w=1.0, h=0.3, *, dashed=False, text="LayerNorm"):
    """A LayerNorm box centred on cx, from y to y + h."""
    box(ax, cx - w / 2, y, w, h, text, NORM, fill=0.55, dashed=dashed)
    return y + h


def _branch(ax, sx, cx, y_from, y_into):
    """The stream's value read off at y_from: right to the sublayer column, then up into a box at y_into."""
    ax.plot([sx, cx], [y_from, y_from], color=INK, lw=1.2)
    ax.add_patch(Circle((sx, y_from), 0.04, fc=INK, ec=INK, zorder=3))
    arrow(ax, (cx, y_from), (cx, y_into), INK, shrink=0)


def _back(ax, sx, cx, y_out, y_add):
    """A sublayer's output, from the top of its box at y_out, back left into the addition at y_add."""
    ax.plot([cx, cx], [y_out, y_add], color=INK, lw=1.2)
    arrow(ax, (cx, y_add), (sx + 0.12, y_add), INK, shrink=0)


def _sublayer(ax, cx, y, text, w=1.9, h=0.42):
    box(ax, cx - w / 2, y, w, h, text, INK, fill=0.07)
    return y + h


def _panel(ax, ox, title, formula, note):
    """The panel's title, formula, input label, block frame and note; returns the stream's and column's x."""
    sx, cx = ox + 0.8, ox + 2.6
    label(ax, ox + 2.05, 5.95, title, fontsize=10, fontweight="bold")
    label(ax, ox + 2.05, 5.62, formula, fontsize=10)
    box(ax, ox + 0.15, 0.72, 3.8, 3.72, "", INK, fill=0.0, dashed=True)
    label(ax, ox + 3.85, 4.3, "one block, repeated N times", ha="right", va="center", fontsize=8)
    label(ax, sx, 0.45, "$x$  (B, T, D)", color=RESIDUAL)
    label(ax, sx - 0.2, 1.45, "residual stream", color=RESIDUAL, fontsize=8, rotation=90)
    label(ax, ox + 2.05, 0.17, note, fontsize=8, color=RESIDUAL)
    return sx, cx


def _post_ln(ax, ox):
    sx, cx = _panel(
        ax,
        ox,
        "post-LN (the 2017 paper)",
        r"$x \leftarrow \mathrm{LN}(x + f(x))$",
        "the residual stream passes through every LayerNorm",
    )
    _stream(ax, sx, 0.6, 1.96)
    _branch(ax, sx, cx, 0.95, 1.25)
    top = _sublayer(ax, cx, 1.25, "multi-head attention")
    _back(ax, sx, cx, top, 2.08)
    _add(ax, sx, 2.08)
    _stream(ax, sx, 2.2, 2.35)
    top = _norm(ax, sx, 2.35)
    _stream(ax, sx, top, 3.62)
    _branch(ax, sx, cx, 2.9, 3.2)
    top = _sublayer(ax, cx, 3.2, "feed-forward (FFN)")
    _back(ax, sx, cx, top, 3.78)
    _add(ax, sx, 3.78)
    _stream(ax, sx, 3.9, 4.0)
    top = _norm(ax, sx, 4.0)
    _stream(ax, sx, top, 5.3, head=True)
    label(ax, sx + 0.15, 5.2, "out of the stack, (B, T, D)", ha="left", fontsize=8)


def _pre_ln(ax, ox):
    sx, cx = _panel(
        ax,
        ox,
        "pre-LN (GPT-2 and later)",
        r"$x \leftarrow x + f(\mathrm{LN}(x))$",
        "the residual stream is never normalised: an identity path",
    )
    for text, stream_from, read_at, norm_at, add_at in (
        ("multi-head attention", 0.6, 0.9, 1.08, 2.08),
        ("feed-forward (FFN)", 2.2, 2.4, 2.58, 3.78),
    ):  # x + sublayer(LN(x)): the LayerNorm sits in the branch, the stream runs past it
        _stream(ax, sx, stream_from, add_at)
        _branch(ax, sx, cx, read_at, norm_at)
        top = _norm(ax, cx, norm_at)
        arrow(ax, (cx, top), (cx, top + 0.2), INK)
        top = _sublayer(ax, cx, top + 0.2, text)
        _back(ax, sx, cx, top, add_at)
        _add(ax, sx, add_at)
    _stream(ax, sx, 3.9, 4.62)
    # after the last block only: the one LayerNorm that a pre-LN stack adds at its top
    top = _norm(ax, sx, 4.62, w=1.3, dashed=True, text="final LayerNorm")
    label(ax, sx + 0.75, 4.77, "once, after the last block", ha="left", fontsize=8)
    _stream(ax, sx, top, 5.3, head=True)
    label(ax, sx + 0.15, 5.2, "out of the stack, (B, T, D)", ha="left", fontsize=8)


def ch06_pre_post_ln():
    fig, ax = canvas(8.6, 6.2)
    _post_ln(ax, 0.1)
    _pre_ln(ax, 4.45)
    return fig


FIGURES = [ch06_pre_post_ln]
