"""Chapter 1, why attention: an RNN passes one state along the sentence step by step, while attention joins the
last position to every earlier token in one step."""

from diagrams.draw import INK, arrow, box, canvas, chip, label
from transformer_lab.plotting import COLORS

SENTENCE = "the cat that the dog chased sat on the mat".split()  # the chapter's sentence


def ch01_rnn_vs_attention():
    T = len(SENTENCE)
    fig, ax = canvas(8.6, 5.0)
    left, step = 1.5, 0.74
    xs = [left + t * step for t in range(T)]

    # top panel: the RNN reads one token per step into its single state
    label(ax, 0.1, 4.78, "RNN: one state, passed on step by step", ha="left", fontsize=10, fontweight="bold")
    y_tok, y_state = 4.3, 3.45
    label(ax, 0.1, y_tok, "tokens  $x_t$", ha="left")
    label(ax, 0.1, y_state, "state  $h_t$", ha="left")
    label(ax, 0.1, y_state - 0.25, "$h_t = f(h_{t-1}, x_t)$", ha="left", fontsize=8)
    box(ax, xs[0] - 0.62, y_state - 0.13, 0.3, 0.26, "0", INK, fill=0.04, fontsize=8)  # h_0 = 0
    arrow(ax, (xs[0] - 0.32, y_state), (xs[0] - 0.24, y_state), INK)
    for t, (x, word) in enumerate(zip(xs, SENTENCE)):
        chip(ax, x, y_tok, word, INK, w=0.62, fill=0.35 if t == 0 else 0.06)
        last = t == T - 1
        box(ax, x - 0.24, y_state - 0.17, 0.48, 0.34, f"$h_{{{t + 1}}}$", INK, fill=0.3 if last else 0.12)
        arrow(ax, (x, y_tok - 0.14), (x, y_state + 0.17), INK, lw=0.9)
        if t:  # the update that hands the state on: step t of the T - 1 that the first token must survive
            arrow(ax, (xs[t - 1] + 0.24, y_state), (x - 0.24, y_state), INK, lw=1.6)
            label(ax, (xs[t - 1] + x) / 2, y_state + 0.13, f"{t}", fontsize=8)
    y_brace = y_state - 0.42
    ax.plot([xs[0], xs[0], xs[-1], xs[-1]], [y_brace + 0.06, y_brace, y_brace, y_brace + 0.06], color=INK, lw=0.8)
    label(
        ax,
        (xs[0] + xs[-1]) / 2,
        y_brace - 0.2,
        f'what the state holds of "{SENTENCE[0]}" must survive all {T - 1} updates to reach $h_{{{T}}}$;'
        f" step $t$ waits for step $t-1$",
    )

    # bottom panel: attention joins the last position to every earlier token directly
    ax.plot([0.1, 8.5], [2.55, 2.55], color=INK, lw=0.5, alpha=0.4)
    label(
        ax,
        0.1,
        2.3,
        "attention: a direct path from every token, one step each",
        ha="left",
        fontsize=10,
        fontweight="bold",
    )
    y_att = 0.75
    label(ax, 0.1, y_att, "tokens", ha="left")
    for t, (x, word) in enumerate(zip(xs, SENTENCE)):
        last = t == T - 1
        color = COLORS["query"] if last else INK
        chip(ax, x, y_att, word, color, w=0.62, fill=0.35 if last else 0.06)
        if not last:  # one arc per earlier token, straight into the last position; the arcs nest, never cross
            end = xs[-1] - 0.24 + 0.055 * (T - 2 - t)
            arrow(ax, (x, y_att + 0.15), (end, y_att + 0.15), COLORS["query"], rad=-0.33, lw=1.0)
    label(ax, xs[-1], y_att - 0.3, "reads every\ntoken", fontsize=8, color=COLORS["query"], va="top")
    label(
        ax,
        (xs[0] + xs[-1]) / 2,
        0.2,
        r"all the scores at once: $QK^\top/\sqrt{d_k}$, a $T \times T$ matrix, no loop over time",
    )
    return fig


FIGURES = [ch01_rnn_vs_attention]
