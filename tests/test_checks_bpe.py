"""The chapter-2 checker of one BPE merge step: it accepts correct code however it is written, and names the
mistakes it knows. test_checks.py runs CORRECT and MISTAKES; the cases below are this checker's own."""

import pytest

import transformer_lab as tl
from transformer_lab.checks import bpe, check_bpe_merge


def merge_with_a_for_loop(ids, pair, new_id):
    """A for loop with a flag that skips the id a match used up."""
    out, skip = [], False
    for i, x in enumerate(ids):
        if skip:
            skip = False
        elif i + 1 < len(ids) and (x, ids[i + 1]) == pair:
            out.append(new_id)
            skip = True
        else:
            out.append(x)
    return out


def merge_by_popping_a_copy(ids, pair, new_id):
    """Pops ids off the front of a copy: changes a list, but not the caller's."""
    rest, out = list(ids), []
    while rest:
        if len(rest) >= 2 and (rest[0], rest[1]) == pair:
            out.append(new_id)
            del rest[:2]
        else:
            out.append(rest.pop(0))
    return out


def merge_returning_a_tuple(ids, pair, new_id):
    return tuple(tl.merge(ids, pair, new_id))


CORRECT = {
    check_bpe_merge: [tl.merge, merge_with_a_for_loop, merge_by_popping_a_copy, merge_returning_a_tuple],
}

MISTAKES = {
    check_bpe_merge: bpe.MERGE_MISTAKES,
}


def test_merge_passes(capsys):
    check_bpe_merge(tl.merge)
    assert capsys.readouterr().out == "✓ merge: correct on 6 cases\n"


@pytest.mark.parametrize("mistake", bpe.MERGE_MISTAKES, ids=range(len(bpe.MERGE_MISTAKES)))
def test_each_mistake_is_caught_on_the_first_case_and_named(mistake):
    """Case 1 already tells every known mistake from the others, so its hint is the one the learner sees."""
    with pytest.raises(AssertionError, match=r"Case 1 of 6") as info:
        check_bpe_merge(mistake.impl)
    assert mistake.hint in str(info.value)


def test_changing_the_callers_list_is_named_even_when_the_result_is_right():
    def merge_and_pop(ids, pair, new_id):
        i = 0
        while i < len(ids) - 1:
            if (ids[i], ids[i + 1]) == pair:
                ids[i : i + 2] = [new_id]
            i += 1
        return ids

    with pytest.raises(AssertionError, match=r"changed the caller's list `ids` in place"):
        check_bpe_merge(merge_and_pop)


def test_a_string_is_not_a_list_of_ids():
    with pytest.raises(AssertionError, match=r"Your merge returned a str; return a list of ints"):
        check_bpe_merge(lambda ids, pair, new_id: " ".join(map(str, tl.merge(ids, pair, new_id))))


def test_float_ids_are_named():
    with pytest.raises(AssertionError, match=r"Your merge returned a list holding 9\.0; ids are ints"):
        check_bpe_merge(lambda ids, pair, new_id: [float(i) for i in tl.merge(ids, pair, new_id)])


def test_forgetting_to_return():
    with pytest.raises(AssertionError, match=r"`merged ids` is None, not a torch.Tensor. Did you forget to `return`"):
        check_bpe_merge(lambda ids, pair, new_id: None)
