"""Exercise checks: call one right under an exercise to compare your code with the package's.

    from transformer_lab.checks import check_scaled_dot_product_attention
    check_scaled_dot_product_attention(my_attention)

A checker runs your function, or builds your class (with the package class's constructor arguments,
then copies in the weights of a seeded reference instance by state_dict), on a few small seeded
inputs and compares the result with the package's own implementation. When every case matches it
prints one line. When one does not, it raises AssertionError: it runs known buggy versions on the
same input and, if yours matches one, names the mistake; otherwise it says which input differs and
by how much.

Any correct implementation passes (einsum or matmul, -inf or -1e9, a loop or vectorised code): no
input has a fully masked row, and floats are compared with float32 tolerances. The known mistakes
sit next to each checker as lists of `Mistake(hint, impl)`, where `impl` is called like your code.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Any, Callable

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from .attention import causal_mask, padding_mask, scaled_dot_product_attention
from .decoder import DecoderLayer
from .encoder import EncoderLayer
from .generation import beam_search, greedy_decode, top_k_filter, top_p_filter
from .gpt import GPT, GPTConfig
from .layers import FeedForward, LayerNorm
from .multi_head import KVCache, MultiHeadAttention
from .positional import sinusoidal_encoding
from .transformer import Transformer, TransformerConfig
from .vit import PatchEmbedding

__all__ = [
    "check_scaled_dot_product_attention", "check_causal_mask", "check_padding_mask",
    "check_multi_head_attention", "check_sinusoidal_encoding", "check_layer_norm", "check_feed_forward",
    "check_encoder_layer", "check_decoder_layer", "check_greedy_decode", "check_beam_search",
    "check_top_k_filter", "check_top_p_filter", "check_kv_cache_step", "check_patch_embedding",
]  # fmt: skip

ATOL, RTOL = 1e-5, 1e-4  # float32: |yours - expected| <= ATOL + RTOL * |expected|
NEG_INF = float("-inf")


# ---------------------------------------------------------------------------------------------------
# The engine: run every case, compare, and on a difference look for a known mistake.
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One input. `inputs` are the call's arguments, passed positionally in this order."""

    label: str  # what kind of input, e.g. "cross-attention, padding mask"
    inputs: dict[str, Any]
    init: dict[str, Any] = field(default_factory=dict)  # constructor keyword arguments, for a class


@dataclass(frozen=True)
class Mistake:
    """A known wrong implementation, called like the learner's, and the hint for whoever matches it."""

    hint: str
    impl: Callable


Run = Callable[[Callable, Case], Any]  # (an implementation, a case) -> what gets compared


class _Explained(AssertionError):
    """A failure already worded for the learner; the public checkers raise it as a plain AssertionError."""


def _checker(check: Callable[[Any], None]) -> Callable[[Any], None]:
    """Make a checker raise AssertionError, chained to the learner's own exception if there was one."""

    @functools.wraps(check)
    def checker(candidate) -> None:
        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # the inputs are tiny: one thread is fastest, and kind to a shared machine
        try:
            check(candidate)
        except _Explained as failure:
            raise AssertionError(str(failure)) from failure.__cause__
        finally:
            torch.set_num_threads(threads)

    return checker


def _check(
    name: str,
    candidate,
    reference,
    cases: list[Case],
    run: Run,
    mistakes: list[Mistake],
    fields: tuple[str, ...] = ("output",),
    optional: tuple[str, ...] = (),
    announce: bool = True,
) -> None:
    """Compare candidate with reference on every case; print one line, or raise naming the first difference.

    `fields` name what `run` returns (a tuple when there are several); a field listed in `optional`
    is skipped when the candidate gives None for it.
    """
    for n, case in enumerate(cases, 1):
        expected = run(reference, case)
        got = _run_candidate(name, run, candidate, case)
        problem = _compare(got, expected, fields, optional)
        if problem is not None:
            hint = _diagnose(got, case, run, mistakes, fields, optional)
            where = f"{name} is not right yet. Case {n} of {len(cases)}: {_describe(case)}."
            raise _Explained(f"{where}\n{hint}\n(In detail: {problem})" if hint else f"{where}\n{problem}")
    if announce:
        print(f"✓ {name}: correct on {len(cases)} cases")


def _run_candidate(name: str, run: Run, candidate, case: Case):
    """Run the learner's code on copies of the inputs; turn its exceptions and in-place edits into failures."""
    copies = _copy_inputs(case)
    try:
        got = run(candidate, copies)
    except _Explained:
        raise
    except NotImplementedError:
        raise _Explained(
            f"{name} is not implemented yet (your code raised NotImplementedError). "
            "Fill in the exercise, then run this check again."
        ) from None
    except Exception as err:
        raise _Explained(f"Your {name} raised {type(err).__name__}: {err}\non input {_describe(case)}") from err
    for arg, before in case.inputs.items():
        if isinstance(before, torch.Tensor) and not torch.equal(before, copies.inputs[arg]):
            raise _Explained(
                f"Your {name} changed its input `{arg}` in place (on input {_describe(case)}). "
                "Leave the inputs as they are: use out-of-place operations (x = x / s, masked_fill) "
                "rather than in-place ones (x /= s, masked_fill_), or work on a copy."
            )
    return got


def _copy_inputs(case: Case) -> Case:
    """The same case with every tensor cloned; a tensor passed twice (self-attention) stays one tensor."""
    clones: dict[int, torch.Tensor] = {}
    for x in case.inputs.values():
        if isinstance(x, torch.Tensor) and id(x) not in clones:
            clones[id(x)] = x.clone()
    inputs = {k: clones[id(x)] if isinstance(x, torch.Tensor) else x for k, x in case.inputs.items()}
    return Case(case.label, inputs, case.init)


def _diagnose(got, case: Case, run: Run, mistakes: list[Mistake], fields, optional) -> str | None:
    """The hint of the first known mistake whose output on this case matches the candidate's."""
    for mistake in mistakes:
        try:
            buggy = run(mistake.impl, _copy_inputs(case))
        except Exception:  # a mistake that cannot even run on this input is not the one made here
            continue
        if _compare(got, buggy, fields, optional, equal_nan=True) is None:
            return mistake.hint
    return None


def _compare(got, expected, fields, optional=(), equal_nan=False) -> str | None:
    """None when got matches expected; otherwise what is wrong, in words."""
    if len(fields) == 1:
        return _compare_tensor(fields[0], got, expected, equal_nan)
    if not isinstance(got, (tuple, list)) or len(got) != len(fields):
        return f"your code returned {_kind(got)}; it should return a tuple ({', '.join(fields)})."
    for name, g, e in zip(fields, got, expected):
        if g is None and name in optional:
            continue
        problem = _compare_tensor(name, g, e, equal_nan)
        if problem is not None:
            return problem
    return None


def _compare_tensor(name: str, got, expected: torch.Tensor, equal_nan: bool = False) -> str | None:
    if not isinstance(got, torch.Tensor):
        forgot = " Did you forget to `return` it?" if got is None else ""
        return f"`{name}` is {_kind(got)}, not a torch.Tensor.{forgot}"
    if got.shape != expected.shape:
        return f"`{name}` has shape {tuple(got.shape)}; expected {tuple(expected.shape)}."
    if got.dtype != expected.dtype:
        return f"`{name}` has dtype {got.dtype}; expected {expected.dtype}."
    if not expected.is_floating_point():
        wrong = got != expected
        if not wrong.any():
            return None
        i = _first(wrong)
        return (f"`{name}` differs at {int(wrong.sum())} of {wrong.numel()} positions; the first is index {i}: "
                f"yours {got[i].item()}, expected {expected[i].item()}.")  # fmt: skip
    close = torch.isclose(got, expected, rtol=RTOL, atol=ATOL, equal_nan=equal_nan)
    if close.all():
        return None
    nan = got.isnan() & ~expected.isnan()
    if nan.any():
        return f"`{name}` contains NaN at {int(nan.sum())} of {nan.numel()} positions (the first: {_first(nan)})."
    diff = (got.double() - expected.double()).abs().masked_fill(close, 0.0).nan_to_num(math.inf, math.inf)
    i = _first(diff == diff.max())
    if diff.max() == math.inf:
        return f"`{name}` differs at index {i}: yours {got[i].item():.6g}, expected {expected[i].item():.6g}."
    return (f"`{name}` differs from the expected values by up to {diff.max().item():.3g} (max abs difference, "
            f"at index {i}: yours {got[i].item():.6g}, expected {expected[i].item():.6g}).")  # fmt: skip


def _first(where: torch.Tensor) -> tuple[int, ...]:
    return tuple(int(i) for i in where.nonzero()[0])


