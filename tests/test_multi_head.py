"""Chapter 4: multi-head attention against torch.nn.MultiheadAttention, with copied, perturbed weights.

torch's masks mean the opposite of ours: key_padding_mask and boolean attn_mask are True where a key
may NOT be attended to, so the tests pass `~keep` to torch and `keep` to our code.
"""

import copy

import pytest
import torch
from torch import nn

import transformer_lab as tl

from conftest import assert_close_f32, perturb_

D, H = 16, 4


def reference(bias: bool = True) -> nn.MultiheadAttention:
    return perturb_(nn.MultiheadAttention(D, H, batch_first=True, bias=bias)).eval()


def key_padding(B=3, T=7) -> torch.Tensor:
    """(B, T) True at real keys: item 0 has 3 padded keys, item 2 has 1, item 1 none."""
    keep = torch.ones(B, T, dtype=torch.bool)
    keep[0, T - 3 :] = False
    keep[2, T - 1 :] = False
    return keep


def test_from_torch_copies_the_projections():
    ref = reference()
    ours = tl.from_torch(ref)
    assert ours.n_heads == H
    w_q, w_k, w_v = ref.in_proj_weight.chunk(3)
    for proj, w in ((ours.q_proj, w_q), (ours.k_proj, w_k), (ours.v_proj, w_v)):
        assert isinstance(proj, nn.Linear) and torch.equal(proj.weight, w)
    assert torch.equal(ours.out_proj.weight, ref.out_proj.weight)


@pytest.mark.parametrize("bias", [True, False])
def test_cross_attention_with_key_padding_matches_torch(bias):
    ref = reference(bias)
    ours = tl.from_torch(ref).eval()
    query, memory = torch.randn(3, 5, D), torch.randn(3, 7, D)  # T_q != T_k
    keep = key_padding()
    expected, expected_w = ref(query, memory, memory, key_padding_mask=~keep, average_attn_weights=False)
    out = ours(query, memory, memory, mask=keep[:, None, None, :])
    assert out.shape == (3, 5, D)
    assert_close_f32(out, expected)
    assert ours.attn_weights.shape == (3, H, 5, 7)
    assert_close_f32(ours.attn_weights, expected_w)


def test_causal_self_attention_with_padding_matches_torch():
    ref = reference()
    ours = tl.from_torch(ref).eval()
    x = torch.randn(3, 7, D)
    keep = key_padding()
    mask = tl.causal_mask(7) & keep[:, None, None, :]  # (B, 1, T, T)
    expected, _ = ref(x, x, x, attn_mask=~tl.causal_mask(7), key_padding_mask=~keep)
    assert_close_f32(ours(x, x, x, mask=mask), expected)


def test_attention_weights_sum_to_one_and_are_zero_at_padding():
    ours = perturb_(tl.MultiHeadAttention(d_model=D, n_heads=H)).eval()
    query, memory = torch.randn(3, 5, D), torch.randn(3, 7, D)
    keep = key_padding()
    ours(query, memory, memory, mask=keep[:, None, None, :])
    w = ours.attn_weights
    assert_close_f32(w.sum(-1), torch.ones(3, H, 5))
    assert (w[0, :, :, 4:] == 0.0).all() and (w[2, :, :, 6:] == 0.0).all()


def test_split_and_merge_heads_are_inverse():
    mha = tl.MultiHeadAttention(d_model=12, n_heads=3)
    x = torch.randn(2, 5, 12)
    heads = mha.split_heads(x)
    assert heads.shape == (2, 3, 5, 4)
    assert torch.equal(heads[:, 1], x[..., 4:8])  # head h holds dimensions h*d_k .. (h+1)*d_k
    assert torch.equal(mha.merge_heads(heads), x)


def test_fast_path_gives_the_same_numbers():
    mha = perturb_(tl.MultiHeadAttention(d_model=D, n_heads=H)).eval()
    x = torch.randn(2, 6, D)
    mask = tl.causal_mask(6)
    slow = mha(x, x, x, mask)
    mha.fast_path = True
    assert_close_f32(mha(x, x, x, mask), slow)
    assert mha.attn_weights is None


def test_permutation_equivariance_without_positions():
    mha = perturb_(tl.MultiHeadAttention(d_model=D, n_heads=H)).eval()
    x = torch.randn(2, 6, D)
    perm = torch.randperm(6)
    assert_close_f32(mha(x[:, perm], x[:, perm], x[:, perm]), mha(x, x, x)[:, perm])


