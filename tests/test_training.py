"""Training helpers: the loss, the learning-rate schedules, the loop, seeding and checkpoints."""

import pytest
import torch
import torch.nn.functional as F

import transformer_lab as tl

from conftest import assert_close_f32


@pytest.mark.parametrize("smoothing", [0.0, 0.1, 0.3])
def test_label_smoothing_matches_torch(smoothing):
    logits, target = torch.randn(4, 6, 9) * 3, torch.randint(0, 9, (4, 6))
    expected = F.cross_entropy(logits.reshape(-1, 9), target.reshape(-1), label_smoothing=smoothing)
    assert_close_f32(tl.label_smoothed_cross_entropy(logits, target, smoothing=smoothing), expected)


def test_label_smoothing_ignores_padding_like_torch():
    logits, target = torch.randn(4, 6, 9) * 3, torch.randint(1, 9, (4, 6))
    target[0, 3:] = 0
    target[2, 1:] = 0
    expected = F.cross_entropy(logits.reshape(-1, 9), target.reshape(-1), label_smoothing=0.1, ignore_index=0)
    assert_close_f32(tl.label_smoothed_cross_entropy(logits, target, 0.1, ignore_index=0), expected)
    # The padded positions really are ignored: changing their logits changes nothing.
    logits2 = logits.clone()
    logits2[0, 3:] = torch.randn(3, 9) * 10
    assert_close_f32(tl.label_smoothed_cross_entropy(logits2, target, 0.1, ignore_index=0), expected)


def test_noam_schedule():
    d, warmup = 64, 100
    assert tl.noam_lr(1, d, warmup) == pytest.approx(d**-0.5 * warmup**-1.5)  # steps count from 1
    assert tl.noam_lr(50, d, warmup) == pytest.approx(d**-0.5 * 50 * warmup**-1.5)  # linear warmup
    assert tl.noam_lr(400, d, warmup) == pytest.approx(d**-0.5 * 400**-0.5)  # then 1 / sqrt(step)
    lrs = [tl.noam_lr(s, d, warmup) for s in range(1, 1000)]
    assert max(lrs) == pytest.approx(d**-0.5 * warmup**-0.5)
    assert lrs.index(max(lrs)) + 1 == warmup  # the peak is at step = warmup


def test_warmup_cosine_schedule():
    cos = [tl.warmup_cosine(s, 10, 110) for s in range(130)]
    assert all(0.0 <= c <= 1.0 for c in cos)
    assert cos[0] == pytest.approx(0.1) and cos[9] == pytest.approx(1.0)  # linear warmup to 1
    assert all(a < b for a, b in zip(cos[:9], cos[1:10]))
    assert all(a >= b for a, b in zip(cos[9:], cos[10:]))  # then never rises again
    assert cos[60] == pytest.approx(0.5)  # half way down the cosine
    assert cos[110] == pytest.approx(0.0) and cos[129] == pytest.approx(0.0)
    with_floor = [tl.warmup_cosine(s, 10, 110, min_ratio=0.1) for s in range(130)]
    assert min(with_floor) == pytest.approx(0.1) and with_floor[60] == pytest.approx(0.55)


def _setup(seed=0):
    """A tiny GPT and a counting task it can learn in a few dozen steps."""
    tl.set_seed(seed)
    model = tl.GPT(tl.GPTConfig(vocab_size=12, block_size=8, n_layers=1, n_heads=2, d_model=16))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    start = torch.randint(0, 12, (64, 1), generator=torch.Generator().manual_seed(1))
    data = (start + torch.arange(9)) % 12  # (64, 9) rows like 5 6 7 8 ...

    def get_batch(step):
        rows = data[step % 8 * 8 : step % 8 * 8 + 8]
        return rows[:, :-1], rows[:, 1:]

    return model, opt, get_batch


def test_train_lowers_the_loss_and_records_history():
    model, opt, get_batch = _setup()
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: tl.warmup_cosine(s, 5, 60))
    hist = tl.train(model, opt, get_batch, tl.cross_entropy_loss, steps=60, scheduler=sched, progress=False)
    assert len(hist.losses) == len(hist.lrs) == 60
    assert hist.lrs[0] == pytest.approx(1e-2 / 5)  # the lr used at each step, warmup included
    assert hist.lrs[4] == pytest.approx(1e-2)
    assert sum(hist.losses[-8:]) / 8 < sum(hist.losses[:8]) / 8 - 1.0
    assert not model.training  # train() leaves the model in eval mode
    assert tl.evaluate(model, [get_batch(0)], tl.cross_entropy_loss) == pytest.approx(
        tl.cross_entropy_loss(model, get_batch(0)).item()
    )


