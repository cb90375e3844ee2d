"""The chapters' claims, measured over seeds, kernels and Pythons: where each band comes from.

    python benchmarks/claim_bands.py                        # every chapter: 5 seeds, then the 3 kernel variations
    python benchmarks/claim_bands.py --chapters 09 11       # some chapters
    python benchmarks/claim_bands.py --seeds 1 2 --variations   # seeds only (seed 0 is the default run)
    python benchmarks/claim_bands.py --python /path/to/python3.13 --seeds --variations default  # another Python
    python benchmarks/claim_bands.py --table                # only rewrite the table from the recorded runs
    OMP_NUM_THREADS=2 python benchmarks/claim_bands.py --jobs 8 --variations default   # on a GPU machine

Two kinds of run, each chapter in a fresh kernel:

- A *variation* runs nbval on the chapter (what `make test-notebooks` runs), with the environment variables
  of VARIATIONS added to the caller's: the stored outputs must still match and every claim must hold.
- A *seed* run executes the chapter with every seed it sets moved by an offset (`random.seed`,
  `numpy.random.seed`, `numpy.random.default_rng`, `torch.manual_seed`, `torch.Generator.manual_seed`):
  seed 0 is the book's run, seed k adds k to each. Other draws change exact counts too, so nothing is
  compared; a claim outside its band is recorded, not raised, so one run measures all of a chapter's claims.

Both record every `tl.claim` and `tl.claim_that` (its value, band and whether it held) through an IPython
start-up file in a temporary IPYTHONDIR; the chapters themselves are not changed. Records go to
.cache/claims/<python>/<chapter>/<run>.jsonl, and the table of all of them to book/_generated/claim_bands.md,
which the appendix page "Your numbers and the book's" includes. None of this runs in `make test`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RECORDS = ROOT / ".cache" / "claims"
OUT = ROOT / "book" / "_generated" / "claim_bands.md"
NBVAL = ["--nbval", "--nbval-current-env", "--nbval-sanitize-with", "notebooks/sanitize.cfg", "-p", "no:cacheprovider"]
NBVAL += ["--nbval-kernel-startup-timeout=600"]  # with --jobs, many kernels import torch at once

# Chapters whose claims time code (the KV cache's speed-up, the fast path's): with --jobs, each of their runs
# has the machine to itself, before the others share it. Processes that share a GPU take turns on it, and
# processes that share the cores slow each other, so a speed measured beside other runs says little.
TIMED = ["10", "15"]

# The kernel variations every chapter must pass under, beside the caller's own environment ("default").
VARIATIONS = {
    "default": {},
    "ATEN_CPU_CAPABILITY=default": {"ATEN_CPU_CAPABILITY": "default"},  # PyTorch's plain C++ loops, no vector code
    "MKL_CBWR=AVX": {"MKL_CBWR": "AVX"},  # MKL's AVX branch: no fused multiply-add
    "OMP_NUM_THREADS=1": {"OMP_NUM_THREADS": "1"},  # one thread: sums taken in another order
}
SEEDS = [0, 1, 2, 3, 4]

STARTUP = """
import json, os, random
import numpy as np
import torch
import transformer_lab as _tl
import transformer_lab.claims as _claims

_OFFSET = int(os.environ["CLAIM_BANDS_SEED_OFFSET"])
_LOG = os.environ["CLAIM_BANDS_LOG"]
_RAISE = os.environ["CLAIM_BANDS_RAISE"] == "1"


def _moved(seed):
    return seed + _OFFSET if isinstance(seed, int) and not isinstance(seed, bool) else seed


if _OFFSET:
    _random_seed, _np_seed, _np_rng, _torch_seed = random.seed, np.random.seed, np.random.default_rng, torch.manual_seed
    random.seed = lambda a=None, *args, **kwargs: _random_seed(_moved(a), *args, **kwargs)
    np.random.seed = lambda seed=None: _np_seed(_moved(seed))
    np.random.default_rng = lambda seed=None: _np_rng(_moved(seed))
    torch.manual_seed = lambda seed: _torch_seed(_moved(seed))

    class _Generator(torch.Generator):
        def manual_seed(self, seed):
            return super().manual_seed(_moved(seed))

    torch.Generator = _Generator


