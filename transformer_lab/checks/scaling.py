"""Chapter 15: the FLOPs of training a GPT on one token, the numerator of model FLOPs utilisation."""

from __future__ import annotations

from collections.abc import Callable

import torch

from ..flops import training_flops_per_token
from ..gpt import GPT, GPTConfig
from .engine import Case, Mistake, checker, expect_function, run_cases


def _count(model: GPT, *, embeddings: tuple[str, ...] = ("wte.", "wpe."), state_dict: bool = False) -> int:
    """The parameters whose names start with none of `embeddings` (from state_dict: a tied head counts twice)."""
    tensors = model.state_dict().items() if state_dict else model.named_parameters()
    return sum(p.numel() for name, p in tensors if not name.startswith(embeddings))


def _flops(
    model: GPT,
    *,
    n: int | None = None,
    mult: int = 6,
    attn: int = 12,
    width: int | None = None,
    per_sequence: bool = False,
) -> int:
    """mult·N + attn·L·T·width, with one piece changed at a time; the defaults give 6 N + 12 L T D."""
    cfg = model.config
    n = _count(model) if n is None else n
    flops = mult * n + attn * cfg.n_layers * cfg.block_size * (cfg.d_model if width is None else width)
    return flops * cfg.block_size if per_sequence else flops


def _kaplan_n(model: GPT) -> int:
    cfg = model.config
    return 12 * cfg.n_layers * cfg.d_model**2


TRAINING_FLOPS_MISTAKES = [
    Mistake(
        "Your count matches the FORWARD pass only, 2 N + 4 L T D. Training also runs the backward pass, "
        "which costs twice the forward (gradients for the inputs and for the weights): 6 N + 12 L T D.",
        lambda model: _flops(model, mult=2, attn=4),
    ),
    Mistake(
        "Your count leaves out attention's own products, q·k against the T keys and the weighted sum of the "
        "T values: they have no parameters, so 6 N misses them. Add 12 L T D.",
        lambda model: _flops(model, attn=0),
    ),
    Mistake(
        "Your attention term counts only one of its two products (6 L T D). Each token's query meets T keys "
        "(q·k) AND its weights meet T values, T·D multiply-adds each per layer: 4 L T D forward, "
        "12 L T D with the backward.",
        lambda model: _flops(model, attn=6),
    ),
    Mistake(
        "Your N includes the token and position embeddings. A table lookup does no multiply-adds: count "
        "every parameter except wte and wpe.",
        lambda model: _flops(model, n=_count(model, embeddings=())),
    ),
    Mistake(
        "Your N includes the position embedding wpe: it is added to the input, not multiplied. Leave out "
        "both tables, wte and wpe.",
        lambda model: _flops(model, n=_count(model, embeddings=("wte.",))),
    ),
    Mistake(
        "Your N counts lm_head.weight, which with tied weights IS the token table wte (state_dict lists the "
        "one tensor under both names; named_parameters lists it once). Leave out both embedding tables.",
        lambda model: _flops(model, n=_count(model, state_dict=True)),
    ),
    Mistake(
        "Your N is the approximation 12·L·D² (the weight matrices of the attention and of an MLP 4·D wide). "
        "Count the model's actual parameters: the biases, the LayerNorms and the MLP width d_ff change it.",
        lambda model: _flops(model, n=_kaplan_n(model)),
    ),
    Mistake(
        "Your attention term uses the width of ONE head, d_k = D / n_heads. All the heads together compare "
        "queries and keys of width D: 12 L T D.",
        lambda model: _flops(model, width=model.config.d_model // model.config.n_heads),
    ),
    Mistake(
        "Your count is per SEQUENCE of T tokens (T times too large): give it per token.",
        lambda model: _flops(model, per_sequence=True),
    ),
]


def _as_number(fn: Callable, case: Case):
    """Call fn(model); a Python or one-element tensor number becomes a float64 tensor for the comparison."""
    out = fn(*case.inputs.values())
    if isinstance(out, torch.Tensor) and out.numel() == 1:
        out = out.item()
    if isinstance(out, (int, float)) and not isinstance(out, bool):
        return torch.tensor(float(out), dtype=torch.float64)
    return out


def _model(**config) -> GPT:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return GPT(GPTConfig(**config)).eval()


@checker
def check_training_flops(fn: Callable) -> None:
    """fn(model: tl.GPT) -> the FLOPs of training on one token, 6 N + 12 L T D, as tl.training_flops_per_token."""
    name = "training_flops_per_token"
    expect_function(name, fn)
    cases = [
        Case(
            "2 layers, D=16, context 32, vocabulary 50",
            dict(model=_model(vocab_size=50, block_size=32, n_layers=2, n_heads=4, d_model=16)),
        ),
        Case(
            "3 layers, D=24, context 12, MLP width 40, vocabulary 30",
            dict(model=_model(vocab_size=30, block_size=12, n_layers=3, n_heads=4, d_model=24, d_ff=40)),
        ),
        Case(
            "rotary positions (no wpe), 1 layer, D=32, context 20",
            dict(model=_model(vocab_size=40, block_size=20, n_layers=1, n_heads=4, d_model=32, positional="rope")),
        ),
    ]
    run_cases(name, fn, training_flops_per_token, cases, _as_number, TRAINING_FLOPS_MISTAKES, fields=("FLOPs",))
