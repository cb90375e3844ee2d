"""Chapters 12 and 13: the scikit-learn digits split and the shift augmentation."""

import pytest
import torch

import transformer_lab as tl
from transformer_lab import digits


def test_split_is_fixed_stratified_and_disjoint():
    split = digits.load_digits_split(seed=0)
    from collections import Counter

    from sklearn.datasets import load_digits

    data = load_digits()
    original = Counter(
        (tuple((data.images[i].flatten() / 16).tolist()), int(data.target[i])) for i in range(len(data.target))
    )
    ours = Counter(
        (tuple(x.flatten().tolist()), int(y)) for part in split.values() for x, y in zip(part.images, part.labels)
    )
    assert ours == original  # every image exactly once, across the three parts
    for part in split.values():
        assert part.images.shape[1:] == (1, 8, 8) and part.images.dtype == torch.float32
        assert 0 <= part.images.min() and part.images.max() <= 1
        assert torch.bincount(part.labels, minlength=10).min() > 0  # every digit in every part
    train_share = torch.bincount(split["train"].labels) / torch.bincount(torch.cat([p.labels for p in split.values()]))
    assert ((train_share - 0.7).abs() < 0.02).all()  # the same proportion for every digit
    again = digits.load_digits_split(seed=0)
    assert torch.equal(again["test"].images, split["test"].images)
    assert not torch.equal(digits.load_digits_split(seed=1)["test"].labels, split["test"].labels)
    with pytest.raises(ValueError, match="fractions"):
        digits.load_digits_split(fractions=(0.5, 0.5, 0.5))


def test_random_shift_moves_whole_images_by_at_most_one_pixel():
    images = torch.zeros(200, 1, 8, 8)
    images[:, 0, 3, 4] = 1.0  # one bright pixel at (3, 4)
    shifted = digits.random_shift(images, max_shift=1, generator=torch.Generator().manual_seed(0))
    where = shifted[:, 0].flatten(1).argmax(1)
    rows, cols = where // 8, where % 8
    assert ((rows - 3).abs() <= 1).all() and ((cols - 4).abs() <= 1).all()
    assert len(set(zip(rows.tolist(), cols.tolist()))) == 9  # all nine offsets occur
    assert torch.allclose(shifted.sum(dim=(1, 2, 3)), torch.ones(200))  # nothing lost or duplicated
    with pytest.raises(ValueError, match="B, C, H, W"):
        digits.random_shift(torch.zeros(8, 8))


def test_weight_decay_groups_skip_biases_norms_positions_and_class_token():
    model = tl.ViT(tl.ViTConfig(image_size=8, patch_size=2))
    decay, no_decay = tl.weight_decay_groups(model, 0.05)
    names = {id(p): n for n, p in model.named_parameters()}
    decayed = {names[id(p)] for p in decay["params"]}
    assert decay["weight_decay"] == 0.05 and no_decay["weight_decay"] == 0.0
    assert "patch_embed.proj.weight" in decayed and "head.weight" in decayed
    assert not any(n.endswith("bias") or "norm" in n or "pos_embed" in n or "cls_token" in n for n in decayed)
    assert len(decay["params"]) + len(no_decay["params"]) == len(list(model.parameters()))