def _record(kind, statement, value, held, **band):  # one JSON line per claim, written at once
    with open(_LOG, "a") as f:
        f.write(json.dumps(dict(kind=kind, statement=statement, value=value, held=held, **band)) + "\\n")


def _claim(statement, value, *, at_least=None, at_most=None, fmt="{:.4g}"):
    try:
        _real_claim(statement, value, at_least=at_least, at_most=at_most, fmt=fmt)
    except _claims.ClaimError:
        _record("claim", statement, float(value), False, at_least=at_least, at_most=at_most, fmt=fmt)
        if _RAISE:
            raise
        print(f"{statement}: MISSED (recorded)")
    else:
        _record("claim", statement, float(value), True, at_least=at_least, at_most=at_most, fmt=fmt)


def _claim_that(statement, holds):
    held = bool(holds)
    _record("claim_that", statement, held, held)
    if held or _RAISE:
        _real_claim_that(statement, holds)
    else:
        print(f"{statement}: MISSED (recorded)")


with open(_LOG, "a") as _f:  # which package this kernel imported (benchmarks/planted_bugs.py checks it)
    _f.write(json.dumps(dict(kind="package", path=_tl.__file__)) + "\\n")
_real_claim, _real_claim_that = _claims.claim, _claims.claim_that
_claims.claim = _tl.claim = _claim
_claims.claim_that = _tl.claim_that = _claim_that
"""


# A seed run: the chapter executed to its end in a fresh kernel (errors kept as outputs), printed as JSON.
EXECUTE = """
import sys, nbclient, nbformat
notebook = nbformat.read(sys.argv[1], as_version=4)
client = nbclient.NotebookClient(notebook, timeout=1800, allow_errors=True, kernel_name="python3")
client.execute(cwd=sys.argv[1].rsplit("/", 1)[0])
nbformat.write(notebook, sys.stdout)
"""


def cpu_name() -> str:
    """The processor's model name where Linux tells it, else the machine type."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.machine()


