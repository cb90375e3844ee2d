"""Chapter 9: the label-smoothed loss and the warmup + cosine learning-rate schedule."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from ..training import label_smoothed_cross_entropy, warmup_cosine
from .engine import N_, Case, Mistake, call, checker, expect_function, randn, run_cases


def _smoothed(
    logits,
    target,
    smoothing=0.1,
    ignore_index=None,
    *,
    over_others=False,
    on_target=True,
    swap=False,
    log=True,
    uniform_mean=True,
    ignore=True,
    count_pads=False,
    reduce="mean",
):
    """Label-smoothed cross-entropy with one step changed at a time; the defaults give the right result."""
    V = logits.shape[-1]
    log_probs = torch.log_softmax(logits, dim=-1) if log else logits  # (..., V)
    pads = torch.zeros_like(target, dtype=torch.bool) if ignore_index is None else target == ignore_index
    safe = target.masked_fill(pads, 0)
    nll = -log_probs.gather(-1, safe.unsqueeze(-1)).squeeze(-1)  # (...)
    every = -log_probs.sum(dim=-1)  # (...) sum over the V tokens of -log p
    if over_others:  # eps spread over the V - 1 wrong tokens only
        uniform = (every - nll) / (V - 1)
    elif not on_target:  # eps / V on each wrong token, nothing extra on the right one
        uniform = (every - nll) / V
    else:
        uniform = every / V if uniform_mean else every
    a, b = (smoothing, 1.0 - smoothing) if swap else (1.0 - smoothing, smoothing)
    loss = a * nll + b * uniform  # (...)
    if not ignore or ignore_index is None:
        return loss.mean() if reduce == "mean" else loss.sum()
    keep = ~pads
    if reduce == "sum":
        return (loss * keep).sum()
    return (loss * keep).sum() / (keep.numel() if count_pads else keep.sum())


def _smoothing_mistake(**change) -> Callable:
    return lambda logits, target, smoothing=0.1, ignore_index=None: _smoothed(
        logits, target, smoothing, ignore_index, **change
    )


LABEL_SMOOTHING_MISTAKES = [
    Mistake(
        "Your loss spreads the smoothing over the V - 1 WRONG tokens only (ε / (V - 1) each). The package "
        "spreads ε over ALL V tokens, the right one included: the target gives the right token "
        "1 - ε + ε/V and every other token ε/V, i.e. loss = (1 - ε)·(-log p_y) + ε·mean_v(-log p_v).",
        _smoothing_mistake(over_others=True),
    ),
    Mistake(
        "Your target gives the right token 1 - ε and each other token ε/V, so it sums to 1 - ε/V, not 1. "
        "The uniform part covers all V tokens, the right one included: the right token gets 1 - ε + ε/V, "
        "i.e. add ε·mean over ALL v of -log p_v.",
        _smoothing_mistake(on_target=False),
    ),
    Mistake(
        "Your loss swaps the two weights: it is (1 - ε) on the right token's -log p and ε on the uniform "
        "part, not the other way round.",
        _smoothing_mistake(swap=True),
    ),
    Mistake(
        "Your loss adds ε times the SUM of -log p_v over the vocabulary. Spread ε evenly: ε times the MEAN "
        "over the V tokens (the sum divided by V).",
        _smoothing_mistake(uniform_mean=False),
    ),
    Mistake(
        "Your loss uses the raw logits as if they were log-probabilities. Take torch.log_softmax(logits, "
        "dim=-1) first: -log p needs normalised probabilities.",
        _smoothing_mistake(log=False),
    ),
    Mistake(
        "Your loss counts the padding positions as if they were targets. Leave out every position where "
        "target == ignore_index, and average over the others.",
        _smoothing_mistake(ignore=False),
    ),
    Mistake(
        "Your loss zeroes the padding positions but still divides by ALL positions, pads included, so "
        "rows with more padding pull the loss down. Divide by the number of positions that count: "
        "(target != ignore_index).sum().",
        _smoothing_mistake(count_pads=True),
    ),
    Mistake(
        "Your loss is the SUM over positions; return the MEAN over the positions that count.",
        _smoothing_mistake(reduce="sum"),
    ),
]


@checker
def check_label_smoothed_cross_entropy(fn: Callable) -> None:
    """fn(logits (..., V), target (...), smoothing, ignore_index) -> scalar, like tl.label_smoothed_cross_entropy.

    The target puts 1 - smoothing on the right token and spreads smoothing evenly over all V tokens;
    positions where target == ignore_index (when it is not None) are left out of the mean.
    """
    name = N_("label-smoothed cross-entropy")
    expect_function(name, fn)
    g = torch.Generator().manual_seed(9)
    padded = torch.randint(1, 7, (2, 5), generator=g)  # (2, 5), id 0 is padding
    padded[0, 4:], padded[1, 2:] = 0, 0  # rows with 1 and 3 pads
    flat = torch.randint(0, 9, (6,), generator=g)  # (6,)
    padded3 = torch.randint(1, 11, (3, 4), generator=g)  # (3, 4)
    padded3[1, 3:], padded3[2, 1:] = 0, 0
    cases = [
        Case(
            "batch of 2 with padding, smoothing=0.1",
            dict(logits=randn(g, 2, 5, 7, scale=2.0), target=padded, smoothing=0.1, ignore_index=0),
        ),
        Case(
            "2-d logits (N, V), no padding (ignore_index=None), smoothing=0.25",
            dict(logits=randn(g, 6, 9, scale=3.0), target=flat, smoothing=0.25, ignore_index=None),
        ),
        Case(
            "batch of 3 with padding, smoothing=0.0 (plain cross-entropy)",
            dict(logits=randn(g, 3, 4, 11), target=padded3, smoothing=0.0, ignore_index=0),
        ),
    ]
    run_cases(name, fn, label_smoothed_cross_entropy, cases, call, LABEL_SMOOTHING_MISTAKES, fields=("loss",))


def _schedule(
    step,
    warmup_steps,
    total_steps,
    min_ratio=0.0,
    *,
    from_zero=False,
    inclusive=False,
    use_min=True,
    clip=False,
    over_run=False,
    clamp=True,
    half=True,
    shape="cosine",
):
    """The warmup + cosine multiplier with one step changed at a time; the defaults give the right result."""
    if step < warmup_steps or (inclusive and step == warmup_steps):
        return (step if from_zero else step + 1) / warmup_steps
    start = 0 if over_run else warmup_steps
    progress = (step - start) / max(1, total_steps - start)
    if clamp:
        progress = min(1.0, progress)
    if shape == "linear":
        decay = 1.0 - progress
    elif shape == "quarter":
        decay = math.cos(math.pi / 2 * progress)
    else:
        decay = 0.5 * (1.0 + math.cos(math.pi * progress)) if half else math.cos(math.pi * progress)
    if not use_min:
        return decay
    if clip:
        return max(min_ratio, decay)
    return min_ratio + (1.0 - min_ratio) * decay


def _schedule_mistake(**change) -> Callable:
    return lambda step, warmup_steps, total_steps, min_ratio=0.0: _schedule(
        step, warmup_steps, total_steps, min_ratio, **change
    )


def _schedule_run(fn, case: Case) -> torch.Tensor:
    """The multiplier at every step from 0 to total_steps + 2, as a float64 tensor (index = step)."""
    w, total, m = case.inputs.values()
    return torch.tensor([float(fn(step, w, total, m)) for step in range(total + 3)], dtype=torch.float64)


WARMUP_COSINE_MISTAKES = [
    Mistake(
        "Your warmup starts at 0 (off by one): step 0 is the first optimiser step, and a multiplier of 0 "
        "wastes it. Use (step + 1) / warmup_steps, which reaches 1 at step warmup_steps - 1.",
        _schedule_mistake(from_zero=True),
    ),
    Mistake(
        "Your warmup runs one step too long (off by one): at step = warmup_steps it gives "
        "(warmup_steps + 1) / warmup_steps > 1. Warm up while step < warmup_steps; the cosine starts at "
        "step = warmup_steps with the value 1.",
        _schedule_mistake(inclusive=True),
    ),
    Mistake(
        "Your schedule decays to 0 whatever min_ratio is. It ends at min_ratio: "
        "min_ratio + (1 - min_ratio) * 0.5 * (1 + cos(pi * progress)).",
        _schedule_mistake(use_min=False),
    ),
    Mistake(
        "Your schedule cuts the cosine off at min_ratio (max(min_ratio, cosine)), so it has a kink. Scale "
        "the cosine into [min_ratio, 1] instead: min_ratio + (1 - min_ratio) * 0.5 * (1 + cos(pi * progress)).",
        _schedule_mistake(clip=True),
    ),
    Mistake(
        "Your cosine runs over the whole run, from step 0. It starts AFTER the warmup: "
        "progress = (step - warmup_steps) / (total_steps - warmup_steps).",
        _schedule_mistake(over_run=True),
    ),
    Mistake(
        "After total_steps your multiplier rises again: the cosine is periodic. Clamp the progress at 1, "
        "so the multiplier stays at min_ratio (LambdaLR asks for step = total_steps after the last update).",
        _schedule_mistake(clamp=False),
    ),
    Mistake(
        "Your decay is cos(pi * progress), which goes down to -1. The half-cosine from 1 to 0 is "
        "0.5 * (1 + cos(pi * progress)).",
        _schedule_mistake(half=False),
    ),
    Mistake(
        "Your decay is a quarter cosine, cos(pi/2 * progress). The schedule uses the half-cosine "
        "0.5 * (1 + cos(pi * progress)): flat at the start and at the end.",
        _schedule_mistake(shape="quarter"),
    ),
    Mistake(
        "Your decay is linear. After the warmup it follows a half-cosine: 0.5 * (1 + cos(pi * progress)).",
        _schedule_mistake(shape="linear"),
    ),
]


@checker
def check_warmup_cosine(fn: Callable) -> None:
    """fn(step, warmup_steps, total_steps, min_ratio=0.0) -> float multiplier, like tl.warmup_cosine.

    Steps count from 0 (as torch.optim.lr_scheduler.LambdaLR does): (step + 1) / warmup_steps while
    step < warmup_steps, then a half-cosine from 1 down to min_ratio at total_steps, and min_ratio after.
    """
    name = "warmup_cosine"
    expect_function(name, fn)
    cases = [
        Case("warmup 4, total 12, min_ratio=0.1", dict(warmup_steps=4, total_steps=12, min_ratio=0.1)),
        Case("warmup 3, total 20, min_ratio=0.0", dict(warmup_steps=3, total_steps=20, min_ratio=0.0)),
        Case("warmup 1, total 7, min_ratio=0.5", dict(warmup_steps=1, total_steps=7, min_ratio=0.5)),
    ]
    run_cases(
        name,
        fn,
        warmup_cosine,
        cases,
        _schedule_run,
        WARMUP_COSINE_MISTAKES,
        fields=("multiplier at each step (index = step)",),
    )
