"""Chapter 15 — Training on several processes with PyTorch's DistributedDataParallel (DDP).

Launch the same script N times with `torchrun --nproc_per_node=N script.py`. Each process (rank)
holds a full copy of the model and trains on its own slice of every global batch; during
`loss.backward()` DDP averages the gradients across ranks (all-reduce), so every rank applies
the same update and the copies stay identical. gloo is the CPU backend, NCCL the GPU one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel


@dataclass(frozen=True)
class DistributedContext:
    rank: int  # this process's index, 0..world_size-1
    world_size: int  # number of processes
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def setup_distributed() -> DistributedContext:
    """Join the process group that torchrun describes in the environment (RANK, WORLD_SIZE, ...).

    Run as a plain `python script.py` (no torchrun), it returns a single-process context and starts nothing.
    """
    if "RANK" not in os.environ:
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        return DistributedContext(rank=0, world_size=1, device=device)
    if torch.cuda.is_available():
        local_rank = int(os.environ.get("LOCAL_RANK", 0))
        torch.cuda.set_device(local_rank)
        backend, device = "nccl", torch.device("cuda", local_rank)
    else:
        backend, device = "gloo", torch.device("cpu")
    dist.init_process_group(backend=backend)
    return DistributedContext(rank=dist.get_rank(), world_size=dist.get_world_size(), device=device)


def wrap_model(model: nn.Module, ctx: DistributedContext) -> nn.Module:
    """Move the model to this rank's device and, with more than one process, wrap it in DDP."""
    model = model.to(ctx.device)
    if ctx.world_size == 1:
        return model
    return DistributedDataParallel(model, device_ids=[ctx.device.index] if ctx.device.type == "cuda" else None)


def shard(batch: torch.Tensor, ctx: DistributedContext) -> torch.Tensor:
    """This rank's slice of a global batch (B, ...) -> (B / world_size, ...). B must divide evenly."""
    B = batch.shape[0]
    if B % ctx.world_size != 0:
        raise ValueError(f"global batch size {B} does not split evenly over {ctx.world_size} processes")
    per_rank = B // ctx.world_size
    return batch[ctx.rank * per_rank : (ctx.rank + 1) * per_rank]


def all_reduce_mean(value: float, ctx: DistributedContext) -> float:
    """The mean of a number over all ranks (e.g. each rank's loss -> the loss on the global batch)."""
    if ctx.world_size == 1:
        return value
    t = torch.tensor([value], dtype=torch.float64, device=ctx.device)
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t.item() / ctx.world_size


def cleanup_distributed() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()
