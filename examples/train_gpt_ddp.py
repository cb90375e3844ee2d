"""Train a tiny GPT with DistributedDataParallel, on CPU (gloo) or GPUs (NCCL).

    torchrun --standalone --nproc_per_node=2 examples/train_gpt_ddp.py --steps 5 --out /tmp/ddp
    python examples/train_gpt_ddp.py --steps 5 --out /tmp/single      # the same run in one process

Every rank draws the same global batch (same seed) and trains on its own slice of it. Each rank
writes its final weights and the global-batch loss of every step to OUT/rank{R}.pt.
"""

import argparse
from pathlib import Path

import torch

import transformer_lab as tl
from transformer_lab.distributed import all_reduce_mean, cleanup_distributed, setup_distributed, shard, wrap_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--global-batch", type=int, default=8)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()

    ctx = setup_distributed()
    tl.set_seed(0)  # the same initial weights on every rank
    config = tl.GPTConfig(vocab_size=32, block_size=16, n_layers=2, n_heads=2, d_model=32)
    model = wrap_model(tl.GPT(config), ctx)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, fused=True)

    def get_batch(step: int) -> tuple[torch.Tensor, torch.Tensor]:
        g = torch.Generator().manual_seed(step)  # the same global batch on every rank
        tokens = torch.randint(0, config.vocab_size, (args.global_batch, config.block_size + 1), generator=g)
        tokens = shard(tokens, ctx).to(ctx.device)  # this rank's slice: (global_batch / world_size, T + 1)
        return tokens[:, :-1], tokens[:, 1:]

    history = tl.train(
        model,
        optimizer,
        get_batch,
        tl.cross_entropy_loss,
        steps=args.steps,
        progress=ctx.is_main,
        desc=f"rank {ctx.rank}",
    )
    global_losses = [all_reduce_mean(loss, ctx) for loss in history.losses]
    plain_model = model.module if hasattr(model, "module") else model
    args.out.mkdir(parents=True, exist_ok=True)
    torch.save({"model": plain_model.state_dict(), "losses": global_losses}, args.out / f"rank{ctx.rank}.pt")
    if ctx.is_main:
        print(f"world_size={ctx.world_size} final loss {global_losses[-1]:.4f}")
    cleanup_distributed()


if __name__ == "__main__":
    main()
