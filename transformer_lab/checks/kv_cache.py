"""Chapter 10: generating with a KV cache."""

from __future__ import annotations

from collections.abc import Callable

import torch

from ..gpt import GPT, GPTConfig
from ..multi_head import KVCache
from .engine import (
    N_,
    Case,
    Explained,
    Mistake,
    call,
    checker,
    expect_function,
    not_right_yet,
    run_candidate,
    run_cases,
    say_correct,
    tr,
)


def _small_gpt() -> GPT:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = GPT(GPTConfig(vocab_size=13, block_size=64, n_layers=2, n_heads=2, d_model=16)).eval()
        with torch.no_grad():  # larger weights than GPT-2's init, so every next token depends on the context
            for p in model.parameters():
                p.normal_(0.0, 0.3) if p.dim() > 1 else p.add_(0.1 * torch.randn_like(p))
    return model


@torch.no_grad()
def _cached_generate(model, idx, max_new_tokens, *, prompt_cached=True, fresh_caches=False, feed_all=False):
    """Greedy generation with KV caches, with one step changed at a time; the defaults give the right result."""
    caches = [KVCache() for _ in model.blocks]
    logits = model(idx, kv_caches=caches if prompt_cached else None)  # (B, T, V)
    for step in range(max_new_tokens):
        next_id = logits[:, -1].argmax(dim=-1, keepdim=True)  # (B, 1)
        idx = torch.cat([idx, next_id], dim=1)
        if step == max_new_tokens - 1:
            break
        if fresh_caches:
            caches = [KVCache() for _ in model.blocks]
        logits = model(idx if feed_all else next_id, kv_caches=caches)  # (B, 1, V)
    return idx


_KV_NOT_USED = N_(
    "Your tokens are right, but the KV cache is not doing its job: after the prompt, feed the model only "
    "the newest token, model(idx[:, -1:], kv_caches=caches)."
)

KV_CACHE_MISTAKES = [
    Mistake(
        "Your output matches feeding the WHOLE sequence at every step to a model whose caches already hold "
        "the past: every earlier token is cached twice. After the prompt, feed only the newest token.",
        lambda model, idx, max_new_tokens: _cached_generate(model, idx, max_new_tokens, feed_all=True),
    ),
    Mistake(
        "Your output matches new KVCaches at every step: the model then forgets the past. Make the caches "
        "once, before the loop, one per block: [tl.KVCache() for _ in model.blocks].",
        lambda model, idx, max_new_tokens: _cached_generate(model, idx, max_new_tokens, fresh_caches=True),
    ),
    Mistake(
        "Your output matches a prompt read WITHOUT the caches, so they miss its keys and values. Pass "
        "kv_caches=caches on the first call too.",
        lambda model, idx, max_new_tokens: _cached_generate(model, idx, max_new_tokens, prompt_cached=False),
    ),
    Mistake(_KV_NOT_USED, lambda model, idx, max_new_tokens: model.generate(idx, max_new_tokens, use_cache=False)),
]


@checker
def check_kv_cache_step(fn: Callable) -> None:
    """fn(model: tl.GPT, idx (B, T), max_new_tokens) -> (B, T + max_new_tokens), greedy, with one tl.KVCache per block.

    It must give model.generate(idx, max_new_tokens, use_cache=False)'s tokens and read each token once:
    the prompt in one call, model(idx, kv_caches=caches), then each new token, model(idx[:, -1:], kv_caches=caches).
    """
    name = N_("KV-cache generation")
    expect_function(name, fn)
    model = _small_gpt()
    g = torch.Generator().manual_seed(9)
    cases = [
        Case(
            "batch of 1, prompt of 3, 6 new tokens",
            dict(model=model, idx=torch.randint(13, (1, 3), generator=g), max_new_tokens=6),
        ),
        Case(
            "batch of 2, prompt of 4, 5 new tokens",
            dict(model=model, idx=torch.randint(13, (2, 4), generator=g), max_new_tokens=5),
        ),
        Case(
            "a prompt of 1 token, 4 new tokens",
            dict(model=model, idx=torch.randint(13, (1, 1), generator=g), max_new_tokens=4),
        ),
    ]

    def reference(model, idx, max_new_tokens):
        return model.generate(idx, max_new_tokens, use_cache=False)

    run_cases(name, fn, reference, cases, call, KV_CACHE_MISTAKES, fields=("ids",), announce=False)
    for n, case in enumerate(cases, 1):
        fed = _tokens_fed(name, fn, case)
        prompt, new = case.inputs["idx"].shape[1], case.inputs["max_new_tokens"]
        if fed != prompt + new - 1:
            counted = tr(
                "(For a prompt of {prompt} tokens and {new} new ones, your code fed {fed} tokens per row to the "
                "model; with the cache it feeds {prompt} + {new} - 1 = {fewest}: the prompt once, then "
                "one token per step.)"
            ).format(prompt=prompt, new=new, fed=fed, fewest=prompt + new - 1)
            raise Explained(f"{not_right_yet(name, n, len(cases), case)}\n{tr(_KV_NOT_USED)}\n{counted}")
    say_correct(name, len(cases))


def _tokens_fed(name: str, fn: Callable, case: Case) -> int:
    """How many token positions per row went through model.wte while fn ran."""
    fed = 0

    def count(module, args, output):
        nonlocal fed
        fed += args[0].shape[-1]

    handle = case.inputs["model"].wte.register_forward_hook(count)
    try:
        run_candidate(name, call, fn, case)
    finally:
        handle.remove()
    return fed
