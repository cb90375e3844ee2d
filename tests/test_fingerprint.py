"""benchmarks/fingerprint.py: its digests are a function of the arithmetic alone, so two machines' files can be
diffed."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = ROOT / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))
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


def _adamw_digest(mkl_branch: str, **options) -> str:
    """The fingerprint's AdamW digest in a fresh process whose MKL runs `mkl_branch` (MKL reads it once, at start)."""
    code = f"import fingerprint; print(fingerprint.digest(*fingerprint.adamw_steps(**{options!r})))"
    env = {**os.environ, "MKL_CBWR": mkl_branch, "PYTHONPATH": str(BENCHMARKS)}
    return subprocess.run(
        [sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True
    ).stdout.strip()


def test_the_fused_adamw_step_is_the_same_whichever_code_mkl_runs():
    # MKL picks its code by the CPU's maker and instruction set; the for-loop AdamW's square roots go through it
    # (on an Intel Xeon its COMPATIBLE, AVX2 and AUTO branches give three different results), the fused one's do not.
    digests = {branch: _adamw_digest(branch, fused=True) for branch in ["COMPATIBLE", "AVX2", "AUTO"]}
    assert len(set(digests.values())) == 1, digests


def test_every_adamw_the_course_trains_with_is_the_fused_one():
    # the package, the examples and the benchmarks' models (fingerprint.py runs both kinds on purpose)
    paths = [
        *(ROOT / "transformer_lab").rglob("*.py"),
        *(ROOT / "examples").rglob("*.py"),
        BENCHMARKS / "bench_models.py",
    ]
    sources = {path: path.read_text() for path in paths}
    for path in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"):
        cells = json.loads(path.read_text())["cells"]
        sources[path] = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    calls = {
        f"{path.name}: {call}"
        for path, text in sources.items()
        for call in re.findall(r"torch\.optim\.AdamW\((?:[^()]|\([^()]*\))*\)", text)
    }
    assert len(calls) > 15  # the pattern finds the calls at all
    unfused = sorted(call for call in calls if "fused=True" not in call)
    assert not unfused, "AdamW without fused=True (its square roots differ between Intel and AMD CPUs):\n" + "\n".join(
        unfused
    )