def _kind(x) -> str:
    if x is None:
        return "None"
    if isinstance(x, torch.Tensor):
        return f"a Tensor of shape {tuple(x.shape)}"
    if isinstance(x, (tuple, list)):
        return f"a {type(x).__name__} of {len(x)} items"
    return f"a {type(x).__name__}"


def _describe(case: Case) -> str:
    parts = []
    for name, x in case.inputs.items():
        if isinstance(x, torch.Tensor) and not x.is_floating_point() and x.dtype != torch.bool and x.numel() <= 24:
            parts.append(f"{name}={x.tolist()}")
        elif isinstance(x, torch.Tensor):
            parts.append(f"{name} {tuple(x.shape)}" + ("" if x.dtype == torch.float32 else f" {x.dtype}"))
        elif isinstance(x, nn.Module):
            parts.append(f"{name}: a small seeded {type(x).__name__}")
        else:
            parts.append(f"{name}={x!r}")
    built = f"; built with {', '.join(f'{k}={v!r}' for k, v in case.init.items())}" if case.init else ""
    return f"{case.label} ({', '.join(parts)}{built})" if case.label else f"{', '.join(parts)}{built}"


def _call(fn: Callable, case: Case):
    return fn(*case.inputs.values())


def _module_run(reference_cls: type[nn.Module], keep_attn_weights: bool = False) -> Run:
    """Build a class with case.init, copy in a seeded reference instance's weights, and call it on the inputs."""

    def run(cls, case: Case):
        module = _build(cls, case.init, _seeded(reference_cls, case.init).state_dict())
        out = module(*case.inputs.values())
        return (out, getattr(module, "attn_weights", None)) if keep_attn_weights else out

    return run


