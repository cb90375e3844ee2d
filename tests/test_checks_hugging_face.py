"""The chapter 14 checkers (Hugging Face's Conv1D and GPT-2's GELU): correct code passes, known mistakes are named."""

import math
import re

import pytest
import torch
from torch import nn
from transformers.pytorch_utils import Conv1D

import transformer_lab as tl
from transformer_lab.checks import check_conv1d_to_linear, check_gelu_tanh, check_last_token_states, hugging_face
from transformer_lab.hugging_face import last_token_states, linear_from_conv1d


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


def last_token_like_hugging_face(hidden, attention_mask):
    """GPT2ForSequenceClassification's way: the argmax of position times mask is the rightmost real position."""
    last = (torch.arange(hidden.shape[1]) * attention_mask).argmax(-1)  # (B,)
    return hidden[torch.arange(hidden.shape[0]), last]


def last_token_by_cumsum(hidden, attention_mask):
    """The first position where the running count of real tokens reaches its total."""
    counts = attention_mask.cumsum(1)  # (B, T)
    return hidden[torch.arange(hidden.shape[0]), counts.argmax(1)]


def last_token_loop(hidden, attention_mask):
    rows = []
    for h, m in zip(hidden, attention_mask):
        rows.append(h[m.nonzero()[-1, 0]])
    return torch.stack(rows)


CORRECT = {
    check_conv1d_to_linear: [linear_from_conv1d, conv1d_copy_into, conv1d_load_state_dict, conv1d_new_parameters],
    check_gelu_tanh: [
        tl.layers.ACTIVATIONS["gelu_tanh"],
        gelu_tanh_formula,
        gelu_tanh_sigmoid,
        nn.GELU(approximate="tanh"),
    ],
    check_last_token_states: [last_token_states, last_token_like_hugging_face, last_token_by_cumsum, last_token_loop],
}

MISTAKES = {
    check_conv1d_to_linear: hugging_face.CONV1D_MISTAKES,
    check_gelu_tanh: hugging_face.GELU_TANH_MISTAKES,
    check_last_token_states: hugging_face.LAST_TOKEN_MISTAKES,
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


def test_last_token_states_is_what_gpt2_classifies():
    """GPT2ForSequenceClassification's logits are its score layer on last_token_states of its final hidden states."""
    from transformers import GPT2Config, GPT2ForSequenceClassification

    torch.manual_seed(0)
    model = GPT2ForSequenceClassification(
        GPT2Config(vocab_size=50, n_positions=16, n_embd=32, n_layer=2, n_head=4, num_labels=3, pad_token_id=0)
    ).eval()
    ids = torch.randint(1, 50, (3, 9))
    ids[1, 6:] = 0  # right padding
    ids[2, 2:] = 0
    mask = (ids != 0).long()
    with torch.no_grad():
        out = model(ids, attention_mask=mask, output_hidden_states=True)
        ours = model.score(last_token_states(out.hidden_states[-1], mask))  # (3, 3)
    torch.testing.assert_close(ours, out.logits)


@pytest.mark.parametrize(
    "hidden, mask, words",
    [
        (torch.zeros(2, 3), torch.ones(2, 3), "hidden must be a (B, T, D) tensor"),
        (torch.zeros(2, 3, 4), torch.ones(2, 4), "attention_mask must be (B, T) = (2, 3)"),
        (torch.zeros(2, 3, 4), [[1, 1, 1], [1, 0, 0]], "got list"),
        (torch.zeros(2, 3, 4), torch.tensor([[1, 1, 1], [0, 0, 0]]), "at least one real token"),
    ],
    ids=["hidden-2d", "mask-shape", "mask-list", "empty-row"],
)
def test_last_token_states_refuses_bad_input(hidden, mask, words):
    with pytest.raises(ValueError, match=re.escape(words)):
        last_token_states(hidden, mask)
