"""Plotting helpers (matplotlib) used throughout the book. Each returns the Axes it drew on."""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib import font_manager

# One colour per role, in every drawn diagram of the book and every plot that shows these roles: the
# Okabe-Ito palette, which readers with any common colour-vision deficiency can still tell apart.
COLORS = {
    "query": "#0072B2",  # blue
    "key": "#E69F00",  # orange
    "value": "#009E73",  # green
    "residual": "#CC79A7",  # reddish purple: the residual stream
    "mask": "#999999",  # grey: what may not be attended to
    "output": "#D55E00",  # vermilion: a layer's or the model's output
    "embedding": "#56B4E9",  # sky blue: token and position vectors
    "norm": "#F0E442",  # yellow: LayerNorm
    "ink": "#222222",  # text and arrows
}


def korean_font_family() -> list[str]:
    """Fonts for text that may hold Korean: matplotlib's DejaVu Sans, then NanumGothic for the Hangul it lacks.

    Pass the list as `fontfamily=` to the text that shows Korean; matplotlib falls back glyph by glyph, so
    Latin letters look as in every other figure. NanumGothic ships in the koreanize-matplotlib package: its
    file is found and registered with matplotlib without importing that package, whose import would change
    matplotlib's global settings.
    """
    spec = importlib.util.find_spec("koreanize_matplotlib")
    if spec is None:
        raise ModuleNotFoundError("Korean text needs the Hangul font of koreanize-matplotlib: pip install it")
    if "NanumGothic" not in {font.name for font in font_manager.fontManager.ttflist}:
        for weight in ("NanumGothic", "NanumGothicBold"):  # regular and bold
            font_manager.fontManager.addfont(str(Path(spec.submodule_search_locations[0]) / "fonts" / f"{weight}.ttf"))
    return ["DejaVu Sans", "NanumGothic"]


def _to_numpy(x) -> np.ndarray:
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def _axes(ax, figsize=(5, 4)):
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def plot_token_splits(rows: Sequence[tuple[str, Sequence[str]]], ax=None, title: str | None = None):
    """How a tokenizer cuts text: one row per (label, tokens), each token a box as wide as its text.

    Neighbouring tokens alternate between two shades, so that where one ends and the next begins can be seen."""
    if len(rows) == 0:
        raise ValueError("plot_token_splits needs at least one (label, tokens) row")
    width = max(sum(max(len(t), 1) for t in tokens) for _, tokens in rows)
    ax = _axes(ax, figsize=(min(2 + 0.28 * width, 14), 0.6 * len(rows) + 0.8))
    for row, (_, tokens) in enumerate(rows):
        x = 0.0
        for k, token in enumerate(tokens):
            w = max(len(token), 1)
            ax.add_patch(
                plt.Rectangle(
                    (x, -row - 0.4),
                    w,
                    0.8,
                    facecolor=COLORS["embedding"],
                    alpha=0.35 if k % 2 else 0.75,
                    edgecolor=COLORS["ink"],
                    linewidth=0.8,
                )
            )
            ax.text(x + w / 2, -row, token, ha="center", va="center", family="monospace", fontsize=9)
            x += w
    ax.set_xlim(-0.5, width + 0.5)
    ax.set_ylim(-len(rows) + 0.4, 0.6)
    ax.set_yticks([-row for row in range(len(rows))], labels=[label for label, _ in rows])
    ax.set_xticks([])
    for side in ("top", "right", "bottom"):
        ax.spines[side].set_visible(False)
    if title:
        ax.set_title(title)
    return ax


def plot_attention(
    weights,
    x_labels: Sequence[str] | None = None,
    y_labels: Sequence[str] | None = None,
    ax=None,
    title: str | None = None,
    colorbar: bool = True,
    vmax: float | None = None,
):
    """Heatmap of a (T_q, T_k) attention matrix: row = query (y), column = key (x). The colour scale starts
    at weight 0 and ends at vmax (default: the largest weight shown)."""
    w = _to_numpy(weights)
    if w.ndim != 2:
        raise ValueError(f"plot_attention takes one (T_q, T_k) matrix, got shape {w.shape}; pick a batch item and head")
    ax = _axes(ax)
    im = ax.imshow(w, cmap="viridis", vmin=0.0, vmax=vmax, aspect="auto")
    if x_labels is not None:
        ax.set_xticks(range(len(x_labels)), labels=list(x_labels), rotation=90)
    if y_labels is not None:
        ax.set_yticks(range(len(y_labels)), labels=list(y_labels))
    ax.set_xlabel("key (attended to)")
    ax.set_ylabel("query (attending)")
    if title:
        ax.set_title(title)
    if colorbar:
        ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="attention weight")
    return ax


