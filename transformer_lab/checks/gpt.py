"""Chapter 11: the next-token (language-modelling) loss and the GPT-2 block."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from ..attention import causal_mask
from ..gpt import Block, GPTConfig
from ..multi_head import KVCache
from ..positional import RotaryEmbedding
from ..training import cross_entropy_loss
from .engine import (
    N_,
    Case,
    Explained,
    Mistake,
    build,
    call,
    checker,
    expect_function,
    kind,
    lengths_mask,
    module_run,
    randn,
    run_cases,
    tr,
)


def _next_token_loss(logits: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    """The package's loss on the chapter's shifted pair: what the model read, tokens[:, :-1], against
    what comes next, tokens[:, 1:]. The logits at the last position have nothing to predict."""
    return cross_entropy_loss(lambda inputs: logits[:, :-1], (tokens[:, :-1], tokens[:, 1:]))


def _ce(logits, targets, **kw):
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), **kw)


NEXT_TOKEN_LOSS_MISTAKES = [
    Mistake(
        "Your loss scores each position against its OWN token: that teaches the model to copy its input. "
        "The logits at position t predict token t + 1: pair logits[:, :-1] with tokens[:, 1:].",
        lambda logits, tokens: _ce(logits, tokens),
    ),
    Mistake(
        "Your loss shifts the wrong way: it asks position t to predict token t - 1, which it has already "
        "read. Pair logits[:, :-1] (every position but the last) with tokens[:, 1:] (every token but the first).",
        lambda logits, tokens: _ce(logits[:, 1:], tokens[:, :-1]),
    ),
    Mistake(
        "Your loss shifts AFTER flattening the batch: the last position of each sequence is asked to predict "
        "the first token of the NEXT sequence. Shift along the time axis first (logits[:, :-1], "
        "tokens[:, 1:]), then flatten.",
        lambda logits, tokens: _ce(logits.reshape(-1, logits.shape[-1])[:-1], tokens.reshape(-1)[1:]),
    ),
    Mistake(
        "Your loss uses torch.roll: the last position's target wraps round to the first token of its own "
        "sequence. The last position has no next token: leave it out (logits[:, :-1] with tokens[:, 1:]).",
        lambda logits, tokens: _ce(logits, tokens.roll(-1, dims=1)),
    ),
    Mistake(
        "Your loss flattens the logits and the targets in different orders (one time-major, one batch-major), "
        "so each prediction is scored against another position's token. Flatten both the same way: "
        ".reshape(-1, V) and .reshape(-1).",
        lambda logits, tokens: _ce(logits[:, :-1].transpose(0, 1), tokens[:, 1:]),
    ),
    Mistake(
        "Your loss is the SUM over positions. Take the mean (F.cross_entropy's default), so that the loss "
        "and the gradient's size do not grow with the batch size and the sequence length.",
        lambda logits, tokens: _ce(logits[:, :-1], tokens[:, 1:], reduction="sum"),
    ),
    Mistake(
        "Your loss sums over each sequence's positions and averages over the sequences. Average over every "
        "predicted position at once: F.cross_entropy's default mean over all B·(T-1) of them.",
        lambda logits, tokens: _ce(logits[:, :-1], tokens[:, 1:], reduction="sum") / tokens.shape[0],
    ),
    Mistake(
        "Your loss applies softmax before F.cross_entropy. F.cross_entropy takes LOGITS and applies "
        "log_softmax itself: pass the raw logits.",
        lambda logits, tokens: _ce(logits[:, :-1].softmax(-1), tokens[:, 1:]),
    ),
    Mistake(
        "Your loss is F.nll_loss of probabilities. nll_loss expects LOG-probabilities: use "
        "F.cross_entropy on the logits (or nll_loss of log_softmax).",
        lambda logits, tokens: F.nll_loss(
            logits[:, :-1].softmax(-1).reshape(-1, logits.shape[-1]), tokens[:, 1:].reshape(-1)
        ),
    ),
    Mistake(
        "Your loss is F.nll_loss of the raw logits. nll_loss expects LOG-probabilities: use F.cross_entropy "
        "on the logits (or nll_loss of log_softmax).",
        lambda logits, tokens: F.nll_loss(logits[:, :-1].reshape(-1, logits.shape[-1]), tokens[:, 1:].reshape(-1)),
    ),
]


@checker
def check_next_token_loss(fn: Callable) -> None:
    """fn(logits (B, T, V), tokens (B, T)) -> scalar: the mean cross-entropy of the logits at t against token t+1."""
    name = "next_token_loss"
    expect_function(name, fn)
    g = torch.Generator().manual_seed(11)
    cases = []
    for label, (B, T, V) in {
        N_("batch of 2"): (2, 5, 7),
        N_("batch of 3, vocabulary 11"): (3, 4, 11),
        N_("batch of 1, two tokens: one prediction"): (1, 2, 6),
    }.items():
        tokens = torch.randint(0, V, (B, T), generator=g)
        cases.append(Case(label, dict(logits=randn(g, B, T, V, scale=2.0), tokens=tokens)))
    run_cases(name, fn, _next_token_loss, cases, call, NEXT_TOKEN_LOSS_MISTAKES, fields=("loss",))


class _WrittenBlock(Block):
    """GPT-2's block with its two sublayers as functions; the buggy variants below change one thing."""

    def _attn(self, h, mask):
        return self.attn(h, h, h, mask)

    def forward(self, x, mask, rotary=None, kv_cache=None):
        x = x + self._attn(self.ln_1(x), mask)  # (B, T, D)
        return x + self.mlp(self.ln_2(x))


