import pytest
import torch
import torch.nn.functional as F
from torch import nn

import transformer_lab as tl
from conftest import perturb_


def test_layer_norm_matches_torch_and_loads_its_state_dict():
    ref = perturb_(nn.LayerNorm(10, eps=1e-5))
    ours = tl.LayerNorm(10)
    ours.load_state_dict(ref.state_dict())
    x = torch.randn(3, 4, 10) * 5 + 2
    torch.testing.assert_close(ours(x), ref(x))
    tiny = torch.randn(2, 10) * 1e-3  # variance near eps: eps placement and biased variance matter here
    torch.testing.assert_close(ours(tiny), ref(tiny), atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("activation,fn", [("relu", F.relu), ("gelu", F.gelu), ("gelu_tanh", lambda x: F.gelu(x, approximate="tanh"))])
def test_feed_forward(activation, fn):
    ff = tl.FeedForward(6, 24, activation=activation)
    x = torch.randn(2, 3, 6)
    torch.testing.assert_close(ff(x), ff.linear2(fn(ff.linear1(x))))
    assert ff.linear1.out_features == 24 and ff.linear2.out_features == 6


def test_unknown_activation():
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        tl.FeedForward(4, 8, activation="swish")
