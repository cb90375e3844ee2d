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
    """
    if not isinstance(beam_size, int) or beam_size < 1:
        raise ValueError(f"beam_size must be an int >= 1, got {beam_size!r}")
    cfg = model.config
    results = []
    for b in range(src.shape[0]):
        one_src = src[b : b + 1]  # (1, T_src)
        memory = model.encode(one_src)  # (1, T_src, D)
        beams = torch.full((1, 1), cfg.bos_id, dtype=torch.long, device=src.device)  # (K, t)
        scores = torch.zeros(1, device=src.device)  # (K,) summed log-probabilities
        finished: list[tuple[float, torch.Tensor]] = []
        for _ in range(max_len):
            K = beams.shape[0]
            logits = model.decode(beams, memory.expand(K, -1, -1), one_src.expand(K, -1))[:, -1]  # (K, V)
            total = scores[:, None] + torch.log_softmax(logits, dim=-1)  # (K, V)
            top_scores, flat = total.flatten().topk(min(beam_size, total.numel()))  # best continuations
            rows, tokens = flat // total.shape[1], flat % total.shape[1]
            candidates = torch.cat([beams[rows], tokens[:, None]], dim=1)  # (K', t + 1)
            is_eos = tokens == cfg.eos_id
            for seq, score in zip(candidates[is_eos], top_scores[is_eos]):
                length = seq.shape[0] - 1  # generated tokens, eos included
                finished.append((score.item() / length**length_penalty, seq))
            beams, scores = candidates[~is_eos], top_scores[~is_eos]
            best_finished = max((s for s, _ in finished), default=float("-inf"))
            # Scores only fall as a hypothesis grows, so with length_penalty = 0 no open beam can win now.
            if beams.shape[0] == 0 or (length_penalty == 0 and scores.max().item() <= best_finished):
                break
        if not finished:  # nothing reached eos within max_len: return the best open beam
            finished = [(scores[0].item(), beams[0])]
        results.append(max(finished, key=lambda pair: pair[0])[1])
    out = torch.full((len(results), max(len(r) for r in results)), cfg.pad_id, dtype=torch.long, device=src.device)
    for b, seq in enumerate(results):
        out[b, : len(seq)] = seq
    return out
