"""Chapter 1: the softmax that turns scores into weights, and attention as a soft lookup."""

from __future__ import annotations

from collections.abc import Callable

import torch

from ..attention import scaled_dot_product_attention
from .engine import N_, NEG_INF, Case, Mistake, call, checker, expect_function, randn, run_cases


def _softmax(x, *, dim=-1, shift=True, keepdim=True, normalise=True):
    """Softmax with one step changed at a time; the defaults give the right, stable softmax."""
    if shift:
        x = x - (x.amax(dim, keepdim=True) if keepdim else x.amax(dim))
    e = x.exp()
    return e / e.sum(dim, keepdim=True) if normalise else e


_WRONG_AXIS = N_(
    "Your output matches a softmax over the wrong axis. Each row of scores (the LAST axis) must "
    "become weights that sum to 1: reduce over dim=-1, with keepdim=True."
)
_NO_KEEPDIM = N_(
    "Your output matches a softmax that forgot keepdim=True in the sum: exp(x) / exp(x).sum(-1) divides "
    "column j by the sum of row j. Keep the summed axis, .sum(-1, keepdim=True), so that each row is "
    "divided by its own sum."
)
_NOT_NORMALISED = N_(
    "Your output matches exp(x) (or exp(x - max)) without the normalisation, or divided by the "
    "largest exp rather than by their sum: divide by the sum of the exps of each row, "
    ".sum(-1, keepdim=True), so that the weights sum to 1."
)


def _stable_exp(x):
    return (x - x.amax(-1, keepdim=True)).exp()


SOFTMAX_MISTAKES = [
    Mistake(_NO_KEEPDIM, lambda x: x.exp() / x.exp().sum(-1)),
    Mistake(_NO_KEEPDIM, lambda x: _stable_exp(x) / _stable_exp(x).sum(-1)),
    Mistake(
        "Your output matches a softmax without the max subtraction: exp(1000) overflows float32 to inf, and "
        "inf / inf is NaN. Subtract each row's largest score first, x - x.amax(-1, keepdim=True): the "
        "softmax does not change, and the largest exponent becomes exp(0) = 1.",
        lambda x: _softmax(x, shift=False),
    ),
    Mistake(
        "Your output matches a softmax that subtracts the max of the WHOLE tensor, not of each row: a row "
        "whose scores are far below the global max underflows to 0 / 0 = NaN. Subtract each row's own "
        "max: x.amax(-1, keepdim=True).",
        lambda x: (x - x.max()).exp() / (x - x.max()).exp().sum(-1, keepdim=True),
    ),
    Mistake(
        "Your output matches a softmax that subtracts the row maxima without keepdim=True, so they broadcast "
        "along the wrong axis. Use x.amax(-1, keepdim=True) (or x.max(-1, keepdim=True).values).",
        lambda x: _softmax(x, keepdim=False),
    ),
    Mistake(_WRONG_AXIS, lambda x: _softmax(x, dim=0)),
    Mistake(_WRONG_AXIS, lambda x: _softmax(x, dim=-2)),
    Mistake(_NOT_NORMALISED, lambda x: x.exp()),
    Mistake(_NOT_NORMALISED, _stable_exp),
    Mistake(
        "Your output matches x divided by the sum of the scores. Softmax divides exp(x) by the sum of the "
        "EXPS: every weight is positive, and the weights sum to 1.",
        lambda x: x / x.sum(-1, keepdim=True),
    ),
    Mistake(
        "Your output matches x divided by the largest score. Softmax divides exp(x) by the sum of the exps.",
        lambda x: x / x.amax(-1, keepdim=True),
    ),
    Mistake(
        "Your output matches log-softmax, x - logsumexp(x): the log of the weights. Softmax returns the "
        "weights themselves, positive numbers that sum to 1 (exponentiate).",
        lambda x: x - x.logsumexp(-1, keepdim=True),
    ),
]


@checker
def check_softmax(fn: Callable) -> None:
    """fn(x) -> softmax over the last axis, like torch.softmax(x, dim=-1), and stable for large scores."""
    name = "softmax"
    expect_function(name, fn)
    g = torch.Generator().manual_seed(1)
    masked = randn(g, 2, 5, scale=2.0)
    masked[0, 3], masked[1, 0] = NEG_INF, NEG_INF  # a masked score: its weight must be exactly 0
    cases = [
        Case("4 rows of 4 scores", dict(x=randn(g, 4, 4, scale=2.0))),
        Case("a 3-d input: softmax over the last axis only", dict(x=randn(g, 2, 3, 5, scale=2.0))),
        Case("one row of 6 scores", dict(x=randn(g, 6, scale=3.0))),
        Case("large scores, around 1000", dict(x=randn(g, 3, 5, scale=2.0) + 1000.0)),
        Case("one row around +500, one around -500", dict(x=randn(g, 2, 4) + torch.tensor([[500.0], [-500.0]]))),
        Case("scores with -inf (masked)", dict(x=masked)),
    ]
    run_cases(name, fn, lambda x: torch.softmax(x, dim=-1), cases, call, SOFTMAX_MISTAKES, fields=("weights",))


