"""Chapter 6 — The pieces of a Transformer block: LayerNorm and the position-wise feed-forward network.

The residual connections that join them live in the encoder and decoder layers (chapters 7 and 8),
written out as `x = x + sublayer(...)` where they happen.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .multi_head import MultiHeadAttention


def gelu_tanh(x: torch.Tensor) -> torch.Tensor:
    """GPT-2's approximation of GELU: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), elementwise.

    Eager mode runs PyTorch's kernel for it. Under torch.compile it is written with the identity
    0.5 (1 + tanh u) = sigmoid(2u): the compiler then fuses it into one loop around exp, which on the
    CPUs we measured costs less than half of their vector tanh (chapter 15). Same numbers up to rounding.
    """
    if torch.compiler.is_compiling():
        u = math.sqrt(2 / math.pi) * (x + 0.044715 * x * x * x)
        return x * torch.sigmoid(2 * u)
    return F.gelu(x, approximate="tanh")


ACTIVATIONS = {
    "relu": F.relu,
    "gelu": F.gelu,  # exact: x * Phi(x)
    "gelu_tanh": gelu_tanh,  # GPT-2's approximation
}


class LayerNorm(nn.Module):
    """Normalise each vector over its last dimension, then scale and shift:

    y = (x - mean) / sqrt(var + eps) * weight + bias,   var = mean((x - mean)^2), the biased (population) variance.
    """

    def __init__(self, d_model: int, eps: float = 1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(d_model))
        self.bias = nn.Parameter(torch.zeros(d_model))
        self.fast_path = False  # True: PyTorch's fused kernel, F.layer_norm (same numbers; set_fast_path)

    def extra_repr(self) -> str:
        return f"{self.weight.shape[0]}, eps={self.eps}, fast_path={self.fast_path}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.fast_path:  # chapter 15: PyTorch's fused kernel computes the same three lines
            return F.layer_norm(x, self.weight.shape, self.weight, self.bias, self.eps)
        centered = x - x.mean(dim=-1, keepdim=True)  # (..., D)
        var = (centered * centered).mean(dim=-1, keepdim=True)  # (..., 1)
        return centered * torch.rsqrt(var + self.eps) * self.weight + self.bias  # (..., D)


class FeedForward(nn.Module):
    """The same two-layer MLP applied to every position: (..., D) -> (..., d_ff) -> (..., D)."""

    def __init__(self, *, d_model: int, d_ff: int, dropout: float = 0.0, activation: str = "relu"):
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}; expected one of {sorted(ACTIVATIONS)}")
        self.activation = activation
        self.linear1 = nn.Linear(d_model, d_ff)
        self.linear2 = nn.Linear(d_ff, d_model)
        self.dropout = nn.Dropout(dropout)

    def extra_repr(self) -> str:
        return f"activation={self.activation!r}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = ACTIVATIONS[self.activation](self.linear1(x))  # (..., d_ff)
        return self.linear2(self.dropout(h))  # (..., D)


def set_fast_path(model: nn.Module, enabled: bool = True) -> nn.Module:
    """Switch every MultiHeadAttention and LayerNorm inside `model` to PyTorch's fused kernels, or back.

    True: one matmul for self-attention's q, k and v, PyTorch's attention kernel (told is_causal=True for
    a causal mask, so it skips the masked half, under torch.compile too) and F.layer_norm; no attention
    weights are kept. False: the teaching path of chapters 3-6, every step written out, each attention
    layer keeping its weights for plotting. Same numbers up to float rounding (chapter 15). Works on any
    model built from the package's parts; the repr of each part shows fast_path=. Returns the model.
    """
    for module in model.modules():
        if isinstance(module, (MultiHeadAttention, LayerNorm)):
            module.fast_path = enabled
    return model
