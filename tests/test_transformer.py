"""Chapter 9: the encoder-decoder Transformer. Properties: shapes, padding, causality, gradients, decoding.

Greedy decoding and beam search on scripted toy models are in test_generation.py; bad input is in
test_errors.py.
"""

import dataclasses

import pytest
import torch

import transformer_lab as tl

from conftest import assert_close_f32, perturb_

SRC_V, TGT_V, MAX_LEN = 13, 11, 12
VARIANTS = [  # the choices TransformerConfig offers beyond the 2017 paper
    dict(),
    dict(norm_first=True),
    dict(positional="learned", activation="gelu"),
    dict(tie_embeddings=True),
]
VARIANT_IDS = ["paper", "pre-LN", "learned-gelu", "tied"]


def config(**kw) -> tl.TransformerConfig:
    return tl.TransformerConfig(
        src_vocab_size=SRC_V,
        tgt_vocab_size=TGT_V,
        d_model=16,
        n_heads=4,
        n_layers=2,
        d_ff=32,
        dropout=0.0,
        max_len=MAX_LEN,
        **kw,
    )


def small(**kw) -> tl.Transformer:
    return tl.Transformer(config(**kw)).eval()


def real_tokens(vocab: int, shape: tuple[int, int]) -> torch.Tensor:
    """Random ids that are not special tokens (pad, bos, eos, unk are 0-3)."""
    return torch.randint(4, vocab, shape)


def test_config_is_frozen_with_the_documented_defaults():
    cfg = config()
    assert (cfg.pad_id, cfg.bos_id, cfg.eos_id) == (0, 1, 2)
    assert (cfg.activation, cfg.norm_first, cfg.positional, cfg.tie_embeddings) == ("relu", False, "sinusoidal", False)
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.d_model = 32


@pytest.mark.parametrize("kw", VARIANTS, ids=VARIANT_IDS)
def test_shapes(kw):
    model = small(**kw)
    src, tgt = real_tokens(SRC_V, (2, 7)), real_tokens(TGT_V, (2, 5))
    memory = model.encode(src)
    assert memory.shape == (2, 7, 16)
    logits = model.decode(tgt, memory, src)
    assert logits.shape == (2, 5, TGT_V)
    assert torch.equal(model(src, tgt), logits)


def test_weight_tying():
    tied = small(tie_embeddings=True)
    assert tied.lm_head.weight is tied.tgt_embed.weight
    untied = small()
    assert untied.lm_head.weight is not untied.tgt_embed.weight


@pytest.mark.parametrize("kw", VARIANTS, ids=VARIANT_IDS)
def test_source_padding_does_not_change_the_outputs(kw):
    model = perturb_(small(**kw), scale=0.3)
    src, tgt = real_tokens(SRC_V, (1, 5)), real_tokens(TGT_V, (1, 4))
    padded = torch.cat([src, torch.full((1, 3), model.config.pad_id)], dim=1)
    assert_close_f32(model.encode(padded)[:, :5], model.encode(src))  # the real tokens' memory
    assert_close_f32(model(padded, tgt), model(src, tgt))


def test_padding_in_a_batch_matches_each_sequence_alone():
    model = perturb_(small(), scale=0.3)
    a, b = real_tokens(SRC_V, (1, 7)), real_tokens(SRC_V, (1, 4))
    batch = torch.cat([a, torch.cat([b, torch.zeros(1, 3, dtype=torch.long)], dim=1)])  # (2, 7), b padded
    tgt = real_tokens(TGT_V, (2, 5))
    logits = model(batch, tgt)
    assert_close_f32(logits[0:1], model(a, tgt[0:1]))
    assert_close_f32(logits[1:2], model(b, tgt[1:2]))


@pytest.mark.parametrize("kw", VARIANTS, ids=VARIANT_IDS)
def test_decoder_is_causal(kw):
    """Changing target token t changes the logits at t and after, never before."""
    model = perturb_(small(**kw), scale=0.3)
    src, tgt = real_tokens(SRC_V, (2, 6)), real_tokens(TGT_V, (2, 6))
    tgt2 = tgt.clone()
    tgt2[:, 4] = (tgt[:, 4] - 4 + 1) % (TGT_V - 4) + 4  # a different real token at position 4
    a, b = model(src, tgt), model(src, tgt2)
    assert torch.equal(a[:, :4], b[:, :4])
    assert (a[:, 4:] - b[:, 4:]).abs().max() > 1e-3


def test_the_output_depends_on_the_source():
    model = perturb_(small(), scale=0.3)
    src, tgt = real_tokens(SRC_V, (2, 6)), real_tokens(TGT_V, (2, 4))
    src2 = src.clone()
    src2[:, -1] = (src[:, -1] - 4 + 1) % (SRC_V - 4) + 4
    assert (model(src, tgt) - model(src2, tgt)).abs().max() > 1e-3  # cross-attention reads the memory


@pytest.mark.parametrize("kw", VARIANTS, ids=VARIANT_IDS)
def test_gradients_reach_every_parameter(kw):
    model = small(**kw).train()
    src, tgt = real_tokens(SRC_V, (2, 6)), real_tokens(TGT_V, (2, 5))
    logits = model(src, tgt)
    tl.label_smoothed_cross_entropy(logits, torch.randint(0, TGT_V, (2, 5))).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None, f"{name} got no gradient"
        assert p.grad.abs().sum() > 0, f"{name} got an all-zero gradient"


def test_greedy_decode_follows_the_argmax_and_starts_with_bos():
    model = perturb_(small(), scale=0.5)
    src = real_tokens(SRC_V, (3, 6))
    out = model.greedy_decode(src, max_len=8)
    assert out.dtype == torch.long and out.shape[0] == 3 and 2 <= out.shape[1] <= 9
    assert (out[:, 0] == model.config.bos_id).all()
    for b in range(3):
        row = out[b]
        for t in range(1, row.shape[0]):  # every token is the argmax given what came before
            if model.config.eos_id in row[:t].tolist():
                assert (row[t:] == model.config.pad_id).all()  # after eos: only padding
                break
            logits = model(src[b : b + 1], row[None, :t])[0, -1]
            assert logits.argmax().item() == row[t].item()


def test_beam_search_with_one_beam_is_greedy():
    model = perturb_(small(), scale=0.5)
    src = real_tokens(SRC_V, (3, 6))
    assert torch.equal(model.beam_search(src, beam_size=1, max_len=8), model.greedy_decode(src, max_len=8))


def test_beam_search_output_format():
    model = perturb_(small(), scale=0.5)
    src = real_tokens(SRC_V, (2, 6))
    out = model.beam_search(src, beam_size=3, max_len=8)
    assert out.dtype == torch.long and out.shape[0] == 2 and 2 <= out.shape[1] <= 9
    assert (out[:, 0] == model.config.bos_id).all()
