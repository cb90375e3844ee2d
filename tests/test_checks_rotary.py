"""The chapter-5 RoPE checker: it accepts correct code however it is written, and names the mistakes it knows."""

import pytest
import torch

import transformer_lab as tl
from transformer_lab.checks import check_rotary, rotary


class RotaryComplex(tl.RotaryEmbedding):
    """Meta's LLaMA form: each pair (2i, 2i+1) as one complex number, multiplied by e^(i p theta_i)."""

    def forward(self, x, start=0):
        T = x.shape[-2]
        turn = torch.complex(self.cos[start : start + T], self.sin[start : start + T])  # (T, head_dim/2)
        pairs = torch.view_as_complex(x.reshape(*x.shape[:-1], -1, 2).contiguous())  # (..., T, head_dim/2)
        return torch.view_as_real(pairs * turn).flatten(-2)


class RotaryOutSlices(tl.RotaryEmbedding):
    """Writes the rotated pairs into a new tensor through strided slices."""

    def forward(self, x, start=0):
        positions = slice(start, start + x.shape[-2])
        cos, sin = self.cos[positions], self.sin[positions]
        out = torch.empty_like(x)
        out[..., 0::2] = x[..., 0::2] * cos - x[..., 1::2] * sin
        out[..., 1::2] = x[..., 0::2] * sin + x[..., 1::2] * cos
        return out


class RotaryMatrices(tl.RotaryEmbedding):
    """One block-diagonal rotation matrix per position, built from the angles, applied as a matmul."""

    def forward(self, x, start=0):
        T, d = x.shape[-2], x.shape[-1]
        angle = torch.atan2(self.sin[start : start + T], self.cos[start : start + T])  # (T, d/2)
        R = torch.zeros(T, d, d)
        for i in range(d // 2):
            c, s = angle[:, i].cos(), angle[:, i].sin()
            R[:, 2 * i, 2 * i], R[:, 2 * i, 2 * i + 1] = c, s  # row vectors: x @ R rotates by +angle
            R[:, 2 * i + 1, 2 * i], R[:, 2 * i + 1, 2 * i + 1] = -s, c
        return (x.unsqueeze(-2) @ R).squeeze(-2)


CORRECT = {check_rotary: [tl.RotaryEmbedding, RotaryComplex, RotaryOutSlices, RotaryMatrices]}

MISTAKES = {check_rotary: rotary.ROTARY_MISTAKES}


def test_it_wants_a_subclass_of_rotary_embedding():
    with pytest.raises(AssertionError, match=r"a subclass of tl\.RotaryEmbedding"):
        check_rotary(tl.RotaryEmbedding(head_dim=8, max_len=16))


def test_the_rotation_of_a_pair_is_checked_in_place():
    """Rotating only the first pair and leaving the others alone is caught, with the case that shows it."""

    class FirstPairOnly(tl.RotaryEmbedding):
        def forward(self, x, start=0):
            rotated = super().forward(x, start)
            return torch.cat([rotated[..., :2], x[..., 2:]], dim=-1)

    with pytest.raises(AssertionError, match=r"Case 1 of 4: queries \(B, H, T, head_dim\), start=0"):
        check_rotary(FirstPairOnly)
