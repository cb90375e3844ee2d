"""The chapter-1 checkers (softmax, attention pooling): they accept correct code however it is written, and name
the mistakes they know."""

import math

import pytest
import torch
import torch.nn.functional as F

from transformer_lab.checks import check_attention_pool, check_softmax, softmax


def softmax_logsumexp(x):
    return (x - x.logsumexp(dim=-1, keepdim=True)).exp()


def softmax_loop(x):
    """Row by row, with Python's max; -inf scores give exp(-inf) = 0."""
    rows = x.reshape(-1, x.shape[-1])
    out = torch.empty_like(rows)
    for i, row in enumerate(rows):
        m = max(row.tolist())
        e = torch.exp(row - m)
        out[i] = e / e.sum()
    return out.reshape(x.shape)


def attention_pool_einsum(query, keys, values):
    scores = torch.einsum("bd,bnd->bn", query, keys) / math.sqrt(query.shape[-1])  # (B, N)
    weights = F.softmax(scores, dim=-1)
    return torch.einsum("bn,bnv->bv", weights, values), weights


def attention_pool_bmm(query, keys, values):
    scores = torch.bmm(keys, query.unsqueeze(-1)).squeeze(-1) * query.shape[-1] ** -0.5  # (B, N)
    weights = softmax_loop(scores)
    return torch.bmm(weights.unsqueeze(1), values).squeeze(1), weights


CORRECT = {
    check_softmax: [lambda x: torch.softmax(x, dim=-1), softmax_logsumexp, softmax_loop],
    check_attention_pool: [softmax._attention_pool, attention_pool_einsum, attention_pool_bmm],
}

MISTAKES = {
    check_softmax: softmax.SOFTMAX_MISTAKES,
    check_attention_pool: softmax.ATTENTION_POOL_MISTAKES,
}


def test_the_naive_softmax_is_caught_on_large_scores():
    with pytest.raises(AssertionError, match=r"Case 4 of 6: large scores, around 1000.*\n.*overflows"):
        check_softmax(lambda x: x.exp() / x.exp().sum(-1, keepdim=True))
