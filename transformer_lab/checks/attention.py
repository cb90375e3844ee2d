"""Chapter 3: scaled dot-product attention and the causal and padding masks."""

from __future__ import annotations

from collections.abc import Callable

import torch

from ..attention import causal_mask, padding_mask, scaled_dot_product_attention
from .engine import N_, NEG_INF, Case, Mistake, call, checker, expect_function, lengths_mask, randn, run_cases


def attend(q, k, v, mask=None, *, scale=None, dim=-1, fill=NEG_INF, invert=False, after_softmax=False):
    """Attention with one step changed at a time; scale=None is the right 1/sqrt(d_k)."""
    scores = q @ k.transpose(-2, -1) * (q.shape[-1] ** -0.5 if scale is None else scale)  # (..., T_q, T_k)
    if mask is not None and invert:
        mask = ~mask
    if mask is not None and not after_softmax:
        scores = scores.masked_fill(~mask, fill)
    weights = scores.softmax(dim=dim)
    if mask is not None and after_softmax:
        weights = weights.masked_fill(~mask, 0.0)
    return weights @ v, weights


_WRONG_SOFTMAX_AXIS = N_(
    "Your output matches attention with the softmax over the wrong axis (the queries or the "
    "heads). Each query's weights over the keys must sum to 1: softmax(scores, dim=-1)."
)

ATTENTION_MISTAKES = [
    Mistake(
        "Your output matches attention WITHOUT the 1/sqrt(d_k) scaling. "
        "Did you forget to divide the scores by sqrt(d_k)?",
        lambda q, k, v, mask=None: attend(q, k, v, mask, scale=1.0),
    ),
    Mistake(
        "Your output matches attention with the scores divided by d_k instead of sqrt(d_k). "
        "Divide by math.sqrt(d_k) (or d_k ** 0.5).",
        lambda q, k, v, mask=None: attend(q, k, v, mask, scale=1 / q.shape[-1]),
    ),
    Mistake(
        "Your output matches attention with the scores MULTIPLIED by sqrt(d_k). Divide them by sqrt(d_k).",
        lambda q, k, v, mask=None: attend(q, k, v, mask, scale=q.shape[-1] ** 0.5),
    ),
    Mistake(
        "Your output matches attention scaled by sqrt(d_v), the width of v. "
        "d_k is the width of the queries and keys: q.shape[-1].",
        lambda q, k, v, mask=None: attend(q, k, v, mask, scale=v.shape[-1] ** -0.5),
    ),
    Mistake(_WRONG_SOFTMAX_AXIS, lambda q, k, v, mask=None: attend(q, k, v, mask, dim=-2)),
    Mistake(_WRONG_SOFTMAX_AXIS, lambda q, k, v, mask=None: attend(q, k, v, mask, dim=1)),
    Mistake(
        "Your output matches attention with the mask inverted: you block the keys where the mask is True. "
        "Here True means 'may attend', so fill the scores where the mask is False (~mask).",
        lambda q, k, v, mask=None: attend(q, k, v, mask, invert=True),
    ),
    Mistake(
        "Your output matches attention with the mask applied AFTER the softmax: the weights that are left "
        "no longer sum to 1. Fill the masked scores with -inf before the softmax.",
        lambda q, k, v, mask=None: attend(q, k, v, mask, after_softmax=True),
    ),
    Mistake(
        "Your output matches attention with the masked scores filled with 0 instead of -inf. "
        "exp(0) = 1, so masked keys still get weight: fill with float('-inf').",
        lambda q, k, v, mask=None: attend(q, k, v, mask, fill=0.0),
    ),
    Mistake(
        "Your output matches attention with the mask IGNORED. Fill the scores where the mask is False "
        "with -inf before the softmax.",
        lambda q, k, v, mask=None: attend(q, k, v),
    ),
    Mistake(
        "You return (weights, output); return (output, weights).",
        lambda q, k, v, mask=None: attend(q, k, v, mask)[::-1],
    ),
]


def _attention_cases() -> list[Case]:
    g = torch.Generator().manual_seed(0)
    causal_and_padding = causal_mask(5) & lengths_mask([5, 3], 5)  # (2, 1, 5, 5)
    return [
        Case("batch of 1, no mask", dict(q=randn(g, 1, 3, 5), k=randn(g, 1, 4, 5), v=randn(g, 1, 4, 6), mask=None)),
        Case(
            "batch of 2 with 2 heads, padding mask",
            dict(q=randn(g, 2, 2, 4, 3), k=randn(g, 2, 2, 6, 3), v=randn(g, 2, 2, 6, 5), mask=lengths_mask([4, 3], 6)),
        ),
        Case(
            "self-attention, causal mask",
            dict(q=randn(g, 2, 5, 4), k=randn(g, 2, 5, 4), v=randn(g, 2, 5, 3), mask=causal_mask(5)),
        ),
        Case(
            "cross-attention (T_q=3, T_k=7), padding mask",
            dict(q=randn(g, 2, 3, 4), k=randn(g, 2, 7, 4), v=randn(g, 2, 7, 2), mask=lengths_mask([7, 5], 7)[:, 0]),
        ),  # mask (2, 1, 7)
        Case(
            "2 heads, causal and padding mask",
            dict(q=randn(g, 2, 2, 5, 4), k=randn(g, 2, 2, 5, 4), v=randn(g, 2, 2, 5, 4), mask=causal_and_padding),
        ),
        Case(
            "one query (a decoding step), 1 head, no mask",
            dict(q=randn(g, 1, 1, 1, 6), k=randn(g, 1, 1, 5, 6), v=randn(g, 1, 1, 5, 6), mask=None),
        ),
    ]