def _seeded(cls: type[nn.Module], init: dict[str, Any]) -> nn.Module:
    """The class built under a fixed seed, every parameter nudged (so LayerNorm's ones and zeros matter too)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        module = cls(**init)
        with torch.no_grad():
            for p in module.parameters():
                p.add_(0.3 * torch.randn_like(p))
    return module.eval()


def _build(cls, init: dict[str, Any], state: dict[str, torch.Tensor]) -> nn.Module:
    args = ", ".join(f"{k}={v!r}" for k, v in init.items())
    try:
        with torch.random.fork_rng(devices=[]):  # its initial weights get overwritten: spare the learner's RNG
            module = cls(**init)
    except NotImplementedError:
        raise
    except Exception as err:
        raise _Explained(f"Building your class as {cls.__name__}({args}) raised {type(err).__name__}: {err}") from err
    try:
        module.load_state_dict(state)
    except RuntimeError as err:
        raise _Explained(
            f"Your {cls.__name__}'s parameters are not named like the package's, so the checker cannot copy "
            f"the reference weights in. Keep these names: {', '.join(state)}.\n{err}"
        ) from None
    return module.eval()


def _expect_function(name: str, candidate) -> None:
    if isinstance(candidate, type) or not callable(candidate):
        raise _Explained(f"{name}: pass your function itself, e.g. check(my_function), not {_kind(candidate)}.")


def _expect_class(name: str, candidate, base: type[nn.Module]) -> None:
    if not (isinstance(candidate, type) and issubclass(candidate, base)):
        kind = "an nn.Module class" if base is nn.Module else f"a subclass of tl.{base.__name__}"
        raise _Explained(f"{name}: pass your class itself, {kind}, e.g. check(MyClass), not {_kind(candidate)}.")


def _randn(g: torch.Generator, *shape: int, scale: float = 1.0) -> torch.Tensor:
    return torch.randn(*shape, generator=g) * scale


def _lengths_mask(lengths: list[int], T: int) -> torch.Tensor:
    """(B, 1, 1, T) padding mask: row b may attend to its first lengths[b] keys."""
    return (torch.arange(T)[None, :] < torch.tensor(lengths)[:, None])[:, None, None, :]


# ---------------------------------------------------------------------------------------------------
# Chapter 3 — scaled dot-product attention and masks
# ---------------------------------------------------------------------------------------------------


def _attend(q, k, v, mask=None, *, scale=None, dim=-1, fill=NEG_INF, invert=False, after_softmax=False):
    """Attention with one step changed at a time; scale=None is the right 1/sqrt(d_k)."""
    scores = q @ k.transpose(-2, -1) * (q.shape[-1] ** -0.5 if scale is None else scale)  # (..., T_q, T_k)
    if mask is not None and invert:
        mask = ~mask
    if mask is not None and not after_softmax:
        scores = scores.masked_fill(~mask, fill)
    weights = scores.softmax(dim=dim)
    if mask is not None and after_softmax:
        weights = weights.masked_fill(~mask, 0.0)
    return weights @ v, weights


_WRONG_SOFTMAX_AXIS = ("Your output matches attention with the softmax over the wrong axis (the queries or the "
                      "heads). Each query's weights over the keys must sum to 1: softmax(scores, dim=-1).")

ATTENTION_MISTAKES = [
    Mistake("Your output matches attention WITHOUT the 1/sqrt(d_k) scaling. "
            "Did you forget to divide the scores by sqrt(d_k)?",
            lambda q, k, v, mask=None: _attend(q, k, v, mask, scale=1.0)),
    Mistake("Your output matches attention with the scores divided by d_k instead of sqrt(d_k). "
            "Divide by math.sqrt(d_k) (or d_k ** 0.5).",
            lambda q, k, v, mask=None: _attend(q, k, v, mask, scale=1 / q.shape[-1])),
    Mistake("Your output matches attention with the scores MULTIPLIED by sqrt(d_k). Divide them by sqrt(d_k).",
            lambda q, k, v, mask=None: _attend(q, k, v, mask, scale=q.shape[-1] ** 0.5)),
    Mistake("Your output matches attention scaled by sqrt(d_v), the width of v. "
            "d_k is the width of the queries and keys: q.shape[-1].",
            lambda q, k, v, mask=None: _attend(q, k, v, mask, scale=v.shape[-1] ** -0.5)),
    Mistake(_WRONG_SOFTMAX_AXIS, lambda q, k, v, mask=None: _attend(q, k, v, mask, dim=-2)),
    Mistake(_WRONG_SOFTMAX_AXIS, lambda q, k, v, mask=None: _attend(q, k, v, mask, dim=1)),
    Mistake("Your output matches attention with the mask inverted: you block the keys where the mask is True. "
            "Here True means 'may attend', so fill the scores where the mask is False (~mask).",
            lambda q, k, v, mask=None: _attend(q, k, v, mask, invert=True)),
    Mistake("Your output matches attention with the mask applied AFTER the softmax: the weights that are left "
            "no longer sum to 1. Fill the masked scores with -inf before the softmax.",
            lambda q, k, v, mask=None: _attend(q, k, v, mask, after_softmax=True)),
    Mistake("Your output matches attention with the masked scores filled with 0 instead of -inf. "
            "exp(0) = 1, so masked keys still get weight: fill with float('-inf').",
            lambda q, k, v, mask=None: _attend(q, k, v, mask, fill=0.0)),
    Mistake("Your output matches attention with the mask IGNORED. Fill the scores where the mask is False "
            "with -inf before the softmax.",
            lambda q, k, v, mask=None: _attend(q, k, v)),
    Mistake("You return (weights, output); return (output, weights).",
            lambda q, k, v, mask=None: _attend(q, k, v, mask)[::-1]),
]  # fmt: skip


def _attention_cases() -> list[Case]:
    g = torch.Generator().manual_seed(0)
    causal_and_padding = causal_mask(5) & _lengths_mask([5, 3], 5)  # (2, 1, 5, 5)
    return [
        Case("batch of 1, no mask", dict(q=_randn(g, 1, 3, 5), k=_randn(g, 1, 4, 5), v=_randn(g, 1, 4, 6), mask=None)),
        Case("batch of 2 with 2 heads, padding mask",
             dict(q=_randn(g, 2, 2, 4, 3), k=_randn(g, 2, 2, 6, 3), v=_randn(g, 2, 2, 6, 5),
                  mask=_lengths_mask([4, 3], 6))),
        Case("self-attention, causal mask", dict(q=_randn(g, 2, 5, 4), k=_randn(g, 2, 5, 4), v=_randn(g, 2, 5, 3),
                                                 mask=causal_mask(5))),
        Case("cross-attention (T_q=3, T_k=7), padding mask",
             dict(q=_randn(g, 2, 3, 4), k=_randn(g, 2, 7, 4), v=_randn(g, 2, 7, 2),
                  mask=_lengths_mask([7, 5], 7)[:, 0])),  # mask (2, 1, 7)
        Case("2 heads, causal and padding mask",
             dict(q=_randn(g, 2, 2, 5, 4), k=_randn(g, 2, 2, 5, 4), v=_randn(g, 2, 2, 5, 4), mask=causal_and_padding)),
        Case("one query (a decoding step), 1 head, no mask",
             dict(q=_randn(g, 1, 1, 1, 6), k=_randn(g, 1, 1, 5, 6), v=_randn(g, 1, 1, 5, 6), mask=None)),
    ]  # fmt: skip


@_checker
def check_scaled_dot_product_attention(fn: Callable) -> None:
    """fn(q, k, v, mask=None) -> (output, weights), like tl.scaled_dot_product_attention."""
    name = "scaled_dot_product_attention"
    _expect_function(name, fn)
    _check(name, fn, scaled_dot_product_attention, _attention_cases(), _call, ATTENTION_MISTAKES,
           fields=("output", "weights"))  # fmt: skip


CAUSAL_MASK_MISTAKES = [
    Mistake("Your mask leaves out the diagonal: a position may attend to itself. "
            "Use tril() (diagonal=0), not tril(-1).",
            lambda T: torch.ones(T, T, dtype=torch.bool).tril(diagonal=-1)),
    Mistake("Your mask is inverted: it is True on the future (above the diagonal), the convention of nn.Transformer's "
            "masks. Here True means 'may attend': True on and below the diagonal, ones(T, T).tril().",
            lambda T: torch.ones(T, T, dtype=torch.bool).triu(diagonal=1)),
    Mistake("Your mask is the upper triangle: it lets each position see the future and not the past. "
            "Use the lower triangle, ones(T, T).tril().",
            lambda T: torch.ones(T, T, dtype=torch.bool).triu()),
    Mistake("Your mask is an additive float mask (0 and -inf). This course's masks are boolean: True = may attend.",
            lambda T: torch.zeros(T, T).masked_fill(~causal_mask(T), NEG_INF)),
    Mistake("Your mask holds the numbers 0 and 1; make it boolean: dtype=torch.bool.",
            lambda T: torch.ones(T, T, dtype=torch.long).tril()),
    Mistake("Your mask holds the numbers 0. and 1.; make it boolean: dtype=torch.bool.",
            lambda T: torch.ones(T, T).tril()),
]  # fmt: skip


@_checker
def check_causal_mask(fn: Callable) -> None:
    """fn(T) -> (T, T) bool, True where query t may attend to key s (s <= t)."""
    name = "causal_mask"
    _expect_function(name, fn)
    cases = [Case("", dict(T=T)) for T in (5, 1, 3, 8)]
    _check(name, fn, causal_mask, cases, _call, CAUSAL_MASK_MISTAKES, fields=("mask",))


PADDING_MASK_MISTAKES = [
    Mistake("Your mask is inverted: it is True at the padding. Here True means 'may attend': tokens != pad_id.",
            lambda tokens, pad_id: (tokens == pad_id)[:, None, None, :]),
    Mistake("Your mask compares with 0 rather than with pad_id. Use tokens != pad_id.",
            lambda tokens, pad_id: (tokens != 0)[:, None, None, :]),
    Mistake("Your mask has shape (B, T); give it shape (B, 1, 1, T), mask[:, None, None, :], "
            "so it broadcasts over the heads and the queries.",
            lambda tokens, pad_id: tokens != pad_id),
    Mistake("Your mask has shape (B, 1, T); give it shape (B, 1, 1, T), mask[:, None, None, :], "
            "so it broadcasts over the heads and the queries.",
            lambda tokens, pad_id: (tokens != pad_id)[:, None, :]),
    Mistake("Your mask has shape (B, 1, T, 1): it masks queries, not keys. Padding is hidden as a KEY, "
            "so the mask is (B, 1, 1, T): mask[:, None, None, :].",
            lambda tokens, pad_id: (tokens != pad_id)[:, None, :, None]),
    Mistake("Your mask holds numbers, not booleans; keep the result of tokens != pad_id as it is (dtype torch.bool).",
            lambda tokens, pad_id: (tokens != pad_id)[:, None, None, :].long()),
    Mistake("Your mask holds numbers, not booleans; keep the result of tokens != pad_id as it is (dtype torch.bool).",
            lambda tokens, pad_id: (tokens != pad_id)[:, None, None, :].float()),
]  # fmt: skip


@_checker
def check_padding_mask(fn: Callable) -> None:
    """fn(tokens (B, T), pad_id) -> (B, 1, 1, T) bool, True at real tokens."""
    name = "padding_mask"
    _expect_function(name, fn)
    cases = [
        Case("padding at the end, pad_id=0", dict(tokens=torch.tensor([[5, 3, 7, 0, 0], [4, 4, 2, 9, 1]]), pad_id=0)),
        Case("batch of 1, pad_id=3, token 0 is a real token", dict(tokens=torch.tensor([[0, 5, 3, 3]]), pad_id=3)),
        Case("padding on the left, pad_id=1",
             dict(tokens=torch.tensor([[1, 1, 4, 5, 6, 7], [1, 2, 3, 4, 5, 6], [2, 3, 4, 5, 6, 0]]), pad_id=1)),
    ]  # fmt: skip
    _check(name, fn, padding_mask, cases, _call, PADDING_MASK_MISTAKES, fields=("mask",))


# ---------------------------------------------------------------------------------------------------
# Chapter 4 — multi-head attention
# ---------------------------------------------------------------------------------------------------


class _WrittenMHA(MultiHeadAttention):
    """Multi-head attention written out step by step; each buggy variant below changes one step."""

    def attend(self, q, k, v, mask):
        return scaled_dot_product_attention(q, k, v, mask)

    def forward(self, query, key, value, mask=None):
        q = self.split_heads(self.q_proj(query))  # (B, H, T_q, d_k)
        k = self.split_heads(self.k_proj(key))  # (B, H, T_k, d_k)
        v = self.split_heads(self.v_proj(value))
        out, self.attn_weights = self.attend(q, k, v, mask)  # (B, H, T_q, d_k), (B, H, T_q, T_k)
        return self.project(self.merge_heads(out))  # (B, T_q, D)

    def project(self, x):
        return self.out_proj(x)


class _MHASplitWithoutTranspose(_WrittenMHA):
    def split_heads(self, x):
        return x.reshape(x.shape[0], self.n_heads, x.shape[1], self.d_k)


class _MHASplitDkFirst(_WrittenMHA):
    def split_heads(self, x):
        return x.reshape(x.shape[0], x.shape[1], self.d_k, self.n_heads).permute(0, 3, 1, 2)


class _MHAMergeWithoutTranspose(_WrittenMHA):
    def merge_heads(self, x):
        return x.reshape(x.shape[0], x.shape[2], self.d_model)


class _MHAMergeDkFirst(_WrittenMHA):
    def merge_heads(self, x):
        return x.permute(0, 2, 3, 1).reshape(x.shape[0], x.shape[2], self.d_model)


class _MHANoOutputProjection(_WrittenMHA):
    def project(self, x):
        return x


class _MHAScaledByDModel(_WrittenMHA):
    def attend(self, q, k, v, mask):
        return _attend(q, k, v, mask, scale=self.d_model**-0.5)


class _MHANotScaled(_WrittenMHA):
    def attend(self, q, k, v, mask):
        return _attend(q, k, v, mask, scale=1.0)


class _MHAMaskIgnored(_WrittenMHA):
    def attend(self, q, k, v, mask):
        return scaled_dot_product_attention(q, k, v)


class _MHAValuesFromKey(_WrittenMHA):
    def forward(self, query, key, value, mask=None):
        return super().forward(query, key, key, mask)


MULTI_HEAD_MISTAKES = [
    Mistake("Your heads are split without a transpose: (B, T, D) was reshaped straight to (B, H, T, d_k), which "
            "mixes positions. View it as (B, T, H, d_k), then transpose(1, 2).", _MHASplitWithoutTranspose),
    Mistake("Your heads are split in the wrong order: the width was viewed as (d_k, H). Each head owns d_k "
            "CONSECUTIVE features: view(B, T, H, d_k), then transpose(1, 2).", _MHASplitDkFirst),
    Mistake("Your heads are merged without a transpose: (B, H, T, d_k) was reshaped straight to (B, T, D), "
            "which mixes positions. transpose(1, 2) back to (B, T, H, d_k) first, then reshape.",
            _MHAMergeWithoutTranspose),
    Mistake("Your heads are merged in the wrong order: features were laid out as (d_k, H). Concatenate the heads, "
            "(B, T, H, d_k) -> (B, T, H * d_k): transpose(1, 2), then reshape.", _MHAMergeDkFirst),
    Mistake("Your output matches multi-head attention WITHOUT the output projection. "
            "Pass the merged heads through self.out_proj.", _MHANoOutputProjection),
    Mistake("Your output matches attention scaled by sqrt(d_model). Each head works in d_k = d_model / n_heads "
            "dimensions: divide the scores by sqrt(d_k).", _MHAScaledByDModel),
    Mistake("Your output matches multi-head attention WITHOUT the 1/sqrt(d_k) scaling of the scores.", _MHANotScaled),
    Mistake("Your output matches multi-head attention with the mask IGNORED. Pass the mask to the attention.",
            _MHAMaskIgnored),
    Mistake("Your values are computed from `key`, not `value`: use self.v_proj(value).", _MHAValuesFromKey),
]  # fmt: skip


def _multi_head_cases() -> list[Case]:
    g = torch.Generator().manual_seed(1)
    x1, x2 = _randn(g, 2, 4, 12), _randn(g, 1, 5, 8)
    memory = _randn(g, 2, 5, 12)
    return [
        Case("self-attention, batch of 2, no mask", dict(query=x1, key=x1, value=x1, mask=None),
             dict(d_model=12, n_heads=3)),
        Case("self-attention, batch of 1, causal mask", dict(query=x2, key=x2, value=x2, mask=causal_mask(5)),
             dict(d_model=8, n_heads=2)),
        Case("cross-attention (T_q=3, T_k=5), padding mask",
             dict(query=_randn(g, 2, 3, 12), key=memory, value=memory, mask=_lengths_mask([5, 3], 5)),
             dict(d_model=12, n_heads=4)),
        Case("cross-attention with different key and value tensors, no mask",
             dict(query=_randn(g, 2, 2, 8), key=_randn(g, 2, 4, 8), value=_randn(g, 2, 4, 8), mask=None),
             dict(d_model=8, n_heads=4)),
    ]  # fmt: skip


@_checker
def check_multi_head_attention(cls: type[MultiHeadAttention]) -> None:
    """cls: a subclass of tl.MultiHeadAttention whose forward(query, key, value, mask=None) you wrote.

    Its attn_weights are compared too when your forward sets them.
    """
    name = "MultiHeadAttention"
    _expect_class(name, cls, MultiHeadAttention)
    _check(name, cls, MultiHeadAttention, _multi_head_cases(), _module_run(MultiHeadAttention, keep_attn_weights=True),
           MULTI_HEAD_MISTAKES, fields=("output", "attn_weights"), optional=("attn_weights",))  # fmt: skip


# ---------------------------------------------------------------------------------------------------
# Chapter 5 — the sinusoidal positional encoding
# ---------------------------------------------------------------------------------------------------


def _sinusoid(max_len, d_model, *, exponent=lambda two_i, d: two_i / d, first=torch.sin, second=torch.cos,
              start=0, interleave=True):  # fmt: skip
    """PE with one step changed at a time; the defaults give the right encoding."""
    position = torch.arange(start, start + max_len, dtype=torch.float32)[:, None]  # (max_len, 1)
    two_i = torch.arange(0, d_model, 2, dtype=torch.float32)  # (d_model/2,)
    angle = position / 10000 ** exponent(two_i, d_model)  # (max_len, d_model/2)
    if not interleave:
        return torch.cat([first(angle), second(angle)], dim=-1)
    return torch.stack([first(angle), second(angle)], dim=-1).flatten(-2)  # columns sin, cos, sin, cos, ...


def _sinusoid_precedence(max_len, d_model):
    """10000 ** 2i / d_model: the power is taken before the division."""
    two_i = torch.arange(0, d_model, 2, dtype=torch.float32)
    angle = torch.arange(max_len, dtype=torch.float32)[:, None] / (10000**two_i / d_model)
    return torch.stack([angle.sin(), angle.cos()], dim=-1).flatten(-2)


def _sinusoid_per_dimension(max_len, d_model):
    """Every column j gets its own exponent j / d_model, so a sin/cos pair no longer shares a frequency."""
    j = torch.arange(d_model, dtype=torch.float32)
    angle = torch.arange(max_len, dtype=torch.float32)[:, None] / 10000 ** (j / d_model)  # (max_len, d_model)
    return torch.where(j.long() % 2 == 0, angle.sin(), angle.cos())


SINUSOIDAL_MISTAKES = [
    Mistake("Your sin and cos are swapped: even columns 2i hold sin, odd columns 2i+1 hold cos.",
            lambda max_len, d_model: _sinusoid(max_len, d_model, first=torch.cos, second=torch.sin)),
    Mistake("Your frequencies use the exponent i / d_model; it is 2i / d_model. If i counts the pairs "
            "(0, 1, 2, ...), multiply it by 2; arange(0, d_model, 2) already gives 2i.",
            lambda max_len, d_model: _sinusoid(max_len, d_model, exponent=lambda two_i, d: two_i / 2 / d)),
    Mistake("Your frequencies use the exponent 2 * (2i) / d_model: 2i was doubled twice. arange(0, d_model, 2) "
            "already gives 2i.",
            lambda max_len, d_model: _sinusoid(max_len, d_model, exponent=lambda two_i, d: 2 * two_i / d)),
    Mistake("Your positions are MULTIPLIED by 10000^(2i/d_model); divide them: angle = pos / 10000^(2i/d_model).",
            lambda max_len, d_model: _sinusoid(max_len, d_model, exponent=lambda two_i, d: -two_i / d)),
    Mistake("Operator precedence: 10000 ** 2i / d_model means (10000 ** 2i) / d_model. "
            "Write 10000 ** (2i / d_model).",
            _sinusoid_precedence),
    Mistake("Your columns 2i and 2i+1 use different frequencies. A sin/cos pair shares one frequency: both "
            "use the exponent 2i / d_model (for column 2i+1 too, not (2i+1) / d_model).", _sinusoid_per_dimension),
    Mistake("Your encoding puts all the sines first and then all the cosines. Interleave them: "
            "PE[:, 0::2] = sin, PE[:, 1::2] = cos.",
            lambda max_len, d_model: _sinusoid(max_len, d_model, interleave=False)),
    Mistake("Your positions start at 1; they start at 0: arange(max_len).",
            lambda max_len, d_model: _sinusoid(max_len, d_model, start=1)),
    Mistake("Your encoding has shape (d_model, max_len); it is (max_len, d_model): one row per position.",
            lambda max_len, d_model: sinusoidal_encoding(max_len, d_model).T),
    Mistake("Your encoding has an extra leading dimension; return (max_len, d_model).",
            lambda max_len, d_model: sinusoidal_encoding(max_len, d_model)[None]),
]  # fmt: skip


@_checker
def check_sinusoidal_encoding(fn: Callable) -> None:
    """fn(max_len, d_model) -> (max_len, d_model) float32: PE[p, 2i] = sin(p / 10000^(2i/d)), PE[p, 2i+1] = cos(...)."""
    name = "sinusoidal_encoding"
    _expect_function(name, fn)
    cases = [Case("", dict(max_len=n, d_model=d)) for n, d in ((6, 8), (10, 4), (5, 16), (1, 2))]
    _check(name, fn, sinusoidal_encoding, cases, _call, SINUSOIDAL_MISTAKES, fields=("encoding",))


# ---------------------------------------------------------------------------------------------------
# Chapter 6 — LayerNorm and the feed-forward network
# ---------------------------------------------------------------------------------------------------


class _LayerNormUnbiased(LayerNorm):
    def forward(self, x):
        return (x - x.mean(-1, keepdim=True)) / torch.sqrt(x.var(-1, keepdim=True) + self.eps) * self.weight + self.bias


class _LayerNormEpsOutsideSqrt(LayerNorm):
    def forward(self, x):
        std = x.var(-1, keepdim=True, unbiased=False).sqrt()
        return (x - x.mean(-1, keepdim=True)) / (std + self.eps) * self.weight + self.bias


class _LayerNormNoEps(LayerNorm):
    def forward(self, x):
        return (x - x.mean(-1, keepdim=True)) / x.std(-1, keepdim=True, unbiased=False) * self.weight + self.bias


class _LayerNormFixedEps(LayerNorm):
    def forward(self, x):
        var = x.var(-1, keepdim=True, unbiased=False)
        return (x - x.mean(-1, keepdim=True)) / torch.sqrt(var + 1e-5) * self.weight + self.bias


class _LayerNormOverPositions(LayerNorm):
    def forward(self, x):
        var = x.var(1, keepdim=True, unbiased=False)
        return (x - x.mean(1, keepdim=True)) / torch.sqrt(var + self.eps) * self.weight + self.bias


class _LayerNormOverPositionsAndFeatures(LayerNorm):
    def forward(self, x):
        var = x.var((-2, -1), keepdim=True, unbiased=False)
        return (x - x.mean((-2, -1), keepdim=True)) / torch.sqrt(var + self.eps) * self.weight + self.bias


class _LayerNormByVariance(LayerNorm):
    def forward(self, x):
        var = x.var(-1, keepdim=True, unbiased=False)
        return (x - x.mean(-1, keepdim=True)) / (var + self.eps) * self.weight + self.bias


class _LayerNormMeanKept(LayerNorm):
    def forward(self, x):
        return x / torch.sqrt(x.var(-1, keepdim=True, unbiased=False) + self.eps) * self.weight + self.bias


class _LayerNormWithoutWeightAndBias(LayerNorm):
    def forward(self, x):
        return (x - x.mean(-1, keepdim=True)) / torch.sqrt(x.var(-1, keepdim=True, unbiased=False) + self.eps)


LAYER_NORM_MISTAKES = [
    Mistake("Your output matches LayerNorm with the UNBIASED variance (dividing by n - 1). LayerNorm uses the "
            "biased one, dividing by n: x.var(-1, keepdim=True, unbiased=False). (torch.var and torch.std "
            "default to unbiased.)", _LayerNormUnbiased),
    Mistake("Your output matches LayerNorm with eps OUTSIDE the square root: (x - mean) / (std + eps). "
            "Is your epsilon inside the sqrt? It is (x - mean) / sqrt(var + eps).", _LayerNormEpsOutsideSqrt),
    Mistake("Your output matches LayerNorm without eps: (x - mean) / sqrt(var + eps) keeps rows with a tiny "
            "variance from blowing up.", _LayerNormNoEps),
    Mistake("Your output matches LayerNorm with eps = 1e-5 whatever the constructor was given. Use self.eps.",
            _LayerNormFixedEps),
    Mistake("Your output matches a norm over the wrong axis: the positions (dim=1). LayerNorm normalises each "
            "vector over its LAST dimension (dim=-1, the features), separately at every position.",
            _LayerNormOverPositions),
    Mistake("Your output matches a norm over the wrong axes: the positions and the features together. LayerNorm "
            "normalises each vector over its last dimension only (dim=-1).", _LayerNormOverPositionsAndFeatures),
    Mistake("Your output matches dividing by the variance. Divide by the standard deviation: sqrt(var + eps).",
            _LayerNormByVariance),
    Mistake("Your output matches LayerNorm without subtracting the mean: it is (x - mean) / sqrt(var + eps).",
            _LayerNormMeanKept),
    Mistake("Your output matches LayerNorm without its learned scale and shift: multiply by self.weight and add "
            "self.bias at the end.", _LayerNormWithoutWeightAndBias),
]  # fmt: skip


@_checker
def check_layer_norm(cls: type[nn.Module]) -> None:
    """cls(d_model, eps=1e-5) with parameters `weight` and `bias`: y = (x - mean) / sqrt(var + eps) * weight + bias."""
    name = "LayerNorm"
    _expect_class(name, cls, nn.Module)
    g = torch.Generator().manual_seed(2)
    cases = [
        Case("batch of 2, values around 1", dict(x=_randn(g, 2, 3, 8, scale=2.0) + 1.0), dict(d_model=8, eps=1e-5)),
        Case("rows with a tiny variance (values ~1e-3, eps=1e-5)", dict(x=_randn(g, 1, 4, 6, scale=1e-3)),
             dict(d_model=6, eps=1e-5)),
        Case("2-d input, d_model=4, eps=1e-3", dict(x=_randn(g, 3, 4, scale=0.05)), dict(d_model=4, eps=1e-3)),
    ]  # fmt: skip
    _check(name, cls, LayerNorm, cases, _module_run(LayerNorm), LAYER_NORM_MISTAKES)


def _activation(name: str):
    return F.gelu if name == "gelu" else F.relu


class _FeedForwardNoActivation(FeedForward):
    def forward(self, x):
        return self.linear2(self.linear1(x))


class _FeedForwardActivationLast(FeedForward):
    def forward(self, x):
        return _activation(self.activation)(self.linear2(self.linear1(x)))


class _FeedForwardAlwaysReLU(FeedForward):
    def forward(self, x):
        return self.linear2(F.relu(self.linear1(x)))


class _FeedForwardTanhGelu(FeedForward):
    def forward(self, x):
        h = self.linear1(x)
        return self.linear2(F.gelu(h, approximate="tanh") if self.activation == "gelu" else F.relu(h))


class _FeedForwardWithResidual(FeedForward):
    def forward(self, x):
        return x + super().forward(x)


FEED_FORWARD_MISTAKES = [
    Mistake("Your output matches the feed-forward network WITHOUT its activation: two linear layers in a row "
            "are just one linear map. Apply the activation between linear1 and linear2.", _FeedForwardNoActivation),
    Mistake("Your output matches the activation applied AFTER the second linear layer. It goes between the two: "
            "linear2(activation(linear1(x))).", _FeedForwardActivationLast),
    Mistake("Your output matches ReLU although the layer was built with activation='gelu'. "
            "Use the activation named by the `activation` argument.", _FeedForwardAlwaysReLU),
    Mistake("Your output matches the tanh approximation of GELU. activation='gelu' is the exact GELU, F.gelu(x) "
            "(GPT-2's approximation is 'gelu_tanh').", _FeedForwardTanhGelu),
    Mistake("Your output matches x + FFN(x): the residual connection belongs to the encoder/decoder layer, "
            "not inside the feed-forward network.", _FeedForwardWithResidual),
]  # fmt: skip


@_checker
def check_feed_forward(cls: type[nn.Module]) -> None:
    """cls(d_model, d_ff, dropout=0.0, activation="relu" or "gelu") with submodules linear1 and linear2."""
    name = "FeedForward"
    _expect_class(name, cls, nn.Module)
    g = torch.Generator().manual_seed(3)
    cases = [
        Case("relu, batch of 2", dict(x=_randn(g, 2, 3, 6)), dict(d_model=6, d_ff=10, dropout=0.0, activation="relu")),
        Case("gelu, batch of 1", dict(x=_randn(g, 1, 4, 6, scale=2.0)),
             dict(d_model=6, d_ff=10, dropout=0.0, activation="gelu")),
        Case("relu, a 2-d input (positions, features)", dict(x=_randn(g, 3, 4)),
             dict(d_model=4, d_ff=16, dropout=0.0, activation="relu")),
    ]  # fmt: skip
    _check(name, cls, FeedForward, cases, _module_run(FeedForward), FEED_FORWARD_MISTAKES)


# ---------------------------------------------------------------------------------------------------
# Chapters 7 and 8 — encoder and decoder layers
# ---------------------------------------------------------------------------------------------------


def _post_ln(x, sublayer, norm):
    return norm(x + sublayer(x))


def _pre_ln(x, sublayer, norm):
    return x + sublayer(norm(x))


def _right_step(layer, x, sublayer, norm):
    return _pre_ln(x, sublayer, norm) if layer.norm_first else _post_ln(x, sublayer, norm)


def _swapped_step(layer, x, sublayer, norm):
    return _post_ln(x, sublayer, norm) if layer.norm_first else _pre_ln(x, sublayer, norm)


def _step_without_residual(layer, x, sublayer, norm):
    return sublayer(norm(x)) if layer.norm_first else norm(sublayer(x))


def _step_normalising_the_residual(layer, x, sublayer, norm):
    if not layer.norm_first:
        return _post_ln(x, sublayer, norm)
    h = norm(x)
    return h + sublayer(h)  # the residual stream itself went through the norm


def _step_normalising_the_sum(layer, x, sublayer, norm):
    return norm(x + sublayer(norm(x))) if layer.norm_first else _post_ln(x, sublayer, norm)


class _WrittenEncoderLayer(EncoderLayer):
    """The encoder layer with its residual step as a function; the buggy variants below change one thing."""

    step = _right_step

    def forward(self, x, mask=None):
        x = self.step(x, lambda h: self.self_attn(h, h, h, mask), self.norm1)  # (B, T, D)
        return self.step(x, self.feed_forward, self.norm2)


class _EncoderLNSwapped(_WrittenEncoderLayer):
    step = _swapped_step


class _EncoderNoResidual(_WrittenEncoderLayer):
    step = _step_without_residual


class _EncoderResidualNormalised(_WrittenEncoderLayer):
    step = _step_normalising_the_residual


class _EncoderSumNormalised(_WrittenEncoderLayer):
    step = _step_normalising_the_sum


class _EncoderMaskIgnored(_WrittenEncoderLayer):
    def forward(self, x, mask=None):
        return super().forward(x, None)


class _EncoderNorm1Twice(_WrittenEncoderLayer):
    def forward(self, x, mask=None):
        x = self.step(x, lambda h: self.self_attn(h, h, h, mask), self.norm1)
        return self.step(x, self.feed_forward, self.norm1)


_LN_SWAPPED = ("Your output matches post-LN and pre-LN swapped. norm_first=False (post-LN, the 2017 paper): "
               "x = norm(x + sublayer(x)); norm_first=True (pre-LN): x = x + sublayer(norm(x)).")  # fmt: skip
_NO_RESIDUAL = ("Your output matches the layer WITHOUT its residual connections: add each sublayer's input back, "
                "x + sublayer(...).")  # fmt: skip
_RESIDUAL_NORMALISED = ("Your output matches pre-LN with the LayerNorm applied to the residual stream itself "
                        "(h = norm(x); x = h + sublayer(h)). In pre-LN only the sublayer's input is normalised: "
                        "x = x + sublayer(norm(x)).")  # fmt: skip
_SUM_NORMALISED = ("Your output matches pre-LN with the LayerNorm ALSO applied to the residual sum, "
                   "norm(x + sublayer(norm(x))). Pre-LN leaves the sum alone: x = x + sublayer(norm(x)).")  # fmt: skip

ENCODER_LAYER_MISTAKES = [
    Mistake(_LN_SWAPPED, _EncoderLNSwapped),
    Mistake(_NO_RESIDUAL, _EncoderNoResidual),
    Mistake(_RESIDUAL_NORMALISED, _EncoderResidualNormalised),
    Mistake(_SUM_NORMALISED, _EncoderSumNormalised),
    Mistake("Your output matches the layer with the mask IGNORED: pass it to self-attention.", _EncoderMaskIgnored),
    Mistake("Your output matches the layer with norm1 used for both sublayers: the feed-forward sublayer has "
            "its own LayerNorm, norm2.", _EncoderNorm1Twice),
]  # fmt: skip


def _layer_init(norm_first: bool, activation: str = "relu") -> dict[str, Any]:
    return dict(d_model=8, n_heads=2, d_ff=16, dropout=0.0, activation=activation, norm_first=norm_first)


@_checker
def check_encoder_layer(cls: type[EncoderLayer]) -> None:
    """cls: a subclass of tl.EncoderLayer whose forward(x, mask=None) you wrote, for both values of norm_first."""
    name = "EncoderLayer"
    _expect_class(name, cls, EncoderLayer)
    g = torch.Generator().manual_seed(4)
    cases = [
        Case("post-LN, batch of 2, padding mask", dict(x=_randn(g, 2, 4, 8), mask=_lengths_mask([4, 2], 4)),
             _layer_init(norm_first=False)),
        Case("pre-LN, batch of 2, padding mask", dict(x=_randn(g, 2, 5, 8), mask=_lengths_mask([3, 5], 5)),
             _layer_init(norm_first=True)),
        Case("post-LN, gelu, batch of 1, no mask", dict(x=_randn(g, 1, 3, 8), mask=None),
             _layer_init(norm_first=False, activation="gelu")),
        Case("pre-LN, gelu, batch of 1, no mask", dict(x=_randn(g, 1, 3, 8), mask=None),
             _layer_init(norm_first=True, activation="gelu")),
    ]  # fmt: skip
    _check(name, cls, EncoderLayer, cases, _module_run(EncoderLayer), ENCODER_LAYER_MISTAKES)


class _WrittenDecoderLayer(DecoderLayer):
    """The decoder layer with its residual step as a function; the buggy variants below change one thing."""

    step = _right_step

    def forward(self, x, memory, tgt_mask=None, memory_mask=None):
        x = self.step(x, lambda h: self.self_attn(h, h, h, tgt_mask), self.norm1)  # (B, T_tgt, D)
        x = self.step(x, lambda h: self.cross_attn(h, memory, memory, memory_mask), self.norm2)
        return self.step(x, self.feed_forward, self.norm3)


class _DecoderLNSwapped(_WrittenDecoderLayer):
    step = _swapped_step


class _DecoderNoResidual(_WrittenDecoderLayer):
    step = _step_without_residual


class _DecoderResidualNormalised(_WrittenDecoderLayer):
    step = _step_normalising_the_residual


class _DecoderCrossAttendsToItself(_WrittenDecoderLayer):
    def forward(self, x, memory, tgt_mask=None, memory_mask=None):
        x = self.step(x, lambda h: self.self_attn(h, h, h, tgt_mask), self.norm1)
        x = self.step(x, lambda h: self.cross_attn(h, h, h, memory_mask), self.norm2)
        return self.step(x, self.feed_forward, self.norm3)


class _DecoderTargetMaskIgnored(_WrittenDecoderLayer):
    def forward(self, x, memory, tgt_mask=None, memory_mask=None):
        return super().forward(x, memory, None, memory_mask)


class _DecoderCrossAttentionFirst(_WrittenDecoderLayer):
    def forward(self, x, memory, tgt_mask=None, memory_mask=None):
        x = self.step(x, lambda h: self.cross_attn(h, memory, memory, memory_mask), self.norm1)
        x = self.step(x, lambda h: self.self_attn(h, h, h, tgt_mask), self.norm2)
        return self.step(x, self.feed_forward, self.norm3)


DECODER_LAYER_MISTAKES = [
    Mistake(_LN_SWAPPED, _DecoderLNSwapped),
    Mistake(_NO_RESIDUAL, _DecoderNoResidual),
    Mistake(_RESIDUAL_NORMALISED, _DecoderResidualNormalised),
    Mistake("Your output matches cross-attention whose keys and values come from the decoder itself. The "
            "queries come from the decoder; the keys and values from the encoder's output: "
            "cross_attn(h, memory, memory, memory_mask).", _DecoderCrossAttendsToItself),
    Mistake("Your output matches the layer with tgt_mask IGNORED: the self-attention must not see the future.",
            _DecoderTargetMaskIgnored),
    Mistake("Your output matches cross-attention BEFORE self-attention. The order is masked self-attention, "
            "cross-attention, feed-forward.", _DecoderCrossAttentionFirst),
]  # fmt: skip


@_checker
def check_decoder_layer(cls: type[DecoderLayer]) -> None:
    """cls: a subclass of tl.DecoderLayer whose forward(x, memory, tgt_mask=None, memory_mask=None) you wrote."""
    name = "DecoderLayer"
    _expect_class(name, cls, DecoderLayer)
    g = torch.Generator().manual_seed(5)
    tgt_mask = causal_mask(4) & _lengths_mask([4, 3], 4)  # (2, 1, 4, 4)
    cases = [
        Case("post-LN, batch of 2, causal mask, no memory mask (T_tgt=4, T_src=6)",
             dict(x=_randn(g, 2, 4, 8), memory=_randn(g, 2, 6, 8), tgt_mask=causal_mask(4), memory_mask=None),
             _layer_init(norm_first=False)),
        Case("pre-LN, batch of 1, causal mask, no memory mask (T_tgt=3, T_src=5)",
             dict(x=_randn(g, 1, 3, 8), memory=_randn(g, 1, 5, 8), tgt_mask=causal_mask(3), memory_mask=None),
             _layer_init(norm_first=True)),
        Case("post-LN, causal and padding masks",
             dict(x=_randn(g, 2, 4, 8), memory=_randn(g, 2, 6, 8), tgt_mask=tgt_mask,
                  memory_mask=_lengths_mask([6, 4], 6)), _layer_init(norm_first=False)),
        Case("pre-LN, gelu, causal and padding masks",
             dict(x=_randn(g, 2, 4, 8), memory=_randn(g, 2, 6, 8), tgt_mask=tgt_mask,
                  memory_mask=_lengths_mask([5, 6], 6)), _layer_init(norm_first=True, activation="gelu")),
    ]  # fmt: skip
    _check(name, cls, DecoderLayer, cases, _module_run(DecoderLayer), DECODER_LAYER_MISTAKES)


# ---------------------------------------------------------------------------------------------------
# Chapter 10 — generation: greedy decoding, beam search, top-k and top-p
# ---------------------------------------------------------------------------------------------------


def _small_transformer() -> Transformer:
    """A seeded, untrained encoder-decoder whose greedy rows stop at different steps (so eos handling shows)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(2)
        cfg = TransformerConfig(src_vocab_size=11, tgt_vocab_size=9, d_model=16, n_heads=2, n_layers=1, d_ff=32,
                                dropout=0.0, max_len=12)  # fmt: skip
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
    Mistake("Your output matches greedy decoding that feeds the decoder only the LAST token at each step. "
            "Feed everything generated so far, ys (B, t), and read the logits at the last position.",
            lambda model, src, max_len: _greedy(model, src, max_len, feed_all=False)),
    Mistake("Your output matches greedy decoding that reads the logits at the FIRST position. The next token "
            "comes from the last position: logits[:, -1].",
            lambda model, src, max_len: _greedy(model, src, max_len, read_last=False)),
    Mistake("Your rows go on after their eos. Once a row has produced eos, fill it with pad_id from then on "
            "(and stop when every row has finished).",
            lambda model, src, max_len: _greedy(model, src, max_len, pad_after_eos=False)),
    Mistake("Your rows go on after their eos. Once a row has produced eos, fill it with pad_id from then on "
            "(and stop when every row has finished).",
            lambda model, src, max_len: _greedy(model, src, max_len, pad_after_eos=False, stop=False)),
    Mistake("Your output leaves out the bos token it started from: return ys, bos included.",
            lambda model, src, max_len: greedy_decode(model, src, max_len)[:, 1:]),
]  # fmt: skip


