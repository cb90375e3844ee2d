"""Our encoder and decoder layers against torch.nn's, with copied (and perturbed) weights."""
import itertools

import pytest
import torch
from torch import nn

import transformer_lab as tl
from conftest import perturb_

D, H, FF = 16, 4, 32
CASES = list(itertools.product([False, True], ["relu", "gelu"]))


def _padding(B=3, T=6):
    keep = torch.ones(B, T, dtype=torch.bool)
    keep[0, 4:] = False
    keep[1, 5:] = False
    return keep


@pytest.mark.parametrize("norm_first,activation", CASES)
def test_encoder_layer_matches_torch(norm_first, activation):
    ref = nn.TransformerEncoderLayer(D, H, FF, dropout=0.0, activation=activation, batch_first=True, norm_first=norm_first)
    ref = perturb_(ref).eval()
    ours = tl.EncoderLayer.from_torch(ref).eval()
    assert ours.norm_first == norm_first and ours.feed_forward.activation == activation
    x = torch.randn(3, 6, D)
    keep = _padding()
    expected = ref(x, src_key_padding_mask=~keep)
    out = ours(x, mask=keep[:, None, None, :])
    real = keep[..., None].expand_as(out)  # torch's fast path may zero the padded rows; compare real tokens
    torch.testing.assert_close(out[real], expected[real], atol=1e-5, rtol=1e-4)
    causal = nn.Transformer.generate_square_subsequent_mask(6)
    torch.testing.assert_close(ours(x, mask=tl.causal_mask(6)), ref(x, src_mask=causal, is_causal=True), atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("norm_first,activation", CASES)
def test_decoder_layer_matches_torch(norm_first, activation):
    ref = nn.TransformerDecoderLayer(D, H, FF, dropout=0.0, activation=activation, batch_first=True, norm_first=norm_first)
    ref = perturb_(ref).eval()
    ours = tl.DecoderLayer.from_torch(ref).eval()
    x, memory = torch.randn(3, 5, D), torch.randn(3, 6, D)
    keep = _padding()
    causal = nn.Transformer.generate_square_subsequent_mask(5)
    expected = ref(x, memory, tgt_mask=causal, memory_key_padding_mask=~keep, tgt_is_causal=True)
    out = ours(x, memory, tgt_mask=tl.causal_mask(5), memory_mask=keep[:, None, None, :])
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=1e-4)


def test_swapped_norms_would_be_caught():
    """The perturbation makes norm1 and norm2 differ, so a layer that mixed them up would fail the parity tests."""
    ref = perturb_(nn.TransformerEncoderLayer(D, H, FF, dropout=0.0, batch_first=True)).eval()
    ours = tl.EncoderLayer.from_torch(ref).eval()
    ours.norm1, ours.norm2 = ours.norm2, ours.norm1
    x = torch.randn(2, 4, D)
    assert (ours(x) - ref(x)).abs().max() > 1e-2


def test_decoder_is_causal():
    layer = perturb_(tl.DecoderLayer(D, H, FF)).eval()
    x, memory = torch.randn(1, 6, D), torch.randn(1, 4, D)
    out = layer(x, memory, tgt_mask=tl.causal_mask(6))
    x2 = x.clone()
    x2[:, 4:] = torch.randn(1, 2, D)  # change the future
    out2 = layer(x2, memory, tgt_mask=tl.causal_mask(6))
    assert torch.equal(out[:, :4], out2[:, :4])
    assert not torch.allclose(out[:, 4:], out2[:, 4:])


@pytest.mark.parametrize("norm_first", [False, True])
def test_stacks(norm_first):
    kw = dict(n_layers=2, d_model=D, n_heads=H, d_ff=FF, norm_first=norm_first)
    enc, dec = tl.Encoder(**kw), tl.Decoder(**kw)
    assert len(enc.layers) == 2 and isinstance(enc.norm, tl.LayerNorm) == norm_first
    memory = enc(torch.randn(2, 6, D))
    assert dec(torch.randn(2, 3, D), memory, tgt_mask=tl.causal_mask(3)).shape == (2, 3, D)
    with pytest.raises(TypeError):
        tl.Encoder(2, D, H, FF)  # several integers: keyword-only
