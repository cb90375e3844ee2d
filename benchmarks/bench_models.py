"""Model benchmarks, measured side by side in one run and printed as tables of ratios.

    python benchmarks/bench_models.py                   # every section; writes book/_generated/bench/*.md
    python benchmarks/bench_models.py --only training   # one section, and its page only

1. KV cache vs no cache: tokens/s generating 200 new tokens, two GPT sizes.
2. Teaching attention vs the fused fast path: forward and forward+backward, several shapes.
3. Training throughput of transformer_lab.GPT (default: fast path; teaching path; fast path + torch.compile) vs
   Hugging Face GPT2LMHeadModel (eager, and + torch.compile) at the same configuration, both from
   random init with the same optimizer (fused AdamW), timed in interleaved rounds, and model FLOPs utilisation
   (MFU) against this machine's fp32 matmul rate, measured in every round beside the models:
       MFU = tokens/s * (6 N + 12 L T D) / (matmul FLOP/s)
   with N the non-embedding parameters, L layers, T context, D width (Kaplan et al. 2020; PaLM, app. B),
   as tl.training_flops_per_token counts them. Then where a step's time goes, Hugging Face against our fast
   path, from torch.profiler: the operators' own times grouped by kind.
4. Time to quality: training seconds until two-digit addition (chapter 11) and the date translator
   (chapter 9) reach their accuracy targets on held-out data.
5. Chapter 11's three-digit addition, the answer as written against reversed, over five seeds: the chapter's
   600-step run, then the steps to 95% held-out exact match in longer runs at several learning rates and sizes.
Timings take the median of several repeats after a warm-up.
"""

from __future__ import annotations

import argparse
import copy
import os
import platform
import statistics
import time
from pathlib import Path

import torch

import transformer_lab as tl

OUT = Path(__file__).resolve().parents[1] / "book" / "_generated" / "bench"  # one table page per section
SECTIONS = {  # name -> title, in the order of the appendix
    "kv-cache": "KV cache vs no cache (200 new tokens)",
    "attention": "Teaching attention vs the fused path (causal mask)",
    "training": "Training throughput: transformer_lab.GPT vs Hugging Face GPT-2",
    "quality": "Time to quality",
    "seeds": "Three-digit addition: the answer as written or reversed (chapter 11)",
}


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


def timed_rounds(runs: dict, repeats: int, warmup: int = 1) -> dict[str, list[float]]:
    """Wall-clock seconds of each run in every round, timed in rounds (A, B, C, A, B, C, ...) after
    `warmup` runs of each."""
    for fn in runs.values():
        for _ in range(warmup):
            fn()
    times = {name: [] for name in runs}
    for _ in range(repeats):
        for name, fn in runs.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return times


def timed_interleaved(runs: dict, repeats: int = 5, warmup: int = 1) -> dict:
    """Median wall-clock seconds of each run, timed in rounds: a change in the machine's load then falls on
    every row alike instead of on one."""
    return {name: statistics.median(t) for name, t in timed_rounds(runs, repeats, warmup).items()}


def speedups(times: dict[str, list[float]], name: str, baseline: str) -> list[float]:
    """The speed-up of `name` over `baseline` in each round, between neighbours: on a shared machine whose
    speed drifts, this ratio varies much less than either time does."""
    return [b / t for b, t in zip(times[baseline], times[name])]


def median_and_quartiles(ratios: list[float]) -> str:
    """'1.12× (1.05–1.20)': the median of the speed-ups over the rounds, then their quartiles."""
    q1, median, q3 = statistics.quantiles(ratios, n=4, method="inclusive")
    return f"{median:.2f}× ({q1:.2f}–{q3:.2f})"


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (
        f"{cpu} ({torch.backends.cpu.get_cpu_capability()} kernels); {os.cpu_count()} cores; "
        f"torch {torch.__version__}; {torch.get_num_threads()} threads; load average {load:.1f} at the start"
    )


def matmul_flops(n: int = 1024) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    return 2 * n**3 / timed(lambda: a @ b, repeats=10)


MATMUL_PROBE = (1024, 10)  # the fp32 rate timed in every round of the training rows: ten (1024 x 1024) products


def matmul_probe():
    """The products of MATMUL_PROBE, for timed_rounds: timed beside the models, so that the MFU of each round is
    taken against the machine's rate in that round and not at some other moment."""
    n, count = MATMUL_PROBE
    a, b = torch.randn(n, n), torch.randn(n, n)
    return lambda: [a @ b for _ in range(count)]


