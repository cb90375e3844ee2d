import pytest
import torch

import transformer_lab as tl


def test_top_k_keeps_the_k_largest():
    logits = torch.tensor([[1.0, 5.0, 3.0, 4.0, 2.0]])
    out = tl.top_k_filter(logits, 2)
    assert torch.equal(out.isfinite(), torch.tensor([[False, True, False, True, False]]))
    assert torch.equal(out[out.isfinite()], torch.tensor([5.0, 4.0]))


def test_top_p_keeps_the_smallest_set_reaching_p():
    probs = torch.tensor([[0.5, 0.3, 0.15, 0.05]])
    logits = probs.log()
    keep = lambda p: tl.top_p_filter(logits, p).isfinite()[0].tolist()  # noqa: E731
    assert keep(0.5) == [True, False, False, False]  # 0.5 alone reaches 0.5
    assert keep(0.6) == [True, True, False, False]
    assert keep(0.8) == [True, True, False, False]  # 0.5 + 0.3 reaches 0.8
    assert keep(0.81) == [True, True, True, False]
    assert keep(0.01) == [True, False, False, False]  # the most likely token always stays
    assert keep(1.0) == [True, True, True, True]
    shuffled = logits[:, [2, 0, 3, 1]]  # order in the vocabulary does not matter
    assert tl.top_p_filter(shuffled, 0.6).isfinite()[0].tolist() == [False, True, False, True]


def test_sampling_follows_the_filtered_distribution():
    logits = torch.log(torch.tensor([[0.6, 0.3, 0.1]])).expand(4000, 3)
    g = torch.Generator().manual_seed(0)
    ids = tl.sample_next_token(logits, do_sample=True, top_k=2, generator=g)
    freq = torch.bincount(ids.flatten(), minlength=3).float() / 4000
    assert freq[2] == 0
    assert freq[0].item() == pytest.approx(2 / 3, abs=0.03)
    greedy = tl.sample_next_token(logits[:2])
    assert greedy.tolist() == [[0], [0]]


def test_low_temperature_approaches_greedy():
    logits = torch.tensor([[2.0, 1.5, 0.0]]).expand(500, 3)
    g = torch.Generator().manual_seed(0)
    ids = tl.sample_next_token(logits, do_sample=True, temperature=0.05, generator=g)
    assert (ids == 0).all()
