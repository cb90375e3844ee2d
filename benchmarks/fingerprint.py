"""Which kernels give other bits on another CPU? A fingerprint of PyTorch's arithmetic on this machine.

nbval compares every printed number with the one stored, so the tests need bit-identical floats on every
machine CI may run on. They pin the kernels (the Makefile's PINNED), and still an AMD EPYC and an Intel Xeon
printed different training results for some chapters and identical ones for others. This script makes the
difference findable: it hashes, under the settings it is run with,

1. single kernels: matrix products of many shapes and layouts, batched products, element-wise functions,
   reductions, normalisations and their gradients, and the random number generators;
2. one training step of each chapter's kind of model, operator by operator (every output of every ATen
   call, in order), then the weights after three steps.

Run it on two machines (`make fingerprint`, which uses the tests' PINNED settings) and compare the two files
with `diff`: the first differing line of a model's trace names the kernel whose bits differ, and everything
after it inherits the difference. It prints nothing of its own timing, so two runs on one machine give the
same file.

What it found, on an AMD EPYC and an Intel Xeon: every kernel the same but one, `sqrt`. ATen computes a
tensor's square root with MKL's vector-math library, whose COMPATIBLE branch rounds differently on the two
makers, and AdamW's for-loop update takes `exp_avg_sq.sqrt()` at every step. The fused AdamW
(`fused=True`) takes its square roots with the processor's own instruction, which IEEE 754 defines to the
last bit, so the course trains with it; the two `AdamW step` lines below show both updates on one set of
gradients, and the model traces use the fused one.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import platform
import re
import sys
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode

import transformer_lab as tl
from transformer_lab import digits
from transformer_lab.text_to_image import TextToImage, TextToImageConfig


def digest(*tensors: torch.Tensor) -> str:
    """The first 12 hex digits of an MD5 of the tensors' bytes."""
    h = hashlib.md5()
    for t in tensors:
        h.update(t.detach().contiguous().cpu().numpy().tobytes())
    return h.hexdigest()[:12]


def cpu_name() -> str:
    return next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )


def machine() -> str:
    capability = torch.backends.cpu.get_cpu_capability()
    return f"{cpu_name()}; torch {torch.__version__}; {torch.get_num_threads()} threads; capability {capability}"


