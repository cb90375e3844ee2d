"""Chapter 7 — The encoder: self-attention and feed-forward blocks, stacked.

Each sublayer is wrapped in a residual connection and a LayerNorm, in one of two orders:
post-LN (the 2017 paper): x = LN(x + f(x));  pre-LN (GPT-2 and later): x = x + f(LN(x)).
"""

from __future__ import annotations

import torch
from torch import nn

from .layers import FeedForward, LayerNorm
from .multi_head import MultiHeadAttention


class EncoderLayer(nn.Module):
    def __init__(
        self,
        *,
        d_model: int,
        n_heads: int,
        d_ff: int,
        dropout: float = 0.0,
        activation: str = "relu",
        norm_first: bool = False,
    ):
        super().__init__()
        self.norm_first = norm_first
        self.self_attn = MultiHeadAttention(d_model=d_model, n_heads=n_heads, dropout=dropout)
        self.feed_forward = FeedForward(d_model=d_model, d_ff=d_ff, dropout=dropout, activation=activation)
        self.norm1 = LayerNorm(d_model)
        self.norm2 = LayerNorm(d_model)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """x (B, T, D), mask broadcastable to (B, H, T, T) -> (B, T, D)"""
        if self.norm_first:  # pre-LN
            h = self.norm1(x)
            x = x + self.dropout(self.self_attn(h, h, h, mask))
            x = x + self.dropout(self.feed_forward(self.norm2(x)))
        else:  # post-LN
            x = self.norm1(x + self.dropout(self.self_attn(x, x, x, mask)))
            x = self.norm2(x + self.dropout(self.feed_forward(x)))
        return x


class LayerStack(nn.Module):
    """n_layers copies of `layer_class`, each built with layer_class(d_model=..., norm_first=..., **layer_options)
    (n_heads, d_ff, dropout, activation); with pre-LN, a final LayerNorm (the last residual stream is
    unnormalised). The encoder and the decoder (chapter 8) are both such stacks."""

    layer_class: type[nn.Module]

    def __init__(self, *, n_layers: int, d_model: int, norm_first: bool = False, **layer_options):
        super().__init__()
        self.layers = nn.ModuleList(
            self.layer_class(d_model=d_model, norm_first=norm_first, **layer_options) for _ in range(n_layers)
        )
        self.norm = LayerNorm(d_model) if norm_first else nn.Identity()


class Encoder(LayerStack):
    """n_layers EncoderLayers; with pre-LN, a final LayerNorm."""

    layer_class = EncoderLayer

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x, mask)  # (B, T, D)
        return self.norm(x)
