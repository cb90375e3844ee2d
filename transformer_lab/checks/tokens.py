"""Chapter 2: padding a batch of token ids, and the embedding lookup as a one-hot product."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from ..tokenizer import pad_batch
from .engine import Case, Mistake, call, checker, expect_function, randn, run_cases


def _pad(sequences, pad_id, *, fill=None, left=False, length=max):
    """Padding with one step changed at a time; the defaults give the right, right-padded batch."""
    t = length(len(s) for s in sequences)
    fill = pad_id if fill is None else fill
    rows = [list(s)[:t] for s in sequences]
    rows = [[fill] * (t - len(r)) + r if left else r + [fill] * (t - len(r)) for r in rows]
    return torch.tensor(rows, dtype=torch.long)  # (B, T)


PAD_BATCH_MISTAKES = [
    Mistake(
        "Your batch is padded on the LEFT (the pad ids come first). Pad on the right: each row starts with its "
        "tokens and ends with pad_id, as tl.padding_mask and the models of this course expect.",
        lambda sequences, pad_id: _pad(sequences, pad_id, left=True),
    ),
    Mistake(
        "Your batch is padded with 0 rather than with pad_id. Fill with the pad_id you are given.",
        lambda sequences, pad_id: _pad(sequences, pad_id, fill=0),
    ),
    Mistake(
        "Your batch is cut to the SHORTEST sequence. Pad every sequence up to the longest one, "
        "so that no token is lost.",
        lambda sequences, pad_id: _pad(sequences, pad_id, length=min),
    ),
    Mistake(
        "Your batch has the length of the FIRST sequence. Pad to the longest: max(len(s) for s in sequences).",
        lambda sequences, pad_id: _pad(sequences, pad_id, length=lambda lengths: next(iter(lengths))),
    ),
    Mistake(
        "Your batch has shape (T, B), one column per sequence. Make it batch-first, (B, T): one ROW per sequence.",
        lambda sequences, pad_id: pad_batch(sequences, pad_id).T,
    ),
    Mistake(
        "Your batch holds floats. Token ids are integers and an embedding only takes integer ids: "
        "use dtype=torch.long.",
        lambda sequences, pad_id: pad_batch(sequences, pad_id).float(),
    ),
    Mistake(
        "Your batch holds 32-bit integers; token ids are torch.long (int64), the dtype torch uses for indices.",
        lambda sequences, pad_id: pad_batch(sequences, pad_id).int(),
    ),
]


@checker
def check_pad_batch(fn: Callable) -> None:
    """fn(sequences: list of lists of ids, pad_id) -> (B, T_max) torch.long, right-padded, like tl.pad_batch."""
    name = "pad_batch"
    expect_function(name, fn)
    cases = [
        Case(
            "three sequences, the longest second, pad_id=0", dict(sequences=[[5, 3, 7], [4, 6, 8, 9, 2], [9]], pad_id=0)
        ),
        Case("pad_id=3, and 0 is a real token", dict(sequences=[[0, 1], [0, 1, 2, 4, 5], [7, 0, 0]], pad_id=3)),
        Case("one sequence: nothing to pad", dict(sequences=[[7, 8, 9]], pad_id=0)),
        Case("sequences of equal length", dict(sequences=[[1, 2], [3, 4]], pad_id=5)),
    ]
    run_cases(name, fn, pad_batch, cases, call, PAD_BATCH_MISTAKES, fields=("batch",))


EMBEDDING_MISTAKES = [
    Mistake(
        "Your output matches the COLUMNS of the weight, one_hot @ weight.T: the table is (V, D), one ROW per "
        "token, so the lookup is one_hot(ids, V) @ weight.",
        lambda ids, weight: F.embedding(ids, weight.T),
    ),
    Mistake(
        "Your output is the one-hot vectors themselves, (B, T, V). Multiply them by the weight: "
        "one_hot @ weight gives (B, T, D).",
        lambda ids, weight: F.one_hot(ids, weight.shape[0]).float(),
    ),
    Mistake(
        "Your output has shape (B, D, T); it is (B, T, D): one D-vector per token, one_hot @ weight.",
        lambda ids, weight: F.embedding(ids, weight).transpose(-2, -1),
    ),
    Mistake(
        "Your output matches the row of id - 1 (an off-by-one: ids start at 0, and id 0 is row 0 of the table).",
        lambda ids, weight: weight[ids - 1],
    ),
    Mistake(
        "Your output matches the row of id + 1 (an off-by-one: id i is row i of the table).",
        lambda ids, weight: weight[(ids + 1) % weight.shape[0]],
    ),
    Mistake(
        "Your output is the lookup multiplied by sqrt(D): that scaling is a step of the Transformer's input "
        "layer (chapter 9), not of the lookup. Return the rows themselves.",
        lambda ids, weight: F.embedding(ids, weight) * weight.shape[1] ** 0.5,
    ),
    Mistake(
        "Your output matches the lookup summed over the positions (a bag of characters): keep one vector per "
        "position, (B, T, D).",
        lambda ids, weight: F.embedding(ids, weight).sum(1),
    ),
]


@checker
def check_embedding_lookup(fn: Callable) -> None:
    """fn(ids (B, T) long, weight (V, D)) -> (B, T, D): row ids[b, t] of weight, like nn.Embedding."""
    name = "embedding_lookup"
    expect_function(name, fn)
    g = torch.Generator().manual_seed(5)
    cases = [
        Case(
            "a square table (V = D = 6), batch of 2",
            dict(ids=torch.tensor([[0, 3, 5], [2, 2, 1]]), weight=randn(g, 6, 6)),
        ),
        Case(
            "V=10, D=4, the largest id is 7",
            dict(ids=torch.tensor([[1, 7, 0, 4], [3, 3, 6, 2], [5, 0, 0, 1]]), weight=randn(g, 10, 4)),
        ),
        Case("one token", dict(ids=torch.tensor([[9]]), weight=randn(g, 12, 3))),
    ]
    run_cases(name, fn, F.embedding, cases, call, EMBEDDING_MISTAKES, fields=("output",))
