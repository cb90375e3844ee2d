"""Chapter 6: LayerNorm and the feed-forward network, against torch.nn. Bad input is in test_errors.py."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import transformer_lab as tl

from conftest import assert_close_f32, perturb_


def test_layer_norm_loads_torch_state_dict_and_matches_it():
    ref = perturb_(nn.LayerNorm(10))  # weight 1 ± 0.3, bias ± 0.3: a swapped weight/bias would show
    ours = tl.LayerNorm(10)
    ours.load_state_dict(ref.state_dict())
    assert torch.equal(ours.weight, ref.weight) and torch.equal(ours.bias, ref.bias)
    x = torch.randn(3, 4, 10) * 5 + 2
    assert_close_f32(ours(x), ref(x))


@pytest.mark.parametrize("eps", [1e-5, 1e-2])
def test_layer_norm_eps_and_biased_variance(eps):
    """Vectors whose variance is near eps: only eps inside the sqrt and the biased variance match torch."""
    ref = perturb_(nn.LayerNorm(10, eps=eps))
    ours = tl.LayerNorm(10, eps=eps)
    ours.load_state_dict(ref.state_dict())
    tiny = torch.randn(2, 10) * eps**0.5
    assert_close_f32(ours(tiny), ref(tiny))


def test_layer_norm_output_is_normalised_before_the_affine_map():
    ln = tl.LayerNorm(32)
    y = ln(torch.randn(5, 32) * 3 + 1)
    assert_close_f32(y.mean(-1), torch.zeros(5))
    torch.testing.assert_close(y.var(-1, unbiased=False), torch.ones(5), atol=1e-4, rtol=0)  # eps shifts it by ~1e-5


@pytest.mark.parametrize(
    "activation,fn",
    [("relu", F.relu), ("gelu", F.gelu), ("gelu_tanh", lambda x: F.gelu(x, approximate="tanh"))],
)
def test_feed_forward_is_linear_activation_linear(activation, fn):
    ff = perturb_(tl.FeedForward(d_model=6, d_ff=24, activation=activation))
    assert (ff.linear1.in_features, ff.linear1.out_features) == (6, 24)
    assert (ff.linear2.in_features, ff.linear2.out_features) == (24, 6)
    x = torch.randn(2, 3, 6) * 2
    assert_close_f32(ff(x), ff.linear2(fn(ff.linear1(x))))


def test_gelu_tanh_as_written_for_the_compiler_matches_the_kernel_values_and_gradients(monkeypatch):
    """Under torch.compile, gelu_tanh is written as x * sigmoid(2u); run that form eagerly and compare it
    with PyTorch's tanh-GELU kernel, saturated tails included."""
    x = torch.cat([torch.linspace(-12, 12, 241), torch.randn(500) * 3]).requires_grad_()
    grad_out = torch.randn_like(x)
    kernel = F.gelu(x, approximate="tanh")
    (dx_kernel,) = torch.autograd.grad(kernel, x, grad_out)
    monkeypatch.setattr(torch.compiler, "is_compiling", lambda: True)
    as_compiled = tl.layers.gelu_tanh(x)
    (dx_compiled,) = torch.autograd.grad(as_compiled, x, grad_out)
    assert as_compiled.grad_fn.name() != kernel.grad_fn.name()  # really the other formula, not the kernel
    assert_close_f32(as_compiled, kernel)
    assert_close_f32(dx_compiled, dx_kernel)


def test_layer_norm_fast_path_gives_the_same_values_and_gradients():
    slow = perturb_(tl.LayerNorm(16, eps=1e-3))
    fast = perturb_(tl.LayerNorm(16, eps=1e-3))
    fast.load_state_dict(slow.state_dict())
    fast.fast_path = True
    x = torch.randn(3, 5, 16) * 4 + 1
    grad_out = torch.randn(3, 5, 16)
    (slow(x) * grad_out).sum().backward()
    (fast(x) * grad_out).sum().backward()
    assert_close_f32(fast(x), slow(x))
    assert_close_f32(fast.weight.grad, slow.weight.grad)
    assert_close_f32(fast.bias.grad, slow.bias.grad)


FAST_PATH_MODELS = {
    "encoder": lambda: tl.Encoder(n_layers=2, d_model=16, n_heads=4, d_ff=32, norm_first=True),
    "vit": lambda: tl.ViT(tl.ViTConfig(image_size=8, patch_size=4, d_model=16, n_heads=4, d_ff=32)),
    "transformer": lambda: tl.Transformer(
        tl.TransformerConfig(src_vocab_size=9, tgt_vocab_size=7, d_model=16, n_heads=4, d_ff=32, dropout=0.0)
    ),
}


def _inputs(name: str):
    if name == "encoder":
        return (torch.randn(2, 5, 16), tl.padding_mask(torch.tensor([[4, 4, 4, 0, 0], [4, 4, 4, 4, 4]]), 0))
    if name == "vit":
        return (torch.rand(2, 1, 8, 8),)
    return (torch.tensor([[5, 6, 7, 0], [5, 5, 8, 8]]), torch.tensor([[1, 4, 5], [1, 6, 0]]))


@pytest.mark.parametrize("name", FAST_PATH_MODELS)
def test_set_fast_path_switches_any_model_and_its_repr_says_so(name):
    model = perturb_(FAST_PATH_MODELS[name]()).eval()
    inputs = _inputs(name)
    assert "fast_path=True" not in repr(model)  # only the GPT starts on the fast path
    teaching = model(*inputs)
    assert tl.set_fast_path(model) is model
    assert "fast_path=False" not in repr(model) and "fast_path=True" in repr(model)
    assert_close_f32(model(*inputs), teaching)
    assert all(m.attn_weights is None for m in model.modules() if isinstance(m, tl.MultiHeadAttention))
    tl.set_fast_path(model, False)
    assert "fast_path=True" not in repr(model)
