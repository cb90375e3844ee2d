"""Chapter 8 — The decoder: masked self-attention, cross-attention to the encoder, feed-forward."""
from __future__ import annotations

import torch
from torch import nn

from .encoder import _copy_feed_forward_and_norms, _torch_activation_name
from .layers import FeedForward, LayerNorm
from .multi_head import MultiHeadAttention


class DecoderLayer(nn.Module):
    def __init__(
        self,
        d_model: int,
        n_heads: int,
        d_ff: int,
        dropout: float = 0.0,
        activation: str = "relu",
        norm_first: bool = False,
    ):
        super().__init__()
        self.norm_first = norm_first
        self.self_attn = MultiHeadAttention(d_model, n_heads, dropout)
        self.cross_attn = MultiHeadAttention(d_model, n_heads, dropout)
        self.feed_forward = FeedForward(d_model, d_ff, dropout, activation)
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

    @classmethod
    def from_torch(cls, m: nn.TransformerDecoderLayer) -> "DecoderLayer":
        """Copy a torch.nn.TransformerDecoderLayer(batch_first=True) with relu or gelu activation."""
        if not isinstance(m, nn.TransformerDecoderLayer):
            raise TypeError(f"from_torch takes an nn.TransformerDecoderLayer, got {type(m).__name__}")
        ours = cls(
            m.self_attn.embed_dim,
            m.self_attn.num_heads,
            m.linear1.out_features,
            dropout=m.dropout.p,
            activation=_torch_activation_name(m.activation),
            norm_first=m.norm_first,
        )
        ours.self_attn = MultiHeadAttention.from_torch(m.self_attn)
        ours.cross_attn = MultiHeadAttention.from_torch(m.multihead_attn)
        _copy_feed_forward_and_norms(m, ours, n_norms=3)
        return ours


class Decoder(nn.Module):
    """n_layers DecoderLayers; with pre-LN, a final LayerNorm."""

    def __init__(
        self,
        *,
        n_layers: int,
        d_model: int,
        n_heads: int,
        d_ff: int,
        dropout: float = 0.0,
        activation: str = "relu",
        norm_first: bool = False,
    ):
        super().__init__()
        self.layers = nn.ModuleList(
            DecoderLayer(d_model, n_heads, d_ff, dropout, activation, norm_first) for _ in range(n_layers)
        )
        self.norm = LayerNorm(d_model) if norm_first else nn.Identity()

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
