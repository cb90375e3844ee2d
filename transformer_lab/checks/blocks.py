"""Chapters 7 and 8: the encoder layer and the decoder layer."""

from __future__ import annotations

from typing import Any

import torch

from ..attention import causal_mask
from ..decoder import DecoderLayer
from ..encoder import EncoderLayer
from .engine import N_, Case, Mistake, checker, expect_class, lengths_mask, module_run, randn, run_cases


def _post_ln(x, sublayer, norm):
    return norm(x + sublayer(x))


def _pre_ln(x, sublayer, norm):
    return x + sublayer(norm(x))


def _right_step(layer, x, sublayer, norm):
    return _pre_ln(x, sublayer, norm) if layer.norm_first else _post_ln(x, sublayer, norm)


def _swapped_step(layer, x, sublayer, norm):
    return _post_ln(x, sublayer, norm) if layer.norm_first else _pre_ln(x, sublayer, norm)


def _step_without_residual(layer, x, sublayer, norm):
    return sublayer(norm(x)) if layer.norm_first else norm(sublayer(x))


def _step_normalising_the_residual(layer, x, sublayer, norm):
    if not layer.norm_first:
        return _post_ln(x, sublayer, norm)
    h = norm(x)
    return h + sublayer(h)  # the residual stream itself went through the norm


def _step_normalising_the_sum(layer, x, sublayer, norm):
    return norm(x + sublayer(norm(x))) if layer.norm_first else _post_ln(x, sublayer, norm)


class _WrittenEncoderLayer(EncoderLayer):
    """The encoder layer with its residual step as a function; the buggy variants below change one thing."""

    step = _right_step

    def forward(self, x, mask=None):
        x = self.step(x, lambda h: self.self_attn(h, h, h, mask), self.norm1)  # (B, T, D)
        return self.step(x, self.feed_forward, self.norm2)


class _EncoderLNSwapped(_WrittenEncoderLayer):
    step = _swapped_step


class _EncoderNoResidual(_WrittenEncoderLayer):
    step = _step_without_residual


class _EncoderResidualNormalised(_WrittenEncoderLayer):
    step = _step_normalising_the_residual


class _EncoderSumNormalised(_WrittenEncoderLayer):
    step = _step_normalising_the_sum


class _EncoderMaskIgnored(_WrittenEncoderLayer):
    def forward(self, x, mask=None):
        return super().forward(x, None)


class _EncoderNorm1Twice(_WrittenEncoderLayer):
    def forward(self, x, mask=None):
        x = self.step(x, lambda h: self.self_attn(h, h, h, mask), self.norm1)
        return self.step(x, self.feed_forward, self.norm1)


_LN_SWAPPED = N_(
    "Your output matches post-LN and pre-LN swapped. norm_first=False (post-LN, the 2017 paper): "
    "x = norm(x + sublayer(x)); norm_first=True (pre-LN): x = x + sublayer(norm(x))."
)
_NO_RESIDUAL = N_(
    "Your output matches the layer WITHOUT its residual connections: add each sublayer's input back, x + sublayer(...)."
)
_RESIDUAL_NORMALISED = N_(
    "Your output matches pre-LN with the LayerNorm applied to the residual stream itself "
    "(h = norm(x); x = h + sublayer(h)). In pre-LN only the sublayer's input is normalised: "
    "x = x + sublayer(norm(x))."
)
_SUM_NORMALISED = N_(
    "Your output matches pre-LN with the LayerNorm ALSO applied to the residual sum, "
    "norm(x + sublayer(norm(x))). Pre-LN leaves the sum alone: x = x + sublayer(norm(x))."
)

ENCODER_LAYER_MISTAKES = [
    Mistake(_LN_SWAPPED, _EncoderLNSwapped),
    Mistake(_NO_RESIDUAL, _EncoderNoResidual),
    Mistake(_RESIDUAL_NORMALISED, _EncoderResidualNormalised),
    Mistake(_SUM_NORMALISED, _EncoderSumNormalised),
    Mistake("Your output matches the layer with the mask IGNORED: pass it to self-attention.", _EncoderMaskIgnored),
    Mistake(
        "Your output matches the layer with norm1 used for both sublayers: the feed-forward sublayer has "
        "its own LayerNorm, norm2.",
        _EncoderNorm1Twice,
    ),
]


def _layer_init(norm_first: bool, activation: str = "relu") -> dict[str, Any]:
    return dict(d_model=8, n_heads=2, d_ff=16, dropout=0.0, activation=activation, norm_first=norm_first)


@checker
def check_encoder_layer(cls: type[EncoderLayer]) -> None:
    """cls: a subclass of tl.EncoderLayer whose forward(x, mask=None) you wrote, for both values of norm_first."""
    name = "EncoderLayer"
    expect_class(name, cls, EncoderLayer)
    g = torch.Generator().manual_seed(4)
    cases = [
        Case(
            "post-LN, batch of 2, padding mask",
            dict(x=randn(g, 2, 4, 8), mask=lengths_mask([4, 2], 4)),
            _layer_init(norm_first=False),
        ),
        Case(
            "pre-LN, batch of 2, padding mask",
            dict(x=randn(g, 2, 5, 8), mask=lengths_mask([3, 5], 5)),
            _layer_init(norm_first=True),
        ),
        Case(
            "post-LN, gelu, batch of 1, no mask",
            dict(x=randn(g, 1, 3, 8), mask=None),
            _layer_init(norm_first=False, activation="gelu"),
        ),
        Case(
            "pre-LN, gelu, batch of 1, no mask",
            dict(x=randn(g, 1, 3, 8), mask=None),
            _layer_init(norm_first=True, activation="gelu"),
        ),
    ]
    run_cases(name, cls, EncoderLayer, cases, module_run(EncoderLayer), ENCODER_LAYER_MISTAKES)


