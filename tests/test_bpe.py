"""Chapter 2: byte-pair encoding, from scratch and against Hugging Face `tokenizers`. Bad input is in
test_errors.py."""

import inspect
from functools import cache

import pytest
import torch
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st
from tokenizers import pre_tokenizers

import transformer_lab as tl
from transformer_lab import bpe
from transformer_lab.tasks import python_reference_text

# Any str that UTF-8 can write: every character but the surrogates (category Cs), which alone have no bytes.
TEXT = st.text(alphabet=st.characters(exclude_categories=("Cs",)))
SMALL_TEXT = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=60)
# For parity with `tokenizers`: the characters Python's Unicode database assigns (14.0 on 3.11, 15.1 on 3.13).
# `regex` knows Unicode 17, tokenizers' regex engine (Oniguruma) 16.0, so a letter new in 17 (U+323B0, CJK
# Extension J) is a letter to one and an unassigned code point to the other, and they split around it differently.
ASSIGNED_TEXT = st.text(alphabet=st.characters(exclude_categories=("Cs", "Cn")))
KOREAN = "안녕하세요, 트랜스포머"
SOME_EXAMPLES = settings(max_examples=100, deadline=None, database=None)  # a few seconds; no example database


@cache
def corpus() -> str:
    """The first 100,000 characters of the course corpus (chapter 11's Python reference)."""
    return python_reference_text()[0][:100_000]


@cache
def corpus_bpe(vocab_size: int) -> tl.BPETokenizer:
    return tl.train_bpe(corpus(), vocab_size)


@cache
def corpus_hf_bpe(vocab_size: int):
    return bpe.train_hf_bpe(corpus(), vocab_size)


def byte_id(char: str) -> int:
    return bpe.FIRST_BYTE_ID + ord(char)


# --- pre-tokenisation --------------------------------------------------------------------------------------


def test_pre_tokenize_splits_words_with_their_leading_space():
    assert tl.pre_tokenize("Hello world's  end!\n\n 42x") == [
        b"Hello",
        b" world",
        b"'s",
        b" ",  # the last space of a run goes with the next word
        b" end",
        b"!",
        b"\n\n",
        b" 42",
        b"x",
    ]
    assert tl.pre_tokenize(KOREAN) == ["안녕하세요".encode(), b",", " 트랜스포머".encode()]


@SOME_EXAMPLES
@given(ASSIGNED_TEXT)
@example(KOREAN)
@example("a  b\t\n\n  c'll ' 's 12.5e3 ¡hola!")
def test_pre_tokenize_equals_tokenizers_byte_level(text):
    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    theirs = [bpe.from_byte_level(piece) for piece, _ in byte_level.pre_tokenize_str(text)]
    assert tl.pre_tokenize(text) == theirs


def test_byte_level_characters_are_gpt2s():
    assert bpe.to_byte_level(b" the\n") == "ĠtheĊ"
    assert set(bpe.BYTE_TO_CHAR.values()) == set(pre_tokenizers.ByteLevel.alphabet())
    every_byte = bytes(range(256))
    assert bpe.from_byte_level(bpe.to_byte_level(every_byte)) == every_byte


# --- counting and merging ----------------------------------------------------------------------------------


def test_pair_counts_weights_each_word_by_its_count():
    assert tl.pair_counts({(1, 2, 3): 2, (2, 3): 5}) == {(1, 2): 2, (2, 3): 7}
    assert tl.pair_counts({(7, 7, 7): 3}) == {(7, 7): 6}  # overlapping pairs all count


def test_merge_scans_left_to_right_without_overlap():
    assert tl.merge([5, 5, 5], (5, 5), 9) == [9, 5]
    assert tl.merge([5, 5, 5, 5], (5, 5), 9) == [9, 9]
    assert tl.merge([1, 2, 3, 1, 2], (1, 2), 9) == [9, 3, 9]
    assert tl.merge([2, 1], (1, 2), 9) == [2, 1]  # a pair is ordered


