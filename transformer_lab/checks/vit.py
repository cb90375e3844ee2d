"""Chapter 12: the ViT's patch embedding."""

from __future__ import annotations

import torch
from einops import rearrange
from torch import nn

from ..vit import PatchEmbedding
from .engine import Case, Mistake, checker, expect_class, module_run, randn, run_cases


class _PatchesRearranged(PatchEmbedding):
    """The patch embedding with the flattening pattern as a class attribute; the variants below change it."""

    pattern = "b c (h p1) (w p2) -> b (h w) (p1 p2 c)"

    def forward(self, images):
        P = self.patch_size
        return self.proj(rearrange(images, self.pattern, p1=P, p2=P))  # (B, N, D)


class _PatchesChannelFirst(_PatchesRearranged):
    pattern = "b c (h p1) (w p2) -> b (h w) (c p1 p2)"


class _PatchesColumnOrder(_PatchesRearranged):
    pattern = "b c (h p1) (w p2) -> b (w h) (p1 p2 c)"


class _PatchesTransposedInside(_PatchesRearranged):
    pattern = "b c (h p1) (w p2) -> b (h w) (p2 p1 c)"


class _PatchesTransposedImage(_PatchesRearranged):
    pattern = "b c (h p1) (w p2) -> b (w h) (p2 p1 c)"


class _PatchesReshapedOnly(PatchEmbedding):
    def forward(self, images):
        N = (self.image_size // self.patch_size) ** 2
        return self.proj(images.reshape(images.shape[0], N, -1))


PATCH_EMBEDDING_MISTAKES = [
    Mistake(
        "Your patches are flattened channel-first, (c, p1, p2). This course flattens each patch "
        "channel-last, (p1, p2, c): rearrange(images, 'b c (h p1) (w p2) -> b (h w) (p1 p2 c)').",
        _PatchesChannelFirst,
    ),
    Mistake(
        "Your patches are numbered column by column. Number them row by row, like reading: (h w), not (w h).",
        _PatchesColumnOrder,
    ),
    Mistake(
        "Inside each patch your rows and columns are swapped: flatten a patch row by row, (p1 p2 c) with p1 the row.",
        _PatchesTransposedInside,
    ),
    Mistake(
        "Your patches come from the TRANSPOSED image (rows and columns swapped, between and inside patches). "
        "Split the height into (h p1) and the width into (w p2).",
        _PatchesTransposedImage,
    ),
    Mistake(
        "Your patches come from a plain reshape of the image, which cuts it into strips of pixels, not "
        "P x P squares. Split height and width into (h, p1) and (w, p2), move the patch axes together, then "
        "flatten: rearrange(images, 'b c (h p1) (w p2) -> b (h w) (p1 p2 c)').",
        _PatchesReshapedOnly,
    ),
]


@checker
def check_patch_embedding(cls: type[nn.Module]) -> None:
    """cls(*, image_size, patch_size, in_channels, d_model) with a Linear `proj`: images (B, C, H, W) -> (B, N, D)."""
    name = "PatchEmbedding"
    expect_class(name, cls, nn.Module)
    g = torch.Generator().manual_seed(9)
    init = lambda size, P, C, D: dict(image_size=size, patch_size=P, in_channels=C, d_model=D)  # noqa: E731
    cases = [
        Case("RGB 8x8 images, 4x4 patches, batch of 2", dict(images=randn(g, 2, 3, 8, 8)), init(8, 4, 3, 6)),
        Case("grey 6x6 image, 2x2 patches", dict(images=randn(g, 1, 1, 6, 6)), init(6, 2, 1, 5)),
        Case("2-channel 4x4 image, 2x2 patches", dict(images=randn(g, 1, 2, 4, 4)), init(4, 2, 2, 3)),
    ]
    run_cases(name, cls, PatchEmbedding, cases, module_run(PatchEmbedding), PATCH_EMBEDDING_MISTAKES)
