"""Chapter 13: the image tokenizer, and the loss on the pixel tokens of a text-then-image stream."""

from __future__ import annotations

import random

import torch
import torch.nn.functional as F

from ..text_to_image import TextToImage, TextToImageConfig, describe, image_to_tokens, prompt_tokenizer
from .engine import N_, Case, Mistake, call, checker, expect_function, run_cases, seeded

# ----------------------------------------------------------------------------------------------------
# The image tokenizer: intensities in [0, 1] -> one token in 0..levels-1 per pixel, row by row
# ----------------------------------------------------------------------------------------------------


def _tokens_floored(images, levels):
    return (images.clamp(0, 1) * (levels - 1)).floor().long().flatten(1)


def _tokens_times_levels(images, levels):
    return (images.clamp(0, 1) * levels).round().long().clamp(max=levels - 1).flatten(1)


def _tokens_equal_bins(images, levels):
    return (images.clamp(0, 1) * levels).floor().long().clamp(max=levels - 1).flatten(1)


def _tokens_column_order(images, levels):
    return (images.clamp(0, 1) * (levels - 1)).round().long().transpose(-2, -1).flatten(1)


def _tokens_unclamped(images, levels):
    return (images * (levels - 1)).round().long().flatten(1)


IMAGE_TOKENS_MISTAKES = [
    Mistake(
        "Your tokens match rounding DOWN (floor, or .long() on its own, which truncates toward zero). Round "
        "to the nearest level: a pixel at 0.9 with 4 levels is 2.7 levels up, so token 3, not 2. "
        "(tokens_to_image maps token k back to k / (levels - 1); rounding is what keeps the error "
        "within half a level.)",
        _tokens_floored,
    ),
    Mistake(
        "Your tokens match scaling by `levels` instead of `levels - 1`. With K levels the tokens are "
        "0..K-1, so there are K - 1 steps between black and white: round(x * (levels - 1)).",
        _tokens_times_levels,
    ),
    Mistake(
        "Your tokens match cutting [0, 1] into `levels` bins of equal width (floor(x * levels)). That is "
        "a fair quantiser, but not the one tokens_to_image undoes: it maps token k back to k / (levels - 1), "
        "so token k must be the level NEAREST to the pixel: round(x * (levels - 1)).",
        _tokens_equal_bins,
    ),
    Mistake(
        "Your tokens are read column by column. Read the image row by row, like text: token 8 * r + c is "
        "row r, column c, which is what images.flatten(1) gives.",
        _tokens_column_order,
    ),
    Mistake(
        "Your tokens go below 0 or above levels - 1 for pixels slightly outside [0, 1]. Clamp the "
        "intensities to [0, 1] first (images.clamp(0, 1)), so every token is a valid id.",
        _tokens_unclamped,
    ),
]


@checker
def check_image_to_tokens(fn) -> None:
    """fn(images (B, 1, 8, 8) in [0, 1], levels) -> (B, 64) int64 tokens in 0..levels-1, row by row."""
    name = "image_to_tokens"
    expect_function(name, fn)
    g = torch.Generator().manual_seed(13)
    digit_like = torch.randint(0, 17, (2, 1, 8, 8), generator=g) / 16.0  # the dataset's 17 grey levels
    cases = [
        Case("random intensities, batch of 3", dict(images=torch.rand(3, 1, 8, 8, generator=g), levels=4)),
        Case("the dataset's grey levels 0/16 .. 16/16, batch of 2", dict(images=digit_like, levels=4)),
        Case("two levels (black and white)", dict(images=torch.rand(2, 1, 8, 8, generator=g), levels=2)),
        Case(
            "noisy pixels a little outside [0, 1], 8 levels",
            dict(images=torch.rand(2, 1, 8, 8, generator=g) * 1.3 - 0.15, levels=8),
        ),
    ]
    run_cases(name, fn, image_to_tokens, cases, call, IMAGE_TOKENS_MISTAKES, fields=("tokens",))


# ----------------------------------------------------------------------------------------------------
# The loss: cross-entropy of the 64 pixels, each predicted from the prompt and the pixels before it
# ----------------------------------------------------------------------------------------------------


def _scored(model, logits, targets, loss=F.cross_entropy, **kwargs):
    K = model.config.levels
    return loss(logits.reshape(-1, K), targets.reshape(-1), **kwargs)


def _loss_shifted_twice(model, text, image_tokens):
    return _scored(model, model(text, image_tokens[:, :-1])[:, :-1], image_tokens[:, 1:])


def _loss_against_own_pixel(model, text, image_tokens):
    return _scored(model, model(text, image_tokens[:, :-1])[:, 1:], image_tokens[:, :-1])


