"""Chapter 5: rotary position embeddings (RoPE), the forward of tl.RotaryEmbedding."""

from __future__ import annotations

import torch

from ..positional import RotaryEmbedding
from .engine import Case, Mistake, checker, expect_class, module_run, randn, run_cases


class _WrittenRotary(RotaryEmbedding):
    """RoPE written out step by step; each buggy variant below changes one step."""

    def tables(self, x, start):
        T = x.shape[-2]
        return self.cos[start : start + T], self.sin[start : start + T]  # (T, head_dim/2) each

    def pairs(self, x):
        return x[..., 0::2], x[..., 1::2]  # (..., T, head_dim/2) each

    def rotate(self, a, b, cos, sin):
        return a * cos - b * sin, a * sin + b * cos

    def put_back(self, a, b):
        return torch.stack([a, b], dim=-1).flatten(-2)  # (..., T, head_dim), pairs interleaved

    def forward(self, x, start=0):
        cos, sin = self.tables(x, start)
        return self.put_back(*self.rotate(*self.pairs(x), cos, sin))


class _RotaryHalves(_WrittenRotary):
    """Pairs (i, i + head_dim/2): the rotate_half convention of GPT-NeoX and Hugging Face's LLaMA."""

    def pairs(self, x):
        return x.chunk(2, dim=-1)

    def put_back(self, a, b):
        return torch.cat([a, b], dim=-1)


class _RotaryNotInterleaved(_WrittenRotary):
    def put_back(self, a, b):
        return torch.cat([a, b], dim=-1)


class _RotaryBackwards(_WrittenRotary):
    def rotate(self, a, b, cos, sin):
        return a * cos + b * sin, -a * sin + b * cos


class _RotarySinCosSwapped(_WrittenRotary):
    def rotate(self, a, b, cos, sin):
        return a * sin - b * cos, a * cos + b * sin


class _RotaryIgnoresStart(_WrittenRotary):
    def tables(self, x, start):
        return super().tables(x, 0)


class _RotaryFromOne(_WrittenRotary):
    def tables(self, x, start):
        return super().tables(x, start + 1)


class _RotaryOwnAngles(_WrittenRotary):
    """Recomputes the angles instead of using self.cos and self.sin; `exponent` maps (2i, head_dim) to the power."""

    base = 10000.0

    def exponent(self, two_i, d):
        return two_i / d

    def tables(self, x, start):
        T, d = x.shape[-2], x.shape[-1]
        two_i = torch.arange(0, d, 2, dtype=torch.float32)
        theta = self.base ** -self.exponent(two_i, d)  # (head_dim/2,)
        angle = torch.arange(start, start + T, dtype=torch.float32)[:, None] * theta  # (T, head_dim/2)
        return angle.cos(), angle.sin()


class _RotaryExponentNotDoubled(_RotaryOwnAngles):
    def exponent(self, two_i, d):
        return two_i / 2 / d


class _RotaryPositionsTimesPower(_RotaryOwnAngles):
    def exponent(self, two_i, d):
        return -two_i / d


ROTARY_MISTAKES = [
    Mistake(
        "Your output matches RoPE with the dimensions paired as halves, x[..., i] with x[..., i + head_dim/2] "
        "(the rotate_half convention of GPT-NeoX and Hugging Face's LLaMA). This package pairs neighbours: "
        "(x[..., 2i], x[..., 2i+1]), that is x[..., 0::2] with x[..., 1::2], and puts each pair back in place.",
        _RotaryHalves,
    ),
    Mistake(
        "Your pairs are rotated correctly but not put back in place: you return all the rotated even "
        "dimensions first, then all the odd ones (torch.cat). Pair i goes back to dimensions 2i and 2i+1: "
        "torch.stack([even, odd], dim=-1).flatten(-2), or write into out[..., 0::2] and out[..., 1::2].",
        _RotaryNotInterleaved,
    ),
    Mistake(
        "Your output matches a rotation by MINUS p * theta_i: the signs of the sin terms are swapped. Rotating "
        "the pair (a, b) by an angle phi gives (a cos phi - b sin phi, a sin phi + b cos phi).",
        _RotaryBackwards,
    ),
    Mistake(
        "Your cos and sin are swapped. At position 0 the rotation must leave x unchanged (cos 0 = 1, sin 0 = 0): "
        "the pair (a, b) becomes (a cos phi - b sin phi, a sin phi + b cos phi).",
        _RotarySinCosSwapped,
    ),
    Mistake(
        "Your output ignores `start`: the rows of x are at positions start, start + 1, ..., so take "
        "self.cos[start : start + T] and self.sin[start : start + T]. (A decoding step with a KV cache "
        "rotates one new token at position start.)",
        _RotaryIgnoresStart,
    ),
    Mistake(
        "Your positions are off by one: the first row of x is at position start, whose angles are "
        "self.cos[start] and self.sin[start].",
        _RotaryFromOne,
    ),
    Mistake(
        "Your angles use the exponent i / head_dim; it is 2i / head_dim (theta_i = base^(-2i/head_dim)). "
        "Simplest: use the tables self.cos and self.sin that __init__ built.",
        _RotaryExponentNotDoubled,
    ),
    Mistake(
        "Your positions are MULTIPLIED by base^(2i/head_dim): theta_i = base^(-2i/head_dim), a number at most 1. "
        "Simplest: use the tables self.cos and self.sin that __init__ built.",
        _RotaryPositionsTimesPower,
    ),
    Mistake(
        "Your angles use base 10000 whatever the constructor was given. Use the tables self.cos and self.sin "
        "that __init__ built: they honour `base`.",
        _RotaryOwnAngles,
    ),
]


def _rotary_cases() -> list[Case]:
    g = torch.Generator().manual_seed(5)
    return [
        Case(
            "queries (B, H, T, head_dim), start=0", dict(x=randn(g, 2, 3, 5, 8), start=0), dict(head_dim=8, max_len=16)
        ),
        Case(
            "4 positions already cached, start=4", dict(x=randn(g, 1, 2, 3, 8), start=4), dict(head_dim=8, max_len=16)
        ),
        Case(
            "one new token (a decoding step), head_dim=6",
            dict(x=randn(g, 2, 1, 1, 6), start=9),
            dict(head_dim=6, max_len=12),
        ),
        Case(
            "a (B, T, head_dim) tensor, base=500",
            dict(x=randn(g, 2, 7, 4), start=1),
            dict(head_dim=4, max_len=10, base=500.0),
        ),
    ]


@checker
def check_rotary(cls: type[RotaryEmbedding]) -> None:
    """cls: a subclass of tl.RotaryEmbedding whose forward(x, start=0) you wrote.

    x (..., T, head_dim) -> the same shape, the pair (x[..., 2i], x[..., 2i+1]) at position p rotated by p * theta_i.
    """
    name = "RotaryEmbedding"
    expect_class(name, cls, RotaryEmbedding)
    run_cases(
        name, cls, RotaryEmbedding, _rotary_cases(), module_run(RotaryEmbedding), ROTARY_MISTAKES, fields=("rotated",)
    )
