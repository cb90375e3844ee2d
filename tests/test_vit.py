"""Chapter 12: the Vision Transformer. Bad input (patch size, image size) is in test_errors.py."""

import pytest
import torch
import torch.nn.functional as F

import transformer_lab as tl

from conftest import assert_close_f32, perturb_


def config(**kw) -> tl.ViTConfig:
    defaults = dict(image_size=8, patch_size=4, in_channels=1, n_classes=10, d_model=16, n_layers=2, n_heads=4, d_ff=32)
    return tl.ViTConfig(**{**defaults, **kw})


def swap_corner_patches(images: torch.Tensor) -> torch.Tensor:
    """Exchange the top-left and bottom-right 4x4 patches of (B, C, 8, 8) images."""
    out = images.clone()
    out[..., :4, :4], out[..., 4:, 4:] = images[..., 4:, 4:], images[..., :4, :4]
    return out


@pytest.mark.parametrize("pool", ["cls", "mean"])
def test_shapes_and_gradients_reach_every_parameter(pool):
    model = tl.ViT(config(pool=pool)).train()
    assert model.config.n_patches == 4
    logits = model(torch.randn(3, 1, 8, 8))
    assert logits.shape == (3, 10)
    F.cross_entropy(logits, torch.tensor([1, 2, 3])).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None, f"{name} got no gradient"
        assert p.grad.abs().sum() > 0, f"{name} got an all-zero gradient"
    # The class token plus 4 patches: 5 tokens attend to each other.
    assert model.encoder.layers[-1].self_attn.attn_weights.shape == (3, 4, 5, 5)


def test_rgb_images():
    model = tl.ViT(config(in_channels=3, image_size=12, patch_size=4)).eval()
    assert model.config.n_patches == 9
    assert model(torch.randn(2, 3, 12, 12)).shape == (2, 10)


def test_position_embeddings_are_what_make_patch_order_matter():
    model = perturb_(tl.ViT(config())).eval()
    images = torch.randn(2, 1, 8, 8)
    swapped = swap_corner_patches(images)
    assert (model(images) - model(swapped)).abs().max() > 1e-3
    with torch.no_grad():  # every position gets the same vector: order is invisible to the encoder
        model.pos_embed.weight.copy_(model.pos_embed.weight[:1].expand_as(model.pos_embed.weight))
    assert_close_f32(model(swapped), model(images))


def test_patch_embedding_linear_equals_strided_convolution():
    embed = perturb_(tl.PatchEmbedding(image_size=8, patch_size=4, in_channels=3, d_model=16))
    images = torch.randn(2, 3, 8, 8)
    conv = embed.as_conv()(images)  # (B, D, 2, 2)
    assert_close_f32(conv.flatten(2).transpose(1, 2), embed(images))


def test_patches_are_read_row_by_row():
    embed = tl.PatchEmbedding(image_size=4, patch_size=2, in_channels=1, d_model=4)
    with torch.no_grad():  # the identity map shows the raw patch contents
        embed.proj.weight.copy_(torch.eye(4))
        embed.proj.bias.zero_()
    image = torch.arange(16.0).reshape(1, 1, 4, 4)
    assert embed(image)[0].tolist() == [[0, 1, 4, 5], [2, 3, 6, 7], [8, 9, 12, 13], [10, 11, 14, 15]]
