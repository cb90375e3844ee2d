"""Chapter 14: Hugging Face's GPT-2 layouts, the `Conv1D` layer and the tanh-approximate GELU, and the
token a GPT-2 classifier reads (the last real one).

`transformers` is not a dependency of the package: the Conv1D checker imports it when it is called.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from ..hugging_face import last_token_states, linear_from_conv1d
from ..layers import ACTIVATIONS
from .engine import Case, Explained, Mistake, call, checker, expect_function, kind, randn, run_cases, tr


def _conv1d(d_in: int, d_out: int, seed: int) -> nn.Module:
    """A Hugging Face GPT-2 Conv1D with seeded weights and a nonzero bias (its own init has bias 0)."""
    try:
        from transformers.pytorch_utils import Conv1D
    except ImportError as err:
        raise Explained(tr("check_conv1d_to_linear needs Hugging Face's `transformers` installed.")) from err
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        conv = Conv1D(d_out, d_in)  # (nf, nx): weight (d_in, d_out)
        with torch.no_grad():
            conv.weight.normal_(0.0, 0.5)
            conv.bias.normal_(0.0, 0.5)
    return conv


def _conversion_run(fn: Callable, case: Case):
    """(the Linear's output, the Conv1D's output after 1 is added to the Linear's weight and 10 to its bias)."""
    conv = _conv1d(**case.init)
    x = case.inputs["x"]
    with torch.random.fork_rng(devices=[]):  # nn.Linear(...) draws a random init: spare the learner's RNG
        linear = fn(conv)
    if isinstance(linear, nn.Module) and type(linear).__name__ == "Conv1D":
        raise Explained(tr("conv1d_to_linear returned the Conv1D itself; build and return a new nn.Linear."))
    if not isinstance(linear, nn.Linear):
        raise Explained(
            tr("conv1d_to_linear returned {what}; it should return an nn.Linear.").format(what=kind(linear))
        )
    with torch.no_grad():
        y = linear(x)  # (..., d_out)
        linear.weight.add_(1.0)  # a later edit of the copy, e.g. fine-tuning it, must leave the original alone
        if linear.bias is not None:
            linear.bias.add_(10.0)
        original = conv(x)  # (..., d_out)
    return y, original


def _linear(weight: torch.Tensor, bias: torch.Tensor | None) -> nn.Linear:
    """An nn.Linear holding exactly these tensors (shared, not copied)."""
    linear = nn.utils.skip_init(nn.Linear, weight.shape[1], weight.shape[0], bias=bias is not None)
    linear.weight = nn.Parameter(weight, requires_grad=False)
    if bias is not None:
        linear.bias = nn.Parameter(bias, requires_grad=False)
    return linear


def _not_transposed(conv):
    return _linear(conv.weight.detach().clone(), conv.bias.detach().clone())


def _bias_dropped(conv):
    return _linear(conv.weight.detach().T.clone(), None)


def _weight_shared(conv):
    return _linear(conv.weight.data.T, conv.bias.detach().clone())


def _bias_shared(conv):
    return _linear(conv.weight.detach().T.clone(), conv.bias.data)


def _both_shared(conv):
    return _linear(conv.weight.data.T, conv.bias.data)


CONV1D_MISTAKES = [
    Mistake(
        "Your Linear uses the Conv1D weight NOT transposed. A Conv1D weight is (in, out) and computes "
        "x @ W + b; nn.Linear's weight is (out, in) and computes x @ W.T + b, so copy conv1d.weight.T. "
        "(A reshape or view to (out, in) is not a transpose: it reorders the numbers.)",
        _not_transposed,
    ),
    Mistake(
        "Your Linear has no bias, or a zero one: copy conv1d.bias too (GPT-2's Conv1D always has one).", _bias_dropped
    ),
    Mistake(
        "Your Linear SHARES its weight with the Conv1D (W.T and .data are views of the same numbers): changing "
        "the Linear changed the Conv1D too. Copy it: linear.weight.copy_(conv1d.weight.T) under "
        "torch.no_grad(), or nn.Parameter(conv1d.weight.T.clone()).",
        _weight_shared,
    ),
    Mistake(
        "Your Linear SHARES its bias with the Conv1D (the same tensor): changing the Linear's bias changed the "
        "Conv1D's. Copy it: linear.bias.copy_(conv1d.bias), or nn.Parameter(conv1d.bias.clone()).",
        _bias_shared,
    ),
    Mistake(
        "Your Linear SHARES its weight and bias with the Conv1D: changing the Linear changed the Conv1D too. "
        "Copy them (copy_ under torch.no_grad(), or .clone()).",
        _both_shared,
    ),
]


@checker
def check_conv1d_to_linear(fn: Callable) -> None:
    """fn(conv1d) -> an nn.Linear computing what a Hugging Face GPT-2 Conv1D computes, with its own weights.

    A Conv1D has weight (in, out) and bias (out,) and computes x @ weight + bias.
    """
    name = "conv1d_to_linear"
    expect_function(name, fn)
    g = torch.Generator().manual_seed(14)
    cases = [
        Case("a square layer (6 -> 6), batch of 2", dict(x=randn(g, 2, 3, 6)), dict(d_in=6, d_out=6, seed=0)),
        Case("a wide layer (5 -> 8), as GPT-2's c_fc", dict(x=randn(g, 2, 4, 5)), dict(d_in=5, d_out=8, seed=1)),
        Case("a narrow layer (8 -> 3), a 2-d input", dict(x=randn(g, 4, 8)), dict(d_in=8, d_out=3, seed=2)),
    ]
    fields = ("output", "the Conv1D's output after the checker changed your Linear")
    run_cases(name, fn, linear_from_conv1d, cases, _conversion_run, CONV1D_MISTAKES, fields=fields)


_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


def _gelu_tanh_formula(x, *, c=_SQRT_2_OVER_PI, cubic=0.044715, half=0.5, times_x=True):
    """0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), with one constant changed at a time by the mistakes."""
    cdf = half * (1.0 + torch.tanh(c * (x + cubic * x**3)))
    return x * cdf if times_x else cdf


GELU_TANH_MISTAKES = [
    Mistake(
        "Your output matches the EXACT GELU, x * Phi(x) with erf (F.gelu(x)). GPT-2 uses the tanh "
        "approximation: 0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x**3))).",
        F.gelu,
    ),
    Mistake(
        "Your output matches the formula without the cubic term: it is tanh(sqrt(2 / pi) * (x + 0.044715 * "
        "x**3)), not tanh(sqrt(2 / pi) * x).",
        lambda x: _gelu_tanh_formula(x, cubic=0.0),
    ),
    Mistake(
        "Your output matches 2 / pi where the formula has sqrt(2 / pi) (about 0.7979).",
        lambda x: _gelu_tanh_formula(x, c=2.0 / math.pi),
    ),
    Mistake(
        "Your output matches sqrt(2 * pi) where the formula has sqrt(2 / pi) (about 0.7979).",
        lambda x: _gelu_tanh_formula(x, c=math.sqrt(2.0 * math.pi)),
    ),
    Mistake(
        "Your output matches the formula without its factor 0.5: 0.5 * x * (1 + tanh(...)). (Without it, "
        "GELU(x) would tend to 2x for large x instead of x.)",
        lambda x: _gelu_tanh_formula(x, half=1.0),
    ),
    Mistake(
        "Your output matches 0.5 * (1 + tanh(...)) alone: that is the approximate Phi(x), the probability. "
        "GELU multiplies it by x.",
        lambda x: _gelu_tanh_formula(x, times_x=False),
    ),
    Mistake(
        "Your output matches x * sigmoid(1.702 * x), the 'quick GELU' of CLIP: a different approximation. "
        "GPT-2's is 0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x**3))).",
        lambda x: x * torch.sigmoid(1.702 * x),
    ),
]


@checker
def check_gelu_tanh(fn: Callable) -> None:
    """fn(x) -> GPT-2's GELU, 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), elementwise, same shape as x."""
    name = "gelu_tanh"
    expect_function(name, fn)
    g = torch.Generator().manual_seed(15)
    cases = [
        Case("41 values from -5 to 5", dict(x=torch.linspace(-5.0, 5.0, 41))),
        Case("a (2, 3, 8) batch of activations", dict(x=randn(g, 2, 3, 8, scale=2.0))),
        Case("large values, where tanh saturates", dict(x=torch.tensor([[-30.0, -12.0, -6.5], [6.5, 12.0, 30.0]]))),
    ]
    run_cases(name, fn, ACTIVATIONS["gelu_tanh"], cases, call, GELU_TANH_MISTAKES)


def _mask(lengths: list[int], total: int, *, left: bool) -> torch.Tensor:
    """(B, total) of 1 for the real tokens and 0 for padding, the padding at the end (or at the start if left)."""
    rows = [[0] * (total - n) + [1] * n if left else [1] * n + [0] * (total - n) for n in lengths]
    return torch.tensor(rows)


def _gather(hidden: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
    return hidden[torch.arange(hidden.shape[0]), positions]  # (B, D)


LAST_TOKEN_MISTAKES = [
    Mistake(
        "Your output matches the LAST POSITION of every row, hidden[:, -1]. For a row with padding at the end "
        "that is a padding token; the classifier must read the last REAL token (the rightmost 1 of the mask).",
        lambda hidden, mask: hidden[:, -1],
    ),
    Mistake(
        "Your output matches the position attention_mask.sum(1) - 1: right when the padding is at the end, "
        "wrong when it is at the start (left padding, as batched generation uses). Take the rightmost 1 of "
        "the mask instead, e.g. (torch.arange(T) * attention_mask).argmax(1).",
        lambda hidden, mask: _gather(hidden, mask.sum(1) - 1),
    ),
    Mistake(
        "Your output matches the FIRST real token of every row (hidden[:, 0] when the padding is at the end). In a "
        "causal model that token has seen only itself; the classifier reads the last real one. (If you used "
        "attention_mask.argmax(1): it returns the first position holding the largest value, the first 1. "
        "Multiply the mask by the positions first: (torch.arange(T) * attention_mask).argmax(1).)",
        lambda hidden, mask: _gather(hidden, mask.argmax(1)),
    ),
    Mistake(
        "Your output matches the MEAN over each row's real tokens. Mean pooling is another way to classify, "
        "but GPT-2's classifier reads one position: the last real token.",
        lambda hidden, mask: (hidden * mask[..., None]).sum(1) / mask.sum(1, keepdim=True),
    ),
]


@checker
def check_last_token_states(fn: Callable) -> None:
    """fn(hidden, attention_mask) -> (B, D): for each row of hidden (B, T, D), the state at its last real token,
    the rightmost 1 of attention_mask (B, T), wherever the padding is."""
    name = "last_token_states"
    expect_function(name, fn)
    g = torch.Generator().manual_seed(16)
    cases = [
        Case(
            "3 rows, padding at the end", dict(hidden=randn(g, 3, 6, 4), attention_mask=_mask([6, 4, 2], 6, left=False))
        ),
        Case(
            "3 rows, padding at the start",
            dict(hidden=randn(g, 3, 6, 4), attention_mask=_mask([6, 3, 1], 6, left=True)),
        ),
        Case("2 rows, no padding", dict(hidden=randn(g, 2, 5, 3), attention_mask=_mask([5, 5], 5, left=False))),
    ]
    run_cases(name, fn, last_token_states, cases, call, LAST_TOKEN_MISTAKES)