class _BlockPostLN(_WrittenBlock):
    def forward(self, x, mask, rotary=None, kv_cache=None):
        x = self.ln_1(x + self._attn(x, mask))
        return self.ln_2(x + self.mlp(x))


class _BlockNoResidual(_WrittenBlock):
    def forward(self, x, mask, rotary=None, kv_cache=None):
        x = self._attn(self.ln_1(x), mask)
        return self.mlp(self.ln_2(x))


class _BlockResidualNormalised(_WrittenBlock):
    def forward(self, x, mask, rotary=None, kv_cache=None):
        h = self.ln_1(x)
        x = h + self._attn(h, mask)
        h = self.ln_2(x)
        return h + self.mlp(h)


class _BlockParallel(_WrittenBlock):
    def forward(self, x, mask, rotary=None, kv_cache=None):
        return x + self._attn(self.ln_1(x), mask) + self.mlp(self.ln_2(x))


class _BlockLn1Twice(_WrittenBlock):
    def forward(self, x, mask, rotary=None, kv_cache=None):
        x = x + self._attn(self.ln_1(x), mask)
        return x + self.mlp(self.ln_1(x))


class _BlockMaskIgnored(_WrittenBlock):
    def forward(self, x, mask, rotary=None, kv_cache=None):
        return super().forward(x, None)


class _BlockMlpFirst(_WrittenBlock):
    def forward(self, x, mask, rotary=None, kv_cache=None):
        x = x + self.mlp(self.ln_2(x))
        return x + self._attn(self.ln_1(x), mask)


class _BlockUnnormalisedAttention(_WrittenBlock):
    def forward(self, x, mask, rotary=None, kv_cache=None):
        x = x + self._attn(x, mask)
        return x + self.mlp(self.ln_2(x))


GPT_BLOCK_MISTAKES = [
    Mistake(
        "Your output matches post-LN, norm(x + sublayer(x)), the 2017 paper's order. GPT-2's block is "
        "pre-LN: x = x + attn(ln_1(x)), then x = x + mlp(ln_2(x)).",
        _BlockPostLN,
    ),
    Mistake(
        "Your output matches the block WITHOUT its residual connections: add each sublayer's result to its "
        "input, x = x + attn(ln_1(x)).",
        _BlockNoResidual,
    ),
    Mistake(
        "Your output matches pre-LN with the LayerNorm applied to the residual stream itself "
        "(h = ln_1(x); x = h + attn(h)). Only the sublayer's input is normalised: x = x + attn(ln_1(x)).",
        _BlockResidualNormalised,
    ),
    Mistake(
        "Your output matches a PARALLEL block, x + attn(ln_1(x)) + mlp(ln_2(x)) (GPT-J and PaLM use it). "
        "In GPT-2 the MLP reads the stream after attention has been added to it: first x = x + attn(ln_1(x)), "
        "then x = x + mlp(ln_2(x)).",
        _BlockParallel,
    ),
    Mistake(
        "Your output matches the block with ln_1 used for both sublayers: the MLP has its own LayerNorm, ln_2.",
        _BlockLn1Twice,
    ),
    Mistake(
        "Your output matches the block with the mask IGNORED: every position sees the future tokens. "
        "Pass mask to self.attn(h, h, h, mask).",
        _BlockMaskIgnored,
    ),
    Mistake("Your output matches the MLP BEFORE attention. GPT-2's order: attention, then the MLP.", _BlockMlpFirst),
    Mistake(
        "Your output matches attention on the un-normalised stream: attention's input is ln_1(x), "
        "x = x + attn(ln_1(x)).",
        _BlockUnnormalisedAttention,
    ),
]