@_checker
def check_greedy_decode(fn: Callable) -> None:
    """fn(model, src, max_len) -> ids (B, <= 1 + max_len), starting with bos, like tl.greedy_decode.

    Rows that finished with eos are padded with pad_id; stopping early once every row has finished is optional.
    """
    name = "greedy_decode"
    _expect_function(name, fn)
    model = _small_transformer()
    one, batch = _sources()
    cases = [
        Case("batch of 1, max_len=6", dict(model=model, src=one, max_len=6)),
        Case("batch of 3 with source padding, max_len=8", dict(model=model, src=batch, max_len=8)),
    ]
    _check(name, fn, greedy_decode, cases, _decoding_run(model.config.pad_id), GREEDY_MISTAKES, fields=("ids",))


@torch.no_grad()
def _beam(model, src, beam_size=4, max_len=32, length_penalty=0.0, *, log_probs=True, accumulate=True, penalty=True):
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
            logits = model.decode(torch.tensor([seq for _, seq in beams]), memory.expand(K, -1, -1),
                                  one_src.expand(K, -1))[:, -1]  # (K, V)  # fmt: skip
            steps = (logits.log_softmax(-1) if log_probs else logits).tolist()
            candidates = [((score if accumulate else 0.0) + s, seq + [token])
                          for (score, seq), step in zip(beams, steps) for token, s in enumerate(step)]  # fmt: skip
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
    Mistake("Your output matches beam search that ranks by raw logits. Add log-probabilities: "
            "torch.log_softmax(logits, dim=-1), not the logits themselves.",
            lambda model, src, beam_size=4, max_len=32, length_penalty=0.0:
            _beam(model, src, beam_size, max_len, length_penalty, log_probs=False)),
    Mistake("Your output matches beam search that ranks by the last token's log-probability only. A beam's score "
            "is the SUM of its tokens' log-probabilities: add the new log-probs to the beam's score.",
            lambda model, src, beam_size=4, max_len=32, length_penalty=0.0:
            _beam(model, src, beam_size, max_len, length_penalty, accumulate=False)),
    Mistake("Your output matches beam search that ignores length_penalty. Score a finished hypothesis by "
            "log P / length ** length_penalty (length = generated tokens, eos included).",
            lambda model, src, beam_size=4, max_len=32, length_penalty=0.0:
            _beam(model, src, beam_size, max_len, length_penalty, penalty=False)),
]  # fmt: skip


