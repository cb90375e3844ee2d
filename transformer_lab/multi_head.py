"""Chapter 4 — Multi-head attention.

H heads each attend in a d_k = D / H dimensional subspace; their outputs are concatenated and mixed
by an output projection. Notation: B batch, T_q / T_k query and key lengths, D = d_model,
H = n_heads, d_k = D // H.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .attention import fast_attention, scaled_dot_product_attention


def check_heads(d_model: int, n_heads: int) -> None:
    """Raise a ValueError unless n_heads divides d_model: each head attends in d_model / n_heads dimensions."""
    if n_heads < 1 or d_model % n_heads != 0:
        divisors = [h for h in range(1, d_model + 1) if d_model % h == 0][:8]
        raise ValueError(
            f"n_heads={n_heads} does not divide d_model={d_model}: each head needs d_model / n_heads "
            f"dimensions (try n_heads in {divisors}...)"
        )


class KVCache:
    """Keys and values of the tokens seen so far, for one attention layer (chapter 10).

    During generation the keys and values of earlier tokens never change, so each step only
    projects the new token and appends it here instead of recomputing the whole prefix. They live
    in buffers with room to spare that double when full, as a Python list grows: an append writes
    only the new positions, where concatenating would copy the whole cache at every step. It is
    for generation, without gradients: an append writes into the buffer that earlier steps read,
    so a backward pass through those steps would fail.
    """

    def __init__(self) -> None:
        self._k: torch.Tensor | None = None  # (B, H, capacity, d_k): the first len(self) positions are filled
        self._v: torch.Tensor | None = None
        self._length = 0

    def __len__(self) -> int:
        return self._length

    @property
    def k(self) -> torch.Tensor | None:
        """The cached keys, (B, H, T_past, d_k): a view of the buffer, nothing copied."""
        return None if self._k is None else self._k[:, :, : self._length]

    @property
    def v(self) -> torch.Tensor | None:
        """The cached values, (B, H, T_past, d_k)."""
        return None if self._v is None else self._v[:, :, : self._length]

    def append(self, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Add the new (B, H, T_new, d_k) keys/values; return all of them, (B, H, T_past + T_new, d_k)."""
        end = self._length + k.shape[-2]
        if self._k is None or end > self._k.shape[-2]:
            capacity = max(end, 2 * self._length)
            self._k, self._v = self._grown(self._k, k, capacity), self._grown(self._v, v, capacity)
        self._k[:, :, self._length : end] = k
        self._v[:, :, self._length : end] = v
        self._length = end
        return self.k, self.v

    def _grown(self, old: torch.Tensor | None, new: torch.Tensor, capacity: int) -> torch.Tensor:
        """A buffer (B, H, capacity, d_k) like `new`, holding the filled part of `old`."""
        buffer = new.new_empty(*new.shape[:-2], capacity, new.shape[-1])
        if old is not None:
            buffer[:, :, : self._length] = old[:, :, : self._length]
        return buffer


class MultiHeadAttention(nn.Module):
    """Self- or cross-attention with H heads; keeps the last attention weights for plotting."""

    def __init__(self, *, d_model: int, n_heads: int, dropout: float = 0.0, bias: bool = True):
        super().__init__()
        check_heads(d_model, n_heads)
        self.d_model, self.n_heads, self.d_k = d_model, n_heads, d_model // n_heads
        self.dropout_p = dropout  # applied to the attention weights, inside the attention function
        self.q_proj = nn.Linear(d_model, d_model, bias=bias)
        self.k_proj = nn.Linear(d_model, d_model, bias=bias)
        self.v_proj = nn.Linear(d_model, d_model, bias=bias)
        self.out_proj = nn.Linear(d_model, d_model, bias=bias)
        self.fast_path = (
            False  # True: one matmul for self-attention's q, k, v and PyTorch's fused kernel (set_fast_path)
        )
        self.attn_weights: torch.Tensor | None = None  # (B, H, T_q, T_k) after a forward on the teaching path

    def extra_repr(self) -> str:
        return f"d_model={self.d_model}, n_heads={self.n_heads}, d_k={self.d_k}, fast_path={self.fast_path}"

    def split_heads(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, D) -> (B, H, T, d_k)"""
        B, T, _ = x.shape
        return x.view(B, T, self.n_heads, self.d_k).transpose(1, 2)

    def merge_heads(self, x: torch.Tensor) -> torch.Tensor:
        """(B, H, T, d_k) -> (B, T, D)"""
        B, _, T, _ = x.shape
        return x.transpose(1, 2).reshape(B, T, self.d_model)

    def _fused_qkv(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Self-attention's three projections as one matmul: (B, T, D) -> q, k, v, each (B, H, T, d_k).

        The weights are stacked at every call, so that in training the gradients flow back to the
        three layers.
        """
        projections = (self.q_proj, self.k_proj, self.v_proj)
        weight = torch.cat([p.weight for p in projections])  # (3D, D)
        bias = None if self.q_proj.bias is None else torch.cat([p.bias for p in projections])  # (3D,)
        qkv = F.linear(x, weight, bias)  # (B, T, 3D)
        return tuple(self.split_heads(t) for t in qkv.split(self.d_model, dim=-1))

    def forward(
        self,
        query: torch.Tensor,
        key: torch.Tensor,
        value: torch.Tensor,
        mask: torch.Tensor | None = None,
        *,
        rotary: nn.Module | None = None,
        kv_cache: KVCache | None = None,
        is_causal: bool = False,
    ) -> torch.Tensor:
        """query (B, T_q, D), key/value (B, T_k, D) -> (B, T_q, D).

        `rotary` (a RotaryEmbedding, chapter 5) rotates queries and keys by their positions;
        `kv_cache` (chapter 10) holds the keys and values of earlier positions. `is_causal=True` says
        that `mask` is causal_mask(T): the teaching path reads the mask all the same, the fast path
        lets the kernel apply it (see fast_attention), also under torch.compile.
        """
        for name, x in (("query", query), ("key", key), ("value", value)):
            if x.dim() != 3 or x.shape[-1] != self.d_model:
                raise ValueError(f"{name} must have shape (B, T, d_model={self.d_model}), got {tuple(x.shape)}")
        if self.fast_path and query is key and key is value:
            q, k, v = self._fused_qkv(query)
        else:
            q = self.split_heads(self.q_proj(query))  # (B, H, T_q, d_k)
            k = self.split_heads(self.k_proj(key))  # (B, H, T_k, d_k)
            v = self.split_heads(self.v_proj(value))  # (B, H, T_k, d_k)
        past = 0 if kv_cache is None else len(kv_cache)
        if rotary is not None:
            q, k = rotary(q, start=past), rotary(k, start=past)
        if kv_cache is not None:
            k, v = kv_cache.append(k, v)  # (B, H, past + T_k, d_k)
        p = self.dropout_p if self.training else 0.0
        if self.fast_path:
            out, self.attn_weights = fast_attention(q, k, v, mask, dropout_p=p, is_causal=is_causal), None
        else:
            out, self.attn_weights = scaled_dot_product_attention(q, k, v, mask, dropout_p=p)
        return self.out_proj(self.merge_heads(out))  # (B, T_q, D)
