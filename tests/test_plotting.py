"""Plotting helpers: they draw what they are given and return the matplotlib Axes (or Figure).

Bad input is in test_errors.py.
"""

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure

import transformer_lab as tl


def teardown_function():
    plt.close("all")


def test_attention_heatmap_shows_the_weights_with_labels():
    weights = torch.softmax(torch.randn(3, 4), -1)
    ax = tl.plot_attention(weights, x_labels=list("abcd"), y_labels=list("xyz"))
    assert isinstance(ax, Axes)
    assert np.allclose(ax.get_images()[0].get_array(), weights.numpy())  # row = query, column = key
    assert [t.get_text() for t in ax.get_xticklabels()] == list("abcd")
    assert [t.get_text() for t in ax.get_yticklabels()] == list("xyz")


def test_plots_draw_on_the_axes_they_are_given():
    fig, (ax1, ax2) = plt.subplots(1, 2)
    assert tl.plot_attention(torch.rand(2, 2), ax=ax1) is ax1
    assert tl.plot_mask(tl.causal_mask(3), ax=ax2) is ax2


def test_attention_heads_one_panel_per_head():
    fig = tl.plot_attention_heads(torch.rand(3, 4, 4), x_labels=list("abcd"))
    assert isinstance(fig, Figure)
    assert [ax.get_title() for ax in fig.axes if ax.get_title()] == ["head 0", "head 1", "head 2"]


def test_positional_encoding_and_mask_images():
    pe = tl.sinusoidal_encoding(20, 8)
    assert np.allclose(tl.plot_positional_encoding(pe).get_images()[0].get_array(), pe.numpy())
    mask_image = tl.plot_mask(tl.causal_mask(5)).get_images()[0].get_array()
    assert np.array_equal(mask_image, np.tril(np.ones((5, 5))))


def test_lr_schedule_and_loss_curves():
    ax = tl.plot_lr_schedule([0.1, 0.2, 0.3])
    assert list(ax.get_lines()[0].get_ydata()) == [0.1, 0.2, 0.3]
    ax = tl.plot_loss_curves({"train": [3, 2, 1, 0.5], "val": [3, 2.5, 2, 1.5]}, smooth=2)
    assert [line.get_label() for line in ax.get_lines()] == ["train", "val"]
    assert list(ax.get_lines()[0].get_ydata()) == [2.5, 1.5, 0.75]  # moving average over 2 steps
    assert ax.get_yscale() == "log"


def test_attention_heads_share_one_colour_scale():
    weights = torch.rand(3, 4, 4)
    weights[1, 0, 0] = 2.0  # the largest weight, in head 1
    fig = tl.plot_attention_heads(weights)
    scales = {ax.images[0].get_clim() for ax in fig.axes if ax.images}
    assert scales == {(0.0, 2.0)}, "every head's heatmap must use the same scale"
    assert any(ax.get_ylabel() == "attention weight" for ax in fig.axes), "the scale needs its colour bar"


def test_token_splits_draw_one_box_per_token_in_order():
    rows = [("bytes", ["␣", "t", "h", "e"]), ("merged", ["␣the"])]
    ax = tl.plot_token_splits(rows)
    assert [t.get_text() for t in ax.texts] == ["␣", "t", "h", "e", "␣the"]
    boxes = ax.patches
    assert [b.get_width() for b in boxes] == [1, 1, 1, 1, 4]  # as wide as the token's text
    assert [b.get_x() for b in boxes[:4]] == [0, 1, 2, 3]  # side by side, left to right
    assert [t.get_text() for t in ax.get_yticklabels()] == ["bytes", "merged"]


@pytest.mark.parametrize("korean", [False, True])
def test_korean_text_finds_its_glyphs(korean):
    """Matplotlib warns "Glyph ... missing from font(s)" for each Hangul syllable its default font lacks; with
    korean_font_family() every glyph is found (and without it the warning proves the check can fail)."""
    import warnings

    fig, ax = plt.subplots()
    family = tl.korean_font_family() if korean else ["DejaVu Sans"]
    ax.set_title("셀프 어텐션 (self-attention) 숫자 칠", fontfamily=family)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig.canvas.draw()
    plt.close(fig)
    missing = [str(w.message) for w in caught if "missing from font" in str(w.message)]
    assert (missing == []) if korean else len(missing) == 8, missing  # 8 distinct syllables
