"""Chapter 2 — Byte-pair encoding: the tokenizer of GPT-2, learned from text.

A character tokenizer needs one id per character and meets characters it has never seen. Byte-level BPE
starts from the 256 bytes of UTF-8, so every text has a spelling, then learns merges: the most frequent
pair of adjacent tokens becomes one new token, again and again, until the vocabulary is full. Frequent
words end up as one token, rare ones as a few pieces, and nothing is ever unknown.

The order is the course's: split the text into words (pre-tokenisation), count adjacent pairs, merge one
pair, train (repeat), then the tokenizer that replays the merges on new text, and last the bridge to
Hugging Face `tokenizers`, which trains the same way.

Ids: 0-3 are the special tokens of tokenizer.py, 4-259 the bytes 0-255 in order (byte b is id b + 4),
and merge k makes the id 260 + k. A word is a tuple or list of ids; a pair is (left id, right id).
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence

import regex
import torch

from .tokenizer import BOS_ID, EOS_ID, PAD_ID, SPECIAL_TOKENS, UNK_ID, pad_batch

FIRST_BYTE_ID = len(SPECIAL_TOKENS)  # byte b has id b + 4
FIRST_MERGE_ID = FIRST_BYTE_ID + 256  # merge k makes id 260 + k: the smallest vocabulary has 260 ids

# --- 1. Pre-tokenisation: words that merges never cross ------------------------------------------------------

# GPT-2's pattern: an English contraction, a run of letters, of digits or of other symbols (each may take
# ONE leading space with it, so " the" is a word), or a run of whitespace. `\s+(?!\S)` keeps the last
# space of a run for the word that follows. \p{L} (any letter) needs the `regex` module, not `re`.
GPT2_SPLIT = regex.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")


def utf8(text: str) -> bytes:
    """text.encode("utf-8"), with a clear error for a lone surrogate (the one str that has no UTF-8 bytes)."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as err:
        raise ValueError(
            f"text holds {text[err.start]!r} at index {err.start}, a lone surrogate that has no UTF-8 bytes; "
            "a byte-level tokenizer takes text that can be written as UTF-8"
        ) from None


def pre_tokenize(text: str) -> list[bytes]:
    """Split text with GPT2_SPLIT, each piece as UTF-8 bytes: 'Hi there!' -> [b'Hi', b' there', b'!']."""
    utf8(text)  # fail on the whole text, naming where, rather than on one piece
    return [piece.encode("utf-8") for piece in GPT2_SPLIT.findall(text)]


def byte_ids(piece: bytes) -> list[int]:
    """A piece's bytes as ids, before any merge: b'Hi' -> [72 + 4, 105 + 4]."""
    return [b + FIRST_BYTE_ID for b in piece]


# --- 2. Counting pairs and merging one ---------------------------------------------------------------------


def pair_counts(words: dict[tuple[int, ...], int]) -> Counter[tuple[int, int]]:
    """How often each adjacent pair of ids occurs, a word's pairs counted as often as the word occurs.

    {(1, 2, 3): 2, (2, 3): 5} -> {(1, 2): 2, (2, 3): 7}. Overlapping pairs all count: (7, 7, 7) has (7, 7) twice.
    """
    counts: Counter[tuple[int, int]] = Counter()
    for word, count in words.items():
        for pair in zip(word, word[1:]):
            counts[pair] += count
    return counts


def merge(ids: Sequence[int], pair: tuple[int, int], new_id: int) -> list[int]:
    """Replace every occurrence of pair in ids by new_id, scanning left to right; a new list, ids unchanged.

    Occurrences do not overlap: a match takes both ids, so ([7, 7, 7], (7, 7), 9) -> [9, 7].
    """
    out = []
    i = 0
    while i < len(ids):
        if i + 1 < len(ids) and (ids[i], ids[i + 1]) == pair:
            out.append(new_id)
            i += 2  # both ids of the pair are used up
        else:
            out.append(ids[i])
            i += 1
    return out