def python_label(python: str) -> str:
    """python-3.11 for the CPU; python-3.12-cuda where that interpreter's PyTorch sees a CUDA GPU, which
    the chapters then train on (`tl.get_device()`)."""
    version, cuda = subprocess.run(
        [
            python,
            "-c",
            "import sys, torch; print(f'{sys.version_info.major}.{sys.version_info.minor}', torch.cuda.is_available())",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return f"python-{version}" + ("-cuda" if cuda == "True" else "")


def run_chapter(
    python: str, notebook: Path, log: Path, *, offset: int = 0, env_extra: dict[str, str], compare: bool
) -> dict:
    """One run of one chapter in a fresh kernel, its claims recorded to `log`. compare: nbval, the stored
    outputs compared and a missed claim raised; else executed to the end, errors and missed claims recorded.
    Returns the run's summary: seconds, passed, the errors raised (execute only) and the output's tail."""
    log.parent.mkdir(parents=True, exist_ok=True)
    log.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory() as ipython_dir:
        startup = Path(ipython_dir) / "profile_default" / "startup"
        startup.mkdir(parents=True)
        (startup / "00-claim-bands.py").write_text(STARTUP)
        env = {
            **os.environ,
            **env_extra,
            "IPYTHONDIR": ipython_dir,
            "CLAIM_BANDS_SEED_OFFSET": str(offset),
            "CLAIM_BANDS_LOG": str(log),
            "CLAIM_BANDS_RAISE": "1" if compare else "0",
        }
        if compare:
            command = [python, "-m", "pytest", "-q", str(notebook.relative_to(ROOT)), *NBVAL]
        else:
            command = [python, "-c", EXECUTE, str(notebook)]
        started = time.perf_counter()
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
        seconds = time.perf_counter() - started
    errors = []
    if not compare and done.returncode == 0:
        cells = json.loads(done.stdout)["cells"]
        outputs = [o for c in cells if c["cell_type"] == "code" for o in c["outputs"]]
        errors = [f"{o['ename']}: {o['evalue'][:300]}" for o in outputs if o["output_type"] == "error"]
    if not log.exists():  # IPython reports a failing start-up file and goes on: nothing was recorded
        errors.append("the recording start-up file did not run")
    passed = done.returncode == 0 and not errors
    tail = "" if done.returncode == 0 else (done.stdout + done.stderr)[-3000:]
    kernel_env = {name: env[name] for variation in VARIATIONS.values() for name in variation if name in env}
    summary = dict(seconds=round(seconds, 1), passed=passed, errors=errors, env=kernel_env, tail=tail)
    log.with_suffix(".json").write_text(json.dumps(summary, indent=1))
    return summary


def records(python_dir: Path, chapter: str) -> dict[str, list[dict]]:
    """run name -> the claims it recorded, in order; the most recent run last."""
    runs = {}
    for log in sorted((python_dir / chapter).glob("*.jsonl"), key=lambda path: path.stat().st_mtime):
        entries = [json.loads(line) for line in log.read_text().splitlines()]
        runs[log.stem] = [entry for entry in entries if entry["kind"] != "package"]
    return runs


def entries_of(runs: dict[str, list[dict]], key: tuple[str, int]) -> list[dict]:
    """The entries of claim `key` (its statement, and which occurrence of it in the chapter) in every run."""
    found = []
    for claims in runs.values():
        same = [entry for entry in claims if entry["statement"] == key[0]]
        if key[1] < len(same):
            found.append(same[key[1]])
    return found


def held(entry: dict, band: dict) -> bool:
    """Whether an entry holds under `band`, the claim's band in the most recent run (a band may be re-chosen
    after the runs that measured it)."""
    if entry["kind"] == "claim_that":
        return entry["held"]
    low, high = band["at_least"], band["at_most"]
    return (low is None or entry["value"] >= low) and (high is None or entry["value"] <= high)


def band_text(band: dict) -> str:
    if band["kind"] == "claim_that":
        return "holds"
    fmt, low, high = band["fmt"], band["at_least"], band["at_most"]
    if low is not None and high is not None:
        return f"{fmt.format(low)} to {fmt.format(high)}"
    return f"≥ {fmt.format(low)}" if high is None else f"≤ {fmt.format(high)}"


def values_text(entries: list[dict], band: dict) -> str:
    if not entries:
        return "–"
    missed = sum(not held(entry, band) for entry in entries)
    if band["kind"] == "claim_that":
        return f"{len(entries) - missed} of {len(entries)} hold"
    values = [entry["value"] for entry in entries]
    low, high = (band["fmt"].format(v) for v in (min(values), max(values)))
    return (low if low == high else f"{low} to {high}") + (f" (**{missed} missed**)" if missed else "")


def chapter_table(python_dir: Path, chapter_dir: Path) -> list[str]:
    runs = records(python_dir, chapter_dir.name)
    seeds = {name: claims for name, claims in runs.items() if name.startswith("seed-") or name == "nbval-default"}
    variations = {name: claims for name, claims in runs.items() if name.startswith("nbval-")}
    keys = []  # (statement, occurrence), in the chapter's order
    for claims in runs.values():
        seen: dict[str, int] = {}
        for entry in claims:
            key = (entry["statement"], seen.get(entry["statement"], 0))
            seen[entry["statement"]] = key[1] + 1
            if key not in keys:
                keys.append(key)
    if not keys:
        return []
    summaries = {path.stem: json.loads(path.read_text()) for path in chapter_dir.glob("*.json")}
    offsets = [name for name in seeds if name.startswith("seed-")]
    envs = {" ".join(f"{k}={v}" for k, v in summaries.get(name, {}).get("env", {}).items()) for name in offsets}
    seed_note = f" (the book's run, and offsets run with {'; '.join(sorted(envs))})" if envs - {""} else ""
    passed = [name.removeprefix("nbval-") for name in variations if summaries.get(name, {}).get("passed")]
    lines = [
        f"**{chapter_dir.name}**: {len(seeds)} seed{'s' * (len(seeds) != 1)}{seed_note}; nbval passed under "
        f"{len(passed)} of {len(variations)} variation{'s' * (len(variations) != 1)}"
        + (f" ({', '.join(passed)})" if passed else "")
        + ".\n",
        "| claim | band | over the seeds | over the kernel variations |",
        "|---|---|---|---|",
    ]
    for key in keys:
        band = entries_of(runs, key)[-1]  # the most recent run's band
        statement = key[0].replace("|", "\\|")
        lines.append(
            f"| {statement} | {band_text(band)} | {values_text(entries_of(seeds, key), band)} "
            f"| {values_text(entries_of(variations, key), band)} |"
        )
    return lines + [""]


def table() -> str:
    """The markdown tables of every recorded run: one per Python, chapter by chapter."""
    lines = []
    for python_dir in sorted(path for path in RECORDS.glob("python-*") if path.is_dir()):
        version, _, device = python_dir.name.removeprefix("python-").partition("-")
        lines.append(f"### Python {version}" + (", on a CUDA GPU" if device == "cuda" else "") + "\n")
        if (python_dir / "machine.txt").exists():
            lines.append(f"Measured on: {(python_dir / 'machine.txt').read_text().strip()}.\n")
        for chapter_dir in sorted(path for path in python_dir.iterdir() if path.is_dir()):
            lines += chapter_table(python_dir, chapter_dir)
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chapters", nargs="*", help="chapter numbers (01 ... 15); default: all")
    parser.add_argument("--seeds", nargs="*", type=int, help=f"seed offsets to execute (default {SEEDS[1:]})")
    parser.add_argument("--variations", nargs="*", help=f"nbval runs, from {list(VARIATIONS)} (default: all)")
    parser.add_argument("--python", default=sys.executable, help="the interpreter (with the requirements installed)")
    parser.add_argument("--jobs", type=int, default=1, help="runs at once (1 on a small CPU: each run uses every core)")
    parser.add_argument("--stop-after", type=float, help="seconds after which no new run starts")
    parser.add_argument("--table", action="store_true", help="only rewrite the table from the recorded runs")
    args = parser.parse_args()
    if not args.table:
        label = python_label(args.python)
        python_dir = RECORDS / label
        python_dir.mkdir(parents=True, exist_ok=True)
        machine = subprocess.run(
            [
                args.python,
                "-c",
                "import platform, torch; print(f'{platform.processor() or platform.machine()}, "
                "torch {torch.__version__}, Python {platform.python_version()}, '"
                "f'{torch.get_num_threads()} threads by default'"
                " + (f', GPU: {torch.cuda.get_device_name()}' if torch.cuda.is_available() else ''))",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        (python_dir / "machine.txt").write_text(f"{cpu_name()}, {machine}, {os.cpu_count()} cores")
        notebooks = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
        if args.chapters:
            notebooks = [nb for nb in notebooks if nb.name[:2] in args.chapters]
        variations = list(VARIATIONS) if args.variations is None else args.variations
        seeds = SEEDS[1:] if args.seeds is None else [s for s in args.seeds if s != 0]
        for name in variations:
            if name not in VARIATIONS:
                parser.error(f"unknown variation {name!r}: choose from {list(VARIATIONS)}")
        runs = [(notebook, name, 0) for notebook in notebooks for name in variations]  # every nbval run first
        runs += [(notebook, None, seed) for notebook in notebooks for seed in seeds]
        started = time.perf_counter()

        def run(notebook: Path, name: str | None, seed: int) -> None:
            what = f"{label} {notebook.stem} {name or f'seed {seed}'}"
            if args.stop_after is not None and time.perf_counter() - started > args.stop_after:
                print(f"{what}: not started (--stop-after)", flush=True)
                return
            chapter = python_dir / notebook.stem
            if name is not None:
                log = chapter / f"nbval-{name}.jsonl"
                result = run_chapter(args.python, notebook, log, env_extra=VARIATIONS[name], compare=True)
                outcome = "passed" if result["passed"] else "FAILED"
            else:
                log = chapter / f"seed-{seed}.jsonl"
                result = run_chapter(args.python, notebook, log, offset=seed, env_extra={}, compare=False)
                outcome = "ran" if result["passed"] else "ERROR"
            print(f"{what}: {outcome} in {result['seconds']:.0f} s", flush=True)

        alone = [job for job in runs if job[0].name[:2] in TIMED]
        for job in alone:
            run(*job)
        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            list(pool.map(lambda job: run(*job), [job for job in runs if job not in alone]))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(table())
    print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
