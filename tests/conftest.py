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
from collections.abc import Iterator
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


# The book is built by the tests that read it: both editions (`books`, `site`) and the English messages
# for the Korean catalogues (`extracted`). Those tests run after the package's other tests, and the builds
# start in the background with the first test: on a 2-core machine the package's tests, one thread each,
# leave a core free, so the builds cost little of the suite's time.
BOOK_FIXTURES = {"books", "site", "extracted"}


def reads_the_book(item) -> bool:
    return bool(BOOK_FIXTURES & set(getattr(item, "fixturenames", ())))


def pytest_collection_modifyitems(session, config, items):
    """The tests that read the built book go after the package's other tests and before the notebooks."""
    book = [item for item in items if reads_the_book(item)]
    rest = [item for item in items if not reads_the_book(item)]
    first_notebook = next((n for n, item in enumerate(rest) if item.path.suffix == ".ipynb"), len(rest))
    items[:] = rest[:first_notebook] + book + rest[first_notebook:]


class Build:
    """One Jupyter Book build in a process of its own, its log in a file (a pipe left unread would block it)."""

    def __init__(self, name: str, command: list[str], log: Path):
        self.name, self.log = name, log
        with log.open("w") as file:
            self.process = subprocess.Popen(command, stdout=file, stderr=subprocess.STDOUT, text=True)

    def wait(self) -> None:
        self.process.wait(timeout=900)
        log = self.log.read_text()
        assert self.process.returncode == 0, f"{self.name}: {log[-5000:]}"
        problems = [line for line in log.splitlines() if re.search(r"\b(WARNING|ERROR)\b", line)]
        assert not problems, f"{self.name}:\n" + "\n".join(problems)


@pytest.fixture(scope="session", autouse=True)
def book_builds(request, tmp_path_factory) -> Iterator[dict | None]:
    """Starts, with the session's first test, the builds that the collected tests will read: the two
    editions' HTML and the English gettext templates; strict, as `make book` builds them."""
    if not any(reads_the_book(item) for item in request.session.items):
        yield None
        return
    sys.path.insert(0, str(ROOT / "book"))
    import make_book

    out = tmp_path_factory.mktemp("book")
    builds = {
        language: Build(f"the {language} edition", make_book.command(language, out / language), out / f"{language}.log")
        for language in make_book.LANGUAGES
    }
    command = make_book.command("en", out / "i18n", builder="gettext")
    builds["gettext"] = Build("the English messages (gettext)", command, out / "gettext.log")
    yield {"out": out, "builds": builds}
    for build in builds.values():
        build.process.kill()


@pytest.fixture(scope="session")
def books(book_builds) -> dict[str, Path]:
    """Both editions of the book, built strictly (a warning fails them) and laid out as `make book` lays
    them out: English in html/, Korean in html/ko/."""
    import make_book

    out = book_builds["out"]
    for language in make_book.LANGUAGES:
        book_builds["builds"][language].wait()
    site = out / "en" / "_build" / "html"
    for language in make_book.LANGUAGES[1:]:
        shutil.copytree(out / language / "_build" / "html", site / language)
    return {language: site if language == "en" else site / language for language in make_book.LANGUAGES}


@pytest.fixture(scope="session")
def extracted(book_builds) -> Path:
    """The English book's messages as they are now: one template per page, and the diagrams' labels."""
    import translations

    book_builds["builds"]["gettext"].wait()
    templates = book_builds["out"] / "i18n" / "_build" / "gettext"
    translations.write_diagram_template(templates)
    return templates


@pytest.fixture(scope="session")
def site(books) -> Path:
    """The English book, with the Korean one in its ko/ folder."""
    return books["en"]
