"""Run every chapter notebook in a fresh kernel and print its wall time against the budget.

    python benchmarks/notebook_times.py [--book] [--save]

Writes the table to book/_generated/notebook_times.md, which the appendix page includes. The
notebooks are executed in memory: their stored outputs are not touched, unless --save writes the
fresh run back (on a quiet machine, so that the timings the book shows are representative; every
checked output is the same either way). With --book, the time of a strict book build (into a
temporary folder) is added.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import torch
from bench_models import matmul_flops  # the same probe as the model benchmarks (this folder)
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "book" / "_generated" / "notebook_times.md"
NOTEBOOK_BUDGET_S, ALL_BUDGET_S, BOOK_BUDGET_S = 90, 8 * 60, 120


def machine() -> str:
    cpu = platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        cpu = next(
            (l.split(":", 1)[1].strip() for l in cpuinfo.read_text().splitlines() if l.startswith("model name")), cpu
        )
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, torch {torch.__version__}"


def run_notebook(path: Path, save: bool) -> float:
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    seconds = time.perf_counter() - start
    if save:
        nbformat.write(nb, path)
    return seconds


def build_book() -> float:
    """Seconds to build both editions of the book, strictly, as `make book` does (one after the other)."""
    sys.path.insert(0, str(ROOT / "book"))
    import make_book

    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        for language in make_book.LANGUAGES:
            result = make_book.build(language, Path(tmp) / language)
            if result.returncode:
                raise RuntimeError(f"the {language} edition failed to build:\n{result.stdout[-2000:]}")
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--book", action="store_true", help="also time the strict book build")
    parser.add_argument("--save", action="store_true", help="store each notebook's fresh outputs in it")
    args = parser.parse_args()
    rows, total, rates = [], 0.0, []

    def row(what: str, seconds: float, budget: int, rate: str) -> str:
        return f"| {what} | {seconds:.1f} | {budget} | {'yes' if seconds <= budget else '**no**'} | {rate} |"

    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        rates.append(matmul_flops() / 1e9)  # how fast the machine is just now: a busy shared machine is slower
        seconds = run_notebook(path, args.save)
        total += seconds
        rows.append(row(f"`{path.name}`", seconds, NOTEBOOK_BUDGET_S, f"{rates[-1]:.0f}"))
        print(rows[-1], flush=True)
    rows.append(row("**all notebooks**", total, ALL_BUDGET_S, f"{min(rates):.0f}–{max(rates):.0f}"))
    if args.book:
        rates.append(matmul_flops() / 1e9)
        rows.append(row("`make book` (both editions, strict)", build_book(), BOOK_BUDGET_S, f"{rates[-1]:.0f}"))
    state = (
        "The last column is the machine's float32 matmul rate (1024 × 1024 products), measured just before "
        "each run: compare it with the same line in the model benchmarks to see whether the machine was as "
        "fast as usual."
    )
    header = "| what | seconds | budget | within budget | matmul rate before it (GFLOP/s) |"
    table = "\n".join([f"Measured on: {machine()}. {state}", "", header, "|---|---|---|---|---|", *rows, ""])
    print(table)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(table)


if __name__ == "__main__":
    main()