def most_frequent_pair(counts: dict[tuple[int, int], int]) -> tuple[int, int]:
    """The pair with the highest count; of pairs with equal counts, the smallest (by first id, then second)."""
    return min(counts, key=lambda pair: (-counts[pair], pair))


# --- 3. Training: merge the most frequent pair until the vocabulary is full ---------------------------------


class TrainingWords:
    """The distinct words of a text as lists of ids, with their pair counts, kept up to date merge by merge.

    Recounting every pair after each merge would repeat the same sums hundreds of times. A merge only changes
    the words that hold the pair, so for each of them: take its old pairs out of the counts and put its new
    pairs in. `where` remembers which words hold each pair (some of those may have lost it since: merging
    them again changes nothing).
    """

    def __init__(self, words: dict[tuple[int, ...], int]):
        self.ids: list[list[int]] = [list(word) for word in words]  # word i, as ids
        self.counts: list[int] = list(words.values())  # how often word i occurs in the text
        self.pairs: Counter[tuple[int, int]] = pair_counts(words)  # pair -> occurrences in the text
        self.where: defaultdict[tuple[int, int], set[int]] = defaultdict(set)  # pair -> the words that hold it
        for i, word in enumerate(self.ids):
            for p in zip(word, word[1:]):
                self.where[p].add(i)

    def merge(self, pair: tuple[int, int], new_id: int) -> None:
        """Merge pair into new_id in every word, and update the pair counts of the words that changed."""
        for i in self.where.pop(pair, set()):
            old, new = self.ids[i], merge(self.ids[i], pair, new_id)
            for p in zip(old, old[1:]):
                self.pairs[p] -= self.counts[i]
                if self.pairs[p] == 0:
                    del self.pairs[p]  # a pair that no longer occurs is not a candidate
            for p in zip(new, new[1:]):
                self.pairs[p] += self.counts[i]
                self.where[p].add(i)
            self.ids[i] = new


def train_bpe(
    text: str, vocab_size: int, *, choose_pair: Callable[[Counter], tuple[int, int]] = most_frequent_pair
) -> BPETokenizer:
    """Learn vocab_size - 260 merges from text (fewer if the text runs out of pairs) and return the tokenizer.

    Each step merges the pair that choose_pair picks from the pair counts: by default the most frequent,
    ties broken by the smallest pair of ids, so training is deterministic. (hf_most_frequent_pair breaks
    ties as Hugging Face `tokenizers` does.) Merges never cross the words of pre_tokenize.
    """
    check_training_arguments("train_bpe", text, vocab_size)
    words = TrainingWords(Counter(tuple(byte_ids(piece)) for piece in pre_tokenize(text)))
    merges: list[tuple[int, int]] = []
    while FIRST_MERGE_ID + len(merges) < vocab_size and words.pairs:
        pair = choose_pair(words.pairs)
        words.merge(pair, FIRST_MERGE_ID + len(merges))
        merges.append(pair)
    return BPETokenizer(merges)


def check_training_arguments(name: str, text: str, vocab_size: int) -> None:
    """TypeError unless text is a str; ValueError unless vocab_size is an int >= 260."""
    if not isinstance(text, str):
        raise TypeError(f"{name} takes the training text as a str, got {type(text).__name__}")
    if not isinstance(vocab_size, int) or isinstance(vocab_size, bool) or vocab_size < FIRST_MERGE_ID:
        raise ValueError(
            f"vocab_size must be an int >= {FIRST_MERGE_ID} ({FIRST_BYTE_ID} special tokens + 256 bytes), "
            f"got {vocab_size!r}"
        )


# --- 4. The tokenizer: replay the merges on new text -------------------------------------------------------


