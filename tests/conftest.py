"""Shared test helpers: a headless matplotlib, a fixed seed per test, weight perturbation, float32 tolerances,
the book's table of contents and one strict build of the book's two editions for every test that reads them.

Test modules import the helpers by name (`from conftest import perturb_, assert_close_f32`); pytest puts
this directory on sys.path because `tests/` has no __init__.py.
"""

import math
import os
import re
import shutil
import subprocess
import sys
import time
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
# for the Korean catalogues (`extracted`). Those tests run after the package's other tests.
BOOK_FIXTURES = {"books", "site", "extracted"}


def reads_the_book(item) -> bool:
    return bool(BOOK_FIXTURES & set(getattr(item, "fixturenames", ())))


def pytest_collection_modifyitems(session, config, items):
    """The tests that read the built book go after the package's other tests and before the notebooks."""
    book = [item for item in items if reads_the_book(item)]
    rest = [item for item in items if not reads_the_book(item)]
    first_notebook = next((n for n, item in enumerate(rest) if item.path.suffix == ".ipynb"), len(rest))
    items[:] = rest[:first_notebook] + book + rest[first_notebook:]


# Under pytest-xdist every worker runs this file's session fixtures; the workers share one build of the
# book, in a folder they all see. The first to get there starts it; each waits for the files it writes.
RUN_AND_RECORD = """import os, subprocess, sys
log, status, *command = sys.argv[1:]
with open(log, "w") as out:
    code = subprocess.call(command, stdout=out, stderr=subprocess.STDOUT)
with open(status + ".part", "w") as out:
    out.write(str(code))
os.replace(status + ".part", status)"""


def first_here(claim: Path) -> bool:
    """True in the one process of the test run that gets here first (creating a folder is atomic)."""
    try:
        claim.mkdir(parents=True)
    except FileExistsError:
        return False
    return True


def wait_for(path: Path, what: str, timeout: float = 900) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{what}: not done after {timeout:.0f} s"
        time.sleep(0.2)


class Build:
    """One Jupyter Book build in a process of its own; its log and exit status go to files, so that any
    worker can wait for it (and a pipe left unread cannot block it)."""

    def __init__(self, name: str, folder: Path, key: str):
        self.name, self.log, self.status = name, folder / f"{key}.log", folder / f"{key}.status"
        self.process = None  # in the worker that started it

    def start(self, command: list[str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", RUN_AND_RECORD, str(self.log), str(self.status), *command]
        )

    def wait(self) -> None:
        wait_for(self.status, self.name)
        if self.process is not None:
            self.process.wait()  # done: collects its exit
        log = self.log.read_text()
        assert self.status.read_text() == "0", f"{self.name}: {log[-5000:]}"
        problems = [line for line in log.splitlines() if re.search(r"\b(WARNING|ERROR)\b", line)]
        assert not problems, f"{self.name}:\n" + "\n".join(problems)


@pytest.fixture(scope="session")
def book_builds(tmp_path_factory) -> dict:
    """The builds that the book's tests read: the two editions' HTML and the English gettext templates;
    strict, as `make book` builds them. Started by the first worker to ask, shared by all."""
    sys.path.insert(0, str(ROOT / "book"))
    import make_book

    shared = tmp_path_factory.getbasetemp()
    if "PYTEST_XDIST_WORKER" in os.environ:
        shared = shared.parent  # each worker's folder is inside the run's
    out = shared / "book"
    builds = {language: Build(f"the {language} edition", out, language) for language in make_book.LANGUAGES}
    builds["gettext"] = Build("the English messages (gettext)", out, "gettext")
    if first_here(out):  # make_book.command() writes each edition's configuration: once, here
        for language in make_book.LANGUAGES:
            builds[language].start(make_book.command(language, out / language))
        builds["gettext"].start(make_book.command("en", out / "i18n", builder="gettext"))
    return {"out": out, "builds": builds}


@pytest.fixture(scope="session", autouse=True)
def _start_the_book_early(request) -> None:
    """The builds start with the first test, in the background, when the run has tests that read the book.
    Those come after the package's other tests, which take one thread each and leave the builds a core."""
    if any(reads_the_book(item) for item in request.session.items):
        request.getfixturevalue("book_builds")


@pytest.fixture(scope="session")
def books(book_builds) -> dict[str, Path]:
    """Both editions of the book, built strictly (a warning fails them) and laid out as `make book` lays
    them out: English in html/, Korean in html/ko/."""
    import make_book

    out = book_builds["out"]
    for language in make_book.LANGUAGES:
        book_builds["builds"][language].wait()
    site = out / "en" / "_build" / "html"
    if first_here(out / "laying-out"):
        for language in make_book.LANGUAGES[1:]:
            shutil.copytree(out / language / "_build" / "html", site / language)
        (out / "laid-out").touch()
    wait_for(out / "laid-out", "the editions' layout")
    return {language: site if language == "en" else site / language for language in make_book.LANGUAGES}


@pytest.fixture(scope="session")
def extracted(book_builds) -> Path:
    """The English book's messages as they are now: one template per page, and the figures' words."""
    import translations

    book_builds["builds"]["gettext"].wait()
    out = book_builds["out"]
    templates = out / "i18n" / "_build" / "gettext"
    if first_here(out / "extracting-figure-words"):
        translations.write_extra_templates(templates)
        (out / "figure-words-extracted").touch()
    wait_for(out / "figure-words-extracted", "the figures' words")
    return templates


@pytest.fixture(scope="session")
def site(books) -> Path:
    """The English book, with the Korean one in its ko/ folder."""
    return books["en"]
