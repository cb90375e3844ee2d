"""Chapter 9, the translator at work: the encoder reads a date once; the decoder, from <bos>, predicts one
character per run, appends it to its input and runs again, until it writes <eos>."""

from diagrams.draw import INK, arrow, box, canvas, chip, label
from transformer_lab.plotting import COLORS

OUT = COLORS["output"]
SOURCE = list("11/23/26") + ["<eos>"]  # the chapter's date, 23 November 2026, written mm/dd/yy
TARGET = list("2026-11-23") + ["<eos>"]  # what greedy decoding writes, one token per run
RUNS = [1, 2, 3, None, 10, 11]  # the runs drawn (None: the ones skipped)


def _width(token):
    return 0.42 if token.startswith("<") else 0.24


def _encoder(ax):
    """Left: the source characters, the encoder (once), its memory."""
    label(ax, 1.38, 5.0, "encoder: reads the source once", fontsize=10, fontweight="bold")
    x = 0.2
    for token in SOURCE:
        w = _width(token)
        chip(ax, x + w / 2, 4.55, token, INK, w=w, fill=0.06, fontsize=7 if len(token) > 1 else 9)
        x += w + 0.04
    arrow(ax, (1.38, 4.39), (1.38, 4.27), INK, shrink=0)
    box(ax, 0.15, 3.92, 2.46, 0.35, "encoder  (runs once)", INK, fill=0.07)
    arrow(ax, (1.38, 3.92), (1.38, 3.77), INK, shrink=0)
    box(ax, 0.15, 3.42, 2.46, 0.35, "memory  (1, 9, D)", OUT, fill=0.2)


def _run(ax, y, n_in, bus_x):
    """One run of the decoder: the tokens written so far in, the next token out; returns where that is."""
    tokens = ["<bos>"] + TARGET[: n_in - 1]
    x0 = 3.0
    x = x0 + 0.72
    centres = []
    for token in tokens:
        w = _width(token)
        centres.append(x + w / 2)
        x += w + 0.05
    right = x + 0.03
    box(ax, x0, y - 0.2, right - x0, 0.4, "", INK, fill=0.07)
    label(ax, x0 + 0.08, y, "decoder", ha="left", fontsize=8)
    for i, (token, cx) in enumerate(zip(tokens, centres)):
        new = i == len(tokens) - 1 and i > 0  # appended after the previous run
        chip(
            ax,
            cx,
            y,
            token,
            OUT if new else INK,
            w=_width(token),
            fill=0.25 if new else 0.0,
            fontsize=7 if len(token) > 1 else 9,
        )
    arrow(ax, (bus_x, y), (x0, y), OUT, lw=1.0, shrink=0)
    predicted = TARGET[n_in - 1]
    px = right + 0.3 + _width(predicted) / 2
    arrow(ax, (right, y), (px - _width(predicted) / 2, y), INK, shrink=0)
    chip(ax, px, y, predicted, OUT, w=_width(predicted), fill=0.35, fontsize=7 if len(predicted) > 1 else 9)
    return px, right


def ch09_generation():
    fig, ax = canvas(8.6, 5.3)
    _encoder(ax)
    label(ax, 5.75, 5.0, "decoder: writes one token per run", fontsize=10, fontweight="bold")
    label(ax, 5.75, 4.6, "it starts from <bos>, predicts the most likely next token,", fontsize=8)
    label(ax, 5.75, 4.38, "appends it to its input and runs again, until it writes <eos>", fontsize=8)
    ys = [3.18 - 0.55 * i for i in range(len(RUNS))]
    bus_x = 2.8
    ax.plot([2.61, bus_x, bus_x], [3.59, 3.59, ys[-1]], color=OUT, lw=1.0)
    previous = None
    for y, n_in in zip(ys, RUNS):
        if n_in is None:
            label(ax, 4.6, y, r"$\vdots$", fontsize=11)
            label(ax, 6.2, y, "runs 4 to 9", fontsize=8)
            previous = None
            continue
        label(ax, bus_x - 0.1, y, f"run {n_in}", ha="right", fontsize=8)
        px, right = _run(ax, y, n_in, bus_x)
        if previous is not None:  # the token just predicted is appended to the next run's input
            arrow(ax, (previous, y + 0.41), (right - 0.18, y + 0.16), OUT, lw=1.0, shrink=0)
        previous = px
    label(ax, px + 0.3, ys[-1], "stop", ha="left", fontsize=8)
    label(
        ax,
        0.15,
        2.35,
        "each run reads all it has written\n(causal mask) and the memory;\n"
        "its last position's most likely\ntoken becomes the next input",
        ha="left",
        fontsize=8,
    )
    label(ax, 0.15, 1.05, "translation", ha="left", fontsize=8)
    label(ax, 0.15, 0.78, "".join(TARGET[:-1]), ha="left", fontsize=12, color=OUT, fontweight="bold")
    return fig


FIGURES = [ch09_generation]