@_checker
def check_beam_search(fn: Callable) -> None:
    """fn(model, src, beam_size=4, max_len=32, length_penalty=0.0) -> ids (B, <= 1 + max_len), like tl.beam_search.

    With beam_size=1 it must give exactly greedy decoding's output.
    """
    name = "beam_search"
    _expect_function(name, fn)
    model = _small_transformer()
    one, batch = _sources()
    args = lambda src, k, n, lp: dict(model=model, src=src, beam_size=k, max_len=n, length_penalty=lp)  # noqa: E731
    cases = [
        Case("beam_size=1, which must give greedy decoding's output", args(batch, 1, 8, 0.0)),
        Case("beam_size=3, batch of 3 with source padding", args(batch, 3, 8, 0.0)),
        Case("beam_size=3, length_penalty=1.0", args(batch, 3, 8, 1.0)),
        Case("beam_size=2, batch of 1", args(one, 2, 6, 0.0)),
    ]
    _check(name, fn, beam_search, cases, _decoding_run(model.config.pad_id), BEAM_MISTAKES, fields=("ids",))


def _filter_run(fn, case: Case):
    """Call a logits filter; any value <= -1e9 counts as removed, like -inf (softmax gives it 0 either way)."""
    out = fn(*case.inputs.values())
    if isinstance(out, torch.Tensor) and out.is_floating_point():
        out = out.masked_fill(out <= -1e9, NEG_INF)
    return out


