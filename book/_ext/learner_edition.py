"""Point each chapter's launch and download buttons at the learner's edition (exercises/).

The book renders notebooks/NN_name.ipynb, which holds the solutions; `make exercises` writes the
learner's edition, with the solutions cut out, to exercises/NN_name.ipynb. sphinx-book-theme builds
its Binder, Colab and download buttons from the page's own source; this extension runs after it and
rewrites those links, so that a learner who launches or downloads a chapter starts from the stubs.
The chapter with its solutions stays one click away in the download menu. The Korean book's buttons
open the Korean learner's edition, exercises_ko/, and speak Korean.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from sphinx.application import Sphinx

SOURCE, EDITION = "notebooks", "exercises"


# The buttons' words in each edition's language.
WORDS = {
    "en": {
        "launch": " (the learner's edition: exercises to complete)",
        "download": "Download the notebook (the learner's edition: exercises to complete)",
        "solutions": ".ipynb with solutions",
        "solutions tooltip": "Download the chapter with its solutions",
    },
    "ko": {
        "launch": " (학습자용 판: 풀어 볼 연습 문제)",
        "download": "노트북 내려받기 (학습자용 판: 풀어 볼 연습 문제)",
        "solutions": "풀이가 담긴 .ipynb",
        "solutions tooltip": "풀이가 담긴 장 내려받기",
    },
}


def _language(app: Sphinx) -> str:
    return app.config.language or "en"


def _edition(app: Sphinx) -> str:
    """exercises/ for the English book, exercises_<language>/ for a translation (book/make_exercises.py)."""
    return EDITION if _language(app) == "en" else f"{EDITION}_{_language(app)}"


def _learner_notebook(app: Sphinx, pagename: str) -> Path | None:
    folder, _, name = pagename.partition("/")
    path = Path(app.srcdir) / _edition(app) / f"{name}.ipynb"
    return path if folder == SOURCE and path.exists() else None


def point_buttons_at_learner_edition(app: Sphinx, pagename: str, templatename, context: dict, doctree) -> None:
    learner = _learner_notebook(app, pagename)
    if learner is None:
        return
    chapter, edition = f"{SOURCE}/{learner.name}", f"{_edition(app)}/{learner.name}"
    for group in context.get("header_buttons", []):
        if group.get("label") == "launch-buttons":
            for button in group["buttons"]:
                if "url" in button:
                    button["url"] = button["url"].replace(chapter, edition)
                    button["tooltip"] += WORDS[_language(app)]["launch"]
        if group.get("label") == "download-buttons":
            buttons = group["buttons"]
            source = next(b for b in buttons if b.get("label") == "download-source-button")
            solutions = dict(
                source,
                text=WORDS[_language(app)]["solutions"],
                label="download-solutions-button",
                tooltip=WORDS[_language(app)]["solutions tooltip"],
            )
            source.update(
                url=context["pathto"](edition, 1),
                text=".ipynb",
                tooltip=WORDS[_language(app)]["download"],
            )
            buttons.insert(buttons.index(source) + 1, solutions)


def copy_learner_edition(app: Sphinx, exception) -> None:
    if exception is None and app.builder.format == "html":
        target = Path(app.outdir) / _edition(app)
        target.mkdir(parents=True, exist_ok=True)
        for path in sorted((Path(app.srcdir) / _edition(app)).glob("*.ipynb")):
            shutil.copy2(path, target / path.name)


def setup(app: Sphinx) -> dict:
    app.connect("html-page-context", point_buttons_at_learner_edition, priority=600)  # after the theme's (501)
    app.connect("build-finished", copy_learner_edition)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
