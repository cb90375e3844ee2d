import math

import pytest
import torch
import torch.nn.functional as F

import transformer_lab as tl


def test_label_smoothing_matches_torch():
    logits, target = torch.randn(4, 6, 9), torch.randint(0, 9, (4, 6))
    for eps in (0.0, 0.1, 0.3):
        expected = F.cross_entropy(logits.reshape(-1, 9), target.reshape(-1), label_smoothing=eps)
        torch.testing.assert_close(tl.label_smoothed_cross_entropy(logits, target, smoothing=eps), expected)
    target[0, 3:] = 0
    expected = F.cross_entropy(logits.reshape(-1, 9), target.reshape(-1), label_smoothing=0.1, ignore_index=0)
    torch.testing.assert_close(tl.label_smoothed_cross_entropy(logits, target, 0.1, ignore_index=0), expected)
    with pytest.raises(ValueError, match="smoothing"):
        tl.label_smoothed_cross_entropy(logits, target, smoothing=1.0)


def test_schedules():
    d, warmup = 64, 100
    lrs = [tl.noam_lr(s, d, warmup) for s in range(1, 1000)]
    assert max(lrs) == pytest.approx(d**-0.5 * warmup**-0.5)
    assert lrs.index(max(lrs)) == warmup - 1  # the peak is at step = warmup
    assert lrs[399] == pytest.approx(d**-0.5 * 400**-0.5)
    cos = [tl.warmup_cosine(s, 10, 110, min_ratio=0.1) for s in range(120)]
    assert cos[0] == pytest.approx(0.1) and cos[9] == pytest.approx(1.0)
    assert cos[60] == pytest.approx(0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * 0.5)))
    assert cos[110] == pytest.approx(0.1) and cos[119] == pytest.approx(0.1)
    assert all(a >= b for a, b in zip(cos[9:], cos[10:]))


def _setup(seed=0):
    tl.set_seed(seed)
    model = tl.GPT(tl.GPTConfig(vocab_size=12, block_size=8, n_layer=1, n_head=2, d_model=16))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    start = torch.randint(0, 12, (64, 1), generator=torch.Generator().manual_seed(1))
    data = (start + torch.arange(9)) % 12  # counting sequences: learnable in a few dozen steps
    get_batch = lambda step: (data[step % 8 * 8 : step % 8 * 8 + 8, :-1], data[step % 8 * 8 : step % 8 * 8 + 8, 1:])  # noqa: E731
    return model, opt, get_batch


def test_train_lowers_the_loss_and_records_history():
    model, opt, get_batch = _setup()
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: tl.warmup_cosine(s, 5, 60))
    hist = tl.train(model, opt, get_batch, tl.cross_entropy_loss, steps=60, scheduler=sched, progress=False)
    assert len(hist.losses) == len(hist.lrs) == 60
    assert hist.lrs[0] == pytest.approx(1e-2 / 5)
    assert sum(hist.losses[-8:]) / 8 < sum(hist.losses[:8]) / 8 - 1.0
    assert not model.training
    before = tl.evaluate(model, [get_batch(0)], tl.cross_entropy_loss)
    assert before == pytest.approx(tl.cross_entropy_loss(model, get_batch(0)).item())


def test_set_seed_repeats_a_run():
    runs = []
    for _ in range(2):
        model, opt, get_batch = _setup(seed=3)
        runs.append(tl.train(model, opt, get_batch, tl.cross_entropy_loss, steps=5, progress=False).losses)
    assert runs[0] == runs[1]


def test_checkpoint_round_trip(tmp_path):
    model, opt, get_batch = _setup()
    tl.train(model, opt, get_batch, tl.cross_entropy_loss, steps=5, progress=False)
    tl.save_checkpoint(tmp_path / "ckpt.pt", model, opt, step=5, note="hi")
    model2, opt2, _ = _setup(seed=9)
    extra = tl.load_checkpoint(tmp_path / "ckpt.pt", model2, opt2)
    assert extra == {"step": 5, "note": "hi"}
    for (n, a), b in zip(model.state_dict().items(), model2.state_dict().values()):
        assert torch.equal(a, b), n
    # Continuing from the checkpoint gives exactly the same next steps as continuing the original.
    h1 = tl.train(model, opt, lambda s: get_batch(s + 5), tl.cross_entropy_loss, steps=3, progress=False)
    h2 = tl.train(model2, opt2, lambda s: get_batch(s + 5), tl.cross_entropy_loss, steps=3, progress=False)
    assert h1.losses == h2.losses
    with pytest.raises(ValueError, match="no optimizer state"):
        tl.save_checkpoint(tmp_path / "weights.pt", model)
        tl.load_checkpoint(tmp_path / "weights.pt", model, opt)