def _loss_without_pixel_0(model, text, image_tokens):
    return _scored(model, model(text, image_tokens[:, :-1])[:, 1:], image_tokens[:, 1:])


def _loss_without_last_pixel(model, text, image_tokens):
    return _scored(model, model(text, image_tokens[:, :-1])[:, :-1], image_tokens[:, :-1])


def _loss_summed(model, text, image_tokens):
    return _scored(model, model(text, image_tokens[:, :-1]), image_tokens, reduction="sum")


def _loss_per_image(model, text, image_tokens):
    return _loss_summed(model, text, image_tokens) / image_tokens.shape[0]


def _loss_of_probabilities(model, text, image_tokens):
    return _scored(model, model(text, image_tokens[:, :-1]).softmax(-1), image_tokens)


def _loss_nll_of_logits(model, text, image_tokens):
    return _scored(model, model(text, image_tokens[:, :-1]), image_tokens, loss=F.nll_loss)


PIXEL_LOSS_MISTAKES = [
    Mistake(
        "Your loss shifts the targets a second time. The model's outputs are already lined up with the "
        "pixels: output j (the separator's, for j = 0) predicts pixel j. Slicing logits[:, :-1] against "
        "image_tokens[:, 1:], as in GPT training, asks each output for the pixel after the next one.",
        _loss_shifted_twice,
    ),
    Mistake(
        "Your loss scores the output at pixel i's position against pixel i itself, which that position has "
        "already read. Each output predicts the NEXT pixel: the separator's output predicts pixel 0, the "
        "output at pixel i predicts pixel i + 1. Score model(text, image_tokens[:, :-1]), 64 outputs, "
        "against all 64 pixels.",
        _loss_against_own_pixel,
    ),
    Mistake(
        "Your loss leaves out pixel 0. The separator's output predicts it (model(text, image_tokens[:, :-1]) "
        "returns 64 outputs, the first from the separator): score all 64.",
        _loss_without_pixel_0,
    ),
    Mistake(
        "Your loss leaves out the last pixel (63). model(text, image_tokens[:, :-1]) already returns one "
        "output per pixel, 64 of them: score all 64 against image_tokens.",
        _loss_without_last_pixel,
    ),
    Mistake(
        "Your loss is the SUM over pixels. Take the mean over all B x 64 pixels (F.cross_entropy's "
        "default), so the loss does not grow with the batch and reads in nats per pixel.",
        _loss_summed,
    ),
    Mistake(
        "Your loss is summed over each image's 64 pixels and averaged over images. Average over every "
        "pixel (F.cross_entropy's default): nats per pixel, comparable with log(K).",
        _loss_per_image,
    ),
    Mistake(
        "Your loss applies softmax before F.cross_entropy. F.cross_entropy takes the raw logits and applies "
        "log_softmax itself.",
        _loss_of_probabilities,
    ),
    Mistake(
        "Your loss is F.nll_loss of the raw logits. nll_loss expects log-probabilities: use "
        "F.cross_entropy(logits, targets), which is nll_loss(log_softmax(logits)).",
        _loss_nll_of_logits,
    ),
]


def _pixel_loss_cases() -> list[Case]:
    tok = prompt_tokenizer()
    g, rng = torch.Generator().manual_seed(13), random.Random(13)
    cases = []
    for label, B, levels, L in (
        (N_("4 levels, batch of 3"), 3, 4, 20),
        (N_("2 levels, batch of 2"), 2, 2, 19),
        (N_("5 levels, one image"), 1, 5, 24),
    ):
        cfg = TextToImageConfig(
            text_vocab_size=tok.vocab_size, max_text_len=L, levels=levels, n_layers=1, n_heads=2, d_model=16, d_ff=32
        )
        model = seeded(TextToImage, dict(config=cfg))  # weights nudged: confident, varied logits
        prompts = [describe(rng.randrange(10), rng.choice(["thin", "bold"]), rng) for _ in range(B)]
        image_tokens = torch.randint(0, levels, (B, 64), generator=g)
        cases.append(Case(label, dict(model=model, text=model.encode_prompts(prompts, tok), image_tokens=image_tokens)))
    return cases


@checker
def check_pixel_loss(fn) -> None:
    """fn(model, text (B, L + 1), image_tokens (B, 64)) -> the mean cross-entropy of the 64 pixels, a scalar."""
    name = "pixel_loss"
    expect_function(name, fn)
    run_cases(name, fn, TextToImage.loss, _pixel_loss_cases(), call, PIXEL_LOSS_MISTAKES, fields=("loss",))
