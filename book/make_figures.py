"""Draw the book's diagrams into book/figures/, one SVG each, in English and in Korean:

    python book/make_figures.py            # draw them all
    python book/make_figures.py --check    # list the committed SVGs that differ from a fresh drawing

Each module of book/diagrams/ (course.py, then ch01.py ... in reading order) lists its drawings in FIGURES:
functions that return a matplotlib Figure, saved as book/figures/<function name>.svg. A chapter shows one with
a MyST figure directive, which gives it its number, caption and alt text. tests/test_book.py fails when a
committed SVG is stale, so change a drawing here and commit the SVG this script writes.

The Korean drawing, <function name>.ko.svg, is the same figure with each label that has words in it
replaced by its translation in locales/ko/LC_MESSAGES/diagrams.po (`make translations` extracts the labels
with `labels()`) and set in tl.korean_font_family(). The Korean book picks it up by its name (Sphinx's
figure_language_filename), the Korean learner's edition by book/make_exercises.py.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import re
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
FIGURES = HERE / "figures"
sys.path.insert(0, str(HERE))  # the diagrams package beside this script

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import translations  # noqa: E402
from make_book import LANGUAGES  # noqa: E402  (the book's editions: a drawing for each)
from matplotlib.text import Text  # noqa: E402

from transformer_lab.plotting import korean_font_family  # noqa: E402

matplotlib.rcParams["svg.hashsalt"] = "transformer-lab"  # the same ids in every drawing: byte-identical files
matplotlib.rcParams["font.family"] = "DejaVu Sans"  # ships with matplotlib, so every machine draws the same text
# NanumGothic's bold is weight 600, not 700: matplotlib uses it, and would say so for every bold Korean label
logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)


def drawings() -> dict[str, Callable]:
    """name -> the function that draws it, from every module of book/diagrams/ in reading order."""
    found = {}
    for path in sorted((HERE / "diagrams").glob("*.py"), key=lambda p: (p.stem != "course", p.stem)):
        if path.stem in ("__init__", "draw"):
            continue
        module = importlib.import_module(f"diagrams.{path.stem}")
        for draw in module.FIGURES:
            found[draw.__name__] = draw
    return found


def has_words(text: str) -> bool:
    """A label to translate: two letters in a row outside its math (not "Q", "$W_K$" or "0.73")."""
    return re.search(r"[A-Za-z]{2}", re.sub(r"\$[^$]*\$", "", text)) is not None


def labels() -> list[str]:
    """Every label with words in it, in drawing order, each once: the messages of diagrams.po."""
    found = {}
    for draw in drawings().values():
        fig = draw()
        found.update((text.get_text(), None) for text in fig.findobj(Text) if has_words(text.get_text()))
        plt.close(fig)
    return list(found)


def translate(fig, language: str) -> None:
    """Each label of `fig` with words in it, in `language` (from the catalogue), in a font that has its glyphs.
    A label with math is typeset by matplotlib's mathtext, which takes the first font of a list only: it gets
    NanumGothic alone (its Latin letters differ a little); other labels get DejaVu Sans with NanumGothic
    behind it. A label the catalogue keeps as it is (code, a token) keeps its font."""
    messages = translations.catalogue("diagrams", language)
    fonts = korean_font_family()
    for text in fig.findobj(Text):
        english = text.get_text()
        if has_words(english) and messages.get(english, english) != english:
            text.set_text(messages[english])
            text.set_fontfamily(fonts[-1] if "$" in english else fonts)


def draw_all(folder: Path, names: list[str] | None = None) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, draw in drawings().items():
        if names and name not in names:
            continue
        for language in LANGUAGES:
            fig = draw()
            if language != "en":
                translate(fig, language)
            path = folder / (f"{name}.svg" if language == "en" else f"{name}.{language}.svg")
            fig.savefig(path, format="svg", metadata={"Date": None})
            plt.close(fig)
            written.append(path)
    return written


def stale() -> list[str]:
    """The drawings whose committed SVG is missing or differs from a fresh one, and SVGs no drawing makes."""
    with tempfile.TemporaryDirectory() as tmp:
        fresh = {path.name: path.read_bytes() for path in draw_all(Path(tmp))}
    committed = {path.name: path.read_bytes() for path in FIGURES.glob("*.svg")}
    differ = [name for name, data in fresh.items() if committed.get(name) != data]
    orphans = [f"{name} (no drawing makes it)" for name in committed if name not in fresh]
    return differ + orphans


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="list stale SVGs instead of drawing")
    parser.add_argument("names", nargs="*", help="draw only these (function names)")
    args = parser.parse_args()
    if args.check:
        names = stale()
        print("\n".join(names) or "every diagram is current")
        sys.exit(1 if names else 0)
    for path in draw_all(FIGURES, args.names):
        print(f"wrote {path.relative_to(HERE.parent)}")


if __name__ == "__main__":
    main()
