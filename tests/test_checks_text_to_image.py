"""The chapter 13 checkers: they accept correct code however it is written, and name the mistakes they know."""

import pytest
import torch
import torch.nn.functional as F
from einops import rearrange

from transformer_lab import text_to_image as t2i
from transformer_lab.checks import check_image_to_tokens, check_pixel_loss
from transformer_lab.checks import text_to_image as checks_t2i

# ----------------------------------------------------------------------------------------------------
# Correct implementations written differently from the package's
# ----------------------------------------------------------------------------------------------------


def tokens_nearest_level(images, levels):
    """The index of the nearest of the `levels` evenly spaced intensities."""
    grid = torch.linspace(0, 1, levels)  # (K,)
    flat = images.clamp(0, 1).flatten(1)  # (B, 64)
    return (flat[..., None] - grid).abs().argmin(-1)  # (B, 64)


def tokens_half_up(images, levels):
    """Round half up with floor(x + 0.5), clamp afterwards, flatten with einops."""
    tokens = torch.floor(images * (levels - 1) + 0.5).clamp(0, levels - 1).to(torch.int64)
    return rearrange(tokens, "b 1 h w -> b (h w)")


def loss_gather(model, text, image_tokens):
    logits = model(text, image_tokens[:, :-1])  # (B, 64, K)
    log_probs = logits.log_softmax(-1)
    return -log_probs.gather(-1, image_tokens[..., None]).mean()


def loss_classes_second(model, text, image_tokens):
    logits = model(text, image_tokens[:, :-1])  # (B, 64, K)
    return F.cross_entropy(logits.transpose(1, 2), image_tokens)  # (B, K, 64) against (B, 64)


CORRECT = {
    check_image_to_tokens: [t2i.image_to_tokens, tokens_nearest_level, tokens_half_up],
    check_pixel_loss: [t2i.TextToImage.loss, loss_gather, loss_classes_second],
}

MISTAKES = {
    check_image_to_tokens: checks_t2i.IMAGE_TOKENS_MISTAKES,
    check_pixel_loss: checks_t2i.PIXEL_LOSS_MISTAKES,
}


def test_a_float_tensor_of_tokens_is_named():
    with pytest.raises(AssertionError, match="dtype torch.float32; expected torch.int64"):
        check_image_to_tokens(lambda images, levels: t2i.image_to_tokens(images, levels).float())


def test_the_checkers_leave_the_random_state_alone():
    state = torch.get_rng_state()
    check_pixel_loss(t2i.TextToImage.loss)
    with pytest.raises(AssertionError):
        check_image_to_tokens(checks_t2i._tokens_floored)
    assert torch.equal(state, torch.get_rng_state())