def _pool(query, keys, values, *, scale=None, dim=-1, weights_of=None, pool=None):
    """Attention pooling with one step changed at a time; the defaults give the right one."""
    scores = (keys @ query[..., None])[..., 0] * (query.shape[-1] ** -0.5 if scale is None else scale)  # (B, N)
    weights = scores.softmax(dim) if weights_of is None else weights_of(scores)
    output = (weights[..., None] * (values if pool is None else pool(keys, values))).sum(-2)  # (B, D_v)
    return output, weights


def _hard(scores):
    """One-hot weights on the best-scoring key: a hard lookup."""
    return torch.nn.functional.one_hot(scores.argmax(-1), scores.shape[-1]).float()


def _uniform(scores):
    return torch.full_like(scores, 1 / scores.shape[-1])


def _pool_mean(query, keys, values):
    """The weighted values averaged over the keys, i.e. divided by N once more."""
    output, weights = _pool(query, keys, values)
    return output / keys.shape[-2], weights


def _attention_pool(query, keys, values):
    """The reference: scaled dot-product attention with one query per batch row."""
    output, weights = scaled_dot_product_attention(query[:, None, :], keys, values)  # (B, 1, D_v), (B, 1, N)
    return output[:, 0], weights[:, 0]


ATTENTION_POOL_MISTAKES = [
    Mistake(
        "Your output matches attention pooling WITHOUT the 1/sqrt(D) scaling. Divide the scores "
        "keys @ query by sqrt(D), D = query.shape[-1].",
        lambda query, keys, values: _pool(query, keys, values, scale=1.0),
    ),
    Mistake(
        "Your output matches the scores divided by D instead of sqrt(D). Divide by math.sqrt(D) (or D ** 0.5).",
        lambda query, keys, values: _pool(query, keys, values, scale=1 / query.shape[-1]),
    ),
    Mistake(
        "Your output matches the scores MULTIPLIED by sqrt(D). Divide them by sqrt(D).",
        lambda query, keys, values: _pool(query, keys, values, scale=query.shape[-1] ** 0.5),
    ),
    Mistake(
        "Your output matches a softmax over the BATCH axis (dim=0). Each query's weights over ITS keys must "
        "sum to 1: softmax over the keys, dim=-1.",
        lambda query, keys, values: _pool(query, keys, values, dim=0),
    ),
    Mistake(
        "Your weights are exp(scores) without the normalisation: use the softmax, so the weights sum to 1.",
        lambda query, keys, values: _pool(query, keys, values, weights_of=torch.exp),
    ),
    Mistake(
        "Your output matches a HARD lookup: all the weight on the best-matching key (argmax, one-hot). "
        "Attention is a soft lookup: softmax weights over all the keys, and a weighted AVERAGE of the values.",
        lambda query, keys, values: _pool(query, keys, values, weights_of=_hard),
    ),
    Mistake(
        "Your output matches the plain mean of the values: equal weights that ignore the query. The weights "
        "come from the scores: softmax(keys @ query / sqrt(D)).",
        lambda query, keys, values: _pool(query, keys, values, weights_of=_uniform),
    ),
    Mistake(
        "Your output is a weighted average of the KEYS. The keys decide the weights; the output averages "
        "the VALUES with them.",
        lambda query, keys, values: _pool(query, keys, values, pool=lambda k, v: k),
    ),
    Mistake(
        "Your output is the weighted values averaged over the keys (divided by N). The softmax weights "
        "already sum to 1: the output is their weighted SUM, (weights[..., None] * values).sum(-2).",
        _pool_mean,
    ),
    Mistake(
        "You return (weights, output); return (output, weights).",
        lambda query, keys, values: _pool(query, keys, values)[::-1],
    ),
]


@checker
def check_attention_pool(fn: Callable) -> None:
    """fn(query (B, D), keys (B, N, D), values (B, N, D_v)) -> (output (B, D_v), weights (B, N))."""
    name = "attention_pool"
    expect_function(name, fn)
    g = torch.Generator().manual_seed(4)
    cases = [
        Case(
            "batch of 2, 5 keys",
            dict(query=randn(g, 2, 4, scale=1.5), keys=randn(g, 2, 5, 4), values=randn(g, 2, 5, 3)),
        ),
        Case(
            "batch of 3, 7 keys, D=8, D_v=2",
            dict(query=randn(g, 3, 8, scale=2.0), keys=randn(g, 3, 7, 8), values=randn(g, 3, 7, 2)),
        ),
        Case("batch of 1, a single key", dict(query=randn(g, 1, 6), keys=randn(g, 1, 1, 6), values=randn(g, 1, 1, 5))),
    ]
    run_cases(name, fn, _attention_pool, cases, call, ATTENTION_POOL_MISTAKES, fields=("output", "weights"))
