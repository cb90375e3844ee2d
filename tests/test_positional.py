import math

import pytest
import torch

import transformer_lab as tl


def test_sinusoidal_formula():
    pe = tl.sinusoidal_encoding(50, 16)
    assert pe.shape == (50, 16)
    for p, i in [(0, 0), (7, 3), (49, 7)]:
        angle = p / 10000 ** (2 * i / 16)
        assert pe[p, 2 * i].item() == pytest.approx(math.sin(angle), abs=1e-6)
        assert pe[p, 2 * i + 1].item() == pytest.approx(math.cos(angle), abs=1e-6)


def test_sinusoidal_relative_offset_is_a_rotation():
    """PE[p + k] is a fixed linear function (a rotation per sin/cos pair) of PE[p]."""
    d, k = 8, 5
    pe = tl.sinusoidal_encoding(60, d)
    R = torch.zeros(d, d)
    for i in range(d // 2):
        w = 1 / 10000 ** (2 * i / d)
        c, s = math.cos(k * w), math.sin(k * w)
        R[2 * i : 2 * i + 2, 2 * i : 2 * i + 2] = torch.tensor([[c, -s], [s, c]])
    torch.testing.assert_close(pe[:-k] @ R, pe[k:], atol=1e-4, rtol=0)


def test_modules_add_positions():
    x = torch.zeros(2, 4, 8)
    torch.testing.assert_close(tl.SinusoidalPositionalEncoding(8, 10)(x, start=3), tl.sinusoidal_encoding(10, 8)[3:7].expand(2, 4, 8))
    learned = tl.LearnedPositionalEmbedding(10, 8)
    torch.testing.assert_close(learned(x), learned.weight[:4].expand(2, 4, 8))


def test_rope_relative_property():
    """<rope(q, m), rope(k, n)> depends only on m - n."""
    rope = tl.RotaryEmbedding(head_dim=8, max_len=64)
    q, k = torch.randn(8), torch.randn(8)

    def score(m, n):
        qm = rope(q.expand(1, 1, m + 1, 8))[0, 0, m]
        kn = rope(k.expand(1, 1, n + 1, 8))[0, 0, n]
        return (qm @ kn).item()

    assert score(10, 7) == pytest.approx(score(40, 37), abs=1e-4)
    assert score(5, 5) == pytest.approx(score(0, 0), abs=1e-4)
    assert score(0, 0) == pytest.approx((q @ k).item(), abs=1e-5)  # position 0 is not rotated
    assert score(10, 7) != pytest.approx(score(10, 2), abs=1e-3)


def test_rope_preserves_norm_and_start_offset():
    rope = tl.RotaryEmbedding(head_dim=4, max_len=16)
    x = torch.randn(2, 3, 6, 4)
    y = rope(x)
    torch.testing.assert_close(y.norm(dim=-1), x.norm(dim=-1))
    torch.testing.assert_close(rope(x[:, :, 2:], start=2), y[:, :, 2:])


def test_bad_input():
    with pytest.raises(ValueError, match="even d_model"):
        tl.sinusoidal_encoding(10, 7)
    with pytest.raises(ValueError, match="max_len=10"):
        tl.LearnedPositionalEmbedding(10, 8)(torch.zeros(1, 11, 8))
    with pytest.raises(ValueError, match="max_len=10"):
        tl.SinusoidalPositionalEncoding(8, 10)(torch.zeros(1, 8, 8), start=5)
    with pytest.raises(ValueError, match="even head_dim"):
        tl.RotaryEmbedding(5, 10)