def kernel_lines() -> list[str]:
    lines = []
    g = torch.Generator().manual_seed(0)
    for m, k, n in itertools.product([1, 5, 10, 64, 640, 1280], [8, 16, 32, 64, 128, 640], [5, 8, 32, 64, 192, 256]):
        a, b, bias = torch.randn(m, k, generator=g), torch.randn(k, n, generator=g), torch.randn(n, generator=g)
        a_t, b_t = a.t().contiguous().t(), b.t().contiguous().t()  # the same matrices, stored transposed
        lines.append(f"mm {m}x{k}x{n}: {digest(a @ b, a_t @ b, a @ b_t, a_t @ b_t, torch.addmm(bias, a, b))}")
    for batch, t, d in [(512, 5, 16), (256, 10, 16), (64, 16, 16), (32, 64, 32), (16, 84, 16), (8, 128, 64)]:
        q, k = torch.randn(batch, t, d, generator=g), torch.randn(batch, t, d, generator=g)
        lines.append(f"bmm {batch}x{t}x{d}: {digest(q @ k.transpose(1, 2), (q @ k.transpose(1, 2)) @ k)}")
    x = torch.randn(64, 1000, generator=g)
    unary = {
        "exp": torch.exp,
        "tanh": torch.tanh,
        "erf": torch.erf,
        "sigmoid": torch.sigmoid,
        "sqrt": lambda t: t.abs().sqrt(),
        "rsqrt": lambda t: t.abs().rsqrt(),
        "log": lambda t: t.abs().log(),
        "pow3": lambda t: t.pow(3),
        "relu": F.relu,
        "gelu (erf; oneDNN)": F.gelu,
        "gelu tanh": lambda t: F.gelu(t, approximate="tanh"),
        "softmax": lambda t: t.softmax(-1),
        "log_softmax": lambda t: t.log_softmax(-1),
        "layer_norm": lambda t: F.layer_norm(t, (1000,)),
        "tl.LayerNorm": tl.LayerNorm(1000),
        "sum": lambda t: t.sum(-1),
        "mean": lambda t: t.mean(),
        "var": lambda t: t.var(-1),
        "norm": torch.linalg.vector_norm,
    }
    for name, f in unary.items():
        xg = x.clone().requires_grad_()
        y = f(xg)
        y.sin().sum().backward()
        lines.append(f"{name}: forward {digest(y)}, backward {digest(xg.grad)}")
    with torch.backends.mkldnn.flags(enabled=False):  # F.gelu without oneDNN: ATen's own kernel
        xg = x.clone().requires_grad_()
        y = F.gelu(xg)
        y.sin().sum().backward()
        lines.append(f"gelu (erf; ATen, oneDNN off): forward {digest(y)}, backward {digest(xg.grad)}")
    for name, options in {"AdamW step, for-loop (sqrt through MKL)": {}, "AdamW step, fused": {"fused": True}}.items():
        lines.append(f"{name}: {digest(*adamw_steps(**options))}")
    torch.manual_seed(0)
    rng = {
        "rand": lambda: torch.rand(10_000),
        "randn": lambda: torch.randn(10_000),
        "randint": lambda: torch.randint(0, 10, (10_000,)),
        "randperm": lambda: torch.randperm(1000),
        "bernoulli_(p) (F.dropout's mask)": lambda: torch.empty(10_000).bernoulli_(0.9),
        "bernoulli(probabilities)": lambda: torch.bernoulli(torch.full((10_000,), 0.9)),
        "multinomial": lambda: torch.multinomial(torch.rand(100, 50), 1),
        "exponential_": lambda: torch.empty(10_000).exponential_(),
        "dropout p=0.1": lambda: F.dropout(torch.ones(10_000), 0.1),
    }
    for name, f in rng.items():
        lines.append(f"{name}: {digest(f())}")
    return lines


def adamw_steps(steps: int = 5, **options) -> list[torch.Tensor]:
    """Parameters after `steps` AdamW updates from seeded gradients: the optimizer's arithmetic and nothing else."""
    g = torch.Generator().manual_seed(0)
    params = [nn.Parameter(torch.randn(shape, generator=g)) for shape in [(300, 32), (300,), (7,), (64, 64)]]
    optimizer = torch.optim.AdamW(params, lr=1e-2, **options)
    for _ in range(steps):
        for p in params:
            p.grad = 1e-3 * torch.randn(p.shape, generator=g)
        optimizer.step()
    return params


