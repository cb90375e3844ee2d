"""Chapter 7 — The encoder: self-attention and feed-forward blocks, stacked.

Each sublayer is wrapped in a residual connection and a LayerNorm, in one of two orders:
post-LN (the 2017 paper): x = LN(x + f(x));  pre-LN (GPT-2 and later): x = x + f(LN(x)).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .layers import FeedForward, LayerNorm
from .multi_head import MultiHeadAttention


class EncoderLayer(nn.Module):
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
        self.feed_forward = FeedForward(d_model, d_ff, dropout, activation)
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

    @classmethod
    def from_torch(cls, m: nn.TransformerEncoderLayer) -> "EncoderLayer":
        """Copy a torch.nn.TransformerEncoderLayer(batch_first=True) with relu or gelu activation."""
        if not isinstance(m, nn.TransformerEncoderLayer):
            raise TypeError(f"from_torch takes an nn.TransformerEncoderLayer, got {type(m).__name__}")
        ours = cls(
            m.self_attn.embed_dim,
            m.self_attn.num_heads,
            m.linear1.out_features,
            dropout=m.dropout.p,
            activation=_torch_activation_name(m.activation),
            norm_first=m.norm_first,
        )
        ours.self_attn = MultiHeadAttention.from_torch(m.self_attn)
        _copy_feed_forward_and_norms(m, ours, n_norms=2)
        return ours


class Encoder(nn.Module):
    """n_layers EncoderLayers; with pre-LN, a final LayerNorm (the last residual stream is unnormalised)."""

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
            EncoderLayer(d_model, n_heads, d_ff, dropout, activation, norm_first) for _ in range(n_layers)
        )
        self.norm = LayerNorm(d_model) if norm_first else nn.Identity()

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x, mask)  # (B, T, D)
        return self.norm(x)


def _torch_activation_name(activation) -> str:
    if activation is F.relu or isinstance(activation, nn.ReLU):
        return "relu"
    if activation is F.gelu or (isinstance(activation, nn.GELU) and activation.approximate == "none"):
        return "gelu"
    raise ValueError(f"unsupported activation {activation!r}: expected relu or gelu")


def _copy_feed_forward_and_norms(m: nn.Module, ours: nn.Module, n_norms: int) -> None:
    """Copy linear1/linear2 and norm1..norm{n_norms} from a torch layer (same names in both)."""
    with torch.no_grad():
        for name in ("linear1", "linear2"):
            getattr(ours.feed_forward, name).load_state_dict(getattr(m, name).state_dict())
        for i in range(1, n_norms + 1):
            theirs = getattr(m, f"norm{i}")
            norm = getattr(ours, f"norm{i}")
            norm.eps = theirs.eps
            norm.load_state_dict(theirs.state_dict())
