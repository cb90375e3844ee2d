"""Chapter 5: the sinusoidal positional encoding."""

from __future__ import annotations

from collections.abc import Callable

import torch

from ..positional import sinusoidal_encoding
from .engine import Case, Mistake, call, checker, expect_function, run_cases


def _sinusoid(
    max_len,
    d_model,
    *,
    exponent=lambda two_i, d: two_i / d,
    first=torch.sin,
    second=torch.cos,
    start=0,
    interleave=True,
):
    """PE with one step changed at a time; the defaults give the right encoding."""
    position = torch.arange(start, start + max_len, dtype=torch.float32)[:, None]  # (max_len, 1)
    two_i = torch.arange(0, d_model, 2, dtype=torch.float32)  # (d_model/2,)
    angle = position / 10000 ** exponent(two_i, d_model)  # (max_len, d_model/2)
    if not interleave:
        return torch.cat([first(angle), second(angle)], dim=-1)
    return torch.stack([first(angle), second(angle)], dim=-1).flatten(-2)  # columns sin, cos, sin, cos, ...


def _sinusoid_precedence(max_len, d_model):
    """10000 ** 2i / d_model: the power is taken before the division."""
    two_i = torch.arange(0, d_model, 2, dtype=torch.float32)
    angle = torch.arange(max_len, dtype=torch.float32)[:, None] / (10000**two_i / d_model)
    return torch.stack([angle.sin(), angle.cos()], dim=-1).flatten(-2)


def _sinusoid_per_dimension(max_len, d_model):
    """Every column j gets its own exponent j / d_model, so a sin/cos pair no longer shares a frequency."""
    j = torch.arange(d_model, dtype=torch.float32)
    angle = torch.arange(max_len, dtype=torch.float32)[:, None] / 10000 ** (j / d_model)  # (max_len, d_model)
    return torch.where(j.long() % 2 == 0, angle.sin(), angle.cos())


SINUSOIDAL_MISTAKES = [
    Mistake(
        "Your sin and cos are swapped: even columns 2i hold sin, odd columns 2i+1 hold cos.",
        lambda max_len, d_model: _sinusoid(max_len, d_model, first=torch.cos, second=torch.sin),
    ),
    Mistake(
        "Your frequencies use the exponent i / d_model; it is 2i / d_model. If i counts the pairs "
        "(0, 1, 2, ...), multiply it by 2; arange(0, d_model, 2) already gives 2i.",
        lambda max_len, d_model: _sinusoid(max_len, d_model, exponent=lambda two_i, d: two_i / 2 / d),
    ),
    Mistake(
        "Your frequencies use the exponent 2 * (2i) / d_model: 2i was doubled twice. arange(0, d_model, 2) "
        "already gives 2i.",
        lambda max_len, d_model: _sinusoid(max_len, d_model, exponent=lambda two_i, d: 2 * two_i / d),
    ),
    Mistake(
        "Your positions are MULTIPLIED by 10000^(2i/d_model); divide them: angle = pos / 10000^(2i/d_model).",
        lambda max_len, d_model: _sinusoid(max_len, d_model, exponent=lambda two_i, d: -two_i / d),
    ),
    Mistake(
        "Operator precedence: 10000 ** 2i / d_model means (10000 ** 2i) / d_model. Write 10000 ** (2i / d_model).",
        _sinusoid_precedence,
    ),
    Mistake(
        "Your columns 2i and 2i+1 use different frequencies. A sin/cos pair shares one frequency: both "
        "use the exponent 2i / d_model (for column 2i+1 too, not (2i+1) / d_model).",
        _sinusoid_per_dimension,
    ),
    Mistake(
        "Your encoding puts all the sines first and then all the cosines. Interleave them: "
        "PE[:, 0::2] = sin, PE[:, 1::2] = cos.",
        lambda max_len, d_model: _sinusoid(max_len, d_model, interleave=False),
    ),
    Mistake(
        "Your positions start at 1; they start at 0: arange(max_len).",
        lambda max_len, d_model: _sinusoid(max_len, d_model, start=1),
    ),
    Mistake(
        "Your encoding has shape (d_model, max_len); it is (max_len, d_model): one row per position.",
        lambda max_len, d_model: sinusoidal_encoding(max_len, d_model).T,
    ),
    Mistake(
        "Your encoding has an extra leading dimension; return (max_len, d_model).",
        lambda max_len, d_model: sinusoidal_encoding(max_len, d_model)[None],
    ),
]


@checker
def check_sinusoidal_encoding(fn: Callable) -> None:
    """fn(max_len, d_model) -> (max_len, d_model) float32: PE[p, 2i] = sin(p / 10000^(2i/d)), PE[p, 2i+1] = cos(...)."""
    name = "sinusoidal_encoding"
    expect_function(name, fn)
    cases = [Case(inputs=dict(max_len=n, d_model=d)) for n, d in ((6, 8), (10, 4), (5, 16), (1, 2))]
    run_cases(name, fn, sinusoidal_encoding, cases, call, SINUSOIDAL_MISTAKES, fields=("encoding",))
