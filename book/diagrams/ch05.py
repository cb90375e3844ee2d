"""Chapter 5, positional encoding: a position vector is added to each token vector before the first layer, and
RoPE instead turns each query and key pair by an angle proportional to its position."""

import numpy as np
from matplotlib.patches import Arc, Rectangle, Wedge

from diagrams.draw import INK, arrow, canvas, chip, label, tint
from transformer_lab.plotting import COLORS

WORDS = "dog bites man".split()  # the chapter's example
D = 4  # narrow enough to print every number


def sinusoidal(p, d=D):
    """The chapter's PE_p: sin and cos of p / 10000^(2i/D), interleaved."""
    angles = p / 10000 ** (np.arange(0, d, 2) / d)
    return np.stack([np.sin(angles), np.cos(angles)], axis=-1).reshape(-1)


def _numbers(ax, x, y, values, color, *, cell=0.46, height=0.3, fill=0.22):
    """A vector as a strip of cells centred at (x, y), each with its number written in it."""
    left = x - len(values) * cell / 2
    for j, v in enumerate(values):
        ax.add_patch(Rectangle((left + j * cell, y - height / 2), cell, height, fc=tint(color, fill), ec=color, lw=0.9))
        label(ax, left + (j + 0.5) * cell, y, f"{v:+.2f}".replace("-", "\u2212"), fontsize=8)


def ch05_positions():
    token_vectors = np.round(np.random.default_rng(5).normal(scale=0.6, size=(len(WORDS), D)), 1)  # rows of E
    positions = np.round([sinusoidal(p) for p in range(len(WORDS))], 2)
    sums = token_vectors + positions  # exactly the sum of the printed numbers
    fig, ax = canvas(8.6, 3.6)
    xs = [3.35, 5.3, 7.25]
    rows = {"token": 3.2, "embed": 2.6, "pos": 1.8, "sum": 1.0}
    label(ax, 0.1, rows["token"], "tokens at positions $p$", ha="left")
    label(ax, 0.1, rows["embed"], "token vector (its row of $E$)", ha="left", color=COLORS["embedding"])
    label(ax, 0.1, rows["pos"], "+  position vector $PE_p$", ha="left", color=COLORS["embedding"])
    label(ax, 0.1, rows["sum"] + 0.1, "=  what the first layer reads", ha="left", color=COLORS["residual"])
    label(
        ax,
        0.1,
        rows["sum"] - 0.13,
        "(the start of the residual stream)",
        ha="left",
        fontsize=8,
        color=COLORS["residual"],
    )
    for p, (x, word) in enumerate(zip(xs, WORDS)):
        chip(ax, x, rows["token"], word, INK, w=0.7, fill=0.06)
        label(ax, x + 0.5, rows["token"], f"$p = {p}$", ha="left", fontsize=8)
        _numbers(ax, x, rows["embed"], token_vectors[p], COLORS["embedding"])
        label(ax, x, (rows["embed"] + rows["pos"]) / 2, "+", fontsize=12)
        _numbers(ax, x, rows["pos"], positions[p], COLORS["embedding"], fill=0.4)
        label(ax, x, (rows["pos"] + rows["sum"]) / 2, "=", fontsize=12)
        _numbers(ax, x, rows["sum"], sums[p], COLORS["residual"], fill=0.3)
        arrow(ax, (x, rows["token"] - 0.15), (x, rows["embed"] + 0.16), INK, lw=0.8)
    label(
        ax,
        0.1,
        0.42,
        r"$PE_{p,2i} = \sin(p\,/\,10000^{2i/D})$,  $PE_{p,2i+1} = \cos(p\,/\,10000^{2i/D})$,  here with $D = 4$;"
        " a learned table (GPT-2, BERT, ViT) is added the same way.",
        ha="left",
        fontsize=8,
    )
    label(
        ax,
        0.1,
        0.17,
        '"man bites dog" has the same words at other positions, so the first layer reads other sums.',
        ha="left",
        fontsize=8,
    )
    return fig


# RoPE: one pair (2i, 2i+1) of a query and of a key, in the chapter's d_k = 16, pair i = 1
HEAD_DIM, PAIR = 16, 1
THETA = 10000 ** (-2 * PAIR / HEAD_DIM)  # theta_i = 10000^(-2i/d_k), about 0.32 radians per position
Q = 0.95 * np.array([np.cos(0.2), np.sin(0.2)])  # the pair of q and of k, for illustration
K = 0.8 * np.array([np.cos(1.1), np.sin(1.1)])
CASES = [(2, 0), (5, 3), (6, 0)]  # (m, n): two with offset 2, one with offset 6


