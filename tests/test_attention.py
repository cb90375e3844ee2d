"""Chapter 3: scaled dot-product attention and masks, against torch's F.scaled_dot_product_attention.

Shapes are deliberately all different (B=2, H=3, T_q=5, T_k=7, d_k=4, d_v=6) so that a transposed
or mixed-up dimension cannot pass by accident. Bad input is in test_errors.py.
"""

import math

import pytest
import torch
import torch.nn.functional as F

import transformer_lab as tl

from conftest import assert_close_f32

B, H, T_Q, T_K, D_K, D_V = 2, 3, 5, 7, 4, 6


def qkv(T_q=T_Q, T_k=T_K):
    return torch.randn(B, H, T_q, D_K), torch.randn(B, H, T_k, D_K), torch.randn(B, H, T_k, D_V)


def make_mask(kind: str, T_q: int = T_Q, T_k: int = T_K) -> torch.Tensor | None:
    """Masks of every shape the course uses; each query keeps at least one key."""
    if kind == "none":
        return None
    if kind == "causal_square":
        return tl.causal_mask(T_q)
    if kind == "causal_offset":  # T_q new queries after T_k - T_q cached keys (the KV-cache mask)
        return tl.causal_mask(T_k)[T_k - T_q :]
    if kind == "padding":  # (B, 1, 1, T_k): batch item 0 has 2 padded keys
        keep = torch.ones(B, T_k, dtype=torch.bool)
        keep[0, -2:] = False
        return keep[:, None, None, :]
    if kind == "random_per_head":  # (B, H, T_q, T_k)
        mask = torch.rand(B, H, T_q, T_k) > 0.5
        mask[..., 0] = True
        return mask
    raise ValueError(kind)


MASK_CASES = [  # (kind, T_q, T_k)
    ("none", T_Q, T_K),
    ("causal_square", 6, 6),
    ("causal_offset", T_Q, T_K),
    ("padding", T_Q, T_K),
    ("random_per_head", T_Q, T_K),
]


def test_causal_mask():
    m = tl.causal_mask(4)
    assert m.dtype == torch.bool
    assert m.tolist() == [[1, 0, 0, 0], [1, 1, 0, 0], [1, 1, 1, 0], [1, 1, 1, 1]]


def test_padding_mask_is_true_at_real_tokens():
    tokens = torch.tensor([[5, 6, 0], [7, 0, 0]])
    m = tl.padding_mask(tokens, pad_id=0)
    assert m.dtype == torch.bool and m.shape == (2, 1, 1, 3)
    assert m[:, 0, 0].tolist() == [[True, True, False], [True, False, False]]


@pytest.mark.parametrize("kind,T_q,T_k", MASK_CASES)
def test_matches_torch_sdpa(kind, T_q, T_k):
    q, k, v = qkv(T_q, T_k)
    mask = make_mask(kind, T_q, T_k)
    out, weights = tl.scaled_dot_product_attention(q, k, v, mask)
    assert out.shape == (B, H, T_q, D_V) and weights.shape == (B, H, T_q, T_k)
    assert_close_f32(out, F.scaled_dot_product_attention(q, k, v, attn_mask=mask))


@pytest.mark.parametrize("kind,T_q,T_k", MASK_CASES)
def test_fast_attention_gives_the_same_numbers(kind, T_q, T_k):
    q, k, v = qkv(T_q, T_k)
    mask = make_mask(kind, T_q, T_k)
    out, _ = tl.scaled_dot_product_attention(q, k, v, mask)
    assert_close_f32(tl.fast_attention(q, k, v, mask), out)


def test_the_causal_hint_gives_the_same_numbers_and_gradients():
    """is_causal=True lets the kernel apply causal_mask(T) itself; outputs and gradients are the teaching path's."""
    q, k, v = (t.requires_grad_() for t in qkv(T_K, T_K))
    mask = tl.causal_mask(T_K)
    out, _ = tl.scaled_dot_product_attention(q, k, v, mask)
    upstream = torch.randn_like(out)
    expected = torch.autograd.grad(out, (q, k, v), upstream)
    for hinted in (tl.fast_attention(q, k, v, mask, is_causal=True), tl.fast_attention(q, k, v, is_causal=True)):
        assert_close_f32(hinted, out)
        for got, want in zip(torch.autograd.grad(hinted, (q, k, v), upstream), expected):
            assert_close_f32(got, want)


