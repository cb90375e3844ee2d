"""Tasks and text that need no download: sorting and reversal (chapters 7 and 8), multi-digit
addition and a character-level corpus (chapter 11), and sentences of that corpus, complete or cut (chapter 14).

Token conventions match the rest of the package: the ids PAD_ID = 0, BOS_ID = 1, EOS_ID = 2 of
tokenizer.py, and the task's symbols are the ids 3, 4, ..., 3 + n_symbols - 1. Random draws come from a
torch.Generator or a seed passed in, so a data set is fixed by its seed and no global random state is touched.
"""

from __future__ import annotations

import gzip
import json
import random
import re
from pathlib import Path

import torch
import torch.nn.functional as F

from .tokenizer import BOS_ID, EOS_ID, PAD_ID, CharTokenizer
from .training import History, model_device, train_warmup_cosine

FIRST_SYMBOL = 3  # the first id after pad, bos and eos
DATA = Path(__file__).parent / "data"


def random_symbols(
    n: int, *, min_len: int, max_len: int, n_symbols: int, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """n sequences of random symbols, lengths uniform in [min_len, max_len], right-padded.

    Returns symbols (n, max_len) with PAD_ID after each sequence's end, and lengths (n,).
    """
    if not 1 <= min_len <= max_len:
        raise ValueError(f"need 1 <= min_len <= max_len, got min_len={min_len}, max_len={max_len}")
    lengths = torch.randint(min_len, max_len + 1, (n,), generator=generator)  # (n,)
    symbols = torch.randint(FIRST_SYMBOL, FIRST_SYMBOL + n_symbols, (n, max_len), generator=generator)
    real = torch.arange(max_len) < lengths[:, None]  # (n, max_len)
    return symbols.masked_fill(~real, PAD_ID), lengths


def sort_task(
    n: int, *, min_len: int, max_len: int, n_symbols: int, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Input: a padded sequence; target at each real position i: the i-th smallest input symbol.

    Returns (inputs, targets), both (n, max_len); targets are PAD_ID where the input is PAD_ID.
    """
    x, _ = random_symbols(n, min_len=min_len, max_len=max_len, n_symbols=n_symbols, generator=generator)
    big = FIRST_SYMBOL + n_symbols  # pads sort to the end, then are put back as PAD_ID
    y = x.masked_fill(x == PAD_ID, big).sort(dim=1).values
    return x, y.masked_fill(y == big, PAD_ID)


def reverse_task(
    n: int, *, min_len: int, max_len: int, n_symbols: int, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Sequence-to-sequence reversal: source `a b c`, target `<bos> c b a <eos>`.

    Returns src (n, max_len) and tgt (n, max_len + 2), both right-padded with PAD_ID.
    """
    x, lengths = random_symbols(n, min_len=min_len, max_len=max_len, n_symbols=n_symbols, generator=generator)
    tgt = torch.full((n, max_len + 2), PAD_ID, dtype=torch.long)
    tgt[:, 0] = BOS_ID
    for row, length in enumerate(lengths.tolist()):
        tgt[row, 1 : length + 1] = x[row, :length].flip(0)
        tgt[row, length + 1] = EOS_ID
    return x, tgt


# Chapter 11: addition as next-character prediction, "07+45=052" (or, answer reversed, "07+45=250").


def addition_tokenizer() -> CharTokenizer:
    """Characters of an addition problem: the ten digits, '+' and '='."""
    return CharTokenizer("0123456789+=")


def addition_split(*, n_digits: int, n_heldout: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Split every problem a + b with n_digits-digit operands into (training ids, held-out ids).

    A problem's id is a * 10**n_digits + b, so there are 10**(2 * n_digits) of them. The split is by
    problem: no held-out sum is ever seen in training.
    """
    if not 1 <= n_digits <= 4:
        raise ValueError(f"n_digits must be in 1..4, got {n_digits}")
    total = 10 ** (2 * n_digits)
    if not 0 < n_heldout < total:
        raise ValueError(f"n_heldout must be in 1..{total - 1} for {n_digits}-digit problems, got {n_heldout}")
    order = torch.randperm(total, generator=torch.Generator().manual_seed(seed))
    return order[n_heldout:], order[:n_heldout]


def _digits(values: torch.Tensor, width: int) -> torch.Tensor:
    """(N,) non-negative ints -> (N, width) decimal digits, most significant first, zero-padded."""
    powers = 10 ** torch.arange(width - 1, -1, -1)  # (width,)
    return values[:, None] // powers % 10


def addition_tokens(
    problem_ids: torch.Tensor, *, n_digits: int, tokenizer: CharTokenizer, reverse_answer: bool = False
) -> torch.Tensor:
    """Problem ids (N,) -> token ids (N, 3 * n_digits + 3) of "a+b=c": operands zero-padded to n_digits,
    the sum to n_digits + 1 digits, written least significant digit first if reverse_answer."""
    a, b = problem_ids // 10**n_digits, problem_ids % 10**n_digits  # (N,), (N,)
    answer = _digits(a + b, n_digits + 1)  # (N, n_digits + 1)
    if reverse_answer:
        answer = answer.flip(1)
    digit_ids = torch.tensor([tokenizer.stoi[str(d)] for d in range(10)])  # digit -> token id
    plus = torch.full_like(a[:, None], tokenizer.stoi["+"])
    equals = torch.full_like(a[:, None], tokenizer.stoi["="])
    parts = [digit_ids[_digits(a, n_digits)], plus, digit_ids[_digits(b, n_digits)], equals, digit_ids[answer]]
    return torch.cat(parts, dim=1)  # (N, 3 * n_digits + 3)


def addition_batch(
    tokens: torch.Tensor, *, n_digits: int, ignore_index: int = -100
) -> tuple[torch.Tensor, torch.Tensor]:
    """Token rows (B, L) -> (inputs (B, L - 1), targets (B, L - 1)) for next-token training.

    Only the answer is learned: the targets of the prompt "a+b" are ignore_index, so the model is
    never asked to predict the random operands.
    """
    inputs, targets = tokens[:, :-1], tokens[:, 1:].clone()  # (B, L - 1) each
    targets[:, : 2 * n_digits + 1] = ignore_index  # the first target kept is the answer's first digit
    return inputs, targets


@torch.no_grad()
def addition_accuracy(model, tokens: torch.Tensor, *, n_digits: int) -> float:
    """Exact match of greedy answers: give the model each prompt "a+b=" of tokens (N, L), let it write
    n_digits + 1 characters, and count the rows whose whole answer is right."""
    prompt_len = 2 * n_digits + 2
    if isinstance(model, torch.nn.Module):
        tokens = tokens.to(model_device(model))  # the problems are made on the CPU
    written = model.generate(tokens[:, :prompt_len], n_digits + 1)  # (N, L)
    return (written[:, prompt_len:] == tokens[:, prompt_len:]).all(dim=1).float().mean().item()


def train_addition(
    model,
    train_ids: torch.Tensor,
    *,
    n_digits: int,
    tokenizer: CharTokenizer,
    reverse_answer: bool = False,
    steps: int,
    batch_size: int = 128,
    peak_lr: float = 6e-3,
    warmup: int = 100,
    seed: int = 0,
    **train_options,
) -> History:
    """Chapter 11's recipe: random training problems each step, loss on the answer only, and the optimizer
    and schedule of training.train_warmup_cosine. train_options (progress, eval_fn, eval_every, ...) are passed on
    to `train`, whose `History` it returns."""
    draws = torch.Generator().manual_seed(seed)

    def get_batch(step: int) -> tuple[torch.Tensor, torch.Tensor]:
        ids = train_ids[torch.randint(0, len(train_ids), (batch_size,), generator=draws)]  # (B,)
        tokens = addition_tokens(ids, n_digits=n_digits, tokenizer=tokenizer, reverse_answer=reverse_answer)
        return addition_batch(tokens, n_digits=n_digits)

    def loss_fn(model, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        inputs, targets = batch
        logits = model(inputs)  # (B, L - 1, V)
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=-100)

    return train_warmup_cosine(model, get_batch, loss_fn, steps=steps, peak_lr=peak_lr, warmup=warmup, **train_options)


# Chapter 11: a character-level corpus that every Python installation ships.


def python_reference_text() -> tuple[str, str]:
    """(training text, validation text): the Python language reference topics that `help()` shows
    (`pydoc_data.topics`), as CPython 3.11.7 ships them, frozen in the package (data/README.md) so that
    the corpus is the same on every Python. Every tenth topic, in alphabetical order, is held out for
    validation, so validation text is never seen in training."""
    with gzip.open(DATA / "python_reference_topics.json.gz", "rt", encoding="utf-8") as f:
        topics = json.load(f)
    names = sorted(topics)
    train = [topics[n] for i, n in enumerate(names) if i % 10 != 5]
    valid = [topics[n] for i, n in enumerate(names) if i % 10 == 5]
    return "\n".join(train), "\n".join(valid)


# Chapter 14: a downstream task made from the same text, for fine-tuning.

SENTENCE_END = re.compile(r"(?<=[.!?])\s+")  # a full stop, question or exclamation mark, then white space


def cut_sentence_examples(
    text: str, *, seed: int, n: int | None = None, min_words: int = 6, max_words: int = 30
) -> dict:
    """Sentences of `text`, complete (label 1) or cut off after some words (label 0): {"text": [...], "label": [...]}.

    The sentences of min_words to max_words words (white space read as single spaces) are shuffled by `seed` and
    taken two at a time. The shorter of the two is kept whole, the longer is cut to as many words, so the
    two examples of a pair have the same number of words and length gives nothing away; their final full
    stop, question or exclamation mark is dropped, so punctuation gives nothing away either. A pair of
    equal lengths is skipped. Labels alternate 1, 0, 1, ...; `n` keeps the first n examples (all when None).
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    if not isinstance(min_words, int) or min_words < 2:
        raise ValueError(f"min_words must be an int of at least 2, got {min_words!r}")
    if not isinstance(max_words, int) or max_words <= min_words:
        raise ValueError(f"max_words must be an int greater than min_words = {min_words}, got {max_words!r}")
    if n is not None and (not isinstance(n, int) or n < 1):
        raise ValueError(f"n must be a positive int or None (every example), got {n!r}")
    sentences = [s.rstrip(".!?").split() for s in SENTENCE_END.split(" ".join(text.split()))]
    sentences = [words for words in sentences if min_words <= len(words) <= max_words]
    random.Random(seed).shuffle(sentences)
    texts = []
    for first, second in zip(sentences[0::2], sentences[1::2]):
        if len(first) == len(second):
            continue
        shorter, longer = sorted((first, second), key=len)
        texts += [" ".join(shorter), " ".join(longer[: len(shorter)])]  # complete, then cut to the same length
    if not texts:
        raise ValueError(f"text has no two sentences of different lengths within {min_words} to {max_words} words")
    texts = texts[:n]
    return {"text": texts, "label": [1 - i % 2 for i in range(len(texts))]}
