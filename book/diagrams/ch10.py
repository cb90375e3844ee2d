"""Chapter 10, generating text: beam search keeping the K best partial outputs of the date translator, and
what a KV cache stores so that each new token computes only its own query, key and value."""

import math

import numpy as np
from matplotlib.patches import Rectangle

from diagrams.draw import INK, arrow, box, canvas, chip, label, tint, vector
from transformer_lab.plotting import COLORS

# ---------------------------------------------------------------- beam search

SOURCE, RIGHT = "03/14/51", "1951-03-14"  # a two-digit year near the pivot: 50-99 -> 19xx, 00-49 -> 20xx
BEAM = 2
# the translator's next-character probabilities after each prefix, its most likely few only (for illustration)
NEXT = {
    "": [("2", 0.52), ("1", 0.46), ("0", 0.01)],
    "2": [("0", 0.90), ("1", 0.05)],
    "1": [("9", 0.97), ("8", 0.02)],
    "20": [("4", 0.45), ("5", 0.40)],
    "19": [("5", 0.95), ("4", 0.03)],
}


def _beam_steps():
    """Beam search over NEXT: per step, the candidates (prefix, token, log p, score, kept), kept ones first
    chosen by score exactly as the chapter's search does."""
    beams, steps = [("", 0.0)], []
    for _ in range(3):
        candidates = [
            (prefix, token, math.log(p), score + math.log(p))
            for prefix, score in beams
            for token, p in NEXT.get(prefix, [])
        ]
        best = sorted(candidates, key=lambda c: -c[3])[:BEAM]
        steps.append([(*c, c in best) for c in candidates])
        beams = [(prefix + token, total) for prefix, token, _, total in best]
    return steps


def _num(x):
    """A signed number with a true minus sign."""
    return f"{x:+.2f}".replace("-", "\u2212")


def ch10_beam_search():
    steps = _beam_steps()
    fig, ax = canvas(8.6, 5.0)
    top, bottom = 3.7, 1.5
    xs = [0.7, 2.8, 4.9, 7.0]
    label(ax, 0.1, 4.7, f"source  '{SOURCE}'   (right answer: {RIGHT})", ha="left")
    label(ax, 8.5, 4.7, f"beam width K = {BEAM},  V = 15 characters", ha="right", fontweight="bold")
    # the root: <bos>, score 0
    root = (xs[0], (top + bottom) / 2)
    chip(ax, *root, "<bos>", INK, w=0.6, fill=0.3)
    label(ax, root[0], root[1] - 0.32, "score 0", fontsize=7.5)
    positions = {"": root}
    final = max((c for c in steps[-1] if c[4]), key=lambda c: c[3])
    best_path = {(final[0] + final[1])[:i] for i in range(1, len(final[0]) + 2)}
    for s, candidates in enumerate(steps, start=1):
        x, n = xs[s], len(candidates)
        ys = [top - i * (top - bottom) / (n - 1) for i in range(n)]
        n_beams = 1 if s == 1 else BEAM
        label(ax, x, 4.3, f"step {s}", fontweight="bold")
        label(ax, x, 4.07, f"keep the {BEAM} best of {n_beams} × V = {n_beams * 15}", fontsize=8)
        for (prefix, token, log_p, score, kept), y in zip(candidates, ys):
            on_best = prefix + token in best_path
            color = COLORS["output"] if on_best else INK if kept else COLORS["mask"]
            px, py = positions[prefix]
            arrow(
                ax,
                (px + (0.3 if prefix == "" else 0.2), py),
                (x - 0.2, y),
                color,
                lw=2.0 if on_best else 1.2 if kept else 0.8,
                alpha=1.0 if kept else 0.55,
                style="-",
            )
            chip(ax, x, y, token, color, w=0.4, fill=0.3 if kept else 0.06)
            tone = INK if kept else COLORS["mask"]
            label(ax, x, y - 0.26, f"log p {_num(log_p)}", fontsize=7.5, color=tone)
            label(
                ax,
                x,
                y - 0.44,
                f"'{prefix + token}'  {_num(score)}",
                fontsize=7.5,
                color=color if kept else COLORS["mask"],
                fontweight="bold" if kept else "normal",
            )
            if kept:
                positions[prefix + token] = (x, y)
    label(ax, (xs[2] + xs[3]) / 2, top + 0.12, "greedy decoding's path", fontsize=7.5, style="italic")
    # the legend, and what greedy decoding would have done
    y = 0.75
    for x, text, role, fill in (
        (0.25, "kept beam", "ink", 0.3),
        (1.5, "pruned", "mask", 0.06),
        (2.6, "best beam", "output", 0.3),
    ):
        chip(ax, x, y, "", COLORS[role], w=0.24, h=0.2, fill=fill)
        label(ax, x + 0.2, y, text, ha="left", fontsize=8, color=COLORS[role])
    label(ax, 3.85, y, "under each token: its log p, then the beam and its score Σ log p", ha="left", fontsize=8)
    greedy, prefix = steps[0][0], ""  # greedy decoding takes the most likely token at every step
    while prefix in NEXT:
        prefix += max(NEXT[prefix], key=lambda c: c[1])[0]
    label(
        ax,
        0.1,
        0.3,
        f"Greedy decoding takes '{greedy[1]}' ({_num(greedy[2])}) at step 1 and ends in '{prefix}'. "
        f"Beam search keeps '1' and finds '{final[0] + final[1]}': more probable ({_num(final[3])}) and right.",
        ha="left",
        fontsize=8,
    )
    return fig


