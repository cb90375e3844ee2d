"""Chapter 5 — Positional encodings: sinusoidal, learned and rotary (RoPE).

Attention alone is permutation-equivariant: shuffle the tokens and the outputs shuffle with them.
Order enters only through what we add to (or how we rotate) the token vectors.
"""

from __future__ import annotations

import torch
from torch import nn


def sinusoidal_encoding(max_len: int, d_model: int) -> torch.Tensor:
    """(max_len, d_model) with PE[p, 2i] = sin(p / 10000^(2i/d_model)), PE[p, 2i+1] = cos(same)."""
    if d_model % 2 != 0:
        raise ValueError(f"sinusoidal_encoding needs an even d_model (sin/cos pairs), got {d_model}")
    position = torch.arange(max_len, dtype=torch.float32)[:, None]  # (max_len, 1)
    two_i = torch.arange(0, d_model, 2, dtype=torch.float32)  # (d_model/2,)
    angle = position / 10000 ** (two_i / d_model)  # (max_len, d_model/2)
    pe = torch.zeros(max_len, d_model)
    pe[:, 0::2] = torch.sin(angle)
    pe[:, 1::2] = torch.cos(angle)
    return pe


def _check_length(T: int, start: int, max_len: int) -> None:
    if start + T > max_len:
        raise ValueError(
            f"sequence too long: positions {start}..{start + T - 1} but the encoding has max_len={max_len}"
        )


class SinusoidalPositionalEncoding(nn.Module):
    """x (B, T, D) -> x + PE[start : start + T]. No parameters: the table is a buffer."""

    def __init__(self, *, max_len: int, d_model: int):
        super().__init__()
        self.max_len = max_len
        self.register_buffer("pe", sinusoidal_encoding(max_len, d_model), persistent=False)

    def forward(self, x: torch.Tensor, start: int = 0) -> torch.Tensor:
        _check_length(x.shape[1], start, self.max_len)
        return x + self.pe[start : start + x.shape[1]]  # (B, T, D)


class LearnedPositionalEmbedding(nn.Module):
    """x (B, T, D) -> x + P[start : start + T], with P a trained (max_len, D) table (GPT-2, BERT, ViT)."""

    def __init__(self, *, max_len: int, d_model: int):
        super().__init__()
        self.max_len = max_len
        self.weight = nn.Parameter(torch.randn(max_len, d_model) * 0.02)

    def forward(self, x: torch.Tensor, start: int = 0) -> torch.Tensor:
        _check_length(x.shape[1], start, self.max_len)
        return x + self.weight[start : start + x.shape[1]]  # (B, T, D)


class RotaryEmbedding(nn.Module):
    """RoPE (Su et al., 2021): rotate each pair of query/key dimensions by an angle p * theta_i.

    The dot product of a query rotated to position m and a key rotated to position n then depends
    only on m - n. Pairs are (x[..., 2i], x[..., 2i+1]) with theta_i = base^(-2i/head_dim).
    """

    def __init__(self, *, max_len: int, head_dim: int, base: float = 10000.0):
        super().__init__()
        if head_dim % 2 != 0:
            raise ValueError(f"RotaryEmbedding needs an even head_dim (dimension pairs), got {head_dim}")
        self.max_len = max_len
        theta = base ** (-torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim)  # (head_dim/2,)
        angle = torch.arange(max_len, dtype=torch.float32)[:, None] * theta  # (max_len, head_dim/2)
        self.register_buffer("cos", angle.cos(), persistent=False)
        self.register_buffer("sin", angle.sin(), persistent=False)

    def forward(self, x: torch.Tensor, start: int = 0) -> torch.Tensor:
        """x (..., T, head_dim) -> same shape, each position rotated by its own angles."""
        T = x.shape[-2]
        _check_length(T, start, self.max_len)
        cos, sin = self.cos[start : start + T], self.sin[start : start + T]  # (T, head_dim/2)
        x_even, x_odd = x[..., 0::2], x[..., 1::2]  # (..., T, head_dim/2) each
        rotated = torch.stack([x_even * cos - x_odd * sin, x_even * sin + x_odd * cos], dim=-1)
        return rotated.flatten(-2)  # (..., T, head_dim), pairs interleaved back