def test_kv_cache_step_by_step_equals_full_causal_attention():
    mha = perturb_(tl.MultiHeadAttention(d_model=D, n_heads=H)).eval()
    x = torch.randn(2, 5, D)
    full = mha(x, x, x, tl.causal_mask(5))
    cache = tl.KVCache()
    steps = []
    for t in range(5):
        new = x[:, t : t + 1]
        steps.append(mha(new, new, new, kv_cache=cache))  # one new query sees every cached key
    assert len(cache) == 5
    assert_close_f32(torch.cat(steps, dim=1), full)


@pytest.mark.parametrize("bias", [True, False])
def test_fast_path_with_a_cache_gives_the_teaching_paths_outputs_and_caches_keys_and_values_only(bias):
    slow = perturb_(tl.MultiHeadAttention(d_model=D, n_heads=H, bias=bias)).eval()
    fast = tl.set_fast_path(copy.deepcopy(slow))
    x = torch.randn(2, 5, D)
    full = slow(x, x, x, tl.causal_mask(5))
    cache = tl.KVCache()
    prompt = x[:, :2]
    steps = [fast(prompt, prompt, prompt, tl.causal_mask(2), kv_cache=cache)]  # a prompt, then one token at a time
    for t in range(2, 5):
        new = x[:, t : t + 1]
        steps.append(fast(new, new, new, kv_cache=cache))
    assert_close_f32(torch.cat(steps, dim=1), full)
    assert {n for n in vars(cache) if isinstance(getattr(cache, n), torch.Tensor)} == {"_k", "_v"}
    with torch.no_grad():
        fast.q_proj.weight.mul_(2)  # new weights are used at once: nothing derived from the old ones was kept
    assert_close_f32(fast(x, x, x, tl.causal_mask(5), kv_cache=tl.KVCache()), fast(x, x, x, tl.causal_mask(5)))


def test_kv_cache_holds_what_was_appended_and_grows_its_buffer_by_doubling():
    cache = tl.KVCache()
    k_all, v_all = torch.randn(2, H, 40, D // H), torch.randn(2, H, 40, D // H)
    buffers = set()
    for start, end in [(0, 3), *((t, t + 1) for t in range(3, 37)), (37, 40)]:  # a prompt, then tokens
        k, v = cache.append(k_all[:, :, start:end], v_all[:, :, start:end])
        assert len(cache) == end and k.shape == (2, H, end, D // H)
        assert torch.equal(k, k_all[:, :, :end]) and torch.equal(v, v_all[:, :, :end])
        buffers.add(cache.k.data_ptr())
    assert len(buffers) == 5  # capacities 3, 6, 12, 24, 48: an append mostly writes into room already there


def test_fully_masked_query_gives_the_output_bias_not_nan():
    mha = perturb_(tl.MultiHeadAttention(d_model=D, n_heads=H)).eval()
    x = torch.randn(1, 4, D)
    mask = torch.ones(1, 1, 4, 4, dtype=torch.bool)
    mask[..., 1, :] = False
    out = mha(x, x, x, mask)
    assert not out.isnan().any()
    # No key: the attention output is 0, so only the output projection's bias remains.
    assert_close_f32(out[0, 1], mha.out_proj.bias.detach())


def test_fast_path_fuses_self_attention_projections_with_the_same_gradients():
    slow = perturb_(tl.MultiHeadAttention(d_model=D, n_heads=H)).train()
    fast = copy.deepcopy(slow)
    fast.fast_path = True
    x = torch.randn(2, 6, D, requires_grad=True)
    mask = tl.causal_mask(6)
    grad_out = torch.randn(2, 6, D)
    (slow(x, x, x, mask) * grad_out).sum().backward()
    x_grad_slow, x.grad = x.grad, None
    (fast(x, x, x, mask) * grad_out).sum().backward()
    assert_close_f32(x.grad, x_grad_slow)
    for p_slow, p_fast in zip(slow.parameters(), fast.parameters()):
        assert_close_f32(p_fast.grad, p_slow.grad)
    y = torch.randn(2, 4, D)  # cross-attention (query is not key) takes the unfused path on the fast path too
    assert_close_f32(fast(x, y, y), slow(x, y, y))
