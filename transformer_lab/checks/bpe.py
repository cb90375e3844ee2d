"""Chapter 2: one merge step of byte-pair encoding."""

from __future__ import annotations

from collections.abc import Callable

import torch

from ..bpe import merge
from .engine import Case, Explained, Mistake, checker, expect_function, kind, run_cases, tr


def _merge(ids, pair, new_id, *, step=2, first_only=False, keep_last=True, reversed_too=False):
    """A merge with one step changed at a time; the defaults give the right one."""
    matches = {pair, pair[::-1]} if reversed_too else {pair}
    out, i, merged = [], 0, False
    while i < len(ids) - (0 if keep_last else 1):
        if i + 1 < len(ids) and (ids[i], ids[i + 1]) in matches and not (first_only and merged):
            out.append(new_id)
            i, merged = i + step, True
        else:
            out.append(ids[i])
            i += 1
    return out


def _merge_in_place(ids, pair, new_id):
    ids[:] = merge(ids, pair, new_id)
    return ids


MERGE_MISTAKES = [
    Mistake(
        "Your merge moves on by ONE id after a match, so the second id of the pair is kept, or starts another "
        "match: [5, 5, 5] with (5, 5) gives [X, X, 5]. A match uses up both ids: move on by two.",
        lambda ids, pair, new_id: _merge(ids, pair, new_id, step=1),
    ),
    Mistake(
        "Your merge drops the last id when it is not part of a match (a loop over range(len(ids) - 1) that "
        "never appends ids[-1]). Every id that is not merged must be kept.",
        lambda ids, pair, new_id: _merge(ids, pair, new_id, keep_last=False),
    ),
    Mistake(
        "Your merge replaces only the FIRST occurrence of the pair. Replace every occurrence, scanning left to right.",
        lambda ids, pair, new_id: _merge(ids, pair, new_id, first_only=True),
    ),
    Mistake(
        "Your merge also replaces the REVERSED pair, (b, a) for (a, b). A pair is ordered: only ids[i] == a "
        "followed by ids[i + 1] == b is a match.",
        lambda ids, pair, new_id: _merge(ids, pair, new_id, reversed_too=True),
    ),
    Mistake(
        "Your merge returns the ids unchanged: nothing was replaced. Build a new list in which each occurrence "
        "of the pair becomes new_id, and return it.",
        lambda ids, pair, new_id: list(ids),
    ),
    Mistake(
        "Your merge changed the caller's list `ids` in place (its result is right, but the list passed in is "
        "now the merged one too). Training still needs a word's old ids after merging it, to update the pair "
        "counts: build and return a NEW list, leaving `ids` as it was.",
        _merge_in_place,
    ),
]


def _merge_run(fn: Callable, case: Case) -> tuple[torch.Tensor, torch.Tensor]:
    """Call fn on a copy of the case's list of ids; returns (its result, the caller's list after the call)."""
    ids = list(case.inputs["ids"])
    out = fn(ids, case.inputs["pair"], case.inputs["new_id"])
    if isinstance(out, (list, tuple)):
        not_int = [i for i in out if not isinstance(i, int)]
        if not_int:
            raise Explained(
                tr("Your merge returned a {type} holding {item}; ids are ints.").format(
                    type=type(out).__name__, item=repr(not_int[0])
                )
            )
        out = torch.tensor(out, dtype=torch.long)
    elif out is not None and not isinstance(out, torch.Tensor):
        raise Explained(tr("Your merge returned {what}; return a list of ints, the merged ids.").format(what=kind(out)))
    return out, torch.tensor(ids, dtype=torch.long)


@checker
def check_bpe_merge(fn: Callable) -> None:
    """fn(ids: list of ints, pair: (a, b), new_id) -> a new list, every (a, b) replaced by new_id, like tl.merge."""
    name = "merge"
    expect_function(name, fn)
    cases = [
        Case("the pair twice, its reverse between", dict(ids=[1, 2, 3, 2, 1, 2, 2], pair=(1, 2), new_id=9)),
        Case("a pair that overlaps itself", dict(ids=[5, 5, 5, 5, 5], pair=(5, 5), new_id=7)),
        Case("the pair at the very end", dict(ids=[3, 4, 1, 2], pair=(1, 2), new_id=9)),
        Case("no occurrence of the pair", dict(ids=[4, 6, 5, 7], pair=(4, 5), new_id=8)),
        Case("only the reversed pair occurs", dict(ids=[2, 1, 3, 2, 1], pair=(1, 2), new_id=9)),
        Case("the pair and its reverse, side by side", dict(ids=[6, 4, 4, 6, 6, 4, 7], pair=(4, 6), new_id=10)),
    ]
    run_cases(name, fn, merge, cases, _merge_run, MERGE_MISTAKES, fields=("merged ids", "ids after the call"))
