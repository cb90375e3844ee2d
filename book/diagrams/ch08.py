"""Chapter 8, the decoder: its layer's masked self-attention (the causal triangle over its own tokens) and
cross-attention, whose queries come from the decoder and whose keys and values come from the encoder."""

import numpy as np
from matplotlib.patches import Rectangle

from diagrams.draw import INK, arrow, box, canvas, label, matrix, tint, vector
from transformer_lab.plotting import COLORS

MASK = COLORS["mask"]
# the chapter's reversal example: source digits, and the decoder input (<bos> + the target, shifted right)
SOURCE = ["8", "7", "7", "0", "0"]
DECODER_IN = ["<bos>", "0", "0", "7", "7", "8"]


def cross_weights():
    """Cross-attention weights for illustration: decoder position i looks mostly at the source digit it must
    write next, source position n - 1 - i (a reversal), and a little at its neighbours."""
    n = len(SOURCE)
    want = np.array([n - 1 - i for i in range(len(DECODER_IN))])[:, None]  # (T_tgt, 1)
    scores = 2.5 - 1.6 * np.abs(np.arange(n)[None, :] - want)  # (T_tgt, T_src)
    weights = np.exp(scores)
    return weights / weights.sum(axis=1, keepdims=True)


def _layer_band(ax):
    """Top: the decoder layer's three sublayers in order, the encoder's memory entering the second."""
    y, h = 5.0, 0.42
    label(ax, 0.1, y + h / 2, "decoder\ninput", ha="left", fontsize=8)
    parts = [("masked self-attention", 0.85, 2.1), ("cross-attention", 4.55, 2.1), ("feed-forward", 7.0, 1.1)]
    previous = 0.62
    for name, x, w in parts:
        arrow(ax, (previous, y + h / 2), (x, y + h / 2), INK, shrink=0)
        box(ax, x, y, w, h, name, INK, fill=0.07)
        previous = x + w
    arrow(ax, (previous, y + h / 2), (previous + 0.3, y + h / 2), INK, shrink=0)
    label(ax, 5.6, 5.85, "memory: the encoder's output  (B, T_src, D)", fontsize=8)
    arrow(ax, (5.6, 5.72), (5.6, y + h), INK, shrink=0)
    label(ax, 4.3, 4.75, "each sublayer in its residual connection, with its LayerNorm (chapter 6)", fontsize=8)


def _causal(ax):
    """Left: the T x T causal mask on the decoder's own tokens; the upper triangle is blanked."""
    cell, x0, top = 0.34, 1.05, 3.75
    n = len(DECODER_IN)
    label(ax, 1.95, 4.38, "masked self-attention: T × T", fontsize=9, fontweight="bold")
    label(ax, x0 + n * cell / 2, top + 0.3, r"keys $\rightarrow$", fontsize=8, color=COLORS["key"])
    label(ax, x0 - 0.05, top + 0.3, r"queries $\downarrow$", ha="right", fontsize=8, color=COLORS["query"])
    for j, token in enumerate(DECODER_IN):
        label(ax, x0 + (j + 0.5) * cell, top + 0.1, token, fontsize=7 if len(token) > 1 else 8)
    for i, token in enumerate(DECODER_IN):
        label(ax, x0 - 0.08, top - (i + 0.5) * cell, token, ha="right", fontsize=7 if len(token) > 1 else 8)
        for j in range(n):
            future = j > i
            ax.add_patch(
                Rectangle(
                    (x0 + j * cell, top - (i + 1) * cell),
                    cell,
                    cell,
                    fc=tint(MASK, 0.75) if future else tint(COLORS["query"], 0.12),
                    ec=MASK if future else INK,
                    lw=0.7,
                )
            )
            if future:
                label(ax, x0 + (j + 0.5) * cell, top - (i + 0.5) * cell, r"$-\infty$", fontsize=7)
    bottom = top - n * cell
    label(ax, 1.95, bottom - 0.25, "row t reads positions 0..t only:", fontsize=8)
    label(ax, 1.95, bottom - 0.47, "the future is blanked (causal mask)", fontsize=8)


def _cross(ax):
    """Right: decoder queries against the encoder's keys, a weighted sum of the encoder's values."""
    cell, x0, top = 0.36, 5.3, 2.95
    weights = cross_weights()
    n_tgt, n_src = weights.shape
    label(ax, 6.2, 4.38, "cross-attention: T_tgt × T_src", fontsize=9, fontweight="bold")
    xs = [x0 + (j + 0.5) * cell for j in range(n_src)]
    # the encoder side: source tokens, their keys and values (from the memory M)
    label(ax, x0 - 0.1, 3.98, "source (encoder)", ha="right", fontsize=8)
    label(ax, x0 - 0.1, 3.68, "keys  $MW^K$", ha="right", fontsize=8, color=COLORS["key"])
    label(ax, x0 - 0.1, 3.43, "values  $MW^V$", ha="right", fontsize=8, color=COLORS["value"])
    for x, token in zip(xs, SOURCE):
        box(ax, x - 0.15, 3.84, 0.3, 0.28, token, INK, fill=0.06)
        vector(ax, x - 0.135, 3.62, 3, COLORS["key"], cell=0.09)
        vector(ax, x - 0.135, 3.37, 3, COLORS["value"], cell=0.09)
    # the decoder side: one query per decoder position
    label(ax, 4.55, top + 0.15, "queries  $X_{dec}W^Q$", fontsize=8, color=COLORS["query"])
    for i, token in enumerate(DECODER_IN):
        y = top - (i + 0.5) * cell
        label(ax, 4.4, y, token, ha="right", fontsize=7 if len(token) > 1 else 8)
        vector(ax, 4.5, y - 0.055, 3, COLORS["query"], cell=0.11)
        arrow(ax, (x0 + n_src * cell, y), (x0 + n_src * cell + 0.35, y), COLORS["value"], lw=1.0, shrink=1)
        vector(ax, x0 + n_src * cell + 0.4, y - 0.055, 3, COLORS["output"], cell=0.11)
    text = [[f"{w:.2f}"[1:] if w < 0.995 else "1" for w in row] for row in weights]
    matrix(ax, x0, top, weights, cell=cell, color=COLORS["query"], vmax=1.0, edge=tint(INK, 0.3), text=text)
    right = x0 + n_src * cell + 0.4
    label(ax, right + 0.17, top + 0.15, "outputs", fontsize=8, color=COLORS["output"])
    bottom = top - n_tgt * cell
    notes = [
        "no causal mask: every decoder position may read the whole source;",
        "each output row: a weighted sum of the values (weights for illustration)",
    ]
    for k, note in enumerate(notes):
        label(ax, 6.3, bottom - 0.25 - 0.22 * k, note, fontsize=8)


def ch08_decoder():
    fig, ax = canvas(8.6, 6.1)
    _layer_band(ax)
    _causal(ax)
    _cross(ax)
    return fig


FIGURES = [ch08_decoder]
