"""Chapter 11, a decoder-only GPT: the adder reads "07+45=05" and predicts the next character at every
position, through embeddings, pre-LN blocks of masked self-attention and an MLP, a final LayerNorm and a
head tied to the embedding."""

from matplotlib.patches import Rectangle

from diagrams.draw import INK, arrow, box, canvas, chip, label, tint
from transformer_lab.plotting import COLORS

PROBLEM = "07+45=052"  # a + b = sum: operands padded to two digits, the sum to three
INPUTS, TARGETS = PROBLEM[:-1], PROBLEM[1:]  # position t reads INPUTS[t] and predicts TARGETS[t]
PROMPT = PROBLEM.index("=")  # targets before the "=" position are ignored (-100): the loss is on the answer only


def _band(ax, y, h, text, role, x0, x1, *, fill=0.25, fontsize=9):
    """A layer applied at every position: one wide box across the columns."""
    box(ax, x0, y, x1 - x0, h, text, COLORS[role], fill=fill, fontsize=fontsize)


def _causal_mask(ax, x, y, n, cell):
    """A small n x n causal mask with its top-left corner at (x, y): row t may see columns 0..t."""
    for i in range(n):
        for j in range(n):
            seen = j <= i
            ax.add_patch(
                Rectangle(
                    (x + j * cell, y - (i + 1) * cell),
                    cell,
                    cell,
                    fc=tint(COLORS["query"], 0.5) if seen else tint(COLORS["mask"], 0.35),
                    ec="white",
                    lw=0.4,
                )
            )
    ax.add_patch(Rectangle((x, y - n * cell), n * cell, n * cell, fc="none", ec=INK, lw=0.6))


def ch11_gpt():
    fig, ax = canvas(8.7, 6.6)
    n = len(INPUTS)
    xs = [2.65 + j * 0.6 for j in range(n)]
    x0, x1 = xs[0] - 0.36, xs[-1] + 0.36  # the bands' extent
    y = {"input": 0.55, "embed": 1.05, "block": 1.6, "ln_f": 4.55, "head": 4.95, "target": 5.75}
    # inputs: one problem, its last character cut off
    label(ax, 0.1, y["input"], "inputs  $x_t$", ha="left")
    for t, (x, c) in enumerate(zip(xs, INPUTS)):
        chip(ax, x, y["input"], c, INK, w=0.4, fill=0.08)
        label(ax, x, y["input"] - 0.27, f"{t}", fontsize=7.5, color=COLORS["mask"])
        arrow(ax, (x, y["input"] + 0.15), (x, y["embed"]), INK, lw=0.8)
    label(ax, x1 + 0.1, y["input"] - 0.27, "position $t$", ha="left", fontsize=7.5, color=COLORS["mask"])
    # embeddings
    label(ax, 0.1, y["embed"] + 0.2, "embeddings, $D = 64$", ha="left", color=COLORS["embedding"])
    _band(
        ax,
        y["embed"],
        0.4,
        "token embedding $E[x_t]$ (wte)  +  position embedding $P[t]$ (wpe)",
        "embedding",
        x0,
        x1,
        fontsize=8.5,
    )
    # the block, repeated n_layers times
    b = y["block"]
    parts = [  # (offset, height, text, role)
        (0.2, 0.22, "LayerNorm  ln_1", "norm"),
        (0.55, 0.5, "masked self-attention  attn\n$H = 4$ heads", "query"),
        (1.15, 0.2, "+", "residual"),
        (1.5, 0.22, "LayerNorm  ln_2", "norm"),
        (1.85, 0.4, "MLP  $D \\to 4D \\to D$ (256 wide)", "ink"),
        (2.35, 0.2, "+", "residual"),
    ]
    box(ax, x0 - 0.15, b, x1 - x0 + 0.52, 2.98, color=INK, fill=0.03, dashed=True)
    label(
        ax,
        x0 - 0.05,
        b + 2.8,
        "decoder block (pre-LN): no encoder, so no cross-attention",
        ha="left",
        fontsize=8.5,
        fontweight="bold",
    )
    label(ax, 0.1, b + 2.2, "× n_layers = 2\nblocks", ha="left", fontsize=10, fontweight="bold")
    for offset, h, text, role in parts:
        _band(ax, b + offset, h, text, role, x0, x1, fill={"norm": 0.3, "ink": 0.08}.get(role, 0.2), fontsize=8.5)
    # the residual stream: around each sublayer, added back at the "+"
    rx = x1 + 0.2
    for start, end in ((b + 0.05, b + 1.25), (b + 1.25, b + 2.45)):
        ax.plot([x1 + 0.05, rx, rx], [start, start, end], color=COLORS["residual"], lw=1.6)
        arrow(ax, (rx, end), (x1, end), COLORS["residual"], lw=1.6)
    label(ax, x1 + 0.48, b + 0.65, "residual\nstream", ha="left", fontsize=8, color=COLORS["residual"])
    # the causal mask, beside the attention
    label(ax, 0.1, b + 0.8, "causal mask:\nposition $t$ sees\npositions $0 \\ldots t$", ha="left", fontsize=8)
    _causal_mask(ax, 1.6, b + 1.02, n, 0.055)
    # final LayerNorm and the tied head
    _band(ax, y["ln_f"], 0.22, "final LayerNorm  ln_f", "norm", x0, x1, fill=0.3, fontsize=8.5)
    _band(
        ax,
        y["head"],
        0.4,
        "head: logits $= h\\,E^{\\top}$, one score per token ($V = 16$)",
        "output",
        x0,
        x1,
        fontsize=8.5,
    )
    tx = 8.5  # weight tying: the head is the embedding matrix
    ax.plot(
        [x1, tx, tx, x1],
        [y["head"] + 0.2, y["head"] + 0.2, y["embed"] + 0.2, y["embed"] + 0.2],
        color=COLORS["embedding"],
        lw=1.2,
        ls="--",
    )
    label(
        ax,
        tx - 0.13,
        (y["head"] + y["embed"]) / 2 + 0.4,
        "weight tying: the head is the embedding matrix $E$ ($16 \\times 64$)",
        fontsize=8,
        rotation=90,
    )
    # targets: the inputs shifted by one; the loss scores the answer only
    label(ax, 0.1, y["target"] + 0.05, "targets  $x_{t+1}$", ha="left")
    label(ax, 0.1, y["target"] - 0.25, "(the inputs shifted by one)", ha="left", fontsize=8)
    for t, (x, c) in enumerate(zip(xs, TARGETS)):
        scored = t >= PROMPT
        arrow(
            ax,
            (x, y["head"] + 0.4),
            (x, y["target"] - 0.15),
            COLORS["output"] if scored else COLORS["mask"],
            lw=0.8,
            alpha=1 if scored else 0.6,
        )
        chip(ax, x, y["target"], c, COLORS["output"] if scored else COLORS["mask"], w=0.4, fill=0.3 if scored else 0.05)
    label(
        ax,
        (xs[0] + xs[PROMPT - 1]) / 2,
        y["target"] + 0.3,
        "ignored (−100): the operands are random",
        fontsize=8,
        color=COLORS["mask"],
    )
    label(ax, (xs[PROMPT] + xs[-1]) / 2, y["target"] + 0.3, "scored: the answer", fontsize=8, color=COLORS["output"])
    label(
        ax,
        0.1,
        6.4,
        f"one problem, '{PROBLEM}': the inputs are its first {n} characters, the targets its last {n}",
        ha="left",
        fontsize=9,
    )
    return fig


FIGURES = [ch11_gpt]