def probe_rates(seconds: list[float]) -> list[float]:
    """FLOP/s of each round's run of matmul_probe()."""
    n, count = MATMUL_PROBE
    return [count * 2 * n**3 / t for t in seconds]


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


STEP_PARTS = {  # what an operator of a training step is, by its name (the optimizer is found by its caller)
    "matrix products (mm, addmm)": ("aten::mm", "aten::addmm", "aten::bmm", "aten::baddbmm"),
    "attention kernel (scaled_dot_product_attention)": ("scaled_dot_product", "flash_attention"),
    "GELU and other element-wise arithmetic": (
        "gelu",
        "tanh",
        "pow",
        "aten::mul",
        "aten::add",
        "aten::sub",
        "aten::div",
        "aten::neg",
    ),
    "LayerNorm": ("layer_norm",),
}
OPTIMIZER = "AdamW update (optimizer.step)"
REST = "everything else: embedding, loss, copies, autograd and Python between operators"


def step_breakdown(step, steps: int) -> dict[str, float]:
    """Milliseconds per step of each part of STEP_PARTS (and OPTIMIZER, REST), from one profiled run of
    `steps` calls of step(): each operator's self time, so nothing is counted twice; REST is the wall
    time of the run minus every other part (it includes the profiler's own overhead)."""
    from torch.profiler import ProfilerActivity, profile

    step()  # warm-up
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        start = time.perf_counter()
        for _ in range(steps):
            step()
        wall = time.perf_counter() - start
    ms = dict.fromkeys([*STEP_PARTS, OPTIMIZER], 0.0)
    for event in prof.events():
        parent, in_optimizer = event.cpu_parent, event.name.startswith("Optimizer.step")
        while parent is not None and not in_optimizer:
            in_optimizer, parent = parent.name.startswith("Optimizer.step"), parent.cpu_parent
        part = (
            OPTIMIZER
            if in_optimizer
            else next((name for name, keys in STEP_PARTS.items() if any(key in event.name for key in keys)), None)
        )
        if part is not None:
            ms[part] += event.self_cpu_time_total / 1e3 / steps  # µs in all -> ms per step
    ms[REST] = wall * 1e3 / steps - sum(ms.values())
    return ms


def bench_kv_cache(new_tokens: int) -> str:
    small = tl.GPTConfig(vocab_size=64, block_size=256, n_layers=2, n_heads=4, d_model=64)
    larger = tl.GPTConfig(vocab_size=64, block_size=256, n_layers=6, n_heads=8, d_model=256)
    prompt = torch.zeros(1, 8, dtype=torch.long)
    rows = []
    for name, cfg, fast in [
        ("small (2 layers, D=64)", small, True),
        ("larger (6 layers, D=256)", larger, True),
        ("larger, tl.set_fast_path(model, False): the teaching path", larger, False),
    ]:
        tl.set_seed(0)
        model = tl.set_fast_path(tl.GPT(cfg).eval(), fast)
        times = timed_interleaved(
            {
                "with": lambda: model.generate(prompt, new_tokens, use_cache=True),
                "without": lambda: model.generate(prompt, new_tokens, use_cache=False),
            },
            repeats=5,
        )
        with_cache, without = times["with"], times["without"]
        same = torch.equal(model.generate(prompt, new_tokens), model.generate(prompt, new_tokens, use_cache=False))
        rows.append(
            [
                name,
                f"{new_tokens / without:.0f}",
                f"{new_tokens / with_cache:.0f}",
                f"**{without / with_cache:.1f}×**",
                "yes" if same else "NO",
            ]
        )
    tl.set_seed(0)
    model = tl.GPT(larger).eval()

    def cached_steps(mode):  # the cached loop of generate (greedy), under `mode`
        def run():
            with mode():
                caches = [tl.KVCache() for _ in model.blocks]
                logits = model(prompt, kv_caches=caches)
                for _ in range(new_tokens - 1):
                    logits = model(logits[:, -1:].argmax(-1), kv_caches=caches)  # (1, 1, V)

        return run

    modes = timed_interleaved({"no_grad": cached_steps(torch.no_grad), "inference": cached_steps(torch.inference_mode)})
    note = (
        f"`generate` runs under `torch.inference_mode()`. The same cached loop of the larger model "
        f"under `torch.no_grad()` instead: {new_tokens / modes['no_grad']:.0f} against "
        f"{new_tokens / modes['inference']:.0f} tok/s, "
        f"{modes['no_grad'] / modes['inference']:.2f}× slower."
    )
    return table(["model", "no cache (tok/s)", "KV cache (tok/s)", "speed-up", "same tokens"], rows) + "\n\n" + note


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
        rows.append(
            [
                f"B={B} H={H} T={T} d_k={d}",
                f"{t_f * 1e3:.2f} / {f_f * 1e3:.2f}",
                f"**{t_f / f_f:.2f}×**",
                f"{t_b * 1e3:.2f} / {f_b * 1e3:.2f}",
                f"**{t_b / f_b:.2f}×**",
                f"{diff:.1e}",
            ]
        )
    header = [
        "shape",
        "forward ms (teaching / fast)",
        "speed-up",
        "fwd+bwd ms (teaching / fast)",
        "speed-up",
        "max |diff|",
    ]
    return table(header, rows)


