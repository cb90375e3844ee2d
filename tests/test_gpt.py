"""Chapter 11: GPT against Hugging Face's GPT2LMHeadModel, and its own properties.

The reference is built from a config with random weights (no download), then perturbed: GPT-2's default
init (std 0.02, LayerNorm at 1/0) would hide a wrong GELU variant or a swapped LayerNorm. HF runs its
"eager" attention, the plainly written one. Refused GPT-2 options and bad input are in test_errors.py.
"""

import pytest
import torch
from transformers import GPT2Config, GPT2LMHeadModel

import transformer_lab as tl

from conftest import ATOL, assert_close_f32, perturb_

V, BLOCK = 50, 24


def hf_model(**kw) -> GPT2LMHeadModel:
    cfg = dict(
        n_layer=2,
        n_head=4,
        n_embd=32,
        n_positions=BLOCK,
        vocab_size=V,
        resid_pdrop=0.0,
        embd_pdrop=0.0,
        attn_pdrop=0.0,
        bos_token_id=None,
        eos_token_id=None,
        attn_implementation="eager",
    )
    cfg.update(kw)
    torch.manual_seed(0)
    return perturb_(GPT2LMHeadModel(GPT2Config(**cfg))).eval()


@pytest.fixture(scope="module")
def pair():
    hf = hf_model()
    return hf, tl.GPT.from_hf(hf).eval()


def test_from_hf_reads_the_config(pair):
    hf, ours = pair
    cfg = ours.config
    assert (cfg.vocab_size, cfg.block_size, cfg.n_layers, cfg.n_heads, cfg.d_model) == (V, BLOCK, 2, 4, 32)
    assert ours.lm_head.weight is ours.wte.weight  # GPT-2 ties the head to the token embedding


@pytest.mark.parametrize("fast", [True, False], ids=["fast-path", "teaching-path"])
def test_logits_match_hugging_face(pair, fast):
    hf, ours = pair
    idx = torch.randint(0, V, (3, 17))
    try:
        assert_close_f32(tl.set_fast_path(ours, fast)(idx), hf(idx).logits)
    finally:
        tl.set_fast_path(ours, True)  # the module-scoped model goes back to a new GPT's path


def test_logits_match_hugging_face_with_an_untied_head_and_a_custom_mlp_width():
    hf = hf_model(tie_word_embeddings=False, n_inner=48, layer_norm_epsilon=1e-3)
    assert hf.lm_head.weight is not hf.transformer.wte.weight
    ours = tl.GPT.from_hf(hf).eval()
    assert ours.lm_head.weight is not ours.wte.weight
    idx = torch.randint(0, V, (2, 11))
    assert_close_f32(ours(idx), hf(idx).logits)


def test_parity_would_catch_the_wrong_gelu(pair):
    """GPT-2 uses GELU's tanh approximation; the exact GELU is close but, with perturbed weights, visibly not equal."""
    hf, ours = pair
    idx = torch.randint(0, V, (3, 17))
    wrong = tl.GPT.from_hf(hf).eval()
    for block in wrong.blocks:
        block.mlp.activation = "gelu"
    assert (wrong(idx) - hf(idx).logits).abs().max().item() > 5 * ATOL


def test_greedy_generation_matches_hugging_face_with_and_without_cache(pair):
    hf, ours = pair
    prompt = torch.randint(0, V, (2, 4))
    expected = hf.generate(
        prompt, max_new_tokens=15, do_sample=False, attention_mask=torch.ones_like(prompt), pad_token_id=0
    )
    assert expected.shape == (2, 19)
    assert torch.equal(ours.generate(prompt, 15, use_cache=True), expected)
    assert torch.equal(ours.generate(prompt, 15, use_cache=False), expected)


def test_round_trip_to_hugging_face(pair):
    _, ours = pair
    back = ours.to_hf()
    idx = torch.randint(0, V, (2, 9))
    assert_close_f32(back(idx).logits, ours(idx))