# ---------------------------------------------------------------- KV cache

TOKENS = ["the", "cat", "sat", "on", "the"]  # the newest token, x_t, is the last: t = 5
NEXT_WORD = "mat"
SCORES = np.array([0.2, 1.6, 1.1, -0.3, 0.4])  # q_t · k_j / sqrt(d_k), for illustration


def ch10_kv_cache():
    t = len(TOKENS)
    weights = np.exp(SCORES) / np.exp(SCORES).sum()
    fig, ax = canvas(8.6, 5.75)
    xs = [2.75 + j * 1.0 for j in range(t)]
    new = xs[-1]
    rows = {"token": 5.35, "query": 4.7, "key": 3.55, "value": 2.85, "weight": 1.75, "out": 0.75}
    # the cache of layer l: keys and values of every position so far
    cache = (2.2, 2.3, 5.1, 1.95)  # x, y, w, h
    box(ax, *cache, color=COLORS["mask"], fill=0.08, dashed=True)
    label(
        ax,
        cache[0] + 0.08,
        cache[1] + cache[3] - 0.14,
        "KV cache of layer ℓ (each of the 6 layers has its own)",
        ha="left",
        fontsize=8,
    )
    label(
        ax,
        (xs[0] + xs[-2]) / 2,
        cache[1] + 0.13,
        "stored at steps 1 … t − 1, read again",
        fontsize=8,
        color=COLORS["mask"],
    )
    label(ax, new, cache[1] + 0.13, "added at step t", fontsize=8)
    # row labels
    label(ax, 0.1, rows["token"], "tokens  $x_1 \\ldots x_t$", ha="left")
    label(ax, 0.1, rows["query"], "query  $q_t = x_t W_Q$", ha="left", color=COLORS["query"])
    label(ax, 0.1, rows["weight"], "weights  $a_j$:\nsoftmax of $q_t \\cdot k_j / \\sqrt{d_k}$", ha="left")
    label(ax, 0.1, rows["key"], "keys  $k_j = x_j W_K$", ha="left", color=COLORS["key"])
    label(ax, 0.1, rows["value"], "values  $v_j = x_j W_V$", ha="left", color=COLORS["value"])
    for j, (x, token) in enumerate(zip(xs, TOKENS)):
        is_new = j == t - 1
        sub = "t" if is_new else str(j + 1)
        chip(ax, x, rows["token"], token, COLORS["query"] if is_new else COLORS["mask"], fill=0.35 if is_new else 0.06)
        label(ax, x, rows["token"] + 0.27, f"$x_{sub}$", fontsize=8)
        height = 0.5 * weights[j] / weights.max()
        ax.add_patch(
            Rectangle(
                (x - 0.18, rows["weight"] - 0.25),
                0.36,
                height,
                fc=tint(COLORS["query"], 0.6),
                ec=COLORS["query"],
                lw=1,
            )
        )
        label(ax, x, rows["weight"] - 0.37, f"{weights[j]:.2f}", fontsize=8)
        # the cached keys and values are pale, the ones computed at this step strong
        vector(ax, x - 0.32, rows["key"] - 0.08, 4, COLORS["key"], fill=0.65 if is_new else 0.22)
        vector(ax, x - 0.32, rows["value"] - 0.08, 4, COLORS["value"], fill=0.65 if is_new else 0.22)
        label(ax, x, rows["key"] + 0.22, f"$k_{sub}$", fontsize=8, color=COLORS["key"])
        label(ax, x, rows["value"] + 0.22, f"$v_{sub}$", fontsize=8, color=COLORS["value"])
        arrow(
            ax,
            (x, rows["weight"] - 0.47),
            (new - 0.05, rows["out"] + 0.15),
            COLORS["value"],
            lw=0.4 + 3 * weights[j],
            alpha=0.8,
        )
    label(
        ax,
        (xs[0] + xs[-2]) / 2,
        rows["token"] - 0.32,
        "fed at earlier steps, not fed again",
        fontsize=8,
        color=COLORS["mask"],
    )
    # the new column of the cache, outlined
    bottom = cache[1] + 0.3
    ax.add_patch(Rectangle((new - 0.45, bottom), 0.9, rows["key"] + 0.38 - bottom, fc="none", ec=INK, lw=1.0))
    # step t: only x_t goes in; its query, key and value are the only new vectors
    vector(ax, new - 0.32, rows["query"] - 0.08, 4, COLORS["query"], fill=0.65)
    arrow(ax, (new, rows["token"] - 0.15), (new, rows["query"] + 0.1), COLORS["query"])
    ax.plot([xs[0] - 0.35, new - 0.38], [rows["query"]] * 2, color=COLORS["query"], lw=0.8, ls=":")
    label(
        ax,
        xs[0] - 0.35,
        rows["query"] + 0.15,
        "$q_t$ is scored against every key in the cache, its own included",
        ha="left",
        fontsize=8,
        color=COLORS["query"],
    )
    for row, role, rad in (("key", "key", -0.3), ("value", "value", -0.35)):
        arrow(ax, (new + 0.32, rows["token"] - 0.05), (new + 0.36, rows[row]), COLORS[role], rad=rad)
    label(ax, 7.85, 3.25, "$k_t$ and $v_t$:\ncomputed\nnow, and\nappended", ha="left", fontsize=8)
    # the output
    vector(ax, new - 0.32, rows["out"] - 0.08, 4, COLORS["output"])
    label(
        ax,
        new - 0.45,
        rows["out"],
        r"output $= \sum_j a_j v_j$, on to layer ℓ + 1 and its cache",
        ha="right",
        color=COLORS["output"],
    )
    arrow(ax, (new + 0.36, rows["out"]), (new + 0.75, rows["out"]), COLORS["output"])
    label(ax, new + 0.8, rows["out"], f"… '{NEXT_WORD}'", ha="left", color=COLORS["output"])
    label(
        ax,
        0.1,
        0.2,
        "Without the cache, step t would compute the keys and values of all t tokens again. "
        "The price: 2 × layers × tokens × D stored numbers.",
        ha="left",
        fontsize=8,
    )
    return fig


FIGURES = [ch10_beam_search, ch10_kv_cache]
