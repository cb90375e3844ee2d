"""Every mistake a learner can make with bad input gets a clear error from transformer_lab itself.

Each case checks three things: the exception type, a message that names the problem (and usually the
offending value), and that the error is raised inside the transformer_lab package, not by some torch
internal three frames deeper with a message about tensor sizes.
"""

from functools import cache
from pathlib import Path

import pytest
import torch
from torch import nn
from transformers import GPT2Config, GPT2LMHeadModel

import transformer_lab as tl

PACKAGE = Path(tl.__file__).resolve().parent


@cache
def gpt() -> tl.GPT:
    return tl.GPT(tl.GPTConfig(vocab_size=20, block_size=10, n_layers=1, n_heads=2, d_model=8)).eval()


@cache
def transformer() -> tl.Transformer:
    cfg = tl.TransformerConfig(
        src_vocab_size=13, tgt_vocab_size=11, d_model=8, n_heads=2, n_layers=1, d_ff=16, dropout=0.0, max_len=12
    )
    return tl.Transformer(cfg).eval()


@cache
def vit() -> tl.ViT:
    cfg = tl.ViTConfig(
        image_size=8, patch_size=4, in_channels=1, n_classes=3, d_model=8, n_layers=1, n_heads=2, d_ff=16
    )
    return tl.ViT(cfg).eval()


def ids(*rows) -> torch.Tensor:
    return torch.tensor(rows, dtype=torch.long)


def hf_gpt2(**options) -> GPT2LMHeadModel:
    cfg = GPT2Config(
        n_layer=1, n_head=2, n_embd=8, n_positions=8, vocab_size=10, bos_token_id=None, eos_token_id=None, **options
    )
    return GPT2LMHeadModel(cfg)


q, k, v = torch.randn(2, 3, 5, 4), torch.randn(2, 3, 7, 4), torch.randn(2, 3, 7, 6)
x16 = torch.randn(2, 5, 16)
prompt = ids([1, 2])

