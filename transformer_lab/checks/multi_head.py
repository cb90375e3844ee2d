"""Chapter 4: multi-head attention."""

from __future__ import annotations

import torch

from ..attention import causal_mask, scaled_dot_product_attention
from ..multi_head import MultiHeadAttention
from .attention import attend
from .engine import Case, Mistake, checker, expect_class, lengths_mask, module_run, randn, run_cases


class _WrittenMHA(MultiHeadAttention):
    """Multi-head attention written out step by step; each buggy variant below changes one step."""

    def attend(self, q, k, v, mask):
        return scaled_dot_product_attention(q, k, v, mask)

    def forward(self, query, key, value, mask=None):
        q = self.split_heads(self.q_proj(query))  # (B, H, T_q, d_k)
        k = self.split_heads(self.k_proj(key))  # (B, H, T_k, d_k)
        v = self.split_heads(self.v_proj(value))
        out, self.attn_weights = self.attend(q, k, v, mask)  # (B, H, T_q, d_k), (B, H, T_q, T_k)
        return self.project(self.merge_heads(out))  # (B, T_q, D)

    def project(self, x):
        return self.out_proj(x)


class _MHASplitWithoutTranspose(_WrittenMHA):
    def split_heads(self, x):
        return x.reshape(x.shape[0], self.n_heads, x.shape[1], self.d_k)


class _MHASplitDkFirst(_WrittenMHA):
    def split_heads(self, x):
        return x.reshape(x.shape[0], x.shape[1], self.d_k, self.n_heads).permute(0, 3, 1, 2)


class _MHAMergeWithoutTranspose(_WrittenMHA):
    def merge_heads(self, x):
        return x.reshape(x.shape[0], x.shape[2], self.d_model)


class _MHAMergeDkFirst(_WrittenMHA):
    def merge_heads(self, x):
        return x.permute(0, 2, 3, 1).reshape(x.shape[0], x.shape[2], self.d_model)


class _MHANoOutputProjection(_WrittenMHA):
    def project(self, x):
        return x


class _MHAScaledByDModel(_WrittenMHA):
    def attend(self, q, k, v, mask):
        return attend(q, k, v, mask, scale=self.d_model**-0.5)


class _MHANotScaled(_WrittenMHA):
    def attend(self, q, k, v, mask):
        return attend(q, k, v, mask, scale=1.0)


class _MHAMaskIgnored(_WrittenMHA):
    def attend(self, q, k, v, mask):
        return scaled_dot_product_attention(q, k, v)


class _MHAValuesFromKey(_WrittenMHA):
    def forward(self, query, key, value, mask=None):
        return super().forward(query, key, key, mask)


MULTI_HEAD_MISTAKES = [
    Mistake(
        "Your heads are split without a transpose: (B, T, D) was reshaped straight to (B, H, T, d_k), which "
        "mixes positions. View it as (B, T, H, d_k), then transpose(1, 2).",
        _MHASplitWithoutTranspose,
    ),
    Mistake(
        "Your heads are split in the wrong order: the width was viewed as (d_k, H). Each head owns d_k "
        "CONSECUTIVE features: view(B, T, H, d_k), then transpose(1, 2).",
        _MHASplitDkFirst,
    ),
    Mistake(
        "Your heads are merged without a transpose: (B, H, T, d_k) was reshaped straight to (B, T, D), "
        "which mixes positions. transpose(1, 2) back to (B, T, H, d_k) first, then reshape.",
        _MHAMergeWithoutTranspose,
    ),
    Mistake(
        "Your heads are merged in the wrong order: features were laid out as (d_k, H). Concatenate the heads, "
        "(B, T, H, d_k) -> (B, T, H * d_k): transpose(1, 2), then reshape.",
        _MHAMergeDkFirst,
    ),
    Mistake(
        "Your output matches multi-head attention WITHOUT the output projection. "
        "Pass the merged heads through self.out_proj.",
        _MHANoOutputProjection,
    ),
    Mistake(
        "Your output matches attention scaled by sqrt(d_model). Each head works in d_k = d_model / n_heads "
        "dimensions: divide the scores by sqrt(d_k).",
        _MHAScaledByDModel,
    ),
    Mistake("Your output matches multi-head attention WITHOUT the 1/sqrt(d_k) scaling of the scores.", _MHANotScaled),
    Mistake(
        "Your output matches multi-head attention with the mask IGNORED. Pass the mask to the attention.",
        _MHAMaskIgnored,
    ),
    Mistake("Your values are computed from `key`, not `value`: use self.v_proj(value).", _MHAValuesFromKey),
]


def _multi_head_cases() -> list[Case]:
    g = torch.Generator().manual_seed(1)
    x1, x2 = randn(g, 2, 4, 12), randn(g, 1, 5, 8)
    memory = randn(g, 2, 5, 12)
    return [
        Case(
            "self-attention, batch of 2, no mask",
            dict(query=x1, key=x1, value=x1, mask=None),
            dict(d_model=12, n_heads=3),
        ),
        Case(
            "self-attention, batch of 1, causal mask",
            dict(query=x2, key=x2, value=x2, mask=causal_mask(5)),
            dict(d_model=8, n_heads=2),
        ),
        Case(
            "cross-attention (T_q=3, T_k=5), padding mask",
            dict(query=randn(g, 2, 3, 12), key=memory, value=memory, mask=lengths_mask([5, 3], 5)),
            dict(d_model=12, n_heads=4),
        ),
        Case(
            "cross-attention with different key and value tensors, no mask",
            dict(query=randn(g, 2, 2, 8), key=randn(g, 2, 4, 8), value=randn(g, 2, 4, 8), mask=None),
            dict(d_model=8, n_heads=4),
        ),
    ]


@checker
def check_multi_head_attention(cls: type[MultiHeadAttention]) -> None:
    """cls: a subclass of tl.MultiHeadAttention whose forward(query, key, value, mask=None) you wrote.

    Its attn_weights are compared too when your forward sets them.
    """
    name = "MultiHeadAttention"
    expect_class(name, cls, MultiHeadAttention)
    run_cases(
        name,
        cls,
        MultiHeadAttention,
        _multi_head_cases(),
        module_run(MultiHeadAttention, keep_attn_weights=True),
        MULTI_HEAD_MISTAKES,
        fields=("output", "attn_weights"),
        optional=("attn_weights",),
    )
