"""GPT against Hugging Face's GPT2LMHeadModel (random weights, built from a config: no download)."""
import pytest
import torch
from transformers import GPT2Config, GPT2LMHeadModel

import transformer_lab as tl
from conftest import perturb_


def hf_model(**kw):
    cfg = dict(n_layer=2, n_head=4, n_embd=32, n_positions=24, vocab_size=50, resid_pdrop=0.0, embd_pdrop=0.0,
               attn_pdrop=0.0, bos_token_id=None, eos_token_id=None)  # fmt: skip
    cfg.update(kw)
    torch.manual_seed(0)
    return perturb_(GPT2LMHeadModel(GPT2Config(**cfg)), scale=0.3).eval()


@pytest.fixture(scope="module")
def pair():
    hf = hf_model()
    return hf, tl.GPT.from_hf(hf).eval()


def test_logits_match_hugging_face(pair):
    hf, ours = pair
    idx = torch.randint(0, 50, (3, 17))
    torch.testing.assert_close(ours(idx), hf(idx).logits, atol=2e-5, rtol=1e-4)


def test_greedy_generation_matches_hugging_face_with_and_without_cache(pair):
    hf, ours = pair
    prompt = torch.randint(0, 50, (2, 4))
    expected = hf.generate(prompt, max_new_tokens=15, do_sample=False, attention_mask=torch.ones_like(prompt), pad_token_id=0)
    assert torch.equal(ours.generate(prompt, 15, use_cache=True), expected)
    assert torch.equal(ours.generate(prompt, 15, use_cache=False), expected)


def test_round_trip_to_hugging_face(pair):
    _, ours = pair
    back = ours.to_hf()
    idx = torch.randint(0, 50, (2, 9))
    torch.testing.assert_close(back(idx).logits, ours(idx), atol=2e-5, rtol=1e-4)


def test_from_hf_refuses_what_it_does_not_implement():
    for option in [dict(scale_attn_by_inverse_layer_idx=True), dict(reorder_and_upcast_attn=True),
                   dict(activation_function="relu"), dict(add_cross_attention=True)]:  # fmt: skip
        with pytest.raises(ValueError, match="from_hf"):
            tl.GPT.from_hf(GPT2LMHeadModel(GPT2Config(n_layer=1, n_head=2, n_embd=8, n_positions=8, vocab_size=10, **option)))


def small(**kw):
    return tl.GPT(tl.GPTConfig(vocab_size=20, block_size=10, n_layer=2, n_head=2, d_model=16, **kw)).eval()


@pytest.mark.parametrize("position", ["learned", "rope"])
def test_causality(position):
    model = perturb_(small(position=position), scale=0.1)
    idx = torch.randint(0, 20, (2, 8))
    idx2 = idx.clone()
    idx2[:, 5:] = (idx[:, 5:] + 1) % 20
    a, b = model(idx), model(idx2)
    assert torch.equal(a[:, :5], b[:, :5])
    assert not torch.allclose(a[:, 5:], b[:, 5:])


@pytest.mark.parametrize("position", ["learned", "rope"])
def test_kv_cache_equals_no_cache_under_seeded_sampling(position):
    model = perturb_(small(position=position), scale=0.1)
    prompt = torch.randint(0, 20, (3, 3))
    kw = dict(do_sample=True, temperature=0.9, top_k=12, top_p=0.95)
    # 25 new tokens run past block_size=10, so the cache is rebuilt as the context slides.
    cached = model.generate(prompt, 25, use_cache=True, generator=torch.Generator().manual_seed(7), **kw)
    plain = model.generate(prompt, 25, use_cache=False, generator=torch.Generator().manual_seed(7), **kw)
    assert cached.shape == (3, 28) and torch.equal(cached, plain)


def test_weight_tying_and_gradients_reach_every_parameter():
    model = small().train()
    assert model.lm_head.weight is model.wte.weight
    idx = torch.randint(0, 20, (2, 10))
    tl.cross_entropy_loss(model, (idx[:, :-1], idx[:, 1:])).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_fast_path_gives_the_same_logits():
    model = perturb_(small(), scale=0.1)
    idx = torch.randint(0, 20, (2, 10))
    slow = model(idx)
    torch.testing.assert_close(model.set_fast_path(True)(idx), slow, atol=1e-5, rtol=1e-4)


def test_bad_input():
    with pytest.raises(ValueError, match="n_head=3 does not divide d_model=16"):
        tl.GPTConfig(vocab_size=5, block_size=4, n_head=3, d_model=16)
    model = small()
    with pytest.raises(ValueError, match="longer than the context block_size=10"):
        model(torch.zeros(1, 11, dtype=torch.long))
    with pytest.raises(ValueError, match=r"contain 20, outside the vocabulary \[0, 20\)"):
        model(torch.tensor([[1, 20]]))
    with pytest.raises(ValueError, match="outside the vocabulary"):
        model(torch.tensor([[-1, 2]]))
    with pytest.raises(TypeError, match="integer dtype"):
        model(torch.tensor([[1.0, 2.0]]))
    prompt = torch.tensor([[1, 2]])
    with pytest.raises(ValueError, match="temperature must be > 0"):
        model.generate(prompt, 3, do_sample=True, temperature=0.0)
    with pytest.raises(ValueError, match="top_k must be an int >= 1"):
        model.generate(prompt, 3, do_sample=True, top_k=0)
    for p in (0.0, 1.5):
        with pytest.raises(ValueError, match=r"top_p must be in \(0, 1\]"):
            model.generate(prompt, 3, do_sample=True, top_p=p)