def _block_init(**change) -> dict:
    return dict(cfg=GPTConfig(vocab_size=11, block_size=8, n_layers=2, n_heads=2, d_model=8, **change))


@checker
def check_gpt_block(cls: type[Block]) -> None:
    """cls: a subclass of transformer_lab.gpt.Block whose forward(x, mask, rotary=None, kv_cache=None, is_causal=False)
    you wrote. Its numbers are compared with the package's; then it must hand rotary, kv_cache and is_causal on
    to self.attn."""
    name = "Block"
    if not (isinstance(cls, type) and issubclass(cls, Block)):  # Block is not exported as tl.Block: say where it is
        raise Explained(
            tr(
                "{name}: pass your class itself, a subclass of transformer_lab.gpt.Block, "
                "e.g. check_gpt_block(MyBlock), not {what}."
            ).format(name=name, what=kind(cls))
        )
    g = torch.Generator().manual_seed(12)
    cases = [
        Case("batch of 2, causal mask", dict(x=randn(g, 2, 5, 8), mask=causal_mask(5)), _block_init()),
        Case(
            "batch of 1, causal mask, MLP width 12, exact GELU",
            dict(x=randn(g, 1, 4, 8, scale=2.0), mask=causal_mask(4)),
            _block_init(d_ff=12, activation="gelu"),
        ),
        Case(
            "batch of 2, causal and padding masks",
            dict(x=randn(g, 2, 6, 8), mask=causal_mask(6) & lengths_mask([6, 4], 6)),
            _block_init(),
        ),
    ]
    run_cases(name, cls, Block, cases, module_run(Block), GPT_BLOCK_MISTAKES, announce=False)
    _check_hand_off(name, cls, g)
    print(
        tr("✓ {name}: correct on {count} cases, and passes rotary, kv_cache and is_causal on to self.attn").format(
            name=name, count=len(cases)
        )
    )


def _check_hand_off(name: str, cls: type[Block], g: torch.Generator) -> None:
    """The block's numbers cannot show whether it hands rotary, kv_cache and is_causal to its attention (the
    cases pass none of them): call it with all three and look at what self.attn received."""
    init = _block_init()
    module = build(cls, init, Block(**init).state_dict())
    given = dict(rotary=RotaryEmbedding(head_dim=4, max_len=8), kv_cache=KVCache(), is_causal=True)
    received: list[dict] = []
    module.attn.register_forward_pre_hook(lambda mod, args, kwargs: received.append(kwargs), with_kwargs=True)
    signature = "forward(x, mask, rotary=..., kv_cache=..., is_causal=True)"
    try:
        with torch.no_grad():
            module(randn(g, 1, 3, 8), causal_mask(3), **given)
    except TypeError as err:
        raise Explained(
            tr(
                "Calling your {call} raised TypeError: {message}\nKeep the package's signature, "
                "forward(self, x, mask, rotary=None, kv_cache=None, is_causal=False)."
            ).format(call=f"{name}.{signature}", message=err)
        ) from err
    if not received:
        raise Explained(
            tr(
                "{name}: your numbers are right, but your forward never calls self.attn, so it cannot "
                "pass rotary, kv_cache and is_causal on. Compute attention as self.attn(h, h, h, mask, "
                "rotary=rotary, kv_cache=kv_cache, is_causal=is_causal)."
            ).format(name=name)
        )
    dropped = [k for k, v in given.items() if received[0].get(k) is not v]
    if dropped:
        raise Explained(
            tr(
                "{name}: your numbers are right, but your forward does not pass {dropped} on to self.attn "
                "(called as {call}). Write self.attn(h, h, h, mask, rotary=rotary, kv_cache=kv_cache, "
                "is_causal=is_causal): without them the same block cannot serve rotary positions, generation with a "
                "cache, or the fast path's causal kernel."
            ).format(name=name, dropped=tr(" and ").join(dropped), call=signature)
        )
