"""The exercise checkers: they accept correct code however it is written, and name the mistakes they know."""

import importlib
import math
import re
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

import transformer_lab as tl
from transformer_lab import checks
from transformer_lab.checks import (
    check_beam_search,
    check_causal_mask,
    check_decoder_layer,
    check_encoder_layer,
    check_feed_forward,
    check_greedy_decode,
    check_kv_cache_step,
    check_layer_norm,
    check_multi_head_attention,
    check_padding_mask,
    check_patch_embedding,
    check_scaled_dot_product_attention,
    check_sinusoidal_encoding,
    check_top_k_filter,
    check_top_p_filter,
)

# ----------------------------------------------------------------------------------------------------
# Correct implementations written differently from the package's
# ----------------------------------------------------------------------------------------------------


def attention_einsum(q, k, v, mask=None):
    scores = torch.einsum("...qd,...kd->...qk", q, k) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(mask == 0, -1e9)
    weights = F.softmax(scores, dim=-1)
    return torch.einsum("...qk,...kd->...qd", weights, v), weights


def attention_loop(q, k, v, mask=None):
    """One query at a time."""
    outputs, all_weights = [], []
    for t in range(q.shape[-2]):
        scores = (q[..., t, None, :] * k).sum(-1) / q.shape[-1] ** 0.5  # (..., T_k)
        if mask is not None:
            allowed = mask[..., t if mask.shape[-2] > 1 else 0, :]
            scores = torch.where(allowed, scores, torch.tensor(float("-inf")))
        weights = scores.exp() / scores.exp().sum(-1, keepdim=True)  # scores are small here: no overflow
        outputs.append((weights[..., None] * v).sum(-2))
        all_weights.append(weights)
    return torch.stack(outputs, dim=-2), torch.stack(all_weights, dim=-2)


def causal_mask_arange(T):
    return torch.arange(T)[:, None] >= torch.arange(T)[None, :]


def causal_mask_loop(T):
    mask = torch.zeros(T, T, dtype=torch.bool)
    for t in range(T):
        for s in range(t + 1):
            mask[t, s] = True
    return mask


def padding_mask_unsqueeze(tokens, pad_id):
    return tokens.ne(pad_id).unsqueeze(1).unsqueeze(2)


def padding_mask_view(tokens, pad_id):
    B, T = tokens.shape
    return (tokens != pad_id).view(B, 1, 1, T)


class MHAEinsum(tl.MultiHeadAttention):
    """Heads with einops, attention with einsum and a -1e9 fill."""

    def forward(self, query, key, value, mask=None):
        q, k, v = (
            rearrange(proj(x), "b t (h d) -> b h t d", h=self.n_heads)
            for proj, x in ((self.q_proj, query), (self.k_proj, key), (self.v_proj, value))
        )
        out, self.attn_weights = attention_einsum(q, k, v, mask)
        return self.out_proj(rearrange(out, "b h t d -> b t (h d)"))


class MHAHeadLoop(tl.MultiHeadAttention):
    """One head at a time, slicing the projections; does not keep attn_weights."""

    def forward(self, query, key, value, mask=None):
        q, k, v = self.q_proj(query), self.k_proj(key), self.v_proj(value)
        heads = []
        for h in range(self.n_heads):
            cols = slice(h * self.d_k, (h + 1) * self.d_k)
            head_mask = None if mask is None else mask[:, 0] if mask.dim() == 4 else mask
            heads.append(attention_loop(q[..., cols], k[..., cols], v[..., cols], head_mask)[0])
        return self.out_proj(torch.cat(heads, dim=-1))


def sinusoidal_exp_log(max_len, d_model):
    """The Annotated Transformer's form: exp(-2i log(10000) / d)."""
    position = torch.arange(max_len).unsqueeze(1).float()
    div_term = torch.exp(torch.arange(0, d_model, 2).float() * -(math.log(10000.0) / d_model))
    pe = torch.zeros(max_len, d_model)
    pe[:, 0::2] = torch.sin(position * div_term)
    pe[:, 1::2] = torch.cos(position * div_term)
    return pe


