"""Chapter 2 — Tokens: characters to ids and back.

A character tokenizer is the simplest tokenizer that still shows every idea a real one has:
a fixed vocabulary, special tokens, unknown characters, and padding to make a batch rectangular.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch

PAD_TOKEN, BOS_TOKEN, EOS_TOKEN, UNK_TOKEN = "<pad>", "<bos>", "<eos>", "<unk>"  # the special tokens' text
SPECIAL_TOKENS = (PAD_TOKEN, BOS_TOKEN, EOS_TOKEN, UNK_TOKEN)
PAD_ID, BOS_ID, EOS_ID, UNK_ID = 0, 1, 2, 3  # their ids, the same in every vocabulary of the course


class CharTokenizer:
    """Maps each character to an id. Ids 0-3 are the special tokens pad, bos, eos and unk."""

    def __init__(self, chars: Iterable[str]):
        chars = sorted(set(chars))
        for c in chars:
            if not isinstance(c, str) or len(c) != 1:
                raise ValueError(f"CharTokenizer takes single characters, got {c!r}")
        self.itos: list[str] = [*SPECIAL_TOKENS, *chars]
        self.stoi: dict[str, int] = {s: i for i, s in enumerate(self.itos)}
        self.pad_id, self.bos_id, self.eos_id, self.unk_id = PAD_ID, BOS_ID, EOS_ID, UNK_ID

    @classmethod
    def from_texts(cls, texts: Iterable[str]) -> CharTokenizer:
        """Build the vocabulary from every character that occurs in `texts`."""
        return cls(c for text in texts for c in text)

    @property
    def vocab_size(self) -> int:
        return len(self.itos)

    def __len__(self) -> int:
        return self.vocab_size

    def __repr__(self) -> str:
        return f"CharTokenizer(vocab_size={self.vocab_size})"

    def encode(self, text: str, add_bos: bool = False, add_eos: bool = False) -> list[int]:
        """'abc' -> [id('a'), id('b'), id('c')]; a character not in the vocabulary becomes unk."""
        if not isinstance(text, str):
            raise TypeError(f"encode takes a str, got {type(text).__name__}")
        ids = [self.stoi.get(c, self.unk_id) for c in text]
        return [self.bos_id] * add_bos + ids + [self.eos_id] * add_eos

    def decode(self, ids: Sequence[int] | torch.Tensor, skip_special: bool = True) -> str:
        """Ids back to text. With `skip_special`, pad/bos/eos/unk are left out."""
        if isinstance(ids, torch.Tensor):
            if ids.dim() != 1:
                raise ValueError(f"decode takes a 1-D sequence of ids, got shape {tuple(ids.shape)}")
            ids = ids.tolist()
        out = []
        for i in ids:
            if not 0 <= i < self.vocab_size:
                raise ValueError(f"token id {i} is outside the vocabulary [0, {self.vocab_size})")
            if skip_special and i < len(SPECIAL_TOKENS):
                continue
            out.append(self.itos[i])
        return "".join(out)

    def encode_batch(self, texts: Sequence[str], add_bos: bool = False, add_eos: bool = False) -> torch.Tensor:
        """Encode several texts and right-pad them with pad_id into one (B, T_max) tensor."""
        return pad_batch([self.encode(t, add_bos, add_eos) for t in texts], self.pad_id)

    def decode_batch(self, ids: torch.Tensor, skip_special: bool = True) -> list[str]:
        """(B, T) ids -> B strings."""
        return [self.decode(row, skip_special) for row in ids]


def pad_batch(sequences: Sequence[Sequence[int]], pad_id: int) -> torch.Tensor:
    """Right-pad lists of ids to the longest one: returns a LongTensor (B, T_max)."""
    if len(sequences) == 0:
        raise ValueError("pad_batch needs at least one sequence")
    t_max = max(len(s) for s in sequences)
    batch = torch.full((len(sequences), t_max), pad_id, dtype=torch.long)  # (B, T_max)
    for row, seq in enumerate(sequences):
        batch[row, : len(seq)] = torch.as_tensor(seq, dtype=torch.long)
    return batch


def check_token_ids(ids: torch.Tensor, vocab_size: int, name: str = "token ids") -> None:
    """Raise a clear error for ids a model cannot embed: a float dtype, or a value outside [0, vocab_size)."""
    if not isinstance(ids, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of integer ids, got {type(ids).__name__}")
    if ids.is_floating_point() or ids.is_complex() or ids.dtype == torch.bool:
        raise TypeError(f"{name} must have an integer dtype (torch.long), got {ids.dtype}")
    if torch.compiler.is_compiling():  # a value check would break the compiled graph (chapter 15)
        return
    if ids.numel() and (ids.min() < 0 or ids.max() >= vocab_size):
        bad = ids[(ids < 0) | (ids >= vocab_size)][0].item()
        raise ValueError(f"{name} contain {bad}, outside the vocabulary [0, {vocab_size})")
