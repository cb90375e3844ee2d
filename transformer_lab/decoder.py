"""Chapter 8 — The decoder: masked self-attention, cross-attention to the encoder, feed-forward."""

from __future__ import annotations

import torch
from torch import nn

from .encoder import LayerStack
from .layers import FeedForward, LayerNorm
from .multi_head import MultiHeadAttention


class DecoderLayer(nn.Module):
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
        self.cross_attn = MultiHeadAttention(d_model=d_model, n_heads=n_heads, dropout=dropout)
        self.feed_forward = FeedForward(d_model=d_model, d_ff=d_ff, dropout=dropout, activation=activation)
        self.norm1 = LayerNorm(d_model)
        self.norm2 = LayerNorm(d_model)
        self.norm3 = LayerNorm(d_model)
        self.dropout = nn.Dropout(dropout)

    def forward(
        self,
        x: torch.Tensor,
        memory: torch.Tensor,
        tgt_mask: torch.Tensor | None = None,
        memory_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """x (B, T_tgt, D), memory (B, T_src, D) -> (B, T_tgt, D).

        tgt_mask broadcasts to (B, H, T_tgt, T_tgt) (causal, maybe with padding);
        memory_mask to (B, H, T_tgt, T_src) (the source padding).
        """
        if self.norm_first:  # pre-LN
            h = self.norm1(x)
            x = x + self.dropout(self.self_attn(h, h, h, tgt_mask))
            h = self.norm2(x)
            x = x + self.dropout(self.cross_attn(h, memory, memory, memory_mask))
            x = x + self.dropout(self.feed_forward(self.norm3(x)))
        else:  # post-LN
            x = self.norm1(x + self.dropout(self.self_attn(x, x, x, tgt_mask)))
            x = self.norm2(x + self.dropout(self.cross_attn(x, memory, memory, memory_mask)))
            x = self.norm3(x + self.dropout(self.feed_forward(x)))
        return x


class Decoder(LayerStack):
    """n_layers DecoderLayers; with pre-LN, a final LayerNorm."""

    layer_class = DecoderLayer

    def forward(
        self,
        x: torch.Tensor,
        memory: torch.Tensor,
        tgt_mask: torch.Tensor | None = None,
        memory_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x, memory, tgt_mask, memory_mask)  # (B, T_tgt, D)
        return self.norm(x)