@checker
def check_scaled_dot_product_attention(fn: Callable) -> None:
    """fn(q, k, v, mask=None) -> (output, weights), like tl.scaled_dot_product_attention."""
    name = "scaled_dot_product_attention"
    expect_function(name, fn)
    run_cases(
        name,
        fn,
        scaled_dot_product_attention,
        _attention_cases(),
        call,
        ATTENTION_MISTAKES,
        fields=("output", "weights"),
    )


CAUSAL_MASK_MISTAKES = [
    Mistake(
        "Your mask leaves out the diagonal: a position may attend to itself. Use tril() (diagonal=0), not tril(-1).",
        lambda T: torch.ones(T, T, dtype=torch.bool).tril(diagonal=-1),
    ),
    Mistake(
        "Your mask is inverted: it is True on the future (above the diagonal), the convention of nn.Transformer's "
        "masks. Here True means 'may attend': True on and below the diagonal, ones(T, T).tril().",
        lambda T: torch.ones(T, T, dtype=torch.bool).triu(diagonal=1),
    ),
    Mistake(
        "Your mask is the upper triangle: it lets each position see the future and not the past. "
        "Use the lower triangle, ones(T, T).tril().",
        lambda T: torch.ones(T, T, dtype=torch.bool).triu(),
    ),
    Mistake(
        "Your mask is an additive float mask (0 and -inf). This course's masks are boolean: True = may attend.",
        lambda T: torch.zeros(T, T).masked_fill(~causal_mask(T), NEG_INF),
    ),
    Mistake(
        "Your mask holds the numbers 0 and 1; make it boolean: dtype=torch.bool.",
        lambda T: torch.ones(T, T, dtype=torch.long).tril(),
    ),
    Mistake(
        "Your mask holds the numbers 0. and 1.; make it boolean: dtype=torch.bool.", lambda T: torch.ones(T, T).tril()
    ),
]


@checker
def check_causal_mask(fn: Callable) -> None:
    """fn(T) -> (T, T) bool, True where query t may attend to key s (s <= t)."""
    name = "causal_mask"
    expect_function(name, fn)
    cases = [Case(inputs=dict(T=T)) for T in (5, 1, 3, 8)]
    run_cases(name, fn, causal_mask, cases, call, CAUSAL_MASK_MISTAKES, fields=("mask",))


PADDING_MASK_MISTAKES = [
    Mistake(
        "Your mask is inverted: it is True at the padding. Here True means 'may attend': tokens != pad_id.",
        lambda tokens, pad_id: (tokens == pad_id)[:, None, None, :],
    ),
    Mistake(
        "Your mask compares with 0 rather than with pad_id. Use tokens != pad_id.",
        lambda tokens, pad_id: (tokens != 0)[:, None, None, :],
    ),
    Mistake(
        "Your mask has shape (B, T); give it shape (B, 1, 1, T), mask[:, None, None, :], "
        "so it broadcasts over the heads and the queries.",
        lambda tokens, pad_id: tokens != pad_id,
    ),
    Mistake(
        "Your mask has shape (B, 1, T); give it shape (B, 1, 1, T), mask[:, None, None, :], "
        "so it broadcasts over the heads and the queries.",
        lambda tokens, pad_id: (tokens != pad_id)[:, None, :],
    ),
    Mistake(
        "Your mask has shape (B, 1, T, 1): it masks queries, not keys. Padding is hidden as a KEY, "
        "so the mask is (B, 1, 1, T): mask[:, None, None, :].",
        lambda tokens, pad_id: (tokens != pad_id)[:, None, :, None],
    ),
    Mistake(
        "Your mask holds numbers, not booleans; keep the result of tokens != pad_id as it is (dtype torch.bool).",
        lambda tokens, pad_id: (tokens != pad_id)[:, None, None, :].long(),
    ),
    Mistake(
        "Your mask holds numbers, not booleans; keep the result of tokens != pad_id as it is (dtype torch.bool).",
        lambda tokens, pad_id: (tokens != pad_id)[:, None, None, :].float(),
    ),
]


@checker
def check_padding_mask(fn: Callable) -> None:
    """fn(tokens (B, T), pad_id) -> (B, 1, 1, T) bool, True at real tokens."""
    name = "padding_mask"
    expect_function(name, fn)
    cases = [
        Case("padding at the end, pad_id=0", dict(tokens=torch.tensor([[5, 3, 7, 0, 0], [4, 4, 2, 9, 1]]), pad_id=0)),
        Case("batch of 1, pad_id=3, token 0 is a real token", dict(tokens=torch.tensor([[0, 5, 3, 3]]), pad_id=3)),
        Case(
            "padding on the left, pad_id=1",
            dict(tokens=torch.tensor([[1, 1, 4, 5, 6, 7], [1, 2, 3, 4, 5, 6], [2, 3, 4, 5, 6, 0]]), pad_id=1),
        ),
    ]
    run_cases(name, fn, padding_mask, cases, call, PADDING_MASK_MISTAKES, fields=("mask",))
