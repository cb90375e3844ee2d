"""Chapter 9 — A translation task generated in code: dates written many human ways -> ISO 8601.

    "Monday, 23 November 2026", "11/23/26", "23.11.2026", "2026년 11월 23일" ... -> "2026-11-23"

Dates are drawn from 1950-01-01 .. 2049-12-31. Formats with a two-digit year use a pivot:
50-99 -> 19xx, 00-49 -> 20xx, so every string has exactly one reading. Numeric formats never share
a separator between day-first and month-first orders ('/' is month-first, '.' and '-' day-first or
year-first), so no string is ambiguous either.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Sequence

import torch

from .tokenizer import CharTokenizer, pad_batch
from .training import History, label_smoothed_cross_entropy, train_warmup_cosine
from .transformer import Transformer, TransformerConfig

FIRST_DAY, LAST_DAY = dt.date(1950, 1, 1), dt.date(2049, 12, 31)
MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
KOREAN_WEEKDAYS = ["월요일", "화요일", "수요일", "목요일", "금요일", "토요일", "일요일"]


def _ordinal(day: int) -> str:
    suffix = "th" if 11 <= day % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


FORMATS: dict[str, Callable[[dt.date], str]] = {
    "weekday, day month year": lambda d: f"{WEEKDAYS[d.weekday()]}, {d.day} {MONTHS[d.month - 1]} {d.year}",
    "day month year": lambda d: f"{d.day} {MONTHS[d.month - 1]} {d.year}",
    "day mon year": lambda d: f"{d.day} {MONTHS[d.month - 1][:3]} {d.year}",
    "month day, year": lambda d: f"{MONTHS[d.month - 1]} {d.day}, {d.year}",
    "mon day, year": lambda d: f"{MONTHS[d.month - 1][:3]} {d.day}, {d.year}",
    "month ordinal, year": lambda d: f"{MONTHS[d.month - 1]} {_ordinal(d.day)}, {d.year}",
    "ordinal of month year": lambda d: f"{_ordinal(d.day)} of {MONTHS[d.month - 1]} {d.year}",
    "wkd dd mon yy (lower case)": lambda d: (
        f"{WEEKDAYS[d.weekday()][:3]} {d.day:02d} {MONTHS[d.month - 1][:3]} {d.year % 100:02d}".lower()
    ),
    "DAY MONTH YEAR (upper case)": lambda d: f"{d.day} {MONTHS[d.month - 1]} {d.year}".upper(),
    "mm/dd/yy": lambda d: f"{d.month:02d}/{d.day:02d}/{d.year % 100:02d}",
    "m/d/yyyy": lambda d: f"{d.month}/{d.day}/{d.year}",
    "dd.mm.yyyy": lambda d: f"{d.day:02d}.{d.month:02d}.{d.year}",
    "yyyy/mm/dd": lambda d: f"{d.year}/{d.month:02d}/{d.day:02d}",
    "yyyymmdd": lambda d: f"{d.year}{d.month:02d}{d.day:02d}",
    "Korean: yyyy년 m월 d일": lambda d: f"{d.year}년 {d.month}월 {d.day}일",
    "Korean with weekday": lambda d: f"{d.year}년 {d.month}월 {d.day}일 {KOREAN_WEEKDAYS[d.weekday()]}",
    "Korean short: yy. mm. dd.": lambda d: f"{d.year % 100:02d}. {d.month:02d}. {d.day:02d}.",
}


def to_iso(date: dt.date) -> str:
    return date.isoformat()  # "2026-11-23"


def split_dates(*, n_heldout: int, seed: int) -> tuple[list[dt.date], list[dt.date]]:
    """Split every date of the range into (training dates, held-out dates), n_heldout of them held out.

    The split is by date, not by string: no held-out date appears in training in any format.
    """
    days = [FIRST_DAY + dt.timedelta(days=i) for i in range((LAST_DAY - FIRST_DAY).days + 1)]
    random.Random(seed).shuffle(days)
    return days[n_heldout:], days[:n_heldout]


def make_pairs(
    dates: Sequence[dt.date], n: int, *, seed: int, formats: Sequence[str] | None = None
) -> list[tuple[str, str, str]]:
    """n (source string, ISO target, format name) triples: a random date of `dates` in a random format."""
    rng = random.Random(seed)
    names = list(formats or FORMATS)
    out = []
    for _ in range(n):
        date, name = rng.choice(dates), rng.choice(names)
        out.append((FORMATS[name](date), to_iso(date), name))
    return out


def date_tokenizers() -> tuple[CharTokenizer, CharTokenizer]:
    """Source tokenizer: every character any format can write (Hangul included). Target: digits and '-'."""
    chars = set("0123456789")
    for name in FORMATS:
        for month in range(1, 13):
            for day in (1, 2, 3, 11, 12, 13, 21, 22, 23, 28):  # covers every word, suffix and weekday
                for year in (1950, 2049):
                    chars |= set(FORMATS[name](dt.date(year, month, day)))
    return CharTokenizer(chars), CharTokenizer("0123456789-")


def encode_pairs(
    pairs: Sequence[tuple[str, str, str]], src_tok: CharTokenizer, tgt_tok: CharTokenizer
) -> tuple[torch.Tensor, torch.Tensor]:
    """Sources -> (N, T_src) ids with eos; targets -> (N, 12) ids `<bos> yyyy-mm-dd <eos>`; both padded."""
    src = pad_batch([src_tok.encode(s, add_eos=True) for s, _, _ in pairs], src_tok.pad_id)
    tgt = pad_batch([tgt_tok.encode(t, add_bos=True, add_eos=True) for _, t, _ in pairs], tgt_tok.pad_id)
    return src, tgt


# The chapter 9 recipe, reused by chapter 10 and by the time-to-quality benchmark.


def translator_config(src_tok: CharTokenizer, tgt_tok: CharTokenizer) -> TransformerConfig:
    """Chapter 9's translator: 1 encoder + 1 decoder pre-LN layer, D=64, 4 heads, d_ff=128, GELU, learned positions."""
    return TransformerConfig(
        src_vocab_size=src_tok.vocab_size,
        tgt_vocab_size=tgt_tok.vocab_size,
        d_model=64,
        n_heads=4,
        n_layers=1,
        d_ff=128,
        dropout=0.0,
        max_len=40,
        activation="gelu",
        norm_first=True,
        positional="learned",
    )