@SOME_EXAMPLES
@given(st.lists(st.integers(4, 7), max_size=30), st.tuples(st.integers(4, 7), st.integers(4, 7)))
def test_merge_properties(ids, pair):
    before = list(ids)
    merged = tl.merge(ids, pair, 99)
    assert ids == before and merged is not ids  # the input is left alone
    assert pair not in zip(merged, merged[1:])  # no occurrence is left
    unmerged = [i for x in merged for i in (pair if x == 99 else (x,))]
    assert unmerged == ids  # and only the pair was replaced


def test_most_frequent_pair_breaks_ties_by_the_smallest_pair():
    assert tl.most_frequent_pair({(5, 6): 3, (4, 9): 3, (4, 8): 1}) == (4, 9)
    assert tl.most_frequent_pair({(5, 6): 3, (4, 9): 2}) == (5, 6)


# --- training ----------------------------------------------------------------------------------------------


def test_vocabulary_is_specials_then_bytes_then_merges():
    tok = tl.train_bpe("the cat sat on the mat; the end", 270)
    assert tok.vocab[:4] == [b"<pad>", b"<bos>", b"<eos>", b"<unk>"]
    assert tok.vocab[byte_id("a")] == b"a" and tok.vocab[4:260] == [bytes([b]) for b in range(256)]
    assert [tok.vocab[260 + k] for k in range(10)] == [tok.vocab[a] + tok.vocab[b] for a, b in tok.merges]
    assert tok.merges[0] == (byte_id("a"), byte_id("t"))  # 'at' three times, 'he' three times: (a, t) is smaller
    assert (tok.pad_id, tok.bos_id, tok.eos_id, tok.unk_id) == (0, 1, 2, 3)
    assert tok.vocab_size == len(tok) == 270 and repr(tok) == "BPETokenizer(vocab_size=270, merges=10)"


@SOME_EXAMPLES
@given(SMALL_TEXT, st.integers(260, 330))
def test_training_twice_gives_the_same_merges_and_never_more_than_vocab_size(text, vocab_size):
    tok = tl.train_bpe(text, vocab_size)
    assert tok.merges == tl.train_bpe(text, vocab_size).merges
    assert len(tok) <= vocab_size
    if len(tok) < vocab_size:  # only when no pair is left: every word of the text is one token
        assert all(len(tok.encode_piece(piece)) == 1 for piece in tl.pre_tokenize(text))


@SOME_EXAMPLES
@given(SMALL_TEXT)
@example(KOREAN)
def test_with_enough_merges_every_training_word_becomes_one_id(text):
    tok = tl.train_bpe(text, 260 + len(text.encode("utf-8")))  # a merge shortens some word by one id at least
    words = tl.pre_tokenize(text)
    assert all(len(tok.encode_piece(word)) == 1 for word in words)
    assert len(tok.encode(text)) == len(words)


def test_a_frequent_word_becomes_one_token():
    tok = tl.train_bpe("low lower lowest newest widest " * 5, 300)
    assert tok.tokens(tok.encode(" lowest")) == [b" lowest"]
    assert tok.tokens(tok.encode(" newer")) == [b" new", b"er"]  # a new word, from learned pieces


@pytest.mark.parametrize("vocab_size", [512, 1000])
def test_the_corpus_fills_the_vocabulary(vocab_size):
    tok = corpus_bpe(vocab_size)
    assert len(tok) == vocab_size
    assert tl.train_bpe(corpus(), vocab_size).merges == tok.merges


# --- encoding and decoding ---------------------------------------------------------------------------------


@SOME_EXAMPLES
@given(TEXT)
@example(KOREAN)
@example("")
def test_decode_encode_round_trips_any_text(text):
    for tok in (corpus_bpe(512), tl.BPETokenizer([])):
        assert tok.decode(tok.encode(text)) == text
        assert tok.decode(tok.encode(text, add_bos=True, add_eos=True)) == text  # specials are skipped


def test_encode_applies_the_earliest_learned_merge_first():
    a, b, c = byte_id("a"), byte_id("b"), byte_id("c")
    tok = tl.BPETokenizer([(b, c), (a, b)])  # 'bc' learned before 'ab'
    assert tok.tokens(tok.encode("abc")) == [b"a", b"bc"]  # not 'ab' + 'c', though 'ab' comes first in the text
    assert tok.encode("ab abc") == [261, byte_id(" "), a, 260]


