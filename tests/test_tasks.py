import re

import pytest
import torch

from transformer_lab import tasks
from transformer_lab.tasks import BOS_ID, EOS_ID, PAD_ID, random_symbols, reverse_task, sort_task


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def test_random_symbols_padding_and_lengths():
    x, lengths = random_symbols(50, min_len=2, max_len=6, n_symbols=5, generator=gen())
    assert x.shape == (50, 6) and lengths.min() >= 2 and lengths.max() <= 6
    for row, length in zip(x, lengths):
        assert (row[:length] >= 3).all() and (row[:length] < 8).all() and (row[length:] == PAD_ID).all()
    with pytest.raises(ValueError, match="min_len"):
        random_symbols(1, min_len=3, max_len=2, n_symbols=5, generator=gen())


def test_sort_task():
    x, y = sort_task(30, min_len=1, max_len=7, n_symbols=9, generator=gen())
    for xs, ys in zip(x, y):
        real = xs[xs != PAD_ID]
        assert ys[: len(real)].tolist() == sorted(real.tolist())
        assert (ys[len(real) :] == PAD_ID).all()


def test_reverse_task():
    src, tgt = reverse_task(30, min_len=1, max_len=5, n_symbols=4, generator=gen())
    assert tgt.shape == (30, 7)
    for s, t in zip(src, tgt):
        real = s[s != PAD_ID].tolist()
        assert t[: len(real) + 2].tolist() == [BOS_ID, *reversed(real), EOS_ID]
        assert (t[len(real) + 2 :] == PAD_ID).all()


def test_seeded():
    a = sort_task(5, min_len=2, max_len=4, n_symbols=3, generator=gen(7))
    b = sort_task(5, min_len=2, max_len=4, n_symbols=3, generator=gen(7))
    assert all(torch.equal(p, q) for p, q in zip(a, b))


def test_addition_split_tokens_and_batch():
    from transformer_lab import tasks

    tok = tasks.addition_tokenizer()
    train_ids, heldout_ids = tasks.addition_split(n_digits=2, n_heldout=100, seed=0)
    assert len(train_ids) == 9900 and len(heldout_ids) == 100
    assert not set(train_ids.tolist()) & set(heldout_ids.tolist())
    assert torch.equal(tasks.addition_split(n_digits=2, n_heldout=100, seed=0)[1], heldout_ids)
    ids = torch.tensor([7 * 100 + 45, 99 * 100 + 99, 0])
    assert tok.decode_batch(tasks.addition_tokens(ids, n_digits=2, tokenizer=tok)) == [
        "07+45=052",
        "99+99=198",
        "00+00=000",
    ]
    reversed_ = tasks.addition_tokens(ids, n_digits=2, tokenizer=tok, reverse_answer=True)
    assert tok.decode_batch(reversed_) == ["07+45=250", "99+99=891", "00+00=000"]
    assert tok.decode(tasks.addition_tokens(torch.tensor([123456]), n_digits=3, tokenizer=tok)[0]) == "123+456=0579"
    inputs, targets = tasks.addition_batch(tasks.addition_tokens(ids, n_digits=2, tokenizer=tok), n_digits=2)
    assert inputs.shape == targets.shape == (3, 8)
    assert (targets[:, :5] == -100).all()  # "07+45" predicts nothing; "=" predicts the first answer digit
    assert tok.decode(targets[0, 5:]) == "052"
    with pytest.raises(ValueError, match="n_heldout"):
        tasks.addition_split(n_digits=1, n_heldout=100, seed=0)


def test_addition_accuracy_counts_whole_answers():
    from transformer_lab import tasks

    tok = tasks.addition_tokenizer()
    tokens = tasks.addition_tokens(torch.tensor([1234, 5678]), n_digits=2, tokenizer=tok)  # 12+34=046, 56+78=134

    class Oracle:
        """Writes a fixed continuation: the right answer for the first row, one wrong digit for the second."""

        def generate(self, prompt, n):
            answers = tokens[:, 6:].clone()
            answers[1, 2] = tok.stoi["5"]
            return torch.cat([prompt, answers[:, :n]], dim=1)

    assert tasks.addition_accuracy(Oracle(), tokens, n_digits=2) == 0.5


