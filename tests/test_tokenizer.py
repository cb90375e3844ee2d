"""Chapter 2: the character tokenizer. Bad input is in test_errors.py."""

import random

import pytest
import torch

import transformer_lab as tl


def test_special_tokens_come_first_then_the_sorted_characters():
    tok = tl.CharTokenizer.from_texts(["cab", "bad"])
    assert (tok.pad_id, tok.bos_id, tok.eos_id, tok.unk_id) == (0, 1, 2, 3)
    assert [tok.encode(c)[0] for c in "abcd"] == [4, 5, 6, 7]  # sorted, each character once
    assert tok.vocab_size == 8 == len(tok)


def test_round_trip():
    tok = tl.CharTokenizer.from_texts(["hello world", "2026년 11월"])
    alphabet = "helo wrd2061년월"
    rng = random.Random(0)
    texts = ["", "hello", "world 2026년"] + ["".join(rng.choices(alphabet, k=rng.randint(1, 20))) for _ in range(20)]
    for text in texts:
        assert tok.decode(tok.encode(text)) == text
        assert tok.decode(tok.encode(text, add_bos=True, add_eos=True)) == text  # specials are skipped


def test_unknown_characters_become_unk_and_specials_can_be_shown():
    tok = tl.CharTokenizer.from_texts(["hello"])
    ids = tok.encode("hz", add_bos=True, add_eos=True)
    assert ids == [tok.bos_id, tok.encode("h")[0], tok.unk_id, tok.eos_id]
    assert tok.decode(ids) == "h"
    assert tok.decode(ids, skip_special=False) == "<bos>h<unk><eos>"


def test_decode_accepts_a_1d_tensor():
    tok = tl.CharTokenizer("abc")
    ids = tok.encode("cab")
    assert tok.decode(torch.tensor(ids)) == "cab"


def test_encode_batch_right_pads_with_pad_id():
    tok = tl.CharTokenizer("abc")
    a, b, c = tok.encode("abc")
    batch = tok.encode_batch(["a", "abc", ""], add_bos=True, add_eos=True)
    assert batch.dtype == torch.long and batch.shape == (3, 5)
    assert batch.tolist() == [
        [tok.bos_id, a, tok.eos_id, tok.pad_id, tok.pad_id],
        [tok.bos_id, a, b, c, tok.eos_id],
        [tok.bos_id, tok.eos_id, tok.pad_id, tok.pad_id, tok.pad_id],
    ]
    assert tok.decode_batch(batch) == ["a", "abc", ""]


def test_pad_batch():
    assert tl.pad_batch([[5], [6, 7, 8]], pad_id=0).tolist() == [[5, 0, 0], [6, 7, 8]]


@pytest.mark.parametrize("chars", ["abc", ["a", "b", "c"], "cbaabc"])
def test_constructor_takes_any_iterable_of_characters(chars):
    assert tl.CharTokenizer(chars).vocab_size == 4 + 3
