"""Chapter 3 — Scaled dot-product attention and masks.

    Attention(Q, K, V) = softmax(Q K^T / sqrt(d_k) + M) V

Shapes: q (..., T_q, d_k), k (..., T_k, d_k), v (..., T_k, d_v). The leading dimensions `...` are
usually (B, H): batch and heads. A mask is boolean and means True = "this query may attend to this
key"; it broadcasts to (..., T_q, T_k).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def causal_mask(T: int, device: torch.device | str | None = None) -> torch.Tensor:
    """(T, T) bool, True on and below the diagonal: position t may attend to positions 0..t."""
    if not isinstance(T, int) or T < 1:
        raise ValueError(f"causal_mask needs a positive int length, got {T!r}")
    return torch.ones(T, T, dtype=torch.bool, device=device).tril()


def padding_mask(tokens: torch.Tensor, pad_id: int) -> torch.Tensor:
    """(B, T) token ids -> (B, 1, 1, T) bool, True at real tokens, False at padding."""
    if tokens.dim() != 2:
        raise ValueError(f"padding_mask takes token ids of shape (B, T), got {tuple(tokens.shape)}")
    return (tokens != pad_id)[:, None, None, :]


def _check_inputs(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None) -> None:
    if q.dim() < 2 or k.dim() < 2 or v.dim() < 2:
        raise ValueError("q, k and v need at least 2 dimensions (..., T, d)")
    if q.shape[-1] != k.shape[-1]:
        raise ValueError(f"q and k must have the same width d_k to be dotted: q has {q.shape[-1]}, k has {k.shape[-1]}")
    if k.shape[-2] != v.shape[-2]:
        raise ValueError(f"k and v must have the same length T_k: k has {k.shape[-2]}, v has {v.shape[-2]}")
    if mask is not None:
        if mask.dtype != torch.bool:
            raise TypeError(f"the mask must be boolean (True = may attend), got dtype {mask.dtype}")
        scores_shape = (*torch.broadcast_shapes(q.shape[:-2], k.shape[:-2]), q.shape[-2], k.shape[-2])
        try:
            out = torch.broadcast_shapes(mask.shape, scores_shape)
        except RuntimeError:
            out = None
        if out != scores_shape:
            raise ValueError(
                f"mask of shape {tuple(mask.shape)} cannot broadcast to the attention scores "
                f"(..., T_q, T_k) = {scores_shape}"
            )


def scaled_dot_product_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    mask: torch.Tensor | None = None,
    dropout_p: float = 0.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The teaching path: every step written out. Returns (output (..., T_q, d_v), weights (..., T_q, T_k))."""
    _check_inputs(q, k, v, mask)
    d_k = q.shape[-1]
    scores = q @ k.transpose(-2, -1) / math.sqrt(d_k)  # (..., T_q, T_k)
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = torch.softmax(scores, dim=-1)  # (..., T_q, T_k), each row sums to 1
    if mask is not None:
        # A query with no allowed key has a row of -inf scores, and softmax gives NaN: make it 0.
        no_key = ~mask.any(dim=-1, keepdim=True)  # (..., T_q, 1), as small as the mask
        if no_key.any():
            weights = weights.masked_fill(no_key, 0.0)
    if dropout_p > 0.0:
        weights = F.dropout(weights, p=dropout_p)
    return weights @ v, weights  # (..., T_q, d_v), (..., T_q, T_k)


def fast_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    mask: torch.Tensor | None = None,
    dropout_p: float = 0.0,
    *,
    is_causal: bool = False,
) -> torch.Tensor:
    """The fast path: PyTorch's fused kernel, same numbers, no weights kept. Returns (..., T_q, d_v).

    is_causal=True says that `mask` is causal_mask(T) with T = T_q = T_k, as the caller built it (the
    hint of torch.nn.TransformerEncoderLayer). Without it a square mask is compared with causal_mask(T)
    to find out, which torch.compile cannot do: it never looks at a tensor's values while compiling.
    """
    _check_inputs(q, k, v, mask)
    if is_causal:
        _check_causal_hint(mask, q.shape[-2], k.shape[-2])
    if is_causal or (mask is not None and _is_plain_causal(mask, q.shape[-2], k.shape[-2])):
        # The kernel applies a causal mask itself (is_causal=True): it never reads the mask and skips
        # the key blocks above the diagonal. Every row keeps its diagonal key, so no row is empty.
        return F.scaled_dot_product_attention(q, k, v, dropout_p=dropout_p, is_causal=True)
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout_p)
    if mask is not None:
        no_key = ~mask.any(dim=-1, keepdim=True)  # (..., T_q, 1), as small as the mask
        # Tested on the small mask, so the full-size fill (and its backward) runs only when needed;
        # under torch.compile the test would split the graph, and the compiler fuses the fill anyway.
        if torch.compiler.is_compiling() or no_key.any():
            out = out.masked_fill(no_key, 0.0)  # rows with no allowed key -> 0
    return out


def _is_plain_causal(mask: torch.Tensor, T_q: int, T_k: int) -> bool:
    """True when mask is exactly causal_mask(T) for T = T_q = T_k: a (T, T) comparison, cheap next to attention.
    Always False under torch.compile, where a test on the mask's values would split the graph."""
    if torch.compiler.is_compiling() or mask.dim() != 2 or not T_q == T_k == mask.shape[0] == mask.shape[1]:
        return False
    return torch.equal(mask, causal_mask(T_q, device=mask.device))


def _check_causal_hint(mask: torch.Tensor | None, T_q: int, T_k: int) -> None:
    """is_causal=True must describe the mask: square attention, and the mask (if any) causal_mask(T).
    The values are compared in eager mode only; under torch.compile the caller's word is taken."""
    if T_q != T_k:
        raise ValueError(
            f"is_causal=True needs as many queries as keys (causal_mask(T) is square), got T_q={T_q}, T_k={T_k}; "
            f"with a KV cache pass the mask alone"
        )
    if mask is not None and not torch.compiler.is_compiling() and not _is_plain_causal(mask, T_q, T_k):
        raise ValueError(f"is_causal=True, but the mask of shape {tuple(mask.shape)} is not causal_mask({T_q})")
