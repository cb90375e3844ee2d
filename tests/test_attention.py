import math

import pytest
import torch
import torch.nn.functional as F

import transformer_lab as tl


def qkv(B=2, H=3, T_q=5, T_k=7, d_k=4, d_v=6):
    return torch.randn(B, H, T_q, d_k), torch.randn(B, H, T_k, d_k), torch.randn(B, H, T_k, d_v)


def test_causal_and_padding_masks():
    m = tl.causal_mask(4)
    assert m.dtype == torch.bool and m.shape == (4, 4)
    assert torch.equal(m, torch.tensor([[1, 0, 0, 0], [1, 1, 0, 0], [1, 1, 1, 0], [1, 1, 1, 1]], dtype=torch.bool))
    tokens = torch.tensor([[5, 6, 0], [7, 0, 0]])
    p = tl.padding_mask(tokens, pad_id=0)
    assert p.shape == (2, 1, 1, 3)
    assert p[:, 0, 0].tolist() == [[True, True, False], [True, False, False]]


@pytest.mark.parametrize("mask_kind", ["none", "causal", "padding"])
def test_matches_torch_sdpa(mask_kind):
    q, k, v = qkv(T_q=6, T_k=6) if mask_kind == "causal" else qkv()
    mask = None
    if mask_kind == "causal":
        mask = tl.causal_mask(6)
    elif mask_kind == "padding":
        mask = torch.tensor([[1, 1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1, 1]], dtype=torch.bool)[:, None, None, :]
    out, weights = tl.scaled_dot_product_attention(q, k, v, mask)
    expected = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    torch.testing.assert_close(out, expected, atol=1e-6, rtol=1e-5)
    assert weights.shape == (*q.shape[:-1], k.shape[-2])
    torch.testing.assert_close(tl.fast_attention(q, k, v, mask), out, atol=1e-6, rtol=1e-5)


def test_weights_are_the_scaled_softmax_written_out():
    q, k, v = qkv(B=1, H=1)
    _, weights = tl.scaled_dot_product_attention(q, k, v)
    torch.testing.assert_close(weights, torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(4), dim=-1))


def test_rows_sum_to_one_and_masked_weights_are_exactly_zero():
    q, k, v = qkv()
    mask = torch.rand(2, 1, 5, 7) > 0.4
    mask[..., 0] = True  # every query has at least one key
    _, weights = tl.scaled_dot_product_attention(q, k, v, mask)
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, 3, 5))
    assert (weights.masked_select(~mask.expand_as(weights)) == 0.0).all()


def test_fully_masked_row_gives_zeros_not_nan():
    q, k, v = qkv()
    mask = torch.ones(1, 1, 5, 7, dtype=torch.bool)
    mask[..., 2, :] = False
    out, weights = tl.scaled_dot_product_attention(q, k, v, mask)
    fast = tl.fast_attention(q, k, v, mask)
    for t in (out, weights, fast):
        assert not t.isnan().any()
    assert (out[:, :, 2] == 0).all() and (weights[:, :, 2] == 0).all() and (fast[:, :, 2] == 0).all()


def test_permutation_equivariance_without_positions():
    x = torch.randn(1, 6, 8)
    perm = torch.randperm(6)
    out, _ = tl.scaled_dot_product_attention(x, x, x)
    out_perm, _ = tl.scaled_dot_product_attention(x[:, perm], x[:, perm], x[:, perm])
    torch.testing.assert_close(out_perm, out[:, perm])


def test_bad_input():
    q, k, v = qkv()
    with pytest.raises(ValueError, match="same width d_k"):
        tl.scaled_dot_product_attention(q, torch.randn(2, 3, 7, 5), v)
    with pytest.raises(ValueError, match="cannot broadcast"):
        tl.scaled_dot_product_attention(q, k, v, torch.ones(5, 6, dtype=torch.bool))
    with pytest.raises(TypeError, match="must be boolean"):
        tl.scaled_dot_product_attention(q, k, v, torch.ones(5, 7))
    with pytest.raises(ValueError, match="same length T_k"):
        tl.scaled_dot_product_attention(q, k, torch.randn(2, 3, 6, 6))
    with pytest.raises(ValueError, match="positive int"):
        tl.causal_mask(0)
