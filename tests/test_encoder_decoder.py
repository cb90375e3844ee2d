"""Chapters 7-8: encoder and decoder layers (and stacks) against torch.nn's, with copied, perturbed weights.

torch's masks mean the opposite of ours (True = may NOT attend), so torch gets `~mask`. The models are
in eval mode with dropout 0; gradients stay enabled, which keeps torch off its fused "fast path".
"""

import itertools

import pytest
import torch
from torch import nn

import transformer_lab as tl

from conftest import ATOL, assert_close_f32, perturb_

D, H, FF = 16, 4, 32
B, T_SRC, T_TGT = 3, 6, 5
LAYER_CASES = list(itertools.product(["post-LN", "pre-LN"], ["relu", "gelu"]))


def keep_mask(T: int) -> torch.Tensor:
    """(B, T) True at real tokens: item 0 ends in 2 pads, item 1 in 1 pad, item 2 has none."""
    keep = torch.ones(B, T, dtype=torch.bool)
    keep[0, T - 2 :] = False
    keep[1, T - 1 :] = False
    return keep


def torch_encoder_layer(norm: str, activation: str) -> nn.TransformerEncoderLayer:
    layer = nn.TransformerEncoderLayer(
        D, H, FF, dropout=0.0, activation=activation, batch_first=True, norm_first=norm == "pre-LN"
    )
    return perturb_(layer).eval()


def torch_decoder_layer(norm: str, activation: str) -> nn.TransformerDecoderLayer:
    layer = nn.TransformerDecoderLayer(
        D, H, FF, dropout=0.0, activation=activation, batch_first=True, norm_first=norm == "pre-LN"
    )
    return perturb_(layer).eval()


def encoder_masks(kind: str) -> tuple[dict, torch.Tensor]:
    """The same mask for torch (its keyword arguments) and for us (one boolean mask)."""
    keep, causal = keep_mask(T_SRC), tl.causal_mask(T_SRC)
    if kind == "padding":
        return dict(src_key_padding_mask=~keep), keep[:, None, None, :]
    if kind == "causal":
        return dict(src_mask=~causal), causal
    if kind == "causal+padding":
        return dict(src_mask=~causal, src_key_padding_mask=~keep), causal & keep[:, None, None, :]
    raise ValueError(kind)


@pytest.mark.parametrize("mask_kind", ["padding", "causal", "causal+padding"])
@pytest.mark.parametrize("norm,activation", LAYER_CASES)
def test_encoder_layer_matches_torch(norm, activation, mask_kind):
    ref = torch_encoder_layer(norm, activation)
    ours = tl.from_torch(ref).eval()
    assert ours.norm_first == (norm == "pre-LN") and ours.feed_forward.activation == activation
    x = torch.randn(B, T_SRC, D)
    torch_masks, mask = encoder_masks(mask_kind)
    assert_close_f32(ours(x, mask=mask), ref(x, **torch_masks))


@pytest.mark.parametrize("tgt_padding", [False, True], ids=["causal", "causal+padding"])
@pytest.mark.parametrize("norm,activation", LAYER_CASES)
def test_decoder_layer_matches_torch(norm, activation, tgt_padding):
    ref = torch_decoder_layer(norm, activation)
    ours = tl.from_torch(ref).eval()
    x, memory = torch.randn(B, T_TGT, D), torch.randn(B, T_SRC, D)  # T_tgt != T_src
    causal, mem_keep = tl.causal_mask(T_TGT), keep_mask(T_SRC)
    tgt_keep = keep_mask(T_TGT) if tgt_padding else torch.ones(B, T_TGT, dtype=torch.bool)
    expected = ref(x, memory, tgt_mask=~causal, tgt_key_padding_mask=~tgt_keep, memory_key_padding_mask=~mem_keep)
    out = ours(x, memory, tgt_mask=causal & tgt_keep[:, None, None, :], memory_mask=mem_keep[:, None, None, :])
    assert_close_f32(out, expected)


