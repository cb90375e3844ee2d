"""Chapter 13: the image tokenizer, prompts, and the text-to-image Transformer."""

import random

import pytest
import torch

from transformer_lab import text_to_image as t2i

from conftest import perturb_


def small(levels=4):
    tok = t2i.prompt_tokenizer()
    model = t2i.TextToImage(
        t2i.TextToImageConfig(
            text_vocab_size=tok.vocab_size, max_text_len=12, levels=levels, n_layers=2, n_heads=2, d_model=16, d_ff=32
        )
    )
    return model, tok


def test_image_tokenizer_round_trip_and_error():
    images = torch.rand(5, 1, 8, 8)
    tokens = t2i.image_to_tokens(images, levels=4)
    assert tokens.shape == (5, 64) and tokens.min() >= 0 and tokens.max() <= 3
    back = t2i.tokens_to_image(tokens, levels=4)
    assert back.shape == images.shape
    assert (back - images).abs().max() <= 1 / 6 + 1e-6  # half a level step: 1 / (2 * (K - 1))
    assert torch.equal(t2i.image_to_tokens(back, levels=4), tokens)  # decoding then encoding is exact
    dot = torch.zeros(1, 1, 8, 8)
    dot[0, 0, 1, 2] = 1.0  # row 1, column 2
    assert t2i.image_to_tokens(dot, levels=4)[0].nonzero().tolist() == [[10]]  # read row by row: 1 * 8 + 2
    with pytest.raises(ValueError, match="B, 1, 8, 8"):
        t2i.image_to_tokens(torch.rand(5, 8, 8), levels=4)


def test_prompts_cover_english_korean_and_thickness():
    rng = random.Random(0)
    prompts = {t2i.describe(7, "thin", rng) for _ in range(300)}
    assert {"a seven", "7", "숫자 칠", "a thin seven"} <= prompts
    tok = t2i.prompt_tokenizer()
    for d in range(10):
        for thickness in ("thin", "bold"):
            for _ in range(20):
                assert tok.unk_id not in tok.encode(t2i.describe(d, thickness, rng))
    images = torch.zeros(4, 1, 8, 8)
    images[1] += 0.5
    images[3] += 0.5
    assert t2i.stroke_thickness(images, torch.tensor([1, 1, 2, 2])) == ["thin", "bold", "thin", "bold"]


def test_shapes_loss_and_generation():
    model, tok = small()
    text = model.encode_prompts(["a seven", "숫자 칠"], tok)
    assert text.shape == (2, 13) and (text[:, -1] == model.config.sep_id).all()
    assert text[0, 0] == tok.pad_id  # right-aligned: padding on the left
    pixels = torch.randint(0, 4, (2, 64))
    assert model(text, pixels[:, :-1]).shape == (2, 64, 4)
    loss = model.loss(text, pixels)
    loss.backward()
    assert loss.item() > 0
    out = model.generate(text, temperature=1.0, generator=torch.Generator().manual_seed(0))
    assert out.shape == (2, 64) and out.min() >= 0 and out.max() <= 3
    again = model.generate(text, temperature=1.0, generator=torch.Generator().manual_seed(0))
    assert torch.equal(out, again)


def test_generation_with_the_cache_samples_what_the_full_forward_predicts():
    model, tok = small()
    perturb_(model).eval()
    text = model.encode_prompts(["two"], tok)
    out = model.generate(text, top_k=1)  # top-k 1: the argmax at every step
    full = model(text, out[:, :-1])  # (1, 64, K) without a cache
    assert torch.equal(full.argmax(-1), out)


def test_generate_runs_without_autograd_and_returns_ordinary_pixels_to_train_on():
    """generate runs under torch.inference_mode, like GPT.generate; what it returns must not be an inference tensor."""
    model, tok = small()
    text = model.encode_prompts(["a three"], tok)
    seen = []
    hook = model.image_head.register_forward_hook(
        lambda module, args, out: seen.append(torch.is_inference_mode_enabled())
    )
    out = model.generate(text, top_k=2, generator=torch.Generator().manual_seed(0))
    hook.remove()
    assert len(seen) == 64 and all(seen)  # every pixel's head ran in inference mode
    assert not out.is_inference()
    model.train().zero_grad()
    model.loss(text, out).backward()  # the embedding saves the pixel ids for backward
    assert model.gpt.wte.weight.grad.abs().sum() > 0
    out[:, 0] = 0  # an in-place change outside inference mode


def test_causal_across_the_text_image_boundary():
    model, tok = small()
    perturb_(model).eval()
    text = model.encode_prompts(["a one", "a two"], tok)
    pixels = torch.randint(0, 4, (1, 63)).expand(2, -1)
    with torch.no_grad():
        logits = model(text, pixels)
        changed = pixels.clone()
        changed[:, 40] = (changed[:, 40] + 1) % 4
        logits_changed = model(text, changed)
    # Pixel 40 is read from position 41 on: the predictions of pixels 0..40 cannot move.
    assert torch.equal(logits[:, :41], logits_changed[:, :41])
    assert not torch.allclose(logits[:, 41:], logits_changed[:, 41:])
    assert not torch.allclose(logits[0], logits[1])  # the text reaches every pixel


def test_bad_prompts_get_clear_errors():
    model, tok = small()
    with pytest.raises(ValueError, match="does not know"):
        model.encode_prompts(["a Seven!"], tok)
    with pytest.raises(ValueError, match="max_text_len=12"):
        model.encode_prompts(["a handwritten seven"], tok)
    with pytest.raises(ValueError, match="at least one character"):
        model.encode_prompts(["   "], tok)
    with pytest.raises(TypeError, match="list of strings"):
        model.encode_prompts("a seven", tok)
    text = model.encode_prompts(["a one"], tok)
    with pytest.raises(ValueError, match="image tokens"):
        model(text, torch.full((1, 5), 4))


def test_config_errors():
    with pytest.raises(ValueError, match="levels"):
        t2i.TextToImageConfig(text_vocab_size=10, levels=1)
    with pytest.raises(ValueError, match="does not divide"):
        t2i.TextToImage(t2i.TextToImageConfig(text_vocab_size=10, n_heads=3, d_model=64))