class BPETokenizer:
    """Byte-level BPE from a list of merges. Same methods as CharTokenizer, so either can feed a model.

    vocab[i] is the bytes id i stands for (a special token as its text, b'<pad>'); merges[k] = (a, b) made
    id 260 + k, whose bytes are vocab[a] + vocab[b]. Every byte has an id, so unk_id is never produced.
    """

    def __init__(self, merges: Sequence[tuple[int, int]]):
        self.vocab: list[bytes] = [s.encode("utf-8") for s in SPECIAL_TOKENS] + [bytes([b]) for b in range(256)]
        self.merges: list[tuple[int, int]] = []
        for a, b in merges:
            if not (0 <= a < len(self.vocab) and 0 <= b < len(self.vocab)):
                raise ValueError(f"merge {len(self.merges)} is {(a, b)}, but only ids below {len(self.vocab)} exist")
            self.merges.append((a, b))
            self.vocab.append(self.vocab[a] + self.vocab[b])
        self.ranks: dict[tuple[int, int], int] = {pair: k for k, pair in enumerate(self.merges)}  # pair -> k
        self.pad_id, self.bos_id, self.eos_id, self.unk_id = PAD_ID, BOS_ID, EOS_ID, UNK_ID

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def __len__(self) -> int:
        return self.vocab_size

    def __repr__(self) -> str:
        return f"BPETokenizer(vocab_size={self.vocab_size}, merges={len(self.merges)})"

    def encode_piece(self, piece: bytes) -> list[int]:
        """One pre-tokenised piece: its byte ids, then again and again the earliest-learned merge present.

        This is GPT-2's rule, and it cuts a word of the training text exactly as training did: training
        applied merge 0 to every word before merge 1, and so on, and this replays the merges in that order.
        """
        ids = byte_ids(piece)
        while len(ids) >= 2:
            pair = min(zip(ids, ids[1:]), key=lambda p: self.ranks.get(p, len(self.merges)))
            if pair not in self.ranks:
                break  # no pair of this piece was ever merged
            ids = merge(ids, pair, FIRST_MERGE_ID + self.ranks[pair])
        return ids

    def encode(self, text: str, add_bos: bool = False, add_eos: bool = False) -> list[int]:
        """'Hi there' -> ids: pre-tokenise, then merge inside each piece. Any str that UTF-8 can write round-trips."""
        if not isinstance(text, str):
            raise TypeError(f"encode takes a str, got {type(text).__name__}")
        ids = [i for piece in pre_tokenize(text) for i in self.encode_piece(piece)]
        return [self.bos_id] * add_bos + ids + [self.eos_id] * add_eos

    def tokens(self, ids: Sequence[int] | torch.Tensor) -> list[bytes]:
        """What each id stands for: [id(' the'), id('!')] -> [b' the', b'!']. Shows how a text was cut."""
        return [self.vocab[i] for i in self._checked(ids, "tokens")]

    def decode(self, ids: Sequence[int] | torch.Tensor, skip_special: bool = True) -> str:
        """Ids back to text: their bytes joined, read as UTF-8. With `skip_special`, pad/bos/eos/unk are left out.

        A cut in the middle of a character's bytes decodes to U+FFFD (errors="replace") instead of failing.
        """
        ids = [i for i in self._checked(ids, "decode") if not (skip_special and i < FIRST_BYTE_ID)]
        return b"".join(self.vocab[i] for i in ids).decode("utf-8", errors="replace")

    def encode_batch(self, texts: Sequence[str], add_bos: bool = False, add_eos: bool = False) -> torch.Tensor:
        """Encode several texts and right-pad them with pad_id into one (B, T_max) tensor."""
        return pad_batch([self.encode(t, add_bos, add_eos) for t in texts], self.pad_id)

    def decode_batch(self, ids: torch.Tensor, skip_special: bool = True) -> list[str]:
        """(B, T) ids -> B strings."""
        return [self.decode(row, skip_special) for row in ids]

    def merge_bytes(self) -> list[tuple[bytes, bytes]]:
        """The merges as the bytes they join, in order: comparable with another tokenizer's (hf_merges)."""
        return [(self.vocab[a], self.vocab[b]) for a, b in self.merges]

    def _checked(self, ids: Sequence[int] | torch.Tensor, name: str) -> list[int]:
        """ids as a list of ints, each inside the vocabulary; a tensor must be 1-D. `name` is the caller's."""
        if isinstance(ids, torch.Tensor):
            if ids.dim() != 1:
                raise ValueError(f"{name} takes a 1-D sequence of ids, got shape {tuple(ids.shape)}")
            ids = ids.tolist()
        for i in ids:
            if not 0 <= i < self.vocab_size:
                raise ValueError(f"token id {i} is outside the vocabulary [0, {self.vocab_size})")
        return list(ids)


