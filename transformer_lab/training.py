"""Training helpers used from chapter 7 on: seeding, the loss, learning-rate schedules, a loop, language-model
windows, checkpoints."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm


def set_seed(seed: int) -> None:
    """Seed Python, NumPy and PyTorch (CPU and GPU) so a run can be repeated exactly."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def get_device(*, allow_mps: bool = False) -> torch.device:
    """A CUDA GPU when there is one, else the CPU. Nothing in the course needs a GPU.

    Apple's GPU (MPS) is used only when asked for, `get_device(allow_mps=True)`: its kernels are
    younger and some of its results drift further from the CPU's than the chapters' bands allow for.
    """
    if not isinstance(allow_mps, bool):
        raise TypeError(f"allow_mps must be True or False, got {allow_mps!r}")
    if torch.cuda.is_available():
        return torch.device("cuda")
    if allow_mps and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def model_device(model: nn.Module) -> torch.device:
    """The device of a model's parameters (the CPU for a model without any)."""
    return next(model.parameters(), torch.empty(0)).device


def to_device(batch, device: torch.device):
    """A batch moved to `device`: a tensor, or a tuple, list or dict of them (other items are kept)."""
    if isinstance(batch, torch.Tensor):
        return batch.to(device)
    if isinstance(batch, (tuple, list)):
        return type(batch)(to_device(item, device) for item in batch)
    if isinstance(batch, dict):
        return {key: to_device(item, device) for key, item in batch.items()}
    return batch


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def weight_decay_groups(
    model: nn.Module, weight_decay: float, *, no_decay_names: tuple[str, ...] = ("pos_embed", "cls_token")
) -> list[dict]:
    """Parameter groups for AdamW: weight decay on weight matrices only.

    Biases and LayerNorm gains (every parameter with fewer than 2 dimensions), and parameters whose
    name contains one of no_decay_names (positions, the class token), are not decayed: shrinking
    them toward zero has no regularising meaning.
    """
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        skip = p.dim() < 2 or any(part in name for part in no_decay_names)
        (no_decay if skip else decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def label_smoothed_cross_entropy(
    logits: torch.Tensor, target: torch.Tensor, smoothing: float = 0.1, ignore_index: int | None = None
) -> torch.Tensor:
    """Cross-entropy against a target that puts 1 - smoothing on the right token and spreads
    `smoothing` evenly over all V tokens. logits (..., V), target (...) -> mean over counted positions.

        loss = (1 - smoothing) * (-log p[target]) + smoothing * mean_v(-log p[v])
    """
    if not 0.0 <= smoothing < 1.0:
        raise ValueError(f"smoothing must be in [0, 1), got {smoothing}")
    log_probs = torch.log_softmax(logits, dim=-1)  # (..., V)
    safe_target = target if ignore_index is None else target.masked_fill(target == ignore_index, 0)
    nll = -log_probs.gather(-1, safe_target.unsqueeze(-1)).squeeze(-1)  # (...)
    uniform = -log_probs.mean(dim=-1)  # (...)
    loss = (1.0 - smoothing) * nll + smoothing * uniform
    if ignore_index is None:
        return loss.mean()
    keep = target != ignore_index
    return (loss * keep).sum() / keep.sum().clamp(min=1)


def noam_lr(step: int, d_model: int, warmup: int) -> float:
    """The schedule of "Attention Is All You Need": lr = d_model^-0.5 * min(step^-0.5, step * warmup^-1.5).

    It rises linearly for `warmup` steps, then decays as 1/sqrt(step). Steps count from 1.
    """
    step = max(step, 1)
    return d_model**-0.5 * min(step**-0.5, step * warmup**-1.5)


def warmup_cosine(step: int, warmup_steps: int, total_steps: int, min_ratio: float = 0.0) -> float:
    """A multiplier in [min_ratio, 1]: linear warmup to 1, then a cosine down to min_ratio at total_steps."""
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    progress = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
    return min_ratio + (1.0 - min_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))


@dataclass
class History:
    """What `train` records: the loss and learning rate at every step, and each evaluation's step and value."""

    losses: list[float] = field(default_factory=list)
    lrs: list[float] = field(default_factory=list)
    eval_steps: list[int] = field(default_factory=list)
    eval_values: list[float] = field(default_factory=list)


def train(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    get_batch: Callable[[int], object],
    loss_fn: Callable[[nn.Module, object], torch.Tensor],
    *,
    steps: int,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
    grad_clip: float | None = 1.0,
    progress: bool = True,
    desc: str = "train",
    eval_fn: Callable[[nn.Module], float] | None = None,
    eval_every: int = 100,
) -> History:
    """Run `steps` optimiser steps. get_batch(step) gives a batch; loss_fn(model, batch) its loss.
    Each batch is moved to the model's device first, so data made on the CPU trains a model on a GPU.

    One step: forward, backward, clip the gradient norm, update, advance the schedule.
    With eval_fn, every eval_every steps and after the last one, eval_fn(model) is recorded (for
    example a validation loss or a held-out accuracy), computed in eval mode without gradients.
    """
    if not isinstance(steps, int) or isinstance(steps, bool) or steps < 1:
        raise ValueError(f"steps must be an int >= 1, got {steps!r}")
    if eval_fn is not None and (not isinstance(eval_every, int) or eval_every < 1):
        raise ValueError(f"eval_every must be an int >= 1, got {eval_every!r}")
    model.train()
    history, device = History(), model_device(model)
    bar = tqdm(range(steps), desc=desc, disable=not progress, mininterval=1.0, ncols=80)
    for step in bar:
        loss = loss_fn(model, to_device(get_batch(step), device))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if grad_clip is not None:
            nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
        history.lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        history.losses.append(loss.item())
        if step % 50 == 0 or step == steps - 1:
            bar.set_postfix(loss=f"{loss.item():.4f}", refresh=False)
        if eval_fn is not None and ((step + 1) % eval_every == 0 or step == steps - 1):
            model.eval()
            with torch.no_grad():
                history.eval_steps.append(step + 1)
                history.eval_values.append(float(eval_fn(model)))
            model.train()
    model.eval()
    return history


