import pytest
import torch

import transformer_lab as tl


def config(**kw):
    return tl.ViTConfig(image_size=8, patch_size=4, in_channels=1, n_classes=10, d_model=16, n_layers=2, n_heads=4,
                        d_ff=32, **kw)  # fmt: skip


@pytest.mark.parametrize("pool", ["cls", "mean"])
def test_shapes_and_gradients(pool):
    model = tl.ViT(config(pool=pool))
    assert model.config.n_patches == 4
    logits = model(torch.randn(3, 1, 8, 8))
    assert logits.shape == (3, 10)
    torch.nn.functional.cross_entropy(logits, torch.tensor([1, 2, 3])).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    assert model.encoder.layers[-1].self_attn.attn_weights.shape == (3, 4, 5, 5)


def test_patch_embedding_linear_equals_strided_convolution():
    embed = tl.PatchEmbedding(image_size=8, patch_size=4, in_channels=3, d_model=16)
    images = torch.randn(2, 3, 8, 8)
    conv = embed.as_conv()(images)  # (B, D, 2, 2)
    torch.testing.assert_close(conv.flatten(2).transpose(1, 2), embed(images), atol=1e-5, rtol=1e-4)


def test_patches_are_read_row_by_row():
    embed = tl.PatchEmbedding(image_size=4, patch_size=2, in_channels=1, d_model=4)
    with torch.no_grad():
        embed.proj.weight.copy_(torch.eye(4))
        embed.proj.bias.zero_()
    image = torch.arange(16.0).reshape(1, 1, 4, 4)
    assert embed(image)[0].tolist() == [[0, 1, 4, 5], [2, 3, 6, 7], [8, 9, 12, 13], [10, 11, 14, 15]]


def test_bad_input():
    with pytest.raises(ValueError, match="patch_size=3 does not divide image_size=8"):
        tl.ViTConfig(image_size=8, patch_size=3)
    model = tl.ViT(config())
    with pytest.raises(ValueError, match=r"images must have shape \(B, 1, 8, 8\)"):
        model(torch.randn(2, 1, 16, 16))
    with pytest.raises(ValueError, match=r"images must have shape"):
        model(torch.randn(1, 8, 8))
