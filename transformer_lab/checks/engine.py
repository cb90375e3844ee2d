"""The engine of every checker: run the cases, compare with the reference, name a known mistake.

Its public names are the shared helpers of the checker modules; the underscored ones are its own.

Every message speaks the learner's language: English, or Korean when the checker is imported from
`transformer_lab.checks.ko`. A message is written in English inside `tr(...)`, with `{fields}` filled
in by `.format` after the translation, and the Korean comes from the catalogue
`transformer_lab/locales/ko/LC_MESSAGES/checks.mo` (compiled from `locales/ko/LC_MESSAGES/checks/*.po`
by `make translations`). A hint or a case label is written plainly in `Mistake(...)` or `Case(...)`,
or inside `N_(...)` where it is kept in a constant, and translated when it is shown.
"""

from __future__ import annotations

import contextlib
import functools
import gettext
import math
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

ATOL, RTOL = 1e-5, 1e-4  # float32: |yours - expected| <= ATOL + RTOL * |expected|
NEG_INF = float("-inf")

LANGUAGE: ContextVar[str] = ContextVar("LANGUAGE", default="en")  # the running checker's; set by `speaking`
LOCALES = Path(__file__).resolve().parent.parent / "locales"


def tr(message: str) -> str:
    """message in the running checker's language (itself where the catalogue has no translation)."""
    language = LANGUAGE.get()
    return message if language == "en" or not message else _catalogue(language).gettext(message)


def N_(message: str) -> str:
    """Mark a message kept in a constant for the catalogue; `tr` translates it where it is shown."""
    return message


@functools.cache
def _catalogue(language: str) -> gettext.NullTranslations:
    return gettext.translation("checks", localedir=LOCALES, languages=[language])


@contextlib.contextmanager
def in_language(language: str) -> Iterator[None]:
    """Inside the block, `tr` speaks `language`; after it, the language before."""
    token = LANGUAGE.set(language)
    try:
        yield
    finally:
        LANGUAGE.reset(token)


def speaking(language: str, check: Callable[[Any], None]) -> Callable[[Any], None]:
    """The checker `check` with its messages in `language` ("ko"): what `transformer_lab.checks.ko` gives."""
    _catalogue(language)  # fail here, on import, if the package has no catalogue for the language

    @functools.wraps(check)
    def wrapped(candidate) -> None:
        with in_language(language):
            check(candidate)

    return wrapped


@dataclass(frozen=True)
class Case:
    """One input. `inputs` are the call's arguments, passed positionally in this order."""

    label: str = ""  # what kind of input, e.g. "cross-attention, padding mask"; none where the inputs say it all
    inputs: dict[str, Any] = field(default_factory=dict)
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
            where = not_right_yet(name, n, len(cases), case)
            detail = tr("(In detail: {problem})").format(problem=problem)
            raise Explained(f"{where}\n{hint}\n{detail}" if hint else f"{where}\n{problem}")
    if announce:
        say_correct(name, len(cases))


def say_correct(name: str, count: int) -> None:
    """The one line a checker prints when every case matches."""
    print(tr("✓ {name}: correct on {count} cases").format(name=tr(name), count=count))


def not_right_yet(name: str, n: int, total: int, case: Case) -> str:
    """The first line of a failure: which checker, which case of how many, and that case in words."""
    return tr("{name} is not right yet. Case {n} of {total}: {case}.").format(
        name=tr(name), n=n, total=total, case=describe(case)
    )


