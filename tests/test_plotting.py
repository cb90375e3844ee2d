import matplotlib.pyplot as plt
import pytest
import torch

import transformer_lab as tl


def teardown_function():
    plt.close("all")


def test_attention_heatmap_with_labels():
    ax = tl.plot_attention(torch.softmax(torch.randn(3, 4), -1), x_labels=list("abcd"), y_labels=list("xyz"))
    assert [t.get_text() for t in ax.get_xticklabels()] == list("abcd")
    assert [t.get_text() for t in ax.get_yticklabels()] == list("xyz")
    with pytest.raises(ValueError, match="one \\(T_q, T_k\\) matrix"):
        tl.plot_attention(torch.rand(2, 3, 4))


def test_heads_positional_mask_and_curves():
    fig = tl.plot_attention_heads(torch.rand(3, 4, 4), x_labels=list("abcd"))
    assert len([ax for ax in fig.axes if ax.get_title().startswith("head")]) == 3
    assert tl.plot_positional_encoding(tl.sinusoidal_encoding(20, 8)).get_images()[0].get_array().shape == (20, 8)
    assert tl.plot_mask(tl.causal_mask(5)).get_images()[0].get_array().shape == (5, 5)
    ax = tl.plot_lr_schedule([0.1, 0.2, 0.3])
    assert list(ax.get_lines()[0].get_ydata()) == [0.1, 0.2, 0.3]
    ax = tl.plot_loss_curves({"train": [3, 2, 1, 0.5], "val": [3, 2.5, 2, 1.5]}, smooth=2)
    assert [line.get_label() for line in ax.get_lines()] == ["train", "val"]
    assert list(ax.get_lines()[0].get_ydata()) == [2.5, 1.5, 0.75]