TOP_K_MISTAKES = [
    Mistake("Your filter sets the removed logits to 0 instead of -inf: exp(0) = 1, so they keep probability "
            "after the softmax. Fill with float('-inf').",
            lambda logits, k: logits.masked_fill(logits < logits.topk(k, dim=-1).values[..., -1:], 0.0)),
    Mistake("Your filter keeps k + 1 tokens (off by one): keep the logits >= the k-th largest, "
            "topk(k).values[..., -1:].",
            lambda logits, k: logits.masked_fill(logits < logits.sort(-1, descending=True).values[..., k : k + 1],
                                                 NEG_INF)),
    Mistake("Your filter keeps k - 1 tokens (off by one): the k-th largest logit itself stays, so remove only "
            "logits < kth, not <= kth.",
            lambda logits, k: logits.masked_fill(logits <= logits.topk(k, dim=-1).values[..., -1:], NEG_INF)),
    Mistake("Your filter keeps the k SMALLEST logits; keep the k largest: torch.topk(logits, k) (largest=True).",
            lambda logits, k: logits.masked_fill(logits > logits.topk(k, dim=-1, largest=False).values[..., -1:],
                                                 NEG_INF)),
    Mistake("Your filter returns probabilities; return the filtered LOGITS (the rest set to -inf). "
            "The softmax comes later, when sampling.",
            lambda logits, k: top_k_filter(logits, k).softmax(dim=-1)),
]  # fmt: skip


