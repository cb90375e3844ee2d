"""Chapter 10: sampling filters, greedy decoding and beam search.

Greedy decoding and beam search are checked on a scripted "model" whose next-token probabilities are a
table we wrote, so the right answer is known exactly. Bad sampling arguments are in test_errors.py.
"""

from types import SimpleNamespace

import pytest
import torch

import transformer_lab as tl

PAD, BOS, EOS, A, B = 0, 1, 2, 3, 4
V = 5


class ScriptedModel:
    """Has what greedy_decode/beam_search need (config, encode, decode); the probabilities come from `table`.

    table[(source token, prefix)] is a dict {token: probability} for the next token; a prefix not in the
    table gets `default`.
    """

    def __init__(self, table, default):
        self.config = SimpleNamespace(pad_id=PAD, bos_id=BOS, eos_id=EOS)
        self.table, self.default = table, default

    def encode(self, src):
        return src[..., None].float()  # (B, T_src, 1): the "memory" is just the source

    def decode(self, tgt, memory, src):
        logits = torch.full((tgt.shape[0], tgt.shape[1], V), -1e9)
        for row in range(tgt.shape[0]):
            key = (src[row, 0].item(), tuple(tgt[row].tolist()))
            for token, p in self.table.get(key, self.default).items():
                logits[row, -1, token] = torch.tensor(p).log()
        return logits  # (B, T_tgt, V); only the last position is read


# Source 5: greedy takes A (0.6) then eos (0.4): probability 0.24. B then eos has 0.4 * 0.9 = 0.36.
# Source 6: A, A, A, then eos: rows of a batch finish at different steps.
TABLE = {
    (5, (BOS,)): {A: 0.6, B: 0.4},
    (5, (BOS, A)): {EOS: 0.4, A: 0.3, B: 0.3},
    (5, (BOS, B)): {EOS: 0.9, A: 0.1},
    (6, (BOS,)): {A: 0.9, EOS: 0.1},
    (6, (BOS, A)): {A: 0.9, EOS: 0.1},
    (6, (BOS, A, A)): {A: 0.9, EOS: 0.1},
}
DEFAULT = {EOS: 0.7, A: 0.3}


def test_greedy_decode_pads_each_row_after_its_eos_and_stops_when_all_are_done():
    model = ScriptedModel(TABLE, DEFAULT)
    out = tl.greedy_decode(model, torch.tensor([[5], [6]]), max_len=10)
    assert out.tolist() == [
        [BOS, A, EOS, PAD, PAD],
        [BOS, A, A, A, EOS],  # (6, (bos, A, A, A)) is not in the table: DEFAULT makes eos most likely
    ]


def test_greedy_decode_stops_at_max_len_without_eos():
    model = ScriptedModel({}, {A: 0.8, EOS: 0.2})
    out = tl.greedy_decode(model, torch.tensor([[5]]), max_len=4)
    assert out.tolist() == [[BOS, A, A, A, A]]


def test_beam_search_finds_the_more_likely_sequence_that_greedy_misses():
    model = ScriptedModel(TABLE, DEFAULT)
    src = torch.tensor([[5]])
    assert tl.greedy_decode(model, src, max_len=5).tolist() == [[BOS, A, EOS]]  # probability 0.24
    assert tl.beam_search(model, src, beam_size=2, max_len=5).tolist() == [[BOS, B, EOS]]  # 0.36
    assert tl.beam_search(model, src, beam_size=1, max_len=5).tolist() == [[BOS, A, EOS]]


def test_beam_search_pads_shorter_results():
    model = ScriptedModel(TABLE, DEFAULT)
    out = tl.beam_search(model, torch.tensor([[5], [6]]), beam_size=2, max_len=6)
    assert out.tolist() == [
        [BOS, B, EOS, PAD, PAD],
        [BOS, A, A, A, EOS],  # 0.9^3 * 0.7 = 0.51 beats stopping early (0.1, 0.09, 0.081)
    ]


def test_top_k_keeps_the_k_largest():
    logits = torch.tensor([[1.0, 5.0, 3.0, 4.0, 2.0], [0.0, -1.0, 2.0, 1.0, 3.0]])
    out = tl.top_k_filter(logits, 2)
    assert out.isfinite().tolist() == [[False, True, False, True, False], [False, False, True, False, True]]
    assert torch.equal(out[out.isfinite()], torch.tensor([5.0, 4.0, 2.0, 3.0]))  # kept logits unchanged
    assert torch.equal(tl.top_k_filter(logits, 99), logits)  # k larger than the vocabulary keeps all


def test_top_p_keeps_the_smallest_set_reaching_p():
    logits = torch.tensor([[0.5, 0.3, 0.15, 0.05]]).log()

    def kept(p, x=logits):
        return tl.top_p_filter(x, p).isfinite()[0].tolist()

    assert kept(0.5) == [True, False, False, False]  # 0.5 alone reaches 0.5
    assert kept(0.6) == [True, True, False, False]
    assert kept(0.81) == [True, True, True, False]
    assert kept(0.01) == [True, False, False, False]  # the most likely token always stays
    assert kept(1.0) == [True, True, True, True]
    assert kept(0.6, logits[:, [2, 0, 3, 1]]) == [False, True, False, True]  # vocabulary order is irrelevant


