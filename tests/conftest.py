"""Shared test helpers: a headless matplotlib, a fixed seed per test, weight perturbation, float32 tolerances,
the book's table of contents and one strict build of the book's two editions for every test that reads them.

Test modules import the helpers by name (`from conftest import perturb_, assert_close_f32`); pytest puts
this directory on sys.path because `tests/` has no __init__.py.
"""

import math
import re
import shutil
import subprocess
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # before anything imports pyplot: no display needed

import pytest
import torch
import yaml

# The tensors here are tiny: a second thread brings only synchronisation. With OpenMP, each parallel op
# waits for every thread, and on a busy 2-core machine that costs ~8 ms per softmax instead of ~10 us.
torch.set_num_threads(1)

# Tolerance for comparing float32 computations that do the same maths in a different order (our code
# against torch.nn or Hugging Face). float32 has a relative precision of about 1.2e-7; a few layers of
# matmuls over widths <= 128 on values of size O(1-5) reorder enough sums to differ by ~1e-6 (measured
# 5e-7 on every parity test here). 1e-5 leaves a safety factor of ten while staying far below what a real
# bug does after `perturb_`: the wrong GELU variant moves outputs by ~1e-4, swapped LayerNorms by ~1.
# rtol is kept as small as atol: a default rtol of 1e-4 on outputs of size 4 would allow 4e-4 and let the
# GELU-variant bug through.
ATOL = 1e-5
RTOL = 1e-5

ROOT = Path(__file__).resolve().parents[1]


def assert_close_f32(actual: torch.Tensor, expected: torch.Tensor, msg: str | None = None) -> None:
    torch.testing.assert_close(actual, expected, atol=ATOL, rtol=RTOL, msg=msg)


@pytest.fixture(autouse=True)
def _seed():
    """Every test starts from the same random state, so a failure reproduces on the next run."""
    torch.manual_seed(0)


def perturb_(module: torch.nn.Module, scale: float = 0.5, seed: int = 1) -> torch.nn.Module:
    """Move every parameter of `module` away from its default initialisation, in place; return the module.

    Default inits hide bugs: with LayerNorm at weight 1 / bias 0 two swapped norms are identical, and with
    tiny (std 0.02) projections every activation sits where GELU's two variants agree. After this:
      - weight matrices get noise of std scale / sqrt(fan), so activations are O(1): attention is neither
        uniform nor one-hot, and GELU sees inputs where its variants differ;
      - vectors (biases, LayerNorm gains and shifts) get noise of std 0.3: LayerNorm weights 1 ± 0.3.
    """
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            noise = torch.randn(p.shape, generator=g)
            if p.dim() >= 2:
                p.add_(noise * scale / math.sqrt(p.shape[-1]))
            else:
                p.add_(noise * 0.3)
    return module


def toc_files() -> list[str]:
    """The book's pages in reading order, as _toc.yml names them (`book/intro`, `notebooks/01_why_attention`, ...)."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    return [toc["root"]] + [c["file"] for part in toc["parts"] for c in part["chapters"]]


@pytest.fixture(scope="session")
def books(tmp_path_factory) -> dict[str, Path]:
    """Both editions of the book built once per test session, strictly (a warning fails them), side by side
    in two processes, and laid out as `make book` lays them out: English in html/, Korean in html/ko/."""
    sys.path.insert(0, str(ROOT / "book"))
    import make_book

    out = tmp_path_factory.mktemp("book")
    builds = {
        language: subprocess.Popen(
            make_book.command(language, out / language), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        for language in make_book.LANGUAGES
    }
    for language, process in builds.items():
        log = process.communicate(timeout=900)[0]
        assert process.returncode == 0, f"the {language} edition: {log[-5000:]}"
        problems = [line for line in log.splitlines() if re.search(r"\b(WARNING|ERROR)\b", line)]
        assert not problems, f"the {language} edition:\n" + "\n".join(problems)
    site = out / "en" / "_build" / "html"
    for language in make_book.LANGUAGES[1:]:
        shutil.copytree(out / language / "_build" / "html", site / language)
    return {language: site if language == "en" else site / language for language in make_book.LANGUAGES}


@pytest.fixture(scope="session")
def site(books) -> Path:
    """The English book, with the Korean one in its ko/ folder."""
    return books["en"]