def small(**kw) -> tl.GPT:
    return tl.GPT(tl.GPTConfig(vocab_size=20, block_size=10, n_layers=2, n_heads=2, d_model=16, **kw)).eval()


@pytest.mark.parametrize("position", ["learned", "rope"])
def test_causality(position):
    """Changing a future token never changes earlier logits."""
    model = perturb_(small(positional=position))
    idx = torch.randint(0, 20, (2, 8))
    idx2 = idx.clone()
    idx2[:, 5] = (idx[:, 5] + 1) % 20
    a, b = model(idx), model(idx2)
    assert torch.equal(a[:, :5], b[:, :5])
    assert (a[:, 5:] - b[:, 5:]).abs().max() > 1e-3


@pytest.mark.parametrize("position", ["learned", "rope"])
def test_kv_cache_logits_equal_the_full_forward(position):
    model = perturb_(small(positional=position))
    idx = torch.randint(0, 20, (2, 9))
    full = model(idx)
    caches = [tl.KVCache() for _ in model.blocks]
    prompt_logits = model(idx[:, :4], kv_caches=caches)  # the prompt at once, then one token at a time
    steps = [model(idx[:, t : t + 1], kv_caches=caches) for t in range(4, 9)]
    assert all(len(c) == 9 for c in caches)
    assert_close_f32(torch.cat([prompt_logits, *steps], dim=1), full)


@pytest.mark.parametrize("position", ["learned", "rope"])
def test_kv_cache_equals_no_cache_under_seeded_sampling(position):
    model = perturb_(small(positional=position))
    prompt = torch.randint(0, 20, (3, 3))
    kw = dict(do_sample=True, temperature=0.9, top_k=12, top_p=0.95)
    # 25 new tokens run past block_size=10, so the context slides and the cache is rebuilt.
    cached = model.generate(prompt, 25, use_cache=True, generator=torch.Generator().manual_seed(7), **kw)
    plain = model.generate(prompt, 25, use_cache=False, generator=torch.Generator().manual_seed(7), **kw)
    assert cached.shape == (3, 28)
    assert torch.equal(cached[:, :3], prompt)
    assert torch.equal(cached, plain)
    other_seed = model.generate(prompt, 25, generator=torch.Generator().manual_seed(8), **kw)
    assert not torch.equal(other_seed, cached)  # the seed matters: this is really sampling


def test_generate_returns_ordinary_tensors_to_train_on_and_modify():
    """generate runs under torch.inference_mode; what it returns must not be an inference tensor."""
    model = perturb_(small())
    prompt = torch.randint(0, 20, (2, 3))
    for use_cache in (True, False):
        out = model.generate(prompt, 4, use_cache=use_cache)
        assert not out.is_inference()
        model.train().zero_grad()
        tl.cross_entropy_loss(model, (out[:, :-1], out[:, 1:])).backward()  # embedding saves the ids for backward
        assert model.wte.weight.grad.abs().sum() > 0
        out[:, 0] = 0  # an in-place change outside inference mode
    assert model.generate(prompt, 0) is not prompt and torch.equal(model.generate(prompt, 0), prompt)


@pytest.mark.parametrize("position", ["learned", "rope"])
def test_fast_path_generates_the_teaching_paths_tokens_with_and_without_cache(position):
    model = tl.set_fast_path(perturb_(small(positional=position)), False)
    prompt = torch.randint(0, 20, (2, 3))
    kw = dict(do_sample=True, temperature=0.9, top_k=12)
    teaching = model.generate(prompt, 15, generator=torch.Generator().manual_seed(3), **kw)  # slides past block_size
    tl.set_fast_path(model, True)
    for use_cache in (True, False):
        fast = model.generate(prompt, 15, use_cache=use_cache, generator=torch.Generator().manual_seed(3), **kw)
        assert torch.equal(fast, teaching)