ROUNDS = 11  # timing rounds of the training rows; the machine's drift shows in the quartiles of the speed-ups
TRAINING_CONFIGS = {  # (layers, heads, width D, context T, batch B, vocabulary V)
    "the chapter 11 language model": (2, 4, 128, 64, 32, 107),
    "a wider GPT": (4, 4, 256, 128, 8, 256),
}
OURS = "transformer_lab.GPT, default (fast path)"  # the name of our eager row: a new GPT is on the fast path
COMPILED = " + torch.compile"  # added to the name of an eager row, names its compiled row


def training_models(L: int, H: int, D: int, T: int, B: int, V: int):
    """Our GPT and Hugging Face's GPT2LMHeadModel at one configuration of TRAINING_CONFIGS, both from random init
    (seed 0) and without dropout, and the batch x (B, T) of random tokens that every step trains on."""
    from transformers import GPT2Config, GPT2LMHeadModel

    tl.set_seed(0)
    ours = tl.GPT(tl.GPTConfig(vocab_size=V, block_size=T, n_layers=L, n_heads=H, d_model=D))
    hf = GPT2LMHeadModel(
        GPT2Config(
            vocab_size=V,
            n_positions=T,
            n_layer=L,
            n_head=H,
            n_embd=D,
            resid_pdrop=0.0,
            embd_pdrop=0.0,
            attn_pdrop=0.0,
            bos_token_id=None,
            eos_token_id=None,
        )
    )
    x = torch.randint(0, V, (B, T))
    return ours, hf, x


def hf_logits(model, x: torch.Tensor) -> torch.Tensor:
    """The logits of a Hugging Face model, which returns them inside an output object."""
    return model(x).logits


def our_logits(model, x: torch.Tensor) -> torch.Tensor:
    """The logits of a transformer_lab.GPT, which returns them as they are."""
    return model(x)


def training_step(model, logits_of, x: torch.Tensor):
    """One training step of `model` on the batch x (each position's loss against x itself), as a function to call
    again and again; logits_of(model, x) gives the logits."""
    # the same optimizer in every row: fused AdamW, what Hugging Face's Trainer uses by default (torch >= 2.8)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=True)

    def step():
        logits = logits_of(model, x)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), x.reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()

    return step


def repeated(step, steps: int):
    """`steps` calls of step(), as one run to time."""
    return lambda: [step() for _ in range(steps)]


def training_runs(ours, hf, x: torch.Tensor, steps: int, compile_model: bool, hf_name: str) -> tuple[dict, dict]:
    """The rows to time, name -> (a run of `steps` training steps, the name of the Hugging Face row it is compared
    with): Hugging Face, our fast and teaching paths, and with compile_model both fast rows + torch.compile. Also the
    seconds each compiled row took to compile, "hf" and "ours" (its first run, which is not timed again)."""
    teaching = tl.set_fast_path(copy.deepcopy(ours), False)  # same weights, its own copy: rows are timed in turn
    runs = {
        hf_name: (repeated(training_step(hf.train(), hf_logits, x), steps), hf_name),
        OURS: (repeated(training_step(ours.train(), our_logits, x), steps), hf_name),
        "transformer_lab.GPT, tl.set_fast_path(model, False) (teaching path)": (
            repeated(training_step(teaching.train(), our_logits, x), steps),
            hf_name,
        ),
    }
    compile_s = {}
    if compile_model:
        for who, name, model, logits_of in [
            ("hf", hf_name + COMPILED, copy.deepcopy(hf), hf_logits),
            ("ours", OURS + COMPILED, copy.deepcopy(ours), our_logits),
        ]:
            start = time.perf_counter()
            run = repeated(training_step(torch.compile(model.train()), logits_of, x), steps)
            run()
            compile_s[who] = time.perf_counter() - start
            runs[name] = (run, hf_name + COMPILED)
    return runs, compile_s


