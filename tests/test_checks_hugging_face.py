"""The chapter 14 checkers (Hugging Face's Conv1D and GPT-2's GELU): correct code passes, known mistakes are named."""

import math
import re

import pytest
import torch
from torch import nn
from transformers.pytorch_utils import Conv1D

import transformer_lab as tl
from transformer_lab.checks import check_conv1d_to_linear, check_gelu_tanh, hugging_face
from transformer_lab.hugging_face import linear_from_conv1d


def conv1d_copy_into(conv):
    d_in, d_out = conv.weight.shape
    linear = nn.Linear(d_in, d_out)
    with torch.no_grad():
        linear.weight.copy_(conv.weight.T)
        linear.bias.copy_(conv.bias)
    return linear


def conv1d_load_state_dict(conv):
    """load_state_dict copies the tensors it is given."""
    linear = nn.Linear(conv.nx, conv.nf)
    linear.load_state_dict({"weight": conv.weight.t(), "bias": conv.bias})
    return linear


def conv1d_new_parameters(conv):
    linear = nn.Linear(*conv.weight.shape)
    linear.weight = nn.Parameter(conv.weight.detach().transpose(0, 1).clone())
    linear.bias = nn.Parameter(conv.bias.detach().clone())
    return linear


def gelu_tanh_formula(x):
    return 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * torch.pow(x, 3))))


def gelu_tanh_sigmoid(x):
    """tanh(z) = 2 sigmoid(2z) - 1, so 0.5 (1 + tanh(z)) = sigmoid(2z)."""
    return x * torch.sigmoid(2 * math.sqrt(2 / math.pi) * (x + 0.044715 * x * x * x))


CORRECT = {
    check_conv1d_to_linear: [linear_from_conv1d, conv1d_copy_into, conv1d_load_state_dict, conv1d_new_parameters],
    check_gelu_tanh: [
        tl.layers.ACTIVATIONS["gelu_tanh"],
        gelu_tanh_formula,
        gelu_tanh_sigmoid,
        nn.GELU(approximate="tanh"),
    ],
}

MISTAKES = {
    check_conv1d_to_linear: hugging_face.CONV1D_MISTAKES,
    check_gelu_tanh: hugging_face.GELU_TANH_MISTAKES,
}


def test_the_reference_is_an_independent_copy():
    conv = Conv1D(4, 3)  # weight (3, 4)
    linear = linear_from_conv1d(conv)
    assert linear.weight.shape == (4, 3) and linear.in_features == 3 and linear.out_features == 4
    assert linear.weight.data_ptr() != conv.weight.data_ptr() and linear.bias.data_ptr() != conv.bias.data_ptr()
    x = torch.randn(2, 5, 3)
    torch.testing.assert_close(linear(x), conv(x))


def test_the_reference_leaves_the_random_state_alone():
    conv = Conv1D(8, 8)
    state = torch.random.get_rng_state()
    linear_from_conv1d(conv)
    assert torch.equal(state, torch.random.get_rng_state())


def test_a_missing_transpose_is_named_on_the_square_layer():
    def no_transpose(conv):
        linear = nn.Linear(*conv.weight.shape)
        with torch.no_grad():
            linear.weight.copy_(conv.weight)
            linear.bias.copy_(conv.bias)
        return linear

    with pytest.raises(AssertionError, match=re.escape(hugging_face.CONV1D_MISTAKES[0].hint)):
        check_conv1d_to_linear(no_transpose)  # on the non-square cases copy_ fails; the square case comes first


@pytest.mark.parametrize(
    "returned, words",
    [(lambda conv: conv, "returned the Conv1D itself"), (lambda conv: conv.weight.T, "it should return an nn.Linear")],
    ids=["the-conv1d", "a-tensor"],
)
def test_returning_something_else_than_a_linear(returned, words):
    with pytest.raises(AssertionError, match=re.escape(words)):
        check_conv1d_to_linear(returned)


def test_the_checkers_want_functions():
    for check in CORRECT:
        with pytest.raises(AssertionError, match="pass your function itself"):
            check(nn.Linear)


def test_the_checkers_leave_the_random_state_alone():
    state = torch.random.get_rng_state()
    check_conv1d_to_linear(conv1d_copy_into)  # builds an nn.Linear, which draws its random initial weights
    check_gelu_tanh(gelu_tanh_formula)
    with pytest.raises(AssertionError):
        check_conv1d_to_linear(hugging_face.CONV1D_MISTAKES[0].impl)
    assert torch.equal(state, torch.random.get_rng_state())