@pytest.mark.parametrize("position", ["learned", "rope"])
def test_greedy_with_and_without_cache_past_the_context(position):
    model = perturb_(small(positional=position))
    prompt = torch.randint(0, 20, (2, 5))
    assert torch.equal(model.generate(prompt, 12, use_cache=True), model.generate(prompt, 12, use_cache=False))


@pytest.mark.parametrize("position", ["learned", "rope"])
def test_gradients_reach_every_parameter(position):
    model = small(positional=position).train()
    idx = torch.randint(0, 20, (2, 10))
    tl.cross_entropy_loss(model, (idx[:, :-1], idx[:, 1:])).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None, f"{name} got no gradient"
        assert p.grad.abs().sum() > 0, f"{name} got an all-zero gradient"


def test_a_new_gpt_is_on_the_fast_path_and_the_teaching_path_gives_the_same_logits():
    model = perturb_(small())
    switched = [m.fast_path for m in model.modules() if isinstance(m, (tl.LayerNorm, tl.MultiHeadAttention))]
    assert len(switched) == 3 * model.config.n_layers + 1 and all(switched)  # ln_1, attn, ln_2 per block; ln_f
    idx = torch.randint(0, 20, (2, 10))
    fast = model(idx)
    assert model.blocks[0].attn.attn_weights is None
    assert_close_f32(tl.set_fast_path(model, False)(idx), fast)
    assert not any(m.fast_path for m in model.modules() if isinstance(m, (tl.LayerNorm, tl.MultiHeadAttention)))
    assert model.blocks[0].attn.attn_weights.shape == (2, model.config.n_heads, 10, 10)  # kept for plotting


def test_gpt_tells_the_fast_path_its_mask_is_causal_except_after_a_cached_past(monkeypatch):
    """Without a past the mask is causal_mask(T), and the blocks say so (is_causal=True), which the kernel then
    applies itself also under torch.compile; once a KV cache holds a past, the mask is not square and is passed."""
    hints = []
    fast_attention = tl.multi_head.fast_attention

    def recorded(q, k, v, mask=None, dropout_p=0.0, *, is_causal=False):
        hints.append(is_causal)
        return fast_attention(q, k, v, mask, dropout_p, is_causal=is_causal)

    monkeypatch.setattr(tl.multi_head, "fast_attention", recorded)
    model = small().eval()  # on the fast path, as every new GPT
    idx = torch.randint(0, 20, (2, 10))
    model(idx)
    caches = [tl.KVCache() for _ in model.blocks]
    model(idx[:, :6], kv_caches=caches)  # the prompt: no past yet
    model(idx[:, 6:8], kv_caches=caches)  # two new tokens after a past of 6: a (2, 8) mask
    L = model.config.n_layers
    assert hints == [True] * L + [True] * L + [False] * L


def test_fast_path_gives_the_same_gradients_and_cached_logits():
    """The fast path hands the plain causal mask to the kernel as is_causal=True (a square mask, no past) and
    keeps the explicit mask once a KV cache holds past tokens: both give the teaching path's numbers."""
    model = perturb_(small()).train()
    idx = torch.randint(0, 20, (2, 10))
    grads = []
    for fast in (False, True):
        tl.set_fast_path(model, fast).zero_grad()
        tl.cross_entropy_loss(model, (idx[:, :-1], idx[:, 1:])).backward()
        grads.append({n: p.grad.clone() for n, p in model.named_parameters()})
    for name, g in grads[0].items():
        assert_close_f32(grads[1][name], g, msg=name)
    model.eval()
    full = tl.set_fast_path(model, False)(idx)
    tl.set_fast_path(model, True)
    caches = [tl.KVCache() for _ in model.blocks]
    prompt_logits = model(idx[:, :4], kv_caches=caches)
    steps = [model(idx[:, t : t + 1], kv_caches=caches) for t in range(4, 10)]
    assert_close_f32(torch.cat([prompt_logits, *steps], dim=1), full)
