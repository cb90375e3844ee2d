"""Chapter 6: LayerNorm and the position-wise feed-forward network."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..layers import FeedForward, LayerNorm
from .engine import Case, Mistake, checker, expect_class, module_run, randn, run_cases


class _LayerNormUnbiased(LayerNorm):
    def forward(self, x):
        return (x - x.mean(-1, keepdim=True)) / torch.sqrt(x.var(-1, keepdim=True) + self.eps) * self.weight + self.bias


class _LayerNormEpsOutsideSqrt(LayerNorm):
    def forward(self, x):
        std = x.var(-1, keepdim=True, unbiased=False).sqrt()
        return (x - x.mean(-1, keepdim=True)) / (std + self.eps) * self.weight + self.bias


class _LayerNormNoEps(LayerNorm):
    def forward(self, x):
        return (x - x.mean(-1, keepdim=True)) / x.std(-1, keepdim=True, unbiased=False) * self.weight + self.bias


class _LayerNormFixedEps(LayerNorm):
    def forward(self, x):
        var = x.var(-1, keepdim=True, unbiased=False)
        return (x - x.mean(-1, keepdim=True)) / torch.sqrt(var + 1e-5) * self.weight + self.bias


class _LayerNormOverPositions(LayerNorm):
    def forward(self, x):
        var = x.var(1, keepdim=True, unbiased=False)
        return (x - x.mean(1, keepdim=True)) / torch.sqrt(var + self.eps) * self.weight + self.bias


class _LayerNormOverPositionsAndFeatures(LayerNorm):
    def forward(self, x):
        var = x.var((-2, -1), keepdim=True, unbiased=False)
        return (x - x.mean((-2, -1), keepdim=True)) / torch.sqrt(var + self.eps) * self.weight + self.bias


class _LayerNormByVariance(LayerNorm):
    def forward(self, x):
        var = x.var(-1, keepdim=True, unbiased=False)
        return (x - x.mean(-1, keepdim=True)) / (var + self.eps) * self.weight + self.bias


class _LayerNormMeanKept(LayerNorm):
    def forward(self, x):
        return x / torch.sqrt(x.var(-1, keepdim=True, unbiased=False) + self.eps) * self.weight + self.bias


class _LayerNormWithoutWeightAndBias(LayerNorm):
    def forward(self, x):
        return (x - x.mean(-1, keepdim=True)) / torch.sqrt(x.var(-1, keepdim=True, unbiased=False) + self.eps)


LAYER_NORM_MISTAKES = [
    Mistake(
        "Your output matches LayerNorm with the UNBIASED variance (dividing by n - 1). LayerNorm uses the "
        "biased one, dividing by n: x.var(-1, keepdim=True, unbiased=False). (torch.var and torch.std "
        "default to unbiased.)",
        _LayerNormUnbiased,
    ),
    Mistake(
        "Your output matches LayerNorm with eps OUTSIDE the square root: (x - mean) / (std + eps). "
        "Is your epsilon inside the sqrt? It is (x - mean) / sqrt(var + eps).",
        _LayerNormEpsOutsideSqrt,
    ),
    Mistake(
        "Your output matches LayerNorm without eps: (x - mean) / sqrt(var + eps) keeps rows with a tiny "
        "variance from blowing up.",
        _LayerNormNoEps,
    ),
    Mistake(
        "Your output matches LayerNorm with eps = 1e-5 whatever the constructor was given. Use self.eps.",
        _LayerNormFixedEps,
    ),
    Mistake(
        "Your output matches a norm over the wrong axis: the positions (dim=1). LayerNorm normalises each "
        "vector over its LAST dimension (dim=-1, the features), separately at every position.",
        _LayerNormOverPositions,
    ),
    Mistake(
        "Your output matches a norm over the wrong axes: the positions and the features together. LayerNorm "
        "normalises each vector over its last dimension only (dim=-1).",
        _LayerNormOverPositionsAndFeatures,
    ),
    Mistake(
        "Your output matches dividing by the variance. Divide by the standard deviation: sqrt(var + eps).",
        _LayerNormByVariance,
    ),
    Mistake(
        "Your output matches LayerNorm without subtracting the mean: it is (x - mean) / sqrt(var + eps).",
        _LayerNormMeanKept,
    ),
    Mistake(
        "Your output matches LayerNorm without its learned scale and shift: multiply by self.weight and add "
        "self.bias at the end.",
        _LayerNormWithoutWeightAndBias,
    ),
]


@checker
def check_layer_norm(cls: type[nn.Module]) -> None:
    """cls(d_model, eps=1e-5) with parameters `weight` and `bias`: y = (x - mean) / sqrt(var + eps) * weight + bias."""
    name = "LayerNorm"
    expect_class(name, cls, nn.Module)
    g = torch.Generator().manual_seed(2)
    cases = [
        Case("batch of 2, values around 1", dict(x=randn(g, 2, 3, 8, scale=2.0) + 1.0), dict(d_model=8, eps=1e-5)),
        Case(
            "rows with a tiny variance (values ~1e-3, eps=1e-5)",
            dict(x=randn(g, 1, 4, 6, scale=1e-3)),
            dict(d_model=6, eps=1e-5),
        ),
        Case("2-d input, d_model=4, eps=1e-3", dict(x=randn(g, 3, 4, scale=0.05)), dict(d_model=4, eps=1e-3)),
    ]
    run_cases(name, cls, LayerNorm, cases, module_run(LayerNorm), LAYER_NORM_MISTAKES)


def _activation(name: str):
    return F.gelu if name == "gelu" else F.relu


class _FeedForwardNoActivation(FeedForward):
    def forward(self, x):
        return self.linear2(self.linear1(x))


class _FeedForwardActivationLast(FeedForward):
    def forward(self, x):
        return _activation(self.activation)(self.linear2(self.linear1(x)))


class _FeedForwardAlwaysReLU(FeedForward):
    def forward(self, x):
        return self.linear2(F.relu(self.linear1(x)))


class _FeedForwardTanhGelu(FeedForward):
    def forward(self, x):
        h = self.linear1(x)
        return self.linear2(F.gelu(h, approximate="tanh") if self.activation == "gelu" else F.relu(h))


class _FeedForwardWithResidual(FeedForward):
    def forward(self, x):
        return x + super().forward(x)


FEED_FORWARD_MISTAKES = [
    Mistake(
        "Your output matches the feed-forward network WITHOUT its activation: two linear layers in a row "
        "are just one linear map. Apply the activation between linear1 and linear2.",
        _FeedForwardNoActivation,
    ),
    Mistake(
        "Your output matches the activation applied AFTER the second linear layer. It goes between the two: "
        "linear2(activation(linear1(x))).",
        _FeedForwardActivationLast,
    ),
    Mistake(
        "Your output matches ReLU although the layer was built with activation='gelu'. "
        "Use the activation named by the `activation` argument.",
        _FeedForwardAlwaysReLU,
    ),
    Mistake(
        "Your output matches the tanh approximation of GELU. activation='gelu' is the exact GELU, F.gelu(x) "
        "(GPT-2's approximation is 'gelu_tanh').",
        _FeedForwardTanhGelu,
    ),
    Mistake(
        "Your output matches x + FFN(x): the residual connection belongs to the encoder/decoder layer, "
        "not inside the feed-forward network.",
        _FeedForwardWithResidual,
    ),
]


@checker
def check_feed_forward(cls: type[nn.Module]) -> None:
    """cls(d_model, d_ff, dropout=0.0, activation="relu" or "gelu") with submodules linear1 and linear2."""
    name = "FeedForward"
    expect_class(name, cls, nn.Module)
    g = torch.Generator().manual_seed(3)
    cases = [
        Case("relu, batch of 2", dict(x=randn(g, 2, 3, 6)), dict(d_model=6, d_ff=10, dropout=0.0, activation="relu")),
        Case(
            "gelu, batch of 1",
            dict(x=randn(g, 1, 4, 6, scale=2.0)),
            dict(d_model=6, d_ff=10, dropout=0.0, activation="gelu"),
        ),
        Case(
            "relu, a 2-d input (positions, features)",
            dict(x=randn(g, 3, 4)),
            dict(d_model=4, d_ff=16, dropout=0.0, activation="relu"),
        ),
    ]
    run_cases(name, cls, FeedForward, cases, module_run(FeedForward), FEED_FORWARD_MISTAKES)