def rotate(v, angle):
    c, s = np.cos(angle), np.sin(angle)
    return np.array([c * v[0] - s * v[1], s * v[0] + c * v[1]])


def _angle_arc(ax, centre, radius, start, end, color, text, *, text_radius=None):
    """An arc from angle start to angle end (radians), with its text just outside its middle."""
    a, b = np.degrees(min(start, end)), np.degrees(max(start, end))
    ax.add_patch(Arc(centre, 2 * radius, 2 * radius, theta1=a, theta2=b, color=color, lw=1.2))
    middle = (start + end) / 2
    r = text_radius or radius + 0.15
    label(ax, centre[0] + r * np.cos(middle), centre[1] + r * np.sin(middle), text, color=color, fontsize=8)


def ch05_rope():
    fig, ax = canvas(8.6, 4.1)
    cy = 2.05
    centres = [(1.45, cy), (4.3, cy), (7.15, cy)]
    for (m, n), (cx, cy) in zip(CASES, centres):
        q, k = rotate(Q, m * THETA), rotate(K, n * THETA)
        label(ax, cx, 3.9, f"query at $m = {m}$, key at $n = {n}$", fontweight="bold")
        label(ax, cx, 3.66, f"offset $m - n = {m - n}$", fontsize=8)
        ax.plot([cx - 1.15, cx + 1.15], [cy, cy], color=INK, lw=0.5, alpha=0.4)
        ax.plot([cx, cx], [cy - 1.15, cy + 1.15], color=INK, lw=0.5, alpha=0.4)
        ax.add_patch(Arc((cx, cy), 2, 2, color=INK, lw=0.5, alpha=0.3, ls=":"))
        # the angle between the turned pairs, which alone (with their lengths) sets the score
        q_turned, k_turned = np.arctan2(q[1], q[0]), np.arctan2(k[1], k[0])
        between = np.degrees(abs(q_turned - k_turned))
        ax.add_patch(Wedge((cx, cy), 0.3, *np.degrees(sorted([q_turned, k_turned])), fc=tint(INK, 0.15), ec="none"))
        # the pairs before the turn, faint and dashed; after it, solid
        for v, color in ((Q, COLORS["query"]), (K, COLORS["key"])):
            ax.plot([cx, cx + v[0]], [cy, cy + v[1]], color=tint(color, 0.6), lw=1.2, ls="--")
        arrow(ax, (cx, cy), (cx + q[0], cy + q[1]), COLORS["query"], lw=1.8, shrink=0)
        arrow(ax, (cx, cy), (cx + k[0], cy + k[1]), COLORS["key"], lw=1.8, shrink=0)
        q_angle, k_angle = np.arctan2(Q[1], Q[0]), np.arctan2(K[1], K[0])
        if m:
            _angle_arc(ax, (cx, cy), 0.45, q_angle, q_angle + m * THETA, COLORS["query"], f"${m}\\theta$")
        if n:
            _angle_arc(ax, (cx, cy), 0.68, k_angle, k_angle + n * THETA, COLORS["key"], f"${n}\\theta$")
        for v, text, color in ((q, r"$\tilde q_m$", COLORS["query"]), (k, r"$\tilde k_n$", COLORS["key"])):
            tip = v / np.linalg.norm(v) * (np.linalg.norm(v) + 0.17)
            label(ax, cx + tip[0], cy + tip[1], text, color=color)
        label(ax, cx, 0.8, rf"$\tilde q_m \cdot \tilde k_n = {q @ k:.2f}$,  {between:.0f}° apart")
    label(
        ax,
        4.3,
        0.42,
        rf"one pair of a query and a key (pair $i = {PAIR}$ of $d_k = {HEAD_DIM}$, $\theta_i = 10000^{{-2i/d_k}}"
        rf" \approx {THETA:.2f}$), each turned by its position times $\theta_i$; dashed: before the turn",
        fontsize=8,
    )
    label(
        ax,
        4.3,
        0.15,
        r"$\tilde q_m \cdot \tilde k_n = q_m^\top R_{n-m}\, k_n$: the score depends on the positions only through"
        " their offset",
        fontsize=8,
    )
    return fig


FIGURES = [ch05_positions, ch05_rope]
