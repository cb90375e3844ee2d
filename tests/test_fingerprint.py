"""benchmarks/fingerprint.py: its digests are a function of the arithmetic alone, so two machines' files can be diffed."""

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import fingerprint  # noqa: E402


def test_a_model_trace_repeats_exactly_and_records_every_operator():
    first = fingerprint.model_lines("GPT", fingerprint._gpt)
    second = fingerprint.model_lines("GPT", fingerprint._gpt)
    assert first == second
    assert first[0].startswith("[GPT] weights after 3 steps: ")
    ops = [line.split()[2] for line in first[1:]]
    assert "aten.addmm.default" in ops and "aten.gelu_backward.default" in ops  # forward and backward are traced
    assert [int(line.split()[1]) for line in first[1:]] == list(range(len(first) - 1))


def test_a_digest_changes_with_the_last_bit():
    x = torch.ones(4)
    y = x.clone()
    y[2] = torch.nextafter(y[2], torch.tensor(2.0))
    assert fingerprint.digest(x) == fingerprint.digest(x.clone())
    assert fingerprint.digest(x) != fingerprint.digest(y)