@_checker
def check_top_k_filter(fn: Callable) -> None:
    """fn(logits (B, V), k) -> (B, V): the k largest logits of each row kept, the others set to -inf."""
    name = "top_k_filter"
    _expect_function(name, fn)
    g = torch.Generator().manual_seed(6)
    cases = [
        Case("k=3 of 7, batch of 2", dict(logits=_randn(g, 2, 7, scale=2.0), k=3)),
        Case("k=1, batch of 1", dict(logits=_randn(g, 1, 5), k=1)),
        Case("k = V: keep everything", dict(logits=_randn(g, 3, 6), k=6)),
        Case("k=4 of 10, all logits negative", dict(logits=-_randn(g, 2, 10).abs() - 1.0, k=4)),
    ]
    _check(name, fn, top_k_filter, cases, _filter_run, TOP_K_MISTAKES, fields=("filtered logits",))


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
    Mistake("Your filter drops the token that crosses p (off by one). Keep the smallest set whose probability "
            "REACHES p: a token goes only when the tokens ranked above it already hold p, i.e. drop where "
            "cumsum - probs >= p (not cumsum > p).",
            lambda logits, p: _top_p(logits, p, keep_crossing=False)),
    Mistake("Your filter sets the removed logits to 0 instead of -inf: exp(0) = 1, so they keep probability "
            "after the softmax. Fill with float('-inf').",
            lambda logits, p: _top_p(logits, p, fill=0.0)),
    Mistake("Your filter adds up probabilities in vocabulary order. Sort them first, most likely first: "
            "torch.sort(logits, descending=True).",
            lambda logits, p: _top_p(logits, p, sort=False)),
    Mistake("Your filter sorts the probabilities in ascending order; sort them descending, most likely first.",
            lambda logits, p: _top_p(logits, p, descending=False)),
    Mistake("Your filter returns the logits in SORTED order. Put the decisions back in vocabulary order: "
            "drop.scatter(-1, order, drop), then mask the original logits.",
            lambda logits, p: _top_p(logits, p, scatter=False)),
]  # fmt: skip