def train_warmup_cosine(
    model: nn.Module,
    get_batch: Callable[[int], object],
    loss_fn: Callable[[nn.Module, object], torch.Tensor],
    *,
    steps: int,
    peak_lr: float,
    warmup: int,
    **train_options,
) -> History:
    """`train` with the recipe of chapters 9 and 11: AdamW (betas 0.9 and 0.98, weight decay 0.01), the
    learning rate warmed up linearly to peak_lr over `warmup` steps, then decayed along a cosine.
    train_options (progress, eval_fn, eval_every, ...) are passed on to `train`.

    AdamW is the fused one (one kernel per step for every parameter, Hugging Face Trainer's default): the
    same update as the for-loop version up to float rounding, about three times cheaper on a CPU."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=peak_lr, betas=(0.9, 0.98), weight_decay=0.01, fused=True)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: warmup_cosine(step, warmup, steps))
    return train(model, optimizer, get_batch, loss_fn, steps=steps, scheduler=schedule, **train_options)


@torch.no_grad()
def evaluate(model: nn.Module, batches, loss_fn: Callable[[nn.Module, object], torch.Tensor]) -> float:
    """Mean loss over every example of an iterable of batches, in eval mode (no dropout), without gradients.

    loss_fn gives a batch's mean loss; each batch is weighted by its number of targets (the elements of
    its last item, as in (inputs, targets)), so a smaller last batch counts for what it holds, and the
    result is the mean over all targets, however the data was split into batches.
    """
    was_training, device = model.training, model_device(model)
    model.eval()
    total, count = 0.0, 0
    for batch in batches:
        batch = to_device(batch, device)
        n = batch[-1].numel() if isinstance(batch, (tuple, list)) else len(batch)
        total += loss_fn(model, batch).item() * n
        count += n
    model.train(was_training)
    if count == 0:
        raise ValueError("evaluate got no batches: pass at least one (inputs, targets) batch")
    return total / count


def cross_entropy_loss(model: nn.Module, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    """loss_fn for a classifier or a language model: batch = (inputs, targets), F.cross_entropy over the last dim."""
    inputs, targets = batch
    logits = model(inputs)
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))


# Language-model data (chapter 11): windows of one long stream of token ids.


def _check_stream(data, block_size: int, *, extra: int) -> None:
    """data: a 1-d tensor of ids long enough for one window of block_size + 1 tokens, and `extra` more."""
    if not isinstance(data, torch.Tensor) or data.dim() != 1 or data.is_floating_point():
        raise ValueError(
            f"data must be a 1-d tensor of token ids, got {type(data).__name__} "
            f"{tuple(data.shape) if isinstance(data, torch.Tensor) else ''}".rstrip()
        )
    if not isinstance(block_size, int) or block_size < 1:
        raise ValueError(f"block_size must be a positive int, got {block_size!r}")
    if len(data) < block_size + 1 + extra:
        raise ValueError(
            f"data holds {len(data)} tokens; it needs at least block_size + {1 + extra} = {block_size + 1 + extra}"
        )


def random_windows(data: torch.Tensor, *, block_size: int, batch_size: int, generator: torch.Generator) -> Callable:
    """get_batch for `train`: each call draws batch_size random windows of block_size + 1 tokens of `data`
    (N,) and returns them as inputs and targets, (batch_size, block_size) each, the targets one token on."""
    _check_stream(data, block_size, extra=1)  # the draw's upper bound, len(data) - block_size - 1, must be positive
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")

    def get_batch(step: int) -> tuple[torch.Tensor, torch.Tensor]:
        starts = torch.randint(0, len(data) - block_size - 1, (batch_size,), generator=generator)
        chunk = torch.stack([data[s : s + block_size + 1] for s in starts.tolist()])  # (B, T + 1)
        return chunk[:, :-1], chunk[:, 1:]  # inputs, targets: (B, T)

    return get_batch


def fixed_windows(data: torch.Tensor, *, block_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Every non-overlapping window of `data` (N,), for validation: inputs and targets, (n, block_size) each,
    n = (N - 1) // block_size; the targets are the inputs one token on."""
    _check_stream(data, block_size, extra=0)
    n = (len(data) - 1) // block_size
    return data[: n * block_size].view(n, block_size), data[1 : n * block_size + 1].view(n, block_size)


def save_checkpoint(
    path: str | Path, model: nn.Module, optimizer: torch.optim.Optimizer | None = None, **extra
) -> None:
    """Save the model's weights (and the optimizer's state, and any extra values) to one file."""
    state = {"model": model.state_dict(), "extra": extra}
    if optimizer is not None:
        state["optimizer"] = optimizer.state_dict()
    torch.save(state, path)


def load_checkpoint(path: str | Path, model: nn.Module, optimizer: torch.optim.Optimizer | None = None) -> dict:
    """Load what save_checkpoint wrote into `model` (and `optimizer`); return the extra values."""
    state = torch.load(path, map_location="cpu", weights_only=False)
    model.load_state_dict(state["model"])
    if optimizer is not None:
        if "optimizer" not in state:
            raise ValueError(f"{path} holds no optimizer state")
        optimizer.load_state_dict(state["optimizer"])
    return state["extra"]
