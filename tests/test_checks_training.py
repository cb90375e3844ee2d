"""The chapter-9 checkers (label smoothing, warmup + cosine): they accept correct code and name known mistakes."""

import math
import re

import pytest
import torch
import torch.nn.functional as F

import transformer_lab as tl
from transformer_lab.checks import check_label_smoothed_cross_entropy, check_warmup_cosine, training

# ----------------------------------------------------------------------------------------------------
# Correct implementations written differently from the package's
# ----------------------------------------------------------------------------------------------------


def smoothed_with_torch(logits, target, smoothing=0.1, ignore_index=None):
    """PyTorch's own label smoothing spreads it over all V classes, as the package does."""
    V = logits.shape[-1]
    return F.cross_entropy(
        logits.reshape(-1, V),
        target.reshape(-1),
        label_smoothing=smoothing,
        ignore_index=-100 if ignore_index is None else ignore_index,
    )


def smoothed_soft_target(logits, target, smoothing=0.1, ignore_index=None):
    """Build the soft target distribution explicitly and take -sum(q log p), then average the kept rows."""
    V = logits.shape[-1]
    logits, target = logits.reshape(-1, V), target.reshape(-1)
    if ignore_index is not None:
        keep = target != ignore_index
        logits, target = logits[keep], target[keep]
    q = torch.full_like(logits, smoothing / V)
    q[torch.arange(len(target)), target] += 1 - smoothing
    log_p = logits - logits.logsumexp(dim=-1, keepdim=True)
    return -(q * log_p).sum(-1).mean()


def smoothed_loop(logits, target, smoothing=0.1, ignore_index=None):
    V = logits.shape[-1]
    total, count = 0.0, 0
    for row, y in zip(logits.reshape(-1, V), target.reshape(-1).tolist()):
        if y == ignore_index:
            continue
        log_p = row.log_softmax(-1)
        total = total + (1 - smoothing) * -log_p[y] + smoothing * -log_p.mean()
        count += 1
    return total / count


def cosine_piecewise(step, warmup_steps, total_steps, min_ratio=0.0):
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    if step >= total_steps:
        return min_ratio
    t = (step - warmup_steps) / (total_steps - warmup_steps)
    return min_ratio + (1 - min_ratio) * (1 + math.cos(math.pi * t)) / 2


def cosine_with_torch(step, warmup_steps, total_steps, min_ratio=0.0):
    """The cos² form, computed in torch: 0.5 (1 + cos(pi t)) = cos^2(pi t / 2)."""
    t = torch.tensor(max(0.0, min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))))
    warm = torch.tensor((step + 1) / warmup_steps)
    decay = min_ratio + (1 - min_ratio) * torch.cos(math.pi * t / 2) ** 2
    return torch.where(torch.tensor(step < warmup_steps), warm, decay)


CORRECT = {
    check_label_smoothed_cross_entropy: [
        tl.label_smoothed_cross_entropy,
        smoothed_with_torch,
        smoothed_soft_target,
        smoothed_loop,
    ],
    check_warmup_cosine: [tl.warmup_cosine, cosine_piecewise, cosine_with_torch],
}

MISTAKES = {
    check_label_smoothed_cross_entropy: training.LABEL_SMOOTHING_MISTAKES,
    check_warmup_cosine: training.WARMUP_COSINE_MISTAKES,
}


def test_a_schedule_that_returns_a_wrong_type_is_explained():
    with pytest.raises(AssertionError, match="raised TypeError"):
        check_warmup_cosine(lambda step, warmup_steps, total_steps, min_ratio=0.0: None)
    with pytest.raises(AssertionError, match=re.escape("`loss` is a float, not a torch.Tensor")):
        check_label_smoothed_cross_entropy(lambda *args: tl.label_smoothed_cross_entropy(*args).item())