def sinusoidal_loop(max_len, d_model):
    rows = []
    for pos in range(max_len):
        row = []
        for i in range(d_model // 2):
            angle = pos / 10000 ** (2 * i / d_model)
            row += [math.sin(angle), math.cos(angle)]
        rows.append(row)
    return torch.tensor(rows, dtype=torch.float32)


class LayerNormFunctional(tl.LayerNorm):
    def forward(self, x):
        return F.layer_norm(x, x.shape[-1:], self.weight, self.bias, self.eps)


class LayerNormRsqrt(nn.Module):
    def __init__(self, d_model, eps=1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(d_model))
        self.bias = nn.Parameter(torch.zeros(d_model))

    def forward(self, x):
        centred = x - x.mean(dim=-1, keepdim=True)
        return centred * torch.rsqrt((centred**2).mean(dim=-1, keepdim=True) + self.eps) * self.weight + self.bias


class FeedForwardScratch(nn.Module):
    def __init__(self, d_model, d_ff, dropout=0.0, activation="relu"):
        super().__init__()
        self.linear1, self.linear2 = nn.Linear(d_model, d_ff), nn.Linear(d_ff, d_model)
        self.act = getattr(F, activation)

    def forward(self, x):
        return self.linear2(self.act(self.linear1(x)))


class FeedForwardFunctional(tl.FeedForward):
    def forward(self, x):
        h = F.linear(x, self.linear1.weight, self.linear1.bias)
        h = torch.where(h > 0, h, 0.0) if self.activation == "relu" else 0.5 * h * (1 + torch.erf(h / math.sqrt(2)))
        return F.linear(h, self.linear2.weight, self.linear2.bias)


class EncoderLayerSublayers(tl.EncoderLayer):
    """The Annotated Transformer's style: a residual function that takes the sublayer."""

    def residual(self, x, sublayer, norm):
        return x + sublayer(norm(x)) if self.norm_first else norm(x + sublayer(x))

    def forward(self, x, mask=None):
        x = self.residual(x, lambda h: self.self_attn(h, h, h, mask), self.norm1)
        return self.residual(x, self.feed_forward, self.norm2)


class EncoderLayerBranches(tl.EncoderLayer):
    def forward(self, x, mask=None):
        if not self.norm_first:
            a = self.self_attn(x, x, x, mask)
            x = self.norm1(a + x)
            return self.norm2(self.feed_forward(x) + x)
        h = self.norm1(x)
        x = self.self_attn(h, h, h, mask) + x
        return self.feed_forward(self.norm2(x)) + x


class DecoderLayerSublayers(tl.DecoderLayer):
    def residual(self, x, sublayer, norm):
        return x + sublayer(norm(x)) if self.norm_first else norm(x + sublayer(x))

    def forward(self, x, memory, tgt_mask=None, memory_mask=None):
        x = self.residual(x, lambda h: self.self_attn(h, h, h, tgt_mask), self.norm1)
        x = self.residual(x, lambda h: self.cross_attn(h, memory, memory, memory_mask), self.norm2)
        return self.residual(x, self.feed_forward, self.norm3)


class DecoderLayerBranches(tl.DecoderLayer):
    def forward(self, x, memory, tgt_mask=None, memory_mask=None):
        if self.norm_first:
            h = self.norm1(x)
            x = self.self_attn(h, h, h, tgt_mask) + x
            h = self.norm2(x)
            x = self.cross_attn(h, memory, memory, memory_mask) + x
            return self.feed_forward(self.norm3(x)) + x
        x = self.norm1(self.self_attn(x, x, x, tgt_mask) + x)
        x = self.norm2(self.cross_attn(x, memory, memory, memory_mask) + x)
        return self.norm3(self.feed_forward(x) + x)


@torch.no_grad()
def greedy_no_early_stop(model, src, max_len):
    """Runs all max_len steps through model.forward, padding finished rows: trailing pad columns are fine."""
    cfg = model.config
    ys = torch.full((src.shape[0], 1), cfg.bos_id)
    finished = torch.zeros(src.shape[0], dtype=torch.bool)
    for _ in range(max_len):
        next_id = model(src, ys)[:, -1].argmax(-1)
        next_id[finished] = cfg.pad_id
        finished = finished | (next_id == cfg.eos_id)
        ys = torch.cat([ys, next_id[:, None]], dim=1)
    return ys


@torch.no_grad()
def greedy_per_row(model, src, max_len):
    cfg = model.config
    rows = []
    for b in range(src.shape[0]):
        one = src[b : b + 1]
        memory = model.encode(one)
        seq = [cfg.bos_id]
        while len(seq) <= max_len and seq[-1] != cfg.eos_id:
            seq.append(int(model.decode(torch.tensor([seq]), memory, one)[0, -1].argmax()))
        rows.append(seq)
    width = max(map(len, rows))
    return torch.tensor([seq + [cfg.pad_id] * (width - len(seq)) for seq in rows])


def beam_rows_padded(model, src, beam_size=4, max_len=32, length_penalty=0.0):
    """The package's beam search row by row, every row padded to 1 + max_len."""
    out = torch.full((src.shape[0], 1 + max_len), model.config.pad_id)
    for b in range(src.shape[0]):
        seq = tl.beam_search(model, src[b : b + 1], beam_size, max_len, length_penalty)[0]
        out[b, : len(seq)] = seq
    return out


def top_k_sorted(logits, k):
    kth = logits.sort(dim=-1, descending=True).values[:, k - 1 : k]
    return torch.where(logits >= kth, logits, torch.full_like(logits, -1e9))


def top_k_loop(logits, k):
    out = torch.full_like(logits, float("-inf"))
    for b in range(logits.shape[0]):
        for j in logits[b].argsort(descending=True)[:k]:
            out[b, j] = logits[b, j]
    return out


def top_p_shift_right(logits, p):
    """Hugging Face's form: drop where cumsum > p, shifted right so the token that crosses p stays."""
    sorted_logits, order = logits.sort(dim=-1, descending=True)
    cumulative = sorted_logits.softmax(-1).cumsum(-1)
    remove = cumulative > p
    remove[..., 1:] = remove[..., :-1].clone()
    remove[..., 0] = False
    return logits.masked_fill(remove.scatter(1, order, remove), float("-inf"))


def top_p_loop(logits, p):
    out = torch.full_like(logits, float("-inf"))
    for b in range(logits.shape[0]):
        probs = logits[b].softmax(-1)
        total = 0.0
        for j in probs.argsort(descending=True):
            out[b, j] = logits[b, j]
            total += probs[j].item()
            if total >= p:
                break
    return out


@torch.no_grad()
def kv_generate_loop(model, idx, max_new_tokens):
    caches = [tl.KVCache() for _ in model.blocks]
    unread = idx  # the tokens the model has not read yet
    for _ in range(max_new_tokens):
        next_id = model(unread, kv_caches=caches)[:, -1].argmax(-1, keepdim=True)  # (B, 1)
        idx, unread = torch.cat([idx, next_id], dim=1), next_id
    return idx


@torch.no_grad()
def kv_generate_token_by_token(model, idx, max_new_tokens):
    """Reads even the prompt one token at a time: each token still goes through the model once."""
    caches = [tl.KVCache() for _ in model.blocks]
    for t in range(idx.shape[1]):
        logits = model(idx[:, t : t + 1], kv_caches=caches)
    out = idx
    for step in range(max_new_tokens):
        next_id = logits[:, -1].argmax(-1, keepdim=True)
        out = torch.cat([out, next_id], dim=1)
        if step < max_new_tokens - 1:
            logits = model(next_id, kv_caches=caches)
    return out


class PatchEmbeddingUnfold(tl.PatchEmbedding):
    def forward(self, images):
        P, C = self.patch_size, self.in_channels
        cols = F.unfold(images, kernel_size=P, stride=P)  # (B, C*P*P, N), channel-first inside a patch
        patches = cols.transpose(1, 2).reshape(images.shape[0], -1, C, P * P).transpose(2, 3).flatten(2)
        return self.proj(patches)


class PatchEmbeddingLoop(tl.PatchEmbedding):
    def forward(self, images):
        P = self.patch_size
        patches = []
        for r in range(0, self.image_size, P):
            for c in range(0, self.image_size, P):
                patch = images[:, :, r : r + P, c : c + P]  # (B, C, P, P)
                patches.append(patch.permute(0, 2, 3, 1).reshape(images.shape[0], -1))
        return self.proj(torch.stack(patches, dim=1))


CORRECT = {
    check_scaled_dot_product_attention: [tl.scaled_dot_product_attention, attention_einsum, attention_loop],
    check_causal_mask: [tl.causal_mask, causal_mask_arange, causal_mask_loop],
    check_padding_mask: [tl.padding_mask, padding_mask_unsqueeze, padding_mask_view],
    check_multi_head_attention: [tl.MultiHeadAttention, MHAEinsum, MHAHeadLoop],
    check_sinusoidal_encoding: [tl.sinusoidal_encoding, sinusoidal_exp_log, sinusoidal_loop],
    check_layer_norm: [tl.LayerNorm, LayerNormFunctional, LayerNormRsqrt],
    check_feed_forward: [tl.FeedForward, FeedForwardScratch, FeedForwardFunctional],
    check_encoder_layer: [tl.EncoderLayer, EncoderLayerSublayers, EncoderLayerBranches],
    check_decoder_layer: [tl.DecoderLayer, DecoderLayerSublayers, DecoderLayerBranches],
    check_greedy_decode: [tl.greedy_decode, greedy_no_early_stop, greedy_per_row],
    check_beam_search: [tl.beam_search, checks.generation.beam_one_at_a_time, beam_rows_padded],
    check_top_k_filter: [tl.top_k_filter, top_k_sorted, top_k_loop],
    check_top_p_filter: [tl.top_p_filter, top_p_shift_right, top_p_loop],
    check_kv_cache_step: [lambda model, idx, n: model.generate(idx, n), kv_generate_loop, kv_generate_token_by_token],
    check_patch_embedding: [tl.PatchEmbedding, PatchEmbeddingUnfold, PatchEmbeddingLoop],
}

MISTAKES = {
    check_scaled_dot_product_attention: checks.attention.ATTENTION_MISTAKES,
    check_causal_mask: checks.attention.CAUSAL_MASK_MISTAKES,
    check_padding_mask: checks.attention.PADDING_MASK_MISTAKES,
    check_multi_head_attention: checks.multi_head.MULTI_HEAD_MISTAKES,
    check_sinusoidal_encoding: checks.positional.SINUSOIDAL_MISTAKES,
    check_layer_norm: checks.layers.LAYER_NORM_MISTAKES,
    check_feed_forward: checks.layers.FEED_FORWARD_MISTAKES,
    check_encoder_layer: checks.blocks.ENCODER_LAYER_MISTAKES,
    check_decoder_layer: checks.blocks.DECODER_LAYER_MISTAKES,
    check_greedy_decode: checks.generation.GREEDY_MISTAKES,
    check_beam_search: checks.generation.BEAM_MISTAKES,
    check_top_k_filter: checks.generation.TOP_K_MISTAKES,
    check_top_p_filter: checks.generation.TOP_P_MISTAKES,
    check_kv_cache_step: checks.kv_cache.KV_CACHE_MISTAKES,
    check_patch_embedding: checks.vit.PATCH_EMBEDDING_MISTAKES,
}


def _every_module_s(name: str) -> dict:
    """CORRECT or MISTAKES of this file and of every tests/test_checks_<module>.py, merged."""
    merged = dict(globals()[name])
    for path in sorted(Path(__file__).parent.glob("test_checks_*.py")):
        merged.update(getattr(importlib.import_module(path.stem), name))
    return merged


ALL_CORRECT, ALL_MISTAKES = _every_module_s("CORRECT"), _every_module_s("MISTAKES")


def test_every_checker_is_tested():
    """Each public checker has correct variants and known mistakes, here or in a tests/test_checks_<module>.py."""
    public = {getattr(checks, name) for name in checks.__all__}
    assert public == set(ALL_CORRECT) == set(ALL_MISTAKES)


@pytest.mark.parametrize(
    "check, impl",
    [(check, impl) for check, impls in ALL_CORRECT.items() for impl in impls],
    ids=[f"{check.__name__}-{i}" for check, impls in ALL_CORRECT.items() for i in range(len(impls))],
)
def test_accepts_correct_implementations(check, impl, capsys):
    check(impl)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1 and lines[0].startswith("✓ ") and "correct on" in lines[0]


@pytest.mark.parametrize(
    "check, mistake",
    [(check, m) for check, ms in ALL_MISTAKES.items() for m in ms],
    ids=[f"{check.__name__}-{i}" for check, ms in ALL_MISTAKES.items() for i in range(len(ms))],
)
def test_names_each_known_mistake(check, mistake):
    with pytest.raises(AssertionError, match=re.escape(mistake.hint)):
        check(mistake.impl)


@pytest.mark.parametrize(
    "check",
    [
        checks.check_next_token_loss,
        checks.check_gpt_block,
        checks.check_label_smoothed_cross_entropy,
        checks.check_warmup_cosine,
    ],
    ids=lambda c: c.__name__,
)
def test_the_mistakes_differ_from_the_reference_on_the_first_case(check):
    """For these checkers each known mistake is caught on the first input already, so its hint is the one the
    learner sees."""
    for mistake in ALL_MISTAKES[check]:
        with pytest.raises(AssertionError, match=r"Case 1 of 3"):
            check(mistake.impl)


def _stub_like(impl):
    """What a learner's untouched exercise cell gives: a function that raises NotImplementedError, or, for a
    class checker, a subclass whose forward raises it."""

    def not_written(*args, **kwargs):
        raise NotImplementedError("your code here")

    return type(f"Stub{impl.__name__}", (impl,), {"forward": not_written}) if isinstance(impl, type) else not_written


@pytest.mark.parametrize("check", list(ALL_CORRECT), ids=lambda c: c.__name__)
def test_a_stub_is_not_implemented_yet(check):
    with pytest.raises(AssertionError, match="not implemented yet"):
        check(_stub_like(ALL_CORRECT[check][0]))


# ----------------------------------------------------------------------------------------------------
# Candidates that raise, return the wrong thing, or change their inputs
# ----------------------------------------------------------------------------------------------------


def test_wraps_the_candidates_exception():
    def broken(q, k, v, mask=None):
        raise ValueError("shapes do not match")

    with pytest.raises(AssertionError, match=r"raised ValueError: shapes do not match\non input") as info:
        check_scaled_dot_product_attention(broken)
    assert "q (1, 3, 5)" in str(info.value)
    assert isinstance(info.value.__cause__, ValueError)  # the learner's traceback stays visible


def test_an_assert_inside_the_candidate_is_reported_as_its_exception():
    def asserting(T):
        assert T > 100, "too short"

    with pytest.raises(AssertionError, match="raised AssertionError: too short"):
        check_causal_mask(asserting)


def test_wrong_shape():
    with pytest.raises(AssertionError, match=re.escape("`mask` has shape (5, 6); expected (5, 5)")):
        check_causal_mask(lambda T: torch.ones(T, T + 1, dtype=torch.bool).tril())


def test_wrong_dtype():
    with pytest.raises(AssertionError, match="dtype torch.float64; expected torch.float32"):
        check_sinusoidal_encoding(lambda max_len, d_model: tl.sinusoidal_encoding(max_len, d_model).double())


def test_wrong_type():
    with pytest.raises(AssertionError, match=re.escape("should return a tuple (output, weights)")):
        check_scaled_dot_product_attention(lambda q, k, v, mask=None: tl.scaled_dot_product_attention(q, k, v, mask)[0])

    class ListLayerNorm(tl.LayerNorm):
        def forward(self, x):
            return super().forward(x).tolist()

    with pytest.raises(AssertionError, match="`output` is a list of 2 items, not a torch.Tensor"):
        check_layer_norm(ListLayerNorm)
    with pytest.raises(AssertionError, match="forget to `return`"):
        check_causal_mask(lambda T: None)


def test_modified_input_in_place():
    def divides_q_in_place(q, k, v, mask=None):
        q /= math.sqrt(q.shape[-1])
        return attention_einsum(q * math.sqrt(q.shape[-1]), k, v, mask)

    class CentresInPlace(tl.LayerNorm):
        def forward(self, x):
            x -= x.mean(-1, keepdim=True)
            return super().forward(x)

    def masks_in_place(logits, k):
        return logits.masked_fill_(logits < logits.topk(k).values[..., -1:], float("-inf"))

    cases = (
        (check_scaled_dot_product_attention, divides_q_in_place, "q"),
        (check_layer_norm, CentresInPlace, "x"),
        (check_top_k_filter, masks_in_place, "logits"),
    )
    for check, candidate, arg in cases:
        with pytest.raises(AssertionError, match=f"changed its input `{arg}` in place"):
            check(candidate)


def test_an_unknown_mistake_gives_the_input_and_the_difference():
    def shifted(q, k, v, mask=None):
        out, weights = tl.scaled_dot_product_attention(q, k, v, mask)
        return out + 0.01, weights

    with pytest.raises(AssertionError) as info:
        check_scaled_dot_product_attention(shifted)
    message = str(info.value)
    assert "Case 1 of 6" in message and "q (1, 3, 5), k (1, 4, 5), v (1, 4, 6)" in message
    assert "`output` differs from the expected values by up to 0.01 (max abs difference" in message
    assert "Your output matches" not in message


def test_the_message_names_the_mask_kind():
    def weak_mask(q, k, v, mask=None):  # -5 is not small enough to hide a key
        scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
        if mask is not None:
            scores = scores.masked_fill(~mask, -5.0)
        weights = scores.softmax(-1)
        return weights @ v, weights

    with pytest.raises(AssertionError, match=r"Case 2 of 6: batch of 2 with 2 heads, padding mask \(q \(2, 2, 4, 3\)"):
        check_scaled_dot_product_attention(weak_mask)


def test_nan_is_reported():
    with pytest.raises(AssertionError, match="contains NaN"):
        check_sinusoidal_encoding(lambda max_len, d_model: tl.sinusoidal_encoding(max_len, d_model) * math.nan)


def test_multi_head_attention_compares_attn_weights_when_kept():
    class TransposedWeights(tl.MultiHeadAttention):
        def forward(self, query, key, value, mask=None):
            out = super().forward(query, key, value, mask)
            self.attn_weights = self.attn_weights.transpose(-2, -1)
            return out

    with pytest.raises(AssertionError, match="`attn_weights`"):
        check_multi_head_attention(TransposedWeights)


def test_a_class_checker_wants_the_class():
    with pytest.raises(AssertionError, match="pass your class itself"):
        check_layer_norm(tl.LayerNorm(8))
    with pytest.raises(AssertionError, match=r"a subclass of tl\.MultiHeadAttention"):
        check_multi_head_attention(nn.MultiheadAttention)


def test_renamed_parameters_are_explained():
    class GammaBeta(nn.Module):
        def __init__(self, d_model, eps=1e-5):
            super().__init__()
            self.gamma, self.beta = nn.Parameter(torch.ones(d_model)), nn.Parameter(torch.zeros(d_model))

    with pytest.raises(AssertionError, match="not named like the package's.*weight, bias"):
        check_layer_norm(GammaBeta)


def test_beam_size_one_must_be_greedy():
    def widened(model, src, beam_size=4, max_len=32, length_penalty=0.0):
        return tl.beam_search(model, src, beam_size + 1, max_len, length_penalty)

    with pytest.raises(AssertionError, match="beam_size=1, which must give greedy decoding's output"):
        check_beam_search(widened)


def test_kv_cache_counts_the_tokens_fed():
    with pytest.raises(AssertionError, match=r"fed 33 tokens per row.*3 \+ 6 - 1 = 8"):
        check_kv_cache_step(lambda model, idx, n: model.generate(idx, n, use_cache=False))


def test_checkers_leave_the_random_state_and_thread_count_alone():
    state, threads = torch.get_rng_state(), torch.get_num_threads()
    check_multi_head_attention(tl.MultiHeadAttention)
    check_kv_cache_step(lambda model, idx, n: model.generate(idx, n))
    with pytest.raises(AssertionError):
        check_layer_norm(checks.layers._LayerNormUnbiased)
    assert torch.equal(state, torch.get_rng_state())
    assert torch.get_num_threads() == threads