def token_text(token: bytes) -> str:
    """A token's bytes, printable: b' the' -> '␣the', b'\\n' -> '↵'; bytes that are only part of a
    character (a Korean syllable has 3) as hex, b'\\xed\\x8a' -> '<ED 8A>'."""
    try:
        text = token.decode("utf-8")
    except UnicodeDecodeError:
        return "<" + " ".join(f"{b:02X}" for b in token) + ">"
    return text.replace(" ", "␣").replace("\n", "↵")


# --- 5. The bridge to Hugging Face `tokenizers` ------------------------------------------------------------


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's map from each byte to a visible character, so that a token's bytes can be written as a str.

    The printable bytes ('!' to '~', '¡' to '¬', '®' to 'ÿ') stand for themselves; the other 68 (space,
    newline, control bytes) become the characters 256, 257, ...: space is 'Ġ' and newline 'Ċ'.
    """
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    others = [b for b in range(256) if b not in printable]
    return {**{b: chr(b) for b in printable}, **{b: chr(256 + n) for n, b in enumerate(others)}}


BYTE_TO_CHAR = bytes_to_unicode()
CHAR_TO_BYTE = {c: b for b, c in BYTE_TO_CHAR.items()}


def to_byte_level(data: bytes) -> str:
    """b' the' -> 'Ġthe': bytes as GPT-2 and `tokenizers` write them in vocabularies and merge lists."""
    return "".join(BYTE_TO_CHAR[b] for b in data)


def from_byte_level(token: str) -> bytes:
    """'Ġthe' -> b' the', the inverse of to_byte_level."""
    return bytes(CHAR_TO_BYTE[c] for c in token)


# tokenizers numbers the 256 bytes in the order of their byte-level characters: '!' (byte 33) gets the first id
# after the special tokens, and space, 'Ġ', comes after every printable byte. Merged tokens get the same ids as
# ours, 260, 261, ... in the order they are learned.
HF_BYTE_ORDER = sorted(range(256), key=lambda b: BYTE_TO_CHAR[b])
HF_ID = {
    **{i: i for i in range(FIRST_BYTE_ID)},
    **{b + FIRST_BYTE_ID: FIRST_BYTE_ID + n for n, b in enumerate(HF_BYTE_ORDER)},
}


def hf_most_frequent_pair(counts: dict[tuple[int, int], int]) -> tuple[int, int]:
    """most_frequent_pair with the tie-break of `tokenizers`' BpeTrainer: the smallest pair of ITS ids (HF_ID).

    With it, train_bpe learns exactly the merges of train_hf_bpe; with ours, the two part at the first tie
    between a pair that holds a non-printable byte (a space, say) and one that does not.
    """

    def hf_ids(pair: tuple[int, int]) -> tuple[int, int]:
        return HF_ID.get(pair[0], pair[0]), HF_ID.get(pair[1], pair[1])

    return min(counts, key=lambda pair: (-counts[pair], hf_ids(pair)))


def hf_byte_level():
    """The pre-tokenizer and decoder of GPT-2 in `tokenizers`: GPT2_SPLIT, then bytes as characters."""
    from tokenizers import decoders, pre_tokenizers

    return pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True), decoders.ByteLevel()


def train_hf_bpe(text: str, vocab_size: int):
    """What train_bpe does, done by Hugging Face `tokenizers` (a tokenizers.Tokenizer; Rust, so much faster).

    Its vocabulary starts like ours: the special tokens, then the 256 bytes (in the order of their
    byte-level characters, not of their values), then one token per merge.
    """
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    check_training_arguments("train_hf_bpe", text, vocab_size)
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer, tokenizer.decoder = hf_byte_level()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator([text], trainer)
    return tokenizer


def hf_merges(tokenizer) -> list[tuple[bytes, bytes]]:
    """The merges of a `tokenizers` BPE tokenizer, in order, as the bytes they join (like merge_bytes)."""
    merges = json.loads(tokenizer.to_str())["model"]["merges"]
    pairs = [m.split(" ") if isinstance(m, str) else m for m in merges]  # older versions wrote "a b"
    return [(from_byte_level(a), from_byte_level(b)) for a, b in pairs]


def to_hf_tokenizer(bpe: BPETokenizer):
    """Our vocabulary and merges loaded into a `tokenizers` BPE tokenizer with GPT-2's pre-tokenizer and decoder.

    It encodes text to the same ids as bpe.encode, except that it also reads the special tokens' text
    ('<bos>') in the input as the special token, where bpe.encode spells it out in bytes.
    """
    from tokenizers import Tokenizer, models

    vocab = {to_byte_level(token): i for i, token in enumerate(bpe.vocab)}
    if len(vocab) != bpe.vocab_size:
        raise ValueError("two ids of this tokenizer stand for the same bytes; a tokenizers vocabulary cannot hold both")
    merges = [(to_byte_level(a), to_byte_level(b)) for a, b in bpe.merge_bytes()]
    tokenizer = Tokenizer(models.BPE(vocab=vocab, merges=merges))
    tokenizer.pre_tokenizer, tokenizer.decoder = hf_byte_level()
    tokenizer.add_special_tokens(list(SPECIAL_TOKENS))
    return tokenizer


def compare_merges(text: str, ours: list[tuple[bytes, bytes]], theirs: list[tuple[bytes, bytes]]) -> dict:
    """How two merge lists learned from the same text differ, and whether every difference is a tie.

    Replays both lists on the text's words and returns a dict:
      agree: how many leading merges are equal;
      first_difference: None if the lists are equal, else (step, our pair, its count, their pair, its count),
        the counts taken at that step (equal counts: the two trainers broke a tie differently);
      ours_always_most_frequent, theirs_always_most_frequent: whether each merge of the list joined a pair
        with the highest count at its step (then all that differs is how ties were broken);
      shared_tokens, new_tokens: how many of the tokens the merges make are in both lists, and in each.
    """
    agree = next((k for k, (a, b) in enumerate(zip(ours, theirs)) if a != b), min(len(ours), len(theirs)))
    ours_steps, theirs_steps = replay_merges(text, ours), replay_merges(text, theirs)
    first_difference = None
    if agree < max(len(ours), len(theirs)):
        our_pair, their_pair = (m[agree] if agree < len(m) else None for m in (ours, theirs))
        first_difference = (
            agree,
            our_pair,
            ours_steps[agree][0] if our_pair else None,
            their_pair,
            theirs_steps[agree][0] if their_pair else None,
        )
    ours_made, theirs_made = {a + b for a, b in ours}, {a + b for a, b in theirs}
    return dict(
        agree=agree,
        first_difference=first_difference,
        ours_always_most_frequent=all(count == best for count, best in ours_steps),
        theirs_always_most_frequent=all(count == best for count, best in theirs_steps),
        shared_tokens=len(ours_made & theirs_made),
        new_tokens=(len(ours_made), len(theirs_made)),
    )


def replay_merges(text: str, merges: list[tuple[bytes, bytes]]) -> list[tuple[int, int]]:
    """Apply merges, given as bytes, to text's words in order; for each: (its pair's count, the highest count).

    Tokens are told apart by their bytes, as in `tokenizers`: a merge that makes bytes that already have an id
    reuses that id.
    """
    id_of = {bytes([b]): b + FIRST_BYTE_ID for b in range(256)}
    words = TrainingWords(Counter(tuple(byte_ids(piece)) for piece in pre_tokenize(text)))
    steps = []
    for a, b in merges:
        pair = (id_of[a], id_of[b])
        steps.append((words.pairs.get(pair, 0), max(words.pairs.values(), default=0)))
        words.merge(pair, id_of.setdefault(a + b, FIRST_BYTE_ID + len(id_of)))
    return steps