def test_greedy_next_token_is_the_argmax():
    logits = torch.tensor([[0.1, 2.0, 0.3], [5.0, 1.0, 4.9]])
    assert tl.sample_next_token(logits).tolist() == [[1], [0]]


def test_sampling_follows_the_filtered_distribution():
    logits = torch.tensor([[0.6, 0.3, 0.1]]).log().expand(4000, 3)
    ids = tl.sample_next_token(logits, do_sample=True, top_k=2, generator=torch.Generator().manual_seed(0))
    assert ids.shape == (4000, 1)
    freq = torch.bincount(ids.flatten(), minlength=3).float() / 4000
    assert freq[2] == 0  # filtered out
    # 0.6 / 0.9 = 2/3 after renormalising; the standard error with 4000 draws is 0.0075.
    assert freq[0].item() == pytest.approx(2 / 3, abs=0.03)


def test_temperature_sharpens_or_flattens():
    logits = torch.tensor([[1.0, 0.0]]).expand(4000, 2)

    def share_of_first(temperature):
        g = torch.Generator().manual_seed(0)
        ids = tl.sample_next_token(logits, do_sample=True, temperature=temperature, generator=g)
        return (ids == 0).float().mean().item()

    # p(first) = sigmoid(1 / T): 0.993 at T=0.2, 0.731 at T=1, 0.562 at T=4
    assert share_of_first(0.2) == pytest.approx(0.993, abs=0.01)
    assert share_of_first(1.0) == pytest.approx(0.731, abs=0.03)
    assert share_of_first(4.0) == pytest.approx(0.562, abs=0.03)


def test_seeded_sampling_repeats():
    logits = torch.randn(8, 20)

    def draw():
        return tl.sample_next_token(logits, do_sample=True, top_p=0.9, generator=torch.Generator().manual_seed(3))

    assert torch.equal(draw(), draw())


def test_sample_decode_draws_from_the_table_and_stops_at_eos():
    # Source 5 starts with A (0.6) or B (0.4): over many seeded draws both appear in about that ratio.
    model = ScriptedModel(TABLE, DEFAULT)
    src = torch.tensor([[5]] * 2000)
    out = tl.sample_decode(model, src, max_len=10, generator=torch.Generator().manual_seed(0))
    first = out[:, 1]
    assert set(first.tolist()) == {A, B}
    assert abs((first == A).float().mean().item() - 0.6) < 0.04
    after_b = out[first == B, 2]  # after B: eos with 0.9, A with 0.1
    assert abs((after_b == EOS).float().mean().item() - 0.9) < 0.04
    for row in out.tolist():  # every row ends in eos, then only padding
        assert EOS in row and all(t == PAD for t in row[row.index(EOS) + 1 :])


def test_sample_decode_with_top_k_1_is_greedy_and_seeded_draws_repeat():
    model = ScriptedModel(TABLE, DEFAULT)
    src = torch.tensor([[5], [6]])
    assert torch.equal(tl.sample_decode(model, src, max_len=10, top_k=1), tl.greedy_decode(model, src, max_len=10))
    big = torch.tensor([[5]] * 50)
    runs = [
        tl.sample_decode(
            model, big, max_len=10, temperature=1.5, top_p=0.95, generator=torch.Generator().manual_seed(3)
        )
        for _ in range(2)
    ]
    assert torch.equal(*runs)


def test_sample_decode_rejects_bad_arguments():
    model = ScriptedModel(TABLE, DEFAULT)
    with pytest.raises(ValueError, match="temperature"):
        tl.sample_decode(model, torch.tensor([[5]]), max_len=3, temperature=0.0)
    with pytest.raises(ValueError, match="max_len"):
        tl.greedy_decode(model, torch.tensor([[5]]), max_len=-1)


@pytest.mark.parametrize(
    "beam_size, length_penalty, max_len", [(1, 0.0, 8), (3, 0.0, 8), (4, 0.7, 8), (12, 0.0, 8), (3, 1.0, 2)]
)
def test_batched_beam_search_returns_what_a_search_one_sentence_at_a_time_returns(beam_size, length_penalty, max_len):
    from transformer_lab.checks.generation import (  # the checker's reference search
        beam_one_at_a_time,
        small_transformer,
    )

    model, eos_id = small_transformer(), 2
    with torch.no_grad():
        model.lm_head.bias[eos_id] -= 1.0  # eos less likely: hypotheses end at different steps, or never
    g = torch.Generator().manual_seed(0)
    src = torch.randint(3, 11, (40, 6), generator=g)  # (40, 6)
    lengths = torch.randint(1, 7, (40,), generator=g)
    src = src.masked_fill(torch.arange(6) >= lengths[:, None], 0)  # padded sources of lengths 1..6
    batched = tl.beam_search(model, src, beam_size, max_len, length_penalty)
    one_at_a_time = beam_one_at_a_time(model, src, beam_size, max_len, length_penalty)
    assert torch.equal(batched, one_at_a_time)
    eos = batched == eos_id
    ended_at = torch.where(eos.any(dim=1), eos.float().argmax(dim=1), -1)  # -1: nothing finished in max_len
    assert beam_size == 1 or len(set(ended_at.tolist())) > 1  # the batch mixes rows that end at different steps