class OperatorTrace(TorchDispatchMode):
    """Records every ATen call's name, input shapes and the digest of its tensor outputs, in call order."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        tensors = [t for t in (out if isinstance(out, (tuple, list)) else [out]) if isinstance(t, torch.Tensor)]
        shapes = " ".join("x".join(map(str, a.shape)) or "scalar" for a in args if isinstance(a, torch.Tensor))
        self.lines.append(f"{len(self.lines):04d} {func} ({shapes}): {digest(*tensors) if tensors else '-'}")
        return out


def _encoder_tagger():
    class Tagger(nn.Module):  # chapters 1, 5 and 7: embeddings, one pre-LN encoder layer (ReLU), a head
        def __init__(self):
            super().__init__()
            self.embed, self.pos = nn.Embedding(8, 32), tl.LearnedPositionalEmbedding(max_len=10, d_model=32)
            self.layer = tl.EncoderLayer(d_model=32, n_heads=2, d_ff=128, norm_first=True)
            self.norm, self.head = tl.LayerNorm(32), nn.Linear(32, 8)

        def forward(self, x):
            return self.head(self.norm(self.layer(self.pos(self.embed(x)))))

    g = torch.Generator().manual_seed(1)

    def batch(step):
        x = torch.randint(0, 8, (128, 10), generator=g)
        return x, x.flip(1)

    return Tagger(), batch, tl.cross_entropy_loss


def _vit():
    train = digits.load_digits_split(seed=0)["train"]
    model = tl.ViT(tl.ViTConfig(image_size=8, patch_size=4, d_model=64, n_layers=2, n_heads=4, d_ff=128, pool="cls"))
    g = torch.Generator().manual_seed(1)

    def batch(step):
        rows = torch.randint(0, len(train), (128,), generator=g)
        return digits.random_shift(train.images[rows], max_shift=1, generator=g), train.labels[rows]

    return model, batch, lambda m, b: tl.label_smoothed_cross_entropy(m(b[0]), b[1], smoothing=0.1)


def _gpt():
    model = tl.GPT(tl.GPTConfig(vocab_size=20, block_size=16, n_layers=2, n_heads=4, d_model=64))
    g = torch.Generator().manual_seed(1)

    def batch(step):
        ids = torch.randint(0, 20, (32, 17), generator=g)
        return ids[:, :-1], ids[:, 1:]

    return model, batch, lambda m, b: F.cross_entropy(m(b[0]).flatten(0, 1), b[1].flatten())


def _translator():
    cfg = tl.TransformerConfig(
        src_vocab_size=71,
        tgt_vocab_size=15,
        d_model=64,
        n_heads=4,
        n_layers=1,
        d_ff=128,
        dropout=0.0,
        max_len=40,
        activation="gelu",
        norm_first=True,
    )
    model = tl.Transformer(cfg)
    g = torch.Generator().manual_seed(1)

    def batch(step):
        src = torch.randint(3, 71, (64, 20), generator=g)
        tgt = torch.randint(3, 15, (64, 12), generator=g)
        return src, tgt

    def loss(m, b):
        src, tgt = b
        logits = m(src, tgt[:, :-1])  # (B, T - 1, V)
        return F.cross_entropy(logits.flatten(0, 1), tgt[:, 1:].flatten())

    return model, batch, loss


def _text_to_image():
    cfg = TextToImageConfig(text_vocab_size=30, max_text_len=12, levels=4, n_layers=2, n_heads=4, d_model=64, d_ff=128)
    model = TextToImage(cfg)
    g = torch.Generator().manual_seed(1)

    def batch(step):
        text = torch.randint(1, 30, (32, 12), generator=g)  # (B, L): prompt characters
        text = torch.cat([text, torch.full((32, 1), cfg.sep_id)], dim=1)  # (B, L + 1): ending in sep
        return text, torch.randint(0, 4, (32, 64), generator=g)  # (B, 64) pixel levels

    return model, batch, lambda m, b: m.loss(*b)


MODELS = {
    "encoder, ReLU": _encoder_tagger,
    "ViT": _vit,
    "GPT": _gpt,
    "translator, GELU": _translator,
    "text to image": _text_to_image,
}


def model_lines(name: str, make) -> list[str]:
    tl.set_seed(0)
    model, batch, loss_fn = make()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, fused=True)
    trace = OperatorTrace()
    with trace:
        tl.train(model, optimizer, batch, loss_fn, steps=1, progress=False)
    tl.train(model, optimizer, batch, loss_fn, steps=2, progress=False)
    weights = digest(*[p for p in model.parameters()])
    return [f"[{name}] weights after 3 steps: {weights}"] + [f"[{name}] {line}" for line in trace.lines]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="write here instead of printing")
    parser.add_argument("--save", action="store_true", help="write to benchmarks/fingerprints/<this CPU's name>.txt")
    args = parser.parse_args(argv)
    if args.save:
        args.out = (
            Path(__file__).parent
            / "fingerprints"
            / (re.sub(r"[^a-z0-9]+", "-", cpu_name().lower()).strip("-") + ".txt")
        )
    torch.set_num_threads(2)
    lines = (
        [f"# {machine()}", "## kernels"] + kernel_lines() + ["## one training step of each model, operator by operator"]
    )
    for name, make in MODELS.items():
        lines += model_lines(name, make)
    text = "\n".join(lines) + "\n"
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
        print(f"{len(lines)} lines -> {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
