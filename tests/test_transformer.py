import pytest
import torch

import transformer_lab as tl
from conftest import perturb_


def small(**kw):
    cfg = tl.TransformerConfig(src_vocab_size=13, tgt_vocab_size=11, d_model=16, n_heads=4, n_layers=2, d_ff=32,
                               dropout=0.0, max_len=12, **kw)  # fmt: skip
    return tl.Transformer(cfg).eval()


def test_shapes_and_embedding_scale():
    model = small()
    src, tgt = torch.randint(3, 13, (2, 7)), torch.randint(3, 11, (2, 5))
    assert model(src, tgt).shape == (2, 5, 11)
    assert model.encode(src).shape == (2, 7, 16)
    # Embeddings are initialised with std D^-1/2, so after the sqrt(D) scale they have unit variance.
    assert model.src_embed.weight.std().item() == pytest.approx(16**-0.5, rel=0.2)


def test_weight_tying():
    tied = small(tie_embeddings=True)
    assert tied.generator.weight is tied.tgt_embed.weight
    assert small().generator.weight is not small().tgt_embed.weight


def test_source_padding_does_not_change_the_output():
    model = perturb_(small(norm_first=True), scale=0.1)
    src, tgt = torch.randint(3, 13, (1, 5)), torch.randint(3, 11, (1, 4))
    padded = torch.cat([src, torch.zeros(1, 3, dtype=torch.long)], dim=1)
    torch.testing.assert_close(model(padded, tgt), model(src, tgt), atol=1e-5, rtol=1e-4)


def test_decoder_is_causal():
    model = perturb_(small(), scale=0.1)
    src, tgt = torch.randint(3, 13, (2, 6)), torch.randint(3, 11, (2, 6))
    tgt2 = tgt.clone()
    tgt2[:, 4] = (tgt[:, 4] - 3 + 1) % 8 + 3  # change a future token
    a, b = model(src, tgt), model(src, tgt2)
    assert torch.equal(a[:, :4], b[:, :4])
    assert not torch.allclose(a[:, 4:], b[:, 4:])


def test_gradients_reach_every_parameter():
    model = small(positional="learned").train()
    src, tgt = torch.randint(3, 13, (2, 6)), torch.randint(3, 11, (2, 5))
    logits = model(src, tgt)
    tl.label_smoothed_cross_entropy(logits, torch.randint(0, 11, (2, 5))).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_greedy_decode_is_the_argmax_path_and_beam_1_equals_greedy():
    model = perturb_(small(), scale=0.2)
    src = torch.randint(3, 13, (3, 6))
    greedy = model.greedy_decode(src, max_len=8)
    assert greedy.shape[0] == 3 and greedy.shape[1] <= 9 and (greedy[:, 0] == 1).all()
    for b in range(3):  # each chosen token is the argmax given the prefix
        row = greedy[b]
        for t in range(1, row.shape[0]):
            if row[t - 1] in (model.config.eos_id, model.config.pad_id) and t > 1:
                break
            logits = model(src[b : b + 1], row[None, :t])[0, -1]
            assert logits.argmax().item() == row[t].item()
    assert torch.equal(model.beam_search(src, beam_size=1, max_len=8), greedy)


def test_beam_search_finds_a_sequence_at_least_as_likely_as_greedy():
    model = perturb_(small(), scale=0.3)
    src = torch.randint(3, 13, (4, 6))

    def log_prob(seq, b):
        eos = (seq == 2).nonzero()
        end = eos[0].item() + 1 if len(eos) else len(seq)
        seq = seq[:end]
        logp = torch.log_softmax(model(src[b : b + 1], seq[None, :-1]), -1)[0]
        return logp.gather(-1, seq[1:, None]).sum().item(), bool(len(eos))

    greedy, beam = model.greedy_decode(src, 8), model.beam_search(src, beam_size=4, max_len=8)
    for b in range(4):
        g, g_done = log_prob(greedy[b], b)
        s, s_done = log_prob(beam[b], b)
        if g_done and s_done:
            assert s >= g - 1e-5


def test_bad_input():
    with pytest.raises(ValueError, match="does not divide"):
        tl.TransformerConfig(src_vocab_size=5, tgt_vocab_size=5, d_model=10, n_heads=4)
    model = small()
    with pytest.raises(ValueError, match="longer than max_len=12"):
        model(torch.randint(3, 13, (1, 13)), torch.randint(3, 11, (1, 3)))
    with pytest.raises(ValueError, match=r"outside the vocabulary \[0, 13\)"):
        model(torch.tensor([[3, 13]]), torch.tensor([[1, 4]]))
    with pytest.raises(TypeError, match="integer dtype"):
        model(torch.tensor([[3.0, 4.0]]), torch.tensor([[1, 4]]))
    with pytest.raises(ValueError, match="beam_size"):
        model.beam_search(torch.tensor([[3, 4]]), beam_size=0)