@pytest.mark.parametrize("norm", ["post-LN", "pre-LN"])
def test_encoder_stack_matches_torch(norm):
    """n layers, plus a final LayerNorm with pre-LN (nn.TransformerEncoder(norm=...))."""
    pre = norm == "pre-LN"
    layer = nn.TransformerEncoderLayer(D, H, FF, dropout=0.0, batch_first=True, norm_first=pre)
    ref = nn.TransformerEncoder(layer, num_layers=2, norm=nn.LayerNorm(D) if pre else None, enable_nested_tensor=False)
    ref = perturb_(ref).eval()  # after the deep copies: each layer gets its own weights
    ours = tl.Encoder(n_layers=2, d_model=D, n_heads=H, d_ff=FF, norm_first=pre).eval()
    assert isinstance(ours.norm, tl.LayerNorm) == pre
    for i in range(2):
        ours.layers[i] = tl.from_torch(ref.layers[i])
    if pre:
        ours.norm.load_state_dict(ref.norm.state_dict())
    x, keep = torch.randn(B, T_SRC, D), keep_mask(T_SRC)
    assert_close_f32(ours(x, keep[:, None, None, :]), ref(x, src_key_padding_mask=~keep))


@pytest.mark.parametrize("norm", ["post-LN", "pre-LN"])
def test_decoder_stack_matches_torch(norm):
    pre = norm == "pre-LN"
    layer = nn.TransformerDecoderLayer(D, H, FF, dropout=0.0, batch_first=True, norm_first=pre)
    ref = perturb_(nn.TransformerDecoder(layer, num_layers=2, norm=nn.LayerNorm(D) if pre else None)).eval()
    ours = tl.Decoder(n_layers=2, d_model=D, n_heads=H, d_ff=FF, norm_first=pre).eval()
    for i in range(2):
        ours.layers[i] = tl.from_torch(ref.layers[i])
    if pre:
        ours.norm.load_state_dict(ref.norm.state_dict())
    x, memory, mem_keep = torch.randn(B, T_TGT, D), torch.randn(B, T_SRC, D), keep_mask(T_SRC)
    causal = tl.causal_mask(T_TGT)
    expected = ref(x, memory, tgt_mask=~causal, memory_key_padding_mask=~mem_keep)
    assert_close_f32(ours(x, memory, tgt_mask=causal, memory_mask=mem_keep[:, None, None, :]), expected)


def _swap_norms(layer):
    layer.norm1, layer.norm2 = layer.norm2, layer.norm1


def _flip_norm_order(layer):
    layer.norm_first = not layer.norm_first


def _tanh_gelu(layer):
    layer.feed_forward.activation = "gelu_tanh"


@pytest.mark.parametrize("mutate", [_swap_norms, _flip_norm_order, _tanh_gelu], ids=lambda f: f.__name__[1:])
def test_parity_would_catch_a_plausible_bug(mutate):
    """The perturbed weights make these bugs visible: each moves the output far beyond the tolerance."""
    ref = torch_encoder_layer("post-LN", "gelu")
    ours = tl.from_torch(ref).eval()
    x = torch.randn(B, T_SRC, D) * 2
    assert_close_f32(ours(x), ref(x))
    mutate(ours)
    assert (ours(x) - ref(x)).abs().max().item() > 10 * ATOL


@pytest.mark.parametrize("norm_first", [False, True])
def test_decoder_is_causal(norm_first):
    layer = perturb_(tl.DecoderLayer(d_model=D, n_heads=H, d_ff=FF, norm_first=norm_first)).eval()
    x, memory = torch.randn(1, 6, D), torch.randn(1, 4, D)
    out = layer(x, memory, tgt_mask=tl.causal_mask(6))
    x2 = x.clone()
    x2[:, 4:] = torch.randn(1, 2, D)  # change the future
    out2 = layer(x2, memory, tgt_mask=tl.causal_mask(6))
    assert torch.equal(out[:, :4], out2[:, :4])
    assert (out[:, 4:] - out2[:, 4:]).abs().max() > 1e-3


@pytest.mark.parametrize(
    "build",
    [
        lambda: tl.Encoder(2, D, H, FF),
        lambda: tl.Decoder(2, D, H, FF),
        lambda: tl.EncoderLayer(D, H, FF),
        lambda: tl.DecoderLayer(D, H, FF),
        lambda: tl.MultiHeadAttention(D, H),
        lambda: tl.FeedForward(D, FF),
        lambda: tl.LearnedPositionalEmbedding(10, D),
        lambda: tl.SinusoidalPositionalEncoding(10, D),
        lambda: tl.RotaryEmbedding(10, D // H),
    ],
)
def test_constructors_where_integers_meet_take_keyword_arguments_only(build):
    """Several integers in a row are easy to swap, so these constructors refuse positional arguments."""
    with pytest.raises(TypeError):
        build()