def test_python_reference_text_is_split_by_topic():
    from transformer_lab import tasks

    train_text, valid_text = tasks.python_reference_text()
    assert len(train_text) > 100_000 and len(valid_text) > 10_000
    assert valid_text not in train_text and valid_text[:2000] not in train_text


def test_python_reference_text_is_the_frozen_copy_on_every_python():
    """Chapter 11's corpus comes from the package, not from the running Python's pydoc_data (whose text
    differs between releases): the same characters wherever it runs."""
    import hashlib

    from transformer_lab import tasks

    train_text, valid_text = tasks.python_reference_text()
    assert (len(train_text), len(valid_text)) == (428_616, 36_431)
    digest = hashlib.sha256((train_text + "\0" + valid_text).encode()).hexdigest()
    assert digest == "8262dbb8369da74b99190541174a6b0d703ae8029143eefce1e96db651053d21"


def test_train_addition_lowers_the_answer_loss():
    import transformer_lab as tl
    from transformer_lab import tasks

    tok = tasks.addition_tokenizer()
    train_ids, _ = tasks.addition_split(n_digits=1, n_heldout=10, seed=0)
    torch.manual_seed(0)
    model = tl.GPT(tl.GPTConfig(vocab_size=tok.vocab_size, block_size=5, n_layers=1, n_heads=2, d_model=32))
    hist = tasks.train_addition(
        model, train_ids, n_digits=1, tokenizer=tok, steps=60, batch_size=32, warmup=10, progress=False
    )
    assert sum(hist.losses[-10:]) < sum(hist.losses[:10]) / 2


def test_cut_sentence_examples_come_in_pairs_of_equal_length_one_complete_one_cut():
    train_text, _ = tasks.python_reference_text()
    examples = tasks.cut_sentence_examples(train_text, seed=0, n=200)
    assert len(examples["text"]) == len(examples["label"]) == 200
    assert examples["label"] == [1, 0] * 100
    sentences = [" ".join(s.rstrip(".!?").split()) for s in tasks.SENTENCE_END.split(" ".join(train_text.split()))]
    whole = set(sentences)
    for complete, cut in zip(examples["text"][0::2], examples["text"][1::2]):
        assert 6 <= len(complete.split()) == len(cut.split()) <= 30  # the same number of words
        assert complete in whole  # a whole sentence, its final full stop dropped
        assert any(s.startswith(cut + " ") for s in sentences)  # the start of a longer sentence
        assert not complete.endswith((".", "!", "?"))


def test_cut_sentence_examples_are_fixed_by_their_seed_and_n_takes_a_prefix():
    _, valid_text = tasks.python_reference_text()
    every = tasks.cut_sentence_examples(valid_text, seed=0)
    assert every == tasks.cut_sentence_examples(valid_text, seed=0)
    assert every != tasks.cut_sentence_examples(valid_text, seed=1)
    first_ten = tasks.cut_sentence_examples(valid_text, seed=0, n=10)
    assert first_ten == {"text": every["text"][:10], "label": every["label"][:10]}
    assert len(every["text"]) == 200  # the held-out topics' pairs, frozen with the corpus


@pytest.mark.parametrize(
    "kwargs, error, words",
    [
        (dict(text=b"bytes"), TypeError, "text must be a str"),
        (dict(min_words=1), ValueError, "min_words must be an int of at least 2"),
        (dict(max_words=6), ValueError, "max_words must be an int greater than min_words = 6"),
        (dict(n=0), ValueError, "n must be a positive int or None"),
        (dict(text="One two three four five six seven. " * 3), ValueError, "no two sentences of different lengths"),
    ],
    ids=["bytes", "min-words", "max-words", "n-zero", "equal-lengths"],
)
def test_cut_sentence_examples_refuse_bad_input(kwargs, error, words):
    arguments = dict(text="One two three four five six seven. One two three four five six seven eight. " * 2, seed=0)
    with pytest.raises(error, match=re.escape(words)):
        tasks.cut_sentence_examples(**(arguments | kwargs))
