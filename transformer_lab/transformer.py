"""Chapter 9 — The encoder-decoder Transformer ("Attention Is All You Need").

src ids -> embedding * sqrt(D) + positions -> Encoder -> memory
tgt ids -> embedding * sqrt(D) + positions -> Decoder(memory) -> linear -> logits over the target vocabulary
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from .attention import causal_mask, padding_mask
from .decoder import Decoder
from .encoder import Encoder
from .generation import beam_search, greedy_decode
from .multi_head import check_heads
from .positional import LearnedPositionalEmbedding, SinusoidalPositionalEncoding
from .tokenizer import check_token_ids


@dataclass(frozen=True)
class TransformerConfig:
    src_vocab_size: int  # tokens the encoder reads
    tgt_vocab_size: int  # tokens the decoder writes
    d_model: int = 64  # width of every token vector
    n_heads: int = 4  # attention heads per layer; must divide d_model
    n_layers: int = 2  # encoder layers (and decoder layers unless n_decoder_layers is set)
    d_ff: int = 256  # hidden width of the feed-forward networks
    dropout: float = 0.1
    max_len: int = 64  # longest source or target sequence, bos/eos included
    n_decoder_layers: int | None = None  # None: same as n_layers
    activation: str = "relu"  # "relu" (the paper) or "gelu"
    norm_first: bool = False  # False: post-LN (the paper); True: pre-LN
    positional: str = "sinusoidal"  # "sinusoidal" (the paper) or "learned"
    tie_embeddings: bool = False  # share the target embedding matrix with the output projection
    pad_id: int = 0
    bos_id: int = 1
    eos_id: int = 2

    def __post_init__(self):
        check_heads(self.d_model, self.n_heads)
        if self.positional not in ("sinusoidal", "learned"):
            raise ValueError(f"positional must be 'sinusoidal' or 'learned', got {self.positional!r}")


def _positions(cfg: TransformerConfig) -> nn.Module:
    if cfg.positional == "sinusoidal":
        return SinusoidalPositionalEncoding(max_len=cfg.max_len, d_model=cfg.d_model)
    return LearnedPositionalEmbedding(max_len=cfg.max_len, d_model=cfg.d_model)


class Transformer(nn.Module):
    def __init__(self, config: TransformerConfig):
        super().__init__()
        cfg = self.config = config
        layer_args = dict(
            d_model=cfg.d_model,
            n_heads=cfg.n_heads,
            d_ff=cfg.d_ff,
            dropout=cfg.dropout,
            activation=cfg.activation,
            norm_first=cfg.norm_first,
        )
        self.src_embed = nn.Embedding(cfg.src_vocab_size, cfg.d_model)
        self.tgt_embed = nn.Embedding(cfg.tgt_vocab_size, cfg.d_model)
        self.src_pos, self.tgt_pos = _positions(cfg), _positions(cfg)
        self.dropout = nn.Dropout(cfg.dropout)
        self.encoder = Encoder(n_layers=cfg.n_layers, **layer_args)
        self.decoder = Decoder(n_layers=cfg.n_decoder_layers or cfg.n_layers, **layer_args)
        self.lm_head = nn.Linear(cfg.d_model, cfg.tgt_vocab_size)  # the output projection onto the vocabulary
        for p in self.parameters():
            if p.dim() > 1:
                nn.init.xavier_uniform_(p)
        for embed in (self.src_embed, self.tgt_embed):
            nn.init.normal_(embed.weight, std=cfg.d_model**-0.5)  # unit variance after * sqrt(D)
        if cfg.tie_embeddings:
            self.lm_head.weight = self.tgt_embed.weight

    def _embed(self, ids: torch.Tensor, embed: nn.Embedding, pos: nn.Module, name: str) -> torch.Tensor:
        check_token_ids(ids, embed.num_embeddings, name)
        if ids.dim() != 2:
            raise ValueError(f"{name} must have shape (B, T), got {tuple(ids.shape)}")
        if ids.shape[1] > self.config.max_len:
            raise ValueError(f"{name} has length {ids.shape[1]}, longer than max_len={self.config.max_len}")
        x = embed(ids) * math.sqrt(self.config.d_model)  # (B, T, D)
        return self.dropout(pos(x))

    def encode(self, src: torch.Tensor) -> torch.Tensor:
        """src (B, T_src) -> memory (B, T_src, D). Padding positions are never attended to."""
        src_mask = padding_mask(src, self.config.pad_id)  # (B, 1, 1, T_src)
        return self.encoder(self._embed(src, self.src_embed, self.src_pos, "source ids"), src_mask)

    def decode(self, tgt: torch.Tensor, memory: torch.Tensor, src: torch.Tensor) -> torch.Tensor:
        """tgt (B, T_tgt), memory (B, T_src, D), src (B, T_src) -> logits (B, T_tgt, V_tgt)."""
        T = tgt.shape[1]
        tgt_mask = causal_mask(T, device=tgt.device) & padding_mask(tgt, self.config.pad_id)  # (B, 1, T, T)
        memory_mask = padding_mask(src, self.config.pad_id)  # (B, 1, 1, T_src)
        x = self._embed(tgt, self.tgt_embed, self.tgt_pos, "target ids")  # (B, T_tgt, D)
        return self.lm_head(self.decoder(x, memory, tgt_mask, memory_mask))  # (B, T_tgt, V_tgt)

    def forward(self, src: torch.Tensor, tgt: torch.Tensor) -> torch.Tensor:
        """Teacher forcing: tgt is the target shifted right (starts with bos). Returns (B, T_tgt, V_tgt)."""
        return self.decode(tgt, self.encode(src), src)

    def greedy_decode(self, src: torch.Tensor, max_len: int | None = None) -> torch.Tensor:
        return greedy_decode(self, src, self.config.max_len - 1 if max_len is None else max_len)

    def beam_search(
        self, src: torch.Tensor, beam_size: int = 4, max_len: int | None = None, length_penalty: float = 0.0
    ) -> torch.Tensor:
        return beam_search(
            self, src, beam_size, self.config.max_len - 1 if max_len is None else max_len, length_penalty
        )