def test_under_the_compiler_only_the_hint_reaches_the_kernel_as_is_causal(monkeypatch):
    """torch.compile cannot compare the mask with causal_mask(T), so without the hint the kernel gets the
    mask as a tensor to add; with it, is_causal=True and no mask. Run as if compiling, the kernel's calls recorded."""
    calls, sdpa = [], F.scaled_dot_product_attention

    def kernel(q, k, v, attn_mask=None, dropout_p=0.0, is_causal=False):
        calls.append((attn_mask is None, is_causal))
        return sdpa(q, k, v, attn_mask=attn_mask, dropout_p=dropout_p, is_causal=is_causal)

    q, k, v = qkv(T_K, T_K)
    mask = tl.causal_mask(T_K)
    monkeypatch.setattr(tl.attention.F, "scaled_dot_product_attention", kernel)
    monkeypatch.setattr(torch.compiler, "is_compiling", lambda: True)
    plain, hinted = tl.fast_attention(q, k, v, mask), tl.fast_attention(q, k, v, mask, is_causal=True)
    assert calls == [(False, False), (True, True)]
    assert_close_f32(hinted, plain)


def test_weights_are_the_scaled_softmax_written_out():
    q, k, v = qkv()
    out, weights = tl.scaled_dot_product_attention(q, k, v)
    expected = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(D_K), dim=-1)  # scaled by sqrt(d_k), not d_k
    assert_close_f32(weights, expected)
    assert_close_f32(out, expected @ v)


def test_leading_dimensions_are_optional():
    """No batch or head dimension: (T, d) inputs work and give the same rows as in a batch."""
    q, k, v = qkv()
    out, _ = tl.scaled_dot_product_attention(q, k, v)
    out_single, _ = tl.scaled_dot_product_attention(q[1, 2], k[1, 2], v[1, 2])
    assert_close_f32(out_single, out[1, 2])


@pytest.mark.parametrize("kind,T_q,T_k", MASK_CASES)
def test_rows_sum_to_one_and_masked_weights_are_exactly_zero(kind, T_q, T_k):
    q, k, v = qkv(T_q, T_k)
    mask = make_mask(kind, T_q, T_k)
    _, weights = tl.scaled_dot_product_attention(q, k, v, mask)
    assert_close_f32(weights.sum(-1), torch.ones(B, H, T_q))
    assert (weights >= 0).all()
    if mask is not None:
        masked = ~mask.expand_as(weights)
        assert masked.any()
        assert (weights[masked] == 0.0).all()  # exactly zero, not merely small


def test_masked_keys_do_not_influence_the_output():
    q, k, v = qkv()
    mask = make_mask("padding")
    out, _ = tl.scaled_dot_product_attention(q, k, v, mask)
    k2, v2 = k.clone(), v.clone()
    k2[0, :, -2:] = 1e3 * torch.randn(H, 2, D_K)  # huge values at the padded keys of batch item 0
    v2[0, :, -2:] = 1e3 * torch.randn(H, 2, D_V)
    out2, _ = tl.scaled_dot_product_attention(q, k2, v2, mask)
    assert torch.equal(out, out2)


def test_fully_masked_query_rows_give_zeros_not_nan():
    q, k, v = qkv()
    mask = torch.ones(B, 1, T_Q, T_K, dtype=torch.bool)
    mask[0, :, 2, :] = False  # query 2 of batch item 0 may attend to nothing
    out, weights = tl.scaled_dot_product_attention(q, k, v, mask)
    fast = tl.fast_attention(q, k, v, mask)
    for name, t in {"output": out, "weights": weights, "fast output": fast}.items():
        assert not t.isnan().any(), name
        assert (t[0, :, 2] == 0.0).all(), name
    # The other rows are untouched by the fix.
    expected = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    rows = torch.ones(B, T_Q, dtype=torch.bool)
    rows[0, 2] = False
    assert_close_f32(out.transpose(1, 2)[rows], expected.transpose(1, 2)[rows])
    assert_close_f32(fast.transpose(1, 2)[rows], expected.transpose(1, 2)[rows])


def test_permuting_the_tokens_permutes_the_output():
    """Self-attention without positions is permutation-equivariant: order must come from elsewhere."""
    x = torch.randn(B, 6, 8)
    perm = torch.randperm(6)
    out, w = tl.scaled_dot_product_attention(x, x, x)
    out_p, w_p = tl.scaled_dot_product_attention(x[:, perm], x[:, perm], x[:, perm])
    assert_close_f32(out_p, out[:, perm])
    assert_close_f32(w_p, w[:, perm][:, :, perm])


def test_permuting_keys_and_values_together_changes_nothing():
    q, k, v = qkv()
    perm = torch.randperm(T_K)
    out, _ = tl.scaled_dot_product_attention(q, k, v)
    out_p, _ = tl.scaled_dot_product_attention(q, k[:, :, perm], v[:, :, perm])
    assert_close_f32(out_p, out)


def test_dropout_is_applied_to_the_weights_only_when_asked():
    q, k, v = qkv()
    _, w = tl.scaled_dot_product_attention(q, k, v)
    _, w_drop = tl.scaled_dot_product_attention(q, k, v, dropout_p=0.5)
    dropped = w_drop == 0
    assert dropped.any() and (~dropped).any()
    assert_close_f32(w_drop[~dropped], 2 * w[~dropped])  # kept weights are rescaled by 1 / (1 - p)
