"""Chapters 12 and 13 — The 8×8 handwritten digits that ship with scikit-learn, as tensors.

1,797 real images (`sklearn.datasets.load_digits`, no download), intensities 0..16. One fixed
split into training, validation and test images, stratified by digit, so every chapter and every
benchmark evaluates on the same held-out images.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class DigitSplit:
    images: torch.Tensor  # (N, 1, 8, 8) float32 in [0, 1]
    labels: torch.Tensor  # (N,) int64 in 0..9

    def __len__(self) -> int:
        return len(self.labels)


def load_digits_split(
    *, seed: int = 0, fractions: tuple[float, float, float] = (0.70, 0.15, 0.15)
) -> dict[str, DigitSplit]:
    """{"train", "val", "test"} -> DigitSplit, stratified: each digit is split in the same proportions."""
    from sklearn.datasets import load_digits

    if len(fractions) != 3 or abs(sum(fractions) - 1) > 1e-9 or min(fractions) <= 0:
        raise ValueError(f"fractions must be three positive numbers that sum to 1, got {fractions}")
    data = load_digits()
    images = torch.tensor(data.images, dtype=torch.float32)[:, None] / 16.0  # (1797, 1, 8, 8)
    labels = torch.tensor(data.target, dtype=torch.long)  # (1797,)
    generator = torch.Generator().manual_seed(seed)
    parts: dict[str, list[torch.Tensor]] = {"train": [], "val": [], "test": []}
    for digit in range(10):
        rows = (labels == digit).nonzero()[:, 0]
        rows = rows[torch.randperm(len(rows), generator=generator)]
        n_train = round(fractions[0] * len(rows))
        n_val = round(fractions[1] * len(rows))
        parts["train"].append(rows[:n_train])
        parts["val"].append(rows[n_train : n_train + n_val])
        parts["test"].append(rows[n_train + n_val :])
    out = {}
    for name, chunks in parts.items():
        rows = torch.cat(chunks).sort().values
        out[name] = DigitSplit(images[rows], labels[rows])
    return out


def random_shift(images: torch.Tensor, *, max_shift: int = 1, generator: torch.Generator | None = None) -> torch.Tensor:
    """Move each image (B, C, H, W) by a random whole number of pixels in -max_shift..max_shift along each
    axis, filling with 0 (background): the augmentation of chapter 12."""
    if images.dim() != 4:
        raise ValueError(f"images must have shape (B, C, H, W), got {tuple(images.shape)}")
    B, _, H, W = images.shape
    m = max_shift
    padded = torch.nn.functional.pad(images, (m, m, m, m))  # (B, C, H + 2m, W + 2m)
    dy = torch.randint(0, 2 * m + 1, (B,), generator=generator)
    dx = torch.randint(0, 2 * m + 1, (B,), generator=generator)
    rows = (dy[:, None] + torch.arange(H))[:, None, :, None]  # (B, 1, H, 1)
    cols = (dx[:, None] + torch.arange(W))[:, None, None, :]  # (B, 1, 1, W)
    batch = torch.arange(B)[:, None, None, None]
    channel = torch.arange(images.shape[1])[None, :, None, None]
    return padded[batch, channel, rows, cols]  # (B, C, H, W)
