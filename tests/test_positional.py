"""Chapter 5: sinusoidal, learned and rotary positional encodings. Bad input is in test_errors.py."""

import math

import pytest
import torch

import transformer_lab as tl

from conftest import assert_close_f32


def test_sinusoidal_formula():
    pe = tl.sinusoidal_encoding(50, 16)
    assert pe.shape == (50, 16)
    for p, i in [(0, 0), (1, 0), (7, 3), (49, 7)]:
        angle = p / 10000 ** (2 * i / 16)
        assert pe[p, 2 * i].item() == pytest.approx(math.sin(angle), abs=1e-6)
        assert pe[p, 2 * i + 1].item() == pytest.approx(math.cos(angle), abs=1e-6)


def test_sinusoidal_offset_is_a_rotation_of_each_pair():
    """PE[p + k] is a fixed linear map of PE[p]: a rotation by angle k * w_i of each (sin, cos) pair."""
    d, k = 8, 5
    pe = tl.sinusoidal_encoding(60, d)
    R = torch.zeros(d, d)
    for i in range(d // 2):
        w = 1 / 10000 ** (2 * i / d)
        c, s = math.cos(k * w), math.sin(k * w)
        R[2 * i : 2 * i + 2, 2 * i : 2 * i + 2] = torch.tensor([[c, -s], [s, c]])
    # atol 1e-4: float32 sin/cos of angles up to 60 rad carry ~4e-6 absolute error each, and the check
    # combines several; a wrong frequency (e.g. i instead of 2i in the exponent) is off by O(1).
    torch.testing.assert_close(pe[:-k] @ R, pe[k:], atol=1e-4, rtol=0)


def test_sinusoidal_module_adds_the_table_from_start():
    x = torch.randn(2, 4, 8)
    table = tl.sinusoidal_encoding(10, 8)
    module = tl.SinusoidalPositionalEncoding(max_len=10, d_model=8)
    assert list(module.parameters()) == []  # nothing to train
    assert_close_f32(module(x), x + table[:4])
    assert_close_f32(module(x, start=3), x + table[3:7])


def test_learned_embedding_adds_trainable_rows_from_start():
    x = torch.randn(2, 4, 8)
    learned = tl.LearnedPositionalEmbedding(max_len=10, d_model=8)
    assert learned.weight.shape == (10, 8) and learned.weight.requires_grad
    assert_close_f32(learned(x), x + learned.weight[:4])
    assert_close_f32(learned(x, start=6), x + learned.weight[6:10])
    learned(x, start=2).sum().backward()
    used = learned.weight.grad.abs().sum(-1) > 0
    assert used.tolist() == [False, False, True, True, True, True, False, False, False, False]


def rope_reference(x: torch.Tensor, positions: torch.Tensor, base: float = 10000.0) -> torch.Tensor:
    """RoPE as complex numbers: pair (x[2i], x[2i+1]) is z_i, and position p multiplies it by e^{i p theta_i}."""
    head_dim = x.shape[-1]
    theta = base ** (-torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim)
    z = torch.view_as_complex(x.double().reshape(*x.shape[:-1], head_dim // 2, 2).contiguous())
    rotated = z * torch.polar(torch.ones_like(theta), positions.double()[:, None] * theta)
    return torch.view_as_real(rotated).flatten(-2).float()


def test_rope_matches_the_complex_number_formulation():
    rope = tl.RotaryEmbedding(head_dim=8, max_len=32)
    x = torch.randn(2, 3, 6, 8)  # (B, H, T, head_dim)
    y = rope(x)
    assert y.shape == x.shape
    assert_close_f32(y, rope_reference(x, torch.arange(6)))
    assert_close_f32(rope(x, start=20), rope_reference(x, torch.arange(20, 26)))


def test_rope_dot_product_depends_only_on_the_relative_position():
    """<rope(q) at m, rope(k) at n> is a function of m - n only."""
    rope = tl.RotaryEmbedding(head_dim=8, max_len=64)
    q, k = torch.randn(8), torch.randn(8)
    rotated_q = rope(q.expand(1, 1, 64, 8))[0, 0]  # (64, 8): q placed at every position
    rotated_k = rope(k.expand(1, 1, 64, 8))[0, 0]
    scores = rotated_q @ rotated_k.T  # scores[m, n]
    # atol 1e-4 as above: angles up to 63 rad in float32, dot products of size ~8.
    for offset in (0, 3, -5, 17):
        diagonal = torch.diagonal(scores, offset=-offset)  # every (m, n) with m - n = offset
        torch.testing.assert_close(diagonal, diagonal[0].expand_as(diagonal), atol=1e-4, rtol=0)
    assert scores[0, 0].item() == pytest.approx((q @ k).item(), abs=1e-5)  # position 0 is not rotated
    assert abs(scores[10, 7].item() - scores[10, 2].item()) > 1e-3  # and the offset does matter


def test_rope_preserves_norms_and_continues_from_start():
    rope = tl.RotaryEmbedding(head_dim=4, max_len=16)
    x = torch.randn(2, 3, 6, 4)
    y = rope(x)
    assert_close_f32(y.norm(dim=-1), x.norm(dim=-1))
    assert_close_f32(rope(x[:, :, 2:], start=2), y[:, :, 2:])  # what a KV cache relies on
