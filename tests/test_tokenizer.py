import pytest
import torch

import transformer_lab as tl


def test_special_tokens_come_first_then_sorted_characters():
    tok = tl.CharTokenizer.from_texts(["cab", "bad"])
    assert (tok.pad_id, tok.bos_id, tok.eos_id, tok.unk_id) == (0, 1, 2, 3)
    assert tok.itos[4:] == ["a", "b", "c", "d"]
    assert tok.vocab_size == 8


def test_round_trip_and_unknown_characters():
    tok = tl.CharTokenizer.from_texts(["hello world", "2026년 11월"])
    for text in ["hello", "world 2026년", ""]:
        assert tok.decode(tok.encode(text)) == text
    ids = tok.encode("hz", add_bos=True, add_eos=True)
    assert ids[0] == tok.bos_id and ids[-1] == tok.eos_id and ids[2] == tok.unk_id
    assert tok.decode(ids) == "h"  # special tokens (unk too) are skipped
    assert tok.decode(ids, skip_special=False) == "<bos>h<unk><eos>"


def test_encode_batch_pads_right():
    tok = tl.CharTokenizer("abc")
    batch = tok.encode_batch(["a", "abc"], add_eos=True)
    assert batch.dtype == torch.long and batch.shape == (2, 4)
    assert batch[0].tolist() == [tok.stoi["a"], tok.eos_id, tok.pad_id, tok.pad_id]
    assert tok.decode_batch(batch) == ["a", "abc"]


def test_bad_input():
    tok = tl.CharTokenizer("ab")
    with pytest.raises(TypeError, match="takes a str"):
        tok.encode(["a"])
    with pytest.raises(ValueError, match="outside the vocabulary"):
        tok.decode([99])
    with pytest.raises(ValueError, match="single characters"):
        tl.CharTokenizer(["ab"])