def time_training(runs: dict) -> tuple[dict[str, list[float]], list[float]]:
    """The seconds of every row of `runs` in each of ROUNDS rounds, timed in turn with matmul_probe(), and the fp32
    matmul rate (FLOP/s) that the probe measured in each round."""
    times = timed_rounds({"matmul": matmul_probe(), **{name: fn for name, (fn, _) in runs.items()}}, repeats=ROUNDS)
    return times, probe_rates(times.pop("matmul"))


def profile_training(hf, ours, x: torch.Tensor, steps: int) -> dict[str, dict[str, float]]:
    """Milliseconds per step of each part of a training step (step_breakdown), of Hugging Face's model ("hf") and
    our fast path ("ours"), on copies of them: the median of three profiled runs of `steps` steps, taken in turn."""
    profiled = {
        "hf": training_step(copy.deepcopy(hf).train(), hf_logits, x),
        "ours": training_step(copy.deepcopy(ours).train(), our_logits, x),
    }
    rounds = [{who: step_breakdown(step, steps) for who, step in profiled.items()} for _ in range(3)]  # in turn
    return {who: {name: statistics.median(r[who][name] for r in rounds) for name in rounds[0][who]} for who in profiled}


def mfu(seconds: list[float], rates: list[float], tokens: int, flops_per_token: int) -> float:
    """The median over the rounds of (model FLOP/s) / (matmul FLOP/s), both measured in the round, for a row that
    trains on `tokens` tokens per run and took `seconds` in each round."""
    return statistics.median(tokens / t * flops_per_token / rate for t, rate in zip(seconds, rates))


def throughput_table(
    times: dict, runs: dict, rates: list[float], tokens: int, flops_per_token: int, hf_name: str
) -> str:
    """The table of the timed rows: tokens/s, speed-ups over Hugging Face eager and in the same mode, and MFU."""
    rows = []
    for name, t in times.items():
        tok_s = tokens / statistics.median(t)
        rows.append(
            [
                name,
                f"{tok_s:,.0f}",
                f"**{median_and_quartiles(speedups(times, name, hf_name))}**",
                median_and_quartiles(speedups(times, name, runs[name][1])),
                f"{mfu(t, rates, tokens, flops_per_token):.1%}",
            ]
        )
    header = ["model", "training tokens/s", "vs Hugging Face eager", "vs Hugging Face, same mode", "MFU"]
    return table(header, rows)


def breakdown_table(parts: dict[str, dict[str, float]]) -> str:
    """The table of profile_training's parts, Hugging Face's against ours, and their sums: one training step."""
    rows = [
        [
            name,
            f"{parts['hf'][name]:.1f}",
            f"{parts['ours'][name]:.1f}",
            f"{parts['hf'][name] - parts['ours'][name]:+.1f}",
        ]
        for name in parts["hf"]
    ]
    totals = {who: sum(p.values()) for who, p in parts.items()}
    rows.append(
        [
            "**one training step**",
            f"**{totals['hf']:.1f}**",
            f"**{totals['ours']:.1f}**",
            f"**{totals['hf'] - totals['ours']:+.1f}**",
        ]
    )
    return table(["part of the step", "Hugging Face (ms)", "ours, fast path (ms)", "difference"], rows)


