"""Claims that can fail: plant a bug in the package, run the chapters that use it, and see which claims miss.

    python benchmarks/planted_bugs.py                 # every bug below
    python benchmarks/planted_bugs.py --bugs scale kv-cache

Each bug is one edit to one file of a copy of `transformer_lab/` (the kind a learner writing the chapter's
component, or a refactor, could make). The chapters run on that copy (first on PYTHONPATH), executed to the
end with every claim recorded (as in benchmarks/claim_bands.py); a bug is caught when at least one claim
misses. The table goes to book/_generated/planted_bugs.md, which the appendix includes. Not part of `make test`.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from claim_bands import ROOT, run_chapter

OUT = ROOT / "book" / "_generated" / "planted_bugs.md"
RESULTS = ROOT / ".cache" / "planted_bugs"  # one JSON file per bug, so that one bug can be re-run alone


@dataclass(frozen=True)
class Bug:
    name: str
    what: str  # the mistake, as a learner would describe it
    path: str  # the file of transformer_lab/ it edits
    old: str
    new: str
    chapters: tuple[str, ...]  # the chapters that use the component


BUGS = [
    Bug(
        "scale",
        "attention without the 1/√d_k scale",
        "attention.py",
        "scores = q @ k.transpose(-2, -1) / math.sqrt(d_k)",
        "scores = q @ k.transpose(-2, -1)",
        ("03", "04"),
    ),
    Bug(
        "causal-mask",
        "a causal mask that lets each position see the next one",
        "attention.py",
        "return torch.ones(T, T, dtype=torch.bool, device=device).tril()",
        "return torch.ones(T, T, dtype=torch.bool, device=device).tril(diagonal=1)",
        ("03", "08"),
    ),
    Bug(
        "heads",
        "heads split by a reshape without the transpose",
        "multi_head.py",
        "return x.view(B, T, self.n_heads, self.d_k).transpose(1, 2)",
        "return x.view(B, self.n_heads, T, self.d_k)",
        ("04",),
    ),
    Bug(
        "positions",
        "sinusoidal positions computed but never added",
        "positional.py",
        "return x + self.pe[start : start + x.shape[1]]",
        "return x + 0 * self.pe[start : start + x.shape[1]]",
        ("05",),
    ),
    Bug(
        "layer-norm",
        "LayerNorm that divides by the spread but forgets to subtract the mean",
        "layers.py",
        "centered = x - x.mean(dim=-1, keepdim=True)",
        "centered = x",
        ("06",),
    ),
    Bug(
        "residual",
        "a pre-LN feed-forward sublayer without its residual connection",
        "encoder.py",
        "x = x + self.dropout(self.feed_forward(self.norm2(x)))",
        "x = self.dropout(self.feed_forward(self.norm2(x)))",
        ("07",),
    ),
    Bug(
        "zero-grad",
        "a training loop that never clears the gradients",
        "training.py",
        "optimizer.zero_grad(set_to_none=True)",
        "pass  # gradients accumulate from step to step",
        ("09",),
    ),
    Bug(
        "kv-cache",
        "a KV cache that returns only the newest keys and values",
        "multi_head.py",
        "        self._length = end\n        return self.k, self.v",
        "        self._length = end\n        return k, v",
        ("10",),
    ),
    Bug(
        "shift",
        "next-token targets that are not shifted (each position predicts itself)",
        "tasks.py",
        "inputs, targets = tokens[:, :-1], tokens[:, 1:].clone()",
        "inputs, targets = tokens[:, :-1], tokens[:, :-1].clone()",
        ("11",),
    ),
    Bug(
        "patches",
        "image patches cut from strided pixels instead of P × P squares",
        "vit.py",
        '"b c (h p1) (w p2) -> b (h w) (p1 p2 c)"',
        '"b c (p1 h) (p2 w) -> b (h w) (p1 p2 c)"',
        ("12",),
    ),
]


def plant(bug: Bug, where: Path) -> None:
    """A copy of the package in `where` with the bug's one edit."""
    shutil.copytree(ROOT / "transformer_lab", where / "transformer_lab", ignore=shutil.ignore_patterns("__pycache__"))
    path = where / "transformer_lab" / bug.path
    text = path.read_text()
    if text.count(bug.old) != 1:
        raise SystemExit(f"bug {bug.name}: {bug.old!r} is not exactly once in transformer_lab/{bug.path}")
    path.write_text(text.replace(bug.old, bug.new))


def run_bug(bug: Bug) -> list[dict]:
    """One row per chapter: the claims it missed, and the errors it raised."""
    rows = []
    with tempfile.TemporaryDirectory() as where:
        plant(bug, Path(where))
        for chapter in bug.chapters:
            (notebook,) = (ROOT / "notebooks").glob(f"{chapter}_*.ipynb")
            log = Path(where) / "claims" / f"{notebook.stem}.jsonl"
            summary = run_chapter(sys.executable, notebook, log, env_extra={"PYTHONPATH": where}, compare=False)
            entries = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
            package = [e["path"] for e in entries if e["kind"] == "package"]
            if not package or not package[0].startswith(where):
                raise SystemExit(f"bug {bug.name}: chapter {chapter} did not import the planted copy ({package})")
            claims = [e for e in entries if e["kind"] != "package"]
            missed = [e["statement"] for e in claims if not e["held"]]
            rows.append(dict(chapter=notebook.stem, claims=len(claims), missed=missed, errors=summary["errors"]))
            print(
                f"{bug.name} in {notebook.stem}: {len(missed)} of {len(claims)} claims missed, "
                f"{len(summary['errors'])} cells raised",
                flush=True,
            )
    return rows


def table(results: dict[str, list[dict]]) -> str:
    lines = ["| bug | chapter | claims missed | caught here |", "|---|---|---|---|"]
    for bug in BUGS:
        for row in results.get(bug.name, []):
            missed = "; ".join(row["missed"]) or "none"
            errors = f" (and {len(row['errors'])} cells raised an error)" if row["errors"] else ""
            caught = "yes" if row["missed"] else "**no**"
            lines.append(f"| {bug.what} (`{bug.path}`) | {row['chapter']} | {missed}{errors} | {caught} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bugs", nargs="*", choices=[bug.name for bug in BUGS], help="default: all")
    args = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    for bug in BUGS:
        if not args.bugs or bug.name in args.bugs:
            (RESULTS / f"{bug.name}.json").write_text(json.dumps(run_bug(bug), indent=1))
    results = {
        bug.name: json.loads((RESULTS / f"{bug.name}.json").read_text())
        for bug in BUGS
        if (RESULTS / f"{bug.name}.json").exists()
    }
    OUT.write_text(table(results))
    print(f"wrote {OUT.relative_to(ROOT)} ({len(results)} of {len(BUGS)} bugs run)")
    uncaught = [name for name, rows in results.items() if not any(row["missed"] for row in rows)]
    if uncaught:
        raise SystemExit(f"no claim caught: {', '.join(uncaught)}")


if __name__ == "__main__":
    main()
