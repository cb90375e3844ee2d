"""Chapter 4, multi-head attention: Q, K and V are cut into H heads of width d_k = D/H, each head attends on its
own, and the heads' outputs are put side by side again and mixed by W^O."""

from matplotlib.patches import Rectangle

from diagrams.draw import INK, arrow, box, canvas, label, tint
from transformer_lab.plotting import COLORS

B, T, D, H = 2, 5, 12, 3  # the chapter's example
D_K = D // H
CELL_W, CELL_H = 0.13, 0.08  # a (T, d) matrix is T rows of thin cells
HEAD_SHADE = [0.25, 0.5, 0.8]  # head h keeps its shade everywhere, until W^O mixes the heads


def _block(ax, x, y, cols, color, amount):
    """A (T, cols) matrix, top-left corner at (x, y), every cell of one shade; returns its bottom."""
    for i in range(T):
        for j in range(cols):
            ax.add_patch(
                Rectangle(
                    (x + j * CELL_W, y - (i + 1) * CELL_H), CELL_W, CELL_H, fc=tint(color, amount), ec="white", lw=0.5
                )
            )
    ax.add_patch(Rectangle((x, y - T * CELL_H), cols * CELL_W, T * CELL_H, fc="none", ec=color, lw=0.9))
    return y - T * CELL_H


def _split(ax, x, y, color, shades=HEAD_SHADE):
    """A (T, D) matrix drawn as H blocks of d_k columns, one shade per block."""
    for h, amount in enumerate(shades):
        _block(ax, x + h * D_K * CELL_W, y, D_K, color, amount)
    ax.add_patch(Rectangle((x, y - T * CELL_H), D * CELL_W, T * CELL_H, fc="none", ec=INK, lw=0.9))
    return y - T * CELL_H


def ch04_heads():
    fig, ax = canvas(8.6, 5.9)
    ax.set_ylim(0.4, 6.3)  # the drawing's own coordinates start at 0.4
    width = D * CELL_W
    mx = 5.35 - width / 2  # the full-width matrices, centred over the middle head
    heads_x = [3.2, 5.35, 7.5]  # the centres of the three heads
    block_x = [mx + (h + 0.5) * D_K * CELL_W for h in range(H)]
    tall = T * CELL_H
    roles = [("Q", "query"), ("K", "key"), ("V", "value")]

    # 1. project: Q, K, V, each (B, T, D)
    label(ax, 0.1, 5.95, "1. project", ha="left", fontweight="bold")
    label(ax, 0.1, 5.7, "$Q = XW^Q$, $K = XW^K$, $V = XW^V$", ha="left", fontsize=8)
    label(ax, 0.1, 5.47, f"each $(B, T, D) = ({B}, {T}, {D})$", ha="left", fontsize=8)
    y = 6.05
    for name, role in roles:
        label(ax, mx - 0.12, y - tall / 2, f"${name}$", ha="right", color=COLORS[role])
        y = _split(ax, mx, y, COLORS[role]) - 0.1
    label(ax, mx + width + 0.12, 6.05 - tall / 2, f"$D = {D}$ features", ha="left", fontsize=8)
    label(
        ax,
        mx + width + 0.12,
        6.05 - 2.5 * tall - 0.2,
        f"$T = {T}$ rows: one sequence\nof the batch of $B$",
        ha="left",
        fontsize=8,
    )
    for h in range(H):
        label(ax, block_x[h], 6.17, f"head {h + 1}", fontsize=8)
    qkv_bottom = y + 0.1

    # 2. split: the column blocks move apart (a reshape, nothing computed)
    label(ax, 0.1, 4.55, "2. split into $H$ heads", ha="left", fontweight="bold")
    label(ax, 0.1, 4.3, "view, then transpose(1, 2):", ha="left", fontsize=8)
    label(ax, 0.1, 4.07, f"$(B, H, T, d_k) = ({B}, {H}, {T}, {D_K})$", ha="left", fontsize=8)
    head_top = 4.3
    for h in range(H):
        arrow(ax, (block_x[h], qkv_bottom - 0.03), (heads_x[h], head_top + 0.12), INK, lw=1.0)

    # 3. attend: each head on its own d_k columns
    head_w = D_K * CELL_W
    label(ax, 0.1, 2.75, "3. attend in every head", ha="left", fontweight="bold")
    label(
        ax,
        0.1,
        2.5,
        r"$\mathrm{head}_h = \mathrm{softmax}\!\left(\frac{Q_h K_h^\top}{\sqrt{d_k}}\right) V_h$",
        ha="left",
        fontsize=9,
    )
    label(ax, 0.1, 2.2, f"$d_k = D/H = {D_K}$", ha="left", fontsize=8)
    label(ax, 0.1, 1.9, "all $H$ heads at once:\nthe heads are a batch axis", ha="left", fontsize=8)
    for h, cx in enumerate(heads_x):
        box(ax, cx - 0.85, 1.77, 1.7, head_top + 0.1 - 1.77, "", INK, fill=0.03, dashed=True)
        y = head_top
        for name, role in roles:
            label(
                ax,
                cx - head_w / 2 - 0.08,
                y - tall / 2,
                f"${name}_{h + 1}$",
                ha="right",
                fontsize=8,
                color=COLORS[role],
            )
            y = _block(ax, cx - head_w / 2, y, D_K, COLORS[role], HEAD_SHADE[h]) - 0.06
        box(ax, cx - 0.6, y - 0.33, 1.2, 0.28, "attention", INK, fill=0.08, fontsize=8)
        arrow(ax, (cx, y + 0.04), (cx, y - 0.04), INK, lw=0.8)
        out_top = y - 0.42
        arrow(ax, (cx, y - 0.33), (cx, out_top + 0.02), INK, lw=0.8)
        _block(ax, cx - head_w / 2, out_top, D_K, COLORS["output"], HEAD_SHADE[h])
        label(
            ax,
            cx + head_w / 2 + 0.08,
            out_top - tall / 2,
            f"head$_{h + 1}$",
            ha="left",
            fontsize=8,
            color=COLORS["output"],
        )
    heads_bottom = out_top - tall

    # 4. merge: the heads side by side again, then 5. mix with W^O
    label(ax, 0.1, 1.25, "4. concatenate, then mix", ha="left", fontweight="bold")
    label(ax, 0.1, 1.0, "transpose back, reshape: $(B, T, D)$", ha="left", fontsize=8)
    label(ax, 0.1, 0.77, "$\\times W^O$ $(D \\times D)$: $(B, T, D)$", ha="left", fontsize=8)
    cat_top = 1.3
    for h in range(H):
        arrow(ax, (heads_x[h], heads_bottom - 0.03), (block_x[h], cat_top + 0.04), INK, lw=1.0)
    _split(ax, mx, cat_top, COLORS["output"])
    label(ax, mx + width / 2, cat_top - tall - 0.12, "the heads side by side", fontsize=8, va="top")
    out_x = mx + width + 0.75
    arrow(ax, (mx + width + 0.08, cat_top - tall / 2), (out_x - 0.08, cat_top - tall / 2), INK, lw=1.0)
    label(ax, (mx + width + out_x) / 2, cat_top - tall / 2 + 0.14, "$W^O$", fontsize=9)
    _block(ax, out_x, cat_top, D, COLORS["output"], 0.55)
    label(ax, out_x + width / 2, cat_top - tall - 0.12, "output: every feature\nreads every head", fontsize=8, va="top")
    return fig


FIGURES = [ch04_heads]
