"""Small sequence tasks generated in code (chapters 7 and 8).

Token conventions match the rest of the package: pad = 0, bos = 1, eos = 2, and the task's symbols
are the ids 3, 4, ..., 3 + n_symbols - 1. Every function takes a torch.Generator, so a data set is
fixed by its seed and no global random state is touched.
"""
from __future__ import annotations

import torch

PAD, BOS, EOS, FIRST_SYMBOL = 0, 1, 2, 3


def random_symbols(
    n: int, *, min_len: int, max_len: int, n_symbols: int, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """n sequences of random symbols, lengths uniform in [min_len, max_len], right-padded.

    Returns symbols (n, max_len) with PAD after each sequence's end, and lengths (n,).
    """
    if not 1 <= min_len <= max_len:
        raise ValueError(f"need 1 <= min_len <= max_len, got min_len={min_len}, max_len={max_len}")
    lengths = torch.randint(min_len, max_len + 1, (n,), generator=generator)  # (n,)
    symbols = torch.randint(FIRST_SYMBOL, FIRST_SYMBOL + n_symbols, (n, max_len), generator=generator)
    real = torch.arange(max_len) < lengths[:, None]  # (n, max_len)
    return symbols.masked_fill(~real, PAD), lengths


def sort_task(
    n: int, *, min_len: int, max_len: int, n_symbols: int, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Input: a padded sequence; target at each real position i: the i-th smallest input symbol.

    Returns (inputs, targets), both (n, max_len); targets are PAD where the input is PAD.
    """
    x, _ = random_symbols(n, min_len=min_len, max_len=max_len, n_symbols=n_symbols, generator=generator)
    big = FIRST_SYMBOL + n_symbols  # pads sort to the end, then are put back as PAD
    y = x.masked_fill(x == PAD, big).sort(dim=1).values
    return x, y.masked_fill(y == big, PAD)


def reverse_task(
    n: int, *, min_len: int, max_len: int, n_symbols: int, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Sequence-to-sequence reversal: source `a b c`, target `<bos> c b a <eos>`.

    Returns src (n, max_len) and tgt (n, max_len + 2), both right-padded with PAD.
    """
    x, lengths = random_symbols(n, min_len=min_len, max_len=max_len, n_symbols=n_symbols, generator=generator)
    tgt = torch.full((n, max_len + 2), PAD, dtype=torch.long)
    tgt[:, 0] = BOS
    for row, length in enumerate(lengths.tolist()):
        tgt[row, 1 : length + 1] = x[row, :length].flip(0)
        tgt[row, length + 1] = EOS
    return x, tgt
