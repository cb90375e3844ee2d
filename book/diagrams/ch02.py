"""Chapter 2, tokens and embeddings: text becomes tokens, tokens become ids, and each id picks one row of the
embedding table E, giving a (T, D) matrix."""

import numpy as np
from matplotlib.patches import Rectangle

from diagrams.draw import INK, arrow, box, canvas, chip, label, tint
from transformer_lab.plotting import COLORS
from transformer_lab.tokenizer import CharTokenizer

TOKENIZER = CharTokenizer.from_texts(["hello world", "attention is all you need"])  # the chapter's tokenizer
TEXT = "hello"
D = 8  # the chapter's embedding_dim
TABLE = np.random.default_rng(2).normal(size=(TOKENIZER.vocab_size, D))  # E, for illustration


def _rows(ax, x, y, values, cell_w, cell_h, colors):
    """A matrix drawn row by row from its top-left corner (x, y): row i in colors[i], each cell shaded by its
    value relative to the whole table (so a copied row looks exactly like its original)."""
    low, high = TABLE.min(), TABLE.max()
    for i, (row, color) in enumerate(zip(values, colors)):
        for j, v in enumerate(row):
            amount = 0.15 + 0.8 * (v - low) / (high - low)
            ax.add_patch(
                Rectangle(
                    (x + j * cell_w, y - (i + 1) * cell_h), cell_w, cell_h, fc=tint(color, amount), ec="white", lw=0.6
                )
            )
    rows = len(values)
    ax.add_patch(Rectangle((x, y - rows * cell_h), len(values[0]) * cell_w, rows * cell_h, fc="none", ec=INK, lw=0.8))


def ch02_text_to_vectors():
    ids = TOKENIZER.encode(TEXT)
    tokens = list(TEXT)
    V, T = TOKENIZER.vocab_size, len(ids)
    fig, ax = canvas(8.6, 3.9)
    top = 3.55  # the column titles
    ys = [2.75 - 0.42 * t for t in range(T)]  # one row per token
    middle = (ys[0] + ys[-1]) / 2

    # text -> tokens -> ids
    label(ax, 0.6, top, "text")
    box(ax, 0.15, middle - 0.2, 0.9, 0.4, f'"{TEXT}"', INK, fill=0.06)
    label(ax, 1.75, top, "tokens")
    label(ax, 2.7, top, "ids")
    for y, token, i in zip(ys, tokens, ids):
        arrow(ax, (1.05, middle), (1.47, y), INK, lw=0.8)
        chip(ax, 1.75, y, token, INK, w=0.45, fill=0.06)
        arrow(ax, (1.98, y), (2.45, y), INK, lw=0.8)
        chip(ax, 2.7, y, str(i), INK, w=0.45, fill=0.06)
    label(ax, 1.3, 0.55, "one token per character,\nthen its index in the vocabulary", fontsize=8, ha="left")

    # the embedding table: each id picks its row
    cell_w, cell_h = 0.17, 0.14
    tx, ty = 4.0, 3.2
    label(ax, tx + D * cell_w / 2, top, f"embedding table $E$: $(V, D) = ({V}, {D})$")
    picked = set(ids)
    colors = [COLORS["embedding"] if v in picked else COLORS["mask"] for v in range(V)]
    _rows(
        ax,
        tx,
        ty,
        [row if v in picked else np.full(D, TABLE.min()) for v, row in enumerate(TABLE)],
        cell_w,
        cell_h,
        colors,
    )
    for v in sorted(picked) + [0, V - 1]:  # the rows that are looked up, and the first and last
        name = f"  {TOKENIZER.itos[v]}" if v in picked else ""
        label(ax, tx + D * cell_w + 0.08, ty - (v + 0.5) * cell_h, f"{v}{name}", fontsize=8, ha="left")
    label(
        ax,
        tx + D * cell_w / 2,
        ty - V * cell_h - 0.08,
        "row $i$ is the vector of token $i$:\n"
        r"$E_{i,:} = \mathbf{e}_i^\top E$, a one-hot vector times $E$",
        fontsize=8,
        va="top",
    )
    for y, i in zip(ys, ids):
        arrow(ax, (2.95, y), (tx - 0.03, ty - (i + 0.5) * cell_h), COLORS["embedding"], lw=1.0)

    # the looked-up rows, in the order of the text
    ox, out_h = 6.75, 0.24
    out_top = middle + T * out_h / 2
    label(ax, ox + D * cell_w / 2, top, f"$(T, D) = ({T}, {D})$")
    _rows(ax, ox, out_top, [TABLE[i] for i in ids], cell_w, out_h, [COLORS["embedding"]] * T)
    for t, token in enumerate(tokens):
        label(ax, ox - 0.1, out_top - (t + 0.5) * out_h, token, ha="right")
    arrow(ax, (tx + D * cell_w + 0.42, middle), (ox - 0.3, middle), COLORS["embedding"], lw=1.4)
    label(
        ax,
        ox + D * cell_w / 2,
        out_top - T * out_h - 0.15,
        "the rows, in the order\nof the text: one per token",
        fontsize=8,
        va="top",
    )
    return fig


FIGURES = [ch02_text_to_vectors]
