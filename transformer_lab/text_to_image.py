"""Chapter 13 — Text to image: a tiny DALL·E.

One causal Transformer (the GPT of chapter 11) reads a single stream: the characters of a prompt,
a separator, then the image as 64 discrete tokens, one per pixel, in reading order.

    "a thin seven" -> [ . . a   t h i n   s e v e n <sep> ] [ p_0 p_1 ... p_63 ]
                      right-aligned text, padded on the left    pixel tokens in 0..K-1

Training predicts every image token from the text and the pixels before it; generation writes the
64 pixel tokens one at a time after a prompt, exactly like text generation (chapter 10).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .generation import check_sampling_args, sample_next_token
from .gpt import GPT, GPTConfig
from .multi_head import KVCache, check_heads
from .tokenizer import CharTokenizer, check_token_ids

NUMBER_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
KOREAN_NUMBERS = ["영", "일", "이", "삼", "사", "오", "육", "칠", "팔", "구"]


# The image tokenizer: quantised intensities.


def image_to_tokens(images: torch.Tensor, levels: int) -> torch.Tensor:
    """Images (B, 1, 8, 8) with values in [0, 1] -> tokens (B, 64) in 0..levels-1, row by row."""
    if images.dim() != 4 or images.shape[1:] != (1, 8, 8):
        raise ValueError(f"images must have shape (B, 1, 8, 8), got {tuple(images.shape)}")
    if levels < 2:
        raise ValueError(f"levels must be at least 2, got {levels}")
    return (images.clamp(0, 1) * (levels - 1)).round().long().flatten(1)  # (B, 64)


def tokens_to_image(tokens: torch.Tensor, levels: int) -> torch.Tensor:
    """Tokens (B, 64) -> images (B, 1, 8, 8): each token back to its intensity level."""
    if tokens.dim() != 2 or tokens.shape[1] != 64:
        raise ValueError(f"image tokens must have shape (B, 64), got {tuple(tokens.shape)}")
    return (tokens.float() / (levels - 1)).view(-1, 1, 8, 8)


# Prompts generated in code.


def describe(label: int, thickness: str, rng: random.Random) -> str:
    """A random prompt for a digit: English or Korean, with or without a word for the stroke."""
    word = NUMBER_WORDS[label]
    choices = [
        f"a {word}",
        word,
        f"the digit {label}",
        f"{label}",
        f"a handwritten {word}",
        f"a {thickness} {word}",
        f"숫자 {KOREAN_NUMBERS[label]}",
        f"{KOREAN_NUMBERS[label]}",
    ]
    return rng.choice(choices)


def stroke_thickness(images: torch.Tensor, labels: torch.Tensor) -> list[str]:
    """'thin' or 'bold' per image: below or above the median ink of the images of the same digit."""
    ink = images.flatten(1).sum(1)  # (B,)
    medians = {d: ink[labels == d].median() for d in labels.unique().tolist()}
    return ["bold" if ink[i] > medians[int(labels[i])] else "thin" for i in range(len(labels))]


def prompt_tokenizer() -> CharTokenizer:
    """Every character the prompts can use: lowercase English, digits, space, and the Korean numbers."""
    chars = set("abcdefghijklmnopqrstuvwxyz0123456789 ") | set("숫자" + "".join(KOREAN_NUMBERS))
    return CharTokenizer(chars)


# The model.


@dataclass(frozen=True)
class TextToImageConfig:
    text_vocab_size: int  # prompt characters, specials included (pad = 0)
    max_text_len: int = 20  # prompts are right-aligned in this many characters
    levels: int = 4  # image tokens: intensity levels
    n_layers: int = 2
    n_heads: int = 4
    d_model: int = 64
    d_ff: int = 128

    def __post_init__(self):
        check_heads(self.d_model, self.n_heads)
        if self.levels < 2:
            raise ValueError(f"levels must be at least 2 (an image needs two intensities), got {self.levels}")
        if self.max_text_len < 1:
            raise ValueError(f"max_text_len must be at least 1, got {self.max_text_len}")

    @property
    def sep_id(self) -> int:
        return self.text_vocab_size  # one extra token after the text vocabulary

    @property
    def first_image_id(self) -> int:
        return self.text_vocab_size + 1  # pixel level k is token first_image_id + k


class TextToImage(nn.Module):
    """A causal Transformer over [text (max_text_len), sep, 64 pixel tokens]; predicts pixels only."""

    N_PIXELS = 64

    def __init__(self, config: TextToImageConfig):
        super().__init__()
        cfg = self.config = config
        # The GPT's own head (tied to its embedding, so it adds no parameters) is not used: pixels get a K-way head.
        self.gpt = GPT(
            GPTConfig(
                vocab_size=cfg.text_vocab_size + 1 + cfg.levels,
                block_size=cfg.max_text_len + self.N_PIXELS,
                n_layers=cfg.n_layers,
                n_heads=cfg.n_heads,
                d_model=cfg.d_model,
                d_ff=cfg.d_ff,
            )
        )
        self.image_head = nn.Linear(cfg.d_model, cfg.levels)  # the K-way output for pixel positions

    def encode_prompts(self, prompts: list[str], tokenizer: CharTokenizer) -> torch.Tensor:
        """Prompts -> (B, max_text_len + 1) ids: characters right-aligned (padded on the left), then sep."""
        if isinstance(prompts, str):
            raise TypeError("prompts must be a list of strings, e.g. ['a seven']")
        L = self.config.max_text_len
        rows = []
        for p in prompts:
            if not p.strip():
                raise ValueError("a prompt must contain at least one character that is not a space")
            unknown = sorted({c for c in p if c not in tokenizer.stoi})
            if unknown:
                raise ValueError(f"prompt {p!r} has characters the tokenizer does not know: {unknown}")
            if len(p) > L:
                raise ValueError(f"prompt {p!r} has {len(p)} characters; at most max_text_len={L}")
            ids = tokenizer.encode(p)
            rows.append([tokenizer.pad_id] * (L - len(ids)) + ids + [self.config.sep_id])
        return torch.tensor(rows)  # (B, L + 1)

    def forward(self, text: torch.Tensor, image_tokens: torch.Tensor) -> torch.Tensor:
        """text (B, L + 1) ending in sep, the first t image tokens (B, t) -> pixel logits (B, t + 1, K).

        The sep position predicts pixel 0 and the position of pixel i predicts pixel i + 1; with
        t = 63 that is one distribution for each of the 64 pixels.
        """
        cfg = self.config
        if text.dim() != 2 or text.shape[1] != cfg.max_text_len + 1:
            raise ValueError(f"text must have shape (B, {cfg.max_text_len + 1}), got {tuple(text.shape)}")
        check_token_ids(image_tokens, cfg.levels, "image tokens")
        stream = torch.cat([text, image_tokens + cfg.first_image_id], dim=1)  # (B, L + 1 + t)
        h = self.gpt.hidden_states(stream)  # (B, L + 1 + t, D)
        return self.image_head(h[:, cfg.max_text_len :])  # (B, 1 + t, K)

    def loss(self, text: torch.Tensor, image_tokens: torch.Tensor) -> torch.Tensor:
        """Cross-entropy of all 64 pixels given the text and the pixels before each."""
        logits = self(text, image_tokens[:, :-1])  # (B, 64, K)
        return F.cross_entropy(logits.reshape(-1, self.config.levels), image_tokens.reshape(-1))

    def generate(
        self,
        text: torch.Tensor,
        *,
        temperature: float = 1.0,
        top_k: int | None = None,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Sample 64 pixel tokens after each prompt (B, L + 1) -> (B, 64), with a KV cache.

        Like GPT.generate it runs under torch.inference_mode(), and the pixels are joined outside it,
        into an ordinary tensor."""
        check_sampling_args(temperature, top_k, None)
        caches = [KVCache() for _ in self.gpt.blocks]
        pixels = []
        with torch.inference_mode():
            h = self.gpt.hidden_states(text, kv_caches=caches)[:, -1]  # (B, D): at the sep, predicting pixel 0
            for i in range(self.N_PIXELS):
                logits = self.image_head(h)  # (B, K)
                token = sample_next_token(
                    logits, do_sample=True, temperature=temperature, top_k=top_k, generator=generator
                )
                pixels.append(token)  # (B, 1)
                if i < self.N_PIXELS - 1:  # feed the new pixel; its hidden state predicts the next one
                    h = self.gpt.hidden_states(token + self.config.first_image_id, kv_caches=caches)[:, -1]
        return torch.cat(pixels, dim=1)  # (B, 64), made outside inference mode