def run_candidate(name: str, run: Run, candidate, case: Case):
    """Run the learner's code on copies of the inputs; turn its exceptions and in-place edits into failures."""
    copies = _copy_inputs(case)
    try:
        got = run(candidate, copies)
    except Explained:
        raise
    except NotImplementedError:
        raise Explained(
            tr(
                "{name} is not implemented yet (your code raised NotImplementedError). "
                "Fill in the exercise, then run this check again."
            ).format(name=tr(name))
        ) from None
    except Exception as err:
        raise Explained(
            tr("Your {name} raised {error}: {message}\non input {case}").format(
                name=tr(name), error=type(err).__name__, message=err, case=describe(case)
            )
        ) from err
    for arg, before in case.inputs.items():
        if isinstance(before, torch.Tensor) and not torch.equal(before, copies.inputs[arg]):
            raise Explained(
                tr(
                    "Your {name} changed its input `{arg}` in place (on input {case}). "
                    "Leave the inputs as they are: use out-of-place operations (x = x / s, masked_fill) "
                    "rather than in-place ones (x /= s, masked_fill_), or work on a copy."
                ).format(name=tr(name), arg=arg, case=describe(case))
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
            return tr(mistake.hint)
    return None


def _compare(got, expected, fields, optional=(), equal_nan=False) -> str | None:
    """None when got matches expected; otherwise what is wrong, in words."""
    if len(fields) == 1:
        return _compare_tensor(fields[0], got, expected, equal_nan)
    if not isinstance(got, (tuple, list)) or len(got) != len(fields):
        return tr("your code returned {what}; it should return a tuple ({fields}).").format(
            what=kind(got), fields=", ".join(fields)
        )
    for name, g, e in zip(fields, got, expected):
        if g is None and name in optional:
            continue
        problem = _compare_tensor(name, g, e, equal_nan)
        if problem is not None:
            return problem
    return None


def _compare_tensor(name: str, got, expected: torch.Tensor, equal_nan: bool = False) -> str | None:
    if not isinstance(got, torch.Tensor):
        if got is None:
            return tr("`{name}` is None, not a torch.Tensor. Did you forget to `return` it?").format(name=name)
        return tr("`{name}` is {what}, not a torch.Tensor.").format(name=name, what=kind(got))
    if got.shape != expected.shape:
        return tr("`{name}` has shape {shape}; expected {expected}.").format(
            name=name, shape=tuple(got.shape), expected=tuple(expected.shape)
        )
    if got.dtype != expected.dtype:
        return tr("`{name}` has dtype {dtype}; expected {expected}.").format(
            name=name, dtype=got.dtype, expected=expected.dtype
        )
    if not expected.is_floating_point():
        wrong = got != expected
        if not wrong.any():
            return None
        i = _first(wrong)
        return tr(
            "`{name}` differs at {count} of {total} positions; the first is index {index}: "
            "yours {yours}, expected {expected}."
        ).format(
            name=name,
            count=int(wrong.sum()),
            total=wrong.numel(),
            index=i,
            yours=got[i].item(),
            expected=expected[i].item(),
        )
    close = torch.isclose(got, expected, rtol=RTOL, atol=ATOL, equal_nan=equal_nan)
    if close.all():
        return None
    nan = got.isnan() & ~expected.isnan()
    if nan.any():
        return tr("`{name}` contains NaN at {count} of {total} positions (the first: {index}).").format(
            name=name, count=int(nan.sum()), total=nan.numel(), index=_first(nan)
        )
    diff = (got.double() - expected.double()).abs().masked_fill(close, 0.0).nan_to_num(math.inf, math.inf)
    i = _first(diff == diff.max())
    values = dict(name=name, index=i, yours=f"{got[i].item():.6g}", expected=f"{expected[i].item():.6g}")
    if diff.max() == math.inf:
        return tr("`{name}` differs at index {index}: yours {yours}, expected {expected}.").format(**values)
    return tr(
        "`{name}` differs from the expected values by up to {largest} (max abs difference, "
        "at index {index}: yours {yours}, expected {expected})."
    ).format(largest=f"{diff.max().item():.3g}", **values)


def _first(where: torch.Tensor) -> tuple[int, ...]:
    return tuple(int(i) for i in where.nonzero()[0])


def kind(x) -> str:
    """What x is, in words: "None", "a Tensor of shape (2, 3)", "a list of 4 items", "a str"."""
    if x is None:
        return "None"
    if isinstance(x, torch.Tensor):
        return tr("a Tensor of shape {shape}").format(shape=tuple(x.shape))
    if isinstance(x, (tuple, list)):
        return tr("a {type} of {count} items").format(type=type(x).__name__, count=len(x))
    return tr("a {type}").format(type=type(x).__name__)


def describe(case: Case) -> str:
    """A case in words for a failure message: its label, its inputs (small integer tensors by value) and init."""
    parts = []
    for name, x in case.inputs.items():
        if isinstance(x, torch.Tensor) and not x.is_floating_point() and x.dtype != torch.bool and x.numel() <= 24:
            parts.append(f"{name}={x.tolist()}")
        elif isinstance(x, torch.Tensor):
            parts.append(f"{name} {tuple(x.shape)}" + ("" if x.dtype == torch.float32 else f" {x.dtype}"))
        elif isinstance(x, nn.Module):
            parts.append(tr("{name}: a small seeded {type}").format(name=name, type=type(x).__name__))
        else:
            parts.append(f"{name}={x!r}")
    arguments = ", ".join(f"{k}={v!r}" for k, v in case.init.items())
    built = tr("; built with {arguments}").format(arguments=arguments) if case.init else ""
    return f"{tr(case.label)} ({', '.join(parts)}{built})" if case.label else f"{', '.join(parts)}{built}"


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
        raise Explained(
            tr("Building your class as {call} raised {error}: {message}").format(
                call=f"{cls.__name__}({args})", error=type(err).__name__, message=err
            )
        ) from err
    try:
        module.load_state_dict(state)
    except RuntimeError as err:
        raise Explained(
            tr(
                "Your {cls}'s parameters are not named like the package's, so the checker cannot copy "
                "the reference weights in. Keep these names: {names}.\n{error}"
            ).format(cls=cls.__name__, names=", ".join(state), error=err)
        ) from None
    return module.eval()


def expect_function(name: str, candidate) -> None:
    """Fail, in words, unless candidate is a function (a callable that is not a class)."""
    if isinstance(candidate, type) or not callable(candidate):
        raise Explained(
            tr("{name}: pass your function itself, e.g. check(my_function), not {what}.").format(
                name=tr(name), what=kind(candidate)
            )
        )


def expect_class(name: str, candidate, base: type[nn.Module]) -> None:
    """Fail, in words, unless candidate is a class that subclasses base."""
    if not (isinstance(candidate, type) and issubclass(candidate, base)):
        if base is nn.Module:
            wanted = tr("an nn.Module class")
        else:
            wanted = tr("a subclass of {base}").format(base=f"tl.{base.__name__}")
        raise Explained(
            tr("{name}: pass your class itself, {wanted}, e.g. check(MyClass), not {what}.").format(
                name=tr(name), wanted=wanted, what=kind(candidate)
            )
        )


def randn(g: torch.Generator, *shape: int, scale: float = 1.0) -> torch.Tensor:
    """Standard normal values of the given shape drawn from g, times scale."""
    return torch.randn(*shape, generator=g) * scale


def lengths_mask(lengths: list[int], T: int) -> torch.Tensor:
    """(B, 1, 1, T) padding mask: row b may attend to its first lengths[b] keys."""
    return (torch.arange(T)[None, :] < torch.tensor(lengths)[:, None])[:, None, None, :]