def test_evaluate_is_the_mean_over_every_target_however_the_batches_are_cut():
    model, _, get_batch = _setup()
    inputs, targets = (torch.cat(parts) for parts in zip(*(get_batch(step) for step in range(3))))  # (24, T) each
    whole = tl.evaluate(model, [(inputs, targets)], tl.cross_entropy_loss)
    uneven = [(inputs[:16], targets[:16]), (inputs[16:], targets[16:])]  # 16 rows, then 8
    assert tl.evaluate(model, uneven, tl.cross_entropy_loss) == pytest.approx(whole, rel=1e-6)
    batch_means = [tl.cross_entropy_loss(model, b).item() for b in uneven]
    assert abs(sum(batch_means) / 2 - whole) > 1e-4  # the plain mean of batch means would differ
    with pytest.raises(ValueError, match="no batches"):
        tl.evaluate(model, [], tl.cross_entropy_loss)


def test_set_seed_repeats_a_run():
    runs = []
    for _ in range(2):
        model, opt, get_batch = _setup(seed=3)
        runs.append(tl.train(model, opt, get_batch, tl.cross_entropy_loss, steps=5, progress=False).losses)
    assert runs[0] == runs[1]


def _assert_same_state(a, b, path="state"):
    """Recursively compare (optimizer) state dicts: tensors bit for bit, everything else with ==."""
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and torch.equal(a, b), path
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for key in a:
            _assert_same_state(a[key], b[key], f"{path}[{key!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            _assert_same_state(x, y, f"{path}[{i}]")
    else:
        assert a == b, path


def test_checkpoint_round_trip(tmp_path):
    model, opt, get_batch = _setup()
    tl.train(model, opt, get_batch, tl.cross_entropy_loss, steps=5, progress=False)
    tl.save_checkpoint(tmp_path / "ckpt.pt", model, opt, step=5, note="hi")

    model2, opt2, _ = _setup(seed=9)  # different weights before loading
    extra = tl.load_checkpoint(tmp_path / "ckpt.pt", model2, opt2)
    assert extra == {"step": 5, "note": "hi"}
    _assert_same_state(model2.state_dict(), model.state_dict(), "model")
    _assert_same_state(opt2.state_dict(), opt.state_dict(), "optimizer")  # Adam moments and step counts

    # Continuing from the checkpoint gives exactly the same steps as continuing the original.
    def later_batch(s):
        return get_batch(s + 5)

    h1 = tl.train(model, opt, later_batch, tl.cross_entropy_loss, steps=3, progress=False)
    h2 = tl.train(model2, opt2, later_batch, tl.cross_entropy_loss, steps=3, progress=False)
    assert h1.losses == h2.losses
    _assert_same_state(model2.state_dict(), model.state_dict(), "model after 3 more steps")


def test_checkpoint_without_optimizer(tmp_path):
    model, _, _ = _setup()
    tl.save_checkpoint(tmp_path / "weights.pt", model)
    model2, _, _ = _setup(seed=9)
    assert tl.load_checkpoint(tmp_path / "weights.pt", model2) == {}
    _assert_same_state(model2.state_dict(), model.state_dict(), "model")


def test_count_parameters_counts_tied_weights_once():
    model = tl.GPT(tl.GPTConfig(vocab_size=12, block_size=8, n_layers=1, n_heads=2, d_model=16))
    assert tl.count_parameters(model) == sum(p.numel() for p in set(model.parameters()))
    assert tl.count_parameters(model) < sum(p.numel() for p in model.state_dict().values())


def test_train_records_evaluations_in_eval_mode_without_gradients():
    model, opt, get_batch = _setup()
    seen = []

    def eval_fn(m):
        seen.append((m.training, torch.is_grad_enabled()))
        return tl.cross_entropy_loss(m, get_batch(0)).item()

    hist = tl.train(
        model, opt, get_batch, tl.cross_entropy_loss, steps=25, progress=False, eval_fn=eval_fn, eval_every=10
    )
    assert hist.eval_steps == [10, 20, 25]  # every 10 steps, and after the last
    assert seen == [(False, False)] * 3
    assert hist.eval_values[-1] == pytest.approx(tl.cross_entropy_loss(model, get_batch(0)).item())
    assert hist.eval_values[-1] < hist.eval_values[0]
    with pytest.raises(ValueError, match="eval_every"):
        tl.train(model, opt, get_batch, tl.cross_entropy_loss, steps=2, progress=False, eval_fn=eval_fn, eval_every=0)
    with pytest.raises(ValueError, match="steps"):
        tl.train(model, opt, get_batch, tl.cross_entropy_loss, steps=0, progress=False)


def test_get_device_is_the_cpu_without_a_gpu_and_refuses_a_non_bool(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert tl.get_device() == torch.device("cpu")  # MPS only when asked for
    assert tl.get_device(allow_mps=True) == torch.device("mps")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert tl.get_device(allow_mps=True) == torch.device("cuda")
    with pytest.raises(TypeError, match="allow_mps"):
        tl.get_device(allow_mps="yes")


def test_to_device_moves_tensors_inside_tuples_lists_and_dicts():
    meta = torch.device("meta")
    batch = (torch.zeros(2), [torch.ones(3), "label"], {"mask": torch.ones(1, dtype=torch.bool)})
    moved = tl.to_device(batch, meta)
    assert isinstance(moved, tuple) and isinstance(moved[1], list) and moved[1][1] == "label"
    assert moved[0].device == meta and moved[1][0].device == meta and moved[2]["mask"].device == meta
    assert tl.model_device(torch.nn.Linear(2, 2).to(meta)) == meta
    assert tl.model_device(torch.nn.ReLU()) == torch.device("cpu")


def test_train_moves_each_batch_to_the_models_device():
    model = torch.nn.Linear(2, 1).to(torch.device("meta"))
    seen = []

    def loss_fn(model, batch):
        seen.append(batch[0].device)
        raise StopIteration  # the meta device cannot step an optimiser: one batch is enough to see where it went

    with pytest.raises(StopIteration):
        tl.train(
            model,
            torch.optim.SGD([torch.zeros(1)], lr=0.1),
            lambda step: (torch.zeros(4, 2),),
            loss_fn,
            steps=1,
            progress=False,
        )
    assert seen == [torch.device("meta")]


def test_random_windows_cut_inputs_and_targets_one_token_apart_and_follow_the_generator():
    data = torch.arange(100)
    get_batch = tl.random_windows(data, block_size=8, batch_size=5, generator=torch.Generator().manual_seed(0))
    x, y = get_batch(0)
    assert x.shape == y.shape == (5, 8)
    assert torch.equal(y, x + 1) and torch.equal(x[:, 1:], x[:, :-1] + 1)  # consecutive tokens, targets one on
    assert int(x.max()) <= 98 and int(y.max()) <= 99
    again = tl.random_windows(data, block_size=8, batch_size=5, generator=torch.Generator().manual_seed(0))
    assert torch.equal(again(0)[0], x)  # the same generator seed, the same windows
    assert not torch.equal(get_batch(1)[0], x)  # each call draws new ones


def test_fixed_windows_tile_the_stream_without_overlap():
    x, y = tl.fixed_windows(torch.arange(26), block_size=8)
    assert x.shape == y.shape == (3, 8)  # (26 - 1) // 8 windows
    assert torch.equal(x.flatten(), torch.arange(24)) and torch.equal(y, x + 1)


@pytest.mark.parametrize(
    "data, kwargs, words",
    [
        (torch.arange(6.0), {}, "data must be a 1-d tensor of token ids"),
        (torch.zeros(2, 50, dtype=torch.long), {}, "data must be a 1-d tensor of token ids"),
        (torch.arange(50), dict(block_size=0), "block_size must be a positive int"),
        (torch.arange(8), dict(block_size=8), "data holds 8 tokens"),
    ],
    ids=["floats", "2-d", "block-size", "too-short"],
)
def test_windows_refuse_bad_input(data, kwargs, words):
    arguments = dict(block_size=4) | kwargs
    with pytest.raises(ValueError, match=words):
        tl.fixed_windows(data, **arguments)
    with pytest.raises(ValueError, match=words):
        tl.random_windows(data, batch_size=2, generator=torch.Generator(), **arguments)


def test_random_windows_need_two_places_to_start_and_fixed_windows_one():
    assert tl.fixed_windows(torch.arange(9), block_size=8)[0].shape == (1, 8)
    with pytest.raises(ValueError, match="it needs at least block_size \\+ 2 = 10"):
        tl.random_windows(torch.arange(9), block_size=8, batch_size=1, generator=torch.Generator())