CASES = [
    # --- a head count that does not divide d_model -------------------------------------------------------
    pytest.param(
        lambda: tl.MultiHeadAttention(d_model=16, n_heads=3),
        ValueError,
        r"n_heads=3 does not divide d_model=16",
        id="mha-heads-do-not-divide",
    ),
    pytest.param(
        lambda: tl.GPTConfig(vocab_size=5, block_size=4, n_heads=3, d_model=16),
        ValueError,
        r"n_heads=3 does not divide d_model=16",
        id="gpt-config-heads-do-not-divide",
    ),
    pytest.param(
        lambda: tl.TransformerConfig(src_vocab_size=5, tgt_vocab_size=5, d_model=10, n_heads=4),
        ValueError,
        r"n_heads=4 does not divide d_model=10",
        id="transformer-config-heads-do-not-divide",
    ),
    pytest.param(
        lambda: tl.ViT(tl.ViTConfig(image_size=8, patch_size=4, d_model=16, n_heads=3)),
        ValueError,
        r"n_heads=3 does not divide d_model=16",
        id="vit-heads-do-not-divide",
    ),
    pytest.param(
        lambda: tl.EncoderLayer(d_model=16, n_heads=5, d_ff=32),
        ValueError,
        r"n_heads=5 does not divide d_model=16",
        id="encoder-layer-heads-do-not-divide",
    ),
    # --- a sequence longer than the context -------------------------------------------------------------
    pytest.param(
        lambda: gpt()(torch.zeros(1, 11, dtype=torch.long)),
        ValueError,
        r"sequence of 11 tokens is longer than the context block_size=10",
        id="gpt-longer-than-block-size",
    ),
    pytest.param(
        lambda: transformer()(torch.full((1, 13), 5), ids([1, 4])),
        ValueError,
        r"source ids has length 13, longer than max_len=12",
        id="transformer-source-longer-than-max-len",
    ),
    pytest.param(
        lambda: transformer()(ids([5, 6]), torch.full((1, 13), 4)),
        ValueError,
        r"target ids has length 13, longer than max_len=12",
        id="transformer-target-longer-than-max-len",
    ),
    pytest.param(
        lambda: tl.LearnedPositionalEmbedding(max_len=10, d_model=8)(torch.zeros(1, 11, 8)),
        ValueError,
        r"sequence too long: positions 0\.\.10 but the encoding has max_len=10",
        id="learned-positions-too-long",
    ),
    pytest.param(
        lambda: tl.LearnedPositionalEmbedding(max_len=10, d_model=8)(torch.zeros(1, 4, 8), start=7),
        ValueError,
        r"sequence too long: positions 7\.\.10 .*max_len=10",
        id="learned-positions-start-too-late",
    ),
    pytest.param(
        lambda: tl.SinusoidalPositionalEncoding(max_len=10, d_model=8)(torch.zeros(1, 11, 8)),
        ValueError,
        r"sequence too long.*max_len=10",
        id="sinusoidal-positions-too-long",
    ),
    pytest.param(
        lambda: tl.RotaryEmbedding(head_dim=4, max_len=10)(torch.zeros(1, 1, 11, 4)),
        ValueError,
        r"sequence too long.*max_len=10",
        id="rotary-positions-too-long",
    ),
    # --- token ids outside the vocabulary ---------------------------------------------------------------
    pytest.param(
        lambda: gpt()(ids([1, 20])), ValueError, r"contain 20, outside the vocabulary \[0, 20\)", id="gpt-id-too-large"
    ),
    pytest.param(
        lambda: gpt()(ids([-1, 2])), ValueError, r"contain -1, outside the vocabulary \[0, 20\)", id="gpt-id-negative"
    ),
    pytest.param(
        lambda: gpt().generate(ids([3, 25]), 2),
        ValueError,
        r"contain 25, outside the vocabulary",
        id="gpt-generate-id-too-large",
    ),
    pytest.param(
        lambda: transformer()(ids([5, 13]), ids([1, 4])),
        ValueError,
        r"source ids contain 13, outside the vocabulary \[0, 13\)",
        id="transformer-source-id-too-large",
    ),
    pytest.param(
        lambda: transformer()(ids([5, 6]), ids([1, 11])),
        ValueError,
        r"target ids contain 11, outside the vocabulary \[0, 11\)",
        id="transformer-target-id-too-large",
    ),
    pytest.param(
        lambda: transformer().greedy_decode(ids([5, 99])),
        ValueError,
        r"source ids contain 99, outside the vocabulary",
        id="greedy-decode-id-too-large",
    ),
    # --- token ids of a float dtype ---------------------------------------------------------------------
    pytest.param(
        lambda: gpt()(torch.tensor([[1.0, 2.0]])),
        TypeError,
        r"must have an integer dtype \(torch\.long\), got torch\.float32",
        id="gpt-float-ids",
    ),
    pytest.param(
        lambda: gpt().generate(torch.tensor([[1.0, 2.0]]), 2), TypeError, r"integer dtype", id="gpt-generate-float-ids"
    ),
    pytest.param(
        lambda: transformer()(torch.tensor([[5.0, 6.0]]), ids([1, 4])),
        TypeError,
        r"source ids must have an integer dtype",
        id="transformer-float-source",
    ),
    pytest.param(
        lambda: transformer()(ids([5, 6]), torch.tensor([[1.0, 4.0]])),
        TypeError,
        r"target ids must have an integer dtype",
        id="transformer-float-target",
    ),
    pytest.param(
        lambda: gpt()(torch.tensor([1, 2])),
        ValueError,
        r"token ids must have shape \(B, T\), got \(2,\)",
        id="gpt-ids-without-batch-dimension",
    ),
    # --- attention inputs -------------------------------------------------------------------------------
    pytest.param(
        lambda: tl.scaled_dot_product_attention(q, torch.randn(2, 3, 7, 5), v),
        ValueError,
        r"q and k must have the same width d_k to be dotted: q has 4, k has 5",
        id="attention-qk-width",
    ),
    pytest.param(
        lambda: tl.fast_attention(q, torch.randn(2, 3, 7, 5), v),
        ValueError,
        r"same width d_k.*q has 4, k has 5",
        id="fast-attention-qk-width",
    ),
    pytest.param(
        lambda: tl.scaled_dot_product_attention(q, k, torch.randn(2, 3, 6, 6)),
        ValueError,
        r"k and v must have the same length T_k: k has 7, v has 6",
        id="attention-kv-length",
    ),
    pytest.param(
        lambda: tl.scaled_dot_product_attention(q, k, v, torch.ones(5, 6, dtype=torch.bool)),
        ValueError,
        r"mask of shape \(5, 6\) cannot broadcast to the attention scores .*\(2, 3, 5, 7\)",
        id="attention-mask-cannot-broadcast",
    ),
    pytest.param(
        lambda: tl.scaled_dot_product_attention(q, k, v, torch.ones(4, 2, 3, 5, 7, dtype=torch.bool)),
        ValueError,
        r"mask of shape \(4, 2, 3, 5, 7\) cannot broadcast",
        id="attention-mask-too-many-dims",
    ),
    pytest.param(
        lambda: tl.fast_attention(q, k, v, torch.ones(3, 1, 5, 7, dtype=torch.bool)),
        ValueError,
        r"mask of shape \(3, 1, 5, 7\) cannot broadcast",
        id="fast-attention-mask-cannot-broadcast",
    ),
    pytest.param(
        lambda: tl.fast_attention(q, k, v, is_causal=True),
        ValueError,
        r"is_causal=True needs as many queries as keys .*got T_q=5, T_k=7",
        id="fast-attention-causal-not-square",
    ),
    pytest.param(
        lambda: tl.fast_attention(k, k, v, torch.ones(7, 7, dtype=torch.bool), is_causal=True),
        ValueError,
        r"is_causal=True, but the mask of shape \(7, 7\) is not causal_mask\(7\)",
        id="fast-attention-causal-hint-wrong",
    ),
    pytest.param(
        lambda: tl.MultiHeadAttention(d_model=16, n_heads=4)(x16, x16, x16, torch.ones(2, 1, 5, 4, dtype=torch.bool)),
        ValueError,
        r"mask of shape \(2, 1, 5, 4\) cannot broadcast",
        id="mha-mask-cannot-broadcast",
    ),
    pytest.param(
        lambda: tl.scaled_dot_product_attention(q, k, v, torch.ones(5, 7)),
        TypeError,
        r"the mask must be boolean \(True = may attend\), got dtype torch\.float32",
        id="attention-float-mask",
    ),
    pytest.param(
        lambda: tl.MultiHeadAttention(d_model=16, n_heads=4)(torch.randn(2, 5, 12), x16, x16),
        ValueError,
        r"query must have shape \(B, T, d_model=16\), got \(2, 5, 12\)",
        id="mha-wrong-width",
    ),
    pytest.param(
        lambda: tl.causal_mask(0), ValueError, r"causal_mask needs a positive int length, got 0", id="causal-mask-empty"
    ),
    pytest.param(
        lambda: tl.padding_mask(torch.zeros(2, 3, 4, dtype=torch.long), 0),
        ValueError,
        r"padding_mask takes token ids of shape \(B, T\), got \(2, 3, 4\)",
        id="padding-mask-3d",
    ),
    # --- images ----------------------------------------------------------------------------------------
    pytest.param(
        lambda: tl.ViTConfig(image_size=8, patch_size=3),
        ValueError,
        r"patch_size=3 does not divide image_size=8",
        id="vit-patch-does-not-divide",
    ),
    pytest.param(
        lambda: vit()(torch.randn(2, 1, 16, 16)),
        ValueError,
        r"images must have shape \(B, 1, 8, 8\), got \(2, 1, 16, 16\)",
        id="vit-wrong-image-size",
    ),
    pytest.param(
        lambda: vit()(torch.randn(2, 3, 8, 8)),
        ValueError,
        r"images must have shape \(B, 1, 8, 8\), got \(2, 3, 8, 8\)",
        id="vit-wrong-channels",
    ),
    pytest.param(
        lambda: vit()(torch.randn(1, 8, 8)),
        ValueError,
        r"images must have shape \(B, 1, 8, 8\)",
        id="vit-missing-batch-dimension",
    ),
    # --- sampling arguments -----------------------------------------------------------------------------
    pytest.param(
        lambda: gpt().generate(prompt, 3, do_sample=True, temperature=0.0),
        ValueError,
        r"temperature must be > 0, got 0\.0",
        id="temperature-zero",
    ),
    pytest.param(
        lambda: gpt().generate(prompt, 3, do_sample=True, temperature=-1.0),
        ValueError,
        r"temperature must be > 0, got -1\.0",
        id="temperature-negative",
    ),
    pytest.param(
        lambda: tl.sample_next_token(torch.randn(1, 5), do_sample=True, temperature=0),
        ValueError,
        r"temperature must be > 0",
        id="sample-next-token-temperature",
    ),
    pytest.param(
        lambda: gpt().generate(prompt, 3, do_sample=True, top_k=0),
        ValueError,
        r"top_k must be an int >= 1 or None \(no top-k\), got 0",
        id="top-k-zero",
    ),
    pytest.param(
        lambda: gpt().generate(prompt, 3, do_sample=True, top_k=-2),
        ValueError,
        r"top_k must be an int >= 1.*got -2",
        id="top-k-negative",
    ),
    pytest.param(
        lambda: gpt().generate(prompt, 3, do_sample=True, top_k=2.5),
        ValueError,
        r"top_k must be an int >= 1.*got 2\.5",
        id="top-k-float",
    ),
    pytest.param(
        lambda: gpt().generate(prompt, 3, do_sample=True, top_p=0.0),
        ValueError,
        r"top_p must be in \(0, 1\], got 0\.0",
        id="top-p-zero",
    ),
    pytest.param(
        lambda: gpt().generate(prompt, 3, do_sample=True, top_p=1.5),
        ValueError,
        r"top_p must be in \(0, 1\], got 1\.5",
        id="top-p-above-one",
    ),
    pytest.param(
        lambda: gpt().generate(prompt, 3, do_sample=True, top_p=-0.1),
        ValueError,
        r"top_p must be in \(0, 1\], got -0\.1",
        id="top-p-negative",
    ),
    pytest.param(
        lambda: transformer().beam_search(ids([5, 6]), beam_size=0),
        ValueError,
        r"beam_size must be an int >= 1, got 0",
        id="beam-size-zero",
    ),
    # --- unknown activation and other configuration -----------------------------------------------------
    pytest.param(
        lambda: tl.FeedForward(d_model=4, d_ff=8, activation="swish"),
        ValueError,
        r"unknown activation 'swish'; expected one of \['gelu', 'gelu_tanh', 'relu'\]",
        id="feed-forward-unknown-activation",
    ),
    pytest.param(
        lambda: tl.EncoderLayer(d_model=8, n_heads=2, d_ff=16, activation="tanh"),
        ValueError,
        r"unknown activation 'tanh'",
        id="encoder-layer-unknown-activation",
    ),
    pytest.param(
        lambda: tl.Transformer(tl.TransformerConfig(src_vocab_size=5, tgt_vocab_size=5, activation="silu")),
        ValueError,
        r"unknown activation 'silu'",
        id="transformer-unknown-activation",
    ),
    pytest.param(
        lambda: tl.GPT(tl.GPTConfig(vocab_size=5, block_size=4, n_layers=1, d_model=8, activation="Gelu")),
        ValueError,
        r"unknown activation 'Gelu'",
        id="gpt-unknown-activation",
    ),
    pytest.param(
        lambda: tl.from_torch(nn.TransformerEncoderLayer(8, 2, 16, activation=torch.tanh, batch_first=True)),
        ValueError,
        r"unsupported activation .*expected relu or gelu",
        id="from-torch-unknown-activation",
    ),
    pytest.param(
        lambda: tl.from_torch(nn.Linear(2, 2)),
        TypeError,
        r"from_torch takes one of nn\.MultiheadAttention, .*nn\.TransformerEncoderLayer, .*got Linear",
        id="from-torch-wrong-module",
    ),
    pytest.param(
        lambda: tl.TransformerConfig(src_vocab_size=5, tgt_vocab_size=5, positional="rotary"),
        ValueError,
        r"positional must be 'sinusoidal' or 'learned', got 'rotary'",
        id="transformer-unknown-positional",
    ),
    pytest.param(
        lambda: tl.GPTConfig(vocab_size=5, block_size=4, positional="sinusoidal"),
        ValueError,
        r"positional must be 'learned' or 'rope', got 'sinusoidal'",
        id="gpt-unknown-positional",
    ),
    pytest.param(
        lambda: tl.ViTConfig(image_size=8, patch_size=4, pool="max"),
        ValueError,
        r"pool must be 'cls' or 'mean', got 'max'",
        id="vit-unknown-pool",
    ),
    pytest.param(
        lambda: tl.sinusoidal_encoding(10, 7),
        ValueError,
        r"sinusoidal_encoding needs an even d_model \(sin/cos pairs\), got 7",
        id="sinusoidal-odd-d-model",
    ),
    pytest.param(
        lambda: tl.RotaryEmbedding(head_dim=5, max_len=10),
        ValueError,
        r"RotaryEmbedding needs an even head_dim.*got 5",
        id="rotary-odd-head-dim",
    ),
    # --- GPT-2 options GPT.from_hf does not implement ---------------------------------------------------
    pytest.param(
        lambda: tl.GPT.from_hf(hf_gpt2(scale_attn_by_inverse_layer_idx=True)),
        ValueError,
        r"does not implement the GPT-2 option scale_attn_by_inverse_layer_idx",
        id="from-hf-inverse-layer-idx",
    ),
    pytest.param(
        lambda: tl.GPT.from_hf(hf_gpt2(reorder_and_upcast_attn=True)),
        ValueError,
        r"does not implement the GPT-2 option reorder_and_upcast_attn",
        id="from-hf-reorder-and-upcast",
    ),
    pytest.param(
        lambda: tl.GPT.from_hf(hf_gpt2(add_cross_attention=True)),
        ValueError,
        r"does not implement the GPT-2 option add_cross_attention",
        id="from-hf-cross-attention",
    ),
    pytest.param(
        lambda: tl.GPT.from_hf(hf_gpt2(scale_attn_weights=False)),
        ValueError,
        r"does not implement the GPT-2 option scale_attn_weights=False",
        id="from-hf-unscaled-attention",
    ),
    pytest.param(
        lambda: tl.GPT.from_hf(hf_gpt2(activation_function="relu")),
        ValueError,
        r"tanh GELU of GPT-2 \(gelu_new\), got activation_function='relu'",
        id="from-hf-relu",
    ),
    pytest.param(
        lambda: tl.GPT.from_hf(hf_gpt2(activation_function="gelu")),
        ValueError,
        r"got activation_function='gelu'",
        id="from-hf-exact-gelu",
    ),
    # --- tokenizer, losses, checkpoints, plots -----------------------------------------------------------
    pytest.param(
        lambda: tl.CharTokenizer("ab").encode(["a"]),
        TypeError,
        r"encode takes a str, got list",
        id="tokenizer-encode-not-a-string",
    ),
    pytest.param(
        lambda: tl.CharTokenizer("ab").decode([99]),
        ValueError,
        r"token id 99 is outside the vocabulary \[0, 6\)",
        id="tokenizer-decode-unknown-id",
    ),
    pytest.param(
        lambda: tl.CharTokenizer("ab").decode(torch.zeros(2, 2, dtype=torch.long)),
        ValueError,
        r"decode takes a 1-D sequence of ids, got shape \(2, 2\)",
        id="tokenizer-decode-2d",
    ),
    pytest.param(
        lambda: tl.CharTokenizer(["ab"]),
        ValueError,
        r"CharTokenizer takes single characters, got 'ab'",
        id="tokenizer-multi-character-token",
    ),
    pytest.param(
        lambda: tl.pad_batch([], 0), ValueError, r"pad_batch needs at least one sequence", id="pad-batch-empty"
    ),
    pytest.param(
        lambda: tl.train_bpe(["some", "text"], 300),
        TypeError,
        r"train_bpe takes the training text as a str, got list",
        id="bpe-train-not-a-string",
    ),
    pytest.param(
        lambda: tl.train_bpe("some text", 100),
        ValueError,
        r"vocab_size must be an int >= 260 \(4 special tokens \+ 256 bytes\), got 100",
        id="bpe-vocab-size-too-small",
    ),
    pytest.param(
        lambda: tl.train_bpe("some text", 300.0),
        ValueError,
        r"vocab_size must be an int >= 260 .*got 300\.0",
        id="bpe-vocab-size-float",
    ),
    pytest.param(
        lambda: tl.BPETokenizer([]).encode(b"bytes"),
        TypeError,
        r"encode takes a str, got bytes",
        id="bpe-encode-not-a-string",
    ),
    pytest.param(
        lambda: tl.BPETokenizer([]).encode("ab\ud800c"),
        ValueError,
        r"text holds '\\ud800' at index 2, a lone surrogate that has no UTF-8 bytes",
        id="bpe-encode-lone-surrogate",
    ),
    pytest.param(
        lambda: tl.BPETokenizer([]).decode([260]),
        ValueError,
        r"token id 260 is outside the vocabulary \[0, 260\)",
        id="bpe-decode-unknown-id",
    ),
    pytest.param(
        lambda: tl.BPETokenizer([]).decode(torch.zeros(2, 2, dtype=torch.long)),
        ValueError,
        r"decode takes a 1-D sequence of ids, got shape \(2, 2\)",
        id="bpe-decode-2d",
    ),
    pytest.param(
        lambda: tl.BPETokenizer([(4, 5), (260, 300)]),
        ValueError,
        r"merge 1 is \(260, 300\), but only ids below 261 exist",
        id="bpe-merge-of-unknown-ids",
    ),
    pytest.param(
        lambda: tl.label_smoothed_cross_entropy(torch.randn(2, 5), ids(1, 2)[0], smoothing=1.0),
        ValueError,
        r"smoothing must be in \[0, 1\), got 1\.0",
        id="label-smoothing-one",
    ),
    pytest.param(
        lambda: tl.plot_attention(torch.rand(2, 3, 4)),
        ValueError,
        r"plot_attention takes one \(T_q, T_k\) matrix, got shape \(2, 3, 4\); pick a batch item and head",
        id="plot-attention-3d",
    ),
    pytest.param(
        lambda: tl.plot_token_splits([]),
        ValueError,
        r"plot_token_splits needs at least one \(label, tokens\) row",
        id="plot-token-splits-empty",
    ),
]