def plot_attention_heads(weights, x_labels=None, y_labels=None, title: str | None = None, ncols: int = 4):
    """One heatmap per head for (H, T_q, T_k) weights, on one colour scale (its bar beside the last column).
    Returns the Figure."""
    w = _to_numpy(weights)
    if w.ndim != 3:
        raise ValueError(f"plot_attention_heads takes (H, T_q, T_k) weights, got shape {w.shape}")
    n_heads = w.shape[0]
    ncols = min(ncols, n_heads)
    nrows = -(-n_heads // ncols)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(3.2 * ncols + 0.6, 3.0 * nrows), squeeze=False, layout="constrained"
    )
    vmax = float(w.max())  # one scale for every head, so that their colours compare
    for h, ax in enumerate(axes.flat):
        if h >= n_heads:
            ax.axis("off")
            continue
        plot_attention(
            w[h], x_labels, y_labels if h % ncols == 0 else None, ax=ax, title=f"head {h}", colorbar=False, vmax=vmax
        )
        if h % ncols:
            ax.set_ylabel("")
            ax.set_yticks([])
    fig.colorbar(axes.flat[0].images[0], ax=list(axes.flat), fraction=0.03, pad=0.02, label="attention weight")
    if title:
        fig.suptitle(title)
    return fig


def plot_positional_encoding(pe, ax=None, title: str = "Sinusoidal positional encoding"):
    """Image of a (max_len, d_model) encoding: one row per position, one column per dimension."""
    pe = _to_numpy(pe)
    ax = _axes(ax, figsize=(7, 4))
    im = ax.imshow(pe, cmap="RdBu", vmin=-1, vmax=1, aspect="auto")
    ax.set_xlabel("dimension")
    ax.set_ylabel("position")
    ax.set_title(title)
    ax.figure.colorbar(im, ax=ax)
    return ax


def plot_mask(mask, ax=None, title: str = "mask (True = may attend)", labels: Sequence[str] | None = None):
    """A boolean (T_q, T_k) mask: filled cells may attend."""
    m = _to_numpy(mask).astype(float)
    ax = _axes(ax, figsize=(3.5, 3.5))
    ax.imshow(m, cmap="Greys", vmin=0, vmax=1)
    if labels is not None:
        ax.set_xticks(range(len(labels)), labels=list(labels))
        ax.set_yticks(range(len(labels)), labels=list(labels))
    ax.set_xlabel("key")
    ax.set_ylabel("query")
    ax.set_title(title)
    return ax


def plot_lr_schedule(lrs: Sequence[float], ax=None, title: str = "learning-rate schedule"):
    ax = _axes(ax, figsize=(5, 3))
    ax.plot(range(len(lrs)), lrs)
    ax.set_xlabel("step")
    ax.set_ylabel("learning rate")
    ax.set_title(title)
    return ax


def plot_loss_curves(curves: dict, ax=None, smooth: int = 1, log: bool = True, title: str = "loss"):
    """Several loss curves by name, e.g. {"train": losses, "validation": (eval_steps, eval_values)}.

    A curve is a list of values, one per step, or a (steps, values) pair for values recorded every
    few steps (drawn with markers). `smooth` averages per-step curves over a moving window.
    """
    ax = _axes(ax, figsize=(5, 3))
    for name, values in curves.items():
        if isinstance(values, tuple):
            steps, v = values
            ax.plot(steps, v, marker="o", markersize=3, label=name)
            continue
        v = np.asarray(values, dtype=float)
        if smooth > 1 and len(v) >= smooth:
            v = np.convolve(v, np.ones(smooth) / smooth, mode="valid")
        ax.plot(np.arange(len(v)) + (smooth - 1 if smooth > 1 else 0), v, label=name)
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    if log:
        ax.set_yscale("log")
    ax.set_title(title)
    ax.legend()
    return ax
