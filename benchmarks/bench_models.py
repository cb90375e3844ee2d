"""Model benchmarks, measured side by side in one run and printed as tables of ratios.

    python benchmarks/bench_models.py            # writes book/_generated/benchmarks.md too

1. KV cache vs no cache: tokens/s generating 200 new tokens, two GPT sizes.
2. Teaching attention vs the fused fast path: forward and forward+backward, several shapes.
3. Training throughput of transformer_lab.GPT vs Hugging Face GPT2LMHeadModel at the same
   configuration, and model FLOPs utilisation (MFU) against this machine's measured fp32 matmul rate:
       MFU = tokens/s * (6 N + 12 L T D) / (matmul FLOP/s)
   with N the non-embedding parameters, L layers, T context, D width (Kaplan et al. 2020; PaLM, app. B).
Timings take the median of several repeats after a warm-up.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from pathlib import Path

import torch

import transformer_lab as tl

OUT = Path(__file__).resolve().parents[1] / "book" / "_generated" / "benchmarks.md"


def timed(fn, repeats: int = 5, warmup: int = 1) -> float:
    """Median wall-clock seconds of fn() over `repeats` runs, after `warmup` runs."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{cpu}; {os.cpu_count()} cores; torch {torch.__version__}; "
            f"{torch.get_num_threads()} threads")  # fmt: skip


def matmul_flops(n: int = 1024) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    return 2 * n**3 / timed(lambda: a @ b, repeats=10)


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def bench_kv_cache(new_tokens: int) -> str:
    rows = []
    for name, cfg in [
        ("small (2 layers, D=64)", tl.GPTConfig(vocab_size=64, block_size=256, n_layer=2, n_head=4, d_model=64)),
        ("larger (6 layers, D=256)", tl.GPTConfig(vocab_size=64, block_size=256, n_layer=6, n_head=8, d_model=256)),
    ]:
        tl.set_seed(0)
        model = tl.GPT(cfg).eval()
        prompt = torch.zeros(1, 8, dtype=torch.long)
        with_cache = timed(lambda: model.generate(prompt, new_tokens, use_cache=True), repeats=3)
        without = timed(lambda: model.generate(prompt, new_tokens, use_cache=False), repeats=3)
        same = torch.equal(model.generate(prompt, new_tokens), model.generate(prompt, new_tokens, use_cache=False))
        rows.append([name, f"{new_tokens / without:.0f}", f"{new_tokens / with_cache:.0f}",
                     f"**{without / with_cache:.1f}×**", "yes" if same else "NO"])  # fmt: skip
    return table(["model", "no cache (tok/s)", "KV cache (tok/s)", "speed-up", "same tokens"], rows)


def bench_attention() -> str:
    rows = []
    for B, H, T, d in [(8, 4, 64, 16), (8, 8, 256, 32), (4, 8, 512, 64)]:
        q, k, v = (torch.randn(B, H, T, d, requires_grad=True) for _ in range(3))
        mask = tl.causal_mask(T)
        teach = lambda: tl.scaled_dot_product_attention(q, k, v, mask)[0]  # noqa: E731
        fast = lambda: tl.fast_attention(q, k, v, mask)  # noqa: E731
        diff = (teach() - fast()).abs().max().item()
        t_f, f_f = timed(teach), timed(fast)
        t_b, f_b = timed(lambda: teach().sum().backward()), timed(lambda: fast().sum().backward())
        rows.append([f"B={B} H={H} T={T} d_k={d}", f"{t_f * 1e3:.2f} / {f_f * 1e3:.2f}", f"**{t_f / f_f:.2f}×**",
                     f"{t_b * 1e3:.2f} / {f_b * 1e3:.2f}", f"**{t_b / f_b:.2f}×**", f"{diff:.1e}"])  # fmt: skip
    header = ["shape", "forward ms (teaching / fast)", "speed-up", "fwd+bwd ms (teaching / fast)", "speed-up", "max |diff|"]
    return table(header, rows)


def bench_training(steps: int) -> str:
    from transformers import GPT2Config, GPT2LMHeadModel

    L, H, D, T, B, V = 4, 4, 128, 128, 16, 256
    flops_per_s = matmul_flops()
    tl.set_seed(0)
    ours = tl.GPT(tl.GPTConfig(vocab_size=V, block_size=T, n_layer=L, n_head=H, d_model=D))
    hf = GPT2LMHeadModel(GPT2Config(vocab_size=V, n_positions=T, n_layer=L, n_head=H, n_embd=D, resid_pdrop=0.0,
                                    embd_pdrop=0.0, attn_pdrop=0.0, bos_token_id=None, eos_token_id=None))  # fmt: skip
    x = torch.randint(0, V, (B, T))
    n_params = sum(p.numel() for n, p in ours.named_parameters() if not n.startswith(("wte", "wpe")))
    flops_per_token = 6 * n_params + 12 * L * T * D

    def step_fn(model, logits_of):
        opt = torch.optim.AdamW(model.parameters(), lr=1e-4)

        def step():
            logits = logits_of(model, x)
            loss = torch.nn.functional.cross_entropy(logits.reshape(-1, V), x.reshape(-1))
            opt.zero_grad()
            loss.backward()
            opt.step()

        return lambda: [step() for _ in range(steps)]

    runs = {
        "Hugging Face GPT2LMHeadModel (sdpa)": step_fn(hf.train(), lambda m, x: m(x).logits),
        "transformer_lab.GPT, teaching path": step_fn(ours.train(), lambda m, x: m(x)),
    }
    times = {name: timed(fn, repeats=3) for name, fn in runs.items()}
    ours.set_fast_path(True)
    times["transformer_lab.GPT, fast path"] = timed(step_fn(ours, lambda m, x: m(x)), repeats=3)
    ours.set_fast_path(False)
    base = times["Hugging Face GPT2LMHeadModel (sdpa)"]
    rows = []
    for name, t in times.items():
        tok_s = steps * B * T / t
        rows.append([name, f"{tok_s:,.0f}", f"**{base / t:.2f}×**", f"{tok_s * flops_per_token / flops_per_s:.1%}"])
    note = (f"Configuration: {L} layers, {H} heads, D={D}, context T={T}, batch B={B}, vocabulary {V}; "
            f"fp32 matmul rate measured at {flops_per_s / 1e9:.1f} GFLOP/s.")  # fmt: skip
    return note + "\n\n" + table(["model", "tokens/s", "vs Hugging Face", "MFU"], rows)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer tokens and steps (a smoke test)")
    args = parser.parse_args()
    torch.manual_seed(0)
    sections = [
        f"Machine: {machine()}",
        "### KV cache vs no cache (200 new tokens)\n\n" + bench_kv_cache(20 if args.quick else 200),
        "### Teaching attention vs the fused path (causal mask)\n\n" + bench_attention(),
        "### Training throughput\n\n" + bench_training(1 if args.quick else 5),
    ]
    report = "\n\n".join(sections) + "\n"
    print(report)
    if not args.quick:
        OUT.parent.mkdir(parents=True, exist_ok=True)
        OUT.write_text(report)


if __name__ == "__main__":
    main()