def train_translator(
    model: Transformer,
    train_src: torch.Tensor,
    train_tgt: torch.Tensor,
    *,
    steps: int,
    batch_size: int = 128,
    peak_lr: float = 5e-3,
    warmup: int = 100,
    seed: int = 0,
    **train_options,
) -> History:
    """Chapter 9's training loop: teacher forcing, label smoothing 0.1, and the recipe of
    training.train_warmup_cosine. train_options (progress, eval_fn, eval_every, ...) are passed on to `train`."""
    batches = torch.Generator().manual_seed(seed)
    pad_id = model.config.pad_id

    def get_batch(step: int) -> tuple[torch.Tensor, torch.Tensor]:
        rows = torch.randint(0, len(train_src), (batch_size,), generator=batches)
        return train_src[rows], train_tgt[rows]

    def loss_fn(model: Transformer, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        src, tgt = batch
        logits = model(src, tgt[:, :-1])  # (B, 11, V): teacher forcing
        return label_smoothed_cross_entropy(logits, tgt[:, 1:], smoothing=0.1, ignore_index=pad_id)

    return train_warmup_cosine(model, get_batch, loss_fn, steps=steps, peak_lr=peak_lr, warmup=warmup, **train_options)


def exact_match(output_ids: torch.Tensor, pairs: Sequence[tuple[str, str, str]], tgt_tok: CharTokenizer) -> float:
    """The fraction of decoded rows (B, T) that spell their pair's ISO date exactly."""
    if len(output_ids) != len(pairs):
        raise ValueError(f"{len(output_ids)} decoded rows for {len(pairs)} pairs")
    return sum(tgt_tok.decode(row) == iso for row, (_, iso, _) in zip(output_ids, pairs)) / len(pairs)
