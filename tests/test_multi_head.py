import pytest
import torch
from torch import nn

import transformer_lab as tl
from conftest import perturb_


def test_matches_torch_multihead_attention_with_padding():
    ref = perturb_(nn.MultiheadAttention(16, 4, batch_first=True)).eval()
    ours = tl.MultiHeadAttention.from_torch(ref).eval()
    q, kv = torch.randn(3, 5, 16), torch.randn(3, 7, 16)  # cross-attention: T_q != T_k
    keep = torch.ones(3, 7, dtype=torch.bool)
    keep[0, 4:] = False
    keep[2, 6:] = False
    expected, expected_w = ref(q, kv, kv, key_padding_mask=~keep, average_attn_weights=False)
    out = ours(q, kv, kv, mask=keep[:, None, None, :])
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=1e-4)
    assert ours.attn_weights.shape == (3, 4, 5, 7)
    torch.testing.assert_close(ours.attn_weights, expected_w, atol=1e-6, rtol=1e-5)


def test_split_and_merge_heads_are_inverse():
    mha = tl.MultiHeadAttention(12, 3)
    x = torch.randn(2, 5, 12)
    heads = mha.split_heads(x)
    assert heads.shape == (2, 3, 5, 4)
    assert torch.equal(heads[:, 1], x[..., 4:8])  # head h holds dimensions h*d_k .. (h+1)*d_k
    assert torch.equal(mha.merge_heads(heads), x)


def test_fast_path_gives_the_same_numbers():
    mha = perturb_(tl.MultiHeadAttention(16, 4)).eval()
    x = torch.randn(2, 6, 16)
    mask = tl.causal_mask(6)
    slow = mha(x, x, x, mask)
    mha.use_fast_path = True
    torch.testing.assert_close(mha(x, x, x, mask), slow, atol=1e-5, rtol=1e-4)
    assert mha.attn_weights is None


def test_permutation_equivariance():
    mha = perturb_(tl.MultiHeadAttention(8, 2)).eval()
    x = torch.randn(1, 6, 8)
    perm = torch.randperm(6)
    torch.testing.assert_close(mha(x[:, perm], x[:, perm], x[:, perm]), mha(x, x, x)[:, perm], atol=1e-5, rtol=1e-4)


def test_kv_cache_equals_full_causal_attention():
    mha = perturb_(tl.MultiHeadAttention(8, 2)).eval()
    x = torch.randn(2, 5, 8)
    full = mha(x, x, x, tl.causal_mask(5))
    cache = tl.KVCache()
    steps = [mha(x[:, t : t + 1], x[:, t : t + 1], x[:, t : t + 1], kv_cache=cache) for t in range(5)]
    assert len(cache) == 5
    torch.testing.assert_close(torch.cat(steps, dim=1), full, atol=1e-5, rtol=1e-4)


def test_bad_input():
    with pytest.raises(ValueError, match="n_heads=3 does not divide d_model=16"):
        tl.MultiHeadAttention(16, 3)
    mha = tl.MultiHeadAttention(16, 4)
    with pytest.raises(ValueError, match=r"query must have shape \(B, T, d_model=16\)"):
        mha(torch.randn(2, 5, 12), torch.randn(2, 5, 16), torch.randn(2, 5, 16))
    x = torch.randn(2, 5, 16)
    with pytest.raises(ValueError, match="cannot broadcast"):
        mha(x, x, x, torch.ones(2, 1, 5, 4, dtype=torch.bool))
