"""Chapters 9 and 10: greedy decoding, beam search, top-k and top-p filtering."""

from __future__ import annotations

from collections.abc import Callable

import torch

from ..generation import beam_search, greedy_decode, top_k_filter, top_p_filter
from ..transformer import Transformer, TransformerConfig
from .engine import NEG_INF, Case, Mistake, Run, checker, expect_function, randn, run_cases


def small_transformer() -> Transformer:
    """A seeded, untrained encoder-decoder whose greedy rows stop at different steps (so eos handling shows)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(2)
        cfg = TransformerConfig(
            src_vocab_size=11, tgt_vocab_size=9, d_model=16, n_heads=2, n_layers=1, d_ff=32, dropout=0.0, max_len=12
        )
        return Transformer(cfg).eval()


def _sources() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(2)
    one = torch.randint(3, 11, (1, 5), generator=g)  # (1, 5)
    batch = torch.randint(3, 11, (3, 6), generator=g)  # (3, 6), two rows padded at the end
    batch[1, 4:], batch[2, 3:] = 0, 0
    return one, batch


def _decoding_run(pad_id: int) -> Run:
    """Call a decoder, then drop trailing columns that are padding in every row (stopping early is optional)."""

    def run(fn, case: Case):
        ids = fn(*case.inputs.values())
        if isinstance(ids, torch.Tensor) and ids.dim() == 2:
            while ids.shape[1] > 1 and (ids[:, -1] == pad_id).all():
                ids = ids[:, :-1]
        return ids

    return run


@torch.no_grad()
def _greedy(model, src, max_len, *, feed_all=True, read_last=True, pad_after_eos=True, stop=True):
    """Greedy decoding with one step changed at a time; the defaults give the right result."""
    cfg = model.config
    memory = model.encode(src)  # (B, T_src, D)
    ys = torch.full((src.shape[0], 1), cfg.bos_id, dtype=torch.long)  # (B, 1)
    done = torch.zeros(src.shape[0], dtype=torch.bool)
    for _ in range(max_len):
        logits = model.decode(ys if feed_all else ys[:, -1:], memory, src)  # (B, t, V)
        next_id = logits[:, -1 if read_last else 0].argmax(dim=-1)  # (B,)
        if pad_after_eos:
            next_id = next_id.masked_fill(done, cfg.pad_id)
        ys = torch.cat([ys, next_id[:, None]], dim=1)
        done |= next_id == cfg.eos_id
        if stop and done.all():
            break
    return ys


GREEDY_MISTAKES = [
    Mistake(
        "Your output matches greedy decoding that feeds the decoder only the LAST token at each step. "
        "Feed everything generated so far, ys (B, t), and read the logits at the last position.",
        lambda model, src, max_len: _greedy(model, src, max_len, feed_all=False),
    ),
    Mistake(
        "Your output matches greedy decoding that reads the logits at the FIRST position. The next token "
        "comes from the last position: logits[:, -1].",
        lambda model, src, max_len: _greedy(model, src, max_len, read_last=False),
    ),
    Mistake(
        "Your rows go on after their eos. Once a row has produced eos, fill it with pad_id from then on "
        "(and stop when every row has finished).",
        lambda model, src, max_len: _greedy(model, src, max_len, pad_after_eos=False),
    ),
    Mistake(
        "Your rows go on after their eos. Once a row has produced eos, fill it with pad_id from then on "
        "(and stop when every row has finished).",
        lambda model, src, max_len: _greedy(model, src, max_len, pad_after_eos=False, stop=False),
    ),
    Mistake(
        "Your output leaves out the bos token it started from: return ys, bos included.",
        lambda model, src, max_len: greedy_decode(model, src, max_len)[:, 1:],
    ),
]


@checker
def check_greedy_decode(fn: Callable) -> None:
    """fn(model, src, max_len) -> ids (B, <= 1 + max_len), starting with bos, like tl.greedy_decode.

    Rows that finished with eos are padded with pad_id; stopping early once every row has finished is optional.
    """
    name = "greedy_decode"
    expect_function(name, fn)
    model = small_transformer()
    one, batch = _sources()
    cases = [
        Case("batch of 1, max_len=6", dict(model=model, src=one, max_len=6)),
        Case("batch of 3 with source padding, max_len=8", dict(model=model, src=batch, max_len=8)),
    ]
    run_cases(name, fn, greedy_decode, cases, _decoding_run(model.config.pad_id), GREEDY_MISTAKES, fields=("ids",))


@torch.no_grad()
def beam_one_at_a_time(
    model, src, beam_size=4, max_len=32, length_penalty=0.0, *, log_probs=True, accumulate=True, penalty=True
):
    """Beam search over Python lists, with one step changed at a time; the defaults give the right result."""
    cfg = model.config
    rows = []
    for b in range(src.shape[0]):
        one_src = src[b : b + 1]  # (1, T_src)
        memory = model.encode(one_src)
        beams: list[tuple[float, list[int]]] = [(0.0, [cfg.bos_id])]  # (summed log-probability, tokens)
        finished: list[tuple[float, list[int]]] = []
        for _ in range(max_len):
            K = len(beams)  # every beam has the same length, so they go through the decoder together
            logits = model.decode(
                torch.tensor([seq for _, seq in beams]), memory.expand(K, -1, -1), one_src.expand(K, -1)
            )[:, -1]  # (K, V)
            steps = (logits.log_softmax(-1) if log_probs else logits).tolist()
            candidates = [
                ((score if accumulate else 0.0) + s, seq + [token])
                for (score, seq), step in zip(beams, steps)
                for token, s in enumerate(step)
            ]
            beams = []
            for score, seq in sorted(candidates, key=lambda c: c[0], reverse=True)[:beam_size]:
                if seq[-1] == cfg.eos_id:
                    finished.append((score / (len(seq) - 1) ** (length_penalty if penalty else 0.0), seq))
                else:
                    beams.append((score, seq))
            best_finished = max((s for s, _ in finished), default=NEG_INF)
            if not beams or (length_penalty == 0 and beams[0][0] <= best_finished):
                break
        rows.append(max(finished)[1] if finished else beams[0][1])
    out = torch.full((len(rows), max(map(len, rows))), cfg.pad_id, dtype=torch.long)
    for b, seq in enumerate(rows):
        out[b, : len(seq)] = torch.tensor(seq)
    return out


BEAM_MISTAKES = [
    Mistake(
        "Your output matches beam search that ranks by raw logits. Add log-probabilities: "
        "torch.log_softmax(logits, dim=-1), not the logits themselves.",
        lambda model, src, beam_size=4, max_len=32, length_penalty=0.0: beam_one_at_a_time(
            model, src, beam_size, max_len, length_penalty, log_probs=False
        ),
    ),
    Mistake(
        "Your output matches beam search that ranks by the last token's log-probability only. A beam's score "
        "is the SUM of its tokens' log-probabilities: add the new log-probs to the beam's score.",
        lambda model, src, beam_size=4, max_len=32, length_penalty=0.0: beam_one_at_a_time(
            model, src, beam_size, max_len, length_penalty, accumulate=False
        ),
    ),
    Mistake(
        "Your output matches beam search that ignores length_penalty. Score a finished hypothesis by "
        "log P / length ** length_penalty (length = generated tokens, eos included).",
        lambda model, src, beam_size=4, max_len=32, length_penalty=0.0: beam_one_at_a_time(
            model, src, beam_size, max_len, length_penalty, penalty=False
        ),
    ),
]


@checker
def check_beam_search(fn: Callable) -> None:
    """fn(model, src, beam_size=4, max_len=32, length_penalty=0.0) -> ids (B, <= 1 + max_len), like tl.beam_search.

    With beam_size=1 it must give exactly greedy decoding's output.
    """
    name = "beam_search"
    expect_function(name, fn)
    model = small_transformer()
    one, batch = _sources()
    args = lambda src, k, n, lp: dict(model=model, src=src, beam_size=k, max_len=n, length_penalty=lp)  # noqa: E731
    cases = [
        Case("beam_size=1, which must give greedy decoding's output", args(batch, 1, 8, 0.0)),
        Case("beam_size=3, batch of 3 with source padding", args(batch, 3, 8, 0.0)),
        Case("beam_size=3, length_penalty=1.0", args(batch, 3, 8, 1.0)),
        Case("beam_size=2, batch of 1", args(one, 2, 6, 0.0)),
    ]
    run_cases(name, fn, beam_search, cases, _decoding_run(model.config.pad_id), BEAM_MISTAKES, fields=("ids",))


def _filter_run(fn, case: Case):
    """Call a logits filter; any value <= -1e9 counts as removed, like -inf (softmax gives it 0 either way)."""
    out = fn(*case.inputs.values())
    if isinstance(out, torch.Tensor) and out.is_floating_point():
        out = out.masked_fill(out <= -1e9, NEG_INF)
    return out


TOP_K_MISTAKES = [
    Mistake(
        "Your filter sets the removed logits to 0 instead of -inf: exp(0) = 1, so they keep probability "
        "after the softmax. Fill with float('-inf').",
        lambda logits, k: logits.masked_fill(logits < logits.topk(k, dim=-1).values[..., -1:], 0.0),
    ),
    Mistake(
        "Your filter keeps k + 1 tokens (off by one): keep the logits >= the k-th largest, topk(k).values[..., -1:].",
        lambda logits, k: logits.masked_fill(logits < logits.sort(-1, descending=True).values[..., k : k + 1], NEG_INF),
    ),
    Mistake(
        "Your filter keeps k - 1 tokens (off by one): the k-th largest logit itself stays, so remove only "
        "logits < kth, not <= kth.",
        lambda logits, k: logits.masked_fill(logits <= logits.topk(k, dim=-1).values[..., -1:], NEG_INF),
    ),
    Mistake(
        "Your filter keeps the k SMALLEST logits; keep the k largest: torch.topk(logits, k) (largest=True).",
        lambda logits, k: logits.masked_fill(logits > logits.topk(k, dim=-1, largest=False).values[..., -1:], NEG_INF),
    ),
    Mistake(
        "Your filter returns probabilities; return the filtered LOGITS (the rest set to -inf). "
        "The softmax comes later, when sampling.",
        lambda logits, k: top_k_filter(logits, k).softmax(dim=-1),
    ),
]


@checker
def check_top_k_filter(fn: Callable) -> None:
    """fn(logits (B, V), k) -> (B, V): the k largest logits of each row kept, the others set to -inf."""
    name = "top_k_filter"
    expect_function(name, fn)
    g = torch.Generator().manual_seed(6)
    cases = [
        Case("k=3 of 7, batch of 2", dict(logits=randn(g, 2, 7, scale=2.0), k=3)),
        Case("k=1, batch of 1", dict(logits=randn(g, 1, 5), k=1)),
        Case("k = V: keep everything", dict(logits=randn(g, 3, 6), k=6)),
        Case("k=4 of 10, all logits negative", dict(logits=-randn(g, 2, 10).abs() - 1.0, k=4)),
    ]
    run_cases(name, fn, top_k_filter, cases, _filter_run, TOP_K_MISTAKES, fields=("filtered logits",))


def _top_p(logits, p, *, keep_crossing=True, descending=True, sort=True, scatter=True, fill=NEG_INF):
    """Nucleus filtering with one step changed at a time; the defaults give the right result."""
    if sort:
        sorted_logits, order = torch.sort(logits, dim=-1, descending=descending)  # (B, V)
    else:
        sorted_logits, order = logits, torch.arange(logits.shape[-1]).expand_as(logits)
    probs = sorted_logits.softmax(dim=-1)
    cumulative = probs.cumsum(dim=-1)
    drop = cumulative - probs >= p if keep_crossing else cumulative > p
    if not scatter:
        return sorted_logits.masked_fill(drop, fill)
    return logits.masked_fill(drop.scatter(-1, order, drop), fill)


TOP_P_MISTAKES = [
    Mistake(
        "Your filter drops the token that crosses p (off by one). Keep the smallest set whose probability "
        "REACHES p: a token goes only when the tokens ranked above it already hold p, i.e. drop where "
        "cumsum - probs >= p (not cumsum > p).",
        lambda logits, p: _top_p(logits, p, keep_crossing=False),
    ),
    Mistake(
        "Your filter sets the removed logits to 0 instead of -inf: exp(0) = 1, so they keep probability "
        "after the softmax. Fill with float('-inf').",
        lambda logits, p: _top_p(logits, p, fill=0.0),
    ),
    Mistake(
        "Your filter adds up probabilities in vocabulary order. Sort them first, most likely first: "
        "torch.sort(logits, descending=True).",
        lambda logits, p: _top_p(logits, p, sort=False),
    ),
    Mistake(
        "Your filter sorts the probabilities in ascending order; sort them descending, most likely first.",
        lambda logits, p: _top_p(logits, p, descending=False),
    ),
    Mistake(
        "Your filter returns the logits in SORTED order. Put the decisions back in vocabulary order: "
        "drop.scatter(-1, order, drop), then mask the original logits.",
        lambda logits, p: _top_p(logits, p, scatter=False),
    ),
]


@checker
def check_top_p_filter(fn: Callable) -> None:
    """fn(logits (B, V), p) -> (B, V): the smallest set of most likely tokens whose probability reaches p kept."""
    name = "top_p_filter"
    expect_function(name, fn)
    g = torch.Generator().manual_seed(7)
    cases = [
        Case(
            "p=0.7, known probabilities",
            dict(logits=torch.tensor([[0.05, 0.5, 0.15, 0.3], [0.12, 0.6, 0.2, 0.08]]).log(), p=0.7),
        ),
        Case("p=0.9, batch of 3", dict(logits=randn(g, 3, 8, scale=2.0), p=0.9)),
        Case(
            "p=0.5 below the top probability: keep the top token alone",
            dict(logits=torch.tensor([[0.1, 0.8, 0.06, 0.04]]).log(), p=0.5),
        ),
        Case("p=0.3, batch of 2", dict(logits=randn(g, 2, 6), p=0.3)),
    ]
    run_cases(name, fn, top_p_filter, cases, _filter_run, TOP_P_MISTAKES, fields=("filtered logits",))
