"""DDP on CPU: two processes under torchrun end with identical weights, and match one process on the same
global batch."""

import subprocess
import sys
from pathlib import Path

import torch

SCRIPT = Path(__file__).resolve().parents[1] / "examples" / "train_gpt_ddp.py"


def _run(cmd: list[str]) -> None:
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"{' '.join(cmd)} failed:\n{result.stdout}\n{result.stderr}"


def test_torchrun_two_ranks_match_single_process(tmp_path):
    steps = 4
    _run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node=2",
            str(SCRIPT),
            "--steps",
            str(steps),
            "--out",
            str(tmp_path / "ddp"),
        ]
    )
    _run([sys.executable, str(SCRIPT), "--steps", str(steps), "--out", str(tmp_path / "single")])
    rank0 = torch.load(tmp_path / "ddp" / "rank0.pt")
    rank1 = torch.load(tmp_path / "ddp" / "rank1.pt")
    single = torch.load(tmp_path / "single" / "rank0.pt")

    # The two ranks applied the same averaged gradient at every step: bit-identical weights.
    assert rank0["model"].keys() == rank1["model"].keys()
    for name in rank0["model"]:
        assert torch.equal(rank0["model"][name], rank1["model"][name]), f"ranks differ at {name}"

    # The mean of the two half-batch losses is the loss on the global batch of the single process.
    assert len(rank0["losses"]) == steps
    torch.testing.assert_close(torch.tensor(rank0["losses"]), torch.tensor(single["losses"]), rtol=1e-5, atol=1e-6)
    # ... and the training itself followed the same path (up to float summation order).
    for name, value in single["model"].items():
        torch.testing.assert_close(rank0["model"][name], value, rtol=1e-4, atol=1e-5, msg=f"weights differ at {name}")
    # The run did train: the weights moved from their seeded initial values.
    assert rank0["losses"][-1] != rank0["losses"][0]
