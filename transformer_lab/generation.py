"""Chapter 10 — Generating text: greedy decoding, sampling (temperature, top-k, top-p) and beam search.

The sampling functions work on a batch of next-token logits (B, V). `greedy_decode` and
`beam_search` drive an encoder-decoder model (chapter 9) that has `encode(src)` and
`decode(tgt, memory, src)`; the decoder-only GPT (chapter 11) uses `sample_next_token`.
"""

from __future__ import annotations

import torch


def check_sampling_args(temperature: float, top_k: int | None, top_p: float | None) -> None:
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature} (use do_sample=False for greedy decoding)")
    if top_k is not None and (not isinstance(top_k, int) or isinstance(top_k, bool) or top_k < 1):
        raise ValueError(f"top_k must be an int >= 1 or None (no top-k), got {top_k!r}")
    if top_p is not None and not 0 < top_p <= 1:
        raise ValueError(f"top_p must be in (0, 1], got {top_p}")


def top_k_filter(logits: torch.Tensor, k: int) -> torch.Tensor:
    """Keep the k largest logits of each row, set the rest to -inf. (B, V) -> (B, V)"""
    k = min(k, logits.shape[-1])
    kth_largest = torch.topk(logits, k, dim=-1).values[..., -1:]  # (B, 1)
    return logits.masked_fill(logits < kth_largest, float("-inf"))


def top_p_filter(logits: torch.Tensor, p: float) -> torch.Tensor:
    """Nucleus filtering: keep the smallest set of most likely tokens whose probability reaches p.

    A token is dropped when the tokens ranked above it already hold at least p of the mass;
    the most likely token is always kept. (B, V) -> (B, V)
    """
    sorted_logits, order = torch.sort(logits, dim=-1, descending=True)  # (B, V)
    probs = torch.softmax(sorted_logits, dim=-1)
    mass_before = probs.cumsum(dim=-1) - probs  # (B, V) mass of the strictly better tokens
    drop_sorted = mass_before >= p
    drop = drop_sorted.scatter(-1, order, drop_sorted)  # back to vocabulary order
    return logits.masked_fill(drop, float("-inf"))


