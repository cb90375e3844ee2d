"""Chapter 7, the encoder: embeddings and positions into a stack of N encoder layers that all get the same
padding mask, and what that (B, 1, 1, T) mask blanks in a padded batch of two digit sequences."""

import numpy as np
from matplotlib.patches import Rectangle

from diagrams.draw import INK, arrow, box, canvas, chip, label, tint
from transformer_lab.plotting import COLORS

MASK = COLORS["mask"]
# a batch of two sequences of the sorting task, padded to the longer one: B = 2, T = 6
BATCH = [["2", "6", "1", "4", "<pad>", "<pad>"], ["7", "3", "9", "0", "5", "3"]]
SHOWN = 0  # the sequence whose scores are drawn


def _cell(ax, x, y, size, blank, text=""):
    """One square cell with its top-left corner at (x, y): grey when blanked, white otherwise."""
    ax.add_patch(
        Rectangle(
            (x, y - size), size, size, fc=tint(MASK, 0.75) if blank else "white", ec=MASK if blank else INK, lw=0.7
        )
    )
    if text:
        label(ax, x + size / 2, y - size / 2, text, fontsize=7)


def _stack(ax):
    """Left: token ids -> embedding + positions -> N encoder layers -> final LayerNorm, the mask into every layer."""
    cx, w = 1.35, 1.9
    label(ax, 1.8, 5.05, "the encoder: N layers, one mask", fontsize=10, fontweight="bold")
    box(ax, cx - 0.7, 0.3, 1.4, 0.36, "token ids  (B, T)", INK, fill=0.07)
    arrow(ax, (cx, 0.66), (cx, 0.86), INK, shrink=0)
    box(ax, cx - w / 2, 0.86, w, 0.46, "token embedding\n+ learned positions", COLORS["embedding"], fill=0.3)
    arrow(ax, (cx, 1.32), (cx, 1.62), INK, shrink=0)
    label(ax, cx + 0.08, 1.47, "(B, T, D)", ha="left", fontsize=8)
    layers = [("encoder layer 1", 1.62), ("encoder layer 2", 2.22), ("encoder layer N", 3.02)]
    for i, (name, y) in enumerate(layers):
        box(ax, cx - w / 2, y, w, 0.38, name, INK, fill=0.07)
        if i < len(layers) - 1:
            gap_top = layers[i + 1][1]
            if gap_top - (y + 0.38) < 0.3:
                arrow(ax, (cx, y + 0.38), (cx, gap_top), INK, shrink=0)
    label(ax, cx, 2.79, r"$\vdots$", fontsize=10)
    arrow(ax, (cx, 3.4), (cx, 3.6), INK, shrink=0)
    box(ax, cx - w / 2, 3.6, w, 0.34, "final LayerNorm (pre-LN)", COLORS["norm"], fill=0.55)
    arrow(ax, (cx, 3.94), (cx, 4.22), INK, shrink=0)
    label(ax, cx, 4.42, "(B, T, D): one vector per token", color=COLORS["output"], fontsize=9)
    # the padding mask, made once from the token ids, reaches every layer's self-attention
    mx = 3.15
    box(ax, 2.45, 0.3, 1.4, 0.36, "padding mask", MASK, fill=0.3)
    arrow(ax, (cx + 0.7, 0.48), (2.45, 0.48), MASK, shrink=0)
    ax.plot([mx, mx], [0.66, layers[-1][1] + 0.19], color=MASK, lw=1.4)
    for _, y in layers:
        arrow(ax, (mx, y + 0.19), (cx + w / 2, y + 0.19), MASK, lw=1.4, shrink=0)
    label(ax, 2.45 + 0.7, 0.14, "(B, 1, 1, T)", fontsize=8, color=INK)


def _mask_detail(ax):
    """Right: the batch, its key mask, and the score cells it blanks for one sequence."""
    cell, x0 = 0.36, 5.5
    xs = [x0 + (j + 0.5) * cell for j in range(len(BATCH[0]))]
    label(ax, 6.2, 5.05, "the padding mask of a batch", fontsize=10, fontweight="bold")
    # token ids: B = 2 rows padded to T = 6
    label(ax, 3.92, 4.38, "token ids\n(B, T)", ha="left", fontsize=8.5)
    for b, (y, tokens) in enumerate(zip((4.56, 4.2), BATCH)):
        label(ax, x0 - 0.12, y, f"b = {b}", ha="right", fontsize=8)
        for x, token in zip(xs, tokens):
            pad = token == "<pad>"
            colour, fill, size = (MASK, 0.3, 7) if pad else (INK, 0.06, 9)
            chip(ax, x, y, token, colour, w=cell - 0.03, fill=fill, fontsize=size)
    # the key mask: True at real tokens, False at pads
    label(ax, 3.92, 3.56, "padding mask\n(B, 1, 1, T)", ha="left", fontsize=8.5)
    for b, (y, tokens) in enumerate(zip((3.8, 3.4), BATCH)):
        label(ax, x0 - 0.12, y - cell / 2, f"b = {b}", ha="right", fontsize=8)
        for j, token in enumerate(tokens):
            _cell(ax, x0 + j * cell, y, cell, token == "<pad>", "F" if token == "<pad>" else "T")
    # the scores of sequence b = 0: queries down, keys across; the pads' key columns are blanked
    tokens = BATCH[SHOWN]
    blank = np.array([[tok == "<pad>" for tok in tokens]] * len(tokens))
    top = 2.82
    label(ax, x0 + len(tokens) * cell / 2, top + 0.14, r"keys $\rightarrow$", fontsize=8, color=COLORS["key"])
    label(ax, 3.92, top - 0.3, "scores of b = 0\n(T, T), every head", ha="left", fontsize=8.5)
    label(ax, x0 - 0.05, top + 0.14, r"queries $\downarrow$", ha="right", fontsize=8, color=COLORS["query"])
    for i, token in enumerate(tokens):
        label(ax, x0 - 0.08, top - (i + 0.5) * cell, token, ha="right", fontsize=7 if token == "<pad>" else 8)
        for j in range(len(tokens)):
            _cell(ax, x0 + j * cell, top - i * cell, cell, blank[i, j], r"$-\infty$" if blank[i, j] else "")
    right = x0 + len(tokens) * cell + 0.1
    label(ax, right, top - 1.0, "pad keys:\n" + r"$-\infty$ before" + "\nsoftmax,\nweight 0", ha="left", fontsize=8)
    label(ax, right, 3.4, "T: real token\nF: pad", ha="left", fontsize=8)
    bottom = top - len(tokens) * cell
    middle = x0 + len(tokens) * cell / 2
    label(ax, middle, bottom - 0.2, "no real token reads a pad; b = 1 has no pads: nothing blanked", fontsize=8)


def ch07_encoder_stack():
    fig, ax = canvas(8.6, 5.3)
    _stack(ax)
    _mask_detail(ax)
    return fig


FIGURES = [ch07_encoder_stack]