@_checker
def check_top_p_filter(fn: Callable) -> None:
    """fn(logits (B, V), p) -> (B, V): the smallest set of most likely tokens whose probability reaches p kept."""
    name = "top_p_filter"
    _expect_function(name, fn)
    g = torch.Generator().manual_seed(7)
    cases = [
        Case("p=0.7, known probabilities",
             dict(logits=torch.tensor([[0.05, 0.5, 0.15, 0.3], [0.12, 0.6, 0.2, 0.08]]).log(), p=0.7)),
        Case("p=0.9, batch of 3", dict(logits=_randn(g, 3, 8, scale=2.0), p=0.9)),
        Case("p=0.5 below the top probability: keep the top token alone",
             dict(logits=torch.tensor([[0.1, 0.8, 0.06, 0.04]]).log(), p=0.5)),
        Case("p=0.3, batch of 2", dict(logits=_randn(g, 2, 6), p=0.3)),
    ]  # fmt: skip
    _check(name, fn, top_p_filter, cases, _filter_run, TOP_P_MISTAKES, fields=("filtered logits",))


# ---------------------------------------------------------------------------------------------------
# Chapter 11 — generating with a KV cache
# ---------------------------------------------------------------------------------------------------


def _small_gpt() -> GPT:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = GPT(GPTConfig(vocab_size=13, block_size=64, n_layer=2, n_head=2, d_model=16)).eval()
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


_KV_NOT_USED = ("Your tokens are right, but the KV cache is not doing its job: after the prompt, feed the model only "
                "the newest token, model(idx[:, -1:], kv_caches=caches).")  # fmt: skip

KV_CACHE_MISTAKES = [
    Mistake("Your output matches feeding the WHOLE sequence at every step to a model whose caches already hold "
            "the past: every earlier token is cached twice. After the prompt, feed only the newest token.",
            lambda model, idx, max_new_tokens: _cached_generate(model, idx, max_new_tokens, feed_all=True)),
    Mistake("Your output matches new KVCaches at every step: the model then forgets the past. Make the caches "
            "once, before the loop, one per block: [tl.KVCache() for _ in model.blocks].",
            lambda model, idx, max_new_tokens: _cached_generate(model, idx, max_new_tokens, fresh_caches=True)),
    Mistake("Your output matches a prompt read WITHOUT the caches, so they miss its keys and values. Pass "
            "kv_caches=caches on the first call too.",
            lambda model, idx, max_new_tokens: _cached_generate(model, idx, max_new_tokens, prompt_cached=False)),
    Mistake(_KV_NOT_USED, lambda model, idx, max_new_tokens: model.generate(idx, max_new_tokens, use_cache=False)),
]  # fmt: skip


@_checker
def check_kv_cache_step(fn: Callable) -> None:
    """fn(model: tl.GPT, idx (B, T), max_new_tokens) -> (B, T + max_new_tokens), greedy, with one tl.KVCache per block.

    It must give model.generate(idx, max_new_tokens, use_cache=False)'s tokens and read each token once:
    the prompt in one call, model(idx, kv_caches=caches), then each new token, model(idx[:, -1:], kv_caches=caches).
    """
    name = "KV-cache generation"
    _expect_function(name, fn)
    model = _small_gpt()
    g = torch.Generator().manual_seed(9)
    cases = [
        Case("batch of 1, prompt of 3, 6 new tokens", dict(model=model, idx=torch.randint(13, (1, 3), generator=g),
                                                           max_new_tokens=6)),
        Case("batch of 2, prompt of 4, 5 new tokens", dict(model=model, idx=torch.randint(13, (2, 4), generator=g),
                                                           max_new_tokens=5)),
        Case("a prompt of 1 token, 4 new tokens", dict(model=model, idx=torch.randint(13, (1, 1), generator=g),
                                                       max_new_tokens=4)),
    ]  # fmt: skip

    def reference(model, idx, max_new_tokens):
        return model.generate(idx, max_new_tokens, use_cache=False)

    _check(name, fn, reference, cases, _call, KV_CACHE_MISTAKES, fields=("ids",), announce=False)
    for n, case in enumerate(cases, 1):
        fed = _tokens_fed(name, fn, case)
        prompt, new = case.inputs["idx"].shape[1], case.inputs["max_new_tokens"]
        if fed != prompt + new - 1:
            raise _Explained(
                f"{name} is not right yet. Case {n} of {len(cases)}: {_describe(case)}.\n{_KV_NOT_USED}\n"
                f"(For a prompt of {prompt} tokens and {new} new ones, your code fed {fed} tokens per row to the "
                f"model; with the cache it feeds {prompt} + {new} - 1 = {prompt + new - 1}: the prompt once, then "
                "one token per step.)"
            )
    print(f"✓ {name}: correct on {len(cases)} cases")


def _tokens_fed(name: str, fn: Callable, case: Case) -> int:
    """How many token positions per row went through model.wte while fn ran."""
    fed = 0

    def count(module, args, output):
        nonlocal fed
        fed += args[0].shape[-1]

    handle = case.inputs["model"].wte.register_forward_hook(count)
    try:
        _run_candidate(name, _call, fn, case)
    finally:
        handle.remove()
    return fed


# ---------------------------------------------------------------------------------------------------
# Chapter 12 — the ViT's patch embedding
# ---------------------------------------------------------------------------------------------------


class _PatchesRearranged(PatchEmbedding):
    """The patch embedding with the flattening pattern as a class attribute; the variants below change it."""

    pattern = "b c (h p1) (w p2) -> b (h w) (p1 p2 c)"

    def forward(self, images):
        P = self.patch_size
        return self.proj(rearrange(images, self.pattern, p1=P, p2=P))  # (B, N, D)


class _PatchesChannelFirst(_PatchesRearranged):
    pattern = "b c (h p1) (w p2) -> b (h w) (c p1 p2)"


class _PatchesColumnOrder(_PatchesRearranged):
    pattern = "b c (h p1) (w p2) -> b (w h) (p1 p2 c)"


class _PatchesTransposedInside(_PatchesRearranged):
    pattern = "b c (h p1) (w p2) -> b (h w) (p2 p1 c)"


class _PatchesTransposedImage(_PatchesRearranged):
    pattern = "b c (h p1) (w p2) -> b (w h) (p2 p1 c)"


class _PatchesReshapedOnly(PatchEmbedding):
    def forward(self, images):
        N = (self.image_size // self.patch_size) ** 2
        return self.proj(images.reshape(images.shape[0], N, -1))


PATCH_EMBEDDING_MISTAKES = [
    Mistake("Your patches are flattened channel-first, (c, p1, p2). This course flattens each patch "
            "channel-last, (p1, p2, c): rearrange(images, 'b c (h p1) (w p2) -> b (h w) (p1 p2 c)').",
            _PatchesChannelFirst),
    Mistake("Your patches are numbered column by column. Number them row by row, like reading: (h w), not (w h).",
            _PatchesColumnOrder),
    Mistake("Inside each patch your rows and columns are swapped: flatten a patch row by row, (p1 p2 c) "
            "with p1 the row.", _PatchesTransposedInside),
    Mistake("Your patches come from the TRANSPOSED image (rows and columns swapped, between and inside patches). "
            "Split the height into (h p1) and the width into (w p2).", _PatchesTransposedImage),
    Mistake("Your patches come from a plain reshape of the image, which cuts it into strips of pixels, not "
            "P x P squares. Split height and width into (h, p1) and (w, p2), move the patch axes together, then "
            "flatten: rearrange(images, 'b c (h p1) (w p2) -> b (h w) (p1 p2 c)').", _PatchesReshapedOnly),
]  # fmt: skip


@_checker
def check_patch_embedding(cls: type[nn.Module]) -> None:
    """cls(*, image_size, patch_size, in_channels, d_model) with a Linear `proj`: images (B, C, H, W) -> (B, N, D)."""
    name = "PatchEmbedding"
    _expect_class(name, cls, nn.Module)
    g = torch.Generator().manual_seed(9)
    init = lambda size, P, C, D: dict(image_size=size, patch_size=P, in_channels=C, d_model=D)  # noqa: E731
    cases = [
        Case("RGB 8x8 images, 4x4 patches, batch of 2", dict(images=_randn(g, 2, 3, 8, 8)), init(8, 4, 3, 6)),
        Case("grey 6x6 image, 2x2 patches", dict(images=_randn(g, 1, 1, 6, 6)), init(6, 2, 1, 5)),
        Case("2-channel 4x4 image, 2x2 patches", dict(images=_randn(g, 1, 2, 4, 4)), init(4, 2, 2, 3)),
    ]
    _check(name, cls, PatchEmbedding, cases, _module_run(PatchEmbedding), PATCH_EMBEDDING_MISTAKES)
