import pytest
import torch

from transformer_lab.tasks import BOS, EOS, PAD, random_symbols, reverse_task, sort_task


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def test_random_symbols_padding_and_lengths():
    x, lengths = random_symbols(50, min_len=2, max_len=6, n_symbols=5, generator=gen())
    assert x.shape == (50, 6) and lengths.min() >= 2 and lengths.max() <= 6
    for row, length in zip(x, lengths):
        assert (row[:length] >= 3).all() and (row[:length] < 8).all() and (row[length:] == PAD).all()
    with pytest.raises(ValueError, match="min_len"):
        random_symbols(1, min_len=3, max_len=2, n_symbols=5, generator=gen())


def test_sort_task():
    x, y = sort_task(30, min_len=1, max_len=7, n_symbols=9, generator=gen())
    for xs, ys in zip(x, y):
        real = xs[xs != PAD]
        assert ys[: len(real)].tolist() == sorted(real.tolist())
        assert (ys[len(real) :] == PAD).all()


def test_reverse_task():
    src, tgt = reverse_task(30, min_len=1, max_len=5, n_symbols=4, generator=gen())
    assert tgt.shape == (30, 7)
    for s, t in zip(src, tgt):
        real = s[s != PAD].tolist()
        assert t[: len(real) + 2].tolist() == [BOS, *reversed(real), EOS]
        assert (t[len(real) + 2 :] == PAD).all()


def test_seeded():
    a = sort_task(5, min_len=2, max_len=4, n_symbols=3, generator=gen(7))
    b = sort_task(5, min_len=2, max_len=4, n_symbols=3, generator=gen(7))
    assert all(torch.equal(p, q) for p, q in zip(a, b))