@pytest.mark.parametrize("call,error,message", CASES)
def test_bad_input_gets_a_clear_error_from_our_code(call, error, message):
    with pytest.raises(error, match=message) as excinfo:
        call()
    raised_in = Path(str(excinfo.traceback[-1].path)).resolve()
    assert raised_in.parent == PACKAGE, f"{error.__name__} came from {raised_in}, not from transformer_lab"


def test_load_checkpoint_without_optimizer_state(tmp_path):
    model = nn.Linear(2, 2)
    tl.save_checkpoint(tmp_path / "weights.pt", model)  # weights only
    with pytest.raises(ValueError, match=r"weights\.pt holds no optimizer state"):
        tl.load_checkpoint(tmp_path / "weights.pt", model, torch.optim.SGD(model.parameters(), lr=0.1))


def test_top_k_rejects_a_bool():
    with pytest.raises(ValueError, match="top_k must be an int >= 1"):
        gpt().generate(torch.tensor([[1, 2]]), 2, do_sample=True, top_k=True)


def test_max_len_zero_means_zero_new_tokens():
    src = torch.tensor([[3, 4, 5]])
    assert transformer().greedy_decode(src, max_len=0).shape == (1, 1)  # only <bos>
    assert transformer().beam_search(src, beam_size=2, max_len=0).shape == (1, 1)