def throughput_prose(
    label: str, config: tuple, n_params: int, steps: int, compile_s: dict, rates: list[float], hf_mfu: float
) -> str:
    """The paragraph above the throughput table: the configuration and the method, the compile times, the matmul
    rate, and the bound that Hugging Face's MFU sets on any speed-up."""
    L, H, D, T, B, V = config
    note = ""
    if compile_s:
        note = (
            f" Compiling took {compile_s['hf']:.0f} s (Hugging Face) and {compile_s['ours']:.0f} s (ours) once, "
            f"not counted in the rate."
        )
    q1, q3 = statistics.quantiles(rates, n=4, method="inclusive")[::2]
    note += (
        f" The fp32 matmul rate, ten 1024 × 1024 products timed in every round beside the models: "
        f"{statistics.median(rates) / 1e9:.0f} GFLOP/s ({q1 / 1e9:.0f}–{q3 / 1e9:.0f}); each round's MFU "
        f"is taken against that round's rate."
    )
    note += (
        f" Hugging Face's model already turns {hf_mfu:.0%} of that rate into model FLOPs, so no implementation "
        f"of the same float32 arithmetic could be more than about {1 / hf_mfu:.2f}× faster."
    )
    return (
        f"**{label}**: {L} layers, {H} heads, D={D}, context T={T}, batch B={B}, vocabulary {V}; "
        f"{n_params:,} non-embedding parameters; every row trains with torch.optim.AdamW(lr=1e-4, fused=True), "
        f"the optimizer Hugging Face's Trainer picks by default; {steps} steps per timing, the rows timed in turn "
        f"in {ROUNDS} rounds. Tokens/s is the median over the rounds; a speed-up is taken within each round, "
        f"between neighbours, and given as the median and, in brackets, the quartiles of the {ROUNDS}.{note}"
    )


def breakdown_prose(label: str, steps: int, parts: dict[str, dict[str, float]]) -> str:
    """The paragraph above the breakdown table: how it was measured, and the bound that the parts both models share
    (the matrix products and the attention kernel) set on our speed-up."""
    totals = {who: sum(p.values()) for who, p in parts.items()}
    shared = sum(parts["ours"][name] for name in list(STEP_PARTS)[:2])
    return (
        f"Where a step's time goes, {label} (three runs of {steps} steps of each model under torch.profiler, "
        f"taken in turn; the median of each row, in ms per step, and their sum): "
        f"the matrix products and the attention kernel are the same calls on the same shapes in both models, "
        f"and they take {shared / totals['ours']:.0%} of our step. Even if everything else cost nothing, our "
        f"step could be at most {totals['hf'] / shared:.2f}× faster than Hugging Face's."
    )


def bench_training(steps: int, compile_model: bool) -> str:
    """For each of TRAINING_CONFIGS: the throughput of every row against Hugging Face's, with MFU, then where a
    step's time goes in Hugging Face's model and ours, each table under its paragraph."""
    from transformers.utils import logging

    logging.set_verbosity_error()
    sections = []
    for label, config in TRAINING_CONFIGS.items():
        ours, hf, x = training_models(*config)
        hf_name = f"Hugging Face GPT2LMHeadModel ({hf.config._attn_implementation} attention)"
        n_params = tl.non_embedding_parameters(ours)
        runs, compile_s = training_runs(ours, hf, x, steps, compile_model, hf_name)
        times, rates = time_training(runs)
        parts = profile_training(hf, ours, x, steps)
        tokens, flops_per_token = steps * x.numel(), tl.training_flops_per_token(ours)
        hf_mfu = mfu(times[hf_name], rates, tokens, flops_per_token)
        sections.append(
            throughput_prose(label, config, n_params, steps, compile_s, rates, hf_mfu)
            + "\n\n"
            + throughput_table(times, runs, rates, tokens, flops_per_token, hf_name)
        )
        sections.append(breakdown_prose(label, steps, parts) + "\n\n" + breakdown_table(parts))
    return "\n\n".join(sections)


def seconds_to_target(train_fn, target: float) -> tuple[str, str]:
    """Run train_fn(make_eval); make_eval(accuracy_of) gives the eval_fn that training calls every few
    steps. Returns the training seconds (evaluation excluded) until the accuracy first reached target,
    and what was reached at which step."""
    start, spent_evaluating, hit = time.perf_counter(), 0.0, None

    def make_eval(accuracy_of):
        def eval_fn(model) -> float:
            nonlocal spent_evaluating, hit
            t0 = time.perf_counter()
            accuracy = accuracy_of(model)
            if hit is None and accuracy >= target:
                hit = t0 - start - spent_evaluating
            spent_evaluating += time.perf_counter() - t0
            return accuracy

        return eval_fn

    history = train_fn(make_eval)
    if hit is None:
        return "not reached", f"{max(history.eval_values):.2%} at best"
    first = next(i for i, v in enumerate(history.eval_values) if v >= target)
    return f"{hit:.1f} s", f"{history.eval_values[first]:.2%} at step {history.eval_steps[first]}"


