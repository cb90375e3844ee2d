import datetime as dt
import re

import pytest
import torch

import transformer_lab as tl
from transformer_lab import dates


def parse_back(text: str, name: str) -> dt.date:
    """An independent reading of each format, through datetime.strptime where it can."""
    patterns = {
        "weekday, day month year": "%A, %d %B %Y",
        "day month year": "%d %B %Y",
        "day mon year": "%d %b %Y",
        "month day, year": "%B %d, %Y",
        "mon day, year": "%b %d, %Y",
        "wkd dd mon yy (lower case)": "%a %d %b %y",
        "DAY MONTH YEAR (upper case)": "%d %B %Y",
        "mm/dd/yy": "%m/%d/%y",
        "m/d/yyyy": "%m/%d/%Y",
        "dd.mm.yyyy": "%d.%m.%Y",
        "yyyy/mm/dd": "%Y/%m/%d",
        "yyyymmdd": "%Y%m%d",
    }
    if name in patterns:
        parsed = dt.datetime.strptime(text.title() if name.startswith(("DAY", "wkd")) else text, patterns[name]).date()
        if "yy" in name and "yyyy" not in name:  # strptime's own pivot is 69; the data set's is 50
            year = parsed.year % 100
            parsed = parsed.replace(year=1900 + year if year >= 50 else 2000 + year)
        return parsed
    numbers = [int(n) for n in re.findall(r"\d+", re.sub(r"(\d)(st|nd|rd|th)", r"\1", text))]
    if name.startswith("month ordinal"):
        month = dates.MONTHS.index(text.split()[0]) + 1
        return dt.date(numbers[1], month, numbers[0])
    if name.startswith("ordinal of"):
        month = dates.MONTHS.index(text.split()[2]) + 1
        return dt.date(numbers[1], month, numbers[0])
    if name == "Korean short: yy. mm. dd.":
        y = numbers[0]
        return dt.date(1900 + y if y >= 50 else 2000 + y, numbers[1], numbers[2])
    return dt.date(*numbers[:3])  # Korean forms: year, month, day


def test_every_format_reads_back_as_its_date():
    assert len(dates.FORMATS) >= 14
    training, heldout = dates.split_dates(n_heldout=300, seed=0)
    for date in heldout:  # 300 dates drawn uniformly from the whole range
        for name, fmt in dates.FORMATS.items():
            assert parse_back(fmt(date), name) == date, (name, fmt(date))


def test_examples():
    d = dt.date(2026, 11, 23)
    f = dates.FORMATS
    assert f["weekday, day month year"](d) == "Monday, 23 November 2026"
    assert f["mm/dd/yy"](d) == "11/23/26"
    assert f["Korean: yyyy년 m월 d일"](d) == "2026년 11월 23일"
    assert f["Korean with weekday"](d) == "2026년 11월 23일 월요일"
    assert f["month ordinal, year"](dt.date(2001, 3, 12)) == "March 12th, 2001"
    assert dates.to_iso(d) == "2026-11-23"


def test_split_is_by_date_and_seeded():
    train, held = dates.split_dates(n_heldout=2000, seed=0)
    assert len(held) == 2000 and not set(train) & set(held)
    assert len(train) + len(held) == (dates.LAST_DAY - dates.FIRST_DAY).days + 1
    assert dates.split_dates(n_heldout=2000, seed=0)[1] == held
    pairs = dates.make_pairs(held, 50, seed=1)
    assert pairs == dates.make_pairs(held, 50, seed=1)
    assert all(dt.date.fromisoformat(iso) in set(held) for _, iso, _ in pairs)


def test_tokenizers_cover_everything_and_encode():
    src_tok, tgt_tok = dates.date_tokenizers()
    pairs = dates.make_pairs(dates.split_dates(n_heldout=10, seed=0)[0], 2000, seed=3)
    for s, t, _ in pairs:
        assert src_tok.unk_id not in src_tok.encode(s) and tgt_tok.unk_id not in tgt_tok.encode(t)
    src, tgt = dates.encode_pairs(pairs[:5], src_tok, tgt_tok)
    assert tgt.shape == (5, 12) and (tgt[:, 0] == tgt_tok.bos_id).all() and (tgt[:, -1] == tgt_tok.eos_id).all()
    assert tgt_tok.decode(tgt[0]) == pairs[0][1] and src_tok.decode(src[0]) == pairs[0][0]
    assert src.dtype == torch.long


def test_exact_match_and_a_short_translator_run():
    src_tok, tgt_tok = dates.date_tokenizers()
    pairs = dates.make_pairs(dates.split_dates(n_heldout=10, seed=0)[1], 6, seed=0)
    src, tgt = dates.encode_pairs(pairs, src_tok, tgt_tok)
    assert dates.exact_match(tgt, pairs, tgt_tok) == 1.0  # the targets themselves spell the answers
    wrong = tgt.clone()
    wrong[0, 1] = tgt_tok.stoi["9" if pairs[0][1][0] != "9" else "8"]
    assert dates.exact_match(wrong, pairs, tgt_tok) == 5 / 6
    with pytest.raises(ValueError, match="rows"):
        dates.exact_match(tgt[:3], pairs, tgt_tok)

    torch.manual_seed(0)
    model = tl.Transformer(dates.translator_config(src_tok, tgt_tok))
    hist = dates.train_translator(
        model,
        src,
        tgt,
        steps=30,
        batch_size=6,
        progress=False,
        eval_fn=lambda m: dates.exact_match(m.greedy_decode(src, max_len=11), pairs, tgt_tok),
        eval_every=15,
    )
    assert hist.eval_steps == [15, 30] and len(hist.losses) == 30
    assert sum(hist.losses[-5:]) < sum(hist.losses[:5])
