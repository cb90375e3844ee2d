"""The engine of every checker: run the cases, compare with the reference, name a known mistake.

Its public names are the shared helpers of the checker modules; the underscored ones are its own.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

ATOL, RTOL = 1e-5, 1e-4  # float32: |yours - expected| <= ATOL + RTOL * |expected|
NEG_INF = float("-inf")


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


class Explained(AssertionError):
    """A failure already worded for the learner; a function wrapped by `checker` raises it as a plain AssertionError."""


def checker(check: Callable[[Any], None]) -> Callable[[Any], None]:
    """Make a checker raise AssertionError, chained to the learner's own exception if there was one."""

    @functools.wraps(check)
    def wrapped(candidate) -> None:
        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # the inputs are tiny: one thread is fastest, and kind to a shared machine
        try:
            check(candidate)
        except Explained as failure:
            raise AssertionError(str(failure)) from failure.__cause__
        finally:
            torch.set_num_threads(threads)

    return wrapped


def run_cases(
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
        got = run_candidate(name, run, candidate, case)
        problem = _compare(got, expected, fields, optional)
        if problem is not None:
            hint = _diagnose(got, case, run, mistakes, fields, optional)
            where = f"{name} is not right yet. Case {n} of {len(cases)}: {describe(case)}."
            raise Explained(f"{where}\n{hint}\n(In detail: {problem})" if hint else f"{where}\n{problem}")
    if announce:
        print(f"✓ {name}: correct on {len(cases)} cases")


def run_candidate(name: str, run: Run, candidate, case: Case):
    """Run the learner's code on copies of the inputs; turn its exceptions and in-place edits into failures."""
    copies = _copy_inputs(case)
    try:
        got = run(candidate, copies)
    except Explained:
        raise
    except NotImplementedError:
        raise Explained(
            f"{name} is not implemented yet (your code raised NotImplementedError). "
            "Fill in the exercise, then run this check again."
        ) from None
    except Exception as err:
        raise Explained(f"Your {name} raised {type(err).__name__}: {err}\non input {describe(case)}") from err
    for arg, before in case.inputs.items():
        if isinstance(before, torch.Tensor) and not torch.equal(before, copies.inputs[arg]):
            raise Explained(
                f"Your {name} changed its input `{arg}` in place (on input {describe(case)}). "
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
        return f"your code returned {kind(got)}; it should return a tuple ({', '.join(fields)})."
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
        return f"`{name}` is {kind(got)}, not a torch.Tensor.{forgot}"
    if got.shape != expected.shape:
        return f"`{name}` has shape {tuple(got.shape)}; expected {tuple(expected.shape)}."
    if got.dtype != expected.dtype:
        return f"`{name}` has dtype {got.dtype}; expected {expected.dtype}."
    if not expected.is_floating_point():
        wrong = got != expected
        if not wrong.any():
            return None
        i = _first(wrong)
        return (
            f"`{name}` differs at {int(wrong.sum())} of {wrong.numel()} positions; the first is index {i}: "
            f"yours {got[i].item()}, expected {expected[i].item()}."
        )
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
    return (
        f"`{name}` differs from the expected values by up to {diff.max().item():.3g} (max abs difference, "
        f"at index {i}: yours {got[i].item():.6g}, expected {expected[i].item():.6g})."
    )


def _first(where: torch.Tensor) -> tuple[int, ...]:
    return tuple(int(i) for i in where.nonzero()[0])


def kind(x) -> str:
    """What x is, in words: "None", "a Tensor of shape (2, 3)", "a list of 4 items", "a str"."""
    if x is None:
        return "None"
    if isinstance(x, torch.Tensor):
        return f"a Tensor of shape {tuple(x.shape)}"
    if isinstance(x, (tuple, list)):
        return f"a {type(x).__name__} of {len(x)} items"
    return f"a {type(x).__name__}"


def describe(case: Case) -> str:
    """A case in words for a failure message: its label, its inputs (small integer tensors by value) and init."""
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


def call(fn: Callable, case: Case):
    """The plainest Run: call fn on the case's inputs, positionally."""
    return fn(*case.inputs.values())


def module_run(reference_cls: type[nn.Module], keep_attn_weights: bool = False) -> Run:
    """Build a class with case.init, copy in a seeded reference instance's weights, and call it on the inputs."""

    def run(cls, case: Case):
        module = build(cls, case.init, seeded(reference_cls, case.init).state_dict())
        out = module(*case.inputs.values())
        return (out, getattr(module, "attn_weights", None)) if keep_attn_weights else out

    return run


def seeded(cls: type[nn.Module], init: dict[str, Any]) -> nn.Module:
    """The class built under a fixed seed, every parameter nudged (so LayerNorm's ones and zeros matter too)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        module = cls(**init)
        with torch.no_grad():
            for p in module.parameters():
                p.add_(0.3 * torch.randn_like(p))
    return module.eval()


def build(cls, init: dict[str, Any], state: dict[str, torch.Tensor]) -> nn.Module:
    """cls(**init) with `state` loaded, in eval mode; failing to build it or load `state` raises Explained."""
    args = ", ".join(f"{k}={v!r}" for k, v in init.items())
    try:
        with torch.random.fork_rng(devices=[]):  # its initial weights get overwritten: spare the learner's RNG
            module = cls(**init)
    except NotImplementedError:
        raise
    except Exception as err:
        raise Explained(f"Building your class as {cls.__name__}({args}) raised {type(err).__name__}: {err}") from err
    try:
        module.load_state_dict(state)
    except RuntimeError as err:
        raise Explained(
            f"Your {cls.__name__}'s parameters are not named like the package's, so the checker cannot copy "
            f"the reference weights in. Keep these names: {', '.join(state)}.\n{err}"
        ) from None
    return module.eval()


def expect_function(name: str, candidate) -> None:
    """Fail, in words, unless candidate is a function (a callable that is not a class)."""
    if isinstance(candidate, type) or not callable(candidate):
        raise Explained(f"{name}: pass your function itself, e.g. check(my_function), not {kind(candidate)}.")


def expect_class(name: str, candidate, base: type[nn.Module]) -> None:
    """Fail, in words, unless candidate is a class that subclasses base."""
    if not (isinstance(candidate, type) and issubclass(candidate, base)):
        wanted = "an nn.Module class" if base is nn.Module else f"a subclass of tl.{base.__name__}"
        raise Explained(f"{name}: pass your class itself, {wanted}, e.g. check(MyClass), not {kind(candidate)}.")


def randn(g: torch.Generator, *shape: int, scale: float = 1.0) -> torch.Tensor:
    """Standard normal values of the given shape drawn from g, times scale."""
    return torch.randn(*shape, generator=g) * scale


def lengths_mask(lengths: list[int], T: int) -> torch.Tensor:
    """(B, 1, 1, T) padding mask: row b may attend to its first lengths[b] keys."""
    return (torch.arange(T)[None, :] < torch.tensor(lengths)[:, None])[:, None, None, :]