def bench_time_to_quality() -> str:
    from transformer_lab import dates, tasks

    rows = []
    tok = tasks.addition_tokenizer()
    train_ids, heldout_ids = tasks.addition_split(n_digits=2, n_heldout=1000, seed=0)
    heldout = tasks.addition_tokens(heldout_ids, n_digits=2, tokenizer=tok)

    def addition(make_eval):
        tl.set_seed(0)
        config = tl.GPTConfig(vocab_size=tok.vocab_size, block_size=8, n_layers=2, n_heads=4, d_model=64)
        model = tl.GPT(config)
        eval_fn = make_eval(lambda m: tasks.addition_accuracy(m, heldout, n_digits=2))
        return tasks.train_addition(
            model, train_ids, n_digits=2, tokenizer=tok, steps=600, eval_fn=eval_fn, eval_every=50, progress=False
        )

    rows.append(
        [
            "two-digit addition (chapter 11 GPT, 600-step schedule)",
            "≥ 99.5% exact match, 1,000 unseen sums",
            *seconds_to_target(addition, 0.995),
        ]
    )

    train_dates, heldout_dates = dates.split_dates(n_heldout=2000, seed=0)
    src_tok, tgt_tok = dates.date_tokenizers()
    train_src, train_tgt = dates.encode_pairs(dates.make_pairs(train_dates, 50_000, seed=1), src_tok, tgt_tok)
    test_pairs = dates.make_pairs(heldout_dates, 2_000, seed=2)
    test_src, _ = dates.encode_pairs(test_pairs, src_tok, tgt_tok)

    def translator(make_eval):
        tl.set_seed(0)
        model = tl.Transformer(dates.translator_config(src_tok, tgt_tok))
        eval_fn = make_eval(lambda m: dates.exact_match(m.greedy_decode(test_src, max_len=11), test_pairs, tgt_tok))
        return dates.train_translator(
            model, train_src, train_tgt, steps=800, eval_fn=eval_fn, eval_every=100, progress=False
        )

    rows.append(
        [
            "dates → ISO (chapter 9 translator, 800-step schedule)",
            "≥ 99% exact match, 2,000 unseen dates",
            *seconds_to_target(translator, 0.99),
        ]
    )
    note = (
        "Training seconds until the held-out accuracy, checked every 50 (addition) or 100 (dates) steps, "
        "first reached the target; the checks themselves are not counted."
    )
    return note + "\n\n" + table(["task", "target", "time to target", "reached"], rows)


ADDITION_SETTINGS = [  # (layers, width, peak learning rate): the chapter's model and rate first
    (2, 64, 6e-3),
    (2, 64, 3e-3),
    (2, 64, 1e-3),
    (4, 128, 1e-3),
]