class _WrittenDecoderLayer(DecoderLayer):
    """The decoder layer with its residual step as a function; the buggy variants below change one thing."""

    step = _right_step

    def forward(self, x, memory, tgt_mask=None, memory_mask=None):
        x = self.step(x, lambda h: self.self_attn(h, h, h, tgt_mask), self.norm1)  # (B, T_tgt, D)
        x = self.step(x, lambda h: self.cross_attn(h, memory, memory, memory_mask), self.norm2)
        return self.step(x, self.feed_forward, self.norm3)


class _DecoderLNSwapped(_WrittenDecoderLayer):
    step = _swapped_step


class _DecoderNoResidual(_WrittenDecoderLayer):
    step = _step_without_residual


class _DecoderResidualNormalised(_WrittenDecoderLayer):
    step = _step_normalising_the_residual


class _DecoderCrossAttendsToItself(_WrittenDecoderLayer):
    def forward(self, x, memory, tgt_mask=None, memory_mask=None):
        x = self.step(x, lambda h: self.self_attn(h, h, h, tgt_mask), self.norm1)
        x = self.step(x, lambda h: self.cross_attn(h, h, h, memory_mask), self.norm2)
        return self.step(x, self.feed_forward, self.norm3)


class _DecoderTargetMaskIgnored(_WrittenDecoderLayer):
    def forward(self, x, memory, tgt_mask=None, memory_mask=None):
        return super().forward(x, memory, None, memory_mask)


class _DecoderCrossAttentionFirst(_WrittenDecoderLayer):
    def forward(self, x, memory, tgt_mask=None, memory_mask=None):
        x = self.step(x, lambda h: self.cross_attn(h, memory, memory, memory_mask), self.norm1)
        x = self.step(x, lambda h: self.self_attn(h, h, h, tgt_mask), self.norm2)
        return self.step(x, self.feed_forward, self.norm3)


DECODER_LAYER_MISTAKES = [
    Mistake(_LN_SWAPPED, _DecoderLNSwapped),
    Mistake(_NO_RESIDUAL, _DecoderNoResidual),
    Mistake(_RESIDUAL_NORMALISED, _DecoderResidualNormalised),
    Mistake(
        "Your output matches cross-attention whose keys and values come from the decoder itself. The "
        "queries come from the decoder; the keys and values from the encoder's output: "
        "cross_attn(h, memory, memory, memory_mask).",
        _DecoderCrossAttendsToItself,
    ),
    Mistake(
        "Your output matches the layer with tgt_mask IGNORED: the self-attention must not see the future.",
        _DecoderTargetMaskIgnored,
    ),
    Mistake(
        "Your output matches cross-attention BEFORE self-attention. The order is masked self-attention, "
        "cross-attention, feed-forward.",
        _DecoderCrossAttentionFirst,
    ),
]


@checker
def check_decoder_layer(cls: type[DecoderLayer]) -> None:
    """cls: a subclass of tl.DecoderLayer whose forward(x, memory, tgt_mask=None, memory_mask=None) you wrote."""
    name = "DecoderLayer"
    expect_class(name, cls, DecoderLayer)
    g = torch.Generator().manual_seed(5)
    tgt_mask = causal_mask(4) & lengths_mask([4, 3], 4)  # (2, 1, 4, 4)
    cases = [
        Case(
            "post-LN, batch of 2, causal mask, no memory mask (T_tgt=4, T_src=6)",
            dict(x=randn(g, 2, 4, 8), memory=randn(g, 2, 6, 8), tgt_mask=causal_mask(4), memory_mask=None),
            _layer_init(norm_first=False),
        ),
        Case(
            "pre-LN, batch of 1, causal mask, no memory mask (T_tgt=3, T_src=5)",
            dict(x=randn(g, 1, 3, 8), memory=randn(g, 1, 5, 8), tgt_mask=causal_mask(3), memory_mask=None),
            _layer_init(norm_first=True),
        ),
        Case(
            "post-LN, causal and padding masks",
            dict(x=randn(g, 2, 4, 8), memory=randn(g, 2, 6, 8), tgt_mask=tgt_mask, memory_mask=lengths_mask([6, 4], 6)),
            _layer_init(norm_first=False),
        ),
        Case(
            "pre-LN, gelu, causal and padding masks",
            dict(x=randn(g, 2, 4, 8), memory=randn(g, 2, 6, 8), tgt_mask=tgt_mask, memory_mask=lengths_mask([5, 6], 6)),
            _layer_init(norm_first=True, activation="gelu"),
        ),
    ]
    run_cases(name, cls, DecoderLayer, cases, module_run(DecoderLayer), DECODER_LAYER_MISTAKES)
