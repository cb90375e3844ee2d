"""The chapter-15 checker (training FLOPs per token), and the package function it compares with."""

import re

import pytest
import torch

import transformer_lab as tl
from transformer_lab.checks import check_training_flops, scaling

# ----------------------------------------------------------------------------------------------------
# Correct implementations written differently from the package's
# ----------------------------------------------------------------------------------------------------


def flops_from_count_parameters(model):
    """All parameters minus the two tables, read off the modules; a rotary model has no wpe."""
    cfg = model.config
    n = tl.count_parameters(model) - model.wte.weight.numel()
    if model.wpe is not None:
        n -= sum(p.numel() for p in model.wpe.parameters())
    return 6 * n + 12 * cfg.n_layers * cfg.block_size * cfg.d_model


def flops_forward_times_three(model):
    """The forward pass, term by term, then times 3 for forward + backward, as a float tensor."""
    cfg = model.config
    layers = sum(p.numel() for block in model.blocks for p in block.parameters())
    final = sum(p.numel() for p in model.ln_f.parameters())
    head = 0 if cfg.tie_embeddings else model.lm_head.weight.numel()
    scores, weighted_values = cfg.block_size * cfg.d_model, cfg.block_size * cfg.d_model  # multiply-adds per layer
    forward = 2 * (layers + final + head) + cfg.n_layers * 2 * (scores + weighted_values)
    return torch.tensor(3.0 * forward)


CORRECT = {check_training_flops: [tl.training_flops_per_token, flops_from_count_parameters, flops_forward_times_three]}

MISTAKES = {check_training_flops: scaling.TRAINING_FLOPS_MISTAKES}


def test_the_mistakes_differ_from_the_reference_on_the_first_case():
    for check, mistakes in MISTAKES.items():
        for mistake in mistakes:
            with pytest.raises(AssertionError, match=r"Case 1 of 3"):
                check(mistake.impl)


def test_wrong_types_are_explained():
    with pytest.raises(AssertionError, match=re.escape("`FLOPs` is None, not a torch.Tensor. Did you forget")):
        check_training_flops(lambda model: None)
    with pytest.raises(AssertionError, match="pass your function itself"):
        check_training_flops(tl.GPT)


# ----------------------------------------------------------------------------------------------------
# tl.training_flops_per_token itself
# ----------------------------------------------------------------------------------------------------


def test_training_flops_per_token_by_hand():
    """2 layers, D=64, T=64, V=64, MLP 256: every non-embedding parameter counted by hand."""
    model = tl.GPT(tl.GPTConfig(vocab_size=64, block_size=64, n_layers=2, n_heads=4, d_model=64))
    D, L, T = 64, 2, 64
    per_layer = 4 * (D * D + D) + (D * 4 * D + 4 * D) + (4 * D * D + D) + 2 * 2 * D  # attention, MLP, 2 LayerNorms
    n = L * per_layer + 2 * D  # + the final LayerNorm
    assert tl.training_flops_per_token(model) == 6 * n + 12 * L * T * D == 698_880


def test_training_flops_per_token_counts_gpt2_small_on_the_meta_device():
    """GPT-2 small (124M parameters, 85M of them outside the embeddings), built without allocating memory."""
    with torch.device("meta"):
        model = tl.GPT(tl.GPTConfig(vocab_size=50257, block_size=1024, n_layers=12, n_heads=12, d_model=768))
    n = 124_439_808 - 50257 * 768 - 1024 * 768
    assert tl.training_flops_per_token(model) == 6 * n + 12 * 12 * 1024 * 768


def test_an_untied_head_is_counted_and_rotary_has_no_table():
    cfg = dict(vocab_size=30, block_size=8, n_layers=1, n_heads=2, d_model=16)
    tied, untied = tl.GPT(tl.GPTConfig(**cfg)), tl.GPT(tl.GPTConfig(**cfg, tie_embeddings=False))
    assert tl.training_flops_per_token(untied) - tl.training_flops_per_token(tied) == 6 * 30 * 16
    rope = tl.GPT(tl.GPTConfig(**cfg, positional="rope"))
    assert tl.training_flops_per_token(rope) == tl.training_flops_per_token(tied)