def test_specials_can_be_shown_and_broken_characters_are_replaced():
    tok = corpus_bpe(512)
    ids = tok.encode("hi", add_bos=True, add_eos=True)
    assert tok.decode(ids, skip_special=False) == "<bos>hi<eos>"
    first_byte_of_an = tok.encode("안")[:1]  # one of its three UTF-8 bytes
    assert tok.decode(first_byte_of_an) == "\ufffd"


def test_decode_accepts_a_1d_tensor_and_batches_are_right_padded():
    tok = corpus_bpe(512)
    assert tok.decode(torch.tensor(tok.encode("def f(x):"))) == "def f(x):"
    batch = tok.encode_batch(["return x", "", KOREAN], add_bos=True)
    assert batch.dtype == torch.long and batch.shape == (3, 1 + len(tok.encode(KOREAN)))
    assert batch[1, 1:].eq(tok.pad_id).all()
    assert tok.decode_batch(batch) == ["return x", "", KOREAN]


def test_has_the_character_tokenizers_signatures():
    for method in ("encode", "decode", "encode_batch", "decode_batch"):
        ours, chars = (inspect.signature(getattr(cls, method)) for cls in (tl.BPETokenizer, tl.CharTokenizer))
        assert ours == chars, method


# --- against Hugging Face `tokenizers` ---------------------------------------------------------------------


@SOME_EXAMPLES
@given(ASSIGNED_TEXT)
@example(KOREAN)
def test_our_merges_loaded_into_tokenizers_encode_the_same(text):
    assume(not any(special in text for special in tl.tokenizer.SPECIAL_TOKENS))  # tokenizers reads these
    tok = corpus_bpe(512)
    ids = tok.encode(text)
    theirs = hf_of_corpus_bpe().encode(text)
    assert [bpe.from_byte_level(t) for t in theirs.tokens] == tok.tokens(ids)
    assert theirs.ids == ids


@cache
def hf_of_corpus_bpe():
    return bpe.to_hf_tokenizer(corpus_bpe(512))


@pytest.mark.parametrize("vocab_size", [512, 1000])
def test_merges_differ_from_tokenizers_only_where_counts_tie(vocab_size):
    ours, theirs = corpus_bpe(vocab_size).merge_bytes(), bpe.hf_merges(corpus_hf_bpe(vocab_size))
    report = bpe.compare_merges(corpus(), ours, theirs)
    assert report["ours_always_most_frequent"] and report["theirs_always_most_frequent"]
    if report["first_difference"] is not None:
        step, _, our_count, _, their_count = report["first_difference"]
        assert step == report["agree"] and our_count == their_count  # a tie, broken two ways
    assert report["new_tokens"] == (vocab_size - 260, vocab_size - 260)


@pytest.mark.parametrize("vocab_size", [512, 1000])
def test_with_tokenizers_tie_break_the_merges_are_the_same(vocab_size):
    ours = tl.train_bpe(corpus(), vocab_size, choose_pair=bpe.hf_most_frequent_pair)
    assert ours.merge_bytes() == bpe.hf_merges(corpus_hf_bpe(vocab_size))


def test_tokenizers_numbers_bytes_by_their_byte_level_character():
    vocab = corpus_hf_bpe(512).get_vocab()
    assert all(vocab[bpe.BYTE_TO_CHAR[b]] == bpe.HF_ID[bpe.FIRST_BYTE_ID + b] for b in range(256))
    assert all(vocab[special] == i for i, special in enumerate(tl.tokenizer.SPECIAL_TOKENS))


def test_token_text_shows_spaces_newlines_and_partial_characters():
    assert tl.token_text(b" the") == "␣the"
    assert tl.token_text(b"\n") == "↵"
    assert tl.token_text("트".encode()) == "트"
    assert tl.token_text("트".encode()[:2]) == "<ED 8A>"  # two of the syllable's three bytes
