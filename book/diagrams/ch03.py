"""Chapter 3, self-attention: one query scores every key, softmax turns the scores into weights, and the
output is the weighted sum of the values."""

import numpy as np
from matplotlib.patches import Rectangle

from diagrams.draw import INK, arrow, canvas, chip, label, tint, vector
from transformer_lab.plotting import COLORS

TOKENS = ["the", "cat", "sat", "on", "the", "mat"]
QUERY = 2  # "sat" asks
SCORES = np.array([0.1, 2.0, 0.9, -0.4, 0.1, 1.3])  # q·k_j / sqrt(d_k), for illustration


def ch03_one_query():
    weights = np.exp(SCORES) / np.exp(SCORES).sum()
    fig, ax = canvas(8.6, 4.7)
    left, step = 2.6, 1.0
    xs = [left + j * step for j in range(len(TOKENS))]
    rows = {"token": 4.35, "key": 3.7, "query": 3.1, "score": 2.55, "weight": 2.0, "value": 1.15, "out": 0.3}
    label(ax, 0.1, rows["token"], "tokens", ha="left")
    label(ax, 0.1, rows["key"], "keys  $k_j = x_j W_K$", ha="left", color=COLORS["key"])
    label(ax, 0.1, rows["score"] - 0.1, r"scores  $q \cdot k_j / \sqrt{d_k}$", ha="left")
    label(ax, 0.1, rows["weight"], "weights  $a_j$\n(softmax)", ha="left")
    label(ax, 0.1, rows["value"] + 0.05, "values  $v_j = x_j W_V$", ha="left", color=COLORS["value"])
    for j, (x, token) in enumerate(zip(xs, TOKENS)):  # one column per token
        chip(ax, x, rows["token"], token, COLORS["query"] if j == QUERY else INK, fill=0.35 if j == QUERY else 0.08)
        vector(ax, x - 0.32, rows["key"] - 0.08, 4, COLORS["key"])
        label(ax, x, rows["score"] - 0.1, f"{SCORES[j]:+.1f}")
        height = 0.55 * weights[j] / weights.max()
        ax.add_patch(
            Rectangle(
                (x - 0.18, rows["weight"] - 0.3), 0.36, height, fc=tint(COLORS["query"], 0.6), ec=COLORS["query"], lw=1
            )
        )
        label(ax, x, rows["weight"] - 0.42, f"{weights[j]:.2f}", fontsize=8)
        vector(ax, x - 0.32, rows["value"] - 0.08, 4, COLORS["value"], fill=0.2 + 0.7 * weights[j] / weights.max())
        arrow(
            ax,
            (x, rows["value"] - 0.12),
            (7.97, rows["out"] + 0.15),
            COLORS["value"],
            lw=0.4 + 3 * weights[j],
            alpha=0.8,
        )
    # the query, computed from "sat" alone, meets every key
    label(ax, 0.1, rows["query"], "query  $q = x_{sat} W_Q$", ha="left", color=COLORS["query"])
    vector(ax, 1.55, rows["query"] - 0.08, 4, COLORS["query"])
    arrow(ax, (xs[QUERY] - 0.3, rows["token"] - 0.1), (2.0, rows["query"] + 0.1), COLORS["query"], rad=0.2)
    ax.plot([2.25, xs[-1] + 0.45], [rows["query"]] * 2, color=COLORS["query"], lw=0.8, ls=":")
    vector(ax, 7.65, rows["out"] - 0.08, 4, COLORS["output"])
    label(
        ax,
        7.55,
        rows["out"],
        r"output $= \sum_j a_j v_j$: each value, weighted by its $a_j$",
        ha="right",
        color=COLORS["output"],
    )
    return fig


FIGURES = [ch03_one_query]