def sample_next_token(
    logits: torch.Tensor,
    *,
    do_sample: bool = False,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Next-token logits (B, V) -> chosen ids (B, 1): argmax, or a draw after temperature/top-k/top-p."""
    check_sampling_args(temperature, top_k, top_p)
    if not do_sample:
        return logits.argmax(dim=-1, keepdim=True)
    logits = logits / temperature
    if top_k is not None:
        logits = top_k_filter(logits, top_k)
    if top_p is not None:
        logits = top_p_filter(logits, top_p)
    probs = torch.softmax(logits, dim=-1)  # (B, V)
    if generator is not None and generator.device != probs.device:  # e.g. a CPU generator, a model on a GPU
        return torch.multinomial(probs.to(generator.device), 1, generator=generator).to(probs.device)  # (B, 1)
    return torch.multinomial(probs, num_samples=1, generator=generator)  # (B, 1)


@torch.no_grad()
def greedy_decode(model, src: torch.Tensor, max_len: int) -> torch.Tensor:
    """Encoder-decoder greedy decoding: src (B, T_src) -> ids (B, <= 1 + max_len), starting with bos.

    Each step feeds everything generated so far and takes the most likely next token. A row that has
    produced eos is padded from then on; decoding stops when every row has.
    """
    return _decode(model, src, max_len, do_sample=False)


@torch.no_grad()
def sample_decode(
    model,
    src: torch.Tensor,
    max_len: int,
    *,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Like `greedy_decode`, but each next token is drawn from the model's distribution, reshaped by
    temperature, then top-k, then top-p. src (B, T_src) -> ids (B, <= 1 + max_len)."""
    check_sampling_args(temperature, top_k, top_p)
    sampling = dict(do_sample=True, temperature=temperature, top_k=top_k, top_p=top_p, generator=generator)
    return _decode(model, src, max_len, **sampling)


def _decode(model, src: torch.Tensor, max_len: int, **sampling) -> torch.Tensor:
    if not isinstance(max_len, int) or isinstance(max_len, bool) or max_len < 0:
        raise ValueError(f"max_len must be an int >= 0 (the most tokens to generate), got {max_len!r}")
    cfg = model.config
    memory = model.encode(src)  # (B, T_src, D)
    ys = torch.full((src.shape[0], 1), cfg.bos_id, dtype=torch.long, device=src.device)  # (B, 1)
    done = torch.zeros(src.shape[0], dtype=torch.bool, device=src.device)
    for _ in range(max_len):
        logits = model.decode(ys, memory, src)[:, -1]  # (B, V)
        next_id = sample_next_token(logits, **sampling)[:, 0]  # (B,)
        next_id = next_id.masked_fill(done, cfg.pad_id)
        ys = torch.cat([ys, next_id[:, None]], dim=1)  # (B, t + 1)
        done |= next_id == cfg.eos_id
        if done.all():
            break
    return ys


@torch.no_grad()
def beam_search(
    model, src: torch.Tensor, beam_size: int = 4, max_len: int = 32, length_penalty: float = 0.0
) -> torch.Tensor:
    """Keep the `beam_size` best partial outputs (by summed log-probability) instead of one.

    A finished hypothesis (one that produced eos) is scored by log P / len^length_penalty;
    length_penalty = 0 compares plain log-probabilities. Returns ids (B, <= 1 + max_len) like
    `greedy_decode`; with beam_size=1 it gives exactly greedy's output.

    Every sentence of the batch is searched at once: sentence b owns beam slots b*K .. b*K + K - 1,
    and a slot whose hypothesis ended (or that was never filled) holds the score -inf, so it offers
    no continuation. Chapter 10's exercise writes the same search for one sentence at a time.
    """
    if not isinstance(beam_size, int) or beam_size < 1:
        raise ValueError(f"beam_size must be an int >= 1, got {beam_size!r}")
    cfg = model.config
    B, K, device = src.shape[0], beam_size, src.device
    src_k = src.repeat_interleave(K, dim=0)  # (B*K, T_src): each sentence once per slot
    memory = model.encode(src).repeat_interleave(K, dim=0)  # (B*K, T_src, D)
    beams = torch.full((B * K, 1), cfg.bos_id, dtype=torch.long, device=device)  # (B*K, t)
    scores = torch.full((B, K), float("-inf"), device=device)  # summed log-probabilities per slot
    scores[:, 0] = 0.0  # one live hypothesis to start from: <bos>
    best_score = torch.full((B,), float("-inf"), device=device)  # the best finished hypothesis so far
    best_seq = torch.full((B, 1 + max_len), cfg.pad_id, dtype=torch.long, device=device)
    best_len = torch.ones(B, dtype=torch.long, device=device)
    every = torch.arange(B, device=device)
    for t in range(1, max_len + 1):  # t: tokens generated, eos included
        log_p = torch.log_softmax(model.decode(beams, memory, src_k)[:, -1], dim=-1)  # (B*K, V)
        V = log_p.shape[-1]
        total = scores[:, :, None] + log_p.view(B, K, V)  # (B, K, V)
        top_scores, flat = total.view(B, K * V).topk(K, dim=-1)  # (B, K) the best continuations, best first
        rows, tokens = flat // V + every[:, None] * K, flat % V  # (B, K): the slot each extends, its token
        candidates = torch.cat([beams[rows.flatten()], tokens.flatten()[:, None]], dim=1)  # (B*K, t + 1)
        is_eos = tokens == cfg.eos_id
        ended = is_eos & top_scores.isfinite()  # (B, K) hypotheses finished at this step
        finished = torch.where(ended, top_scores / t**length_penalty, float("-inf"))  # (B, K)
        step_best, slot = finished.max(dim=-1)  # (B,): of equal scores the first, the one a sorted list keeps
        better = step_best > best_score
        best_score = torch.where(better, step_best, best_score)
        best_seq[better, : t + 1] = candidates.view(B, K, t + 1)[every, slot][better]
        best_len[better] = t + 1
        beams, scores = candidates, top_scores.masked_fill(is_eos, float("-inf"))  # ended slots go quiet
        open_best = scores.max(dim=-1).values  # (B,) -inf when no hypothesis is open
        # A sentence is done when no hypothesis is open or, with length_penalty = 0, none can still win:
        # scores only fall as a hypothesis grows. (Searching on changes nothing; stopping saves time.)
        done = open_best.isneginf() | ((length_penalty == 0) & (open_best <= best_score))
        if done.all():
            break
    # A sentence with nothing finished within max_len keeps its best open hypothesis.
    open_only = best_score.isneginf()
    if open_only.any():
        top_open = beams.view(B, K, -1)[every, scores.argmax(dim=-1)]  # (B, 1 + t)
        best_seq[open_only, : top_open.shape[1]] = top_open[open_only]
        best_len[open_only] = top_open.shape[1]
    return best_seq[:, : int(best_len.max())]