def bench_addition_seeds(seeds=range(5), chapter_steps: int = 600, long_steps: int = 2000, target: float = 0.95) -> str:
    """Chapter 11's three-digit comparison, the answer as written against reversed, over several seeds (each sets
    both the initial weights and the training problems drawn; seed 0 is the chapter's): first the chapter's own
    600-step run, then longer schedules at several learning rates and a larger model, measuring the steps until
    the held-out exact match first reaches `target`."""
    from transformer_lab import tasks

    tok = tasks.addition_tokenizer()
    train_ids, heldout_ids = tasks.addition_split(n_digits=3, n_heldout=2000, seed=0)
    heldout = {
        reverse: tasks.addition_tokens(heldout_ids, n_digits=3, tokenizer=tok, reverse_answer=reverse)
        for reverse in (False, True)
    }

    def run(seed: int, reverse: bool, *, n_layers: int, d_model: int, peak_lr: float, steps: int) -> tl.History:
        tl.set_seed(seed)
        config = tl.GPTConfig(vocab_size=tok.vocab_size, block_size=11, n_layers=n_layers, n_heads=4, d_model=d_model)
        model = tl.GPT(config)
        return tasks.train_addition(
            model,
            train_ids,
            n_digits=3,
            tokenizer=tok,
            reverse_answer=reverse,
            steps=steps,
            peak_lr=peak_lr,
            seed=seed,
            progress=False,
            eval_every=100,
            eval_fn=lambda m: tasks.addition_accuracy(m, heldout[reverse], n_digits=3),
        )

    orders = {False: "as written", True: "reversed"}
    chapter = {
        reverse: [run(seed, reverse, n_layers=2, d_model=64, peak_lr=6e-3, steps=chapter_steps) for seed in seeds]
        for reverse in orders
    }
    rows = [
        [f"seed {seed}", f"{written.eval_values[-1]:.2%}", f"{reversed_.eval_values[-1]:.2%}"]
        for seed, written, reversed_ in zip(seeds, chapter[False], chapter[True])
    ]
    rows.append(
        ["**median**", *(f"**{statistics.median(h.eval_values[-1] for h in chapter[r]):.2%}**" for r in orders)]
    )
    first_table = (
        f"Held-out exact match on 2,000 unseen three-digit sums after the chapter's {chapter_steps}-step schedule "
        "(2 layers, width 64, peak learning rate 6e-3), with the answer written as usual or reversed; only the seed "
        "changes.\n\n" + table(["seed", "answer as written", "answer reversed"], rows)
    )

    def first_at(history: tl.History) -> int | None:
        return next((s for s, v in zip(history.eval_steps, history.eval_values) if v >= target), None)

    def steps_text(steps: list) -> str:
        return " ".join("–" if s is None else f"{s:,}" for s in steps)

    def median_text(steps: list) -> str:  # a run that never reached the target counts as slower than any that did
        ranked = sorted(float("inf") if s is None else s for s in steps)
        middle = ranked[len(ranked) // 2]
        return "not reached" if middle == float("inf") else f"{middle:,.0f}"

    rows = []
    for n_layers, d_model, peak_lr in ADDITION_SETTINGS:
        firsts, finals = {}, {}
        for reverse in orders:
            histories = [
                run(seed, reverse, n_layers=n_layers, d_model=d_model, peak_lr=peak_lr, steps=long_steps)
                for seed in seeds
            ]
            firsts[reverse] = [first_at(h) for h in histories]
            finals[reverse] = [h.eval_values[-1] for h in histories]
        sooner = sum(r is not None and (w is None or r < w) for w, r in zip(firsts[False], firsts[True]))
        later = sum(w is not None and (r is None or w < r) for w, r in zip(firsts[False], firsts[True]))
        rows.append(
            [
                f"{n_layers} layers, width {d_model}, lr {peak_lr:.0e}".replace("e-0", "e-"),
                steps_text(firsts[False]),
                steps_text(firsts[True]),
                f"{median_text(firsts[False])} / {median_text(firsts[True])}",
                f"{sooner} / {later}",
                f"{min(finals[False]):.0%}–{max(finals[False]):.0%} / {min(finals[True]):.0%}–{max(finals[True]):.0%}",
            ]
        )
    second_table = (
        f"Steps until the held-out exact match first reached {target:.0%} (checked every 100 steps) in a "
        f"{long_steps:,}-step schedule, for seeds {seeds[0]} to {seeds[-1]} in order (– : not within "
        f"{long_steps:,} steps); the median over the seeds; in how many seeds the reversed answer got there "
        "sooner / later than the written one (the rest: the same check, or neither); and the range of the final "
        "exact match, written / reversed.\n\n"
        + table(
            [
                "model and peak learning rate",
                "answer as written",
                "answer reversed",
                "median, written / reversed",
                "reversed sooner / later",
                f"final exact match at step {long_steps:,}",
            ],
            rows,
        )
    )
    return first_table + "\n\n" + second_table


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer tokens and steps, no compile (a smoke test)")
    parser.add_argument(
        "--only",
        choices=list(SECTIONS),
        help="run one section and rewrite its table only (the other sections' tables stay from their last run)",
    )
    args = parser.parse_args()
    torch.manual_seed(0)
    sections_of = {
        "kv-cache": lambda: bench_kv_cache(20 if args.quick else 200),
        "attention": bench_attention,
        "training": lambda: bench_training(1 if args.quick else 5, compile_model=not args.quick),
        "quality": bench_time_to_quality,
        "seeds": bench_addition_seeds,
    }
    slow = ("quality", "seeds")
    chosen = [args.only] if args.only else [name for name in SECTIONS if not (args.quick and name in slow)]
    for name in chosen:
        started = time.perf_counter()
        body = sections_of[name]()
        report = (
            f"### {SECTIONS[name]}\n\nMachine: {machine()}\n\n{body}\n\n"
            f"Measured in {time.perf_counter() - started:.0f} s by `python benchmarks/bench_models.py"
            f"{' --only ' + name if args.only else ''}`.\n"
        )
        print(report)
        if not args.quick:
            OUT.mkdir(parents=True, exist_ok=True)
            (OUT / f"{name}.md").write_text(report)


if __name__ == "__main__":
    main()
