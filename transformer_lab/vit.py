"""Chapter 12 — The Vision Transformer: an image as a sequence of patches, read by an encoder.

images (B, C, H, W) -> N = (H/P)(W/P) patches of P*P*C numbers -> linear map to D -> prepend a class
token -> add learned positions -> pre-LN encoder -> the class token's vector (or the mean) -> logits.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from einops import rearrange
from torch import nn

from .encoder import Encoder
from .multi_head import check_heads
from .positional import LearnedPositionalEmbedding


@dataclass(frozen=True)
class ViTConfig:
    image_size: int  # images are image_size x image_size
    patch_size: int  # patches are patch_size x patch_size; must divide image_size
    in_channels: int = 1  # 1 for grey, 3 for RGB
    n_classes: int = 10
    d_model: int = 64
    n_layers: int = 2
    n_heads: int = 4
    d_ff: int = 128
    dropout: float = 0.0
    pool: str = "cls"  # "cls": read the class token; "mean": average the patch vectors
    activation: str = "gelu"

    def __post_init__(self):
        check_heads(self.d_model, self.n_heads)
        if self.image_size % self.patch_size != 0:
            raise ValueError(
                f"patch_size={self.patch_size} does not divide image_size={self.image_size}: "
                "the image must split into whole patches"
            )
        if self.pool not in ("cls", "mean"):
            raise ValueError(f"pool must be 'cls' or 'mean', got {self.pool!r}")

    @property
    def n_patches(self) -> int:
        return (self.image_size // self.patch_size) ** 2


class PatchEmbedding(nn.Module):
    """Cut the image into P x P patches, flatten each, and map it linearly to D: (B, C, H, W) -> (B, N, D)."""

    def __init__(self, *, image_size: int, patch_size: int, in_channels: int, d_model: int):
        super().__init__()
        self.image_size, self.patch_size, self.in_channels = image_size, patch_size, in_channels
        self.proj = nn.Linear(patch_size * patch_size * in_channels, d_model)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        expected = (self.in_channels, self.image_size, self.image_size)
        if images.dim() != 4 or tuple(images.shape[1:]) != expected:
            raise ValueError(f"images must have shape (B, {', '.join(map(str, expected))}), got {tuple(images.shape)}")
        P = self.patch_size
        patches = rearrange(images, "b c (h p1) (w p2) -> b (h w) (p1 p2 c)", p1=P, p2=P)  # (B, N, P*P*C)
        return self.proj(patches)  # (B, N, D)

    def as_conv(self) -> nn.Conv2d:
        """The same map as a convolution with kernel = stride = P (how most ViT code writes it)."""
        P, C = self.patch_size, self.in_channels
        conv = nn.Conv2d(C, self.proj.out_features, kernel_size=P, stride=P)
        with torch.no_grad():
            conv.weight.copy_(rearrange(self.proj.weight, "d (p1 p2 c) -> d c p1 p2", p1=P, p2=P, c=C))
            conv.bias.copy_(self.proj.bias)
        return conv


class ViT(nn.Module):
    def __init__(self, config: ViTConfig):
        super().__init__()
        cfg = self.config = config
        self.patch_embed = PatchEmbedding(
            image_size=cfg.image_size, patch_size=cfg.patch_size, in_channels=cfg.in_channels, d_model=cfg.d_model
        )
        self.cls_token = nn.Parameter(torch.randn(1, 1, cfg.d_model) * 0.02)
        self.pos_embed = LearnedPositionalEmbedding(max_len=cfg.n_patches + 1, d_model=cfg.d_model)
        self.dropout = nn.Dropout(cfg.dropout)
        self.encoder = Encoder(
            n_layers=cfg.n_layers,
            d_model=cfg.d_model,
            n_heads=cfg.n_heads,
            d_ff=cfg.d_ff,
            dropout=cfg.dropout,
            activation=cfg.activation,
            norm_first=True,
        )
        self.head = nn.Linear(cfg.d_model, cfg.n_classes)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """images (B, C, H, W) -> logits (B, n_classes)"""
        x = self.patch_embed(images)  # (B, N, D)
        cls = self.cls_token.expand(x.shape[0], -1, -1)  # (B, 1, D)
        x = self.dropout(self.pos_embed(torch.cat([cls, x], dim=1)))  # (B, 1 + N, D)
        x = self.encoder(x)  # (B, 1 + N, D), final LayerNorm included
        pooled = x[:, 0] if self.config.pool == "cls" else x[:, 1:].mean(dim=1)  # (B, D)
        return self.head(pooled)  # (B, n_classes)
